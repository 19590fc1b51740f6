"""Helpers shared by the integration tests that run the CLI as separate processes."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cli_command(backend: Any, directory: Path, *args: str) -> list[str]:
    """argv for `python -m milvus_migrate ARGS[0] <backend options> --dir DIRECTORY ARGS[1:]`."""
    return [sys.executable, "-m", "milvus_migrate", args[0], *backend.args(), "--dir", str(directory), *args[1:]]


def unbuffered_env() -> dict[str, str]:
    """The environment for a CLI subprocess whose output is read line by line as it comes."""
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def history_rows(cli: Any, directory: Path) -> list[tuple[int, str, int]]:
    """(version, direction, current_version) of every history record, via `history --format json`."""
    result = cli("history", "--format", "json", directory=directory)
    assert result.exit_code == 0, result.output
    return [(r["version"], r["direction"], r["current_version"]) for r in json.loads(result.stdout)]


def create_unmanaged(client: Any, name: str) -> None:
    """A minimal collection made by hand with pymilvus, as someone else's would be."""
    from pymilvus import DataType

    schema = client.create_schema()
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=schema)


def at(event: str, op: str | None = None, collection: str | None = None, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    """A predicate on one `--events` line: at("start", "create_index", "notes"), at("recorded", version=2)."""

    def matches(line: dict[str, Any]) -> bool:
        wanted = {"event": event, "op": op, "collection": collection, **fields}
        return all(line.get(k) == v for k, v in wanted.items() if v is not None)

    return matches


class EventRun:
    """A CLI process run with `--events EVENTS`: its output and its executor events, read as they come.

    Pause and kill points hook the executor's events (one JSON line per operation start, progress and
    end, and per recorded version), not the wording of progress lines. EVENTS is a named pipe, read as
    each line is written, so whatever a test does on an event lands right after it. The output is
    stdout and stderr merged in the order printed, or (merge=False) kept apart as `stdout`/`stderr`.
    """

    def __init__(self, argv: list[str], events: Path, env: dict[str, str] | None = None, merge: bool = True):
        os.mkfifo(events)
        self.proc = subprocess.Popen(
            [*argv, "--events", str(events)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge else subprocess.PIPE, text=True, env={**unbuffered_env(), **(env or {})},
        )  # fmt: skip
        self.stdout: list[str] = []  # everything, when merged
        self.stderr: list[str] = []
        self._readers = [self._read(self.proc.stdout, self.stdout.append)]
        if not merge:
            self._readers.append(self._read(self.proc.stderr, self.stderr.append))
        self._events: queue.Queue[str | None] = queue.Queue()
        self._read_events(events)

    @staticmethod
    def _read(pipe: Any, put: Callable[[str], None]) -> threading.Thread:
        def pump() -> None:
            for line in pipe:
                put(line)

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        return thread

    def _read_events(self, events: Path) -> None:
        def pump() -> None:
            with events.open(encoding="utf-8") as fifo:  # opens once the run opens its end
                for line in fifo:
                    self._events.put(line)
            self._events.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def until(self, point: Callable[[dict[str, Any]], bool], timeout: float = 120) -> dict[str, Any]:
        """The first event from here on that matches `point`, as soon as the run writes it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._events.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                raise AssertionError(f"no such event within {timeout:g} s:\n{self.text()}") from None
            if line is None:
                self.proc.wait(30)
                raise AssertionError(f"the run ended before the event it waited for:\n{self.text()}")
            event = json.loads(line)
            if point(event):
                return event

    def finish(self, timeout: float = 120) -> int:
        """Wait for the process to exit and for its output to be read to the end; its exit code."""
        returncode = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(30)
        return returncode

    def rest(self, timeout: float = 30) -> list[dict[str, Any]]:
        """The events written after the last one until() returned, to the end (call after finish())."""
        out = []
        while (line := self._events.get(timeout=timeout)) is not None:
            out.append(json.loads(line))
        return out

    def text(self) -> str:
        """The output so far (stdout then stderr when they are kept apart)."""
        return "".join(list(self.stdout)) + "".join(list(self.stderr))


def run_until_event(argv: list[str], point: Callable[[dict[str, Any]], bool], events: Path, act: Callable[[Any], None],
                    timeout: float = 120) -> tuple[Any, str]:  # fmt: skip
    """Run `argv --events EVENTS`; call act(process) as soon as an event matching `point` is written.

    Returns (process, its output so far).
    """
    run = EventRun(argv, events)
    run.until(point, timeout)
    act(run.proc)
    return run.proc, run.text()

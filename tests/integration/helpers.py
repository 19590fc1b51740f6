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


def run_until_event(argv: list[str], point: Callable[[dict[str, Any]], bool], events: Path, act: Callable[[Any], None],
                    timeout: float = 120) -> tuple[Any, str]:  # fmt: skip
    """Run `argv --events EVENTS`; call act(process) as soon as an event matching `point` is written.

    Kill points hook the executor's events (one JSON line per operation start, progress and end, and per
    recorded version), not the wording of progress lines. EVENTS is a named pipe, read as each line is
    written, so the act lands right after the event. Returns (process, its output so far).
    """
    os.mkfifo(events)
    proc = subprocess.Popen(
        [*argv, "--events", str(events)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=unbuffered_env(),
    )  # fmt: skip
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True).start()  # type: ignore[arg-type]
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        with events.open(encoding="utf-8") as fifo:  # opens once the run opens its end
            for line in fifo:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            proc.kill()
            raise AssertionError(f"no such event within {timeout:g} s:\n{''.join(output)}") from None
        if line is None:
            proc.wait(30)
            raise AssertionError(f"the run ended before the event it waited for:\n{''.join(output)}")
        if point(json.loads(line)):
            act(proc)
            return proc, "".join(output)

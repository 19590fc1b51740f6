"""The deployment lock: racing `up` processes apply once; a held or stale lock names its holder.

Races use real `milvus-migrate` processes. Milvus Lite lets only one process open a .db file, so
multi-process races run on the 2.3.5 server only; the lock-held tests hold the lock in this
process (lock.deployment_lock in a thread) and run on both backends.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import cli_command, history_rows, unbuffered_env

from milvus_migrate import lock
from milvus_migrate.config import ConnectionSettings
from milvus_migrate.connection import connect
from milvus_migrate.history import applied_by

pytestmark = pytest.mark.integration

RACERS = 4
LITE_ONE_PROCESS = "Milvus Lite allows one process per .db file: processes cannot race on it (server only)"
HOLDER = re.compile(r"\(([^()]+@[^()]+), pid (\d+), since (\d{4}-\d\d-\d\dT[^)]+)\)")


# --- helpers -------------------------------------------------------------------------------------








def _status(cli: Any, directory: Path) -> dict[str, Any]:
    result = cli("status", "--format", "json", directory=directory)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


APPLIED_ONCE = [(1, "up", 1), (2, "up", 2), (3, "up", 3)]


def _assert_at_version_3(backend: Any, cli: Any, directory: Path) -> None:
    """History has each version exactly once, and the live state is version 3 with no drift."""
    assert history_rows(cli, directory) == APPLIED_ONCE
    status = _status(cli, directory)
    assert (status["current_version"], status["pending"], status["lock_holder"]) == (3, [], None)
    if not backend.is_lite:  # Lite forgets load state between processes, so status reports 'load' drift there
        assert status["drift"] == [], status["drift"]
    assert backend.collections() == ["docs", "notes"]
    assert backend.aliases("docs") == ["docs_live"]


def _race(backend: Any, directory: Path, *args: str) -> list[subprocess.Popen[str]]:
    """Start RACERS `up` processes at once and wait for all of them."""
    procs = [
        subprocess.Popen(
            cli_command(backend, directory, "up", *args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=unbuffered_env(),
        )  # fmt: skip
        for _ in range(RACERS)
    ]
    for p in procs:
        p.outs = p.communicate(timeout=240)  # type: ignore[attr-defined]
    return procs


class HeldLock:
    """The migration lock held by this process (in a thread with its own event loop) until release()."""

    def __init__(self, backend: Any):
        self.settings = ConnectionSettings(uri=backend.uri, db_name=backend.db_name, timeout=60)
        self.history = backend.history
        self._acquired, self._release = threading.Event(), threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HeldLock:
        self._thread.start()
        assert self._acquired.wait(60) or self._error, "the lock was not acquired within 60 s"
        if self._error:
            raise self._error
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def release(self) -> None:
        self._release.set()
        self._thread.join(60)

    def _run(self) -> None:
        try:
            asyncio.run(self._hold())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._acquired.set()

    async def _hold(self) -> None:
        async with connect(self.settings) as session:
            async with lock.deployment_lock(session.client, session.caps, self.history, timeout=30, call_timeout=60):
                self._acquired.set()
                await asyncio.to_thread(self._release.wait)


# --- racing processes (server) -------------------------------------------------------------------


def test_racing_ups_apply_exactly_once(backend, cli, three_versions):
    """4 deployments start `up` together: one applies, the others wait for it and find nothing to do."""
    if backend.is_lite:
        pytest.skip(reason=LITE_ONE_PROCESS)

    procs = _race(backend, three_versions, "--lock-timeout", "180")

    outputs = [p.outs for p in procs]  # type: ignore[attr-defined]
    assert [p.returncode for p in procs] == [0] * RACERS, outputs
    applied = [out for out, _ in outputs if "The database is now at version 3." in out]
    waited = [out for out, _ in outputs if "Nothing to do: the database is at version 3." in out]
    assert (len(applied), len(waited)) == (1, RACERS - 1), outputs
    assert [line.split(" (")[0] for line in applied[0].splitlines() if line.startswith("applied")] == [
        "applied 0001_create_docs", "applied 0002_partitions_and_alias", "applied 0003_add_notes",
    ]  # fmt: skip
    # The waiters did no work: only the winner printed progress lines.
    assert sum("+ create collection docs" in err for _, err in outputs) == 1
    _assert_at_version_3(backend, cli, three_versions)


def test_racing_ups_with_a_short_lock_timeout_fail_naming_the_winner(backend, cli, three_versions):
    """With --lock-timeout 1 the losers give up while the winner applies, naming it (user@host, pid, since)."""
    if backend.is_lite:
        pytest.skip(reason=LITE_ONE_PROCESS)

    procs = _race(backend, three_versions, "--lock-timeout", "1")

    outputs = [p.outs for p in procs]  # type: ignore[attr-defined]
    winners = [p for p in procs if p.returncode == 0]
    losers = [p for p in procs if p.returncode != 0]
    assert len(winners) == 1, outputs
    assert "The database is now at version 3." in winners[0].outs[0]  # type: ignore[attr-defined]
    for p in losers:
        _, err = p.outs  # type: ignore[attr-defined]
        assert p.returncode == 1, err
        assert "another deployment holds the migration lock" in err and "milvus-migrate unlock" in err
        holder = HOLDER.search(err)
        assert holder, err
        assert holder.group(1) == applied_by() and int(holder.group(2)) == winners[0].pid
        assert "+ create" not in err  # a loser changed nothing
    _assert_at_version_3(backend, cli, three_versions)


# --- a held lock (both backends; held in this process) -------------------------------------------


def test_up_fails_naming_the_holder_when_the_lock_is_held(backend, cli, three_versions):
    with HeldLock(backend):
        started = time.monotonic()
        blocked = cli("up", "--lock-timeout", "1", directory=three_versions)
        waited = time.monotonic() - started
        status = _status(cli, three_versions)

    assert blocked.exit_code == 1
    assert "another deployment holds the migration lock" in blocked.stderr
    assert f"({applied_by()}, pid {os.getpid()}, since " in blocked.stderr
    assert "waited 1 s" in blocked.stderr and "milvus-migrate unlock" in blocked.stderr
    assert waited >= 1
    assert status["lock_holder"].startswith(f"{applied_by()}, pid {os.getpid()}, since ")
    assert backend.collections() == []  # nothing was applied
    assert history_rows(cli, three_versions) == []

    # Once the holder is gone the same command applies, and the lock is free again afterwards.
    after = cli("up", "--to", "1", "--lock-timeout", "1", directory=three_versions)
    assert after.exit_code == 0, after.output
    assert history_rows(cli, three_versions) == [(1, "up", 1)]
    assert _status(cli, three_versions)["lock_holder"] is None


def test_up_waits_for_the_holder_then_applies(backend, cli, three_versions):
    held = HeldLock(backend).__enter__()
    timer = threading.Timer(3, held.release)
    timer.start()
    try:
        started = time.monotonic()
        result = cli("up", "--to", "1", "--lock-timeout", "60", directory=three_versions)
        waited = time.monotonic() - started
    finally:
        timer.cancel()
        held.release()

    assert result.exit_code == 0, result.output
    assert "The database is now at version 1." in result.stdout
    assert waited >= 2.5  # it waited for the holder rather than applying beside it
    assert history_rows(cli, three_versions) == [(1, "up", 1)]


# --- a stale lock (both backends; sequential processes work on Lite too) -------------------------


def test_unlock_breaks_the_lock_of_a_killed_run(backend, cli, three_versions):
    """A SIGKILLed `up` leaves its lock; `up` then fails naming it, `unlock` breaks it, `up` finishes."""
    backend.release_lite()
    run = subprocess.Popen(
        cli_command(backend, three_versions, "up", "-v"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=unbuffered_env(),
    )  # fmt: skip
    seen = []
    assert run.stdout is not None
    for line in run.stdout:  # the lock is taken before the first operation starts
        seen.append(line)
        if line.startswith("  … create index"):
            run.kill()
            break
    assert run.wait(30) == -9, "".join(seen)

    # The killed process is gone; the rest runs in this process (on Lite too: the file is free now).
    blocked = cli("up", "--lock-timeout", "2", directory=three_versions)
    assert blocked.exit_code == 1, blocked.output
    holder = HOLDER.search(blocked.stderr)
    assert holder and holder.group(1) == applied_by() and int(holder.group(2)) == run.pid, blocked.stderr
    assert "waited 2 s" in blocked.stderr and "milvus-migrate unlock" in blocked.stderr

    unlocked = cli("unlock", directory=three_versions)
    assert unlocked.exit_code == 0, unlocked.output
    assert f"Lock broken (it was held by {applied_by()}, pid {run.pid}, since " in unlocked.stdout

    resumed = cli("up", "--to", "1", "--lock-timeout", "2", directory=three_versions)
    assert resumed.exit_code == 0, resumed.output
    assert "The database is now at version 1." in resumed.stdout
    again = cli("unlock", directory=three_versions)
    assert again.exit_code == 0 and "No lock was held" in again.stdout
    assert history_rows(cli, three_versions) == [(1, "up", 1)]
    # No marker collections are left behind by the killed run or by unlock.
    assert [n for n in backend.client().list_collections() if n.startswith(f"{backend.history}_lock")] == []

"""The deployment lock: racing `up` processes apply once; a held lock names its holder; a lock whose
holder died or stopped renewing its lease is taken over without `unlock`, by exactly one waiter.

Races use real `milvus-migrate` processes. Milvus Lite lets only one process open a .db file, so
multi-process races run on the 2.3.5 server only; the lock-held tests hold the lock in this
process (lock.deployment_lock in a thread) and run on both backends. A SIGKILLed holder taken over
by the next `up` is covered by test_crash.py at six kill points on both backends.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from milvus_migrate.config import ConnectionSettings
from milvus_migrate.errors import LockHeld, LockLost
from milvus_migrate.milvus import lock
from milvus_migrate.milvus.connection import connect
from milvus_migrate.milvus.history import applied_by
from tests.integration.helpers import (
    EventRun,
    at,
    cli_command,
    history_rows,
    unbuffered_env,
)

pytestmark = pytest.mark.integration

RACERS = 4
LITE_ONE_PROCESS = "Milvus Lite allows one process per .db file: processes cannot race on it (server only)"
SHORT_LEASE = "5"  # seconds, via MILVUS_MIGRATE_LOCK_LEASE: expiry tests wait for it, not for the 30 s default


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


def _race(backend: Any, directory: Path, *args: str, env: dict[str, str] | None = None) -> list[subprocess.Popen[str]]:
    """Start RACERS `up` processes at once and wait for all of them."""
    procs = [
        subprocess.Popen(
            cli_command(backend, directory, "up", *args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**unbuffered_env(), **(env or {})},
        )  # fmt: skip
        for _ in range(RACERS)
    ]
    for p in procs:
        p.outs = p.communicate(timeout=240)  # type: ignore[attr-defined]
    return procs


class HeldLock:
    """The migration lock held by this process (in a thread with its own event loop) until release()."""

    def __init__(self, backend: Any, lease: float | None = None):
        self.lease_s = lease
        self.settings = ConnectionSettings(uri=backend.uri, db_name=backend.db_name, timeout=60)
        self.history = backend.history
        self._acquired, self._release = threading.Event(), threading.Event()
        self._error: BaseException | None = None
        self.lease: lock.Lease | None = None
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
            async with lock.deployment_lock(
                session.client, session.caps, self.history, timeout=30, call_timeout=60, lease=self.lease_s
            ) as held:
                self.lease = held
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
        assert f"({applied_by()}, pid {winners[0].pid}, since " in err
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


# --- a lock whose holder is gone or stopped renewing ---------------------------------------------


def _start_up(backend: Any, directory: Path, env: dict[str, str]) -> EventRun:
    """`up -v` with its executor events read as they come (the pause points)."""
    return EventRun(cli_command(backend, directory, "up", "-v"), directory.parent / "events.jsonl", env=env)


def test_waiters_racing_for_an_expired_lease_exactly_one_wins(backend):
    """A holder that stopped renewing (alive, so only its lease can end) and 4 waiters: one takes over,
    the others time out naming it, as LockHeld attributes."""
    settings = ConnectionSettings(uri=backend.uri, db_name=backend.db_name, timeout=60)
    alias = lock.lock_alias(backend.history)
    stale = f"{alias}_stalemarker"

    async def scenario() -> tuple[list[str], list[BaseException | str]]:
        async with connect(settings) as session:
            # A lock with a 2 s lease that nobody renews, held in the name of this (live) process.
            await lock._create_marker(session.client, stale, 2.0, 60)
            await session.client.create_alias(stale, alias, timeout=60)
        won: list[str] = []
        gave_up = 0
        everyone_else_gave_up = asyncio.Event()

        async def waiter() -> BaseException | str:
            nonlocal gave_up
            async with connect(settings) as session:
                try:
                    async with lock.deployment_lock(
                        session.client, session.caps, backend.history, timeout=10, call_timeout=60, lease=30
                    ) as held:
                        won.append(held.marker)
                        await asyncio.wait_for(everyone_else_gave_up.wait(), 60)  # hold it meanwhile
                        return "won"
                except LockHeld as exc:
                    gave_up += 1
                    if gave_up == RACERS - 1:
                        everyone_else_gave_up.set()
                    return exc

        return won, await asyncio.gather(*(waiter() for _ in range(RACERS)), return_exceptions=True)

    won, results = asyncio.run(scenario())

    assert results.count("won") == 1 and len(won) == 1, results
    losers = [r for r in results if r != "won"]
    assert all(isinstance(r, LockHeld) for r in losers), results
    for exc in losers:
        assert (exc.holder, exc.pid, exc.waited, exc.lease) == (applied_by(), os.getpid(), 10, 30)  # type: ignore[union-attr]
        assert exc.since  # type: ignore[union-attr]
    client = backend.client()
    assert stale not in client.list_collections()  # the winner dropped the expired marker
    assert [n for n in client.list_collections() if n.startswith(alias)] == []  # and released its own


def test_unlock_breaks_a_live_holders_lock_and_the_holder_stops(backend, cli, three_versions):
    """`unlock` stays the manual way out; a holder whose lock it broke notices at its next renewal."""
    with HeldLock(backend, lease=3) as holder:
        blocked = cli("up", "--lock-timeout", "1", directory=three_versions)
        assert blocked.exit_code == 1, blocked.output  # the holder renews its lease: no takeover
        unlocked = cli("unlock", directory=three_versions)
        assert unlocked.exit_code == 0, unlocked.output
        assert f"Lock broken (it was held by {applied_by()}, pid {os.getpid()}, since " in unlocked.stdout
        resumed = cli("up", "--to", "1", "--lock-timeout", "2", directory=three_versions)
        assert resumed.exit_code == 0, resumed.output

        lease = holder.lease
        assert lease is not None
        deadline = time.monotonic() + 10
        while lease.held and time.monotonic() < deadline:
            time.sleep(0.2)
        with pytest.raises(LockLost) as lost:
            lease.ensure_held()
        assert "dropped" in lost.value.reason

    assert history_rows(cli, three_versions) == [(1, "up", 1)]
    again = cli("unlock", directory=three_versions)
    assert again.exit_code == 0 and "No lock was held" in again.stdout
    assert [n for n in backend.client().list_collections() if n.startswith(f"{backend.history}_lock")] == []


def test_racing_ups_take_over_a_paused_holders_expired_lease_once(backend, cli, three_versions):
    """An `up` stopped mid-run (SIGSTOP: alive, not renewing) and 4 `up`s started together: once its lease
    runs out exactly one of them takes over and applies the rest; the others then find nothing to do."""
    if backend.is_lite:
        pytest.skip(reason=LITE_ONE_PROCESS)
    env = {lock.LEASE_ENV: SHORT_LEASE}
    paused = _start_up(backend, three_versions, env)
    paused.until(at("start", "create_index", "docs"))
    os.kill(paused.proc.pid, signal.SIGSTOP)
    try:
        procs = _race(backend, three_versions, "--lock-timeout", "180", env=env)
    finally:
        paused.proc.kill()
        paused.proc.wait(30)

    outputs = [p.outs for p in procs]  # type: ignore[attr-defined]
    assert [p.returncode for p in procs] == [0] * RACERS, outputs
    applied = [out for out, _ in outputs if "The database is now at version 3." in out]
    waited = [out for out, _ in outputs if "Nothing to do: the database is at version 3." in out]
    assert (len(applied), len(waited)) == (1, RACERS - 1), outputs
    _assert_at_version_3(backend, cli, three_versions)


def test_paused_holder_applies_nothing_after_it_resumes(backend, cli, three_versions):
    """SIGSTOP an `up` past its lease: another `up` takes over and finishes; on SIGCONT the paused one
    finds its lease gone and stops before its next operation, recording nothing."""
    if backend.is_lite:
        pytest.skip(reason=LITE_ONE_PROCESS)
    env = {lock.LEASE_ENV: SHORT_LEASE}
    paused = _start_up(backend, three_versions, env)
    paused.until(at("start", "load_collection", "docs"))
    os.kill(paused.proc.pid, signal.SIGSTOP)
    try:
        taken = cli("up", "--lock-timeout", "120", directory=three_versions, env=env)
        assert taken.exit_code == 0, taken.output
        assert "The database is now at version 3." in taken.stdout
        assert history_rows(cli, three_versions) == APPLIED_ONCE
        before_pause = len(paused.stdout)  # stopped for longer than its lease: all it printed is read
    finally:
        os.kill(paused.proc.pid, signal.SIGCONT)
    returncode = paused.finish(60)
    after_resume = paused.stdout[before_pause:]

    output = "".join(paused.stdout[:before_pause]) + "--- resumed ---\n" + "".join(after_resume)
    assert returncode == 1, output
    assert "Error: lost the deployment lock" in after_resume[-1], output
    # The load in flight when it stopped may finish; nothing new starts and nothing is recorded.
    later = paused.rest()
    assert [e for e in later if e["event"] in ("start", "recorded")] == [], later
    assert not [line for line in after_resume if line.startswith("applied")], output
    _assert_at_version_3(backend, cli, three_versions)

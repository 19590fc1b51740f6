"""The lock's lease logic without a server: renewal and expiry on a fake clock, how a waiter decides a
lease has expired, dead-holder detection, the executor's guard, and LockHeld/LockLost as values.

What a real Milvus does with the alias and marker collections is covered by
tests/integration/test_concurrency.py and test_crash.py on both backends.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest

from milvus_migrate.config import ConnectionSettings
from milvus_migrate.errors import LockHeld, LockLost
from milvus_migrate.milvus import executor, lock
from milvus_migrate.milvus.connection import Session
from milvus_migrate.planning import capabilities, ops


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class MarkerClient:
    """Answers alter_collection_properties like Milvus: the properties change, or the marker is gone."""

    def __init__(self, clock: Clock, takes: float = 0.0, gone: bool = False):
        self.clock, self.takes, self.gone = clock, takes, gone
        self.written: list[dict[str, str]] = []

    async def alter_collection_properties(self, name: str, *, properties: dict[str, str], timeout: float) -> None:
        self.clock.now += self.takes
        if self.gone:
            raise RuntimeError(f"collection '{name}' does not exist")
        self.written.append(properties)


def lease(clock: Clock, **client: Any) -> tuple[lock.Lease, MarkerClient]:
    fake = MarkerClient(clock, **client)
    return lock.Lease(fake, "h_lock_abc", 30.0, call_timeout=60, acquired_at=clock(), clock=clock), fake


def test_a_lease_is_held_until_it_runs_out_without_renewal():
    clock = Clock()
    held, _ = lease(clock)
    clock.now += 29.9
    held.ensure_held()
    clock.now += 0.1
    with pytest.raises(LockLost) as lost:
        held.ensure_held()
    assert "30 s lease ran out" in lost.value.reason
    assert not held.held


def test_a_renewal_extends_the_lease_from_when_it_was_sent_and_bumps_the_heartbeat():
    clock = Clock()
    held, fake = lease(clock, takes=2.0)
    clock.now += 10
    asyncio.run(held.renew())
    assert held.expires == pytest.approx(110 + 30)  # sent at 110, answered at 112
    asyncio.run(held.renew(since="2026-12-01T12:00:00+00:00"))
    assert [w["milvus_migrate.beat"] for w in fake.written] == ["1", "2"]
    assert fake.written[1]["milvus_migrate.since"] == "2026-12-01T12:00:00+00:00"


def test_a_renewal_answered_after_the_lease_ran_out_does_not_revive_it():
    """A waiter may already have taken over by then: the lock is lost for good."""
    clock = Clock()
    held, _ = lease(clock, takes=5.0)
    clock.now += 28  # sent 2 s before the end, answered 3 s after it
    asyncio.run(held.renew())
    assert not held.held
    clock.now = 100  # even a clock that went back would not help: the lease stays lost
    asyncio.run(held.renew())
    with pytest.raises(LockLost):
        held.ensure_held()


def test_a_dropped_marker_means_the_lock_was_taken_over_or_broken():
    clock = Clock()
    held, _ = lease(clock, gone=True)
    asyncio.run(held.renew())
    with pytest.raises(LockLost) as lost:
        held.ensure_held()
    assert "dropped" in lost.value.reason and "unlock" in lost.value.reason


def holder(marker: str = "h_lock_abc", beat: str = "3", lease: float | None = 30.0, **kw: Any) -> lock.Holder:
    values = {"applied_by": "ci@runner", "pid": 4242, "since": "2026-12-01T12:00:00+00:00", "host_id": "elsewhere/1/2"}
    return lock.Holder(marker=marker, beat=beat, lease=lease, **{**values, **kw})


def test_a_waiter_takes_over_only_after_a_whole_lease_without_a_new_heartbeat(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(lock.time, "monotonic", lambda: now[0])
    watch = lock._Watch()
    assert not watch.expired(holder(beat="3"), read_at=now[0])  # first seen at 1000
    now[0] = 1029.9
    assert not watch.expired(holder(beat="3"), read_at=now[0])
    now[0] = 1030.0
    assert watch.expired(holder(beat="3"), read_at=now[0])
    # A renewal restarts the count; so does another marker (a new holder) with the same heartbeat.
    assert not watch.expired(holder(beat="4"), read_at=now[0])
    assert not watch.expired(holder(marker="h_lock_def", beat="3"), read_at=now[0])
    now[0] = 1059.0
    assert not watch.expired(holder(beat="4"), read_at=now[0] - 1.1)  # the read started too early to count


def test_a_marker_without_a_lease_never_expires(monkeypatch):
    """Markers of a tool version without leases: only 'unlock' breaks them."""
    now = [0.0]
    monkeypatch.setattr(lock.time, "monotonic", lambda: now[0])
    watch = lock._Watch()
    watch.expired(holder(lease=None), read_at=0.0)
    now[0] = 1e6
    assert not watch.expired(holder(lease=None), read_at=now[0])


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_holder_whose_process_is_gone_from_this_host_is_dead_at_once():
    here = lock.host_id()
    if not here:
        pytest.skip(reason="no /proc here: pids cannot be checked, only leases expire")
    assert holder(host_id=here, pid=dead_pid()).is_dead_here()
    assert lock._Watch().expired(holder(host_id=here, pid=dead_pid()), read_at=0.0)
    assert not holder(host_id=here, pid=os.getpid()).is_dead_here()
    # Another host, or another pid namespace on this one (a container): its pids mean nothing here.
    assert not holder(host_id="elsewhere/1/2", pid=dead_pid()).is_dead_here()
    assert not holder(host_id=here.rsplit("/", 1)[0] + "/pid:[1]", pid=dead_pid()).is_dead_here()
    assert not holder(host_id="", pid=dead_pid()).is_dead_here()


def test_holder_read_from_marker_properties():
    props = {
        "milvus_migrate.holder": "ci@runner", "milvus_migrate.pid": "4242", "milvus_migrate.since": "T",
        "milvus_migrate.host_id": "h/b/n", "milvus_migrate.lease_s": "30", "milvus_migrate.beat": "7",
    }  # fmt: skip
    read = lock.Holder.from_properties("h_lock_abc", props)
    assert read == lock.Holder("h_lock_abc", "ci@runner", 4242, "T", "h/b/n", 30.0, "7")
    assert str(read) == "ci@runner, pid 4242, since T"
    legacy = lock.Holder.from_properties("h_lock_old", {"milvus_migrate.holder": "a@b", "milvus_migrate.pid": "1"})
    assert (legacy.lease, legacy.beat, legacy.host_id) == (None, None, None)


def test_lease_length_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(lock.LEASE_ENV, raising=False)
    assert lock.lease_seconds() == 30.0
    monkeypatch.setenv(lock.LEASE_ENV, "2.5")
    assert lock.lease_seconds() == 2.5


def test_lock_held_carries_who_since_and_how_long_it_waited():
    exc = LockHeld("ci@runner", "2026-12-01T12:00:00+00:00", pid=4242, waited=60, lease=30)
    assert (exc.holder, exc.since, exc.pid, exc.waited, exc.lease) == (
        "ci@runner", "2026-12-01T12:00:00+00:00", 4242, 60, 30,
    )  # fmt: skip
    assert "(ci@runner, pid 4242, since 2026-12-01T12:00:00+00:00); waited 60 s" in exc.message
    assert "30 s lease" in exc.message and "milvus-migrate unlock" in exc.message
    unknown = LockHeld(None, None, waited=5)
    assert unknown.holder is None and "holder unknown" in unknown.message


class PartitionClient:
    """Creates partitions; the first call takes a while, so a second lane is waiting meanwhile."""

    def __init__(self) -> None:
        self.created: list[str] = []

    async def create_partition(self, collection_name: str, partition_name: str, *, timeout: float) -> None:
        await asyncio.sleep(0.05)
        self.created.append(partition_name)


def test_the_executor_starts_nothing_once_the_guard_refuses():
    client = PartitionClient()
    session = Session(client, capabilities.from_version("v2.3.5"), ConnectionSettings(uri="http://x:19530"))
    plan = ops.Plan(
        ops=tuple(
            ops.CreatePartition(collection_name=c, partition_name=f"p_{c}", reason="declared") for c in ("a", "b", "c")
        )
    )
    calls: list[int] = []

    def guard() -> None:
        calls.append(1)
        if len(calls) > 1:
            raise LockLost("its 30 s lease ran out")

    async def run() -> None:
        await executor.apply(plan, session, concurrency=1, guard=guard)

    with pytest.raises(LockLost):
        asyncio.run(run())
    assert client.created == ["p_a"]  # the call in flight finished; the others never started

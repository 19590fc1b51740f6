"""The deployment lock: exactly one `up`/`down` applies at a time, and a crashed holder's lock expires.

Milvus has no transactions and no session-scoped lock, so the lock is an alias plus a lease:

- Each contender creates its own *marker* collection `<history>_lock_<random>` whose properties say who
  it is (user@host, pid, a host id), its lease length and a heartbeat counter, then points the alias
  `<history>_lock` at it. Alias creation is atomic when every contender names its own target: of
  several create_alias calls with different targets exactly one succeeds, on Milvus Lite and on 2.3
  (2.3 also accepts calls naming the winner's own target, which is why targets are unique).
  A contender holds the lock while the alias points at its marker.
- The holder renews its lease: every lease/3 s it bumps the heartbeat in its marker's properties
  (alter_collection_properties). It holds the lock until `sent + lease`, `sent` being the start of
  its last renewal that completed in time; once that passes it has lost the lock for good and stops
  before its next operation (Lease.ensure_held, checked by the executor before each operation).
- A waiter takes over when the holder's heartbeat has not changed for a whole lease, measured on the
  waiter's own monotonic clock from when it first saw that heartbeat (as Kubernetes leader election
  does), so clock skew between hosts does not matter. On the same host (same boot and pid namespace)
  a holder whose pid is gone is taken over at once.
- Takeover is atomic without a conditional delete: the waiter first claims the expired marker by
  creating the alias `<expired marker>_takeover` pointing at its own marker (exactly one claimant
  wins), and only the winner drops the lock alias and the expired marker. It then races for the lock
  alias like any contender. drop_alias alone would not do: it is unconditional, so two waiters could
  each drop the alias the other had just created. Dropping the expired marker instead would not free
  the alias on 2.3, which keeps an alias of a dropped collection ("alias already exist", measured).
- A holder whose lease ran out touches nothing, not even its own lock: a waiter may be taking it over.

Timings: lease 30 s, renewed every 10 s, waiters poll every 0.25-0.75 s. MILVUS_MIGRATE_LOCK_LEASE
(seconds) overrides the lease, e.g. to make tests fast; the renewal interval stays a third of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milvus_migrate.errors import LockHeld, LockLost
from milvus_migrate.milvus.connection import expected_failure
from milvus_migrate.milvus.history import applied_by, now
from milvus_migrate.milvus.introspect import aliases_of
from milvus_migrate.planning.capabilities import Capabilities

_PREFIX = "milvus_migrate."
_HOLDER, _PID, _SINCE, _HOST = f"{_PREFIX}holder", f"{_PREFIX}pid", f"{_PREFIX}since", f"{_PREFIX}host_id"
_LEASE, _BEAT, _RENEWED = f"{_PREFIX}lease_s", f"{_PREFIX}beat", f"{_PREFIX}renewed_at"
LEASE_ENV = "MILVUS_MIGRATE_LOCK_LEASE"
DEFAULT_LEASE_S = 30.0
_TAKEOVER = "_takeover"


def lease_seconds() -> float:
    """The lease length: MILVUS_MIGRATE_LOCK_LEASE if set (tests), else 30 s."""
    value = os.environ.get(LEASE_ENV)
    return float(value) if value else DEFAULT_LEASE_S


def lock_alias(history_collection: str) -> str:
    return f"{history_collection}_lock"


def is_lock_object(name: str, history_collection: str) -> bool:
    """Whether a collection belongs to the lock machinery (never reported as unmanaged)."""
    return name.startswith(lock_alias(history_collection))


@dataclass(frozen=True)
class Holder:
    """A marker collection and what its properties say about the deployment that made it."""

    marker: str
    applied_by: str | None
    pid: int | None
    since: str | None
    host_id: str | None
    lease: float | None  # None: a marker of a tool version without leases; it never expires
    beat: str | None

    def __str__(self) -> str:
        return f"{self.applied_by or '?'}, pid {self.pid if self.pid is not None else '?'}, since {self.since or '?'}"

    def is_dead_here(self) -> bool:
        """Whether it was made on this host (same boot, same pid namespace) by a process that is gone."""
        return bool(self.host_id) and self.host_id == host_id() and self.pid is not None and _process_gone(self.pid)

    @classmethod
    def from_properties(cls, marker: str, props: dict[str, Any]) -> Holder:
        pid, lease = props.get(_PID), props.get(_LEASE)
        return cls(
            marker=marker,
            applied_by=props.get(_HOLDER),
            pid=int(pid) if str(pid or "").isdigit() else None,
            since=props.get(_SINCE),
            host_id=props.get(_HOST),
            lease=float(lease) if lease else None,
            beat=props.get(_BEAT),
        )


def host_id() -> str:
    """hostname/boot id/pid namespace: equal only for processes whose pids can be checked from here ('' if unknown).

    A hostname alone is not enough: containers may share one while their pids live in other namespaces.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{socket.gethostname()}/{boot}/{namespace}"


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        return False
    try:  # a killed process its parent has not reaped yet (a zombie) holds nothing either
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


class Lease:
    """The lock as held by this process; renewed in the background while the block runs."""

    def __init__(
        self, client: Any, marker: str, lease: float, call_timeout: float, acquired_at: float,
        clock: Callable[[], float] = time.monotonic,
    ):  # fmt: skip
        self.client, self.marker, self.lease, self.call_timeout, self.clock = client, marker, lease, call_timeout, clock
        self.expires = acquired_at + lease  # monotonic; no waiter takes over before this
        self.beat = 0
        self.lost_reason: str | None = None

    @property
    def held(self) -> bool:
        """Whether the lease is still ours; once it is not, it never is again (a waiter may hold the lock)."""
        if self.lost_reason is None and self.clock() >= self.expires:
            self.lost_reason = f"its {self.lease:g} s lease ran out without a renewal: this process was paused or cut off from Milvus"
        return self.lost_reason is None

    def ensure_held(self) -> None:
        """Raise LockLost unless the lease is still ours; called before each operation."""
        if not self.held:
            raise LockLost(self.lost_reason or "")

    async def renew(self, **extra: str) -> None:
        """Bump the heartbeat; the lease is extended only if the renewal completed before it ran out."""
        sent = self.clock()
        if not self.held:
            return
        self.beat += 1
        properties = {_BEAT: str(self.beat), _RENEWED: now(), **{f"{_PREFIX}{k}": v for k, v in extra.items()}}
        try:
            await self.client.alter_collection_properties(
                self.marker, properties=properties, timeout=max(min(self.call_timeout, self.expires - sent), 0.1)
            )
        except Exception as exc:
            if "not exist" in str(getattr(exc, "message", exc)) or "not found" in str(getattr(exc, "message", exc)):
                self.lost_reason = "its marker collection was dropped: another deployment took the lock over, or 'unlock' broke it"
            return  # otherwise transient: the next renewal may succeed before the lease runs out
        if self.held:  # answered before the lease ran out
            self.expires = sent + self.lease

    async def renew_forever(self) -> None:
        every = self.lease / 3
        while self.held:
            await asyncio.sleep(every)
            await self.renew()


@contextlib.asynccontextmanager
async def deployment_lock(
    client: Any, caps: Capabilities, history_collection: str, *, timeout: float, call_timeout: float,
    lease: float | None = None,
) -> AsyncIterator[Lease]:  # fmt: skip
    """Hold the migration lock for the block; wait up to `timeout` s, then raise LockHeld naming the holder.

    Yields the Lease: call `ensure_held()` before each operation (LockLost once the lease is gone).
    """
    lease_s = lease or lease_seconds()
    alias = lock_alias(history_collection)
    marker = f"{alias}_{uuid.uuid4().hex[:12]}"
    await _create_marker(client, marker, lease_s, call_timeout)
    held: Lease | None = None
    try:
        held = await _acquire(client, caps, alias, marker, lease_s, timeout=timeout, call_timeout=call_timeout)
        renewing = asyncio.ensure_future(held.renew_forever())
        try:
            await held.renew(since=now())  # "since" says when the lock was taken, not when the wait began
            yield held
        finally:
            renewing.cancel()
            with contextlib.suppress(BaseException):
                await renewing
    finally:
        # The block may have failed because Milvus went away: releasing may fail too, and that must not
        # replace the block's error. A lock left behind expires with its lease.
        with contextlib.suppress(Exception):
            await _release(client, caps, marker, held, call_timeout)


async def _acquire(
    client: Any, caps: Capabilities, alias: str, marker: str, lease_s: float, *, timeout: float, call_timeout: float
) -> Lease:
    started = time.monotonic()
    deadline = started + timeout
    watch = _Watch()
    while True:
        sent = time.monotonic()
        with contextlib.suppress(Exception), expected_failure():  # losing the race is an error reply; checked below
            await client.create_alias(marker, alias, timeout=call_timeout)
        if alias in await aliases_of(client, marker, caps, call_timeout):
            return Lease(client, marker, lease_s, call_timeout, acquired_at=sent)
        markers = await _read_markers(client, caps, alias, call_timeout)
        holder = next((h for h, aliases in markers if alias in aliases), None)
        await _collect_dead_waiters(client, caps, alias, markers, marker, call_timeout)
        if holder is not None and watch.expired(holder, read_at=sent):
            if await _take_over(client, caps, holder.marker, marker, call_timeout):
                continue  # the lock alias is free now: race for it at once
        if time.monotonic() >= deadline:
            raise LockHeld(
                holder.applied_by if holder else None, holder.since if holder else None,
                pid=holder.pid if holder else None, waited=timeout, lease=holder.lease if holder else None,
            )  # fmt: skip
        await asyncio.sleep(0.25 + random.random() * 0.5)  # jitter: racing waiters do not poll in lockstep


class _Watch:
    """When this waiter first saw each (marker, heartbeat): a heartbeat unchanged for a lease has expired."""

    def __init__(self) -> None:
        self.first_seen: dict[tuple[str, str | None], float] = {}

    def expired(self, holder: Holder, read_at: float) -> bool:
        """`read_at`: the monotonic time just before the read that returned `holder` started."""
        if holder.is_dead_here():
            return True
        key = (holder.marker, holder.beat)
        # Counted from after the read that first returned this heartbeat (it was written before then) to
        # the start of this read (which sees every write before it): the holder's own lease, which runs
        # from before it sent that heartbeat, has run out by then.
        first = self.first_seen.setdefault(key, time.monotonic())
        return holder.lease is not None and read_at - first >= holder.lease


async def _take_over(client: Any, caps: Capabilities, expired: str, marker: str, call_timeout: float) -> bool:
    """Claim the expired marker (one claimant wins), free the lock alias it holds and drop it; False if beaten."""
    claim = f"{expired}{_TAKEOVER}"
    with contextlib.suppress(Exception), expected_failure():  # a beaten claimant gets an error reply
        await client.create_alias(marker, claim, timeout=call_timeout)
    if claim not in await aliases_of(client, marker, caps, call_timeout):
        return False  # another waiter won the claim; it frees the lock, then everyone races for it
    try:
        # Only the claim's winner gets here for this marker, and its holder no longer acts: nothing
        # else moves the alias while it points at the expired marker.
        with contextlib.suppress(Exception):  # the marker may be gone already ('unlock')
            for name in await aliases_of(client, expired, caps, call_timeout):
                await client.drop_alias(name, timeout=call_timeout)
            await client.drop_collection(expired, timeout=call_timeout)
    finally:
        with contextlib.suppress(Exception):  # a claim left behind goes with this marker (_drop_marker)
            await client.drop_alias(claim, timeout=call_timeout)
    return True


async def _release(client: Any, caps: Capabilities, marker: str, held: Lease | None, call_timeout: float) -> None:
    if held is not None and not (held.held and held.expires - time.monotonic() >= held.lease / 3):
        # Lost, or so close to running out that a waiter may be taking over: dropping the alias now
        # could remove the next holder's lock. Leave it; it expires.
        return
    await _drop_marker(client, caps, marker, call_timeout)


async def _drop_marker(client: Any, caps: Capabilities, marker: str, call_timeout: float) -> None:
    """Drop a marker and every alias pointing at it (the lock alias, takeover claims): 2.3 would keep them."""
    for name in await aliases_of(client, marker, caps, call_timeout):
        await client.drop_alias(name, timeout=call_timeout)
    await client.drop_collection(marker, timeout=call_timeout)


async def _collect_dead_waiters(
    client: Any, caps: Capabilities, alias: str, markers: list[tuple[Holder, list[str]]], own: str, call_timeout: float
) -> None:
    """Drop markers left by killed waiters on this host (a dead process cannot come back to use them)."""
    for holder, aliases in markers:
        if holder.marker != own and alias not in aliases and holder.is_dead_here():
            with contextlib.suppress(Exception):
                await _drop_marker(client, caps, holder.marker, call_timeout)


async def break_lock(client: Any, caps: Capabilities, history_collection: str, call_timeout: float) -> str | None:
    """Remove the lock and every marker, also those of waiting deployments; returns who held it, if anyone."""
    holder = await current_holder(client, caps, history_collection, call_timeout)
    alias = lock_alias(history_collection)
    with contextlib.suppress(Exception):
        await client.drop_alias(alias, timeout=call_timeout)
    for name in await _markers(client, alias, call_timeout):
        with contextlib.suppress(Exception):
            await _drop_marker(client, caps, name, call_timeout)
    return holder


async def read_holder(client: Any, caps: Capabilities, history_collection: str, call_timeout: float) -> Holder | None:
    """The marker the lock alias points at, or None when the lock is free."""
    alias = lock_alias(history_collection)
    markers = await _read_markers(client, caps, alias, call_timeout)
    return next((h for h, aliases in markers if alias in aliases), None)


async def current_holder(client: Any, caps: Capabilities, history_collection: str, call_timeout: float) -> str | None:
    """Who holds the lock now ('user@host, pid N, since T'), or None."""
    holder = await read_holder(client, caps, history_collection, call_timeout)
    return str(holder) if holder else None


async def _read_markers(client: Any, caps: Capabilities, alias: str, call_timeout: float) -> list[tuple[Holder, list[str]]]:
    """Every marker with its properties and the aliases pointing at it."""

    async def read(name: str) -> tuple[Holder, list[str]] | None:
        with contextlib.suppress(Exception):  # a marker may vanish while we look
            description = await client.describe_collection(name, timeout=call_timeout)
            aliases = await aliases_of(client, name, caps, call_timeout)
            return Holder.from_properties(name, description.get("properties") or {}), aliases
        return None

    answers = await asyncio.gather(*(read(name) for name in await _markers(client, alias, call_timeout)))
    return [a for a in answers if a is not None]


async def _markers(client: Any, alias: str, call_timeout: float) -> list[str]:
    return [n for n in await client.list_collections(timeout=call_timeout) if n.startswith(f"{alias}_")]


async def _create_marker(client: Any, marker: str, lease: float, call_timeout: float) -> None:
    from pymilvus import AsyncMilvusClient, DataType

    schema = AsyncMilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)
    properties = {
        _HOLDER: applied_by(), _PID: str(os.getpid()), _HOST: host_id(), _SINCE: now(), _LEASE: f"{lease:g}", _BEAT: "0",
    }  # fmt: skip
    await client.create_collection(marker, schema=schema, properties=properties, timeout=call_timeout)

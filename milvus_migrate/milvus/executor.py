"""apply(plan, session): run operations, one lane per collection, lanes concurrent, stop on first failure."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from milvus_migrate.milvus import copy, retry
from milvus_migrate.milvus.connection import Session
from milvus_migrate.planning import evolution, ops
from milvus_migrate.planning.ops import Operation, Phase
from milvus_migrate.planning.state import CollectionState, FieldState, RowSet

_ALIAS_OPS = (ops.CreateAlias, ops.AlterAlias, ops.DropAlias)
# Operations from this phase on span collections (aliases move between them; drops wait for the moves).
_BARRIER_PHASES = (Phase.ATTACH_ALIASES, Phase.DROP_COLLECTIONS)


class EventKind(str, Enum):
    """What happened to an operation."""

    START = "start"
    DONE = "done"
    FAILED = "failed"
    PROGRESS = "progress"  # a copy moved rows


@dataclass(frozen=True)
class Event:
    """Progress of one operation."""

    kind: EventKind
    op: Operation
    seconds: float = 0.0
    message: str = ""
    done: int = 0  # PROGRESS of a copy: rows done of total (None: unknown)
    total: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A line of `up --events FILE`."""
        out: dict[str, Any] = {"event": self.kind.value, "op": self.op.op, "collection": self.op.collection_name,
                               "description": self.op.describe()}  # fmt: skip
        if self.kind in (EventKind.DONE, EventKind.FAILED):
            out["seconds"] = round(self.seconds, 3)
        if self.kind is EventKind.FAILED:
            out["message"] = self.message
        if self.kind is EventKind.PROGRESS:
            out.update(done=self.done, total=self.total)
        return out


EventHandler = Callable[[Event], None]


@dataclass
class ApplyResult:
    """What ran, what failed (each failure with the server's reason) and what never started."""

    ran: list[Operation] = field(default_factory=list)
    failures: list[tuple[Operation, str]] = field(default_factory=list)
    not_run: list[Operation] = field(default_factory=list)
    rows_copied: dict[str, int] = field(default_factory=dict)  # collection -> rows its copy carried over
    # Every switch that completed: the collection, the backup its old collection became, and the rows
    # each side held ({"collection", "backup", "out", "in"}); the history keeps them for a switch back.
    switches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failed(self) -> tuple[Operation, str] | None:
        """The first failure, if any."""
        return self.failures[0] if self.failures else None

    def failure_lines(self) -> list[str]:
        """'operation: reason' for every failure (operations of one batch may fail together)."""
        return [f"{op.describe()}: {reason}" for op, reason in self.failures]

    def failure_detail(self) -> dict[str, Any]:
        """What a failed step's history record keeps: the failing operation(s), the server's message, counts."""
        return {
            "operation": "; ".join(op.describe() for op, _ in self.failures),
            "message": "; ".join(reason for _, reason in self.failures),
            "ran": len(self.ran),
            "not_run": len(self.not_run),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "ran": [op.to_json() for op in self.ran],
            "failed": [{**op.to_json(), "message": reason} for op, reason in self.failures],
            "not_run": [op.to_json() for op in self.not_run],
            "rows_copied": dict(self.rows_copied),
        }


async def apply(
    plan: ops.Plan, session: Session, *, concurrency: int = 8, on_event: EventHandler | None = None,
    guard: Callable[[], None] | None = None,
) -> ApplyResult:  # fmt: skip
    """Run `plan`; never raises for a failed operation: the result says what happened.

    `guard` runs before each operation and each retry (the deployment lock's Lease.ensure_held): what it
    raises starts nothing more, and is raised here once the calls in flight have finished.
    """
    runner = _Runner(session, on_event or (lambda event: None), asyncio.Semaphore(concurrency), concurrency)
    runner.guard = guard
    lanes: dict[str, list[Operation]] = {}
    barriers: dict[Phase, list[Operation]] = {}
    for op in plan.ops:
        if op.phase in _BARRIER_PHASES:
            barriers.setdefault(op.phase, []).append(op)
        else:
            # A copy's shadow and backup run in the lane of the collection they belong to, in plan order.
            lanes.setdefault(evolution.owner_of(op.collection_name), []).append(op)
    await asyncio.gather(*(runner.run_lane(lane) for lane in lanes.values()))
    for phase in _BARRIER_PHASES:
        # Alias moves and final drops are independent of each other within their phase.
        await asyncio.gather(*(runner.run_lane([op]) for op in barriers.get(phase, [])))
    if runner.refused is not None:
        raise runner.refused
    return runner.result


class _Runner:
    def __init__(self, session: Session, on_event: EventHandler, limit: asyncio.Semaphore, concurrency: int = 8):
        self.session, self.on_event, self.limit = session, on_event, limit
        self.result = ApplyResult()
        self.stop = asyncio.Event()
        self.timeout = session.settings.timeout
        # Milvus Lite fails concurrent alias operations at random (Capabilities.concurrent_alias_ops).
        self.alias_lock = None if session.caps.concurrent_alias_ops else asyncio.Lock()
        self.guard: Callable[[], None] | None = None
        self.refused: Exception | None = None  # what the guard raised
        self.concurrency = concurrency  # a copy pages this many partitions at once
        self.copies: dict[str, copy.CopyReport] = {}  # source collection -> what its copy counted
        self.stepping_aside: dict[str, dict[str, Any]] = {}  # collection -> its switch so far
        self.checked: dict[str, RowSet] = {}  # collection -> the rows a switch back found it holding

    async def run_lane(self, lane: list[Operation]) -> None:
        # A lane never raises: a failure sets `stop` so no lane starts another operation,
        # and calls already in flight are left to finish.
        batches = _batches(lane)
        for i, batch in enumerate(batches):
            if self.stop.is_set():
                self.result.not_run.extend(op for later in batches[i:] for op in later)
                return
            outcomes = await asyncio.gather(*(self.run_op(op) for op in batch))
            if not all(outcomes):
                self.result.not_run.extend(op for later in batches[i + 1 :] for op in later)
                return

    async def run_op(self, op: Operation) -> bool:
        """Run one operation under the concurrency limit; False when it failed or never started."""
        async with self._exclusive(op), self.limit:
            if self.stop.is_set() or not self.guarded():
                self.result.not_run.append(op)
                return False
            self.on_event(Event(EventKind.START, op))
            started = time.monotonic()
            try:
                await self.execute_with_retries(op)
            except Exception as exc:  # every failure is reported with the server's reason
                if exc is self.refused:  # not a failure of the operation: the guard refused a retry
                    self.result.not_run.append(op)
                    return False
                message = self.session.settings.scrub(error_message(exc))
                self.result.failures.append((op, message))
                self.stop.set()
                self.on_event(Event(EventKind.FAILED, op, time.monotonic() - started, message))
                return False
            self.result.ran.append(op)
            self.on_event(Event(EventKind.DONE, op, time.monotonic() - started))
            return True

    def _exclusive(self, op: Operation) -> Any:
        """A lock held while `op` runs when the backend cannot take such operations concurrently."""
        if isinstance(op, _ALIAS_OPS) and self.alias_lock is not None:
            return self.alias_lock
        return contextlib.nullcontext()

    async def execute_with_retries(self, op: Operation) -> None:
        """execute(op), retried (retry.call) while the server is unreachable (a restart, a network blip).

        pymilvus gives up on an unreachable server after one reconnect attempt; a refusal by the server
        is retried only when it says it is retriable. Bounded by --timeout: a longer outage fails the operation.
        """
        if isinstance(op, ops.CopyRows):
            # Inserts are not idempotent: a retried copy would duplicate rows. A rerun starts it over.
            return await self.execute(op)

        async def recheck(_: BaseException) -> None:
            if not self.guarded():
                raise self.refused  # type: ignore[misc]

        await retry.call(lambda: self.execute(op), budget=self.timeout, before_retry=recheck)

    def guarded(self) -> bool:
        """Whether the guard lets operations start; once it refuses, `stop` is set and nothing else starts."""
        if self.guard is not None and self.refused is None:
            try:
                self.guard()
            except Exception as exc:
                self.refused = exc
                self.stop.set()
        return self.refused is None

    async def execute(self, op: Operation) -> None:
        client, t = self.session.client, self.timeout
        match op:
            case ops.CreateCollection(collection=c):
                if op.replace_leftover and (
                    self.session.caps.stale_name_after_rename or await client.has_collection(c.name, timeout=t)
                ):
                    # A copy's shadow: the reserved name holds no user data, maybe a leftover of an interrupted
                    # run; on 2.3 the drop also clears the name a previous switch renamed away from.
                    await client.drop_collection(c.name, timeout=t)
                await self.session.create_collection(c.name, timeout=t, **_collection_kwargs(c))
            case ops.DropCollection(num_rows=rows):
                if rows == 0 and not await copy.is_empty(client, op.collection_name, t):
                    # Planned as empty (so not destructive): rows written since must not be dropped silently.
                    raise copy.CopyFailed(f"{op.collection_name} was empty when planned but holds rows now; plan again")
                await client.drop_collection(op.collection_name, timeout=t)
            case ops.AddField(field_spec=f):
                await client.add_collection_field(
                    op.collection_name, f.name, _data_type(f.type), timeout=t, **_field_kwargs(f)
                )
            case ops.CreatePartition(partition_name=p):
                await client.create_partition(op.collection_name, p, timeout=t)
            case ops.DropPartition(partition_name=p):
                await client.drop_partition(op.collection_name, p, timeout=t)
            case ops.CreateIndex(index=ix):
                await self.create_index(op.collection_name, ix)
            case ops.DropIndex(index=ix):
                await self.drop_index(op.collection_name, ix.index_name)
            case ops.AlterCollectionField(field_name=field_name, field_params=params):
                # milvus.io/docs/alter-collection-field.md and mmap.md: field_params={"mmap.enabled": True}.
                await client.alter_collection_field(
                    op.collection_name, field_name, field_params=dict(params), timeout=t
                )
            case ops.AlterCollectionProperties(properties=props):
                await client.alter_collection_properties(op.collection_name, properties=dict(props), timeout=t)
            case ops.DropCollectionProperties(property_keys=keys):
                await client.drop_collection_properties(op.collection_name, property_keys=list(keys), timeout=t)
            case ops.LoadCollection(replica_number=n):
                await client.load_collection(op.collection_name, timeout=t, **({"replica_number": n} if n else {}))
            case ops.ReleaseCollection():
                await client.release_collection(op.collection_name, timeout=t)
            case ops.LoadPartitions(partition_names=names, replica_number=n):
                await client.load_partitions(
                    op.collection_name, list(names), timeout=t, **({"replica_number": n} if n else {})
                )
            case ops.ReleasePartitions(partition_names=names):
                await client.release_partitions(op.collection_name, list(names), timeout=t)
            case ops.CreateAlias(alias=alias):
                await client.create_alias(op.collection_name, alias, timeout=t)
            case ops.AlterAlias(alias=alias):
                await client.alter_alias(op.collection_name, alias, timeout=t)
            case ops.DropAlias(alias=alias):
                await client.drop_alias(alias, timeout=t)
            case ops.CopyRows():
                await self.copy_rows(op)
            case ops.RenameCollection():
                await self.rename(op)
            case _:
                raise NotImplementedError(f"no implementation for {op.op}")

    async def rename(self, op: ops.RenameCollection) -> None:
        client, t, new_name = self.session.client, self.timeout, op.new_name
        report = self.copies.get(op.collection_name)
        if op.check_rows_against is not None and report is not None:
            await copy.check_unchanged(client, op.collection_name, report, self.session.caps, t)
        if op.expect_rows is not None and op.expect_rows_of is not None:
            now = await copy.rows_of(client, op.expect_rows_of, t)
            if now != op.expect_rows:
                raise copy.CopyFailed(
                    f"{op.expect_rows_of} took writes since the plan was made ({op.expect_rows.describe()} then, "
                    f"{now.describe()} now, or other primary keys): it cannot be switched back without losing them. "
                    "Nothing was switched; plan again (the rows are then copied back)."
                )
            self.checked[op.expect_rows_of] = now
        if evolution.backup_version(new_name) is not None:
            await self.check_backup_name_free(new_name)
        await copy.rename(client, op.collection_name, new_name, self.session.caps, t)
        self.note_switch(op, report)

    def note_switch(self, op: ops.RenameCollection, report: copy.CopyReport | None) -> None:
        """Remember what each side of a switch holds; a completed switch goes into the result (and the history)."""
        if evolution.backup_version(op.new_name) is not None:
            out = report.source_rows if report is not None else self.checked.get(op.collection_name)
            self.stepping_aside[op.collection_name] = {"collection": op.collection_name, "backup": op.new_name, "out": out}
        elif op.phase is Phase.SWITCH_IN and op.new_name in self.stepping_aside:
            switch = self.stepping_aside.pop(op.new_name)
            copied = self.copies.get(op.new_name)
            incoming = op.rows if op.rows is not None else (copied.target_rows if copied is not None else None)
            if switch["out"] is not None and incoming is not None:
                self.result.switches.append(
                    {**switch, "out": switch["out"].model_dump(), "in": incoming.model_dump()}
                )

    async def check_backup_name_free(self, name: str) -> None:
        if await self.session.client.has_collection(name, timeout=self.timeout):
            raise copy.CopyFailed(
                f"{name} already exists (a backup kept by an earlier copy); nothing was switched. Drop the backups "
                "you no longer need ('milvus-migrate prune') and run the command again."
            )

    async def copy_rows(self, op: ops.CopyRows) -> None:
        if op.backup is not None:
            # Fail before moving a row, not after copying them all.
            await self.check_backup_name_free(op.backup)

        def progress(done: int, total: int | None) -> None:
            self.on_event(Event(EventKind.PROGRESS, op, done=done, total=total))

        self.copies[op.collection_name] = await copy.copy_rows(
            self.session.client, op.collection_name, op.target, op.mapping, self.session.caps,
            concurrency=self.concurrency, timeout=self.timeout, on_progress=progress,
        )  # fmt: skip
        self.result.rows_copied[op.collection_name] = self.copies[op.collection_name].rows

    async def create_index(self, collection_name: str, ix: Any) -> None:
        from pymilvus import AsyncMilvusClient

        params = AsyncMilvusClient.prepare_index_params()
        extra: dict[str, Any] = {}
        if ix.metric_type:
            extra["metric_type"] = ix.metric_type
        if ix.params:
            # The nested form keeps build params on Milvus Lite (the flat form is dropped there).
            extra["params"] = {"params": dict(ix.params)}
        params.add_index(field_name=ix.field_name, index_type=ix.index_type, index_name=ix.index_name, **extra)
        if self.session.caps.backend == "lite":
            # AsyncMilvusClient.create_index raises UNIMPLEMENTED on Milvus Lite after creating the
            # index (its wait path calls AllocTimestamp); the sync client waits correctly.
            await asyncio.to_thread(self._sync_create_index, collection_name, params)
        else:
            await self.session.client.create_index(collection_name, params, timeout=self.timeout)

    def _sync_create_index(self, collection_name: str, params: Any) -> None:
        client = self.session.sync_client()
        try:
            client.create_index(collection_name, params, timeout=self.timeout)
        finally:
            client.close()

    async def drop_index(self, collection_name: str, index_name: str) -> None:
        client = self.session.client
        # Milvus Lite drops EVERY index of the collection when asked for an unknown name: check first.
        if index_name not in await client.list_indexes(collection_name, timeout=self.timeout):
            return
        await client.drop_index(collection_name, index_name, timeout=self.timeout)


# Operations of one collection that may run at the same time: independent partitions or indexes.
_PARALLEL_PHASES = (Phase.CREATE_PARTITIONS, Phase.CREATE_INDEXES)


def _batches(lane: list[Operation]) -> list[list[Operation]]:
    """The lane cut into steps run in order; consecutive ops of a parallel phase form one step."""
    batches: list[list[Operation]] = []
    for op in lane:
        if batches and op.phase in _PARALLEL_PHASES and batches[-1][0].phase == op.phase:
            batches[-1].append(op)
        else:
            batches.append([op])
    return batches


def _collection_kwargs(c: CollectionState) -> dict[str, Any]:
    from pymilvus import AsyncMilvusClient, Function, FunctionType

    primary = c.primary_field
    schema = AsyncMilvusClient.create_schema(
        auto_id=bool(primary and primary.auto_id),
        enable_dynamic_field=c.enable_dynamic_field,
        description=c.description,
    )
    for f in c.fields:
        schema.add_field(f.name, _data_type(f.type), **_field_kwargs(f))
    for fn in c.functions:
        schema.add_function(
            Function(
                name=fn.name,
                function_type=FunctionType[fn.type],
                input_field_names=list(fn.input_field_names),
                output_field_names=list(fn.output_field_names),
                params=dict(fn.params) or None,
                description=fn.description,
            )
        )
    kwargs: dict[str, Any] = {"schema": schema}
    if c.consistency_level:
        kwargs["consistency_level"] = c.consistency_level
    if c.num_shards:
        kwargs["num_shards"] = c.num_shards
    if c.num_partitions:
        kwargs["num_partitions"] = c.num_partitions
    if c.properties:
        kwargs["properties"] = dict(c.properties)
    return kwargs


def _field_kwargs(f: FieldState) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for key in ("is_primary", "auto_id", "nullable", "is_partition_key", "is_clustering_key", "enable_analyzer", "enable_match"):
        if getattr(f, key):
            kwargs[key] = True
    for key in ("dim", "max_length", "max_capacity", "default_value", "analyzer_params", "mmap_enabled"):
        if getattr(f, key) is not None:
            kwargs[key] = getattr(f, key)
    if f.element_type:
        kwargs["element_type"] = _data_type(f.element_type)
    if f.description:
        kwargs["description"] = f.description
    return kwargs


def _data_type(name: str) -> Any:
    from pymilvus import DataType

    return DataType[name]


def error_message(exc: BaseException) -> str:
    """The server's reason for a failure, without pymilvus's wrapper text."""
    message = getattr(exc, "message", None)
    if message:
        code = getattr(exc, "code", None)
        return f"{message} (code {code})" if code not in (None, 0, 1) else str(message)
    details = getattr(exc, "details", None)
    if callable(details):
        try:
            return f"{details()} ({exc.code().name})"  # type: ignore[attr-defined]
        except Exception:
            pass
    return f"{type(exc).__name__}: {exc}"

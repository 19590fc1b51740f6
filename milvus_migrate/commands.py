"""The async core of each command: files + Milvus in, plain results out. cli.py renders them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from milvus_migrate import __version__
from milvus_migrate.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_HISTORY_COLLECTION,
    ConnectionSettings,
)
from milvus_migrate.errors import (
    ApplyFailed,
    DataLossRefused,
    MigrateError,
    PlanDiverged,
    StalePlan,
    UnsupportedByServer,
)
from milvus_migrate.files import loader
from milvus_migrate.files.loader import MigrationSet
from milvus_migrate.milvus import copy, executor, history, introspect, lock
from milvus_migrate.milvus.connection import Session, connect
from milvus_migrate.milvus.history import HistoryRecord, HistoryStore
from milvus_migrate.planning import evolution, ops, planner, recovery, runplan
from milvus_migrate.planning.ops import Direction
from milvus_migrate.planning.recovery import InterruptedSwitch
from milvus_migrate.planning.state import CollectionState, State

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """What every command that talks to Milvus needs."""

    settings: ConnectionSettings = field(default_factory=ConnectionSettings)
    directory: Path = Path("migrations")
    variables: dict[str, str] = field(default_factory=dict)
    history_collection: str = DEFAULT_HISTORY_COLLECTION
    concurrency: int = DEFAULT_CONCURRENCY
    lock_timeout: float = 60.0
    # Told the target (backend, URI without credentials, database) as soon as a command connects.
    on_connect: Callable[[str], None] | None = None


@contextlib.asynccontextmanager
async def _connect(options: Options) -> AsyncIterator[Session]:
    """connect(), then tell `options.on_connect` which target this command works on."""
    async with connect(options.settings) as session:
        if options.on_connect is not None:
            options.on_connect(target_of(session))
        yield session


def target_of(session: Session) -> str:
    """'Milvus 2.3.5 at http://host:19530, database search' — never with credentials."""
    where = f"{session.caps.label} at {session.settings.display_uri}"
    if session.offline:
        return f"{where} (the file does not exist yet)"
    return f"{where}, database {session.settings.db_name}"


@dataclass
class StepReport:
    """One step that ran: the planned step and what the executor did."""

    step: runplan.Step
    result: executor.ApplyResult
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {**self.step.to_json(), "seconds": round(self.seconds, 3), **self.result.to_json()}


@dataclass
class RunReport:
    """What `up`/`down` planned and did; `dry_run` when it only planned."""

    run: runplan.RunPlan
    steps: list[StepReport] = field(default_factory=list)
    dry_run: bool = False
    failed: StepReport | None = None
    recovered: list[str] = field(default_factory=list)  # collections whose interrupted copy switch was finished

    @property
    def final_version(self) -> int:
        return self.steps[-1].step.to_version if self.steps else self.run.from_version

    def to_json(self) -> dict[str, Any]:
        ran = {id(r.step) for r in self.steps} | ({id(self.failed.step)} if self.failed else set())
        return {
            **{k: v for k, v in self.run.to_json().items() if k not in ("operations", "steps")},
            "dry_run": self.dry_run,
            "ok": self.failed is None,
            "final_version": self.final_version,
            "steps": [r.to_json() for r in self.steps],
            "failed_step": self.failed.to_json() if self.failed else None,
            "not_run_steps": [s.to_json() for s in self.run.steps if id(s) not in ran] if not self.dry_run else [],
            "recovered": self.recovered,
        }


@dataclass(frozen=True)
class PlannedRun:
    """A run plan with the fingerprint of what it was computed from (for `plan --out`)."""

    run: runplan.RunPlan
    fingerprint: dict[str, Any]

    def to_saved(self) -> dict[str, Any]:
        """The content of a saved plan file."""
        return {"format": SAVED_PLAN_FORMAT, "fingerprint": self.fingerprint, "plan": self.run.to_json()}


SAVED_PLAN_FORMAT = "milvus-migrate-plan/1"


def load(options: Options) -> MigrationSet:
    """The migration files, validated offline (SpecError lists every problem); nothing touches Milvus."""
    migration_set = loader.load_migrations(options.directory, options.variables)
    reserved = {name for name in migration_set.managed_collections() if is_own_collection(name, options)}
    if reserved:
        raise MigrateError(
            f"collection name(s) {', '.join(sorted(reserved))} are reserved for milvus-migrate's history; "
            "rename them or pass --history-collection"
        )
    copies = sorted(name for name in migration_set.managed_collections() if evolution.is_reserved(name))
    if copies:
        raise MigrateError(
            f"collection name(s) {', '.join(copies)} are reserved for milvus-migrate's copies "
            "(names ending in __mm_shadow, __mm_backup_v<N> or __mm_switch_v<N>); rename them"
        )
    return migration_set


def read_saved_plan(path: Path) -> dict[str, Any]:
    """A plan file written by `plan --out`, checked for shape; MigrateError naming the file otherwise."""
    try:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MigrateError(f"cannot read the plan file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise MigrateError(f"{path} is not a plan file written by 'milvus-migrate plan --out' (not JSON: {exc})") from None
    if not isinstance(saved, dict) or saved.get("format") != SAVED_PLAN_FORMAT or not isinstance(saved.get("plan"), dict):
        raise MigrateError(f"{path} is not a plan file written by 'milvus-migrate plan --out' (format {SAVED_PLAN_FORMAT})")
    return saved


def versions_of(migration_set: MigrationSet) -> list[runplan.Version]:
    """Each migration file with the state declared once it is applied."""
    return [
        runplan.Version(
            version=m.version,
            name=m.name,
            file=loader.display_path(m.path),
            description=m.description,
            checksum=m.checksum,
            declared=loader.fold(migration_set, m.version),
        )
        for m in migration_set.migrations
    ]


async def _compute(
    session: Session,
    options: Options,
    migration_set: MigrationSet,
    *,
    direction: Direction | None,
    to: int | None = None,
    steps: int | None = None,
    store: HistoryStore | None = None,
    records: list[HistoryRecord] | None = None,
    recovered: Callable[[State], State] | None = None,
) -> PlannedRun:
    """Read history (unless given) and live state once, check the history, and compute the run.

    `direction` None: down when `to` is below the current version, else up. `recovered`: the live state
    as the recovery `up` runs first would leave it (plan and dry runs, which change nothing).
    """
    if records is None:
        records, live = await asyncio.gather(
            (store or _history(session, options)).records(), _live(session, options, migration_set, count_rows=False)
        )
    else:
        live = await _live(session, options, migration_set, count_rows=False)
    current = history.current_version(records)
    versions = versions_of(migration_set)
    runplan.check_history(
        versions, history.applied_checksums(records), current, loader.display_path(migration_set.directory)
    )
    if direction is None:
        direction = Direction.DOWN if to is not None and to < current else Direction.UP
    live = await _with_backups(session, options, migration_set, live, records)
    if recovered is not None:
        live = recovered(live)

    def compute(state: State) -> runplan.RunPlan:
        return runplan.compute_run(
            versions, current, state, session.caps, direction=direction, to=to, steps=steps, database=options.settings.db_name
        )

    run = compute(live)
    # Rows are counted, and their keys read, only for the collections the run would copy or drop: the
    # first run says which; the second is planned with what they hold (empty: recreated; else copied,
    # or switched back to a backup holding exactly those rows).
    refined = await _refine(session, options, live, run)
    if refined is not live:
        run = compute(refined)
    if migration_set.warnings:
        # Validation warnings (params Milvus ignores, unknown build params) belong in the reviewed plan too.
        run = dataclasses.replace(run, warnings=tuple(str(w) for w in migration_set.warnings) + run.warnings)
    fingerprint = runplan.fingerprint(
        live=live,
        history_head=(records[-1].seq if records else 0, current),
        versions=versions,
        server_version=session.caps.version,
        tool_version=__version__,
        database=options.settings.db_name,
    )
    return PlannedRun(run, fingerprint)


async def _with_backups(
    session: Session, options: Options, migration_set: MigrationSet, live: State, records: list[HistoryRecord]
) -> State:
    """`live` with the backups copies kept of managed collections, and what the history recorded at their switch."""
    managed = migration_set.managed_collections()
    names = [
        n for n in await introspect.list_collections(session.client, options.settings.timeout)
        if evolution.backup_version(n) is not None and evolution.owner_of(n) in managed
    ]  # fmt: skip
    if not names:
        return live
    read = await introspect.read_state(
        session.client, names, session.caps, concurrency=options.concurrency, timeout=options.settings.timeout
    )
    facts = history.switch_facts(records)
    backups = {
        n: c.model_copy(update={"row_set": facts[n][0], "replaced_by": facts[n][1]}) if n in facts else c
        for n, c in read.collections.items()
    }
    return live.model_copy(update={"backups": backups})


async def _refine(session: Session, options: Options, live: State, run: runplan.RunPlan) -> State:
    """`live` with the row counts of the collections `run` copies or drops to recreate, and the rows (keys)
    of those a backup with a recorded switch could replace."""
    # A removed collection's drop carries no count: only copies and drops for a recreate need one.
    rebuilt = {
        op.collection_name
        for op in run.ops
        if isinstance(op, ops.CopyRows) or (isinstance(op, ops.DropCollection) and op.phase is ops.Phase.DROP_FOR_RECREATE)
    }
    names = sorted(n for n in rebuilt if n in live.collections)
    switchable = {evolution.owner_of(n) for n, b in live.backups.items() if b.replaced_by is not None}
    keyed = [n for n in names if n in switchable and _readable(live.collections[n], session)]
    if not names:
        return live
    t = options.settings.timeout
    counts, keys = await asyncio.gather(
        asyncio.gather(*(_unless_missing(introspect.count_rows(session.client, n, t)) for n in names)),
        asyncio.gather(*(_unless_missing(copy.rows_of(session.client, n, t)) for n in keyed)),
    )
    collections = dict(live.collections)
    for name, rows in zip(names, counts):
        collections[name] = collections[name].model_copy(update={"num_rows": rows})
    for name, row_set in zip(keyed, keys):
        collections[name] = collections[name].model_copy(update={"row_set": row_set})
    return live.model_copy(update={"collections": collections})


async def _unless_missing(read: Awaitable[T]) -> T | None:
    """What `read` answers, or None when it fails: a plan models a recovery `up` runs first, so a name it
    reads may not exist in Milvus yet (the count and keys are then unknown, as on a first read)."""
    try:
        return await read
    except Exception:
        return None


def _readable(c: CollectionState, session: Session) -> bool:
    """Whether the rows of `c` can be read without changing what the server serves (a load would)."""
    return not session.caps.keeps_load_state or (c.load is not None and c.load.loaded)


async def make_plan(options: Options, to: int | None = None, down: bool = False) -> PlannedRun:
    """What `up` (or `down`, or `up`/`down --to`) would do: the same run those commands compute."""
    migration_set = load(options)
    async with _connect(options) as session:
        return await _preview(session, options, migration_set, direction=Direction.DOWN if down else None, to=to)


async def _preview(
    session: Session,
    options: Options,
    migration_set: MigrationSet,
    *,
    direction: Direction | None,
    to: int | None = None,
    steps: int | None = None,
) -> PlannedRun:
    """The run `up`/`down` would compute, read-only: with the interrupted switches they finish first.

    The steps are planned against the state those switches leave (each renamed collection read under
    its final name, the aliases moved back), which is what `up`/`down` read once they finished them.
    """
    records = await _history(session, options).records()
    if direction is None:
        direction = Direction.DOWN if to is not None and to < history.current_version(records) else Direction.UP
    switches = await _interrupted_switches(session, options, migration_set, records, direction, to, steps)
    if not switches:
        return await _compute(session, options, migration_set, direction=direction, to=to, steps=steps, records=records)
    renamed = await introspect.read_state(
        session.client, recovery.to_read(switches), session.caps, concurrency=options.concurrency,
        timeout=options.settings.timeout, count_rows=False,  # read as _compute reads the live state
    )  # fmt: skip
    facts = history.switch_facts(records)
    planned = await _compute(
        session, options, migration_set, direction=direction, to=to, steps=steps, records=records,
        recovered=lambda live: recovery.finished(live, renamed, switches, session.caps, facts),
    )  # fmt: skip
    return _with_recovery(planned, switches)


def _with_recovery(planned: PlannedRun, switches: list[InterruptedSwitch]) -> PlannedRun:
    """`planned` with the interrupted switches its command finishes before the first step."""
    return dataclasses.replace(planned, run=dataclasses.replace(planned.run, recovery=tuple(switches)))


async def run(
    options: Options,
    *,
    direction: Direction,
    to: int | None = None,
    steps: int | None = None,
    dry_run: bool = False,
    allow_data_loss: bool = False,
    saved_plan: dict[str, Any] | None = None,
    on_event: executor.EventHandler | None = None,
    on_step: Callable[[StepReport], None] | None = None,
) -> RunReport:
    """`up` or `down`: compute the run once (under the lock), refuse data loss on all of it, then apply step by step.

    Each step is recorded once all its operations succeeded; `on_step` sees it at once, so a later
    failure cannot hide it. Before each later step the collections it touches are read again and
    must be what the plan expected. With `saved_plan`, the run must be exactly the saved one.
    """
    migration_set = load(options)
    async with _connect(options) as session:
        if dry_run or session.offline:
            # A Milvus Lite file that does not exist yet is created by the first change: the lock's
            # marker would create it, so a run with nothing to do (a `down`) must not take the lock.
            planned = await _preview(session, options, migration_set, direction=direction, to=to, steps=steps)
            if dry_run or planned.run.is_empty:
                return RunReport(planned.run, dry_run=dry_run)
        store = _history(session, options)
        async with lock.deployment_lock(
            session.client, session.caps, options.history_collection, timeout=options.lock_timeout, call_timeout=options.settings.timeout
        ) as held:
            if saved_plan is not None:
                saved_direction = Direction(saved_plan["plan"].get("direction", "up"))
                if saved_direction is not direction:
                    raise MigrateError(
                        f"the saved plan goes {saved_direction.value}; apply it with 'milvus-migrate {saved_direction.value} --plan FILE'"
                    )
                to = saved_plan["plan"].get("target_version")
            records = await store.records()  # read once under the lock, for the recovery and the plan
            switches = await _interrupted_switches(session, options, migration_set, records, direction, to, steps)
            await copy.finish_interrupted_switches(session.client, switches, session.caps, options.settings.timeout)
            planned = await _compute(session, options, migration_set, direction=direction, to=to, steps=steps, records=records)
            planned = _with_recovery(planned, switches)
            if saved_plan is not None:
                _check_saved(saved_plan, planned)
            report = RunReport(planned.run, recovered=[s.collection for s in switches])
            if planned.run.destructive_ops and not allow_data_loss:
                raise DataLossRefused([f"{op.describe()}: {op.reason}" for op in planned.run.destructive_ops])
            if not planned.run.steps:  # nothing (or only the recovery, done above) to run
                return report
            store.prepare()  # a first `up` creates the history collection while its first step runs
            try:
                for i, step in enumerate(planned.run.steps):
                    if i:
                        await _check_expected(session, options, step)
                    step_report = await _apply_step(session, options, step, store, on_event, guard=held.ensure_held)
                    if not step_report.result.ok:
                        report.failed = step_report
                        raise ApplyFailed(_failure_message(step, step_report.result), report=report)
                    report.steps.append(step_report)
                    if on_step is not None:
                        on_step(step_report)
                return report
            finally:
                await store.aclose()


async def _interrupted_switches(
    session: Session,
    options: Options,
    migration_set: MigrationSet,
    records: list[HistoryRecord],
    direction: Direction,
    to: int | None,
    steps: int | None,
) -> list[InterruptedSwitch]:
    """The switches killed runs left half done, which `up`/`down` finish before planning (read-only).

    The aliases moved back are those the version this run goes to declares.
    """
    current = history.current_version(records)
    versions = versions_of(migration_set)
    # The history's own problems (missing, changed, out-of-order files) are refused before anything moves.
    runplan.check_history(
        versions, history.applied_checksums(records), current, loader.display_path(migration_set.directory)
    )
    target = runplan.target_of(versions, current, direction, to, steps)
    declared = next((v.declared for v in versions if v.version == target), State())
    return await copy.find_interrupted_switches(
        session.client,
        {n: declared.collections[n].aliases if n in declared.collections else () for n in migration_set.managed_collections()},
        session.caps,
        options.settings.timeout,
    )


def _check_saved(saved: dict[str, Any], planned: PlannedRun) -> None:
    """Refuse a saved plan whose inputs moved, or that no longer matches what would run now."""
    reasons = runplan.stale_reasons(saved.get("fingerprint") or {}, planned.fingerprint)
    if not reasons and runplan.comparable_plan(saved["plan"]) != runplan.comparable_plan(planned.run.to_json()):
        reasons = [
            "the plan computed now differs from the saved one (rows written to a collection it would recreate, "
            "or would switch back to a backup; or migration file templates or --var values changed)"
        ]
    if reasons:
        raise StalePlan(reasons)


async def _check_expected(session: Session, options: Options, step: runplan.Step) -> None:
    """Refuse to start `step` when the collections it touches are not what the simulation expected."""
    live = await introspect.read_state(
        session.client, step.touched, session.caps, concurrency=options.concurrency, timeout=options.settings.timeout,
        count_rows=False,  # rows written meanwhile are no difference of schema; a copy re-counts its source
    )  # fmt: skip
    expected = State(collections={n: c for n, c in step.before.collections.items() if n in step.touched})
    differences = runplan.differences(expected, live, session.caps)
    if differences:
        raise PlanDiverged(step.name, differences)


async def _apply_step(
    session: Session,
    options: Options,
    step: runplan.Step,
    store: HistoryStore,
    on_event: executor.EventHandler | None,
    guard: Callable[[], None],
) -> StepReport:
    """Apply one step and record it; a failure is recorded too (it never blocks a rerun).

    `guard` raises when this deployment lost the lock: checked before every operation and before
    recording, since another deployment may be applying this version by then.
    """
    started = time.monotonic()
    result = await executor.apply(step.plan, session, concurrency=options.concurrency, on_event=on_event, guard=guard)
    seconds = time.monotonic() - started
    record = HistoryRecord.new(
        version=step.version,
        name=step.name,
        checksum=step.checksum,
        direction=step.direction if result.ok else Direction.FAILED,
        current_version=step.to_version if result.ok else step.from_version,
        duration_ms=int(seconds * 1000),
        detail=_detail(result),
    )
    if result.ok:
        guard()
        await store.append([record])
    else:
        # Best effort: the failure's cause (a server gone away) may stop this write too; the error stands.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(store.append([record]), timeout=min(FAILURE_RECORD_TIMEOUT, options.settings.timeout))
    return StepReport(step, result, seconds)


def _detail(result: executor.ApplyResult) -> str:
    """What a step's record keeps beyond its version: the failure, and the switches made (for a switch back)."""
    detail = ({} if result.ok else result.failure_detail()) | ({"switches": result.switches} if result.switches else {})
    return history.encode_detail(detail) if detail else ""


# How long recording a failed step may take before the failure is reported without its record.
FAILURE_RECORD_TIMEOUT = 15.0


def _failure_message(step: runplan.Step, result: executor.ApplyResult) -> str:
    lines = [f"{step.direction.value} {step.name} failed at: {failure}" for failure in result.failure_lines()]
    if result.ran:
        lines.append("Done before the failure: " + "; ".join(o.describe() for o in result.ran))
    if result.not_run:
        lines.append("Not run: " + "; ".join(o.describe() for o in result.not_run))
    lines.append(
        f"Version {step.version} was not recorded; fix the cause and run the same command again to continue "
        "('milvus-migrate status' shows this failure until then)."
    )
    return "\n".join(lines)


def _history(session: Session, options: Options) -> HistoryStore:
    return HistoryStore(session.client, options.history_collection, options.settings.timeout, session.create_collection)


async def _live(session: Session, options: Options, migration_set: MigrationSet, *, count_rows: bool = True) -> State:
    return await introspect.read_state(
        session.client,
        migration_set.managed_collections(),
        session.caps,
        aliases=migration_set.declared_aliases(),
        concurrency=options.concurrency,
        timeout=options.settings.timeout,
        count_rows=count_rows,
    )


@dataclass
class StatusReport:
    """Where a database stands against the migration files."""

    database: str
    backend: str
    current_version: int
    latest_version: int
    pending: list[int]
    drift: list[dict[str, str]]
    changed_files: list[dict[str, str]]
    out_of_order: list[dict[str, Any]]
    unmanaged_collections: list[str]
    lock_holder: str | None
    problems: list[str]
    last_failure: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    # Collections a copy left: backups of the old schema (kept for `down`), shadows of an interrupted copy.
    copies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def attention(self) -> list[str]:
        """What needs attention, most urgent first ([] when the database is up to date)."""
        out = []
        if self.last_failure:
            out.append(f"the last attempt at {self.last_failure['name']} failed")
        if self.problems:
            out.append(_count(len(self.problems), "problem with the history", "problems with the history"))
        if self.changed_files:
            out.append(_count(len(self.changed_files), "applied file changed", "applied files changed"))
        if self.out_of_order:
            out.append(_count(len(self.out_of_order), "out-of-order file", "out-of-order files"))
        if any(c["kind"] == "switching" for c in self.copies):
            out.append("a copy's switch was interrupted")
        if self.drift:
            out.append(f"Milvus drifted from version {self.current_version}")
        if self.pending:
            out.append(_count(len(self.pending), "pending version", "pending versions"))
        return out

    @property
    def up_to_date(self) -> bool:
        return not self.attention

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "backend": self.backend,
            "up_to_date": self.up_to_date,
            "attention": self.attention,
            "current_version": self.current_version,
            "latest_version": self.latest_version,
            "pending": self.pending,
            "drift": self.drift,
            "changed_files": self.changed_files,
            "out_of_order": self.out_of_order,
            "unmanaged_collections": self.unmanaged_collections,
            "lock_holder": self.lock_holder,
            "problems": self.problems,
            "last_failure": self.last_failure,
            "notes": self.notes,
            "copies": self.copies,
        }


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


async def status(options: Options) -> StatusReport:
    """Where the database is: versions, pending, drift, changed files, failures, unmanaged collections, lock."""
    migration_set = load(options)
    async with _connect(options) as session:
        records, live, everything, holder = await asyncio.gather(
            _history(session, options).records(),
            _live(session, options, migration_set),
            introspect.list_collections(session.client, options.settings.timeout),
            lock.current_holder(session.client, session.caps, options.history_collection, options.settings.timeout),
        )
    current = history.current_version(records)
    versions = versions_of(migration_set)
    applied = history.applied_checksums(records)
    problems: list[str] = []
    drift: list[dict[str, str]] = []
    declared = next((v.declared for v in versions if v.version == current), State() if current == 0 else None)
    if declared is None:
        problems.append(f"the history says version {current}, but no migration file has that version")
    else:
        try:
            drift_plan = planner.plan(declared, live, session.caps)
            drift = [{"op": op.op, "collection": op.collection_name, "description": op.describe()} for op in drift_plan.ops]
        except UnsupportedByServer as exc:
            problems.append(str(exc))
    missing = sorted(v for v in applied if migration_set.get(v) is None)
    if missing:
        problems.append(
            f"recorded versions without a file: {', '.join(map(str, missing))}; restore the files, or record the "
            "version the database is really at with 'milvus-migrate stamp VERSION'"
        )
    if not records and live.collections:
        problems.append(
            f"no history, but {len(live.collections)} declared collection(s) exist ({', '.join(sorted(live.collections))}); "
            "if they match a version, adopt it with 'milvus-migrate stamp VERSION'"
        )
    managed = migration_set.managed_collections()
    failure = history.last_failure(records)
    return StatusReport(
        database=options.settings.db_name,
        backend=session.caps.label,
        current_version=current,
        latest_version=migration_set.latest_version,
        pending=[v.version for v in versions if v.version > current],
        drift=drift,
        changed_files=[
            {"file": f, "recorded_checksum": r, "checksum": c} for f, r, c in runplan.changed_files(versions, applied)
        ],
        out_of_order=[{"file": v.file, "version": v.version} for v in versions if v.version <= current and v.version not in applied],
        unmanaged_collections=[
            n for n in everything if n not in managed and not is_own_collection(n, options) and not evolution.is_reserved(n)
        ],
        copies=[
            {
                "collection": n, "of": evolution.owner_of(n), "version": evolution.backup_version(n) or evolution.switch_version(n),
                "kind": _copy_kind(n, everything),
            }  # fmt: skip
            for n in everything
            if evolution.is_reserved(n) and evolution.owner_of(n) in managed
        ],
        lock_holder=holder,
        problems=problems,
        last_failure=None if failure is None else {**failure.to_json(), **history.detail_of(failure)},
        notes=[f"the Milvus Lite database {options.settings.uri} does not exist yet; 'milvus-migrate up' creates it"]
        if session.offline
        else [],
    )


def _copy_kind(name: str, everything: list[str]) -> str:
    """'backup', 'shadow' (a copy interrupted before its switch), 'switching' (between the renames), or
    'switching back' (a backup taking its name back was interrupted)."""
    if evolution.backup_version(name) is not None:
        return "backup"
    if evolution.switch_version(name) is not None:
        return "switching back"
    return "shadow" if evolution.owner_of(name) in everything else "switching"


async def read_history(options: Options) -> list[HistoryRecord]:
    """Every history record, oldest first."""
    async with _connect(options) as session:
        return await _history(session, options).records()


async def stamp(options: Options, version: int) -> list[HistoryRecord]:
    """Record `version` as the current one without changing any collection."""
    migration_set = load(options)
    if version != 0 and migration_set.get(version) is None:
        raise MigrateError(f"version {version} does not exist (known versions: {', '.join(map(str, migration_set.versions))})")
    async with _connect(options) as session:
        store = _history(session, options)
        async with lock.deployment_lock(
            session.client, session.caps, options.history_collection, timeout=options.lock_timeout, call_timeout=options.settings.timeout
        ) as held:
            current = history.current_version(await store.records())
            if version > current:
                stamped = [m for m in migration_set.migrations if current < m.version <= version]
                records = [
                    HistoryRecord.new(version=m.version, name=m.name, checksum=m.checksum, direction=Direction.STAMP, current_version=m.version)
                    for m in stamped
                ]  # fmt: skip
            else:
                m = migration_set.get(version)
                records = [
                    HistoryRecord.new(version=version, name=m.name if m else "0000", checksum="", direction=Direction.STAMP, current_version=version)
                ]  # fmt: skip
            held.ensure_held()
            return await store.append(records)


async def repair(options: Options) -> list[HistoryRecord]:
    """Accept the current contents of changed, applied files by recording their new checksums."""
    migration_set = load(options)
    async with _connect(options) as session:
        store = _history(session, options)
        async with lock.deployment_lock(
            session.client, session.caps, options.history_collection, timeout=options.lock_timeout, call_timeout=options.settings.timeout
        ) as held:
            records = await store.records()
            current = history.current_version(records)
            repaired = [
                HistoryRecord.new(version=version, name=m.name, checksum=m.checksum, direction=Direction.REPAIR, current_version=current)
                for version, (_, recorded) in sorted(history.applied_checksums(records).items())
                if (m := migration_set.get(version)) is not None and m.checksum != recorded
            ]  # fmt: skip
            held.ensure_held()
            return await store.append(repaired) if repaired else []


def is_own_collection(name: str, options: Options) -> bool:
    """Whether `name` is one of milvus-migrate's own collections (history, lock)."""
    return name == options.history_collection or lock.is_lock_object(name, options.history_collection)


async def inspect(options: Options, collections: list[str] | None = None) -> str:
    """A migration file declaring the live collections (all but the tool's own, or those named)."""
    from milvus_migrate.files import writer

    async with _connect(options) as session:
        every = await introspect.list_collections(session.client, options.settings.timeout)
        if collections:
            unknown = sorted(set(collections) - set(every))
            if unknown:
                raise MigrateError(
                    f"no collection {', '.join(unknown)} in database {options.settings.db_name!r} "
                    f"(it has: {', '.join(n for n in every if not is_own_collection(n, options)) or 'none'})"
                )
            chosen = sorted(set(collections))
        else:
            chosen = [n for n in every if not is_own_collection(n, options) and not evolution.is_reserved(n)]
        live = await introspect.read_state(
            session.client, chosen, session.caps, concurrency=options.concurrency, timeout=options.settings.timeout
        )
        return writer.migration_file(live, session.caps)


async def unlock(options: Options) -> str | None:
    """Break the deployment lock (after a crashed run); returns who held it."""
    async with _connect(options) as session:
        return await lock.break_lock(session.client, session.caps, options.history_collection, options.settings.timeout)


async def prune(options: Options, dry_run: bool = False) -> list[str]:
    """Drop the backups copies kept of managed collections (and shadows left beside an existing collection)."""
    migration_set = load(options)
    managed = migration_set.managed_collections()
    async with _connect(options) as session:
        async with lock.deployment_lock(
            session.client, session.caps, options.history_collection, timeout=options.lock_timeout, call_timeout=options.settings.timeout
        ) as held:
            everything = set(await introspect.list_collections(session.client, options.settings.timeout))
            # A shadow whose collection is missing is a half-done switch that `up` finishes, and a backup on its
            # way back to its name is finished or put back by the next run: neither is pruned.
            doomed = sorted(
                n for n in everything
                if evolution.is_reserved(n) and evolution.owner_of(n) in managed and evolution.owner_of(n) in everything
                and evolution.switch_version(n) is None
            )  # fmt: skip
            if dry_run:
                return doomed
            for name in doomed:  # all checked before any is dropped
                aliases = await introspect.aliases_of(session.client, name, session.caps, options.settings.timeout)
                if aliases:
                    raise MigrateError(f"{name} is still the target of alias {', '.join(aliases)}; move it first")
            for name in doomed:
                held.ensure_held()
                await session.client.drop_collection(name, timeout=options.settings.timeout)
            return doomed

"""The async core of each command: files + Milvus in, plain results out. cli.py renders them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milvus_migrate import copy, evolution, executor, history, introspect, loader, lock, planner
from milvus_migrate.config import DEFAULT_HISTORY_COLLECTION, ConnectionSettings
from milvus_migrate.connection import Session, connect
from milvus_migrate.errors import (
    ApplyFailed,
    ChecksumMismatch,
    DataLossRefused,
    HistoryError,
    MigrateError,
    UnsupportedByServer,
)
from milvus_migrate.history import HistoryRecord, HistoryStore
from milvus_migrate.loader import MigrationSet
from milvus_migrate.ops import Plan
from milvus_migrate.state import State


@dataclass(frozen=True)
class Options:
    """What every command that talks to Milvus needs."""

    settings: ConnectionSettings = field(default_factory=ConnectionSettings)
    directory: Path = Path("migrations")
    variables: dict[str, str] = field(default_factory=dict)
    history_collection: str = DEFAULT_HISTORY_COLLECTION
    concurrency: int = 8
    lock_timeout: float = 60.0


@dataclass
class StepReport:
    """One version applied or reverted: its plan and what the executor did."""

    version: int
    name: str
    direction: str
    plan: Plan
    result: executor.ApplyResult
    seconds: float


@dataclass
class RunReport:
    """What `up`/`down` did; `plan` is the combined preview when dry_run."""

    from_version: int
    to_version: int
    steps: list[StepReport] = field(default_factory=list)
    dry_run_plan: Plan | None = None
    recovered: list[str] = field(default_factory=list)  # collections whose interrupted copy switch was finished


def load(options: Options) -> MigrationSet:
    """The migration files, validated offline (SpecError lists every problem); nothing touches Milvus."""
    migration_set = loader.load_migrations(options.directory, options.variables)
    reserved = {
        name
        for name in migration_set.managed_collections()
        if name == options.history_collection or lock.is_lock_object(name, options.history_collection)
    }
    if reserved:
        raise MigrateError(
            f"collection name(s) {', '.join(sorted(reserved))} are reserved for milvus-migrate's history; "
            "rename them or pass --history-collection"
        )
    copies = sorted(name for name in migration_set.managed_collections() if evolution.is_reserved(name))
    if copies:
        raise MigrateError(
            f"collection name(s) {', '.join(copies)} are reserved for milvus-migrate's copies "
            "(names ending in __mm_shadow or __mm_backup_v<N>); rename them"
        )
    return migration_set


async def make_plan(options: Options, to: int | None = None, down: bool = False) -> Plan:
    """What `up` (or `down`) would do, as one plan from the live state to the target version."""
    migration_set = load(options)
    async with connect(options.settings) as session:
        records = await _history(session, options).records()
        current = history.current_version(records)
        target = _target(migration_set, current, to, down)
        live = await _live(session, options, migration_set)
        return planner.plan(
            loader.fold(migration_set, target),
            live,
            session.caps,
            database=options.settings.db_name,
            from_version=current,
            to_version=target,
            direction="down" if down else "up",
        )


async def run(
    options: Options,
    *,
    direction: str,
    to: int | None = None,
    steps: int | None = None,
    dry_run: bool = False,
    allow_data_loss: bool = False,
    on_event: executor.EventHandler | None = None,
    on_step: Callable[[StepReport], None] | None = None,
) -> RunReport:
    """`up` or `down`: one version at a time, each recorded once all its operations succeeded.

    `on_step` sees each step as soon as it is recorded, so a later failure cannot hide it.
    """
    migration_set = load(options)
    async with connect(options.settings) as session:
        store = _history(session, options)
        records = await store.records()
        _check_history(migration_set, records)
        current = history.current_version(records)
        path = _path(migration_set, current, direction, to, steps)
        target = path[-1][1] if path else current
        if dry_run:
            live = await _live(session, options, migration_set)
            preview = planner.plan(
                loader.fold(migration_set, target), live, session.caps,
                database=options.settings.db_name, from_version=current, to_version=target, direction=direction,
            )  # fmt: skip
            return RunReport(current, target, dry_run_plan=preview)
        if not path and direction == "up" and current:
            # Nothing pending, but Milvus may have drifted from the current version: `plan` shows
            # the repair, so `up` applies it (recorded as 'reconcile'; the version stays).
            live = await _live(session, options, migration_set)
            if not planner.plan(loader.fold(migration_set, current), live, session.caps).is_empty:
                path = [(current, current)]
        if not path:
            return RunReport(current, current)
        async with lock.deployment_lock(
            session.client, session.caps, options.history_collection, timeout=options.lock_timeout, call_timeout=options.settings.timeout
        ):
            # Another deployment may have moved the database while this one waited for the lock.
            records = await store.records()
            _check_history(migration_set, records)
            if history.current_version(records) != current:
                current = history.current_version(records)
                path = _path(migration_set, current, direction, to, steps)
            # A run killed between a copy's two renames left the name missing: finish that switch first.
            declared = loader.fold(migration_set, path[-1][1] if path else current)
            recovered = await copy.finish_interrupted_switches(
                session.client,
                {n: declared.collections[n].aliases if n in declared.collections else () for n in migration_set.managed_collections()},
                session.caps,
                options.settings.timeout,
            )
            live = await _live(session, options, migration_set)
            _refuse_data_loss(migration_set, path, live, session, allow_data_loss)
            store.prepare()
            try:
                report = RunReport(current, path[-1][1] if path else current, recovered=recovered)
                known: State | None = live  # read above; later steps read again after the previous one
                for version, resulting in path:
                    kind = "reconcile" if direction == "up" and version == current else direction
                    step = await _apply_step(
                        session, options, migration_set, (version, current, resulting), kind, store, on_event, known
                    )
                    known, current = None, resulting
                    report.steps.append(step)
                    if on_step is not None:
                        on_step(step)
                return report
            finally:
                await store.aclose()


async def _apply_step(
    session: Session,
    options: Options,
    migration_set: MigrationSet,
    versions: tuple[int, int, int],
    direction: str,
    store: HistoryStore,
    on_event: executor.EventHandler | None,
    live: State | None,
) -> StepReport:
    """Plan from the live state to `resulting`, apply, then record (version, from, resulting) as one step."""
    version, from_version, resulting = versions
    started = time.monotonic()
    if live is None:
        live = await _live(session, options, migration_set)
    step_plan = planner.plan(
        loader.fold(migration_set, resulting), live, session.caps,
        database=options.settings.db_name, from_version=from_version, to_version=resulting,
        direction="down" if direction == "down" else "up",
    )  # fmt: skip
    result = await executor.apply(step_plan, session, concurrency=options.concurrency, on_event=on_event)
    migration = migration_set.get(version)
    name = migration.name if migration else f"{version:04d}"
    if not result.ok:
        raise ApplyFailed(_failure_message(version, name, direction, result))
    seconds = time.monotonic() - started
    await store.append(
        [
            {
                "version": version,
                "name": name,
                "checksum": migration.checksum if migration else "",
                "direction": direction,
                "current_version": resulting,
                "duration_ms": int(seconds * 1000),
            }
        ]
    )
    return StepReport(version, name, direction, step_plan, result, seconds)


def _failure_message(version: int, name: str, direction: str, result: executor.ApplyResult) -> str:
    op, reason = result.failed  # type: ignore[misc]
    lines = [f"{direction} {name} failed at: {op.describe()}: {reason}"]
    if result.ran:
        lines.append("Done before the failure: " + "; ".join(o.describe() for o in result.ran))
    if result.not_run:
        lines.append("Not run: " + "; ".join(o.describe() for o in result.not_run))
    lines.append(f"Version {version} was not recorded; fix the cause and run the same command again to continue.")
    return "\n".join(lines)


def _refuse_data_loss(
    migration_set: MigrationSet, path: list[tuple[int, int]], live: State, session: Session, allow: bool
) -> None:
    """Plan every step ahead (assuming each lands as declared) and refuse before anything runs."""
    previous = live
    destructive: list[str] = []
    for _, resulting in path:
        desired = loader.fold(migration_set, resulting)
        step = planner.plan(desired, previous, session.caps)
        destructive += [f"{op.describe()}: {op.reason}" for op in step.destructive_ops]
        previous = desired
    if destructive and not allow:
        raise DataLossRefused(destructive)


def _path(
    migration_set: MigrationSet, current: int, direction: str, to: int | None, steps: int | None
) -> list[tuple[int, int]]:
    """(version, version after the step) pairs, in the order they run."""
    versions = migration_set.versions
    if to is not None and to != 0 and to not in versions:
        raise MigrateError(f"version {to} does not exist (known versions: {', '.join(map(str, versions)) or 'none'})")
    if direction == "up":
        target = migration_set.latest_version if to is None else to
        if target < current:
            raise MigrateError(f"the database is at version {current}, above {target}; use 'milvus-migrate down --to {target}'")
        return [(v, v) for v in versions if current < v <= target]
    applied = [v for v in versions if v <= current]
    if to is not None:
        if to > current:
            raise MigrateError(f"the database is at version {current}, below {to}; use 'milvus-migrate up --to {to}'")
        reverted = [v for v in applied if v > to]
    else:
        reverted = applied[len(applied) - (steps or 1) :] if applied else []
    out = []
    for v in sorted(reverted, reverse=True):
        out.append((v, _below(migration_set, v)))
    return out


def _below(migration_set: MigrationSet, version: int) -> int:
    lower = [v for v in migration_set.versions if v < version]
    return lower[-1] if lower else 0


def _target(migration_set: MigrationSet, current: int, to: int | None, down: bool) -> int:
    if to is not None:
        if to != 0 and to not in migration_set.versions:
            raise MigrateError(f"version {to} does not exist (known versions: {', '.join(map(str, migration_set.versions)) or 'none'})")
        return to
    return _below(migration_set, current) if down else migration_set.latest_version


def _check_history(migration_set: MigrationSet, records: list[HistoryRecord]) -> None:
    """Refuse to run on a history that does not match the files (missing files, changed files)."""
    applied = history.applied_checksums(records)
    missing = sorted(v for v in applied if migration_set.get(v) is None)
    if missing:
        names = ", ".join(applied[v][0] for v in missing)
        raise HistoryError(
            f"the database history records applied versions whose files are missing from {migration_set.directory}: "
            f"{names}. Restore those files, or 'milvus-migrate stamp VERSION' to record the version the database really is at."
        )
    changed = changed_files(migration_set, records)
    if changed:
        raise ChecksumMismatch(changed)


def changed_files(migration_set: MigrationSet, records: list[HistoryRecord]) -> list[tuple[str, str, str]]:
    """(file, recorded checksum, current checksum) for applied files that changed since."""
    out = []
    for version, (_, recorded) in sorted(history.applied_checksums(records).items()):
        migration = migration_set.get(version)
        if migration is not None and migration.checksum != recorded:
            out.append((loader.display_path(migration.path), recorded, migration.checksum))
    return out


def _history(session: Session, options: Options) -> HistoryStore:
    return HistoryStore(session.client, options.history_collection, options.settings.timeout, session.create_collection)


async def _live(session: Session, options: Options, migration_set: MigrationSet) -> State:
    return await introspect.read_state(
        session.client,
        migration_set.managed_collections(),
        session.caps,
        concurrency=options.concurrency,
        timeout=options.settings.timeout,
    )


async def status(options: Options) -> dict[str, Any]:
    """Where the database is: versions, pending, drift, changed files, unmanaged collections, lock."""
    migration_set = load(options)
    async with connect(options.settings) as session:
        records = await _history(session, options).records()
        current = history.current_version(records)
        managed = migration_set.managed_collections()
        live = await _live(session, options, migration_set)
        problems: list[str] = []
        drift: list[dict[str, Any]] = []
        if current == 0 or migration_set.get(current) is not None:
            try:
                drift_plan = planner.plan(loader.fold(migration_set, current), live, session.caps)
                drift = [{"op": op.op, "collection": op.collection_name, "description": op.describe()} for op in drift_plan.ops]
            except UnsupportedByServer as exc:
                problems.append(str(exc))
        else:
            problems.append(f"the history says version {current}, but no migration file has that version")
        missing = sorted(v for v in history.applied_checksums(records) if migration_set.get(v) is None)
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
        everything = await introspect.list_collections(session.client, options.settings.timeout)
        unmanaged = [
            n for n in everything
            if n not in managed and n != options.history_collection and not lock.is_lock_object(n, options.history_collection)
            and not evolution.is_reserved(n)
        ]  # fmt: skip
        # Collections a copy left: backups of the old schema (kept for `down`), shadows of an interrupted copy.
        copies = [
            {"collection": n, "of": evolution.owner_of(n), "version": evolution.backup_version(n),
             "kind": _copy_kind(n, everything)}
            for n in everything if evolution.is_reserved(n) and evolution.owner_of(n) in managed
        ]  # fmt: skip
        holder = await lock.current_holder(session.client, session.caps, options.history_collection, options.settings.timeout)
        return {
            "database": options.settings.db_name,
            "current_version": current,
            "latest_version": migration_set.latest_version,
            "pending": [v for v in migration_set.versions if v > current],
            "drift": drift,
            "changed_files": [
                {"file": f, "recorded_checksum": r, "checksum": c} for f, r, c in changed_files(migration_set, records)
            ],
            "unmanaged_collections": unmanaged,
            "copies": copies,
            "lock_holder": holder,
            "problems": problems,
            "backend": session.caps.label,
        }


def _copy_kind(name: str, everything: list[str]) -> str:
    """'backup', 'shadow' (a copy interrupted before its switch) or 'switching' (between the renames)."""
    if evolution.backup_version(name) is not None:
        return "backup"
    return "shadow" if evolution.owner_of(name) in everything else "switching"


async def read_history(options: Options) -> list[HistoryRecord]:
    """Every history record, oldest first."""
    async with connect(options.settings) as session:
        return await _history(session, options).records()


async def stamp(options: Options, version: int) -> list[HistoryRecord]:
    """Record `version` as the current one without changing any collection."""
    migration_set = load(options)
    if version != 0 and migration_set.get(version) is None:
        raise MigrateError(f"version {version} does not exist (known versions: {', '.join(map(str, migration_set.versions))})")
    async with connect(options.settings) as session:
        store = _history(session, options)
        async with lock.deployment_lock(
            session.client, session.caps, options.history_collection, timeout=options.lock_timeout, call_timeout=options.settings.timeout
        ):
            current = history.current_version(await store.records())
            if version > current:
                rows = [
                    {"version": m.version, "name": m.name, "checksum": m.checksum, "direction": "stamp",
                     "current_version": m.version, "duration_ms": 0}
                    for m in migration_set.migrations if current < m.version <= version
                ]  # fmt: skip
            else:
                m = migration_set.get(version)
                rows = [{"version": version, "name": m.name if m else "0000", "checksum": "", "direction": "stamp",
                         "current_version": version, "duration_ms": 0}]  # fmt: skip
            return await store.append(rows)


async def repair(options: Options) -> list[HistoryRecord]:
    """Accept the current contents of changed, applied files by recording their new checksums."""
    migration_set = load(options)
    async with connect(options.settings) as session:
        store = _history(session, options)
        async with lock.deployment_lock(
            session.client, session.caps, options.history_collection, timeout=options.lock_timeout, call_timeout=options.settings.timeout
        ):
            records = await store.records()
            current = history.current_version(records)
            rows = []
            for version, (_, recorded) in sorted(history.applied_checksums(records).items()):
                m = migration_set.get(version)
                if m is not None and m.checksum != recorded:
                    rows.append({"version": version, "name": m.name, "checksum": m.checksum, "direction": "repair",
                                 "current_version": current, "duration_ms": 0})  # fmt: skip
            return await store.append(rows) if rows else []


async def unlock(options: Options) -> str | None:
    """Break the deployment lock (after a crashed run); returns who held it."""
    async with connect(options.settings) as session:
        return await lock.break_lock(session.client, session.caps, options.history_collection, options.settings.timeout)


async def prune(options: Options, dry_run: bool = False) -> list[str]:
    """Drop the backups copies kept of managed collections (and shadows left beside an existing collection)."""
    migration_set = load(options)
    managed = migration_set.managed_collections()
    async with connect(options.settings) as session:
        async with lock.deployment_lock(
            session.client, session.caps, options.history_collection, timeout=options.lock_timeout, call_timeout=options.settings.timeout
        ):
            everything = set(await introspect.list_collections(session.client, options.settings.timeout))
            # A shadow whose collection is missing is a half-done switch that `up` finishes: never pruned.
            doomed = sorted(
                n for n in everything
                if evolution.is_reserved(n) and evolution.owner_of(n) in managed and evolution.owner_of(n) in everything
            )  # fmt: skip
            if dry_run:
                return doomed
            for name in doomed:  # all checked before any is dropped
                aliases = await introspect.aliases_of(session.client, name, session.caps, options.settings.timeout)
                if aliases:
                    raise MigrateError(f"{name} is still the target of alias {', '.join(aliases)}; move it first")
            for name in doomed:
                await session.client.drop_collection(name, timeout=options.settings.timeout)
            return doomed

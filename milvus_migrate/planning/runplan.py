"""The run: the steps `up`/`down` will take, one per version, each planned against what the steps before leave.

One function, compute_run(), serves `plan`, `up --dry-run`, `down --dry-run`, `up` and `down`, so the plan a
reviewer approves is the one that runs. It is pure: versions, history facts and the live state come in,
a RunPlan comes out. fingerprint() and stale_reasons() make a saved plan refusable when its inputs moved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from milvus_migrate.errors import (
    ChecksumMismatch,
    HistoryError,
    MigrateError,
    OutOfOrderMigration,
    UnsupportedByServer,
)
from milvus_migrate.planning import evolution, planner
from milvus_migrate.planning.capabilities import Capabilities
from milvus_migrate.planning.ops import Direction, Operation, Plan
from milvus_migrate.planning.recovery import InterruptedSwitch
from milvus_migrate.planning.simulate import simulate
from milvus_migrate.planning.state import State


@dataclass(frozen=True)
class Version:
    """A migration file as a run sees it: who it is, and the state declared once it is applied."""

    version: int
    name: str  # file name without extension, e.g. 0004_add_category
    file: str  # as shown to users, e.g. migrations/0004_add_category.yaml
    description: str
    checksum: str
    declared: State


@dataclass(frozen=True)
class Step:
    """One version applied (up), reverted (down), or the current version re-applied (reconcile)."""

    version: int
    name: str
    description: str
    checksum: str
    direction: Direction
    from_version: int
    to_version: int  # the database's version once the step is recorded
    plan: Plan
    before: State  # what Milvus is expected to be when the step starts (managed collections)

    @property
    def touched(self) -> set[str]:
        """Managed collections the step changes, or whose aliases it moves away (not a copy's shadow or backup)."""
        names = {op.collection_name for op in self.plan.ops}
        names |= {op.previous_collection for op in self.plan.ops if hasattr(op, "previous_collection")}
        return {evolution.owner_of(n) for n in names}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "description": self.description,
            "checksum": self.checksum,
            "direction": self.direction.value,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "operations": [op.to_json() for op in self.plan.ops],
        }


@dataclass(frozen=True)
class RunPlan:
    """Every step of one `up` or `down`, in the order they run, after the interrupted switches it finishes first."""

    database: str
    direction: Direction
    from_version: int
    to_version: int
    steps: tuple[Step, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    # Switches a killed copy left half done: `up`/`down` finish them under the lock before the first step,
    # and the steps are planned against the state they leave (recovery.py).
    recovery: tuple[InterruptedSwitch, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Nothing would change in Milvus and nothing would be recorded."""
        return not self.steps and not self.recovery

    @property
    def ops(self) -> tuple[Operation, ...]:
        return tuple(op for step in self.steps for op in step.plan.ops)

    @property
    def destructive_ops(self) -> tuple[Operation, ...]:
        return tuple(op for op in self.ops if op.destructive)

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "current_version": self.from_version,
            "target_version": self.to_version,
            "direction": self.direction.value,
            "changes": len(self.ops),
            "destructive": len(self.destructive_ops),
            "warnings": list(self.warnings),
            "recovery": [switch.to_json() for switch in self.recovery],
            "operations": [op.to_json() for op in self.ops],
            "steps": [step.to_json() for step in self.steps],
        }


def check_history(versions: Sequence[Version], applied: Mapping[int, tuple[str, str]], current: int, directory: str) -> None:
    """Refuse a history the files cannot continue: missing, changed or out-of-order files."""
    by_version = {v.version: v for v in versions}
    missing = sorted(v for v in applied if v not in by_version)
    if missing:
        names = ", ".join(applied[v][0] for v in missing)
        raise HistoryError(
            f"the database history records applied versions whose files are missing from {directory}: {names}. "
            "Restore those files, or 'milvus-migrate stamp VERSION' to record the version the database really is at."
        )
    if current and current not in by_version and current not in applied:
        raise HistoryError(
            f"the database history says version {current}, but no migration file in {directory} has that version. "
            "Restore the file, or 'milvus-migrate stamp VERSION' to record the version the database really is at."
        )
    changed = changed_files(versions, applied)
    if changed:
        raise ChecksumMismatch(changed)
    late = [v for v in versions if v.version <= current and v.version not in applied]
    if late:
        raise OutOfOrderMigration([(v.file, v.version) for v in late], current)


def changed_files(versions: Sequence[Version], applied: Mapping[int, tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(file, recorded checksum, current checksum) of applied files that changed since."""
    return [
        (v.file, applied[v.version][1], v.checksum)
        for v in versions
        if v.version in applied and applied[v.version][1] and applied[v.version][1] != v.checksum
    ]


def target_of(versions: Sequence[Version], current: int, direction: Direction, to: int | None, steps: int | None) -> int:
    """The version a run ends at; refuses targets that do not exist or lie the wrong way."""
    known = [v.version for v in versions]
    if to is not None and to != 0 and to not in known:
        raise MigrateError(f"version {to} does not exist (known versions: {', '.join(map(str, known)) or 'none'})")
    if direction is Direction.UP:
        target = known[-1] if to is None and known else (to or 0)
        if target < current:
            raise MigrateError(
                f"the database is at version {current}, above {target}; use 'milvus-migrate down --to {target}'"
            )
        return target
    if to is not None:
        if to > current:
            raise MigrateError(f"the database is at version {current}, below {to}; use 'milvus-migrate up --to {to}'")
        return to
    applied = [v for v in known if v <= current]
    keep = applied[: max(len(applied) - (steps or 1), 0)]
    return keep[-1] if keep else 0


def compute_run(
    versions: Sequence[Version],
    current: int,
    live: State,
    caps: Capabilities,
    *,
    direction: Direction,
    to: int | None = None,
    steps: int | None = None,
    database: str = "default",
) -> RunPlan:
    """The steps that take the database from `current` (Milvus as `live`) to the target version.

    Up: one step per pending version; with none pending, a `reconcile` step when Milvus drifted from the
    current version. Down: one step per reverted version, each planned towards the version below it.
    Each step is planned against simulate(…) of the steps before it, never against a declared state
    Milvus will not actually reach (a description left as is, an AUTOINDEX substituted, …).
    """
    target = target_of(versions, current, direction, to, steps)
    declared = {v.version: v.declared for v in versions} | {0: State()}
    if direction is Direction.UP:
        moves = [(v, v.version) for v in versions if current < v.version <= target]
        if not moves and current in declared:
            this = next((v for v in versions if v.version == current), None)
            if this is not None and not _plan(declared[current], live, caps, database, current, current, "up").is_empty:
                moves = [(this, current)]
    else:
        reverted = [v for v in versions if target < v.version <= current]
        below = [0, *(v.version for v in versions)]
        moves = [(v, max(b for b in below if b < v.version)) for v in reversed(reverted)]
    state, at, out, warnings = live, current, [], []
    for v, resulting in moves:
        kind = Direction.RECONCILE if resulting == at and direction is Direction.UP else direction
        step_plan = _plan(declared[resulting], state, caps, database, at, resulting, direction.value)
        out.append(Step(v.version, v.name, v.description, v.checksum, kind, at, resulting, step_plan, state))
        warnings += step_plan.warnings
        state, at = managed_part(simulate(state, step_plan.ops)), resulting
    if not moves:
        # Notes of the declaration in force still apply when nothing runs ("Lite ignores …").
        warnings += _plan(declared.get(target, State()), live, caps, database, current, target, direction.value).warnings
    return RunPlan(database, direction, current, target, tuple(out), tuple(dict.fromkeys(warnings)))


def managed_part(state: State) -> State:
    """`state` as a later read of the managed collections sees it: without the backups a copy keeps (evolution.py)."""
    kept = {name: c for name, c in state.collections.items() if not evolution.is_reserved(name)}
    return state if len(kept) == len(state.collections) else state.model_copy(update={"collections": kept})


def _plan(desired: State, live: State, caps: Capabilities, database: str, at: int, to: int, direction: str) -> Plan:
    return planner.plan(desired, live, caps, database=database, from_version=at, to_version=to, direction=direction)


def differences(expected: State, live: State, caps: Capabilities) -> list[str]:
    """What the planner would change to make `live` what `expected` says ([] when they match)."""
    try:
        return [op.describe() for op in planner.plan(expected, live, caps).ops]
    except UnsupportedByServer:
        # The expectation holds something this backend cannot declare (a live shape read back): not comparable.
        return []


# ------------------------------------------------------------------------------------------ saved plans


def fingerprint(
    *,
    live: State,
    history_head: tuple[int, int],
    versions: Sequence[Version],
    server_version: str,
    tool_version: str,
    database: str,
) -> dict[str, Any]:
    """What a plan was computed from; any difference later makes the saved plan stale."""
    return {
        "database": database,
        "server_version": server_version,
        "tool_version": tool_version,
        "history": {"last_record": history_head[0], "current_version": history_head[1]},
        "files": {v.name: v.checksum for v in versions},
        "collections": {name: _digest(_comparable(c)) for name, c in sorted(live.collections.items())},
    }


def _comparable(c: Any) -> dict[str, Any]:
    # Rows written after the review do not make a plan stale, but a collection that was empty (recreated)
    # and now holds rows (to be copied) does: only whether rows are known to exist counts. (`plan` and
    # `up` read the live state without counts, so there the plans themselves differ: recreate vs copy.)
    values = c.model_dump(mode="json", exclude={"row_set", "replaced_by"})
    values["num_rows"] = None if c.num_rows is None else c.num_rows > 0
    return values


def comparable_plan(plan_json: Mapping[str, Any]) -> Any:
    """A plan's JSON without the row estimates of copies, which change with every write."""
    return json.loads(json.dumps(plan_json), object_hook=lambda d: {k: v for k, v in d.items() if k != "estimated_rows"})


def stale_reasons(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Why a plan saved with fingerprint `saved` cannot run on inputs with fingerprint `now`."""
    reasons = []
    for key, what in (("database", "database"), ("server_version", "server version"), ("tool_version", "milvus-migrate version")):
        if saved.get(key) != now.get(key):
            reasons.append(f"{what} was {saved.get(key)}, now {now.get(key)}")
    if saved.get("history") != now.get("history"):
        before, after = saved.get("history") or {}, now.get("history") or {}
        reasons.append(
            f"the history moved (version {before.get('current_version')}, record {before.get('last_record')} → "
            f"version {after.get('current_version')}, record {after.get('last_record')}): another run applied something"
        )
    reasons += _dict_changes(saved.get("files") or {}, now.get("files") or {}, "migration file")
    reasons += _dict_changes(saved.get("collections") or {}, now.get("collections") or {}, "collection", " in Milvus")
    return reasons


def _dict_changes(before: Mapping[str, str], after: Mapping[str, str], noun: str, where: str = "") -> list[str]:
    out = [f"{noun} {k} changed{where}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]]
    out += [f"{noun} {k} was added{where}" for k in sorted(after.keys() - before.keys())]
    out += [f"{noun} {k} was removed{where}" for k in sorted(before.keys() - after.keys())]
    return out


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]

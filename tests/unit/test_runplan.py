"""compute_run: the steps `plan` shows are the steps `up`/`down` run, each planned after the ones before."""

from __future__ import annotations

import pytest

from milvus_migrate.errors import (
    ChecksumMismatch,
    HistoryError,
    MigrateError,
    OutOfOrderMigration,
)
from milvus_migrate.planning import capabilities, planner, runplan
from milvus_migrate.planning.ops import Direction
from milvus_migrate.planning.simulate import simulate
from milvus_migrate.planning.state import State
from tests.unit.factories import collection, hnsw, pk, scalar, state, vec

CAPS = capabilities.server_2_3()


def versions(*declared: State) -> list[runplan.Version]:
    """Versions 1..N declaring the given states."""
    return [
        runplan.Version(i, f"{i:04d}_v{i}", f"migrations/{i:04d}_v{i}.yaml", f"version {i}", f"{i:064x}", s)
        for i, s in enumerate(declared, start=1)
    ]


def ops_of(run: runplan.RunPlan) -> list[list[str]]:
    return [[f"{op.op} {op.collection_name}" for op in step.plan.ops] for step in run.steps]


DOCS = collection("docs", fields=[pk(), vec(dim=8)], indexes=[hnsw()], load=True)
DOCS_V2 = collection("docs", fields=[pk(), vec(dim=16)], indexes=[hnsw()], load=True)


def test_drop_then_redeclare_shows_the_drop_in_its_own_step():
    vs = versions(state(DOCS), state(), state(DOCS_V2))
    run = runplan.compute_run(vs, 1, state(DOCS), CAPS, direction=Direction.UP)
    assert [s.version for s in run.steps] == [2, 3]
    assert ops_of(run) == [
        ["drop_collection docs"],
        ["create_collection docs", "create_index docs", "load_collection docs"],
    ]
    assert [op.op for op in run.destructive_ops] == ["drop_collection"]


def test_a_version_that_changes_nothing_is_a_step_that_will_be_recorded():
    vs = versions(state(DOCS), state(DOCS))
    run = runplan.compute_run(vs, 1, state(DOCS), CAPS, direction=Direction.UP)
    assert [(s.version, s.plan.ops) for s in run.steps] == [(2, ())]
    assert not run.is_empty


def test_an_empty_database_runs_every_version_in_order():
    notes = collection("notes", fields=[pk(), vec(dim=4)], indexes=[hnsw()])
    vs = versions(state(DOCS), state(DOCS, notes), state(notes))
    run = runplan.compute_run(vs, 0, state(), CAPS, direction=Direction.UP)
    assert [(s.from_version, s.to_version) for s in run.steps] == [(0, 1), (1, 2), (2, 3)]
    assert ops_of(run)[2] == ["drop_collection docs"]
    assert planner.plan(vs[-1].declared, simulate(state(), run.ops), CAPS).is_empty


def test_an_index_change_then_a_collection_drop():
    rebuilt = collection("docs", fields=[pk(), vec(dim=8)], indexes=[hnsw(M=32)], load=True)
    vs = versions(state(DOCS), state(rebuilt), state())
    live = state(DOCS.model_copy(update={"load": DOCS.load.model_copy(update={"replica_number": 1})}))
    run = runplan.compute_run(vs, 1, live, CAPS, direction=Direction.UP)
    assert ops_of(run) == [
        ["release_collection docs", "drop_index docs", "create_index docs", "load_collection docs"],
        ["drop_collection docs"],
    ]
    assert run.steps[1].before.collections["docs"].indexes[0].params["M"] == 32


def test_down_across_several_versions_plans_each_towards_the_version_below():
    notes = collection("notes", fields=[pk(), vec(dim=4)], indexes=[hnsw()])
    vs = versions(state(DOCS), state(DOCS, notes), state(DOCS, notes.model_copy(update={"partitions": ("p1",)})))
    live = vs[2].declared
    run = runplan.compute_run(vs, 3, live, CAPS, direction=Direction.DOWN, to=1)
    assert [(s.version, s.from_version, s.to_version, s.direction) for s in run.steps] == [
        (3, 3, 2, Direction.DOWN),
        (2, 2, 1, Direction.DOWN),
    ]
    assert ops_of(run) == [["drop_partition notes"], ["drop_collection notes"]]


def test_down_by_steps_and_to_zero():
    vs = versions(state(DOCS), state(DOCS), state(DOCS))
    assert runplan.compute_run(vs, 3, state(DOCS), CAPS, direction=Direction.DOWN, steps=2).to_version == 1
    to_zero = runplan.compute_run(vs, 3, state(DOCS), CAPS, direction=Direction.DOWN, to=0)
    assert [s.version for s in to_zero.steps] == [3, 2, 1] and ops_of(to_zero)[-1] == ["drop_collection docs"]


def test_drift_at_the_current_version_is_one_reconcile_step():
    vs = versions(state(DOCS))
    drifted = state(DOCS.model_copy(update={"indexes": ()}))
    run = runplan.compute_run(vs, 1, drifted, CAPS, direction=Direction.UP)
    assert [(s.version, s.direction, s.from_version, s.to_version) for s in run.steps] == [(1, Direction.RECONCILE, 1, 1)]
    assert runplan.compute_run(vs, 1, state(DOCS), CAPS, direction=Direction.UP).is_empty


def test_up_to_a_version_below_the_current_one_is_refused():
    vs = versions(state(DOCS), state(DOCS))
    with pytest.raises(MigrateError, match="use 'milvus-migrate down --to 1'"):
        runplan.compute_run(vs, 2, state(DOCS), CAPS, direction=Direction.UP, to=1)
    with pytest.raises(MigrateError, match="version 7 does not exist"):
        runplan.compute_run(vs, 2, state(DOCS), CAPS, direction=Direction.UP, to=7)


def test_each_backend_note_is_said_once_per_run():
    titled = collection("docs", fields=[pk(), vec(), scalar("title")], description="Docs")
    vs = versions(state(titled), state(titled), state(titled))
    run = runplan.compute_run(vs, 0, state(), capabilities.lite(), direction=Direction.UP)
    assert len(run.warnings) == len(set(run.warnings)) == 1


# --------------------------------------------------------------------------------------------- history checks


def test_a_file_below_the_current_version_that_was_never_applied_is_out_of_order():
    vs = versions(state(DOCS), state(DOCS), state(DOCS))
    applied = {1: (vs[0].name, vs[0].checksum), 3: (vs[2].name, vs[2].checksum)}
    with pytest.raises(OutOfOrderMigration) as caught:
        runplan.check_history(vs, applied, 3, "migrations")
    assert caught.value.files == [("migrations/0002_v2.yaml", 2)] and caught.value.current == 3
    assert "renumber each above 3" in str(caught.value)


def test_changed_and_missing_files_are_refused():
    vs = versions(state(DOCS), state(DOCS))
    with pytest.raises(ChecksumMismatch):
        runplan.check_history(vs, {1: (vs[0].name, "f" * 64), 2: (vs[1].name, vs[1].checksum)}, 2, "migrations")
    with pytest.raises(HistoryError, match="0003_gone"):
        runplan.check_history(vs, {1: (vs[0].name, vs[0].checksum), 3: ("0003_gone", "0" * 64)}, 3, "migrations")
    runplan.check_history(vs, {1: (vs[0].name, vs[0].checksum)}, 1, "migrations")  # consistent: no error


# --------------------------------------------------------------------------------------------- saved plans


def _fingerprint(live: State, head: tuple[int, int] = (3, 2), vs: list[runplan.Version] | None = None) -> dict:
    return runplan.fingerprint(
        live=live, history_head=head, versions=vs or versions(state(DOCS)), server_version="v2.3.5",
        tool_version="0.1.0", database="default",
    )  # fmt: skip


def test_an_unchanged_fingerprint_is_fresh_and_each_change_is_named():
    base = _fingerprint(state(DOCS))
    assert runplan.stale_reasons(base, _fingerprint(state(DOCS))) == []
    assert runplan.stale_reasons(base, _fingerprint(state(DOCS_V2))) == ["collection docs changed in Milvus"]
    assert runplan.stale_reasons(base, _fingerprint(state())) == ["collection docs was removed in Milvus"]
    moved = runplan.stale_reasons(base, _fingerprint(state(DOCS), head=(4, 3)))
    assert len(moved) == 1 and "the history moved" in moved[0]
    edited = versions(state(DOCS))
    edited[0] = runplan.Version(1, edited[0].name, edited[0].file, "", "9" * 64, state(DOCS))
    assert runplan.stale_reasons(base, _fingerprint(state(DOCS), vs=edited)) == ["migration file 0001_v1 changed"]


def test_rows_written_after_the_review_do_not_stale_a_plan_but_a_collection_no_longer_empty_does():
    with_rows = state(DOCS.model_copy(update={"num_rows": 10}))
    more_rows = state(DOCS.model_copy(update={"num_rows": 12}))
    empty = state(DOCS.model_copy(update={"num_rows": 0}))
    assert runplan.stale_reasons(_fingerprint(with_rows), _fingerprint(more_rows)) == []
    assert runplan.stale_reasons(_fingerprint(empty), _fingerprint(with_rows)) == ["collection docs changed in Milvus"]
    assert runplan.comparable_plan({"operations": [{"op": "copy_rows", "estimated_rows": 10}]}) == {"operations": [{"op": "copy_rows"}]}

"""evolution.classify and the copy plan: each change's class on each backend profile (states in, classes out)."""

from __future__ import annotations

import pytest

from milvus_migrate.planning import capabilities, evolution, ops, planner, runplan
from milvus_migrate.planning.evolution import Kind
from milvus_migrate.planning.ops import Direction, Phase
from milvus_migrate.planning.state import CollectionState, FieldState, RowSet, State
from tests.unit.factories import (
    bm25,
    collection,
    hnsw,
    loaded,
    pk,
    scalar,
    sparse,
    state,
    vec,
)

LITE = capabilities.lite()
MILVUS_2_3 = capabilities.server_2_3()
MILVUS_2_5 = capabilities.modern_server("v2.5.0")
MILVUS_2_6 = capabilities.modern_server("v2.6.2")
PROFILES = {"lite": LITE, "2.3": MILVUS_2_3, "2.5": MILVUS_2_5, "2.6": MILVUS_2_6}


def docs(fields: list[FieldState] | None = None, **kw) -> CollectionState:
    kw.setdefault("indexes", [hnsw("vec")])
    return collection("docs", fields=fields if fields is not None else [pk(), vec()], **kw)


def classes(want: CollectionState, have: CollectionState, caps: capabilities.Capabilities) -> list[tuple[Kind, str]]:
    return [(c.kind, c.reason) for c in evolution.classify(want, have, caps)]


def only_change(want: CollectionState, have: CollectionState, caps: capabilities.Capabilities) -> evolution.Change:
    changes = evolution.classify(want, have, caps)
    assert len(changes) == 1, changes
    return changes[0]


def by_profile(**expected: Kind) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(("caps", "kind"), [(PROFILES[p], k) for p, k in expected.items()], ids=list(expected))


# --- fields added --------------------------------------------------------------------------------


@by_profile(lite=Kind.COPY, **{"2.3": Kind.COPY, "2.5": Kind.COPY, "2.6": Kind.IN_PLACE})
def test_added_nullable_field_is_copied_unless_add_collection_field_exists(caps, kind):
    change = only_change(docs([pk(), vec(), scalar("title", nullable=True)]), docs(), caps)
    assert change.kind is kind and "field title added" in change.reason and not change.lost


@by_profile(lite=Kind.COPY, **{"2.3": Kind.COPY, "2.5": Kind.COPY, "2.6": Kind.COPY})
def test_added_field_with_a_default_is_copied_everywhere(caps, kind):
    change = only_change(docs([pk(), vec(), scalar("year", "INT64", default_value=2024)]), docs(), caps)
    assert change.kind is kind
    assert change.reason == "field year added (existing rows get default 2024)"


@pytest.mark.parametrize("caps", PROFILES.values(), ids=PROFILES.keys())
@pytest.mark.parametrize("new_field", [scalar("title"), vec("second", dim=4)], ids=["scalar", "vector"])
def test_added_field_without_null_or_default_is_data_loss(caps, new_field):
    change = only_change(docs([pk(), vec(), new_field]), docs(), caps)
    assert change.kind is Kind.DATA_LOSS and "existing rows have no value" in change.reason


# --- fields removed ------------------------------------------------------------------------------


@pytest.mark.parametrize("caps", PROFILES.values(), ids=PROFILES.keys())
def test_removed_field_is_copied_but_its_values_are_lost(caps):
    change = only_change(docs(), docs([pk(), vec(), scalar("title")]), caps)
    assert (change.kind, change.reason, change.lost) == (Kind.COPY, "field title removed", "the values of field title")


@pytest.mark.parametrize("caps", [LITE, MILVUS_2_5], ids=["lite", "2.5"])
def test_removed_function_and_its_output_lose_nothing(caps):
    fields = [pk(), vec(), scalar("text", enable_analyzer=True), sparse(is_function_output=True)]
    have = docs(fields, functions=[bm25()])
    want = docs(fields[:3])
    assert classes(want, have, caps) == [
        (Kind.COPY, "function bm25 removed"),
        (Kind.COPY, "function output field sparse removed"),
    ]
    assert all(not c.lost for c in evolution.classify(want, have, caps))


# --- widening and narrowing ----------------------------------------------------------------------


@by_profile(lite=Kind.COPY, **{"2.3": Kind.COPY, "2.5": Kind.IN_PLACE, "2.6": Kind.IN_PLACE})
def test_widened_varchar_is_altered_in_place_from_2_5_and_copied_before(caps, kind):
    change = only_change(docs([pk(), vec(), scalar("title", max_length=512)]), docs([pk(), vec(), scalar("title", max_length=64)]), caps)
    assert change.kind is kind and change.reason.startswith("field title max_length 64 → 512")


@by_profile(lite=Kind.COPY, **{"2.3": Kind.COPY, "2.5": Kind.IN_PLACE, "2.6": Kind.IN_PLACE})
def test_widened_array_capacity_is_altered_in_place_from_2_5_and_copied_before(caps, kind):
    def tags(capacity: int) -> FieldState:
        return FieldState(name="tags", type="ARRAY", element_type="INT64", max_capacity=capacity)

    change = only_change(docs([pk(), vec(), tags(16)]), docs([pk(), vec(), tags(8)]), caps)
    assert change.kind is kind and "max_capacity 8 → 16" in change.reason


@pytest.mark.parametrize("caps", PROFILES.values(), ids=PROFILES.keys())
def test_narrowed_varchar_is_data_loss(caps):
    change = only_change(docs([pk(), vec(), scalar("title", max_length=32)]), docs([pk(), vec(), scalar("title", max_length=64)]), caps)
    assert change.kind is Kind.DATA_LOSS and "narrowed" in change.reason


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("INT8", "INT16", Kind.COPY), ("INT16", "INT32", Kind.COPY), ("INT32", "INT64", Kind.COPY), ("INT8", "INT64", Kind.COPY),
        ("FLOAT", "DOUBLE", Kind.COPY), ("INT64", "INT32", Kind.DATA_LOSS), ("DOUBLE", "FLOAT", Kind.DATA_LOSS),
        ("VARCHAR", "INT64", Kind.DATA_LOSS),
    ],
)  # fmt: skip
@pytest.mark.parametrize("caps", PROFILES.values(), ids=PROFILES.keys())
def test_retype_is_copied_only_where_every_value_converts(caps, before, after, kind):
    change = only_change(docs([pk(), vec(), scalar("n", after)]), docs([pk(), vec(), scalar("n", before)]), caps)
    assert change.kind is kind and f"type {before} → {after}" in change.reason


@pytest.mark.parametrize("caps", PROFILES.values(), ids=PROFILES.keys())
@pytest.mark.parametrize(
    ("have_fields", "want_fields", "reason"),
    [
        ([pk(), vec(dim=8)], [pk(), vec(dim=16)], "field vec dim 8 → 16"),
        ([pk(), vec()], [pk(), vec(type="BINARY_VECTOR")], "field vec type FLOAT_VECTOR → BINARY_VECTOR"),
        ([pk(), vec()], [pk(auto_id=True), vec()], "field id auto_id False → True"),
        ([pk("id"), vec(), scalar("key", "INT64")], [scalar("id", "INT64"), vec(), pk("key")], "field id is_primary True → False"),
        ([pk(), vec(), scalar("n", nullable=True)], [pk(), vec(), scalar("n")], "field n nullable True → False"),
    ],
    ids=["dim", "vector-type", "auto_id", "primary-key", "not-nullable"],
)
def test_changes_without_a_row_mapping_are_data_loss(caps, have_fields, want_fields, reason):
    found = classes(docs(want_fields), docs(have_fields), caps)
    assert any(kind is Kind.DATA_LOSS and text.startswith(reason) for kind, text in found), found


# --- collection-level changes --------------------------------------------------------------------


@pytest.mark.parametrize("caps", PROFILES.values(), ids=PROFILES.keys())
def test_partition_key_and_analyzer_changes_are_copied(caps):
    have = docs([pk(), vec(), scalar("tenant"), scalar("text")])
    want = docs([pk(), vec(), scalar("tenant", is_partition_key=True), scalar("text", enable_analyzer=True, enable_match=True)])
    assert classes(want, have, caps) == [
        (Kind.COPY, "field tenant is_partition_key False → True"),
        (Kind.COPY, "field text enable_analyzer False → True"),
        (Kind.COPY, "field text enable_match False → True"),
    ]


@by_profile(lite=Kind.COPY, **{"2.3": Kind.COPY, "2.5": Kind.COPY, "2.6": Kind.IN_PLACE})
def test_dynamic_field_switched_on(caps, kind):
    change = only_change(docs(enable_dynamic_field=True), docs(), caps)
    assert change.kind is kind and not change.lost


@pytest.mark.parametrize("caps", PROFILES.values(), ids=PROFILES.keys())
def test_dynamic_field_switched_off_is_copied_without_the_dynamic_keys(caps):
    change = only_change(docs(), docs(enable_dynamic_field=True), caps)
    assert change.kind is Kind.COPY and change.lost == "the dynamic field's keys ($meta)"


def test_shards_and_partition_counts_are_compared_where_the_backend_keeps_them():
    assert classes(docs(num_shards=2), docs(num_shards=1), MILVUS_2_3) == [(Kind.COPY, "num_shards 1 → 2")]
    assert classes(docs(num_shards=2), docs(), LITE) == []  # Lite ignores num_shards (live reads None)
    have = docs([pk(), vec(), scalar("t", is_partition_key=True)], num_partitions=16)
    assert classes(have.model_copy(update={"num_partitions": 32}), have, MILVUS_2_5) == [(Kind.COPY, "num_partitions 16 → 32")]


@pytest.mark.parametrize("caps", [LITE, MILVUS_2_5], ids=["lite", "2.5"])
def test_added_function_is_copied_and_its_output_recomputed(caps):
    fields = [pk(), vec(), scalar("text", enable_analyzer=True)]
    want = docs([*fields, sparse(is_function_output=True)], functions=[bm25()])
    assert classes(want, docs(fields), caps) == [
        (Kind.COPY, "function bm25 added (Milvus computes its outputs on insert)"),
        (Kind.COPY, "function output field sparse added (Milvus computes its values on insert)"),
    ]


def test_function_description_lite_drops_is_no_change():
    fields = [pk(), vec(), scalar("text", enable_analyzer=True), sparse(is_function_output=True)]
    described = bm25().model_copy(update={"description": "full text"})
    assert classes(docs(fields, functions=[described]), docs(fields, functions=[bm25()]), LITE) == []


# --- the plan of a copy ----------------------------------------------------------------------------


def _live(**kw) -> CollectionState:
    return docs(load=loaded(), aliases=["docs_live"], partitions=["p1"], num_rows=3000, **kw)


def _declared(fields: list[FieldState], **kw) -> CollectionState:
    return docs(fields, load=True, aliases=["docs_live"], partitions=["p1"], **kw)


def test_copy_plan_builds_the_shadow_copies_indexes_loads_then_switches():
    want = _declared([pk(), vec(), scalar("year", "INT64", default_value=2024)])
    plan = planner.plan(state(want), state(_live()), MILVUS_2_3, from_version=3, to_version=4)
    steps = [(op.op, op.collection_name, op.subject()) for op in plan.ops]
    assert steps == [
        ("create_collection", "docs__mm_shadow", ""),
        ("create_partition", "docs__mm_shadow", "p1"),
        ("copy_rows", "docs", "docs__mm_shadow"),
        ("create_index", "docs__mm_shadow", "vec"),
        ("load_collection", "docs__mm_shadow", ""),
        ("rename_collection", "docs", "docs__mm_backup_v3"),
        ("rename_collection", "docs__mm_shadow", "docs"),
        ("release_collection", "docs__mm_backup_v3", ""),
        ("alter_alias", "docs", "docs_live"),
    ]
    assert not plan.destructive_ops
    copy = next(op for op in plan.ops if isinstance(op, ops.CopyRows))
    assert copy.estimated_rows == 3000 and copy.describe() == "copy ~3,000 rows of docs into docs__mm_shadow"
    assert copy.mapping.fields == ("id", "vec") and copy.mapping.target_partitions == ("_default", "p1")
    create = plan.ops[0]
    assert isinstance(create, ops.CreateCollection) and create.replace_leftover and create.collection.aliases == ()
    first_rename = next(op for op in plan.ops if isinstance(op, ops.RenameCollection))
    assert first_rename.check_rows_against == "docs__mm_shadow"
    # Every operation of the copy runs in the collection's own lane, in this order.
    assert {evolution.owner_of(op.collection_name) for op in plan.ops} == {"docs"}


def test_copy_that_drops_a_field_is_destructive_and_names_what_is_lost():
    plan = planner.plan(state(_declared([pk(), vec()])), state(_live(fields=[pk(), vec(), scalar("title")])), LITE)
    (copy,) = plan.destructive_ops
    assert isinstance(copy, ops.CopyRows)
    assert copy.describe() == "copy ~3,000 rows of docs into docs__mm_shadow (LOST: the values of field title)"
    assert "title" not in copy.mapping.fields


def test_copy_loses_the_rows_of_a_partition_no_longer_declared():
    want = _declared([pk(), vec(), scalar("n", nullable=True)]).model_copy(update={"partitions": ()})
    plan = planner.plan(state(want), state(_live()), LITE)
    (copy,) = plan.destructive_ops
    assert copy.lost == ("the rows of partition p1",)


def test_copy_into_a_partition_key_collection_lets_milvus_route_the_rows():
    want = _declared([pk(), vec(), scalar("tenant", is_partition_key=True)]).model_copy(update={"partitions": ()})
    plan = planner.plan(state(want), state(_live(fields=[pk(), vec(), scalar("tenant")])), MILVUS_2_5)
    copy = next(op for op in plan.ops if isinstance(op, ops.CopyRows))
    assert copy.mapping.target_partitions is None and not copy.lost


def test_empty_collection_is_recreated_without_data_loss():
    live = _live().model_copy(update={"num_rows": 0})
    plan = planner.plan(state(_declared([pk(), vec(dim=16)])), state(live), MILVUS_2_3)
    assert [op.op for op in plan.ops][:2] == ["drop_alias", "drop_collection"]
    drop = next(op for op in plan.ops if isinstance(op, ops.DropCollection))
    assert drop.describe() == "drop collection docs (empty)" and not drop.destructive
    assert not plan.destructive_ops


def test_data_loss_change_still_drops_destructively():
    plan = planner.plan(state(_declared([pk(), vec(dim=16)])), state(_live()), MILVUS_2_3)
    drop = next(op for op in plan.ops if isinstance(op, ops.DropCollection))
    assert drop.destructive and drop.describe() == "drop collection docs (ALL ITS DATA: 3,000 rows)"
    assert "copy_rows" not in [op.op for op in plan.ops]


def test_on_recreate_drop_opts_out_of_the_copy():
    want = _declared([pk(), vec(), scalar("n", nullable=True)], on_recreate="drop")
    plan = planner.plan(state(want), state(_live()), LITE)
    (drop,) = plan.destructive_ops
    assert isinstance(drop, ops.DropCollection) and drop.reason.endswith("(on_recreate: drop)")


def test_in_place_widening_on_2_5_alters_the_field():
    want = docs([pk(), vec(), scalar("title", max_length=512)])
    plan = planner.plan(state(want), state(docs([pk(), vec(), scalar("title", max_length=64)])), MILVUS_2_5)
    (alter,) = plan.ops
    assert isinstance(alter, ops.AlterCollectionField) and alter.field_params == {"max_length": 512}
    assert alter.describe() == "alter field docs.title: max_length: 64 → 512" and alter.phase is Phase.ALTER_PROPERTIES


def test_in_place_dynamic_field_on_2_6_2_sets_the_property():
    plan = planner.plan(state(docs(enable_dynamic_field=True)), state(docs()), MILVUS_2_6)
    (alter,) = plan.ops
    assert isinstance(alter, ops.AlterCollectionProperties) and alter.properties == {"dynamicfield.enabled": "True"}


# --- reserved names --------------------------------------------------------------------------------


def test_shadow_and_backup_names_are_recognised_as_milvus_migrates_own():
    assert evolution.owner_of("docs__mm_shadow") == "docs" and evolution.owner_of("docs__mm_backup_v12") == "docs"
    assert evolution.backup_version("docs__mm_backup_v12") == 12 and evolution.backup_version("docs") is None
    assert evolution.is_reserved("a_b__mm_backup_v1") and not evolution.is_reserved("docs") and not evolution.is_reserved("x__mm_backup")


# --- switching back to a backup ------------------------------------------------------------------------

ROWS_AT_SWITCH = RowSet(rows=3000, keys="00000000000000aa")


def _backup(version: int, fields: list[FieldState] | None = None, **kw) -> CollectionState:
    """A backup as read from Milvus (released, no aliases) with what the history recorded at its switch."""
    kw.setdefault("replaced_by", ROWS_AT_SWITCH)
    kw.setdefault("row_set", RowSet(rows=3000, keys="00000000000000bb"))
    kw.setdefault("indexes", [hnsw("vec")])
    fields = fields if fields is not None else [pk(), vec()]
    return collection(f"docs__mm_backup_v{version}", fields=fields, load=False, partitions=["p1"], **kw)


def _with_backups(live: CollectionState, *backups: CollectionState) -> State:
    return State(collections={live.name: live}, backups={b.name: b for b in backups})


# Version 3 added `year`; going down to version 2 drops it again.
V3_FIELDS = [pk(), vec(), scalar("year", "INT64", default_value=2024)]


def _down_plan(live: CollectionState, *backups: CollectionState, caps=MILVUS_2_3) -> ops.Plan:
    return planner.plan(state(_declared([pk(), vec()])), _with_backups(live, *backups), caps, from_version=3, to_version=2, direction="down")


def test_down_switches_back_to_the_backup_when_the_collection_took_no_writes():
    live = _live(fields=V3_FIELDS, row_set=ROWS_AT_SWITCH)
    plan = _down_plan(live, _backup(2))
    steps = [(op.op, op.collection_name, op.subject()) for op in plan.ops]
    assert steps == [
        ("load_collection", "docs__mm_backup_v2", ""),  # as declared, before it takes the name
        ("rename_collection", "docs__mm_backup_v2", "docs__mm_switch_v2"),
        ("rename_collection", "docs", "docs__mm_backup_v3"),
        ("rename_collection", "docs__mm_switch_v2", "docs"),
        ("release_collection", "docs__mm_backup_v3", ""),
        ("alter_alias", "docs", "docs_live"),
    ]
    # Nothing is lost: year's values stay in the backup of version 3.
    assert not plan.destructive_ops
    prepare = plan.ops[1]
    assert isinstance(prepare, ops.RenameCollection) and prepare.expect_rows == ROWS_AT_SWITCH and prepare.expect_rows_of == "docs"
    assert "docs took no writes since it replaced docs__mm_backup_v2 (3,000 rows, same keys)" in prepare.reason
    assert {evolution.owner_of(op.collection_name) for op in plan.ops} == {"docs"}


@pytest.mark.parametrize(
    ("live_rows", "backups", "why"),
    [
        (RowSet(rows=3005, keys="00000000000000aa"), [_backup(2)], "docs took writes since it replaced it (3,000 rows then, 3,005 rows now)"),
        (RowSet(rows=3000, keys="00000000000000cc"), [_backup(2)], "docs took writes since it replaced it (other primary keys)"),
        (None, [_backup(2)], "the rows of docs could not be compared (not loaded)"),
        (ROWS_AT_SWITCH, [_backup(2, replaced_by=None)], "the history holds no record of the switch that kept it"),
        (ROWS_AT_SWITCH, [_backup(2, [pk(), vec(dim=16)])], "its schema is not the one declared"),
        (ROWS_AT_SWITCH, [_backup(2), _backup(3)], "docs__mm_backup_v3 already exists"),
    ],
    ids=["rows-inserted", "rows-replaced", "not-compared", "no-record", "other-schema", "name-taken"],
)
def test_down_copies_back_when_the_backup_cannot_take_the_name(live_rows, backups, why):
    plan = _down_plan(_live(fields=V3_FIELDS, row_set=live_rows), *backups)
    copy = next(op for op in plan.ops if isinstance(op, ops.CopyRows))
    assert f"(not switched back to docs__mm_backup_v2: {why})" in copy.reason
    assert copy.destructive  # the values of year are lost by a copy back


def test_up_after_a_switch_back_switches_forward_again():
    # After `down` switched back, the version-3 collection is the backup; `up` takes it back the same way.
    live = _live(row_set=ROWS_AT_SWITCH)
    backup = _backup(3, V3_FIELDS)
    plan = planner.plan(state(_declared(V3_FIELDS)), _with_backups(live, backup), MILVUS_2_3, from_version=2, to_version=3)
    renames = [(op.collection_name, op.new_name) for op in plan.ops if isinstance(op, ops.RenameCollection)]
    assert renames == [("docs__mm_backup_v3", "docs__mm_switch_v3"), ("docs", "docs__mm_backup_v2"), ("docs__mm_switch_v3", "docs")]
    assert "copy_rows" not in [op.op for op in plan.ops]


def test_backup_is_made_what_is_declared_in_place_before_the_switch():
    # The backup lacks an index the target version declares: built on the backup, under its own name.
    backup = _backup(2, indexes=[])
    plan = _down_plan(_live(fields=V3_FIELDS, row_set=ROWS_AT_SWITCH), backup)
    assert [(op.op, op.collection_name) for op in plan.ops][:2] == [
        ("create_index", "docs__mm_backup_v2"),
        ("load_collection", "docs__mm_backup_v2"),
    ]


def test_a_run_down_two_versions_switches_back_twice():
    # Versions 2 and 3 each copied docs; neither collection took writes while it held the name.
    v1 = _declared([pk(), vec()])
    v2 = _declared([pk(), vec(), scalar("title", nullable=True)])
    v3 = _declared([pk(), vec(), scalar("title", nullable=True), scalar("year", "INT64", default_value=1)])
    at_v2_switch, at_v3_switch = RowSet(rows=10, keys="01"), RowSet(rows=10, keys="02")
    live = _live(fields=v3.fields, row_set=at_v3_switch)
    backups = [
        _backup(1, list(v1.fields), row_set=RowSet(rows=10, keys="00"), replaced_by=at_v2_switch),
        # The version-2 collection held the same rows when version 3 replaced it as when it took the name.
        _backup(2, list(v2.fields), row_set=at_v2_switch, replaced_by=at_v3_switch),
    ]
    versions = [
        runplan.Version(n, f"000{n}_v", f"000{n}_v.yaml", "", f"c{n}", state(v)) for n, v in ((1, v1), (2, v2), (3, v3))
    ]
    run = runplan.compute_run(versions, 3, _with_backups(live, *backups), LITE, direction=Direction.DOWN, to=1)
    assert [op.op for op in run.ops if op.op == "copy_rows"] == []
    assert [(op.collection_name, op.new_name) for op in run.ops if isinstance(op, ops.RenameCollection)] == [
        ("docs__mm_backup_v2", "docs__mm_switch_v2"), ("docs", "docs__mm_backup_v3"), ("docs__mm_switch_v2", "docs"),
        ("docs__mm_backup_v1", "docs__mm_switch_v1"), ("docs", "docs__mm_backup_v2"), ("docs__mm_switch_v1", "docs"),
    ]  # fmt: skip


def test_a_run_down_two_versions_copies_once_the_middle_collection_took_writes():
    v1 = _declared([pk(), vec()])
    v2 = _declared([pk(), vec(), scalar("title", nullable=True)])
    v3 = _declared([pk(), vec(), scalar("title", nullable=True), scalar("year", "INT64", default_value=1)])
    live = _live(fields=v3.fields, row_set=RowSet(rows=10, keys="02"))
    backups = [
        _backup(1, list(v1.fields), replaced_by=RowSet(rows=10, keys="01")),
        # Rows were written to the version-2 collection before version 3 replaced it.
        _backup(2, list(v2.fields), row_set=RowSet(rows=12, keys="03"), replaced_by=RowSet(rows=10, keys="02")),
    ]
    versions = [
        runplan.Version(n, f"000{n}_v", f"000{n}_v.yaml", "", f"c{n}", state(v)) for n, v in ((1, v1), (2, v2), (3, v3))
    ]
    run = runplan.compute_run(versions, 3, _with_backups(live, *backups), LITE, direction=Direction.DOWN, to=1)
    first, second = run.steps
    assert "copy_rows" not in [op.op for op in first.plan.ops]
    copy = next(op for op in second.plan.ops if isinstance(op, ops.CopyRows))
    assert "docs took writes since it replaced it (10 rows then, 12 rows now)" in copy.reason


def test_switching_names_are_milvus_migrates_own():
    assert evolution.owner_of("docs__mm_switch_v4") == "docs" and evolution.switch_version("docs__mm_switch_v4") == 4
    assert evolution.is_reserved("docs__mm_switch_v4") and evolution.backup_version("docs__mm_switch_v4") is None


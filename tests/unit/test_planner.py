"""planner.plan: states in, ordered operations out, on each backend's capabilities."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milvus_migrate.errors import UnsupportedByServer
from milvus_migrate.planning import capabilities, ops, planner
from milvus_migrate.planning.ops import Phase
from milvus_migrate.planning.state import CollectionState, IndexState, LoadState, State
from tests.unit.factories import (
    autoindex,
    bm25,
    change,
    collection,
    hnsw,
    index,
    loaded,
    pk,
    scalar,
    sparse,
    state,
    vec,
)

LITE = capabilities.lite()
MILVUS_2_3 = capabilities.server_2_3()
MILVUS_2_4 = capabilities.modern_server("v2.4.10")
MILVUS_2_5 = capabilities.modern_server("v2.5.4")
MILVUS_2_6 = capabilities.modern_server("v2.6.0")
ALL_BACKENDS = pytest.mark.parametrize("caps", [LITE, MILVUS_2_3, MILVUS_2_6], ids=["lite", "2.3", "2.6"])
SERVERS = pytest.mark.parametrize("caps", [MILVUS_2_3, MILVUS_2_6], ids=["2.3", "2.6"])
EMPTY = State()


def names(plan: ops.Plan) -> list[str]:
    return [op.op for op in plan.ops]


def only(plan: ops.Plan, op_name: str) -> ops.Operation:
    found = [op for op in plan.ops if op.op == op_name]
    assert len(found) == 1, names(plan)
    return found[0]


def refusal(desired: State, caps: capabilities.Capabilities, live: State = EMPTY) -> UnsupportedByServer:
    with pytest.raises(UnsupportedByServer) as info:
        planner.plan(desired, live, caps)
    return info.value


def docs(**kw) -> CollectionState:
    """The usual test collection: id INT64 pk, vec FLOAT_VECTOR(8), HNSW on vec."""
    kw.setdefault("indexes", [hnsw("vec")])
    return collection("docs", **kw)


# --- equal states, new and removed collections -------------------------------------------------


@ALL_BACKENDS
def test_equal_states_give_an_empty_plan(caps):
    s = state(docs(load=True, properties={"mmap.enabled": "True"}, aliases=["live"]), collection("other"))
    plan = planner.plan(s, s, caps)
    assert plan.is_empty
    assert plan.ops == ()
    assert plan.warnings == ()


@ALL_BACKENDS
def test_new_collection_is_created_then_indexed_then_loaded(caps):
    plan = planner.plan(state(docs(load=True)), EMPTY, caps)
    assert names(plan) == ["create_collection", "create_index", "load_collection"]
    assert {op.collection_name for op in plan.ops} == {"docs"}
    assert not plan.destructive_ops
    assert only(plan, "create_collection").reason == "declared, not in Milvus"


def test_new_collection_without_declared_load_is_not_loaded():
    plan = planner.plan(state(docs(load=None), collection("cold", load=False)), EMPTY, MILVUS_2_3)
    assert names(plan) == ["create_collection", "create_collection", "create_index"]
    assert [op.collection_name for op in plan.ops] == ["cold", "docs", "docs"]


def test_new_collection_with_partitions_creates_them_before_indexes_and_partition_load():
    desired = state(docs(partitions=["hot", "cold"], load={"partitions": ["hot"], "replica_number": 2}))
    plan = planner.plan(desired, EMPTY, MILVUS_2_3)
    assert names(plan) == ["create_collection", "create_partition", "create_partition", "create_index", "load_partitions"]
    assert [op.partition_name for op in plan.ops if op.op == "create_partition"] == ["cold", "hot"]
    load = only(plan, "load_partitions")
    assert load.partition_names == ("hot",)
    assert load.replica_number == 2


def test_new_collection_with_replicas_loads_with_them():
    plan = planner.plan(state(docs(load={"replica_number": 3})), EMPTY, MILVUS_2_6)
    assert only(plan, "load_collection").replica_number == 3


def test_removed_collection_is_dropped_destructively():
    plan = planner.plan(EMPTY, state(docs(load=loaded())), MILVUS_2_6)
    assert names(plan) == ["drop_collection"]
    (drop,) = plan.destructive_ops
    assert drop.collection_name == "docs"
    assert drop.reason == "no longer declared"
    assert drop.phase == Phase.DROP_COLLECTIONS


def test_several_collections_are_ordered_by_phase_then_name():
    desired = state(collection("b", indexes=[hnsw()], load=True), collection("a", indexes=[hnsw()], load=True))
    live = state(collection("z"))
    plan = planner.plan(desired, live, MILVUS_2_6)
    assert [(op.op, op.collection_name) for op in plan.ops] == [
        ("create_collection", "a"),
        ("create_collection", "b"),
        ("create_index", "a"),
        ("create_index", "b"),
        ("load_collection", "a"),
        ("load_collection", "b"),
        ("drop_collection", "z"),
    ]


# --- aliases --------------------------------------------------------------------------------------


def test_new_alias_is_created_after_its_collection_is_loaded():
    plan = planner.plan(state(docs(load=True, aliases=["live"])), EMPTY, MILVUS_2_3)
    assert names(plan) == ["create_collection", "create_index", "load_collection", "create_alias"]
    assert only(plan, "create_alias").alias == "live"


def test_alias_moves_to_its_new_target_before_the_old_target_is_dropped():
    live = state(collection("docs_v1", indexes=[hnsw()], load=loaded(), aliases=["docs"]))
    desired = state(collection("docs_v2", indexes=[hnsw()], load=True, aliases=["docs"]))
    plan = planner.plan(desired, live, MILVUS_2_6)
    assert names(plan) == ["create_collection", "create_index", "load_collection", "alter_alias", "drop_collection"]
    move = only(plan, "alter_alias")
    assert (move.alias, move.collection_name, move.previous_collection) == ("docs", "docs_v2", "docs_v1")
    assert only(plan, "drop_collection").collection_name == "docs_v1"
    assert [op.collection_name for op in plan.destructive_ops] == ["docs_v1"]


def test_alias_moves_between_existing_collections_without_touching_them():
    live = state(collection("a", aliases=["current"]), collection("b"))
    desired = state(collection("a"), collection("b", aliases=["current"]))
    plan = planner.plan(desired, live, MILVUS_2_3)
    assert names(plan) == ["alter_alias"]
    assert not plan.destructive_ops


def test_dropped_collection_loses_its_undeclared_alias_first():
    plan = planner.plan(EMPTY, state(docs(aliases=["live"])), MILVUS_2_6)
    assert names(plan) == ["drop_alias", "drop_collection"]
    assert only(plan, "drop_alias").alias == "live"


def test_undeclared_alias_is_dropped():
    plan = planner.plan(state(docs()), state(docs(aliases=["old"])), LITE)
    assert names(plan) == ["drop_alias"]
    assert only(plan, "drop_alias").reason == "no longer declared"


# --- changes Milvus cannot make in place: copy the rows, or drop + create --------------------------


def assert_copied(plan: ops.Plan, reason_part: str, collection_name: str = "docs", *, lost: bool = False) -> None:
    """The rows are copied into a shadow collection that then takes the name (evolution.py)."""
    copy = only(plan, "copy_rows")
    assert copy.collection_name == collection_name and copy.target == f"{collection_name}__mm_shadow"
    assert reason_part in copy.reason, copy.reason
    renames = [(op.collection_name, op.new_name) for op in plan.ops if op.op == "rename_collection"]
    assert renames == [
        (collection_name, f"{collection_name}__mm_backup_v0"), (f"{collection_name}__mm_shadow", collection_name),
    ]  # fmt: skip
    assert "drop_collection" not in names(plan)
    assert [op.op for op in plan.destructive_ops] == (["copy_rows"] if lost else [])


def assert_recreated(plan: ops.Plan, reason_part: str, collection_name: str = "docs") -> None:
    assert names(plan)[:2] == ["drop_collection", "create_collection"], names(plan)
    drop = plan.ops[0]
    assert drop.destructive and drop.collection_name == collection_name
    assert drop.phase == Phase.DROP_FOR_RECREATE
    assert reason_part in drop.reason
    assert drop.reason.endswith("cannot be changed in place")
    assert reason_part in plan.ops[1].reason
    assert [op.collection_name for op in plan.destructive_ops] == [collection_name]


@ALL_BACKENDS
def test_dim_change_recreates_the_collection(caps):
    live = state(docs(fields=[pk(), vec(dim=8)], load=loaded()))
    desired = state(docs(fields=[pk(), vec(dim=16)], load=True))
    plan = planner.plan(desired, live, caps)
    assert names(plan) == ["drop_collection", "create_collection", "create_index", "load_collection"]
    assert_recreated(plan, "field vec dim 8 → 16")


@SERVERS
def test_removed_field_is_copied_without_its_values(caps):
    live = state(docs(fields=[pk(), vec(), scalar("title")]))
    plan = planner.plan(state(docs()), live, caps)
    assert_copied(plan, "field title removed", lost=True)
    assert only(plan, "copy_rows").lost == ("the values of field title",)


@ALL_BACKENDS
def test_widened_field_type_is_copied(caps):
    live = state(docs(fields=[pk(), vec(), scalar("year", "INT32")]))
    plan = planner.plan(state(docs(fields=[pk(), vec(), scalar("year", "INT64")])), live, caps)
    assert_copied(plan, "field year type INT32 → INT64")
    assert only(plan, "copy_rows").mapping.conversions == {"year": "INT64"}


def test_primary_key_change_recreates_the_collection():
    live = state(docs(fields=[pk("id"), vec(), scalar("key")]))
    desired = state(docs(fields=[scalar("id", "INT64"), vec(), pk("key")]))
    plan = planner.plan(desired, live, MILVUS_2_3)
    assert_recreated(plan, "field id is_primary True → False")
    assert "field key is_primary False → True" in plan.ops[0].reason


@ALL_BACKENDS
def test_auto_id_change_recreates_the_collection(caps):
    plan = planner.plan(state(docs(fields=[pk(auto_id=True), vec()])), state(docs()), caps)
    assert_recreated(plan, "field id auto_id False → True")


def test_partition_key_change_is_copied():
    live = state(docs(fields=[pk(), vec(), scalar("tenant")]))
    desired = state(docs(fields=[pk(), vec(), scalar("tenant", is_partition_key=True)]))
    assert_copied(planner.plan(desired, live, MILVUS_2_6), "field tenant is_partition_key False → True")


@ALL_BACKENDS
def test_dynamic_field_switched_on_is_copied(caps):
    plan = planner.plan(state(docs(enable_dynamic_field=True)), state(docs()), caps)
    assert_copied(plan, "enable_dynamic_field False → True")


@pytest.mark.parametrize("caps", [LITE, MILVUS_2_6], ids=["lite", "2.6"])
def test_function_change_is_copied(caps):
    fields = [pk(), vec(), scalar("text", enable_analyzer=True), sparse(is_function_output=True)]
    live = state(docs(fields=fields))
    desired = state(docs(fields=fields, functions=[bm25()]))
    plan = planner.plan(desired, live, caps)
    assert_copied(plan, "function bm25 added")
    assert "sparse" not in only(plan, "copy_rows").mapping.fields  # Milvus computes function outputs


@SERVERS
def test_shard_count_change_is_copied_on_a_server(caps):
    plan = planner.plan(state(docs(num_shards=2)), state(docs(num_shards=1)), caps)
    assert_copied(plan, "num_shards 1 → 2")


@pytest.mark.parametrize("caps", [LITE, MILVUS_2_5], ids=["lite", "2.5"])
def test_added_nullable_field_is_copied_where_add_field_is_unsupported(caps):
    desired = state(docs(fields=[pk(), vec(), scalar("title", nullable=True)]))
    plan = planner.plan(desired, state(docs()), caps)
    assert_copied(plan, "field title added (existing rows get null)")


def test_added_field_without_null_or_default_recreates_the_collection():
    desired = state(docs(fields=[pk(), vec(), scalar("title")]))
    plan = planner.plan(desired, state(docs()), MILVUS_2_3)
    assert_recreated(plan, "field title added")


def test_added_nullable_scalar_field_is_added_in_place_on_2_6():
    desired = state(docs(fields=[pk(), vec(), scalar("title", nullable=True)], load=True))
    plan = planner.plan(desired, state(docs(load=loaded())), MILVUS_2_6)
    assert names(plan) == ["add_field"]
    add = only(plan, "add_field")
    assert add.field_spec.name == "title" and not add.destructive
    assert not plan.destructive_ops


@pytest.mark.parametrize(
    "new_field",
    [scalar("title"), vec("second", dim=4)],
    ids=["not-nullable", "vector"],
)
def test_added_field_add_field_cannot_take_recreates_the_collection_on_2_6(new_field):
    plan = planner.plan(state(docs(fields=[pk(), vec(), new_field])), state(docs()), MILVUS_2_6)
    assert_recreated(plan, f"field {new_field.name} added")


def test_recreated_collection_gets_its_alias_back_after_it_is_rebuilt():
    live = state(docs(fields=[pk(), vec(dim=8)], load=loaded(), aliases=["live"]))
    desired = state(docs(fields=[pk(), vec(dim=16)], load=True, aliases=["live"]))
    plan = planner.plan(desired, live, MILVUS_2_6)
    assert names(plan) == [
        "drop_alias",
        "drop_collection",
        "create_collection",
        "create_index",
        "load_collection",
        "create_alias",
    ]
    assert only(plan, "drop_alias").reason == "docs is recreated"


def test_recreate_reasons_are_all_listed():
    live = state(docs(fields=[pk(), vec(dim=8), scalar("a")]))
    desired = state(docs(fields=[pk(), vec(dim=4)], enable_dynamic_field=True))
    reason = planner.plan(desired, live, MILVUS_2_3).ops[0].reason
    assert reason == "enable_dynamic_field False → True; field a removed; field vec dim 8 → 4: cannot be changed in place"


# --- indexes ---------------------------------------------------------------------------------------


@ALL_BACKENDS
def test_index_type_change_rebuilds_the_index_without_data_loss(caps):
    live = state(docs(indexes=[index("vec", "IVF_FLAT", metric="COSINE", nlist=128)]))
    plan = planner.plan(state(docs()), live, caps)
    assert names(plan) == ["drop_index", "create_index"]
    assert not plan.destructive_ops
    assert "index type IVF_FLAT → HNSW" in only(plan, "create_index").reason
    assert only(plan, "drop_index").index.index_type == "IVF_FLAT"
    assert only(plan, "create_index").index.index_type == "HNSW"


@SERVERS
def test_index_change_on_a_loaded_collection_releases_then_reloads(caps):
    live = state(docs(indexes=[hnsw(M=8)], load=loaded()))
    plan = planner.plan(state(docs(indexes=[hnsw(M=32)], load=True)), live, caps)
    assert names(plan) == ["release_collection", "drop_index", "create_index", "load_collection"]
    assert "index params M 8 → 32" in only(plan, "create_index").reason


def test_index_change_on_a_loaded_collection_with_undeclared_load_restores_the_load():
    live = state(docs(indexes=[hnsw(metric="L2")], load=loaded(replica_number=2)))
    plan = planner.plan(state(docs(indexes=[hnsw(metric="IP")])), live, MILVUS_2_6)
    assert names(plan) == ["release_collection", "drop_index", "create_index", "load_collection"]
    assert only(plan, "load_collection").replica_number == 2
    assert "metric L2 → IP" in only(plan, "create_index").reason


def test_index_change_on_a_released_collection_does_not_release():
    live = state(docs(indexes=[hnsw(M=8)], load=LoadState(loaded=False)))
    plan = planner.plan(state(docs(indexes=[hnsw(M=32)], load=False)), live, MILVUS_2_3)
    assert names(plan) == ["drop_index", "create_index"]


def test_removed_index_on_a_loaded_collection_declared_unloaded_is_released_not_reloaded():
    live = state(docs(fields=[pk(), vec(), scalar("year", "INT64")], indexes=[hnsw(), index("year", "STL_SORT")], load=loaded()))
    desired = state(docs(fields=[pk(), vec(), scalar("year", "INT64")], load=False))
    plan = planner.plan(desired, live, MILVUS_2_3)
    assert names(plan) == ["release_collection", "drop_index"]
    assert only(plan, "drop_index").index.field_name == "year"


def test_added_index_on_a_loaded_collection_needs_no_release():
    fields = [pk(), vec(), scalar("year", "INT64")]
    live = state(docs(fields=fields, load=loaded()))
    desired = state(docs(fields=fields, indexes=[hnsw(), index("year", "INVERTED")], load=True))
    plan = planner.plan(desired, live, MILVUS_2_6)
    assert names(plan) == ["create_index"]


@ALL_BACKENDS
def test_index_params_read_back_as_strings_match_declared_numbers(caps):
    live = state(docs(indexes=[index("vec", "HNSW", metric="cosine", M="16", efConstruction="200")]))
    assert planner.plan(state(docs()), live, caps).is_empty


def test_custom_index_name_change_rebuilds_on_a_server():
    live = state(docs(indexes=[hnsw(name="vec")]))
    plan = planner.plan(state(docs(indexes=[hnsw(name="vec_hnsw")])), live, MILVUS_2_3)
    assert names(plan) == ["drop_index", "create_index"]
    assert "index name vec → vec_hnsw" in only(plan, "create_index").reason


def test_custom_index_name_is_not_compared_on_lite_and_warned_about_once():
    live = state(docs(indexes=[hnsw()]), collection("other", indexes=[hnsw()]))
    desired = state(docs(indexes=[hnsw(name="vec_hnsw")]), collection("other", indexes=[hnsw(name="other_vec")]))
    plan = planner.plan(desired, live, LITE)
    assert plan.is_empty
    assert plan.warnings == (
        "Milvus Lite 3.2.2 names every index after its field; custom index names are not compared",
    )


@ALL_BACKENDS
def test_explicit_index_replaced_by_autoindex_is_rebuilt(caps):
    # Fixed: a declared AUTOINDEX used to match a live index of any type.
    plan = planner.plan(state(docs(indexes=[autoindex(metric="COSINE")])), state(docs()), caps)
    assert names(plan) == ["drop_index", "create_index"]
    assert "index type HNSW → AUTOINDEX" in only(plan, "create_index").reason


@ALL_BACKENDS
def test_autoindex_params_chosen_by_the_server_are_not_drift(caps):
    live = state(docs(indexes=[index("vec", "AUTOINDEX", metric="COSINE", M=30, efConstruction=360)]))
    assert planner.plan(state(docs(indexes=[autoindex(metric="COSINE")])), live, caps).is_empty


# --- AUTOINDEX on field types the backend rejects it for -------------------------------------------


@pytest.mark.parametrize(
    ("caps", "field", "built"),
    [
        (LITE, sparse(), "SPARSE_INVERTED_INDEX"),
        (LITE, scalar("title", "VARCHAR"), "INVERTED"),
        (LITE, scalar("year", "INT64"), "INVERTED"),
        (MILVUS_2_3, scalar("title", "VARCHAR"), "Trie"),
        (MILVUS_2_3, scalar("year", "INT64"), "STL_SORT"),
        (MILVUS_2_3, scalar("score", "DOUBLE"), "STL_SORT"),
    ],
    ids=["lite-sparse", "lite-varchar", "lite-int64", "2.3-varchar", "2.3-int64", "2.3-double"],
)
def test_autoindex_is_built_as_the_backend_default_and_then_matches(caps, field, built):
    metric = "IP" if field.type == "SPARSE_FLOAT_VECTOR" else None
    desired = state(docs(fields=[pk(), vec(), field], indexes=[hnsw(), autoindex(field.name, metric=metric)]))
    plan = planner.plan(desired, EMPTY, caps)
    assert names(plan) == ["create_collection", "create_index", "create_index"]
    create = next(op for op in plan.ops if op.op == "create_index" and op.index.field_name == field.name)
    assert create.index.index_type == built
    assert f"building {built}, its default" in create.reason
    assert plan.warnings == (
        f"docs.{field.name}: {caps.label} does not accept AUTOINDEX on {field.type} fields; building {built}, its default",
    )
    # What the backend then reads back is the substitute: no spurious change, no warning.
    live = state(docs(fields=[pk(), vec(), field], indexes=[hnsw(), index(field.name, built, metric=metric)]))
    again = planner.plan(desired, live, caps)
    assert again.is_empty
    assert again.warnings == ()


def test_autoindex_on_scalars_is_kept_on_a_modern_server():
    desired = state(docs(fields=[pk(), vec(), scalar("title")], indexes=[hnsw(), autoindex("title")]))
    plan = planner.plan(desired, EMPTY, MILVUS_2_6)
    assert [op.index.index_type for op in plan.ops if op.op == "create_index"] == ["AUTOINDEX", "HNSW"]
    assert plan.warnings == ()


def test_substituted_index_with_another_live_type_is_rebuilt():
    fields = [pk(), vec(), scalar("title")]
    live = state(docs(fields=fields, indexes=[hnsw(), index("title", "INVERTED")]))
    plan = planner.plan(state(docs(fields=fields, indexes=[hnsw(), autoindex("title")])), live, MILVUS_2_3)
    assert names(plan) == ["drop_index", "create_index"]
    assert only(plan, "create_index").index.index_type == "Trie"


# --- declarations the backend cannot honour ---------------------------------------------------------


@pytest.mark.parametrize(
    ("caps", "field_type"),
    [
        (LITE, "BINARY_VECTOR"),
        (LITE, "FLOAT16_VECTOR"),
        (MILVUS_2_3, "SPARSE_FLOAT_VECTOR"),
        (MILVUS_2_3, "BFLOAT16_VECTOR"),
        (MILVUS_2_3, "INT8_VECTOR"),
        (MILVUS_2_5, "INT8_VECTOR"),
    ],
    ids=["lite-binary", "lite-float16", "2.3-sparse", "2.3-bfloat16", "2.3-int8", "2.5-int8"],
)
def test_vector_types_the_backend_lacks_are_refused(caps, field_type):
    field = sparse("v2") if field_type == "SPARSE_FLOAT_VECTOR" else vec("v2", type=field_type, dim=16)
    error = refusal(state(collection("docs", fields=[pk(), field])), caps)
    assert error.reasons == [f"docs.v2: {field_type} fields are not supported by {caps.label}"]
    assert caps.label in str(error) and "docs.v2" in str(error)


def test_int8_vectors_are_accepted_on_2_6():
    desired = state(collection("docs", fields=[pk(), vec(type="INT8_VECTOR")]))
    assert names(planner.plan(desired, EMPTY, MILVUS_2_6)) == ["create_collection"]


def test_auto_id_on_a_varchar_primary_key_is_refused_on_lite_only():
    desired = state(collection("docs", fields=[pk(type="VARCHAR", auto_id=True), vec()]))
    error = refusal(desired, LITE)
    assert error.reasons == ["docs.id: auto_id on a VARCHAR primary key is not supported by Milvus Lite 3.2.2"]
    assert names(planner.plan(desired, EMPTY, MILVUS_2_3)) == ["create_collection"]


@pytest.mark.parametrize("caps", [MILVUS_2_3, MILVUS_2_4], ids=["2.3", "2.4"])
def test_nullable_fields_are_refused_before_2_5(caps):
    error = refusal(state(docs(fields=[pk(), vec(), scalar("title", nullable=True)])), caps)
    assert error.reasons == [f"docs.title: nullable fields are not supported by {caps.label}"]


def test_nullable_fields_are_accepted_on_lite_and_2_5():
    desired = state(docs(fields=[pk(), vec(), scalar("title", nullable=True)]))
    for caps in (LITE, MILVUS_2_5):
        assert names(planner.plan(desired, EMPTY, caps)) == ["create_collection", "create_index"]


def test_default_values_on_small_integers_are_refused_on_2_3():
    desired = state(docs(fields=[pk(), vec(), scalar("n", "INT32", default_value=1), scalar("m", "INT64", default_value=1)]))
    assert refusal(desired, MILVUS_2_3).reasons == ["docs.n: default_value on INT32 fields is not supported by Milvus 2.3.5"]
    assert names(planner.plan(desired, EMPTY, LITE)) == ["create_collection", "create_index"]


@ALL_BACKENDS
def test_json_default_value_is_refused_everywhere(caps):
    desired = state(docs(fields=[pk(), vec(), scalar("meta", "JSON", default_value="{}")]))
    assert refusal(desired, caps).reasons == [f"docs.meta: default_value on JSON fields is not supported by {caps.label}"]


@pytest.mark.parametrize("caps", [MILVUS_2_3, MILVUS_2_4], ids=["2.3", "2.4"])
def test_functions_are_refused_before_2_5(caps):
    fields = [pk(), vec(), scalar("text", enable_analyzer=True), sparse(is_function_output=True)]
    error = refusal(state(docs(fields=fields, functions=[bm25()])), caps)
    assert f"docs: functions (bm25) are not supported by {caps.label}" in error.reasons


def test_several_dense_vector_fields_are_refused_on_2_3_only():
    desired = state(collection("docs", fields=[pk(), vec("a"), vec("b")]))
    assert refusal(desired, MILVUS_2_3).reasons == ["docs: 2 dense vector fields; Milvus 2.3.5 supports 1"]
    assert names(planner.plan(desired, EMPTY, LITE)) == ["create_collection"]
    assert names(planner.plan(desired, EMPTY, MILVUS_2_6)) == ["create_collection"]


@pytest.mark.parametrize(
    ("caps", "field", "index_type"),
    [
        (MILVUS_2_3, scalar("title"), "INVERTED"),
        (MILVUS_2_3, scalar("flag", "BOOL"), "BITMAP"),
        (LITE, scalar("year", "INT64"), "STL_SORT"),
        (LITE, scalar("title"), "Trie"),
        (MILVUS_2_4, scalar("title"), "NGRAM"),
        # Fixed: scalar AUTOINDEX without a substitute (BOOL/JSON/ARRAY) used to pass on Lite and 2.3.
        (MILVUS_2_3, scalar("flag", "BOOL"), "AUTOINDEX"),
        (MILVUS_2_3, scalar("meta", "JSON"), "AUTOINDEX"),
        (LITE, scalar("meta", "JSON"), "AUTOINDEX"),
    ],
    ids=["2.3-inverted", "2.3-bitmap", "lite-stl_sort", "lite-trie", "2.4-ngram", "2.3-bool-auto", "2.3-json-auto", "lite-json-auto"],
)
def test_scalar_index_types_the_backend_lacks_are_refused(caps, field, index_type):
    desired = state(docs(fields=[pk(), vec(), field], indexes=[hnsw(), index(field.name, index_type)]))
    assert refusal(desired, caps).reasons == [
        f"docs.{field.name}: scalar index type {index_type} is not supported by {caps.label}"
    ]


def test_vector_index_types_the_backend_lacks_are_refused():
    desired = state(docs(indexes=[index("vec", "DISKANN", metric="L2")]))
    assert refusal(desired, LITE).reasons == ["docs.vec: vector index type DISKANN is not supported by Milvus Lite 3.2.2"]
    assert names(planner.plan(desired, EMPTY, MILVUS_2_3)) == ["create_collection", "create_index"]


def test_partition_level_load_is_refused_on_lite():
    desired = state(docs(partitions=["hot"], load={"partitions": ["hot"]}))
    error = refusal(desired, LITE)
    assert error.reasons == ["docs: partition-level load (load: {partitions: …}) is not supported by Milvus Lite 3.2.2"]


def test_refusal_lists_every_problem_and_plans_nothing():
    desired = state(
        collection("a", fields=[pk(), vec("v1"), vec("v2")]),
        collection("b", fields=[pk(), sparse(), scalar("t", nullable=True)]),
    )
    error = refusal(desired, MILVUS_2_3, live=state(collection("a")))
    assert sorted(error.reasons) == [
        "a: 2 dense vector fields; Milvus 2.3.5 supports 1",
        "b.sparse: SPARSE_FLOAT_VECTOR fields are not supported by Milvus 2.3.5",
        "b.t: nullable fields are not supported by Milvus 2.3.5",
    ]
    assert str(error).startswith("the connected Milvus cannot apply this declaration:\n  - ")


# --- cosmetic attributes a backend lacks ------------------------------------------------------------


def test_descriptions_are_not_compared_on_lite_with_one_warning():
    desired = state(
        docs(description="documents", fields=[pk(description="the key"), vec()]),
        collection("other", description="more"),
    )
    live = state(docs(), collection("other"))
    plan = planner.plan(desired, live, LITE)
    assert plan.is_empty
    assert plan.warnings == ("Milvus Lite 3.2.2 does not keep descriptions; they are not compared",)


def test_consistency_level_and_shards_are_not_compared_on_lite():
    desired = state(docs(consistency_level="Bounded", num_shards=4))
    live = state(docs())  # Lite reads back neither: introspect leaves both None
    plan = planner.plan(desired, live, LITE)
    assert plan.is_empty
    assert plan.warnings == (
        "Milvus Lite 3.2.2 ignores consistency_level; it is not compared",
        "Milvus Lite 3.2.2 ignores num_shards; it is not compared",
    )


def test_description_difference_on_a_server_is_a_warning_not_an_operation():
    plan = planner.plan(state(docs(description="new")), state(docs(description="old")), MILVUS_2_6)
    assert plan.is_empty
    assert plan.warnings == ("docs: description differs from Milvus, which cannot change it in place; left as is",)


def test_clustering_key_is_not_compared_on_2_3():
    desired = state(docs(fields=[pk(), vec(), scalar("year", "INT64", is_clustering_key=True)]))
    live = state(docs(fields=[pk(), vec(), scalar("year", "INT64")]))
    plan = planner.plan(desired, live, MILVUS_2_3)
    assert plan.is_empty
    assert plan.warnings == ("Milvus 2.3.5 ignores is_clustering_key; it is not compared",)


# --- load state ------------------------------------------------------------------------------------


def test_lite_unchanged_collection_read_back_unloaded_gives_an_empty_plan():
    # Milvus Lite forgets load state between processes: a declared load cannot be observed later.
    plan = planner.plan(state(docs(load=True)), state(docs(load=LoadState(loaded=False))), LITE)
    assert plan.is_empty


@pytest.mark.parametrize(
    ("desired", "expected"),
    [
        (docs(load=True, properties={"mmap.enabled": "True"}), ["alter_collection_properties", "load_collection"]),
        (docs(load=True, indexes=[hnsw(M=32)]), ["drop_index", "create_index", "load_collection"]),
        (docs(load=True, partitions=["p1"]), ["create_partition", "load_collection"]),
    ],
    ids=["properties", "index", "partition"],
)
def test_lite_changed_collection_is_loaded_as_declared(desired, expected):
    plan = planner.plan(state(desired), state(docs(load=LoadState(loaded=False))), LITE)
    assert names(plan) == expected


def test_lite_declared_unloaded_collection_read_back_loaded_gives_an_empty_plan():
    # An index-less collection always reports Loaded on Lite, even right after release_collection.
    plan = planner.plan(state(docs(indexes=[], load=False)), state(docs(indexes=[], load=loaded())), LITE)
    assert plan.is_empty


@SERVERS
def test_server_unloaded_collection_declared_loaded_is_loaded(caps):
    plan = planner.plan(state(docs(load=True)), state(docs(load=LoadState(loaded=False))), caps)
    assert names(plan) == ["load_collection"]
    assert only(plan, "load_collection").reason == "declared loaded"


@SERVERS
def test_server_loaded_collection_declared_unloaded_is_released(caps):
    plan = planner.plan(state(docs(load=False)), state(docs(load=loaded())), caps)
    assert names(plan) == ["release_collection"]


def test_undeclared_load_state_is_left_alone():
    for live_load in (loaded(), LoadState(loaded=False)):
        assert planner.plan(state(docs(load=None)), state(docs(load=live_load)), MILVUS_2_6).is_empty


def test_replica_change_releases_and_reloads_with_the_new_count():
    plan = planner.plan(state(docs(load={"replica_number": 2})), state(docs(load=loaded(replica_number=1))), MILVUS_2_6)
    assert names(plan) == ["release_collection", "load_collection"]
    assert only(plan, "load_collection").replica_number == 2
    assert only(plan, "release_collection").reason == "replica_number 1 → 2 needs a reload"


def test_same_replica_count_gives_an_empty_plan():
    s = state(docs(load={"replica_number": 2}))
    assert planner.plan(s, state(docs(load=loaded(replica_number=2))), MILVUS_2_6).is_empty


def test_replicas_are_not_compared_when_the_backend_does_not_tell():
    plan = planner.plan(state(docs(load={"replica_number": 2})), state(docs(load=loaded())), MILVUS_2_3)
    assert plan.is_empty


def test_hot_cold_split_of_a_fully_loaded_collection_releases_the_cold_partitions():
    live = state(docs(partitions=["hot", "cold"], load=loaded()))
    plan = planner.plan(state(docs(partitions=["hot", "cold"], load={"partitions": ["hot"]})), live, MILVUS_2_3)
    assert names(plan) == ["release_partitions"]
    assert only(plan, "release_partitions").partition_names == ("_default", "cold")


def test_partition_warmed_up_is_loaded_without_a_release():
    live = state(docs(partitions=["hot", "cold"], load=loaded(partitions=["hot"])))
    plan = planner.plan(state(docs(partitions=["hot", "cold"], load={"partitions": ["cold", "hot"]})), live, MILVUS_2_6)
    assert names(plan) == ["load_partitions"]
    assert only(plan, "load_partitions").partition_names == ("cold",)


def test_partition_swap_loads_and_releases():
    live = state(docs(partitions=["a", "b"], load=loaded(partitions=["a"])))
    plan = planner.plan(state(docs(partitions=["a", "b"], load={"partitions": ["b"]})), live, MILVUS_2_6)
    # Both sit in the LOAD phase, so their order follows the partition names; only the pair is asserted.
    assert sorted(names(plan)) == ["load_partitions", "release_partitions"]
    assert only(plan, "load_partitions").partition_names == ("b",)
    assert only(plan, "release_partitions").partition_names == ("a",)


def test_partially_loaded_collection_declared_fully_loaded_is_loaded():
    live = state(docs(partitions=["hot", "cold"], load=loaded(partitions=["hot"])))
    plan = planner.plan(state(docs(partitions=["hot", "cold"], load=True)), live, MILVUS_2_3)
    assert names(plan) == ["load_collection"]


def test_new_partition_is_created_before_it_is_loaded():
    live = state(docs(partitions=["hot"], load=loaded(partitions=["hot"])))
    plan = planner.plan(state(docs(partitions=["hot", "new"], load={"partitions": ["hot", "new"]})), live, MILVUS_2_6)
    assert names(plan) == ["create_partition", "load_partitions"]
    assert only(plan, "load_partitions").partition_names == ("new",)


# --- partitions ------------------------------------------------------------------------------------


def test_dropping_a_loaded_partition_on_2_3_releases_only_that_partition():
    # 2.3.5 refuses to drop a loaded partition, but release_partitions([p]) frees it alone: the others stay
    # loaded and searchable, so nothing is reloaded (measured on 2.3.5).
    live = state(docs(partitions=["old", "keep"], load=loaded()))
    plan = planner.plan(state(docs(partitions=["keep"], load=True)), live, MILVUS_2_3)
    assert names(plan) == ["release_partitions", "drop_partition"]
    release = only(plan, "release_partitions")
    assert release.partition_names == ("old",) and release.phase == Phase.RELEASE
    drop = only(plan, "drop_partition")
    assert drop.destructive and drop.partition_name == "old" and drop.reason == "no longer declared"
    assert [op.op for op in plan.destructive_ops] == ["drop_partition"]


def test_dropping_a_partition_of_a_loaded_collection_on_lite_needs_no_release():
    live = state(docs(partitions=["old"], load=loaded()))
    plan = planner.plan(state(docs(load=True)), live, LITE)
    assert names(plan) == ["drop_partition"]


def test_dropping_a_partition_of_a_released_collection_needs_no_release():
    live = state(docs(partitions=["old"], load=LoadState(loaded=False)))
    assert names(planner.plan(state(docs()), live, MILVUS_2_3)) == ["drop_partition"]


@pytest.mark.parametrize("declared_load", [None, True, {"partitions": ["_default", "keep"]}])
def test_dropping_an_unloaded_partition_of_a_partially_loaded_collection_releases_nothing(declared_load):
    # Issue 8 item 14: a partition created by hand and never loaded used to release and reload the collection.
    live = state(docs(partitions=["hand_made", "keep"], load=loaded(partitions=["_default", "keep"])))
    desired = state(docs(partitions=["keep"], load=declared_load))
    plan = planner.plan(desired, live, MILVUS_2_3)
    # What is left loaded (_default, keep) is every partition once hand_made is gone: a full load already.
    assert names(plan) == ["drop_partition"]


def test_dropping_a_loaded_partition_keeps_the_other_loaded_partitions_loaded():
    live = state(docs(partitions=["old", "keep"], load=loaded(partitions=["old", "keep"])))
    plan = planner.plan(state(docs(partitions=["keep"])), live, MILVUS_2_3)
    assert names(plan) == ["release_partitions", "drop_partition"]
    assert only(plan, "release_partitions").partition_names == ("old",)


def test_dropping_the_only_loaded_partition_releases_just_it():
    live = state(docs(partitions=["old", "keep"], load=loaded(partitions=["old"])))
    plan = planner.plan(state(docs(partitions=["keep"])), live, MILVUS_2_3)
    assert names(plan) == ["release_partitions", "drop_partition"]


def test_dropping_the_only_loaded_partition_of_a_collection_declared_loaded_loads_it_again():
    live = state(docs(partitions=["old", "keep"], load=loaded(partitions=["old"])))
    plan = planner.plan(state(docs(partitions=["keep"], load=True)), live, MILVUS_2_3)
    assert names(plan) == ["release_partitions", "drop_partition", "load_collection"]


def test_dropping_a_loaded_partition_with_an_index_change_releases_the_collection_once():
    live = state(docs(partitions=["old"], indexes=[hnsw(M=8)], load=loaded()))
    plan = planner.plan(state(docs(indexes=[hnsw(M=32)], load=True)), live, MILVUS_2_3)
    assert names(plan) == ["release_collection", "drop_index", "drop_partition", "create_index", "load_collection"]


def test_property_change_on_a_loaded_collection_needs_no_release():
    plan = planner.plan(state(docs(load=True, properties={"k": "v"})), state(docs(load=loaded())), MILVUS_2_3)
    assert names(plan) == ["alter_collection_properties"]


def test_index_change_on_a_collection_lite_reads_back_loaded_releases_then_reloads():
    live = state(docs(indexes=[hnsw(M=8)], load=loaded()))
    plan = planner.plan(state(docs(indexes=[hnsw(M=32)], load=True)), live, LITE)
    assert names(plan) == ["release_collection", "drop_index", "create_index", "load_collection"]


def test_partitions_of_a_partition_key_collection_are_not_diffed():
    fields = [pk(), vec(), scalar("tenant", is_partition_key=True)]
    live = state(docs(fields=fields, partitions=["_default_0", "_default_1"]))
    assert planner.plan(state(docs(fields=fields)), live, MILVUS_2_6).is_empty


# --- properties ------------------------------------------------------------------------------------


def test_changed_property_is_altered_with_its_previous_value():
    live = state(docs(properties={"collection.ttl.seconds": "60"}))
    plan = planner.plan(state(docs(properties={"collection.ttl.seconds": "120", "mmap.enabled": "True"})), live, MILVUS_2_3)
    assert names(plan) == ["alter_collection_properties"]
    alter = only(plan, "alter_collection_properties")
    assert alter.properties == {"collection.ttl.seconds": "120", "mmap.enabled": "True"}
    assert alter.before == {"collection.ttl.seconds": "60", "mmap.enabled": None}


@pytest.mark.parametrize("caps", [LITE, MILVUS_2_6], ids=["lite", "2.6"])
def test_removed_property_is_dropped_where_supported(caps):
    plan = planner.plan(state(docs()), state(docs(properties={"mmap.enabled": "True"})), caps)
    assert names(plan) == ["drop_collection_properties"]
    assert only(plan, "drop_collection_properties").property_keys == ("mmap.enabled",)


def test_removed_property_is_kept_on_2_3_with_a_warning():
    live = state(docs(properties={"mmap.enabled": "True", "collection.ttl.seconds": "60"}))
    plan = planner.plan(state(docs()), live, MILVUS_2_3)
    assert plan.is_empty
    assert plan.warnings == (
        "docs: Milvus 2.3.5 cannot remove collection properties; collection.ttl.seconds=60, mmap.enabled=True stays "
        "(declare the value you want to change it)",
    )


# --- the plan as a value -----------------------------------------------------------------------------


_DETERMINISM = """
import json, sys
from milvus_migrate.planning import capabilities, planner
from tests.unit.factories import collection, hnsw, loaded, pk, state, vec
names = ["a", "gone", "b", "c", "d"]
if sys.argv[1] == "reversed":
    names.reverse()
built = {
    "a": (collection("a", indexes=[hnsw(M=8)], load=loaded(), aliases=["x"], partitions=["p", "q"]),
          collection("a", indexes=[hnsw(M=16)], load=True, properties={"k": "v", "j": "w"}, partitions=["r"])),
    "gone": (collection("gone", aliases=["y"]), None),
    "b": (None, collection("b", fields=[pk(), vec(dim=4)], indexes=[hnsw()], load=True, aliases=["x", "y", "z"])),
    "c": (collection("c", fields=[pk(), vec(dim=4)]), collection("c", fields=[pk(), vec(dim=8)])),
    "d": (None, collection("d", partitions=["p3", "p1", "p2"])),
}
live = state(*[built[n][0] for n in names if built[n][0] is not None])
desired = state(*[built[n][1] for n in names if built[n][1] is not None])
print(json.dumps(planner.plan(desired, live, capabilities.modern_server("v2.6.2")).to_json()))
"""


def test_same_input_gives_the_same_plan_whatever_the_hash_seed_or_insertion_order():
    # Set iteration order changes with PYTHONHASHSEED, and dicts keep insertion order: run separate
    # processes with different seeds and insertion orders; the plans must be identical, op for op.
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", _DETERMINISM, order],
            capture_output=True, text=True, check=True, cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
        ).stdout
        for seed, order in (("1", "forward"), ("2", "reversed"), ("3", "forward"), ("4", "reversed"))
    }  # fmt: skip
    assert len(outputs) == 1, outputs
    assert json.loads(outputs.pop())["changes"] > 10


def test_plan_json_has_the_documented_keys():
    live = state(collection("old"))
    desired = state(docs(load=True))
    plan = planner.plan(desired, live, MILVUS_2_6, database="prod", from_version=2, to_version=3)
    data = plan.to_json()
    assert {"database", "current_version", "target_version", "direction", "changes", "destructive", "operations"} <= data.keys()
    assert (data["database"], data["current_version"], data["target_version"], data["direction"]) == ("prod", 2, 3, "up")
    assert data["changes"] == 4 and data["destructive"] == 1
    assert [o["op"] for o in data["operations"]] == ["create_collection", "create_index", "load_collection", "drop_collection"]
    for o in data["operations"]:
        assert {"op", "collection", "destructive", "reason"} <= o.keys()
    assert data["operations"][-1] == {"op": "drop_collection", "collection": "old", "destructive": True, "reason": "no longer declared"}


# --- properties over random valid collections ------------------------------------------------------

BACKENDS = {"lite": LITE, "2.3": MILVUS_2_3, "2.6": MILVUS_2_6}
# An explicit scalar index type each backend accepts, per field type (no AUTOINDEX substitution: the
# live side of plan(S, S) must be something the backend could read back).
SCALAR_INDEX = {
    "lite": {"INT64": "INVERTED", "VARCHAR": "INVERTED", "DOUBLE": "INVERTED", "BOOL": "INVERTED"},
    "2.3": {"INT64": "STL_SORT", "VARCHAR": "Trie", "DOUBLE": "STL_SORT"},
    "2.6": {"INT64": "INVERTED", "VARCHAR": "INVERTED", "DOUBLE": "STL_SORT", "BOOL": "BITMAP"},
}
VECTOR_INDEXES = [
    IndexState(field_name="vec", index_name="vec", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 64}),
    IndexState(field_name="vec", index_name="vec", index_type="IVF_FLAT", metric_type="IP", params={"nlist": 128}),
    IndexState(field_name="vec", index_name="vec", index_type="FLAT", metric_type="COSINE"),
    IndexState(field_name="vec", index_name="vec", index_type="AUTOINDEX", metric_type="COSINE"),
]
_names = st.text(alphabet="abcdefghij", min_size=1, max_size=6)


@st.composite
def collections(draw, backend: str) -> CollectionState:
    """A collection valid on `backend`: one FLOAT_VECTOR, a few scalars, optional indexes/partitions/load."""
    name = draw(_names)
    pk_type = draw(st.sampled_from(["INT64", "VARCHAR"]))
    fields = [pk(type=pk_type, auto_id=pk_type == "INT64" and draw(st.booleans())), vec(dim=draw(st.sampled_from([2, 8, 128])))]
    for i, field_type in enumerate(draw(st.lists(st.sampled_from(["INT64", "VARCHAR", "DOUBLE", "BOOL", "JSON"]), max_size=3))):
        default = draw(st.none() | st.just(7)) if field_type == "INT64" else None
        fields.append(scalar(f"s{i}", field_type, default_value=default))
    indexes = [draw(st.sampled_from(VECTOR_INDEXES))] if draw(st.booleans()) else []
    for f in fields[2:]:
        if f.type in SCALAR_INDEX[backend] and draw(st.booleans()):
            indexes.append(index(f.name, SCALAR_INDEX[backend][f.type]))
    partitions = sorted(draw(st.sets(st.sampled_from(["p1", "p2", "p3"]), max_size=2)))
    load_shapes = [None, LoadState(loaded=False)]
    if indexes and indexes[0].field_name == "vec":  # a server loads only collections with a vector index
        load_shapes += [loaded(), loaded(replica_number=1)]
        if backend != "lite":
            load_shapes.append(loaded(partitions=["_default", *partitions[:1]]))
    return collection(
        name,
        fields=fields,
        indexes=indexes,
        partitions=partitions,
        load=draw(st.sampled_from(load_shapes)),
        properties=draw(st.dictionaries(st.sampled_from(["collection.ttl.seconds", "mmap.enabled"]), st.just("1"), max_size=2)),
        enable_dynamic_field=draw(st.booleans()),
    )


@st.composite
def states(draw) -> tuple[str, State]:
    """A backend name and a valid State of 1–3 collections for it, with distinct aliases."""
    backend = draw(st.sampled_from(sorted(BACKENDS)))
    drawn = draw(st.lists(collections(backend), min_size=1, max_size=3, unique_by=lambda c: c.name))
    with_aliases = [
        change(c, aliases=[f"{c.name}_alias"]) if draw(st.booleans()) else c for c in drawn
    ]
    return backend, state(*with_aliases)


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(states())
def test_property_a_state_planned_against_itself_is_empty(backend_and_state):
    backend, s = backend_and_state
    plan = planner.plan(desired=s, live=s, caps=BACKENDS[backend])
    assert plan.is_empty, [op.describe() for op in plan.ops]


@PROPERTY_SETTINGS
@given(states())
def test_property_a_state_built_from_nothing_creates_then_indexes_then_loads(backend_and_state):
    backend, s = backend_and_state
    plan = planner.plan(desired=s, live=EMPTY, caps=BACKENDS[backend])
    kinds = names(plan)
    assert kinds[0] == "create_collection"
    assert kinds.count("create_collection") == len(s.collections)
    assert not plan.destructive_ops
    for c in s.collections.values():
        mine = [op.op for op in plan.ops if op.collection_name == c.name]
        assert mine[0] == "create_collection"
        assert mine.count("create_index") == len(c.indexes)
        loads = [i for i, k in enumerate(mine) if k in ("load_collection", "load_partitions")]
        indexes = [i for i, k in enumerate(mine) if k == "create_index"]
        assert len(loads) == (1 if c.load is not None and c.load.loaded else 0)
        if loads and indexes:
            assert max(indexes) < min(loads)
    assert [op.phase for op in plan.ops] == sorted(op.phase for op in plan.ops)


def test_consistency_level_change_is_a_warning_not_a_recreate():
    plan = planner.plan(state(docs(consistency_level="Strong")), state(docs(consistency_level="Bounded")), MILVUS_2_3)
    assert plan.is_empty
    assert plan.warnings == (
        "docs: consistency_level is Bounded in Milvus, declared Strong; Milvus cannot change it in place, "
        "so it is left as is (pass consistency_level per request)",
    )


# --- issue 8: backend facts the planner must respect --------------------------------------------------


def _with_bm25(description: str = "", **kw) -> CollectionState:
    fields = [pk(), scalar("text", enable_analyzer=True), sparse()]
    fn = bm25().model_copy(update={"description": description})
    return collection("docs", fields=fields, functions=[fn], indexes=[index("sparse", "SPARSE_INVERTED_INDEX", metric="BM25")], **kw)


def test_function_description_lite_drops_is_a_warning_not_a_recreate():
    # Issue 8 item 5: Lite reads a BM25 function back without its description; that planned drop + create.
    plan = planner.plan(state(_with_bm25("title → sparse")), state(_with_bm25("")), LITE)
    assert plan.is_empty
    assert plan.warnings == ("Milvus Lite 3.2.2 does not keep descriptions; they are not compared",)


def test_function_description_change_is_still_compared_where_descriptions_are_kept():
    plan = planner.plan(state(_with_bm25("new")), state(_with_bm25("old")), MILVUS_2_6)
    # A function change keeps the rows: the collection is copied into one with the new function.
    assert "function" in only(plan, "copy_rows").reason


def test_index_params_the_backend_does_not_report_are_not_compared_and_warned_about_once():
    # Issue 8 item 6: Lite keeps no build params given in pymilvus's flat form; introspect reads them as None.
    unknown = IndexState(field_name="vec", index_name="vec", index_type="HNSW", metric_type="COSINE", params=None)
    desired = state(docs(indexes=[hnsw(M=8)]), collection("notes", indexes=[hnsw(M=16)]))
    live = state(docs(indexes=[unknown]), collection("notes", indexes=[unknown]))
    plan = planner.plan(desired, live, LITE)
    assert plan.is_empty
    assert plan.warnings == (
        "Milvus Lite 3.2.2 does not report the build params of indexes created with pymilvus's flat params form "
        "(params={...} or keywords); the declared params of docs.vec, notes.vec cannot be checked",
    )


def test_index_with_unreported_params_is_still_rebuilt_when_its_type_or_metric_changes():
    unknown = IndexState(field_name="vec", index_name="vec", index_type="IVF_FLAT", metric_type="L2", params=None)
    plan = planner.plan(state(docs(indexes=[hnsw(metric="L2")])), state(docs(indexes=[unknown])), LITE)
    assert names(plan) == ["drop_index", "create_index"]
    plan = planner.plan(state(docs(indexes=[index("vec", "IVF_FLAT", metric="IP", nlist=8)])), state(docs(indexes=[unknown])), LITE)
    assert names(plan) == ["drop_index", "create_index"]


def test_index_without_params_matching_unreported_params_gives_no_warning():
    unknown = IndexState(field_name="vec", index_name="vec", index_type="FLAT", metric_type="L2", params=None)
    plan = planner.plan(state(docs(indexes=[index("vec", "FLAT", metric="L2")])), state(docs(indexes=[unknown])), LITE)
    assert plan.is_empty and plan.warnings == ()


def _sparse_index(algo: str) -> CollectionState:
    return docs(fields=[pk(), vec(), sparse()], indexes=[hnsw(), index("sparse", "SPARSE_INVERTED_INDEX", metric="IP", inverted_index_algo=algo)])


def test_sparse_algorithm_lite_rejects_at_build_time_is_refused_at_plan_time():
    # Issue 8 item 7: Lite: "unsupported sparse algorithm 'DAAT_WAND'; use TAAT_NAIVE", after the collection was created.
    error = refusal(state(_sparse_index("DAAT_WAND")), LITE)
    assert error.reasons == [
        "docs.sparse: inverted_index_algo DAAT_WAND on SPARSE_INVERTED_INDEX is not supported by Milvus Lite 3.2.2 "
        "(supported: TAAT_NAIVE)"
    ]
    assert names(planner.plan(state(_sparse_index("TAAT_NAIVE")), EMPTY, LITE))[0] == "create_collection"
    assert names(planner.plan(state(_sparse_index("DAAT_WAND")), EMPTY, MILVUS_2_6))[0] == "create_collection"


@pytest.mark.parametrize(
    ("index_type", "params", "missing"),
    [
        ("HNSW", {}, "M, efConstruction"),
        ("HNSW", {"M": 8}, "efConstruction"),
        ("IVF_FLAT", {}, "nlist"),
        ("IVF_SQ8", {}, "nlist"),
        ("IVF_PQ", {"nlist": 8}, "m"),
        ("SCANN", {}, "nlist"),
    ],
)
def test_build_params_2_3_requires_are_refused_at_plan_time(index_type, params, missing):
    # Issue 8 item 13: 2.3.5 fails such an index mid-`up` ("efConstruction out of range", "parameter `m` not found").
    desired = state(docs(indexes=[index("vec", index_type, metric="L2", **params)]))
    error = refusal(desired, MILVUS_2_3)
    assert error.reasons == [
        f"docs.vec: {index_type} index needs {missing} in params on Milvus 2.3.5 (newer servers default it); declare it"
    ]
    for caps in (LITE, MILVUS_2_6):
        if index_type in (caps.vector_index_types or {index_type}):
            assert names(planner.plan(desired, EMPTY, caps))[0] == "create_collection"


def test_binary_ivf_without_nlist_is_refused_on_2_3_but_flat_indexes_need_nothing():
    binary = [pk(), vec(type="BINARY_VECTOR", dim=16)]
    error = refusal(state(docs(fields=binary, indexes=[index("vec", "BIN_IVF_FLAT", metric="HAMMING")])), MILVUS_2_3)
    assert error.reasons[0].startswith("docs.vec: BIN_IVF_FLAT index needs nlist in params on Milvus 2.3.5")
    for ix in (index("vec", "BIN_FLAT", metric="HAMMING"), index("vec", "AUTOINDEX"), index("vec", "DISKANN", metric="L2")):
        fields = binary if ix.index_type.startswith("BIN") else None
        assert planner.plan(state(docs(fields=fields, indexes=[ix])), EMPTY, MILVUS_2_3).ops


@pytest.mark.parametrize(
    ("field", "metric"),
    [(vec(), "COSINE"), (vec(type="FLOAT16_VECTOR"), "COSINE"), (vec(type="BINARY_VECTOR", dim=16), "HAMMING"), (sparse("vec"), "IP")],
)
@ALL_BACKENDS
def test_vector_index_without_metric_is_created_with_the_default_metric(caps, field, metric):
    # Issue 8 item 10: Lite and 2.3.5 refuse create_index without metric_type; the plan never sends one.
    ix = index("vec", "FLAT" if field.type != "SPARSE_FLOAT_VECTOR" else "SPARSE_INVERTED_INDEX")
    desired = state(docs(fields=[pk(), field], indexes=[ix]))
    created = planner.plan(desired, EMPTY, replace_caps(caps)).ops[1]
    assert created.op == "create_index"
    assert created.index.metric_type == metric
    assert created.reason == f"declared, not in Milvus (no metric_type declared: {metric})"


def test_bm25_output_index_without_metric_is_created_with_bm25():
    fields = [pk(), scalar("text", enable_analyzer=True), sparse()]
    desired = state(collection("docs", fields=fields, functions=[bm25()], indexes=[index("sparse", "SPARSE_INVERTED_INDEX")]))
    assert only(planner.plan(desired, EMPTY, LITE), "create_index").index.metric_type == "BM25"


def test_rebuilt_vector_index_without_metric_gets_the_default_and_scalar_indexes_none():
    desired = state(docs(fields=[pk(), vec(), scalar("title")], indexes=[index("vec", "HNSW", M=16, efConstruction=64), index("title", "Trie")]))
    live = state(docs(fields=[pk(), vec(), scalar("title")], indexes=[hnsw(metric="L2", M=8, efConstruction=64)]))
    plan = planner.plan(desired, live, MILVUS_2_3)
    created = {op.index.field_name: op.index.metric_type for op in plan.ops if op.op == "create_index"}
    assert created == {"vec": "COSINE", "title": None}
    # An existing index with any metric matches a declaration without one.
    assert planner.plan(desired, live.model_copy(update={"collections": {"docs": change(live.collections["docs"], indexes=[hnsw(metric="L2", M=16, efConstruction=64), index("title", "Trie")])}}), MILVUS_2_3).is_empty


def replace_caps(caps: capabilities.Capabilities) -> capabilities.Capabilities:
    """`caps` allowing every vector type, so one test can try each field type on each backend's metric rules."""
    from dataclasses import replace

    return replace(caps, vector_types=capabilities.ALL_VECTOR_TYPES, vector_index_types=None, max_dense_vector_fields=4)


def test_declared_alias_owned_by_an_unmanaged_collection_is_refused():
    # Issue 8 item 11: planned as create_alias, `up` failed with "alias already exists".
    live = State(alias_owners={"docs_live": "someone_elses"})
    error = refusal(state(docs(aliases=["docs_live"])), MILVUS_2_3, live=live)
    assert error.reasons == [
        "alias docs_live (declared for docs) already points at collection someone_elses, which these migration "
        "files do not manage; drop or rename that alias, or declare another"
    ]


def test_declared_collection_whose_name_is_an_unmanaged_alias_is_refused():
    live = State(alias_owners={"docs": "docs_v1"})
    error = refusal(state(docs()), LITE, live=live)
    assert error.reasons == [
        "collection docs cannot be created: docs is an alias of collection docs_v1, which these migration files "
        "do not manage; drop that alias, or name the collection differently"
    ]


def test_declared_alias_that_is_the_name_of_an_unmanaged_collection_is_refused():
    live = State(alias_owners={"docs_next": "docs_next"})
    error = refusal(state(docs(aliases=["docs_next"])), MILVUS_2_3, live=live)
    assert error.reasons == [
        "alias docs_next (declared for docs) is the name of collection docs_next, which these migration files "
        "do not manage; declare another alias"
    ]


def test_alias_moving_between_managed_collections_is_not_a_conflict():
    live = state(collection("a", aliases=["live"]), collection("b"))
    plan = planner.plan(state(collection("a"), collection("b", aliases=["live"])), live, MILVUS_2_3)
    assert names(plan) == ["alter_alias"]


@pytest.mark.parametrize("caps", [MILVUS_2_3, MILVUS_2_5], ids=["2.3", "2.5"])
def test_field_description_change_is_a_warning_on_servers(caps):
    # Issue 8 item 12: a changed field description used to produce neither an operation nor a warning.
    desired = state(docs(fields=[pk(), vec(description="new")]))
    plan = planner.plan(desired, state(docs(fields=[pk(), vec(description="old")])), caps)
    assert plan.is_empty
    assert plan.warnings == (
        "docs.vec: description differs from Milvus, which cannot change a field's description in place; left as is",
    )


def test_field_mmap_change_is_a_warning_where_fields_cannot_be_altered():
    desired = state(docs(fields=[pk(), vec(), scalar("title", mmap_enabled=True)]))
    plan = planner.plan(desired, state(docs(fields=[pk(), vec(), scalar("title")])), MILVUS_2_3)
    assert plan.is_empty
    assert plan.warnings == (
        "docs.title: mmap_enabled is False in Milvus, declared True; Milvus 2.3.5 cannot change it in place, so it is left as is",
    )


def test_field_mmap_change_is_altered_in_place_on_2_5_with_a_reload():
    desired = state(docs(fields=[pk(), vec(), scalar("title", mmap_enabled=True)], load=True))
    live = state(docs(fields=[pk(), vec(), scalar("title", mmap_enabled=False)], load=loaded()))
    plan = planner.plan(desired, live, MILVUS_2_5)
    assert names(plan) == ["release_collection", "alter_collection_field", "load_collection"]
    alter = only(plan, "alter_collection_field")
    assert (alter.field_name, alter.field_params, alter.before) == ("title", {"mmap.enabled": True}, {"mmap.enabled": False})
    assert alter.to_json()["field_params"] == {"mmap.enabled": True}
    assert not alter.destructive


def test_undeclared_field_mmap_is_left_alone():
    live = state(docs(fields=[pk(), vec(), scalar("title", mmap_enabled=True)]))
    assert planner.plan(state(docs(fields=[pk(), vec(), scalar("title")])), live, MILVUS_2_5).is_empty


def test_a_new_index_on_a_loaded_collection_is_followed_by_a_reload_on_2_3_only():
    live = collection("docs", fields=[pk(), vec(), scalar("title")], indexes=[hnsw()], load=loaded(replica_number=1))
    want = change(live, indexes=(hnsw(), index("title", "Trie")), load=None)

    on_2_3 = planner.plan(state(want), state(live), capabilities.server_2_3())
    on_2_5 = planner.plan(state(want), state(live), capabilities.modern_server("v2.5.4"))

    assert [op.op for op in on_2_3.ops] == ["release_collection", "create_index", "load_collection"]
    assert [op.op for op in on_2_5.ops] == ["create_index"]


def test_a_partition_created_after_releasing_another_is_loaded_when_every_partition_is_declared_loaded():
    # 2.3.5: release_partitions turns a full load into a partial one; a partition created then is not loaded.
    live = collection("docs", indexes=[hnsw()], partitions=["p2"], load=loaded(replica_number=1))
    want = change(live, partitions=("p1",), load=True)

    plan = planner.plan(state(want), state(live), capabilities.server_2_3())

    assert [op.op for op in plan.ops] == ["release_partitions", "drop_partition", "create_partition", "load_collection"]

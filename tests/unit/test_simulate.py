"""simulate(state, ops): the planner's oracle. Simulating a plan from live lands where the planner sees no change."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milvus_migrate.planning import capabilities, ops, planner
from milvus_migrate.planning.runplan import managed_part
from milvus_migrate.planning.simulate import simulate
from milvus_migrate.planning.state import CollectionState, IndexState, LoadState, State
from tests.unit.factories import collection, hnsw, index, loaded, pk, scalar, state, vec

PROFILES = {
    "lite": capabilities.lite(),
    "server-2.3": capabilities.server_2_3(),
    "server-2.5": capabilities.modern_server("v2.5.4"),
}
NAMES = ("docs", "notes", "logs")
ALIASES = ("live", "search", "old")


@st.composite
def collections(draw: st.DrawFn, name: str, caps: capabilities.Capabilities, declared: bool) -> CollectionState:
    """A collection as declared (declared=True) or as read back from Milvus."""
    fields = [pk(), vec(dim=draw(st.sampled_from([4, 8])))]
    if draw(st.booleans()):
        fields.append(scalar("title", max_length=draw(st.sampled_from([64, 128]))))
    indexes: list[IndexState] = []
    if draw(st.booleans()):
        indexes.append(draw(st.sampled_from([hnsw("vec", M=8), hnsw("vec", M=16), index("vec", "FLAT", metric="L2")])))
    if len(fields) == 3 and draw(st.booleans()):
        scalar_type = "AUTOINDEX" if declared else caps.index_type_for("VARCHAR", "AUTOINDEX")
        indexes.append(index("title", scalar_type))
    partitions = draw(st.lists(st.sampled_from(["p1", "p2"]), unique=True))
    if declared:
        shapes: list[object] = [None, True, False]
        if caps.partition_load:
            shapes.append({"partitions": sorted(draw(st.sets(st.sampled_from(["_default", *partitions]), min_size=1)))})
        load = draw(st.sampled_from(shapes))
    else:
        is_loaded = draw(st.booleans())
        load = LoadState(loaded=is_loaded, replica_number=1 if is_loaded and caps.keeps_load_state else None)
    properties = {}
    if draw(st.booleans()):
        properties["collection.ttl.seconds"] = draw(st.sampled_from(["60", "120"]))
    return collection(
        name,
        fields=fields,
        indexes=indexes,
        partitions=partitions,
        load=load,
        properties=properties,
        enable_dynamic_field=draw(st.booleans()),
        # Live row counts decide between a copy (rows), a plain recreate (empty) and a copy of unknown size.
        **({} if declared else {"num_rows": draw(st.sampled_from([None, 0, 1000]))}),
    )


@st.composite
def states(draw: st.DrawFn, caps: capabilities.Capabilities, declared: bool) -> State:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True))
    made = {n: draw(collections(n, caps, declared)) for n in names}
    for alias in ALIASES:
        owner = draw(st.sampled_from([None, *names]))
        if owner is not None:
            made[owner] = made[owner].model_copy(update={"aliases": tuple(sorted({*made[owner].aliases, alias}))})
    return State(collections=made)


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=int(os.environ.get("SIMULATE_EXAMPLES", "150")), deadline=None)
@given(data=st.data())
def test_simulating_the_plan_from_live_reaches_what_the_planner_calls_done(profile, data):
    caps = PROFILES[profile]
    desired = data.draw(states(caps, declared=True), label="desired")
    live = data.draw(states(caps, declared=False), label="live")
    first = planner.plan(desired, live, caps)
    after = managed_part(simulate(live, first.ops))  # a copy keeps a backup: the tool's own, not managed
    assert set(after.collections) == set(desired.collections)
    again = planner.plan(desired, after, caps)
    assert again.ops == (), [op.describe() for op in again.ops]


def test_create_collection_starts_without_indexes_partitions_aliases_or_load():
    want = collection("docs", indexes=[hnsw()], partitions=["p1"], aliases=["live"], load=True)
    created = simulate(state(), [ops.CreateCollection(collection_name="docs", collection=want, reason="")])
    c = created.collections["docs"]
    assert (c.indexes, c.partitions, c.aliases, c.load) == ((), (), (), LoadState(loaded=False))


def test_alias_moves_from_one_collection_to_another():
    before = state(collection("a", aliases=["live"]), collection("b"))
    after = simulate(before, [ops.AlterAlias(collection_name="b", alias="live", previous_collection="a", reason="")])
    assert after.collections["a"].aliases == () and after.collections["b"].aliases == ("live",)


def test_dropping_a_loaded_partition_removes_it_from_the_load():
    before = state(collection("a", partitions=["p1", "p2"], load=loaded(partitions=["_default", "p1"])))
    after = simulate(before, [ops.DropPartition(collection_name="a", partition_name="p1", reason="")])
    assert after.collections["a"].partitions == ("p2",)
    assert after.collections["a"].load == loaded(partitions=["_default"])


def test_an_operation_on_a_missing_collection_is_a_bug_in_the_plan():
    with pytest.raises(ValueError, match="does not exist"):
        simulate(state(), [ops.ReleaseCollection(collection_name="ghost", reason="")])


def test_alter_collection_field_sets_the_field_attribute():
    before = state(collection("a"))
    op = ops.AlterCollectionField(collection_name="a", field_name="vec", field_params={"mmap.enabled": True}, before={}, reason="")
    assert simulate(before, [op]).collections["a"].field("vec").mmap_enabled is True


def test_names_held_by_unmanaged_collections_stay_held():
    before = State(collections={}, alias_owners={"live": "someone_elses"})
    assert simulate(before, []).alias_owners == {"live": "someone_elses"}

"""Backend facts the planner and executor must respect (issue 8 items 4, 7, 11, 13, 14), on real Milvus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

LABELS = {"lite": "Milvus Lite 3.2.2", "server": "Milvus 2.3.5"}
PK = {"name": "id", "type": "INT64", "is_primary": True}
VEC = {"name": "vec", "type": "FLOAT_VECTOR", "dim": 8}
VEC_INDEX = {"field_name": "vec", "index_type": "FLAT", "metric_type": "L2"}


def _write(directory: Path, *versions: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for n, body in enumerate(versions, start=1):
        (directory / f"{n:04d}_step.yaml").write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return directory


def _by_hand(client: Any, name: str, *, index: bool = True) -> None:
    """A collection an application made itself (the migration files do not declare it)."""
    from pymilvus import DataType

    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=8)
    client.create_collection(name, schema=schema)
    if index:
        params = client.prepare_index_params()
        params.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
        client.create_index(name, params)


def _ops(cli: Any, directory: Path) -> list[tuple[str, str]]:
    result = cli("plan", "--format", "json", directory=directory)
    assert result.exit_code == 0, result.output
    return [(o["op"], o.get("partition") or o.get("alias") or "") for o in json.loads(result.stdout)["operations"]]


# --- item 4: aliases of many collections at once ----------------------------------------------------


def test_many_collections_each_with_an_alias_go_up_and_down(backend, cli, tmp_path):
    # Milvus Lite failed concurrent create_alias/drop_alias at random ("[Errno 2] No such file or directory").
    collections = {
        f"c{i}": {"fields": [PK, VEC], "indexes": [VEC_INDEX], "aliases": [f"c{i}_live"]} for i in range(8)
    }
    directory = _write(tmp_path / "m", {"collections": collections})

    up = cli("up", directory=directory)

    assert up.exit_code == 0, up.output
    assert {name: backend.aliases(name) for name in collections} == {name: [f"{name}_live"] for name in collections}
    assert _ops(cli, directory) == []

    down = cli("down", "--allow-data-loss", directory=directory)

    assert down.exit_code == 0, down.output
    assert backend.collections() == []


# --- item 11: names someone else holds --------------------------------------------------------------


def test_names_held_by_aliases_of_unmanaged_collections_are_refused_before_anything_runs(backend, cli, tmp_path):
    client = backend.client()
    _by_hand(client, "theirs")
    client.create_alias("theirs", "docs_live")
    client.create_alias("theirs", "notes")
    _by_hand(client, "docs_next")
    directory = _write(
        tmp_path / "m",
        {
            "collections": {
                "docs": {"fields": [PK, VEC], "indexes": [VEC_INDEX], "aliases": ["docs_live", "docs_next"]},
                "notes": {"fields": [PK, VEC], "indexes": [VEC_INDEX]},
            }
        },
    )

    for command in ("plan", "up"):
        result = cli(command, directory=directory)

        assert result.exit_code == 1, (command, result.output)
        assert "alias docs_live (declared for docs) already points at collection theirs" in result.stderr, result.stderr
        assert "collection notes cannot be created: notes is an alias of collection theirs" in result.stderr
        assert "alias docs_next (declared for docs) is the name of collection docs_next" in result.stderr
        assert "Traceback" not in result.output
        assert backend.collections() == ["docs_next", "theirs"]  # nothing created, no history
        assert backend.aliases("theirs") == ["docs_live", "notes"]  # and the aliases stay where they were


# --- items 7 and 13: build-time rejections refused at plan time --------------------------------------


def test_sparse_algorithm_lite_cannot_build_is_refused_before_anything_is_created(backend, cli, tmp_path):
    if not backend.is_lite:
        pytest.skip(reason="Milvus 2.3.5 has no sparse vectors at all (refused separately)")
    sparse_index = {"field_name": "sparse", "index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP",
                    "params": {"inverted_index_algo": "DAAT_WAND"}}  # fmt: skip
    declaration = {"fields": [PK, VEC, {"name": "sparse", "type": "SPARSE_FLOAT_VECTOR"}], "indexes": [VEC_INDEX, sparse_index]}
    directory = _write(tmp_path / "m", {"collections": {"docs": declaration}})

    for command in ("plan", "up"):
        result = cli(command, directory=directory)

        assert result.exit_code == 1, (command, result.output)
        assert (
            "docs.sparse: inverted_index_algo DAAT_WAND on SPARSE_INVERTED_INDEX is not supported by Milvus Lite 3.2.2 "
            "(supported: TAAT_NAIVE)"
        ) in result.stderr, result.stderr
        assert backend.collections() == []

    sparse_index["params"]["inverted_index_algo"] = "TAAT_NAIVE"
    fixed = cli("up", directory=_write(tmp_path / "fixed", {"collections": {"docs": declaration}}))
    assert fixed.exit_code == 0, fixed.output


@pytest.mark.parametrize(
    ("index", "missing"),
    [
        ({"index_type": "HNSW", "metric_type": "L2"}, "M, efConstruction"),
        ({"index_type": "IVF_FLAT", "metric_type": "L2"}, "nlist"),
        ({"index_type": "IVF_SQ8", "metric_type": "L2", "params": {}}, "nlist"),
    ],
)
def test_index_without_params_2_3_requires_is_refused_there_and_built_elsewhere(backend, cli, tmp_path, index, missing):
    declaration = {"fields": [PK, VEC], "indexes": [{"field_name": "vec", **index}], "load": True}
    directory = _write(tmp_path / "m", {"collections": {"docs": declaration}})

    result = cli("up", directory=directory)

    if backend.is_lite:  # Milvus Lite defaults the build params
        assert result.exit_code == 0, result.output
        assert _ops(cli, directory) == []
        return
    assert result.exit_code == 1, result.output
    assert f"docs.vec: {index['index_type']} index needs {missing} in params on Milvus 2.3.5" in result.stderr, result.stderr
    assert backend.collections() == []


def test_vector_index_without_metric_type_is_built_with_the_default_metric(backend, cli, tmp_path):
    # Validation will require metric_type; a state built by other means must still never reach Milvus without one.
    from milvus_migrate.planning import planner
    from milvus_migrate.planning.capabilities import from_version
    from milvus_migrate.planning.state import (
        CollectionState,
        FieldState,
        IndexState,
        State,
    )

    docs = CollectionState(
        name="docs",
        fields=(FieldState(name="id", type="INT64", is_primary=True), FieldState(name="vec", type="FLOAT_VECTOR", dim=8)),
        indexes=(IndexState(field_name="vec", index_name="vec", index_type="FLAT"),),
    )
    client = backend.client()
    caps = from_version(str(client.get_server_version()))
    (create_collection, create_index) = planner.plan(State(collections={"docs": docs}), State(), caps).ops

    assert create_index.index.metric_type == "COSINE"
    # What the executor would send, sent by hand: Milvus accepts it.
    _by_hand(client, "docs", index=False)
    params = client.prepare_index_params()
    params.add_index(field_name="vec", index_type="FLAT", metric_type=create_index.index.metric_type)
    client.create_index("docs", params)
    assert client.describe_index("docs", "vec")["metric_type"] == "COSINE"


# --- item 14: release only what a partition drop needs ------------------------------------------------


def _partitioned(client: Any, partitions: list[str]) -> None:
    _by_hand(client, "docs")
    for p in partitions:
        client.create_partition("docs", p)
    client.insert("docs", [{"id": i, "vec": [0.1 * i] * 8} for i in range(4)], partition_name=partitions[0])


def _load_states(client: Any) -> dict[str, str]:
    return {p: client.get_load_state("docs", partition_name=p)["state"].name for p in client.list_partitions("docs")}


def test_dropping_a_partition_that_is_not_loaded_leaves_the_others_loaded(backend, cli, tmp_path):
    if backend.is_lite:
        pytest.skip(reason="Milvus Lite has no partition-level load and drops loaded partitions directly")
    client = backend.client()
    _partitioned(client, ["p1"])
    client.load_partitions("docs", ["_default", "p1"])
    client.create_partition("docs", "by_hand")  # created after a partition-level load: not loaded (2.3.5)
    declaration = {"fields": [PK, VEC], "partitions": ["p1"], "indexes": [VEC_INDEX], "load": {"partitions": ["_default", "p1"]}}
    directory = _write(tmp_path / "m", {"collections": {"docs": declaration}})

    assert _ops(cli, directory) == [("drop_partition", "by_hand")]
    up = cli("up", "--allow-data-loss", directory=directory)

    assert up.exit_code == 0, up.output
    assert _load_states(client) == {"_default": "Loaded", "p1": "Loaded"}


def test_dropping_a_loaded_partition_releases_only_that_partition(backend, cli, tmp_path):
    if backend.is_lite:
        pytest.skip(reason="Milvus Lite has no partition-level load and drops loaded partitions directly")
    client = backend.client()
    _partitioned(client, ["p1"])
    client.load_collection("docs")
    client.create_partition("docs", "by_hand")  # created after a full load: loaded too, so 2.3.5 refuses to drop it
    declaration = {"fields": [PK, VEC], "partitions": ["p1"], "indexes": [VEC_INDEX], "load": True}
    directory = _write(tmp_path / "m", {"collections": {"docs": declaration}})

    assert _ops(cli, directory) == [("release_partitions", ""), ("drop_partition", "by_hand")]
    up = cli("up", "--allow-data-loss", directory=directory)

    assert up.exit_code == 0, up.output
    assert _load_states(client) == {"_default": "Loaded", "p1": "Loaded"}
    assert _ops(cli, directory) == []

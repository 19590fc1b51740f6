"""Adopting an existing deployment: collections made by hand with pymilvus → inspect → validate → stamp → empty plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from milvus_migrate.cli import main

pytestmark = pytest.mark.integration


def _build_by_hand(client, backend) -> list[str]:
    """Real-world shapes, created the way the pymilvus docs show; returns the collection names."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    names = []
    # auto_id primary key, dynamic field, HNSW index given in the documented flat form, an alias.
    schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=8)
    schema.add_field("title", DataType.VARCHAR, max_length=256)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="embedding", index_type="HNSW", metric_type="COSINE", params={"M": 8, "efConstruction": 64})
    client.create_collection("articles", schema=schema, index_params=index_params, properties={"collection.ttl.seconds": 86400})
    client.create_alias("articles", "articles_live")
    names.append("articles")

    # VARCHAR primary key and a partition key (multi-tenant).
    schema = MilvusClient.create_schema()
    schema.add_field("doc_id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("tenant", DataType.VARCHAR, max_length=32, is_partition_key=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("score", DataType.FLOAT, default_value=0.5)
    client.create_collection("tenants", schema=schema, num_partitions=16)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="vec", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 16})
    client.create_index("tenants", index_params)
    names.append("tenants")

    # Hand-made partitions, an unindexed collection left unloaded.
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
    client.create_collection("events", schema=schema)
    client.create_partition("events", "p2025")
    client.create_partition("events", "p2026")
    names.append("events")

    if backend.is_lite:
        # BM25 full text search and several vector fields: Milvus 2.3 has neither.
        schema = MilvusClient.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=1000, enable_analyzer=True)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=4)
        schema.add_field("dense2", DataType.FLOAT_VECTOR, dim=6)
        schema.add_function(Function(name="text_bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]))
        index_params = client.prepare_index_params()
        index_params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        index_params.add_index(field_name="dense", index_type="FLAT", metric_type="IP")
        index_params.add_index(field_name="dense2", index_type="FLAT", metric_type="L2")
        client.create_collection("hybrid", schema=schema, index_params=index_params)
        names.append("hybrid")
    return sorted(names)


def test_inspect_stamp_then_plan_shows_nothing_to_do(backend, cli, tmp_path: Path):
    names = _build_by_hand(backend.client(), backend)
    directory = tmp_path / "migrations"
    baseline = directory / "0001_baseline.yaml"

    written = cli("inspect", "-o", str(baseline), directory=directory)

    assert written.exit_code == 0, written.output
    text = baseline.read_text()
    assert text.startswith("# yaml-language-server: $schema=./milvus-migrate.schema.json\n")
    assert (directory / "milvus-migrate.schema.json").exists()
    assert sorted(yaml.safe_load(text)["collections"]) == names  # not the history or lock collections
    assert "  - {name: id, type: INT64, is_primary: true, auto_id: true}" in text
    validated = CliRunner().invoke(main, ["validate", "--dir", str(directory)])
    assert validated.exit_code == 0, validated.output + text
    assert cli("stamp", "1", directory=directory).exit_code == 0
    planned = cli("plan", "--format", "json", "--detailed-exitcode", directory=directory)
    assert planned.exit_code == 0, planned.output + text
    assert json.loads(planned.stdout)["steps"] == []
    assert cli("status", "--check", directory=directory).exit_code == 0


def test_inspect_one_collection_to_stdout_and_never_overwrites(backend, cli, tmp_path: Path):
    _build_by_hand(backend.client(), backend)
    directory = tmp_path / "migrations"
    directory.mkdir()
    existing = directory / "0001_taken.yaml"
    existing.write_text("collections: {}\n")

    printed = cli("inspect", "--collection", "events", directory=directory)
    refused = cli("inspect", "-o", str(existing), directory=directory)
    unknown = cli("inspect", "--collection", "nope", directory=directory)

    assert printed.exit_code == 0 and list(yaml.safe_load(printed.stdout)["collections"]) == ["events"]
    assert "partitions: [p2025, p2026]" in printed.stdout
    assert refused.exit_code == 1 and "never overwrites" in refused.output
    assert existing.read_text() == "collections: {}\n"
    assert unknown.exit_code == 1 and "no collection nope" in unknown.output

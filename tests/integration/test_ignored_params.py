"""Field params Milvus accepts and drops (Dify's max_length on a JSON field) round-trip to an empty plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# Dify's knowledge-base collection (api/core/rag/datasource/vdb/milvus), as a declaration.
DIFY = """
collections:
  dify_kb:
    fields:
      - {name: id, type: INT64, is_primary: true, auto_id: true}
      - {name: metadata, type: JSON, max_length: 65535}
      - {name: page_content, type: VARCHAR, max_length: 65535}
      - {name: vector, type: FLOAT_VECTOR, dim: 8}
      - {name: year, type: INT32, dim: 4}
    indexes:
      - {field_name: vector, index_type: HNSW, metric_type: IP, params: {M: 8, efConstruction: 64}}
"""


def _operations(cli, directory: Path) -> list[dict]:
    result = cli("plan", "--format", "json", directory=directory)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["operations"]


def test_ignored_params_apply_and_plan_nothing_afterwards(cli, backend, tmp_migrations):
    directory = tmp_migrations("0001_dify.yaml", DIFY)

    up = cli("up", directory=directory)

    assert up.exit_code == 0, up.output
    assert backend.collections() == ["dify_kb"]

    assert _operations(cli, directory) == []
    assert cli("plan", "--detailed-exitcode", directory=directory).exit_code == 0


def test_a_collection_made_by_hand_the_dify_way_matches_its_declaration(cli, backend, tmp_migrations):
    from pymilvus import DataType

    client = backend.client()
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
    schema.add_field("metadata", DataType.JSON, max_length=65535)
    schema.add_field("page_content", DataType.VARCHAR, max_length=65535)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    schema.add_field("year", DataType.INT32, dim=4)
    index_params = client.prepare_index_params()
    index_params.add_index("vector", index_type="HNSW", metric_type="IP", params={"params": {"M": 8, "efConstruction": 64}})
    client.create_collection("dify_kb", schema=schema, index_params=index_params)
    backend.release_lite()

    directory = tmp_migrations("0001_dify.yaml", DIFY)

    assert backend.collections() == ["dify_kb"]
    assert _operations(cli, directory) == []

"""A migration set that evolves over three versions and runs on every backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

V1 = """
description: docs collection
collections:
  docs:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 8}
      - {name: title, type: VARCHAR, max_length: 128}
    indexes:
      - {field_name: embedding, index_type: HNSW, metric_type: COSINE, params: {M: 8, efConstruction: 64}}
    load: true
"""
V2 = """
description: partitions, title index, alias, TTL
collections:
  docs:
    properties: {collection.ttl.seconds: 3600}
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 8}
      - {name: title, type: VARCHAR, max_length: 128}
    partitions: [p2025]
    indexes:
      - {field_name: embedding, index_type: HNSW, metric_type: COSINE, params: {M: 8, efConstruction: 64}}
      - {field_name: title, index_type: AUTOINDEX}
    load: true
    aliases: [docs_live]
"""
V3 = """
description: notes collection; bigger HNSW graph for docs
collections:
  docs:
    properties: {collection.ttl.seconds: 3600}
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 8}
      - {name: title, type: VARCHAR, max_length: 128}
    partitions: [p2025]
    indexes:
      - {field_name: embedding, index_type: HNSW, metric_type: COSINE, params: {M: 16, efConstruction: 64}}
      - {field_name: title, index_type: AUTOINDEX}
    load: true
    aliases: [docs_live]
  notes:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: vec, type: FLOAT_VECTOR, dim: 4}
    indexes:
      - {field_name: vec, index_type: FLAT, metric_type: L2}
    load: true
"""


@pytest.fixture
def three_versions(tmp_migrations: Callable[..., Path]) -> Path:
    """migrations/ with versions 1-3 of the docs example."""
    return tmp_migrations(
        "0001_create_docs.yaml", V1, "0002_partitions_and_alias.yaml", V2, "0003_add_notes.yaml", V3
    )

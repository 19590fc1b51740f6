"""capabilities: what get_server_version() answered → the facts the planner and executor go by."""

from __future__ import annotations

import pytest

from milvus_migrate.planning import capabilities


@pytest.mark.parametrize(
    "version,backend,label",
    [
        ("milvus_lite-3.2.2", "lite", "Milvus Lite 3.2.2"),
        ("v2.3.5-lite", "server", "Milvus 2.3.5"),
        ("v2.4.9", "server", "Milvus 2.4.9"),
        ("v2.5.4", "server", "Milvus 2.5.4"),
        ("2.6.2", "server", "Milvus 2.6.2"),
        ("master-20260101", "server", "Milvus master-20260101"),  # a dev build counts as the newest
    ],
)
def test_each_answer_gets_its_profile_and_a_label_for_messages(version, backend, label):
    caps = capabilities.from_version(version)
    assert (caps.backend, caps.label) == (backend, label)


def test_features_arrive_with_the_release_that_added_them():
    v23, v24, v25, v261, v262 = (
        capabilities.from_version(v) for v in ("v2.3.5", "v2.4.9", "v2.5.4", "v2.6.1", "v2.6.2")
    )
    assert [c.functions for c in (v23, v24, v25)] == [False, False, True]
    assert [c.nullable for c in (v23, v24, v25)] == [False, False, True]
    assert [c.alter_field for c in (v23, v24, v25)] == [False, False, True]
    assert [c.add_field for c in (v25, v261)] == [False, True]
    assert [c.dynamic_field_property for c in (v261, v262)] == [False, True]
    assert "INT8_VECTOR" not in v25.vector_types and "INT8_VECTOR" in v261.vector_types
    assert v23.max_dense_vector_fields == 1 and not v23.drop_collection_properties


def test_autoindex_is_built_as_what_each_backend_accepts():
    lite, v23, v25 = capabilities.lite(), capabilities.server_2_3(), capabilities.modern_server("v2.5.4")
    assert lite.index_type_for("VARCHAR", "AUTOINDEX") == "INVERTED"
    assert lite.index_type_for("SPARSE_FLOAT_VECTOR", "AUTOINDEX") == "SPARSE_INVERTED_INDEX"
    assert v23.index_type_for("VARCHAR", "AUTOINDEX") == "Trie"
    assert v23.index_type_for("INT64", "AUTOINDEX") == "STL_SORT"
    assert v25.index_type_for("VARCHAR", "AUTOINDEX") == "AUTOINDEX"
    assert v23.index_type_for("FLOAT_VECTOR", "HNSW") == "HNSW"  # a declared type is built as declared


def test_lite_forgets_what_it_does_not_keep_and_the_server_keeps_it():
    lite, v23 = capabilities.lite(), capabilities.server_2_3()
    kept = ("keeps_descriptions", "keeps_consistency_level", "keeps_num_shards", "keeps_index_names", "keeps_load_state")
    assert [getattr(lite, k) for k in kept] == [False] * len(kept)
    assert [getattr(v23, k) for k in kept] == [True] * len(kept)
    assert not lite.concurrent_alias_ops and v23.concurrent_alias_ops
    assert not lite.reports_flat_index_params and v23.reports_flat_index_params


def test_a_vector_index_without_a_metric_gets_the_default_of_newer_milvus():
    caps = capabilities.server_2_3()
    assert [caps.default_metric_for(t) for t in ("FLOAT_VECTOR", "BINARY_VECTOR", "SPARSE_FLOAT_VECTOR", "INT64")] == [
        "COSINE", "HAMMING", "IP", None,
    ]  # fmt: skip

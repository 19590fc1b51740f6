"""introspect's normalisation of raw describe_* answers (pure functions; the reads themselves are integration-tested)."""

from __future__ import annotations

from milvus_migrate.milvus import introspect
from milvus_migrate.planning import capabilities
from milvus_migrate.planning.state import FieldState

FIELDS = (FieldState(name="v", type="FLOAT_VECTOR", dim=8),)
# describe_index of IVF_FLAT built with add_index(..., params={"nlist": 1024}) (measured, both backends).
LITE_FLAT_FORM = {"index_type": "IVF_FLAT", "metric_type": "L2", "field_name": "v", "index_name": "v", "total_rows": 0,
                  "indexed_rows": 0, "pending_index_rows": 0, "state": "Finished"}  # fmt: skip
SERVER_FLAT_FORM = {"nlist": "1024", "metric_type": "L2", "index_type": "IVF_FLAT", "field_name": "v", "index_name": "v"}


def test_index_params_lite_does_not_report_are_unknown():
    # Issue 8 item 6: Lite drops flat-form build params, so "none reported" means "unknown", not "none".
    assert introspect._index(LITE_FLAT_FORM, FIELDS, capabilities.lite()).params is None


def test_index_params_lite_reports_in_the_nested_form_are_read():
    info = {**LITE_FLAT_FORM, "params": {"nlist": 1024}}
    assert introspect._index(info, FIELDS, capabilities.lite()).params == {"nlist": 1024}


def test_index_params_a_server_reports_are_read_and_none_means_none():
    assert introspect._index(SERVER_FLAT_FORM, FIELDS, capabilities.server_2_3()).params == {"nlist": 1024}
    no_params = {k: v for k, v in SERVER_FLAT_FORM.items() if k != "nlist"}
    assert introspect._index(no_params, FIELDS, capabilities.server_2_3()).params == {}

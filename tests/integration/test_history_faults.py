"""A history that does not match the files: status explains it, up/down refuse with a way out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_recorded_version_whose_file_is_gone_is_refused_with_a_way_out(cli, backend, three_versions):
    assert cli("up", directory=three_versions).exit_code == 0
    (three_versions / "0003_add_notes.yaml").unlink()

    up = cli("up", directory=three_versions)
    down = cli("down", directory=three_versions)
    status = cli("status", "--check", "--format", "json", directory=three_versions)

    for refused in (up, down):
        assert refused.exit_code == 1
        assert "applied versions whose files are missing" in refused.stderr and "0003_add_notes" in refused.stderr
        assert "milvus-migrate stamp VERSION" in refused.stderr
    assert status.exit_code == 2
    problems = json.loads(status.stdout)["problems"]
    assert any("no migration file has that version" in p for p in problems)
    assert backend.collections() == ["docs", "notes"]  # nothing was guessed or dropped


def test_missing_history_with_existing_collections_is_explained(cli, backend, three_versions):
    assert cli("up", "--to", "1", directory=three_versions).exit_code == 0
    backend.client().drop_collection(backend.history)

    status = cli("status", "--format", "json", directory=three_versions)

    body = json.loads(status.stdout)
    assert body["current_version"] == 0
    assert body["problems"] == [
        "no history, but 1 declared collection(s) exist (docs); if they match a version, adopt it with "
        "'milvus-migrate stamp VERSION'"
    ]


def test_half_created_history_collection_is_completed(cli, backend, three_versions):
    """A run that died right after creating the history collection (no index, not loaded) is no obstacle."""
    from pymilvus import DataType

    client = backend.client()
    schema = client.create_schema()
    schema.add_field("seq", DataType.INT64, is_primary=True)
    for name in ("version", "current_version", "duration_ms"):
        schema.add_field(name, DataType.INT64)
    for name, length in (("name", 1024), ("checksum", 64), ("direction", 16), ("applied_at", 64), ("applied_by", 1024), ("tool_version", 64)):
        schema.add_field(name, DataType.VARCHAR, max_length=length)
    schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(backend.history, schema=schema)

    assert cli("up", directory=three_versions).exit_code == 0
    assert json.loads(cli("status", "--format", "json", directory=three_versions).stdout)["current_version"] == 3


def test_a_foreign_collection_under_the_history_name_is_refused(cli, backend, three_versions):
    from pymilvus import DataType

    client = backend.client()
    schema = client.create_schema()
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(backend.history, schema=schema)
    client.create_index(backend.history, client.prepare_index_params("v", index_type="FLAT", metric_type="L2"))
    client.insert(backend.history, [{"pk": 1, "v": [0.0, 0.0]}])

    result = cli("up", directory=three_versions)

    assert result.exit_code == 1
    assert f"the history collection '{backend.history}' does not hold milvus-migrate records" in result.stderr
    assert "--history-collection" in result.stderr
    assert backend.collections() == []


def test_directories_left_by_a_killed_lite_run_do_not_block_the_rerun(cli, backend, three_versions):
    """Milvus Lite makes a collection's directory before recording it; a run killed in between left one."""
    if not backend.is_lite:
        pytest.skip(reason="only Milvus Lite keeps collections as directories of a local file")
    assert cli("status", directory=three_versions).exit_code == 0  # creates the .db
    backend.release_lite()
    for name in ("docs", backend.history):
        (Path(backend.uri) / "collections" / name).mkdir(parents=True)

    result = cli("up", directory=three_versions)

    assert result.exit_code == 0, result.output
    assert backend.collections() == ["docs", "notes"]
    assert [r["version"] for r in json.loads(cli("history", "--format", "json", directory=three_versions).stdout)] == [1, 2, 3]

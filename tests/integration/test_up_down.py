"""up / down / plan / status / history / stamp / repair end to end, on Milvus Lite and the 2.3.5 server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.helpers import create_unmanaged

pytestmark = pytest.mark.integration


def _history(cli, d: Path) -> list[dict]:
    result = cli("history", "--format", "json", directory=d)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _index(client, collection: str, field: str) -> dict:
    for name in client.list_indexes(collection):
        info = client.describe_index(collection, name)
        if info["field_name"] == field:
            return info
    raise AssertionError(f"no index on {collection}.{field}")


def test_up_from_empty_builds_the_declared_state(cli, backend, three_versions):
    result = cli("up", directory=three_versions)

    assert result.exit_code == 0, result.output
    assert "The database is now at version 3." in result.stdout
    client = backend.client()
    assert backend.collections() == ["docs", "notes"]
    docs = client.describe_collection("docs")
    assert [(f["name"], f["type"].name) for f in docs["fields"]] == [
        ("id", "INT64"), ("embedding", "FLOAT_VECTOR"), ("title", "VARCHAR"),
    ]  # fmt: skip
    assert docs["properties"]["collection.ttl.seconds"] == "3600"
    assert sorted(client.list_partitions("docs")) == ["_default", "p2025"]
    embedding = _index(client, "docs", "embedding")
    assert (embedding["index_type"], embedding["metric_type"]) == ("HNSW", "COSINE")
    params = {**{k: v for k, v in embedding.items() if k in ("M", "efConstruction")}, **embedding.get("params", {})}
    assert {k: int(v) for k, v in params.items()} == {"M": 16, "efConstruction": 64}
    title = _index(client, "docs", "title")
    assert title["index_type"] == ("INVERTED" if backend.is_lite else "Trie")
    assert backend.aliases("docs") == ["docs_live"]
    if not backend.is_lite:  # Milvus Lite forgets load state outside the process that loaded
        assert client.get_load_state("docs")["state"].name == "Loaded"
        assert client.get_load_state("notes")["state"].name == "Loaded"
    records = _history(cli, three_versions)
    assert [(r["version"], r["direction"], r["current_version"]) for r in records] == [
        (1, "up", 1), (2, "up", 2), (3, "up", 3),
    ]  # fmt: skip
    assert all(len(r["checksum"]) == 64 and "@" in r["applied_by"] for r in records)


def test_rerun_has_nothing_to_do_and_plans_no_change(cli, three_versions):
    assert cli("up", directory=three_versions).exit_code == 0

    again = cli("up", directory=three_versions)
    plan = cli("plan", "--detailed-exitcode", directory=three_versions)

    assert again.exit_code == 0 and "Nothing to do: the database is at version 3." in again.stdout
    assert plan.exit_code == 0, plan.output
    assert "No changes: Milvus already matches version 3" in plan.stdout


def test_up_one_version_at_a_time(cli, backend, three_versions):
    assert cli("up", "--to", "1", directory=three_versions).exit_code == 0
    assert backend.collections() == ["docs"]
    assert backend.client().list_partitions("docs") == ["_default"]

    plan = cli("plan", "--format", "json", "--detailed-exitcode", directory=three_versions)
    assert plan.exit_code == 2
    body = json.loads(plan.stdout)
    assert (body["current_version"], body["target_version"], body["destructive"]) == (1, 3, 0)
    ops = [(o["op"], o["collection"]) for o in body["operations"]]
    assert ("create_collection", "notes") in ops and ("create_partition", "docs") in ops

    assert cli("up", "--to", "2", directory=three_versions).exit_code == 0
    assert backend.aliases("docs") == ["docs_live"]
    assert backend.collections() == ["docs"]
    assert cli("up", directory=three_versions).exit_code == 0
    assert backend.collections() == ["docs", "notes"]
    assert [r["current_version"] for r in _history(cli, three_versions)] == [1, 2, 3]


def test_down_refuses_data_loss_and_touches_nothing(cli, backend, three_versions):
    assert cli("up", directory=three_versions).exit_code == 0
    backend.client().insert("notes", [{"id": i, "vec": [0.1, 0.2, 0.3, 0.4]} for i in range(10)])

    refused = cli("down", directory=three_versions)

    assert refused.exit_code == 1
    assert "drop collection notes" in refused.stderr and "--allow-data-loss" in refused.stderr
    assert backend.collections() == ["docs", "notes"]
    assert [r["current_version"] for r in _history(cli, three_versions)] == [1, 2, 3]


def test_down_one_step_then_to_zero(cli, backend, three_versions):
    assert cli("up", directory=three_versions).exit_code == 0

    one = cli("down", "--allow-data-loss", directory=three_versions)
    assert one.exit_code == 0, one.output
    assert backend.collections() == ["docs"]
    embedding = _index(backend.client(), "docs", "embedding")
    params = {**{k: v for k, v in embedding.items() if k == "M"}, **embedding.get("params", {})}
    assert int(params["M"]) == 8  # version 2's index is back

    zero = cli("down", "--to", "0", "--allow-data-loss", directory=three_versions)
    assert zero.exit_code == 0, zero.output
    assert backend.collections() == []
    records = _history(cli, three_versions)
    assert [(r["version"], r["direction"], r["current_version"]) for r in records][-3:] == [
        (3, "down", 2), (2, "down", 1), (1, "down", 0),
    ]  # fmt: skip


def test_changed_file_is_reported_refused_and_repaired(cli, three_versions):
    assert cli("up", "--to", "2", directory=three_versions).exit_code == 0
    first = three_versions / "0001_create_docs.yaml"
    first.write_text(first.read_text() + "# edited after it was applied\n")

    status = cli("status", "--check", "--format", "json", directory=three_versions)
    refused = cli("up", directory=three_versions)

    assert status.exit_code == 2
    assert [c["file"].endswith("0001_create_docs.yaml") for c in json.loads(status.stdout)["changed_files"]] == [True]
    assert refused.exit_code == 1 and "changed after it was applied" in refused.stderr
    assert "milvus-migrate repair" in refused.stderr

    repaired = cli("repair", directory=three_versions)
    assert repaired.exit_code == 0 and "0001_create_docs" in repaired.stdout
    assert cli("up", directory=three_versions).exit_code == 0
    assert json.loads(cli("status", "--format", "json", directory=three_versions).stdout)["changed_files"] == []


def test_status_check_reports_drift_made_by_hand(cli, backend, three_versions):
    assert cli("up", directory=three_versions).exit_code == 0
    assert cli("status", "--check", directory=three_versions).exit_code == 0
    client = backend.client()
    client.release_collection("notes")
    client.drop_index("notes", "vec")

    status = cli("status", "--check", "--format", "json", directory=three_versions)

    assert status.exit_code == 2
    drift = json.loads(status.stdout)["drift"]
    assert {"op": "create_index", "collection": "notes"}.items() <= drift[0].items()

    repaired = cli("up", directory=three_versions)
    assert repaired.exit_code == 0, repaired.output
    assert "re-applied (drift repaired)" in repaired.stdout
    assert cli("status", "--check", directory=three_versions).exit_code == 0
    assert _history(cli, three_versions)[-1]["direction"] == "reconcile"
    assert backend.client().list_indexes("notes") == ["vec"]


def test_stamp_adopts_an_existing_deployment(cli, backend, three_versions):
    assert cli("up", "--to", "1", directory=three_versions).exit_code == 0
    client = backend.client()
    # Forget the history: the database now looks like a deployment made by hand at version 1.
    client.drop_collection(backend.history)

    stamped = cli("stamp", "1", directory=three_versions)
    plan = cli("plan", "--format", "json", directory=three_versions)

    assert stamped.exit_code == 0, stamped.output
    assert json.loads(plan.stdout)["current_version"] == 1
    records = _history(cli, three_versions)
    assert [(r["version"], r["direction"]) for r in records] == [(1, "stamp")]


def test_unmanaged_collections_are_reported_and_never_touched(cli, backend, three_versions):
    client = backend.client()
    create_unmanaged(client, "someone_elses")

    assert cli("up", directory=three_versions).exit_code == 0
    status = json.loads(cli("status", "--format", "json", directory=three_versions).stdout)
    assert cli("down", "--to", "0", "--allow-data-loss", directory=three_versions).exit_code == 0

    assert status["unmanaged_collections"] == ["someone_elses"]
    assert backend.collections() == ["someone_elses"]


def test_invalid_files_touch_nothing(cli, backend, tmp_migrations):
    directory = tmp_migrations(
        "0001_bad.yaml",
        """
        collections:
          docs:
            fields:
              - {name: id, type: INT64, is_primary: true}
              - {name: v, type: FLOAT_VECTOR, dimm: 8}
        """,
    )

    result = cli("up", directory=directory)

    assert result.exit_code == 1
    assert "0001_bad.yaml:5:39: unknown key 'dimm' (did you mean 'dim'?)" in result.stderr
    assert backend.client().list_collections() == []

"""A version that copied a collection is reverted by switching back to its backup, when no rows were written since."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_evolution import (
    FIELDS_V1,
    IN_P1,
    ROWS,
    V1,
    fill,
    row,
    rows_by_partition,
    v2,
)

pytestmark = pytest.mark.integration

OLD_FIELDS = ["id", "embedding", "title", "year", "legacy", "color"]
V2_FIELDS = FIELDS_V1 + "      - {name: rank, type: INT64, default_value: 7}\n"


def _up_with_a_copy(cli, backend, tmp_migrations):
    """Version 1 holding rows, then version 2 adding a field with a default: `up` copies docs."""
    d = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=d).exit_code == 0
    fill(backend.client())
    tmp_migrations("0002_evolve.yaml", v2(V2_FIELDS))
    result = cli("up", directory=d)
    assert result.exit_code == 0, result.output
    return d


def _ops(result) -> list[str]:
    return [op["op"] for step in json.loads(result.stdout)["steps"] for op in step["ran"]]


def _count(backend, name: str = "docs") -> int:
    client = backend.client()
    if backend.is_lite:
        client.load_collection(name)  # Lite loses the load state on rename
    return client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]


def test_down_switches_back_to_the_backup_and_up_switches_forward_again(cli, backend, tmp_migrations):
    d = _up_with_a_copy(cli, backend, tmp_migrations)

    plan = json.loads(cli("plan", "--down", "--format", "json", directory=d).stdout)
    assert "copy_rows" not in [o["op"] for o in plan["operations"]]
    assert plan["destructive"] == 0  # rank's values are kept, in the backup of version 2
    first = next(o for o in plan["operations"] if o["op"] == "rename_collection")
    assert (first["collection"], first["new_name"]) == ("docs__mm_backup_v1", "docs__mm_switch_v1")
    assert first["expect_rows"]["rows"] == ROWS and "docs took no writes since it replaced" in first["reason"]

    down = cli("down", "--format", "json", directory=d)  # no --allow-data-loss: nothing is lost

    assert down.exit_code == 0, down.output
    assert "copy_rows" not in _ops(down) and json.loads(down.stdout)["steps"][0]["rows_copied"] == {}
    assert backend.collections() == ["docs", "docs__mm_backup_v2"]
    client = backend.client()
    assert [f["name"] for f in client.describe_collection("docs")["fields"]] == ["id", "embedding", "title", "year", "legacy"]
    after = rows_by_partition(client, "docs", OLD_FIELDS, backend.is_lite)
    assert {p: len(rows) for p, rows in after.items()} == {"p1": IN_P1, "_default": ROWS - IN_P1}
    for i in (0, 7, IN_P1, ROWS - 1):
        got = after["p1" if i < IN_P1 else "_default"][row(i)["id"]]
        assert (got["title"], got["legacy"], got.get("color")) == (row(i)["title"], row(i)["legacy"], row(i).get("color"))
    assert backend.aliases("docs") == ["docs_live"]
    hits = client.search("docs_live", data=[row(7)["embedding"]], limit=1, search_params={"params": {"nprobe": 16}}, output_fields=["title"])
    assert hits[0][0]["entity"]["title"] == "doc 7"
    assert cli("plan", "--to", "1", "--detailed-exitcode", directory=d).exit_code == 0
    client.insert("docs", [row(ROWS)])  # writes reach the switched collection (2.3.5 once crashed here)
    client.delete("docs", ids=[row(ROWS)["id"]])

    up = cli("up", "--format", "json", directory=d)  # version 2's collection is a backup now: it takes the name back

    assert up.exit_code == 0, up.output
    assert "copy_rows" not in _ops(up)
    assert backend.collections() == ["docs", "docs__mm_backup_v1"]
    client = backend.client()
    if backend.is_lite:
        client.load_collection("docs")
    assert client.query("docs", filter=f"id == {row(7)['id']}", output_fields=["rank"])[0]["rank"] == 7
    client.insert("docs", [{**row(ROWS), "rank": 9}])
    assert _count(backend) == ROWS + 1
    assert backend.aliases("docs") == ["docs_live"]
    assert cli("plan", "--detailed-exitcode", directory=d).exit_code == 0
    history = json.loads(cli("history", "--format", "json", directory=d).stdout)
    assert [(r["version"], r["direction"]) for r in history] == [(1, "up"), (2, "up"), (2, "down"), (2, "up")]


def test_down_copies_back_when_rows_were_written_since_the_switch(cli, backend, tmp_migrations):
    d = _up_with_a_copy(cli, backend, tmp_migrations)
    client = backend.client()
    # Writes after the switch: one row replaced by another. (Milvus 2.3.5 crashed on such an insert until
    # the executor cleared the name's stale schema before the rename; docs/evolution.md.)
    client.delete("docs", ids=[row(0)["id"]])
    client.insert("docs", [{**row(ROWS), "rank": 9}], partition_name="p1")
    client.flush("docs")

    plan = cli("plan", "--down", directory=d)
    assert "not switched back to docs__mm_backup_v1: docs took writes since it replaced it (other primary keys)" in plan.output
    refused = cli("down", directory=d)
    assert refused.exit_code == 1 and "values of field rank" in refused.output

    down = cli("down", "--allow-data-loss", "--format", "json", directory=d)

    assert down.exit_code == 0, down.output
    assert "copy_rows" in _ops(down)
    assert backend.collections() == ["docs", "docs__mm_backup_v1", "docs__mm_backup_v2"]
    ids = {r["id"] for r in rows_by_partition(backend.client(), "docs", ["id"], backend.is_lite)["p1"].values()}
    assert row(ROWS)["id"] in ids and row(0)["id"] not in ids  # the writes after the switch are kept
    assert _count(backend) == ROWS


def test_a_saved_switch_back_is_refused_once_rows_were_written_after_the_review(cli, backend, tmp_migrations, tmp_path):
    d = _up_with_a_copy(cli, backend, tmp_migrations)
    saved = tmp_path / "down.json"
    assert cli("plan", "--down", "--out", str(saved), directory=d).exit_code == 0
    client = backend.client()
    client.delete("docs", ids=[row(0)["id"]])
    client.flush("docs")

    refused = cli("down", "--plan", str(saved), directory=d)

    assert refused.exit_code == 1 and "the plan is stale" in refused.output
    assert backend.collections() == ["docs", "docs__mm_backup_v1"]  # nothing switched

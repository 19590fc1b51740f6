"""Changes Milvus cannot make in place keep every row: `up` copies into a shadow and switches, on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROWS, IN_P1 = 2000, 1200

V1 = """
description: docs with rows
collections:
  docs:
    enable_dynamic_field: true
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 8}
      - {name: title, type: VARCHAR, max_length: 64}
      - {name: year, type: INT32}
      - {name: legacy, type: INT64}
    partitions: [p1]
    indexes:
      - {field_name: embedding, index_type: IVF_FLAT, metric_type: L2, params: {nlist: 16}}
    load: true
    aliases: [docs_live]
"""

FIELDS_V1 = """      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 8}
      - {name: title, type: VARCHAR, max_length: 64}
      - {name: year, type: INT32}
      - {name: legacy, type: INT64}
"""

# change -> (the fields of version 2, the new field and the value existing rows get, needs --allow-data-loss)
CHANGES: dict[str, tuple[str, tuple[str, Any] | None, bool]] = {
    "add-field-with-default": (FIELDS_V1 + "      - {name: score, type: DOUBLE, default_value: 1.5}\n", ("score", 1.5), False),
    "add-nullable-field": (FIELDS_V1 + "      - {name: note, type: VARCHAR, max_length: 32, nullable: true}\n", ("note", None), False),
    "widen-varchar": (FIELDS_V1.replace("max_length: 64", "max_length: 512"), None, False),
    "retype-int32-to-int64": (FIELDS_V1.replace("type: INT32", "type: INT64"), None, False),
    "drop-field": (FIELDS_V1.replace("      - {name: legacy, type: INT64}\n", ""), None, True),
}


def v2(fields: str) -> str:
    head, _, tail = V1.partition("    fields:\n")
    rest = tail[tail.index("    partitions:") :]
    return f"{head}    fields:\n{fields}{rest}".replace("description: docs with rows", "description: evolve docs")


def row(i: int) -> dict[str, Any]:
    r: dict[str, Any] = {
        "id": i * 3 + 1,
        "embedding": [i / ROWS] + [((i * 13 + k) % 29) / 29.0 for k in range(7)],  # unique: its own nearest
        "title": f"doc {i}",
        "year": 1980 + i % 40,
        "legacy": -i,
    }
    if i % 2:
        r["color"] = "blue"  # a dynamic key
    return r


def fill(client: Any) -> None:
    rows = [row(i) for i in range(ROWS)]
    client.insert("docs", rows[:IN_P1], partition_name="p1")
    client.insert("docs", rows[IN_P1:])
    client.flush("docs")


def rows_by_partition(client: Any, name: str, fields: list[str], lite: bool) -> dict[str, dict[int, dict[str, Any]]]:
    if lite:
        client.load_collection(name)  # Lite loses the load state on rename
    return {
        p: {r["id"]: r for r in client.query(name, filter="id >= 0", output_fields=fields, partition_names=[p], limit=16384)}
        for p in ("p1", "_default")
    }


@pytest.mark.parametrize("change", CHANGES)
def test_up_keeps_every_row_through_a_copy(cli, backend, tmp_migrations: Callable[..., Path], change):
    fields, added, lossy = CHANGES[change]
    if change == "add-nullable-field" and not backend.is_lite:
        pytest.skip(reason="Milvus 2.3 has no nullable fields")
    d = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=d).exit_code == 0
    client = backend.client()
    fill(client)
    tmp_migrations("0002_evolve.yaml", v2(fields))

    plan = cli("plan", "--format", "json", directory=d)
    body = json.loads(plan.stdout)
    copy_op = next(o for o in body["operations"] if o["op"] == "copy_rows")
    assert copy_op["estimated_rows"] == ROWS and copy_op["target"] == "docs__mm_shadow"
    assert "drop_collection" not in [o["op"] for o in body["operations"]]
    assert body["destructive"] == (1 if lossy else 0)

    result = cli("up", directory=d)
    if lossy:
        assert result.exit_code == 1 and "values of field legacy" in result.output
        assert backend.collections() == ["docs"]  # refused before anything ran
        result = cli("up", "--allow-data-loss", directory=d)
    assert result.exit_code == 0, result.output

    assert backend.collections() == ["docs", "docs__mm_backup_v1"]
    client = backend.client()  # a client opened before the switch may hold the old collection's id
    plan_after = cli("plan", "--detailed-exitcode", directory=d)
    assert plan_after.exit_code == 0, plan_after.output
    assert backend.aliases("docs") == ["docs_live"]
    old_fields = ["id", "embedding", "title", "year", "color"]
    after = rows_by_partition(client, "docs", old_fields + ([added[0]] if added else []), backend.is_lite)
    assert {p: len(rows) for p, rows in after.items()} == {"p1": IN_P1, "_default": ROWS - IN_P1}
    for p, ids in (("p1", range(IN_P1)), ("_default", range(IN_P1, ROWS))):
        for i in ids:
            want, got = row(i), after[p][row(i)["id"]]
            assert got["embedding"] == pytest.approx(want["embedding"], rel=1e-6)
            assert (got["title"], got["year"], got.get("color")) == (want["title"], want["year"], want.get("color"))
            if added:
                assert got[added[0]] == added[1]
    # The alias reads the copy; the same nearest neighbour is found through it.
    probe = row(7)["embedding"]
    hits = client.search("docs_live", data=[probe], limit=1, search_params={"params": {"nprobe": 16}}, output_fields=["title"])
    assert hits[0][0]["entity"]["title"] == "doc 7"
    history = json.loads(cli("history", "--format", "json", directory=d).stdout)
    assert [(r["version"], r["direction"]) for r in history] == [(1, "up"), (2, "up")]
    status = json.loads(cli("status", "--format", "json", directory=d).stdout)
    assert status["unmanaged_collections"] == []
    assert status["copies"] == [{"collection": "docs__mm_backup_v1", "of": "docs", "version": 1}]


def test_change_without_a_row_mapping_is_still_refused_and_touches_nothing(cli, backend, tmp_migrations):
    d = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=d).exit_code == 0
    fill(backend.client())
    tmp_migrations("0002_evolve.yaml", v2(FIELDS_V1.replace("dim: 8", "dim: 16")))

    result = cli("up", directory=d)

    assert result.exit_code == 1 and "drop collection docs (ALL ITS DATA: 2,000 rows)" in result.output
    assert backend.collections() == ["docs"]
    assert backend.client().describe_collection("docs")["fields"][1]["params"]["dim"] == 8


def test_empty_collection_is_recreated_without_a_flag(cli, backend, tmp_migrations):
    d = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=d).exit_code == 0
    tmp_migrations("0002_evolve.yaml", v2(FIELDS_V1.replace("dim: 8", "dim: 16")))

    result = cli("up", directory=d)

    assert result.exit_code == 0, result.output
    assert backend.collections() == ["docs"]
    assert backend.client().describe_collection("docs")["fields"][1]["params"]["dim"] == 16
    assert backend.aliases("docs") == ["docs_live"]

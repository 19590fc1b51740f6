"""Changes Milvus cannot make in place keep every row: `up` copies into a shadow and switches, on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import at

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

    result = cli("up", "--format", "json", directory=d)
    if lossy:
        assert result.exit_code == 1 and "values of field legacy" in result.output
        assert backend.collections() == ["docs"]  # refused before anything ran
        result = cli("up", "--format", "json", "--allow-data-loss", directory=d)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"][0]["rows_copied"] == {"docs": ROWS}  # up --format json reports the rows

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
    assert status["copies"] == [{"collection": "docs__mm_backup_v1", "of": "docs", "version": 1, "kind": "backup"}]


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


def _v2_text(old: str, new: str) -> str:
    assert old in V1
    return V1.replace(old, new).replace("description: docs with rows", "description: evolve docs")


TITLE = "      - {name: title, type: VARCHAR, max_length: 64}\n"
# change -> (version 2, needs --allow-data-loss, the backend it needs or None, rows are routed by a partition key)
COLLECTION_CHANGES: dict[str, tuple[str, bool, str | None, bool]] = {
    "partition-key": (
        _v2_text(TITLE + "      - {name: year, type: INT32}\n      - {name: legacy, type: INT64}\n    partitions: [p1]\n",
                 TITLE.replace("}", ", is_partition_key: true}") + "      - {name: year, type: INT32}\n      - {name: legacy, type: INT64}\n"),
        False, None, True,
    ),
    "dynamic-field-off": (_v2_text("    enable_dynamic_field: true\n", ""), True, None, False),
    "num-shards": (_v2_text("    enable_dynamic_field: true\n", "    enable_dynamic_field: true\n    num_shards: 2\n"), False, "server", False),
    "bm25-function-added": (
        _v2_text(
            TITLE,
            "      - {name: title, type: VARCHAR, max_length: 64, enable_analyzer: true}\n      - {name: sparse, type: SPARSE_FLOAT_VECTOR}\n",
        ).replace(
            "    partitions: [p1]\n",
            "    functions:\n      - {name: title_bm25, type: BM25, input_field_names: [title], output_field_names: [sparse]}\n    partitions: [p1]\n",
        ).replace(
            "    load: true\n", "      - {field_name: sparse, index_type: SPARSE_INVERTED_INDEX, metric_type: BM25}\n    load: true\n"
        ),
        False, "lite", False,
    ),
}  # fmt: skip


@pytest.mark.parametrize("change", COLLECTION_CHANGES)
def test_up_keeps_every_row_through_a_collection_level_copy(cli, backend, tmp_migrations, change):
    text, lossy, only_on, routed = COLLECTION_CHANGES[change]
    if only_on is not None and backend.name != only_on:
        pytest.skip(reason=f"needs {only_on}: Lite ignores num_shards; Milvus 2.3 has no functions")
    d = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=d).exit_code == 0
    fill(backend.client())
    tmp_migrations("0002_evolve.yaml", text)

    result = cli("up", "--allow-data-loss", directory=d) if lossy else cli("up", directory=d)

    assert result.exit_code == 0, result.output
    plan_after = cli("plan", "--detailed-exitcode", directory=d)
    assert plan_after.exit_code == 0, plan_after.output
    client = backend.client()
    if backend.is_lite:
        client.load_collection("docs")
    dynamic = [] if change == "dynamic-field-off" else ["color"]  # the server refuses an unknown output field
    rows = client.query("docs", filter="id >= 0", output_fields=["id", "title", "year", *dynamic], limit=16384)
    assert len(rows) == ROWS
    by_id = {r["id"]: r for r in rows}
    if not routed:
        in_p1 = client.query("docs", filter="id >= 0", output_fields=["id"], partition_names=["p1"], limit=16384)
        assert {r["id"] for r in in_p1} == {row(i)["id"] for i in range(IN_P1)}
    for i in range(ROWS):
        want, got = row(i), by_id[row(i)["id"]]
        assert (got["title"], got["year"]) == (want["title"], want["year"])
        assert got.get("color") == (None if change == "dynamic-field-off" else want.get("color"))
    assert backend.aliases("docs") == ["docs_live"]
    if change == "bm25-function-added":
        # Milvus computed the BM25 outputs of the copied rows: full-text search finds them.
        hits = client.search("docs", data=["doc 7"], anns_field="sparse", limit=1, output_fields=["title"])
        assert hits[0][0]["entity"]["title"] == "doc 7"


def run_until(cli, backend, tmp_migrations, last_op: type, nth: int = 1) -> Path:
    """Version 1 with rows, then version 2's plan run only up to its `nth` `last_op`: a killed `up`."""
    import asyncio

    from milvus_migrate import commands
    from milvus_migrate.config import ConnectionSettings
    from milvus_migrate.milvus import executor
    from milvus_migrate.milvus.connection import connect
    from milvus_migrate.planning import ops

    d = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=d).exit_code == 0
    fill(backend.client())
    tmp_migrations("0002_evolve.yaml", v2(CHANGES["add-field-with-default"][0]))
    settings = ConnectionSettings(uri=backend.uri, db_name=backend.db_name, timeout=60)

    async def die() -> None:
        run = (await commands.make_plan(commands.Options(settings=settings, directory=d))).run
        last = [i for i, op in enumerate(run.ops) if isinstance(op, last_op)][nth - 1]
        async with connect(settings) as session:
            assert (await executor.apply(ops.Plan(ops=run.ops[: last + 1]), session)).ok

    asyncio.run(die())
    return d


def test_up_finishes_a_switch_interrupted_between_the_renames(cli, backend, tmp_migrations):
    from milvus_migrate.planning import ops

    # The run "dies" right after the old collection stepped aside: the name is missing.
    d = run_until(cli, backend, tmp_migrations, ops.RenameCollection)
    assert backend.collections() == ["docs__mm_backup_v1", "docs__mm_shadow"]
    status = cli("status", directory=d)
    assert "Interrupted switch: docs is missing and its copy is docs__mm_shadow" in status.output

    result = cli("up", directory=d)

    assert result.exit_code == 0, result.output
    assert "finished the switch of docs" in result.output
    assert backend.collections() == ["docs", "docs__mm_backup_v1"]
    assert backend.aliases("docs") == ["docs_live"]
    client = backend.client()
    if backend.is_lite:
        client.load_collection("docs")
    assert client.query("docs", filter="", output_fields=["count(*)"])[0]["count(*)"] == ROWS
    assert cli("plan", "--detailed-exitcode", directory=d).exit_code == 0
    assert [r["version"] for r in json.loads(cli("history", "--format", "json", directory=d).stdout)] == [1, 2]


def test_rerun_after_a_copy_interrupted_before_the_switch_starts_it_over(cli, backend, tmp_migrations):
    from milvus_migrate.planning import ops

    d = run_until(cli, backend, tmp_migrations, ops.CopyRows)
    assert backend.collections() == ["docs", "docs__mm_shadow"]
    status = json.loads(cli("status", "--format", "json", directory=d).stdout)
    assert status["copies"] == [{"collection": "docs__mm_shadow", "of": "docs", "version": None, "kind": "shadow"}]

    result = cli("up", directory=d)

    assert result.exit_code == 0, result.output
    assert backend.collections() == ["docs", "docs__mm_backup_v1"]
    client = backend.client()
    if backend.is_lite:
        client.load_collection("docs")
    # The leftover shadow was replaced, not appended to: no row twice.
    assert client.query("docs", filter="", output_fields=["count(*)"])[0]["count(*)"] == ROWS


def test_down_copies_back_and_prune_frees_the_backup_names_for_the_next_up(cli, backend, tmp_migrations):
    d = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=d).exit_code == 0
    fill(backend.client())
    tmp_migrations("0002_evolve.yaml", v2(CHANGES["add-field-with-default"][0]))
    assert cli("up", directory=d).exit_code == 0
    client = backend.client()
    client.delete("docs", ids=[row(0)["id"]])  # a write since the switch: `down` copies back (test_switch_back.py)
    client.flush("docs")

    refused = cli("down", directory=d)  # the score values would be lost
    assert refused.exit_code == 1 and "values of field score" in refused.output
    down = cli("down", "--allow-data-loss", directory=d)
    assert down.exit_code == 0, down.output
    assert backend.collections() == ["docs", "docs__mm_backup_v1", "docs__mm_backup_v2"]
    again = cli("up", directory=d)  # its backup name is taken by the first up's backup
    assert again.exit_code == 1 and "docs__mm_backup_v1 already exists" in again.output
    # Stopped before any row moved: only the empty shadow was made (the next up replaces it).
    assert backend.collections() == ["docs", "docs__mm_backup_v1", "docs__mm_backup_v2", "docs__mm_shadow"]

    listed = cli("prune", "--dry-run", directory=d)
    assert listed.exit_code == 0, listed.output
    assert "Would drop: docs__mm_backup_v1, docs__mm_backup_v2, docs__mm_shadow." in listed.output
    assert cli("prune", directory=d).exit_code == 0
    assert backend.collections() == ["docs"]
    assert cli("up", directory=d).exit_code == 0
    client = backend.client()
    if backend.is_lite:
        client.load_collection("docs")
    assert client.query("docs", filter="", output_fields=["count(*)"])[0]["count(*)"] == ROWS - 1
    assert [f["name"] for f in client.describe_collection("docs")["fields"]][-1] == "score"


def test_up_moves_back_the_aliases_of_a_switch_interrupted_before_its_alias_moves(cli, backend, tmp_migrations):
    from milvus_migrate.planning import ops

    d = run_until(cli, backend, tmp_migrations, ops.RenameCollection, nth=2)
    assert backend.collections() == ["docs", "docs__mm_backup_v1"]
    assert backend.aliases("docs__mm_backup_v1") == ["docs_live"]  # aliases followed the first rename
    shown = cli("plan", "--detailed-exitcode", directory=d)  # the plan shows the alias move up runs first
    assert shown.exit_code == 2 and "up finishes it first): move alias docs_live: docs__mm_backup_v1 → docs" in shown.output

    result = cli("up", directory=d)

    assert result.exit_code == 0, result.output
    assert backend.aliases("docs") == ["docs_live"] and backend.aliases("docs__mm_backup_v1") == []
    assert cli("plan", "--detailed-exitcode", directory=d).exit_code == 0


# Kill points of a copy: events of the executor (`up --events`).
COPY_KILL_POINTS = {
    "during-the-copy": at("progress", "copy_rows", "docs"),
    "during-the-shadow-index-build": at("start", "create_index", "docs__mm_shadow"),
    "between-the-renames": at("done", "rename_collection", "docs"),
    "before-the-alias-moves": at("done", "release_collection", "docs__mm_backup_v1"),
}


@pytest.mark.parametrize("point", list(COPY_KILL_POINTS))
def test_up_killed_during_a_copy_then_rerun_keeps_every_row(cli, backend, tmp_migrations, point):
    from tests.integration.test_crash import _up_killed_at

    d = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=d).exit_code == 0
    fill(backend.client())
    tmp_migrations("0002_evolve.yaml", v2(CHANGES["add-field-with-default"][0]))
    backend.release_lite()  # Lite: let the `up` process open the file

    _, output = _up_killed_at(backend, d, COPY_KILL_POINTS[point])

    assert cli("unlock", directory=d).exit_code == 0
    rerun = cli("up", "--lock-timeout", "5", directory=d)
    assert rerun.exit_code == 0, f"{output}\n--- rerun ---\n{rerun.output}"
    assert backend.collections() == ["docs", "docs__mm_backup_v1"]
    assert backend.aliases("docs") == ["docs_live"]
    client = backend.client()
    after = rows_by_partition(client, "docs", ["id", "score"], backend.is_lite)
    assert {p: len(rows) for p, rows in after.items()} == {"p1": IN_P1, "_default": ROWS - IN_P1}
    assert {r["score"] for rows in after.values() for r in rows.values()} == {1.5}
    assert cli("plan", "--detailed-exitcode", directory=d).exit_code == 0
    assert [r["version"] for r in json.loads(cli("history", "--format", "json", directory=d).stdout)] == [1, 2]

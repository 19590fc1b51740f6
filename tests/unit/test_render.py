"""Plan output as a user reads it: golden text, markdown and JSON; colour only on a TTY."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from milvus_migrate import render
from milvus_migrate.planning import capabilities, runplan
from milvus_migrate.planning.ops import Direction
from milvus_migrate.planning.runplan import RunPlan
from tests.unit.factories import change, collection, hnsw, pk, scalar, state, vec

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"  # regenerate, then review the diff by eye


def _sample_plan() -> RunPlan:
    """Versions 2 and 3 pending on a database at version 1: a destructive change, then a file with no changes."""
    docs = collection("docs", fields=[pk(), vec(dim=8), scalar("title", max_length=64)], indexes=[hnsw("vec")],
                      partitions=["p2025"], load=True, aliases=["docs_live"])  # fmt: skip
    old = collection("old_docs", fields=[pk(), vec(dim=8)], indexes=[hnsw("vec")], load=True)
    notes_live = collection("notes", fields=[pk(), vec(dim=4)], indexes=[hnsw("vec", M=8)], load=True)
    notes_want = change(notes_live, fields=(pk(), vec(dim=16)))
    live = state(old, notes_live)
    v2 = runplan.Version(2, "0002_docs_and_notes", "migrations/0002_docs_and_notes.yaml", "docs; wider notes", "a" * 64,
                         state(docs, notes_want))  # fmt: skip
    v3 = runplan.Version(3, "0003_tidy", "migrations/0003_tidy.yaml", "", "b" * 64, state(docs, notes_want))
    v1 = runplan.Version(1, "0001_init", "migrations/0001_init.yaml", "init", "c" * 64, live)
    return runplan.compute_run([v1, v2, v3], 1, live, capabilities.server_2_3(), direction=Direction.UP)


@pytest.mark.parametrize("fmt,suffix", [("text", "txt"), ("markdown", "md"), ("json", "json")])
def test_plan_renders_as_the_golden_file(fmt, suffix):
    rendered = render.render_plan(_sample_plan(), fmt)
    golden = GOLDEN / f"plan.{suffix}"
    if UPDATE:
        golden.write_text(rendered)
    assert rendered == golden.read_text()


def test_json_plan_has_the_documented_keys():
    body = json.loads(render.render_plan(_sample_plan(), "json"))
    assert list(body)[:7] == ["database", "current_version", "target_version", "direction", "changes", "destructive", "warnings"][:7]
    assert body["destructive"] == 2 and body["changes"] == len(body["operations"])
    drop = next(o for o in body["operations"] if o["op"] == "drop_collection" and o["collection"] == "old_docs")
    assert drop == {"op": "drop_collection", "collection": "old_docs", "destructive": True, "reason": "no longer declared"}


def test_empty_plan_says_nothing_to_do_in_every_format():
    v4 = runplan.Version(4, "0004_x", "migrations/0004_x.yaml", "", "d" * 64, state())
    empty = runplan.compute_run([v4], 4, state(), capabilities.lite(), direction=Direction.UP)
    assert render.render_plan(empty, "text") == "No changes: Milvus already matches version 4 (database default).\n"
    assert "No changes: Milvus already matches version 4." in render.render_plan(empty, "markdown")
    body = json.loads(render.render_plan(empty, "json"))
    assert body["operations"] == [] and body["steps"] == []


def test_each_step_has_a_header_and_an_empty_step_says_it_will_be_recorded():
    text = render.render_plan(_sample_plan(), "text")
    assert "apply 0002_docs_and_notes — docs; wider notes (version 1 → 2)" in text
    assert "apply 0003_tidy (version 2 → 3)\n  no changes to Milvus; will be recorded" in text
    md = render.render_plan(_sample_plan(), "markdown")
    assert "#### Apply `0003_tidy` (version 2 → 3)\n\nNo changes to Milvus; will be recorded." in md


def test_json_steps_carry_version_file_description_and_checksum():
    body = json.loads(render.render_plan(_sample_plan(), "json"))
    assert [(s["version"], s["name"], s["description"], s["checksum"][:1], len(s["operations"])) for s in body["steps"]] == [
        (2, "0002_docs_and_notes", "docs; wider notes", "a", body["changes"]),
        (3, "0003_tidy", "", "b", 0),
    ]
    assert body["operations"] == body["steps"][0]["operations"]


def test_no_python_none_in_any_output():
    desired = state(collection("docs", properties={"collection.ttl.seconds": "0"}))
    v1 = runplan.Version(1, "0001_ttl", "migrations/0001_ttl.yaml", "ttl", "e" * 64, desired)
    run = runplan.compute_run([v1], 0, state(collection("docs")), capabilities.server_2_3(), direction=Direction.UP)
    for fmt in ("text", "markdown", "json"):
        assert "None" not in render.render_plan(run, fmt)
    assert "collection.ttl.seconds: (unset) → 0" in render.render_plan(run, "text")


def test_colour_only_when_asked():
    plain = render.render_plan(_sample_plan(), "text", colour=False)
    coloured = render.render_plan(_sample_plan(), "text", colour=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31m[DESTRUCTIVE]" in coloured

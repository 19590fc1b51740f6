"""Plan output as a user reads it: golden text, markdown and JSON; colour only on a TTY."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from milvus_migrate import capabilities, planner, render
from milvus_migrate.ops import Plan
from tests.unit.factories import change, collection, hnsw, pk, scalar, state, vec

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"  # regenerate, then review the diff by eye


def _sample_plan() -> Plan:
    docs = collection("docs", fields=[pk(), vec(dim=8), scalar("title", max_length=64)], indexes=[hnsw("vec")],
                      partitions=["p2025"], load=True, aliases=["docs_live"])  # fmt: skip
    old = collection("old_docs", fields=[pk(), vec(dim=8)], indexes=[hnsw("vec")], load=True)
    notes_live = collection("notes", fields=[pk(), vec(dim=4)], indexes=[hnsw("vec", M=8)], load=True)
    notes_want = change(notes_live, fields=(pk(), vec(dim=16)))
    live = state(old, notes_live)
    desired = state(docs, notes_want)
    return planner.plan(desired, live, capabilities.server_2_3(), database="default", from_version=1, to_version=3)


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
    empty = planner.plan(state(), state(), capabilities.lite(), to_version=4)
    assert render.render_plan(empty, "text") == "No changes: Milvus already matches version 4 (database default).\n"
    assert "No changes: Milvus already matches version 4." in render.render_plan(empty, "markdown")
    assert json.loads(render.render_plan(empty, "json"))["operations"] == []


def test_colour_only_when_asked():
    plain = render.render_plan(_sample_plan(), "text", colour=False)
    coloured = render.render_plan(_sample_plan(), "text", colour=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31m[DESTRUCTIVE]" in coloured

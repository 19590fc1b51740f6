"""Interrupted switches: which ones `up` finishes first, the state they leave, and how a plan shows them."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest

from milvus_migrate import render
from milvus_migrate.milvus import copy
from milvus_migrate.planning import capabilities, recovery, runplan
from milvus_migrate.planning.ops import Direction
from milvus_migrate.planning.recovery import InterruptedSwitch
from milvus_migrate.planning.state import RowSet, State
from tests.unit.factories import collection, hnsw, pk, scalar, state, vec

DECLARED = {"docs": ("docs_live",), "notes": ()}
BETWEEN_THE_RENAMES = InterruptedSwitch(
    "docs", rename=("docs__mm_shadow", "docs"), check_rows_against="docs__mm_backup_v1",
    alias_moves=(("docs_live", "docs__mm_backup_v1"),),
)  # fmt: skip


def find(existing: list[str], aliases: dict[str, list[str]]) -> list[InterruptedSwitch]:
    wanted = recovery.backups_to_read(existing, DECLARED)
    assert sorted(aliases) == wanted  # the aliases read are exactly those find() looks at
    return recovery.find(existing, DECLARED, aliases)


def test_a_missing_name_with_its_shadow_and_backup_is_a_switch_to_finish():
    existing = ["docs__mm_backup_v1", "docs__mm_shadow", "notes"]
    assert find(existing, {"docs__mm_backup_v1": ["docs_live", "other"]}) == [BETWEEN_THE_RENAMES]  # only declared aliases move


def test_the_backup_holding_the_aliases_is_the_one_the_interrupted_switch_made():
    existing = ["docs__mm_backup_v1", "docs__mm_backup_v2", "docs__mm_shadow"]
    (switch,) = find(existing, {"docs__mm_backup_v1": ["docs_live"], "docs__mm_backup_v2": []})
    assert switch.check_rows_against == "docs__mm_backup_v1"
    (switch,) = find(existing, {"docs__mm_backup_v1": [], "docs__mm_backup_v2": []})
    assert (switch.check_rows_against, switch.alias_moves) == ("docs__mm_backup_v2", ())  # no aliases: the newest backup


def test_aliases_left_on_a_backup_after_both_renames_move_back_without_a_rename():
    (switch,) = find(["docs", "docs__mm_backup_v1"], {"docs__mm_backup_v1": ["docs_live"]})
    assert switch == InterruptedSwitch("docs", alias_moves=(("docs_live", "docs__mm_backup_v1"),))
    assert switch.describe() == "move alias docs_live: docs__mm_backup_v1 → docs"
    assert switch.to_json() == {
        "collection": "docs", "rename": None, "check_rows_against": None,
        "move_aliases": [{"alias": "docs_live", "from": "docs__mm_backup_v1", "to": "docs"}],
    }  # fmt: skip


def test_nothing_to_finish_in_the_ordinary_states():
    assert find(["docs", "docs__mm_backup_v1"], {"docs__mm_backup_v1": []}) == []  # a kept backup
    assert find(["docs", "docs__mm_shadow"], {}) == []  # a copy interrupted before its switch (up starts it over)
    assert find(["docs__mm_backup_v1"], {}) == []  # no name, no shadow: nothing to rename
    assert recovery.backups_to_read(["other__mm_backup_v1", "other__mm_shadow"], DECLARED) == []  # not managed


def test_finished_state_has_the_shadow_under_the_name_and_the_aliases_moved_back():
    shadow = collection("docs__mm_shadow", fields=[pk(), vec(), scalar("score", "DOUBLE", default_value=1.5)],
                        indexes=[hnsw()], load=True, num_rows=2000)  # fmt: skip
    live = State(collections={}, alias_owners={"docs_live": "docs__mm_backup_v1"})
    after = recovery.finished(live, state(shadow), [BETWEEN_THE_RENAMES], capabilities.server_2_3())
    assert after == State(collections={"docs": shadow.model_copy(update={"name": "docs", "aliases": ("docs_live",)})})
    # Milvus Lite: a renamed collection comes back not loaded.
    lite = recovery.finished(live, state(shadow), [BETWEEN_THE_RENAMES], capabilities.lite())
    assert lite.collections["docs"].load is not None and not lite.collections["docs"].load.loaded


def test_a_plan_whose_only_content_is_a_recovery_is_not_empty_and_says_so_in_every_format():
    run = runplan.RunPlan("default", Direction.UP, 2, 2, recovery=(BETWEEN_THE_RENAMES,))
    assert not run.is_empty
    text = render.render_plan(run, "text")
    assert "No changes" not in text
    assert (
        "Recovery (an interrupted switch; up finishes it first): rename collection docs__mm_shadow → docs; "
        "move alias docs_live: docs__mm_backup_v1 → docs" in text
    )
    assert "> - `docs`: rename collection docs__mm_shadow → docs; move alias" in render.render_plan(run, "markdown")
    body = json.loads(render.render_plan(run, "json"))
    assert body["recovery"] == [BETWEEN_THE_RENAMES.to_json()]
    assert body["recovery"][0]["rename"] == ["docs__mm_shadow", "docs"]
    assert dataclasses.replace(run, recovery=()).is_empty


def test_a_switch_back_killed_after_the_name_stepped_aside_gives_the_name_to_the_backup():
    # down from version 2 switches back to the backup of version 1: docs__mm_backup_v1 → docs__mm_switch_v1,
    # docs → docs__mm_backup_v2 (the aliases follow it), then docs__mm_switch_v1 → docs was killed.
    (switch,) = find(["docs__mm_backup_v2", "docs__mm_switch_v1"], {"docs__mm_backup_v2": ["docs_live"]})
    assert switch == InterruptedSwitch(
        "docs", rename=("docs__mm_switch_v1", "docs"), alias_moves=(("docs_live", "docs__mm_backup_v2"),)
    )
    assert switch.check_rows_against is None  # the backup's rows were checked before its first rename


def test_a_switch_back_killed_before_the_name_stepped_aside_puts_the_backup_back():
    (switch,) = find(["docs", "docs__mm_switch_v1"], {})
    assert switch.describe() == "rename collection docs__mm_switch_v1 → docs__mm_backup_v1"
    incoming = collection("docs__mm_switch_v1", indexes=[hnsw()], load=True, num_rows=5)
    live = state(collection("docs", load=True))
    then, now = RowSet(rows=5, keys="a" * 16), RowSet(rows=5, keys="b" * 16)
    after = recovery.finished(live, state(incoming), [switch], capabilities.server_2_3(), {"docs__mm_backup_v1": (then, now)})
    assert after.collections == live.collections
    assert after.backups == {
        "docs__mm_backup_v1": incoming.model_copy(update={"name": "docs__mm_backup_v1", "row_set": then, "replaced_by": now})
    }


class CountingClient:
    """Answers what finish_interrupted_switches asks: collections are loaded and hold `counts` rows; records changes."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts, self.calls = counts, []

    async def get_load_state(self, name: str, **_: Any) -> dict[str, str]:
        return {"state": "Loaded"}

    async def query(self, name: str, **_: Any) -> list[dict[str, int]]:
        return [{"count(*)": self.counts[name]}]

    async def has_collection(self, name: str, **_: Any) -> bool:
        return False

    def __getattr__(self, method: str) -> Any:
        async def call(*args: Any, **_: Any) -> None:
            self.calls.append((method, *args))

        return call


def test_finishing_a_switch_drops_the_free_name_first_on_2_3_then_renames_and_moves_the_aliases():
    counts = {"docs__mm_shadow": 5, "docs__mm_backup_v1": 5}
    server, lite = CountingClient(counts), CountingClient(counts)
    asyncio.run(copy.finish_interrupted_switches(server, [BETWEEN_THE_RENAMES], capabilities.server_2_3(), 5))
    asyncio.run(copy.finish_interrupted_switches(lite, [BETWEEN_THE_RENAMES], capabilities.lite(), 5))
    assert server.calls == [
        ("drop_collection", "docs"), ("rename_collection", "docs__mm_shadow", "docs"), ("alter_alias", "docs", "docs_live"),
    ]  # fmt: skip
    assert lite.calls == server.calls[1:]


def test_a_shadow_holding_other_rows_than_the_backup_is_not_renamed():
    client = CountingClient({"docs__mm_shadow": 4, "docs__mm_backup_v1": 5})
    with pytest.raises(copy.CopyFailed, match="docs is missing; docs__mm_shadow holds 4 rows and docs__mm_backup_v1 5"):
        asyncio.run(copy.finish_interrupted_switches(client, [BETWEEN_THE_RENAMES], capabilities.server_2_3(), 5))
    assert client.calls == []

"""The plan is the contract: what `plan` shows, step by step, is what `up`/`down` run, or they refuse to run.

On both backends: the JSON steps of `plan` equal the steps `up --format json` reports running; a saved plan
runs when fresh and is refused, touching nothing, once Milvus or the history moved; files that cannot run
(changed, out of order) are refused by `plan` exactly as by `up`; a failed step shows in `status` until a
successful rerun.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import V1, V2, V3
from tests.integration.helpers import history_rows

pytestmark = pytest.mark.integration

DROP_DOCS = """
description: docs goes away for a while
drop_collections: [docs]
"""
DOCS_AGAIN = """
description: docs comes back with wider vectors
collections:
  docs:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 16}
    indexes:
      - {field_name: embedding, index_type: FLAT, metric_type: L2}
    load: true
"""


def _planned(result) -> list[tuple[int, list[dict]]]:
    assert result.exit_code in (0, 2), result.output
    return [(s["version"], s["operations"]) for s in json.loads(result.stdout)["steps"]]


def _ran(result) -> list[tuple[int, list[dict]]]:
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["ok"] and body["failed_step"] is None and body["not_run_steps"] == []
    return [(s["version"], s["operations"]) for s in body["steps"]]


SCENARIOS = {
    "empty database, three versions": (["0001_docs.yaml", V1, "0002_alias.yaml", V2, "0003_notes.yaml", V3], 0, []),
    "drop then declare again": (["0001_docs.yaml", V1, "0002_drop.yaml", DROP_DOCS, "0003_again.yaml", DOCS_AGAIN], 1, ["--allow-data-loss"]),
    "a version with no changes": (["0001_docs.yaml", V1, "0002_same.yaml", V1, "0003_alias.yaml", V2], 1, []),
}  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_up_runs_exactly_the_steps_plan_showed(scenario, cli, tmp_migrations: Callable[..., Path]):
    files, start, flags = SCENARIOS[scenario]
    directory = tmp_migrations(*files)
    if start:
        assert cli("up", "--to", str(start), directory=directory).exit_code == 0

    planned = cli("plan", "--format", "json", "--detailed-exitcode", directory=directory)
    assert planned.exit_code == 2, planned.output  # something will change or be recorded
    ran = cli("up", "--format", "json", *flags, directory=directory)

    assert _ran(ran) == _planned(planned)
    assert [v for v, _ in _ran(ran)] == [v for v in (1, 2, 3) if v > start]
    after = cli("plan", "--format", "json", "--detailed-exitcode", directory=directory)
    assert after.exit_code == 0 and json.loads(after.stdout)["steps"] == []


def test_a_drop_in_a_middle_version_is_refused_as_plan_shows_it(cli, tmp_migrations):
    directory = tmp_migrations("0001_docs.yaml", V1, "0002_drop.yaml", DROP_DOCS, "0003_again.yaml", DOCS_AGAIN)
    assert cli("up", "--to", "1", directory=directory).exit_code == 0
    shown = json.loads(cli("plan", "--format", "json", directory=directory).stdout)
    assert shown["destructive"] == 1 and shown["steps"][0]["operations"][0]["op"] == "drop_collection"

    refused = cli("up", directory=directory)

    assert refused.exit_code == 1 and "drop collection docs" in refused.output
    assert history_rows(cli, directory) == [(1, "up", 1)]


def test_a_version_without_changes_is_recorded_and_plan_says_so(cli, backend, tmp_migrations):
    directory = tmp_migrations("0001_docs.yaml", V1, "0002_same.yaml", V1)
    assert cli("up", "--to", "1", directory=directory).exit_code == 0

    text = cli("plan", directory=directory)

    assert "apply 0002_same — docs collection (version 1 → 2)\n  no changes to Milvus; will be recorded" in text.stdout
    assert cli("up", directory=directory).exit_code == 0
    assert history_rows(cli, directory) == [(1, "up", 1), (2, "up", 2)]


def test_plan_to_a_lower_version_plans_a_down(cli, tmp_migrations):
    directory = tmp_migrations("0001_docs.yaml", V1, "0002_alias.yaml", V2, "0003_notes.yaml", V3)
    assert cli("up", directory=directory).exit_code == 0

    shown = json.loads(cli("plan", "--to", "1", "--format", "json", directory=directory).stdout)
    down = json.loads(cli("down", "--to", "1", "--dry-run", "--format", "json", directory=directory).stdout)

    assert shown["direction"] == "down" and [s["version"] for s in shown["steps"]] == [3, 2]
    assert [(s["version"], s["operations"]) for s in shown["steps"]] == [
        (s["version"], s["operations"]) for s in json.loads(cli("plan", "--down", "--to", "1", "--format", "json", directory=directory).stdout)["steps"]
    ]
    assert down["dry_run"] and down["final_version"] == 3  # nothing ran
    assert cli("up", "--to", "1", directory=directory).exit_code == 1  # up never goes down


# ------------------------------------------------------------------------------------------------ saved plans


def test_a_fresh_saved_plan_runs_exactly(cli, tmp_migrations, tmp_path):
    directory = tmp_migrations("0001_docs.yaml", V1, "0002_alias.yaml", V2)
    saved = tmp_path / "plan.json"
    shown = cli("plan", "--out", str(saved), "--format", "json", directory=directory)
    assert shown.exit_code == 0, shown.output

    ran = cli("up", "--plan", str(saved), "--format", "json", directory=directory)

    assert _ran(ran) == _planned(shown)
    assert history_rows(cli, directory) == [(1, "up", 1), (2, "up", 2)]


def test_a_saved_plan_is_refused_after_a_change_by_hand_and_touches_nothing(cli, backend, tmp_migrations, tmp_path):
    directory = tmp_migrations("0001_docs.yaml", V1, "0002_alias.yaml", V2)
    assert cli("up", "--to", "1", directory=directory).exit_code == 0
    saved = tmp_path / "plan.json"
    assert cli("plan", "--out", str(saved), directory=directory).exit_code == 0
    client = backend.client()
    client.create_partition("docs", "by_hand")  # someone changes Milvus after the review

    refused = cli("up", "--plan", str(saved), directory=directory)

    assert refused.exit_code == 1
    assert "the plan is stale" in refused.output and "collection docs changed in Milvus" in refused.output
    assert history_rows(cli, directory) == [(1, "up", 1)]
    assert sorted(client.list_partitions("docs")) == ["_default", "by_hand"]  # p2025 was not created
    assert backend.aliases("docs") == []


def test_a_saved_plan_is_refused_once_another_run_applied_it(cli, tmp_migrations, tmp_path):
    directory = tmp_migrations("0001_docs.yaml", V1, "0002_alias.yaml", V2)
    saved = tmp_path / "plan.json"
    assert cli("plan", "--out", str(saved), directory=directory).exit_code == 0
    assert cli("up", "--to", "1", directory=directory).exit_code == 0

    refused = cli("up", "--plan", str(saved), directory=directory)

    assert refused.exit_code == 1 and "the history moved" in refused.output
    assert history_rows(cli, directory) == [(1, "up", 1)]


def test_a_down_plan_is_not_applied_by_up(cli, tmp_migrations, tmp_path):
    directory = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=directory).exit_code == 0
    saved = tmp_path / "plan.json"
    assert cli("plan", "--down", "--out", str(saved), directory=directory).exit_code == 0

    wrong = cli("up", "--plan", str(saved), directory=directory)
    right = cli("down", "--plan", str(saved), "--allow-data-loss", directory=directory)

    assert wrong.exit_code == 1 and "milvus-migrate down --plan" in wrong.output
    assert right.exit_code == 0, right.output
    assert history_rows(cli, directory)[-1] == (1, "down", 0)


def test_a_file_that_is_not_a_plan_is_refused(cli, tmp_migrations, tmp_path):
    directory = tmp_migrations("0001_docs.yaml", V1)
    bogus = tmp_path / "plan.json"
    bogus.write_text('{"hello": 1}')

    result = cli("up", "--plan", str(bogus), directory=directory)

    assert result.exit_code == 1 and "is not a plan file written by 'milvus-migrate plan --out'" in result.output


# ------------------------------------------------------------------------------------- the same refusals as up


def test_an_out_of_order_file_is_refused_by_plan_and_up(cli, tmp_migrations):
    directory = tmp_migrations("0001_docs.yaml", V1, "0003_notes.yaml", V3)
    assert cli("up", directory=directory).exit_code == 0
    (directory / "0002_alias.yaml").write_text(V2)  # merged from a branch, numbered below the current version

    for command in (("plan",), ("up",), ("status", "--check")):
        result = cli(*command, directory=directory)
        assert result.exit_code == (2 if command[0] == "status" else 1), result.output
        assert "0002_alias.yaml (version 2)" in result.output
    assert "renumber" in cli("plan", directory=directory).output
    assert history_rows(cli, directory) == [(1, "up", 1), (3, "up", 3)]


def test_plan_refuses_a_changed_applied_file_like_up(cli, tmp_migrations):
    directory = tmp_migrations("0001_docs.yaml", V1)
    assert cli("up", directory=directory).exit_code == 0
    (directory / "0001_docs.yaml").write_text(V1 + "\n# edited after it was applied\n")

    planned, applied = cli("plan", directory=directory), cli("up", directory=directory)

    assert planned.exit_code == applied.exit_code == 1
    assert "0001_docs.yaml changed after it was applied" in planned.output
    assert planned.output.splitlines()[0] == applied.output.splitlines()[0]


def test_status_leads_with_the_truth(cli, backend, tmp_migrations):
    directory = tmp_migrations("0001_docs.yaml", V1, "0002_alias.yaml", V2)
    assert cli("up", directory=directory).exit_code == 0
    assert cli("status", directory=directory).stdout.startswith("Up to date: database")
    backend.client().drop_alias("docs_live")

    drifted = cli("status", "--check", directory=directory)

    assert drifted.exit_code == 2
    assert drifted.stdout.startswith("Needs attention: Milvus drifted from version 2")
    assert "Up to date" not in drifted.stdout


# ------------------------------------------------------------------------------------------------ failures

# A standalone Milvus 2.3.5 has one query node: two replicas cannot be loaded, which only the load finds out.
FAILING_LOAD = """
description: notes, loaded with more replicas than the server has query nodes
collections:
  notes:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: vec, type: FLOAT_VECTOR, dim: 4}
    indexes:
      - {field_name: vec, index_type: FLAT, metric_type: L2}
    load: {replica_number: 2}
"""
FIXED_LOAD = FAILING_LOAD.replace("{replica_number: 2}", "true")


def test_a_failed_step_shows_in_status_until_a_rerun_succeeds(cli, backend, tmp_migrations):
    if backend.is_lite:
        pytest.skip(reason="Milvus Lite ignores replica_number: no refusal that only running finds out to provoke there")
    directory = tmp_migrations("0001_docs.yaml", V1, "0002_notes.yaml", FAILING_LOAD)
    assert cli("up", "--to", "1", directory=directory).exit_code == 0

    failed = cli("up", "--format", "json", directory=directory)

    assert failed.exit_code == 1
    body = json.loads(failed.stdout)
    assert not body["ok"] and body["failed_step"]["version"] == 2
    assert [f["op"] for f in body["failed_step"]["failed"]] == ["load_collection"]
    status = json.loads(cli("status", "--format", "json", directory=directory).stdout)
    failure = status["last_failure"]
    assert (failure["version"], failure["direction"], failure["current_version"]) == (2, "failed", 1)
    assert failure["operation"] == "load notes with 2 replica(s)" and failure["message"] and failure["ran"] == 2
    assert "Last run failed" in cli("status", directory=directory).stdout
    assert cli("status", "--check", directory=directory).exit_code == 2

    (directory / "0002_notes.yaml").write_text(FIXED_LOAD)  # the fix
    assert cli("up", directory=directory).exit_code == 0
    cleared = json.loads(cli("status", "--format", "json", directory=directory).stdout)
    assert cleared["last_failure"] is None and cleared["up_to_date"]
    assert [row[1] for row in history_rows(cli, directory)] == ["up", "failed", "up"]


async def test_up_stops_before_a_step_whose_collections_changed_under_it(backend, tmp_migrations):
    """Someone changes Milvus between two steps: the next step is not started, and says what changed."""
    from milvus_migrate import aio
    from milvus_migrate.commands import run
    from milvus_migrate.errors import PlanDiverged
    from milvus_migrate.planning.ops import Direction

    directory = tmp_migrations("0001_docs.yaml", V1, "0002_alias.yaml", V2)
    options = aio.options(directory, uri=backend.uri, db_name=backend.db_name, timeout=60)

    def meddle(step_report) -> None:
        if step_report.step.version == 1:
            backend.client().create_partition("docs", "by_hand")

    with pytest.raises(PlanDiverged) as caught:
        await run(options, direction=Direction.UP, on_step=meddle)

    assert caught.value.step == "0002_alias"
    assert "drop partition by_hand of docs (ITS DATA)" in caught.value.differences
    records = await aio.history(directory, uri=backend.uri, db_name=backend.db_name)
    assert [(r.version, r.direction.value) for r in records] == [(1, "up")]
    client = backend.client()
    assert sorted(client.list_partitions("docs")) == ["_default", "by_hand"]  # p2025 of step 2 was not created

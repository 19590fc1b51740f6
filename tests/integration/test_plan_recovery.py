"""`plan` and the dry runs in a half-switched state show the recovery `up` runs first, and plan what `up` then does."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_evolution import ROWS, row, run_until
from tests.integration.test_switch_back import _count, _up_with_a_copy

pytestmark = pytest.mark.integration

RECOVERY = (
    "Recovery (an interrupted switch; up finishes it first): rename collection docs__mm_shadow → docs; "
    "move alias docs_live: docs__mm_backup_v1 → docs"
)


def test_plan_between_the_renames_shows_the_recovery_and_up_runs_exactly_that(cli, backend, tmp_migrations, tmp_path):
    from milvus_migrate.planning import ops

    # A run of version 2 (a copy adding a field) "died" right after the old collection stepped aside.
    d = run_until(cli, backend, tmp_migrations, ops.RenameCollection)
    assert backend.collections() == ["docs__mm_backup_v1", "docs__mm_shadow"]

    text = cli("plan", "--detailed-exitcode", directory=d)
    assert text.exit_code == 2, text.output
    assert RECOVERY in text.output
    # After the recovery the copy holds version 2's schema: the step only records the version.
    assert "create collection docs" not in text.output
    assert "apply 0002_evolve — evolve docs (version 1 → 2)\n  no changes to Milvus; will be recorded" in text.output
    body = json.loads(cli("plan", "--format", "json", directory=d).stdout)
    assert body["recovery"] == [
        {
            "collection": "docs",
            "rename": ["docs__mm_shadow", "docs"],
            "check_rows_against": "docs__mm_backup_v1",
            "move_aliases": [{"alias": "docs_live", "from": "docs__mm_backup_v1", "to": "docs"}],
        }
    ]
    assert body["operations"] == []
    dry = cli("up", "--dry-run", directory=d)
    assert dry.exit_code == 0 and RECOVERY in dry.output
    assert backend.collections() == ["docs__mm_backup_v1", "docs__mm_shadow"]  # plan and dry run changed nothing

    saved = tmp_path / "plan.json"
    assert cli("plan", "--out", str(saved), directory=d).exit_code == 0
    applied = cli("up", "--plan", str(saved), directory=d)

    assert applied.exit_code == 0, applied.output
    assert "finished the switch of docs that an interrupted run left half done: rename collection docs__mm_shadow" in applied.output
    assert backend.collections() == ["docs", "docs__mm_backup_v1"]
    assert backend.aliases("docs") == ["docs_live"]
    assert _count(backend) == ROWS
    backend.client().insert("docs", [{**row(ROWS), "score": 2.5}])  # 2.3.5 crashed here unless the free name was dropped
    assert _count(backend) == ROWS + 1
    after = cli("plan", "--detailed-exitcode", directory=d)
    assert after.exit_code == 0, after.output
    assert "Recovery" not in after.output


def test_plan_after_a_switch_back_killed_before_the_name_moved_puts_the_backup_back_then_switches_back(
    cli, backend, tmp_migrations, tmp_path
):
    import asyncio

    from milvus_migrate import commands
    from milvus_migrate.config import ConnectionSettings
    from milvus_migrate.milvus import executor
    from milvus_migrate.milvus.connection import connect
    from milvus_migrate.planning import ops

    d = _up_with_a_copy(cli, backend, tmp_migrations)
    settings = ConnectionSettings(uri=backend.uri, db_name=backend.db_name, timeout=60)

    async def die() -> None:  # `down` killed right after the backup's first rename (to docs__mm_switch_v1)
        run = (await commands.make_plan(commands.Options(settings=settings, directory=d), down=True)).run
        first = next(i for i, op in enumerate(run.ops) if isinstance(op, ops.RenameCollection))
        async with connect(settings) as session:
            assert (await executor.apply(ops.Plan(ops=run.ops[: first + 1]), session)).ok

    asyncio.run(die())
    assert backend.collections() == ["docs", "docs__mm_switch_v1"]

    shown = cli("plan", "--down", "--detailed-exitcode", directory=d)
    assert shown.exit_code == 2, shown.output
    assert "Recovery (an interrupted switch; down finishes it first): rename collection docs__mm_switch_v1 → docs__mm_backup_v1" in shown.output
    body = json.loads(cli("plan", "--down", "--format", "json", directory=d).stdout)
    assert [r["rename"] for r in body["recovery"]] == [["docs__mm_switch_v1", "docs__mm_backup_v1"]]
    # The backup put back still holds the rows docs held at its switch: the plan switches back again, no copy.
    assert "copy_rows" not in [o["op"] for o in body["operations"]]
    assert ["docs__mm_backup_v1", "docs__mm_switch_v1"] in [[o["collection"], o.get("new_name")] for o in body["operations"]]
    saved = tmp_path / "down.json"
    assert cli("plan", "--down", "--out", str(saved), directory=d).exit_code == 0

    down = cli("down", "--plan", str(saved), directory=d)

    assert down.exit_code == 0, down.output
    assert backend.collections() == ["docs", "docs__mm_backup_v2"]
    assert [f["name"] for f in backend.client().describe_collection("docs")["fields"]][-1] == "legacy"  # version 1's schema
    assert _count(backend) == ROWS
    backend.client().insert("docs", [row(ROWS)])  # the backup put back, then switched back: writes reach it
    assert _count(backend) == ROWS + 1
    assert backend.aliases("docs") == ["docs_live"]
    assert cli("plan", "--to", "1", "--detailed-exitcode", directory=d).exit_code == 0

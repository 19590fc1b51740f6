"""`plan` and the dry runs in a half-switched state show the recovery `up` runs first, and plan what `up` then does."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_evolution import ROWS, run_until

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
    assert "finished the switch of docs" in applied.output
    assert backend.collections() == ["docs", "docs__mm_backup_v1"]
    assert backend.aliases("docs") == ["docs_live"]
    client = backend.client()
    if backend.is_lite:
        client.load_collection("docs")  # Lite: a renamed collection comes back not loaded
    assert client.query("docs", filter="", output_fields=["count(*)"])[0]["count(*)"] == ROWS
    after = cli("plan", "--detailed-exitcode", directory=d)
    assert after.exit_code == 0, after.output
    assert "Recovery" not in after.output

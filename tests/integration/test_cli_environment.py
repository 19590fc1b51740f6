"""The command line in a user's environment: MILVUS_URI, read-only commands, pipes and encodings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def milvus_migrate(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed-style command in a fresh process, with this worktree's package first on the path."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MILVUS_")}
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "milvus_migrate", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory holding a copy of the repository's migrations/, as a user's project would."""
    shutil.copytree(REPO / "migrations", tmp_path / "migrations")
    return tmp_path


def test_milvus_uri_holding_a_lite_path_works_like_uri(project):
    """pymilvus rejects a non-http MILVUS_URI when imported ('Illegal uri'); the tool reads it like --uri."""
    up = milvus_migrate("up", cwd=project, env={"MILVUS_URI": "./milvus.db"})
    assert up.returncode == 0, up.stderr
    assert "The database is now at version 2." in up.stdout
    assert (project / "milvus.db").exists()

    absolute = {"MILVUS_URI": str(project / "milvus.db")}
    plan = milvus_migrate("plan", "--detailed-exitcode", cwd=project, env=absolute)
    assert (plan.returncode, plan.stdout) == (0, "No changes: Milvus already matches version 2 (database default).\n")
    status = milvus_migrate("status", "--format", "json", cwd=project, env=absolute)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["current_version"] == 2
    history = milvus_migrate("history", "--format", "json", cwd=project, env={"MILVUS_URI": "./milvus.db"})
    assert [r["version"] for r in json.loads(history.stdout)] == [1, 2]


READ_ONLY = [
    ["plan"], ["plan", "--down"], ["status"], ["history"], ["unlock"], ["down"], ["down", "--to", "0"], ["up", "--dry-run"],
]  # fmt: skip


def test_read_only_commands_create_no_history_or_lock_collection(cli, backend, three_versions):
    """On an existing database, what only reads leaves the list of collections exactly as it was."""
    from pymilvus import DataType

    client = backend.client()
    schema = client.create_schema()
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection("someone_elses", schema=schema)
    before = sorted(client.list_collections())
    backend.release_lite()

    for command in READ_ONLY:
        result = cli(*command, directory=three_versions)
        assert result.exit_code == 0, (command, result.output)

    assert sorted(backend.client().list_collections()) == before == ["someone_elses"]

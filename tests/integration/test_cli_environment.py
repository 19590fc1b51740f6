"""The command line in a user's environment: MILVUS_URI, read-only commands, pipes and encodings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import create_unmanaged

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
    client = backend.client()
    create_unmanaged(client, "someone_elses")
    before = sorted(client.list_collections())
    backend.release_lite()

    for command in READ_ONLY:
        result = cli(*command, directory=three_versions)
        assert result.exit_code == 0, (command, result.output)

    assert sorted(backend.client().list_collections()) == before == ["someone_elses"]


def _with_stdout_closed(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run with a stdout pipe whose reader is gone before the first write (`| head -0`, deterministically)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MILVUS_")}
    full_env.update({"PYTHONPATH": str(REPO), **(env or {})})
    process = subprocess.Popen(
        [sys.executable, "-m", "milvus_migrate", *args], cwd=cwd, env=full_env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    process.stdout.close()  # type: ignore[union-attr]
    stderr = process.stderr.read().decode("latin-1")  # type: ignore[union-attr]
    return process.wait(timeout=300), _without_target(stderr)


def _without_target(stderr: str) -> str:
    """stderr less the 'Target: …' line every command that connects prints first."""
    return "".join(line for line in stderr.splitlines(keepends=True) if not line.startswith("Target: "))


PIPED = [["plan", "--uri", "./new.db"], ["down", "--dry-run", "--to", "0"], ["history"], ["schema"], ["--help"]]


@pytest.mark.parametrize("command", PIPED, ids=[c[0] for c in PIPED])
def test_a_reader_that_goes_away_ends_nothing_noisily(project, command):
    """`milvus-migrate plan | head -2`: the rest of the output is dropped quietly, with the command's own exit code."""
    if command[0] in ("down", "history"):
        assert milvus_migrate("up", cwd=project).returncode == 0
    code, stderr = _with_stdout_closed(*command, cwd=project)
    assert (code, stderr) == (0, "")


def test_up_finishes_its_work_when_stdout_is_gone_and_the_terminal_is_latin_1(project):
    """A closed pipe does not stop a deployment half-way; characters latin-1 lacks ('→') are escaped, not fatal."""
    code, stderr = _with_stdout_closed("up", cwd=project, env={"PYTHONIOENCODING": "latin-1"})
    assert code == 0, stderr
    assert "Error" not in stderr and "Traceback" not in stderr
    assert "my_collection_live \\u2192 my_collection" in stderr  # progress lines ('create alias a → c') escaped
    plan = milvus_migrate("plan", "--detailed-exitcode", cwd=project, env={"PYTHONIOENCODING": "latin-1"})
    assert (plan.returncode, _without_target(plan.stderr)) == (0, "")  # both versions were applied


def test_plan_on_a_latin_1_terminal_escapes_what_it_cannot_encode(project):
    result = milvus_migrate("plan", "--uri", "./new.db", cwd=project, env={"PYTHONIOENCODING": "latin-1"})
    assert (result.returncode, _without_target(result.stderr)) == (0, "")
    assert "version 0 \\u2192 2" in result.stdout

"""Errors a user meets at the edges: a Lite file held by another process, secrets in URIs and tokens."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from milvus_migrate.cli import main

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_lite_file_held_by_another_process_is_a_one_line_error(tmp_path):
    db = tmp_path / "held.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from pymilvus import MilvusClient; c = MilvusClient({str(db)!r}); print('ready', flush=True); import time; time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = subprocess.run(
            [sys.executable, "-m", "milvus_migrate", "plan", "--uri", str(db), "--dir", str(REPO / "migrations")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot open Milvus Lite database {db}: another process holds it "
        "(Milvus Lite allows one process per .db file; stop that process or point --uri elsewhere)"
    ]


COMMANDS = [
    ["plan"], ["plan", "--format", "json"], ["plan", "--format", "markdown"], ["up", "--dry-run"], ["up"],
    ["status"], ["status", "--format", "json"], ["history"], ["history", "--format", "json"], ["down", "--to", "0", "--allow-data-loss"],
    ["stamp", "1"], ["repair"], ["unlock"],
]  # fmt: skip


def test_secrets_never_appear_in_any_output(backend, three_versions):
    """Token by flag and by environment, password inside the URI: searched for in every command's output."""
    if backend.is_lite:
        pytest.skip(reason="Milvus Lite takes a file path: there is no URI user info or token to leak")
    secret_token, secret_password = "root:Sup3rT0ken", "Pa55w0rd"
    host = backend.uri.split("//", 1)[1]
    runner = CliRunner()
    outputs = []
    for uri, env in (
        (f"http://root:{secret_password}@{host}", {"MILVUS_TOKEN": secret_token}),
        (backend.uri, {}),
    ):
        for command in COMMANDS:
            args = [*command, "--uri", uri, "--db-name", backend.db_name, "--dir", str(three_versions), "-vvv"]
            if not env:
                args += ["--token", secret_token]
            result = runner.invoke(main, args, env=env)
            outputs.append(result.output + (repr(result.exception) if result.exception else ""))
    history = backend.client().query(backend.history, filter="seq >= 0", output_fields=["*"])
    everything = "\n".join(outputs) + repr(history)
    assert "The database is now at version 3" in everything  # the commands really ran
    for secret in (secret_token, secret_password, "Sup3rT0ken"):
        assert secret not in everything


def test_unreachable_server_fails_fast_naming_the_uri():
    started = time.monotonic()
    result = CliRunner().invoke(main, ["status", "--uri", "http://127.0.0.1:9", "--dir", str(REPO / "migrations")])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot connect to Milvus at http://127.0.0.1:9")
    assert time.monotonic() - started < 60  # a bound, not a benchmark: no endless retry loop


def test_missing_database_is_named(backend, three_versions):
    result = CliRunner().invoke(main, ["plan", "--uri", backend.uri, "--db-name", "no_such_db", "--dir", str(three_versions)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: database 'no_such_db' does not exist on ")

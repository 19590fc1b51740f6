"""Settings from milvus-migrate.toml / pyproject.toml environments, flags before the command, and the target line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from milvus_migrate.cli import main
from milvus_migrate.testing import release_lite
from tests.integration.conftest import V1

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory (the working directory) with db/migrations and a configuration file."""
    migrations = tmp_path / "db" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "0001_docs.yaml").write_text(V1)
    (tmp_path / "milvus-migrate.toml").write_text(
        textwrap.dedent(
            """
            dir = "db/migrations"

            [environments.dev]
            uri = "./dev.db"

            [environments.prod]
            uri = "./prod.db"
            token_env = "PROD_TOKEN"
            history_collection = "schema_history"
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    for name in ("MILVUS_URI", "MILVUS_TOKEN", "MILVUS_DB_NAME", "MILVUS_MIGRATE_DIR", "MILVUS_MIGRATE_ENV"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    for name in ("dev.db", "prod.db", "flag.db", "env.db"):
        release_lite(str(tmp_path / name))


def _cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_env_selects_the_environment_and_says_which_target(project):
    applied = _cli("--env", "dev", "up")

    assert applied.exit_code == 0, applied.output
    assert (project / "dev.db").exists() and not (project / "prod.db").exists()
    assert "Target: Milvus Lite" in applied.stderr and "dev.db" in applied.stderr
    assert "(environment dev of milvus-migrate.toml)" in applied.stderr


def test_the_environment_variable_selects_it_too_and_the_token_comes_from_the_environment(project):
    missing = _cli("status", env={"MILVUS_MIGRATE_ENV": "prod"})
    applied = _cli("up", env={"MILVUS_MIGRATE_ENV": "prod", "PROD_TOKEN": "root:Milvus"})
    history = _cli("history", "--format", "json", env={"MILVUS_MIGRATE_ENV": "prod", "PROD_TOKEN": "root:Milvus"})

    assert missing.exit_code == 1 and "takes its token from $PROD_TOKEN, which is not set" in missing.stderr
    assert applied.exit_code == 0, applied.output
    assert (project / "prod.db").exists()
    assert [r["version"] for r in json.loads(history.stdout)] == [1]  # pure JSON on stdout; the target went to stderr
    assert "Milvus" not in applied.stdout + applied.stderr.replace("Milvus Lite", "")  # the password never shows


def test_flags_and_variables_outrank_the_environment_table(project):
    by_flag_after = _cli("--env", "dev", "up", "--uri", "./flag.db")
    by_flag_before = _cli("--env", "dev", "--uri", "./flag.db", "plan", "--detailed-exitcode")
    by_variable = _cli("--env", "dev", "up", env={"MILVUS_URI": "./env.db"})

    assert by_flag_after.exit_code == 0 and (project / "flag.db").exists() and not (project / "dev.db").exists()
    assert by_flag_before.exit_code == 0, by_flag_before.output  # flag.db is at version 1 already: nothing to do
    assert by_variable.exit_code == 0 and (project / "env.db").exists()
    assert not (project / "dev.db").exists()


def test_a_flag_after_the_command_outranks_one_before_it(project):
    result = _cli("--uri", "./dev.db", "up", "--uri", "./flag.db")
    assert result.exit_code == 0 and (project / "flag.db").exists() and not (project / "dev.db").exists()


def test_pyproject_table_and_unknown_environment(project):
    (project / "milvus-migrate.toml").unlink()
    (project / "pyproject.toml").write_text('[project]\nname = "app"\n\n[tool.milvus-migrate]\ndir = "db/migrations"\n')

    validated = _cli("validate")
    unknown = _cli("--env", "staging", "plan")

    assert validated.exit_code == 0 and "1 migration file valid" in validated.stdout
    assert unknown.exit_code == 1 and "--env staging needs a configuration file" not in unknown.stderr
    assert "no environment 'staging'" in unknown.stderr


def test_a_broken_configuration_file_names_file_line_and_key_and_touches_nothing(project):
    (project / "milvus-migrate.toml").write_text('dir = "db/migrations"\n[environments.dev]\nurl = "./dev.db"\n')

    result = _cli("--env", "dev", "up")

    assert result.exit_code == 1
    assert "milvus-migrate.toml:3:1: unknown key environments.dev.url (did you mean 'uri'?)" in result.stderr
    assert not (project / "dev.db").exists() and not (project / "milvus.db").exists()

"""The CLI offline: start-up cost, validate, new, schema, connection errors and secrets."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from milvus_migrate.cli import main

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _imports(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "milvus_migrate", *args],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stderr


def test_help_and_validate_do_not_import_pymilvus():
    assert "pymilvus" not in _imports("--help")
    assert "pymilvus" not in _imports("validate")


def test_validate_accepts_the_repository_migrations(monkeypatch):
    monkeypatch.chdir(REPO)
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout == "2 migration files valid (latest version 2).\n"


def test_validate_reports_every_problem_and_exits_1(tmp_migrations, monkeypatch):
    directory = tmp_migrations(
        "0001_a.yaml",
        """
        collections:
          docs:
            fields:
              - {name: id, type: INT64, is_primary: true}
              - {name: v, type: FLOAT_VECTOR}
        """,
        "0002_b.yaml",
        "drop_collections: [nope]\n",
    )
    monkeypatch.chdir(directory.parent)
    result = run("validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "migrations/0001_a.yaml:5:9: field 'v': FLOAT_VECTOR needs 'dim'",
        "migrations/0002_b.yaml:1:20: drop_collections: 'nope' is not declared by an earlier version",
        "Error: 2 problem(s) in migration files; nothing was changed.",
    ]


def test_var_feeds_templates(tmp_migrations, monkeypatch):
    directory = tmp_migrations(
        "0001_a.yaml",
        """
        collections:
          docs:
            fields:
              - {name: id, type: INT64, is_primary: true}
              - {name: v, type: FLOAT_VECTOR, dim: {{ vars.dim }}}
        """,
    )
    monkeypatch.chdir(directory.parent)
    assert run("validate", "--var", "dim=16").exit_code == 0
    missing = run("validate")
    assert missing.exit_code == 1
    assert "migrations/0001_a.yaml:5:52: template error: 'dim' is not defined" in missing.stderr


def test_schema_is_a_json_schema_of_the_format():
    result = run("schema")
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"collections", "drop_collections", "description"} <= set(schema["properties"])


def test_new_writes_the_next_version_prefilled_and_valid(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "migrations").mkdir()
    for source in (REPO / "migrations").glob("*.yaml"):
        (tmp_path / "migrations" / source.name).write_text(source.read_text())

    result = run("new", "Add title index!", "--collection", "my_collection")

    assert result.exit_code == 0, result.output
    created = tmp_path / "migrations" / "0003_add_title_index.yaml"
    assert result.stdout == f"Created {Path('migrations') / created.name}\n"
    text = created.read_text()
    assert text.startswith("# yaml-language-server: $schema=./milvus-migrate.schema.json\n")
    assert "my_collection:" in text and "dense_vector" in text and "aliases:" in text
    assert (tmp_path / "migrations" / "milvus-migrate.schema.json").exists()
    assert run("validate").stdout == "3 migration files valid (latest version 3).\n"


def test_new_in_an_empty_directory_starts_at_version_1(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("new", "create docs")
    assert result.exit_code == 0
    assert (tmp_path / "migrations" / "0001_create_docs.yaml").exists()
    assert run("validate").exit_code == 0


def test_new_refuses_an_unknown_collection(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run("new", "create docs")
    result = run("new", "change", "--collection", "nope")
    assert result.exit_code == 1
    assert "collection 'nope' is not declared by any migration" in result.stderr


def test_connection_failure_is_one_line_without_secrets(monkeypatch):
    monkeypatch.chdir(REPO)
    result = run("plan", "--uri", "http://alice:s3cr3t@127.0.0.1:1", "--token", "bob:t0k3n", "-vv", "--timeout", "2")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot connect to Milvus at http://***@127.0.0.1:1: ")
    assert len(result.stderr.strip().splitlines()) == 1
    for secret in ("s3cr3t", "t0k3n", "alice:"):
        assert secret not in result.output


SECRET_PASSWORDS = ["o", "Milvus", secrets.token_urlsafe(32)]
UNREACHABLE = "http://127.0.0.1:1"


def _status_unreachable(uri: str, token: str | None = None, env: dict[str, str] | None = None) -> str:
    args = ["status", "--uri", uri, "--dir", str(REPO / "migrations"), "-vv", "--timeout", "1"]
    if token is not None:
        args += ["--token", token]
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 1
    return result.output


@pytest.mark.parametrize("password", SECRET_PASSWORDS, ids=["o", "Milvus", "long-random"])
def test_secrets_are_removed_whole_and_words_stay_intact(password):
    """Token by flag, by MILVUS_TOKEN, password in the URI: the message is the secret-free one, word for word."""
    baseline = _status_unreachable(UNREACHABLE)
    assert baseline.startswith(f"Error: cannot connect to Milvus at {UNREACHABLE}: ")
    token = f"root:{password}"
    with_userinfo = baseline.replace(UNREACHABLE, "http://***@127.0.0.1:1", 1)
    shown = {
        "--token": _status_unreachable(UNREACHABLE, token=token),
        "MILVUS_TOKEN": _status_unreachable(UNREACHABLE, env={"MILVUS_TOKEN": token}),
        "uri": _status_unreachable(f"http://root:{password}@127.0.0.1:1"),
    }
    assert shown == {"--token": baseline, "MILVUS_TOKEN": baseline, "uri": with_userinfo}
    for output in shown.values():
        assert token not in output
        if len(password) > 8:
            assert password not in output


USAGE_ERRORS = [
    (["plan", "--detailed-exitcode", "--bogus"], "No such option '--bogus'"),
    (["status", "--check", "--format", "yaml"], "'yaml' is not one of 'text', 'json'"),
    (["plan", "--detailed-exitcode", "--var", "novalue"], "'novalue' is not KEY=VALUE"),
    (["validate", "--var", "novalue"], "'novalue' is not KEY=VALUE"),
    (["down", "--to", "1", "--steps", "1"], "use --to or --steps, not both"),
    (["plan", "--to", "two"], "'two' is not a valid integer"),
    (["frobnicate"], "No such command 'frobnicate'"),
    ([], "Usage: "),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=[" ".join(a) or "no-command" for a, _ in USAGE_ERRORS])
def test_usage_errors_exit_1_never_2(monkeypatch, args, message):
    """2 means "changes" to CI reading `plan --detailed-exitcode` / `status --check`: a typo must not say that."""
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert message in result.output


READ_ONLY_COMMANDS = [
    ["plan"], ["plan", "--format", "json"], ["plan", "--down"], ["status"], ["status", "--format", "json"], ["history"],
    ["history", "--format", "json"], ["unlock"], ["down"], ["down", "--to", "0"], ["up", "--dry-run"], ["validate"],
]  # fmt: skip


def test_read_only_commands_never_create_a_milvus_lite_file(tmp_path, monkeypatch):
    """A missing .db reads as an empty database: plan shows what `up` creates, nothing appears on disk."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "migrations").mkdir()
    for source in (REPO / "migrations").glob("*.yaml"):
        (tmp_path / "migrations" / source.name).write_text(source.read_text())
    outputs = {}
    for command in READ_ONLY_COMMANDS:
        args = command if command == ["validate"] else [*command, "--uri", "./mistyped.db"]
        result = run(*args)
        assert result.exit_code == 0, (command, result.output)
        outputs[" ".join(command)] = result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["migrations"]

    assert "+ create collection my_collection" in outputs["plan"]
    assert '"create_collection"' in outputs["plan --format json"]
    assert "version 0 of 2." in outputs["status"]
    assert "Note: the Milvus Lite database ./mistyped.db does not exist yet; 'milvus-migrate up' creates it" in outputs[
        "status"
    ].splitlines()
    status = json.loads(outputs["status --format json"])
    assert (status["current_version"], status["pending"]) == (0, [1, 2])
    assert json.loads(outputs["history --format json"]) == []
    assert outputs["down"] == "Nothing to do: the database is at version 0.\n"

    assert not (tmp_path / "mistyped.db").exists()


def test_top_level_help_shows_every_summary_whole():
    """click cut summaries at their first '.' or at the width ('new  Write the next migration file, e.g.')."""
    help_text = CliRunner().invoke(main, ["--help"], terminal_width=80).stdout
    listed = help_text.split("Commands:\n", 1)[1].splitlines()
    assert len(listed) == len(main.commands)
    for line in listed:
        name, summary = line.split(None, 1)
        assert summary == main.commands[name].short_help, line
        assert summary.endswith(".") and not summary.endswith("...")


def test_every_option_has_help():
    missing = [
        f"{name} {option.opts[0]}"
        for name, command in main.commands.items()
        for option in command.params
        if isinstance(option, click.Option) and not option.hidden and not option.help
    ]
    assert missing == []


def test_repository_migrations_point_at_the_committed_schema():
    """Editors resolve '$schema=' relative to the file: it must exist there and be the current schema."""
    from milvus_migrate.files.spec import json_schema

    for path in sorted((REPO / "migrations").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=./milvus-migrate.schema.json", path.name
    committed = json.loads((REPO / "migrations" / "milvus-migrate.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema(), "regenerate: milvus-migrate schema > migrations/milvus-migrate.schema.json"


def test_new_example_is_valid_once_uncommented(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("new", "docs").exit_code == 0
    path = tmp_path / "migrations" / "0001_docs.yaml"
    modeline, *rest = path.read_text(encoding="utf-8").splitlines()
    uncommented = [line[2:] if line.startswith("# ") else line for line in rest]
    assert any(line.startswith("collections:") for line in uncommented)
    path.write_text("\n".join([modeline, *uncommented]) + "\n", encoding="utf-8")

    result = run("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 migration file valid (latest version 1).\n"


def test_a_traceback_at_vv_is_redacted_whole(monkeypatch):
    """-vv prints the traceback of an unexpected error: secrets go, the words around them stay."""
    import milvus_migrate.commands

    async def failing_status(options):
        raise RuntimeError("cannot go on: token root:o rejected by http://root:o@db:19530 (password=o)")

    monkeypatch.setattr(milvus_migrate.commands, "status", failing_status)
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["status", "--token", "root:o", "-vv"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "root:o" not in result.stderr and "password=o" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "Error: unexpected RuntimeError: cannot go on: token *** rejected by http://***@db:19530 (password=***)"
    )


@pytest.mark.parametrize("name", ["docs__mm_shadow", "docs__mm_backup_v1", "docs__mm_switch_v1"])
def test_names_of_milvus_migrates_copies_cannot_be_declared_and_nothing_is_created(tmp_migrations, monkeypatch, name):
    directory = tmp_migrations(
        "0001_a.yaml",
        f"""
        collections:
          {name}:
            fields:
              - {{name: id, type: INT64, is_primary: true}}
              - {{name: v, type: FLOAT_VECTOR, dim: 4}}
        """,
    )
    monkeypatch.chdir(directory.parent)
    result = run("plan", "--uri", "./milvus.db")
    assert result.exit_code == 1
    assert f"{name} are reserved for milvus-migrate's copies" in result.stderr
    assert "__mm_switch_v<N>" in result.stderr
    assert not (directory.parent / "milvus.db").exists()

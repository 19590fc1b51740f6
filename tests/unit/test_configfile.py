"""milvus-migrate.toml / [tool.milvus-migrate]: defaults, named environments, tokens from the environment."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from milvus_migrate import configfile
from milvus_migrate.configfile import ConfigError

CONFIG = """
dir = "db/migrations"
history_collection = "schema_history"
vars = { dim = 768, fast = true }

[environments.dev]
uri = "./dev.db"

[environments.prod]
uri = "https://milvus.internal:19530"
db_name = "search"
token_env = "PROD_TOKEN"
timeout = 30
secure = true
vars = { dim = "1024" }
"""


def _write(tmp_path: Path, text: str, name: str = configfile.CONFIG_FILE) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_an_environment_overrides_the_defaults_and_takes_its_token_from_the_environment(tmp_path):
    config = configfile.load(_write(tmp_path, CONFIG))

    prod = configfile.resolve(config, "prod", environ={"PROD_TOKEN": "root:s3cret"})
    dev = configfile.resolve(config, "dev", environ={})

    assert prod == {
        "directory": "db/migrations", "history_collection": "schema_history", "uri": "https://milvus.internal:19530",
        "db_name": "search", "token": "root:s3cret", "timeout": 30, "secure": True,
        "variables": {"dim": "1024", "fast": "true"},
    }  # fmt: skip
    assert dev["uri"] == "./dev.db" and dev["variables"] == {"dim": "768", "fast": "true"}
    assert configfile.resolve(config, None, environ={}) == {
        "directory": "db/migrations", "history_collection": "schema_history", "variables": {"dim": "768", "fast": "true"},
    }  # fmt: skip


def test_pyproject_table_is_found_and_read(tmp_path):
    _write(tmp_path, '[project]\nname = "app"\n\n[tool.milvus-migrate]\ndir = "m"\n[tool.milvus-migrate.environments.ci]\nuri = "./ci.db"\n', "pyproject.toml")

    found = configfile.find(tmp_path)

    assert found == tmp_path / "pyproject.toml"
    assert configfile.resolve(configfile.load(found), "ci") == {"directory": "m", "uri": "./ci.db", "variables": {}}
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    assert configfile.find(tmp_path) is None


def test_the_own_file_wins_over_pyproject(tmp_path):
    _write(tmp_path, "[tool.milvus-migrate]\ndir = 'a'\n", "pyproject.toml")
    _write(tmp_path, "dir = 'b'\n")
    assert configfile.find(tmp_path) == tmp_path / configfile.CONFIG_FILE


@pytest.mark.parametrize(
    "text,message",
    [
        ("uri = 'x'\ndbname = 'y'\n", ":2:1: unknown key dbname (did you mean 'db_name'?)"),
        ("[environments.prod]\ntoken = 'root:Milvus'\n", ":2:1: environments.prod.token: a token does not belong in a file"),
        ("timeout = 'soon'\n", ":1:1: timeout must be a int or float, not str"),
        ("concurrency = true\n", ":1:1: concurrency must be a int, not bool"),
        ("environments = 3\n", ":1:1: environments must be a table of tables"),
        ("uri = \n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_naming_file_line_and_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        configfile.load(path)
    assert str(path.name) in str(caught.value) and message in str(caught.value)
    assert "root:Milvus" not in str(caught.value)


def test_unknown_environment_and_missing_token_variable_are_named(tmp_path):
    config = configfile.load(_write(tmp_path, CONFIG))
    with pytest.raises(ConfigError, match=r"no environment 'prd' \(did you mean 'prod'\?\) \(environments: dev, prod\)"):
        configfile.resolve(config, "prd")
    with pytest.raises(ConfigError, match=r"takes its token from \$PROD_TOKEN, which is not set"):
        configfile.resolve(config, "prod", environ={})
    with pytest.raises(ConfigError, match="needs a configuration file"):
        configfile.resolve(None, "prod")

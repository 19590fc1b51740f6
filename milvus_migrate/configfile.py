"""Settings from `milvus-migrate.toml` (or `[tool.milvus-migrate]` in pyproject.toml), with named environments.

    # milvus-migrate.toml
    dir = "migrations"                    # defaults for every environment
    [environments.dev]
    uri = "./milvus.db"
    [environments.prod]
    uri = "https://milvus.internal:19530"
    db_name = "search"
    token_env = "MILVUS_PROD_TOKEN"      # the token comes from this environment variable, never from the file
    vars = { dim = "768" }

Precedence, highest first: command-line flag, environment variable, the selected environment's table,
the file's top-level defaults, the built-in defaults. `resolve()` returns the file's part as option values.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milvus_migrate.errors import MigrateError, did_you_mean

CONFIG_FILE = "milvus-migrate.toml"
PYPROJECT = "pyproject.toml"
ENV_VAR = "MILVUS_MIGRATE_ENV"

# key in the file -> (option name the commands take, expected type)
_KEYS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "uri": ("uri", str),
    "token_env": ("token", str),  # resolved: the value of that environment variable
    "db_name": ("db_name", str),
    "dir": ("directory", str),
    "vars": ("variables", dict),
    "history_collection": ("history_collection", str),
    "concurrency": ("concurrency", int),
    "timeout": ("timeout", (int, float)),
    "lock_timeout": ("lock_timeout", (int, float)),
    "secure": ("secure", bool),
    "server_name": ("server_name", str),
    "server_pem_path": ("server_pem_path", str),
    "ca_pem_path": ("ca_pem_path", str),
    "client_pem_path": ("client_pem_path", str),
    "client_key_path": ("client_key_path", str),
}


class ConfigError(MigrateError):
    """A configuration file that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class ConfigFile:
    """A parsed configuration: top-level defaults and named environments."""

    path: Path
    text: str
    defaults: dict[str, Any] = field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    table: str = ""  # "tool.milvus-migrate." inside pyproject.toml, "" in milvus-migrate.toml


def find(directory: Path | None = None) -> Path | None:
    """milvus-migrate.toml in `directory` (default: the working directory), else a pyproject.toml with our table."""
    base = directory or Path.cwd()
    own = base / CONFIG_FILE
    if own.is_file():
        return own
    pyproject = base / PYPROJECT
    if pyproject.is_file() and re.search(r"^\s*\[tool\.milvus-migrate[\].]", _read(pyproject), re.M):
        return pyproject
    return None


def load(path: Path) -> ConfigFile:
    """Parse and check a configuration file; ConfigError naming file, line and key when it is wrong."""
    text = _read(path)
    try:
        data = _toml().loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError says "(at line N, column M)"
        raise ConfigError(f"{shown(path)}: not valid TOML: {exc}") from None
    table = ""
    if path.name == PYPROJECT:
        data = data.get("tool", {}).get("milvus-migrate", {})
        table = "tool.milvus-migrate."
    environments_raw = data.pop("environments", {})
    if not isinstance(environments_raw, dict):
        raise ConfigError(f"{_where(path, text, 'environments')}: environments must be a table of tables ([environments.NAME])")
    config = ConfigFile(path=path, text=text, table=table)
    config.defaults.update(_check(config, data, table))
    for name, values in environments_raw.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{_where(path, text, name)}: environments.{name} must be a table ([{table}environments.{name}])")
        config.environments[name] = _check(config, values, f"{table}environments.{name}.")
    return config


def resolve(config: ConfigFile | None, environment: str | None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The option values the file gives for `environment` (None: only the defaults), by option name."""
    environ = os.environ if environ is None else environ
    if config is None:
        if environment:
            raise ConfigError(
                f"--env {environment} needs a configuration file: none found ({CONFIG_FILE}, or [tool.milvus-migrate] in {PYPROJECT})"
            )
        return {}
    values = dict(config.defaults)
    if environment:
        if environment not in config.environments:
            known = ", ".join(sorted(config.environments)) or "none"
            raise ConfigError(
                f"{shown(config.path)}: no environment {environment!r}{did_you_mean(environment, config.environments)} "
                f"(environments: {known})"
            )
        values.update(config.environments[environment])
        values["variables"] = {**config.defaults.get("variables", {}), **config.environments[environment].get("variables", {})}
    if "token" in values:
        name = values["token"]
        if name not in environ:
            where = f"environment {environment!r}" if environment else "the configuration"
            raise ConfigError(f"{shown(config.path)}: {where} takes its token from ${name}, which is not set")
        values["token"] = environ[name]
    return values


def _check(config: ConfigFile, values: dict[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        where = _where(config.path, config.text, key)
        if key == "token":
            raise ConfigError(
                f"{where}: {prefix}token: a token does not belong in a file; put it in an environment variable "
                "and name that variable with token_env"
            )
        if key not in _KEYS:
            raise ConfigError(f"{where}: unknown key {prefix}{key}{did_you_mean(key, _KEYS)} (keys: {', '.join(_KEYS)})")
        option, expected = _KEYS[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            names = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            raise ConfigError(f"{where}: {prefix}{key} must be a {names}, not {type(value).__name__}")
        if key == "vars":
            bad = [k for k, v in value.items() if not isinstance(v, (str, int, float, bool))]
            if bad:
                raise ConfigError(f"{where}: {prefix}vars.{bad[0]} must be a string or number")
            value = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}
        out[option] = value
    return out


def _where(path: Path, text: str, key: str) -> str:
    """'FILE:LINE:COL' of the first line that sets `key` (TOML parsers report no positions)."""
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(rf"\s*(\[[^\]]*\.)?(\"?){re.escape(key)}\2\s*[=\].]", line)
        if match:
            return f"{shown(path)}:{number}:{line.index(key) + 1}"
    return shown(path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {shown(path)}: {exc.strerror or exc}") from None


def shown(path: Path) -> str:
    from milvus_migrate.files.loader import display_path

    return display_path(path)


def _toml() -> Any:
    # tomllib is in the standard library from Python 3.11; tomli is the same parser for 3.10.
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli

    return tomli

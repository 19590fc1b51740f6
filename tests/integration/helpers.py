"""Helpers shared by the integration tests that run the CLI as separate processes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def cli_command(backend: Any, directory: Path, *args: str) -> list[str]:
    """argv for `python -m milvus_migrate ARGS[0] <backend options> --dir DIRECTORY ARGS[1:]`."""
    return [sys.executable, "-m", "milvus_migrate", args[0], *backend.args(), "--dir", str(directory), *args[1:]]


def unbuffered_env() -> dict[str, str]:
    """The environment for a CLI subprocess whose output is read line by line as it comes."""
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def history_rows(cli: Any, directory: Path) -> list[tuple[int, str, int]]:
    """(version, direction, current_version) of every history record, via `history --format json`."""
    result = cli("history", "--format", "json", directory=directory)
    assert result.exit_code == 0, result.output
    return [(r["version"], r["direction"], r["current_version"]) for r in json.loads(result.stdout)]


def create_unmanaged(client: Any, name: str) -> None:
    """A minimal collection made by hand with pymilvus, as someone else's would be."""
    from pymilvus import DataType

    schema = client.create_schema()
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=schema)

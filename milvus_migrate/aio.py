"""The Python API for applications that run an event loop: `await milvus_migrate.aio.up(...)` at start-up.

Each function is named after its command, takes the migrations directory and the connection options the
CLI takes (as keywords), and returns the command's typed result or raises a MigrateError subclass
(`milvus_migrate.errors`) with data attributes. Nothing here configures logging or prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from milvus_migrate.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_HISTORY_COLLECTION,
    DEFAULT_URI,
    ConnectionSettings,
)

if TYPE_CHECKING:
    from milvus_migrate.commands import Options, RunReport, StatusReport
    from milvus_migrate.milvus.history import HistoryRecord
    from milvus_migrate.planning.runplan import RunPlan

__all__ = ["plan", "up", "down", "status", "history"]


def options(
    directory: str | Path = "migrations",
    *,
    uri: str = DEFAULT_URI,
    token: str = "",
    db_name: str = "default",
    variables: dict[str, str] | None = None,
    history_collection: str = DEFAULT_HISTORY_COLLECTION,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 120.0,
    lock_timeout: float = 60.0,
    **tls: Any,
) -> Options:
    """The options every function below takes, as the commands see them (TLS keywords as the CLI's)."""
    from pydantic import SecretStr

    from milvus_migrate.commands import Options

    settings = ConnectionSettings(uri=uri, token=SecretStr(token or ""), db_name=db_name, timeout=timeout, **tls)
    return Options(
        settings=settings,
        directory=Path(directory),
        variables=dict(variables or {}),
        history_collection=history_collection,
        concurrency=concurrency,
        lock_timeout=lock_timeout,
    )


async def plan(directory: str | Path = "migrations", *, to: int | None = None, down: bool = False, **kwargs: Any) -> RunPlan:
    """The run `up` (or `down`) would do: `.recovery`, `.steps`, `.ops`, `.destructive_ops`, `.is_empty`, `.to_json()`."""
    from milvus_migrate.commands import make_plan

    return (await make_plan(options(directory, **kwargs), to=to, down=down)).run


async def up(
    directory: str | Path = "migrations",
    *,
    to: int | None = None,
    allow_data_loss: bool = False,
    dry_run: bool = False,
    **kwargs: Any,
) -> RunReport:
    """Apply pending versions (to the latest, or `to`); returns what ran (`.steps`, `.final_version`)."""
    from milvus_migrate.commands import run
    from milvus_migrate.planning.ops import Direction

    return await run(options(directory, **kwargs), direction=Direction.UP, to=to, dry_run=dry_run, allow_data_loss=allow_data_loss)


async def down(
    directory: str | Path = "migrations",
    *,
    to: int | None = None,
    steps: int | None = None,
    allow_data_loss: bool = False,
    dry_run: bool = False,
    **kwargs: Any,
) -> RunReport:
    """Go back one version (or `steps`, or to version `to`)."""
    from milvus_migrate.commands import run
    from milvus_migrate.planning.ops import Direction

    return await run(
        options(directory, **kwargs), direction=Direction.DOWN, to=to, steps=steps, dry_run=dry_run, allow_data_loss=allow_data_loss
    )


async def status(directory: str | Path = "migrations", **kwargs: Any) -> StatusReport:
    """Where the database stands: `.current_version`, `.pending`, `.drift`, `.up_to_date`, `.last_failure`, …"""
    from milvus_migrate.commands import status as read_status

    return await read_status(options(directory, **kwargs))


async def history(directory: str | Path = "migrations", **kwargs: Any) -> list[HistoryRecord]:
    """Every recorded step, oldest first."""
    from milvus_migrate.commands import read_history

    return await read_history(options(directory, **kwargs))

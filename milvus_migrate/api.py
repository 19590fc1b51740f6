"""The Python API, synchronous: `milvus_migrate.up(directory="migrations", uri=...)` from scripts and tests.

Each function runs its twin in `milvus_migrate.aio` on a fresh event loop; inside a running loop, await
the twin instead. Results are typed (RunPlan, RunReport, StatusReport, HistoryRecord); failures raise the
tool's own exceptions (milvus_migrate.errors) with data attributes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from milvus_migrate import aio

if TYPE_CHECKING:
    from milvus_migrate.commands import RunReport, StatusReport
    from milvus_migrate.milvus.history import HistoryRecord
    from milvus_migrate.planning.runplan import RunPlan

T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()
    raise RuntimeError("an event loop is running here: await the same function from milvus_migrate.aio instead")


def plan(directory: str | Path = "migrations", **kwargs: Any) -> RunPlan:
    """The run `up` (or `down=True`) would do; see milvus_migrate.aio.plan."""
    return _run(aio.plan(directory, **kwargs))


def up(directory: str | Path = "migrations", **kwargs: Any) -> RunReport:
    """Apply pending versions; see milvus_migrate.aio.up."""
    return _run(aio.up(directory, **kwargs))


def down(directory: str | Path = "migrations", **kwargs: Any) -> RunReport:
    """Go back one version (or `steps`, or `to`); see milvus_migrate.aio.down."""
    return _run(aio.down(directory, **kwargs))


def status(directory: str | Path = "migrations", **kwargs: Any) -> StatusReport:
    """Where the database stands; see milvus_migrate.aio.status."""
    return _run(aio.status(directory, **kwargs))


def history(directory: str | Path = "migrations", **kwargs: Any) -> list[HistoryRecord]:
    """Every recorded step, oldest first; see milvus_migrate.aio.history."""
    return _run(aio.history(directory, **kwargs))

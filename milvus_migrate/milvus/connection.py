"""Open one AsyncMilvusClient for a command; pymilvus is imported here, lazily, and nowhere at CLI start."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milvus_migrate.config import ConnectionSettings
from milvus_migrate.errors import ConnectionFailed
from milvus_migrate.milvus import retry
from milvus_migrate.planning import capabilities
from milvus_migrate.planning.capabilities import Capabilities

# The first call after connecting (get_server_version) is bounded by this, so a dead URI fails fast.
CONNECT_TIMEOUT = 15.0
# pymilvus 3 does not retry a refused connection (its UNAVAILABLE recovery reconnects once, and that
# failure ends the call): connecting is retried, for at most min(CONNECT_TIMEOUT, --timeout) s.


@dataclass
class Session:
    """A connected client with the facts about its server."""

    client: Any
    caps: Capabilities
    settings: ConnectionSettings

    @property
    def offline(self) -> bool:
        """The Milvus Lite file does not exist: nothing has been created in it yet (LiteFileOnDemand)."""
        return isinstance(self.client, LiteFileOnDemand) and self.client.client is None

    async def create_collection(self, name: str, **kwargs: Any) -> None:
        """client.create_collection, recovering from what a killed Milvus Lite process leaves behind.

        Milvus Lite makes a collection's directory before it records the collection; a process killed
        in between leaves a directory that makes every later create fail with "File exists" although
        the collection does not exist. Only that directory, inside this database, is removed.
        """
        try:
            await self.client.create_collection(name, **kwargs)
        except Exception as exc:
            leftover = self._lite_leftover(name, exc)
            if leftover is None or await self.client.has_collection(name, timeout=self.settings.timeout):
                raise
            shutil.rmtree(leftover)
            await self.client.create_collection(name, **kwargs)

    def _lite_leftover(self, name: str, exc: BaseException) -> Path | None:
        if self.caps.backend != "lite":
            return None
        match = re.search(r"File exists: '([^']+)'", str(getattr(exc, "message", None) or exc))
        if match is None:
            return None
        path = Path(match[1]).resolve()
        inside = Path(self.settings.uri).resolve() in path.parents
        return path if inside and path.name == name and path.is_dir() else None

    def sync_client(self) -> Any:
        """A synchronous MilvusClient on the same server, for calls the async client gets wrong on Milvus Lite."""
        import_pymilvus()
        from pymilvus import MilvusClient

        return MilvusClient(**_client_kwargs(self.settings))


class LiteFileOnDemand:
    """The client of a Milvus Lite file that does not exist yet: an empty database until the first change.

    Opening a Lite path creates the file, so a read-only command (`plan`, `status`, `history`,
    `unlock`, `up --dry-run`, `down` with nothing to do) given a mistyped path would leave a new
    database behind. Until something is created, reads answer as an empty database does and drops
    have nothing to remove; the first call that creates something (`up`, `stamp`) opens the file.
    """

    _EMPTY: dict[str, Any] = {"list_collections": [], "has_collection": False, "has_partition": False,
                              "list_aliases": []}  # fmt: skip

    def __init__(self, settings: ConnectionSettings):
        self.settings = settings
        self.client: Any = None  # the AsyncMilvusClient, once the file exists
        self._opening = asyncio.Lock()

    def __getattr__(self, method: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.client is None:
                if method in self._EMPTY:
                    return self._EMPTY[method]
                if method == "close" or method.startswith(("drop_", "release_")):
                    return None
                if method.startswith(("describe_", "get_", "list_", "query", "search")):
                    # What Milvus answers for an object that does not exist: a MilvusException.
                    from pymilvus.exceptions import MilvusException

                    raise MilvusException(message=f"{method}: the Milvus Lite database {self.settings.uri} does not exist yet")
                async with self._opening:
                    if self.client is None:
                        from pymilvus import AsyncMilvusClient

                        self.client = AsyncMilvusClient(**_client_kwargs(self.settings))
            return await getattr(self.client, method)(*args, **kwargs)

        return call


@contextlib.asynccontextmanager
async def connect(settings: ConnectionSettings) -> AsyncIterator[Session]:
    """Connect, detect capabilities, yield a Session, and close the client.

    A Milvus Lite file that does not exist is not created here but by the first change (LiteFileOnDemand).
    """
    import_pymilvus()  # before any module imports pymilvus (lock, history, executor do, after connect)
    from pymilvus import AsyncMilvusClient

    if settings.is_lite and not Path(settings.uri).exists():
        if settings.db_name and settings.db_name != "default":  # a new Lite file holds only 'default'
            raise ConnectionFailed(_missing_database(settings))
        from importlib.metadata import version as package_version

        on_demand = LiteFileOnDemand(settings)
        lite = capabilities.from_version(f"milvus_lite-{package_version('milvus-lite')}")
        try:
            yield Session(client=on_demand, caps=lite, settings=settings)
        finally:
            with contextlib.suppress(Exception):
                await on_demand.close()
        return
    try:
        client = AsyncMilvusClient(**_client_kwargs(settings))
        version = await _server_version(client, min(CONNECT_TIMEOUT, settings.timeout))
    except Exception as exc:  # pymilvus raises many types here; all mean "could not connect"
        raise ConnectionFailed(_connection_message(settings, exc)) from None
    try:
        await client.list_collections(timeout=settings.timeout)
    except Exception as exc:
        detail = settings.scrub(getattr(exc, "message", None) or str(exc))
        with contextlib.suppress(Exception):
            await client.close()
        if "database" in detail.lower():
            raise ConnectionFailed(_missing_database(settings)) from None
        raise ConnectionFailed(f"cannot list collections at {settings.display_uri}: {detail}") from None
    try:
        yield Session(client=client, caps=capabilities.from_version(str(version)), settings=settings)
    finally:
        with contextlib.suppress(Exception):
            await client.close()


# Calls the tool makes expecting a refusal (a probe of a name that may not exist, a lock contender losing
# the race) run inside expected_failure(): pymilvus logs every failed RPC at ERROR with a traceback
# (decorators._log_rpc_error), which in an application using the Python API would read as a fault.
_EXPECTED_FAILURE: contextvars.ContextVar[bool] = contextvars.ContextVar("milvus_migrate_expected_failure", default=False)


class _DropExpectedFailures(logging.Filter):
    """Drops pymilvus's RPC error records emitted inside expected_failure() (only there: a context variable)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _EXPECTED_FAILURE.get()


_FILTER = _DropExpectedFailures()


@contextlib.contextmanager
def expected_failure() -> Iterator[None]:
    """Run calls whose refusal is an answer, not a fault, without pymilvus logging them as errors."""
    logger = logging.getLogger("pymilvus.decorators")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    token = _EXPECTED_FAILURE.set(True)
    try:
        yield
    finally:
        _EXPECTED_FAILURE.reset(token)


def import_pymilvus() -> None:
    """Import pymilvus with MILVUS_URI hidden from it; every module imports pymilvus after this ran.

    pymilvus reads MILVUS_URI (and its legacy MILVUS_DEFAULT_CONNECTION) when imported, for its ORM
    default connection, and rejects anything but http(s):// with "Illegal uri" — so a Milvus Lite path,
    which the tool accepts there like --uri (click has read it already), would fail every command
    (shared/milvus-capabilities.md, "More facts"). The variables are restored afterwards for templates.
    """
    if "pymilvus" in sys.modules:
        return
    hidden = {name: os.environ.pop(name) for name in ("MILVUS_URI", "MILVUS_DEFAULT_CONNECTION") if name in os.environ}
    try:
        import pymilvus  # noqa: F401
    finally:
        os.environ.update(hidden)


async def _server_version(client: Any, budget: float) -> Any:
    """The server's version; a refused or dropped connection is retried (retry.call) within `budget` s."""

    async def ask() -> Any:
        remaining = max(deadline - time.monotonic(), 1.0)
        return await asyncio.wait_for(client.get_server_version(timeout=remaining), remaining + 5)

    deadline = time.monotonic() + budget
    return await retry.call(ask, budget=budget)


def _client_kwargs(settings: ConnectionSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"uri": settings.uri, "timeout": settings.timeout}
    token = settings.token.get_secret_value()
    if token:
        kwargs["token"] = token
    if settings.db_name and settings.db_name != "default":
        kwargs["db_name"] = settings.db_name
    if settings.secure:
        kwargs["secure"] = True
    for key in ("server_name", "server_pem_path", "ca_pem_path", "client_pem_path", "client_key_path"):
        value = getattr(settings, key)
        if value:
            kwargs[key] = value
    return kwargs


def _missing_database(settings: ConnectionSettings) -> str:
    return f"database {settings.db_name!r} does not exist on {settings.display_uri}; create it first"


def _connection_message(settings: ConnectionSettings, exc: BaseException) -> str:
    detail = settings.scrub(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
    if settings.is_lite and "Open local milvus failed" in detail:
        return (
            f"cannot open Milvus Lite database {settings.uri}: another process holds it "
            "(Milvus Lite allows one process per .db file; stop that process or point --uri elsewhere)"
        )
    if isinstance(exc, asyncio.TimeoutError):
        detail = f"no answer within {CONNECT_TIMEOUT:.0f} s"
    first_line = detail.strip().splitlines()[0] if detail.strip() else type(exc).__name__
    return f"cannot connect to Milvus at {settings.display_uri}: {first_line}"

"""Shared fixtures: migration files in a temp dir, the CLI runner, and real Milvus backends."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from milvus_migrate.cli import main

pytest_plugins = ["pytester"]  # the pytest plugin milvus-migrate ships is tested as a user's suite would use it

SERVER_ENV = "MILVUS_MIGRATE_TEST_SERVER_URI"  # reuse a running 2.3.5 server instead of starting one


@pytest.fixture
def tmp_migrations(tmp_path: Path) -> Callable[..., Path]:
    """write(name, text, ...) puts dedented migration files into tmp_path/migrations and returns that dir."""
    directory = tmp_path / "migrations"
    directory.mkdir()

    def write(*files: tuple[str, str] | str, **named: str) -> Path:
        pairs = list(named.items())
        it = iter(files)
        pairs += list(zip(it, it))  # type: ignore[arg-type]
        for name, text in pairs:
            (directory / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return directory

    return write


@dataclass
class Backend:
    """One Milvus to run the CLI against: Milvus Lite in a temp dir, or a fresh database on the 2.3.5 server."""

    name: str
    uri: str
    db_name: str = "default"
    history: str = "milvus_migrate_history"
    _clients: list[Any] = field(default_factory=list)

    @property
    def is_lite(self) -> bool:
        return self.name == "lite"

    def args(self) -> list[str]:
        """The connection options of this backend, for CLI calls."""
        return ["--uri", self.uri, "--db-name", self.db_name, "--timeout", "60"]

    def client(self) -> Any:
        """A synchronous pymilvus client on this backend's database, for assertions."""
        from pymilvus import MilvusClient

        kwargs = {"uri": self.uri, "timeout": 60}
        if self.db_name != "default":
            kwargs["db_name"] = self.db_name
        client = MilvusClient(**kwargs)
        self._clients.append(client)
        return client

    def release_lite(self) -> None:
        """Let another process open the Milvus Lite file (Lite holds it per process)."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self.is_lite:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.uri)

    def aliases(self, collection: str) -> list[str]:
        """Aliases of a collection (2.3 answers list_aliases from the default database only)."""
        client = self.client()
        if self.is_lite:
            return sorted(client.list_aliases(collection_name=collection)["aliases"])
        return sorted(client.describe_collection(collection)["aliases"])

    def collections(self) -> list[str]:
        """Collections of this database other than milvus-migrate's own."""
        names = self.client().list_collections()
        return sorted(n for n in names if not n.startswith(self.history))


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI of a Milvus 2.3.5 standalone server started for this test session."""
    if os.environ.get(SERVER_ENV):
        yield os.environ[SERVER_ENV]
        return
    from tests.milvus_server import MilvusServer

    server = MilvusServer(tmp_path_factory.mktemp("milvus-server"))
    server.start(timeout=240)
    try:
        yield server.uri
    finally:
        server.stop()


BACKENDS = [
    pytest.param("lite", marks=pytest.mark.integration),
    pytest.param("server", marks=pytest.mark.integration),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each integration test runs on Milvus Lite and on the 2.3.5 server, each time from an empty database."""
    if request.param == "lite":
        b = Backend("lite", str(tmp_path / "milvus.db"))
        yield b
        b.release_lite()
        return
    uri = request.getfixturevalue("milvus_server")
    from pymilvus import MilvusClient

    db_name = f"t_{uuid.uuid4().hex[:12]}"
    admin = MilvusClient(uri=uri, timeout=60)
    admin.create_database(db_name)
    b = Backend("server", uri, db_name)
    try:
        yield b
    finally:
        b.release_lite()
        scoped = MilvusClient(uri=uri, db_name=db_name, timeout=60)
        for alias_owner in scoped.list_collections():
            for alias in scoped.describe_collection(alias_owner)["aliases"]:
                scoped.drop_alias(alias)
        for name in scoped.list_collections():
            scoped.drop_collection(name)
        scoped.close()
        admin.drop_database(db_name)
        admin.close()


@pytest.fixture
def cli(backend: Backend) -> Callable[..., Result]:
    """cli(*args, dir=…) runs milvus-migrate in-process against the backend."""
    runner = CliRunner()

    def run(*args: str, directory: Path | None = None, env: dict[str, str] | None = None) -> Result:
        command, rest = args[0], list(args[1:])
        full = [command, *backend.args()]
        if directory is not None:
            full += ["--dir", str(directory)]
        return runner.invoke(main, full + rest, env=env, catch_exceptions=False)

    return run

"""A pytest plugin for your own test suite (registered through the `pytest11` entry point).

    def test_search(milvus_db):                      # a fresh Milvus Lite database at the latest version
        client = MilvusClient(milvus_db)
        ...

    def test_migrations_are_reversible(milvus_migrations_dir):
        assert_versions_go_up_and_down(milvus_migrations_dir)

The migrations directory comes from the `milvus_migrate_dir` ini option (default `migrations`, relative to
the rootdir); override the `milvus_migrations_dir` fixture to choose another per test.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from milvus_migrate import api

INI_DIR = "milvus_migrate_dir"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI_DIR, "milvus-migrate: directory of the migration files (relative to the rootdir)", default="migrations")


@pytest.fixture
def milvus_migrations_dir(request: pytest.FixtureRequest) -> Path:
    """The project's migrations directory (ini option milvus_migrate_dir)."""
    return Path(request.config.rootpath) / str(request.config.getini(INI_DIR))


@pytest.fixture
def milvus_db(milvus_migrations_dir: Path, tmp_path: Path) -> Iterator[str]:
    """The URI of a fresh Milvus Lite database migrated to the latest version of the project's migrations."""
    uri = str(tmp_path / "milvus.db")
    api.up(milvus_migrations_dir, uri=uri)
    try:
        yield uri
    finally:
        release_lite(uri)


def release_lite(uri: str) -> None:
    """Let go of a Milvus Lite file this process opened (Lite allows one process per file)."""
    try:
        from milvus_lite.server_manager import server_manager_instance
    except ImportError:  # pragma: no cover - milvus-lite is a dependency; a stripped install may lack it
        return
    server_manager_instance.release_server(uri)


def assert_plan_empty(directory: str | Path = "migrations", **connection: Any) -> None:
    """Assert that Milvus matches the latest version: `plan` has no step (nothing pending, no drift) and no recovery."""
    from milvus_migrate import render

    run = api.plan(directory, **connection)
    assert run.is_empty, "milvus-migrate plan is not empty:\n" + render.render_plan(run, "text")


def assert_versions_go_up_and_down(directory: str | Path = "migrations", uri: str | None = None) -> None:
    """Assert that every version applies, then reverts, cleanly on a fresh Milvus Lite database.

    Up one version at a time (each followed by an empty plan), then down one at a time to nothing
    (each followed by an empty plan of that lower version). Data loss is allowed: the database is new.
    """
    from milvus_migrate.files import loader

    versions = loader.load_migrations(directory).versions
    with tempfile.TemporaryDirectory(prefix="milvus-migrate-") as scratch:
        target = uri or str(Path(scratch) / "roundtrip.db")
        try:
            for version in versions:
                api.up(directory, uri=target, to=version, allow_data_loss=True)
                _assert_at(directory, target, version, "up")
            for version in reversed(versions):
                report = api.down(directory, uri=target, allow_data_loss=True)
                _assert_at(directory, target, report.final_version, f"down from {version}")
        finally:
            if uri is None:
                release_lite(target)


def _assert_at(directory: str | Path, uri: str, version: int, what: str) -> None:
    status = api.status(directory, uri=uri)
    assert status.current_version == version, f"after {what}: the database is at {status.current_version}, not {version}"
    assert not status.drift, f"after {what}: Milvus differs from version {version}: " + "; ".join(
        d["description"] for d in status.drift
    )

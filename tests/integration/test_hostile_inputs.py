"""Broken and hostile input ends in FILE:LINE:COL messages, exit 1, no traceback and zero calls to Milvus.

The calls are counted by wrapping the real AsyncMilvusClient class (not a mock): every method call
made by the CLI goes through the counter. A valid control case proves the counter sees calls.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from milvus_migrate.cli import main

pytestmark = pytest.mark.integration
CORPUS = Path(__file__).resolve().parents[1] / "unit" / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.txt").exists())
MUTATING = {
    "create_collection", "drop_collection", "create_partition", "drop_partition", "create_index", "drop_index",
    "load_collection", "release_collection", "load_partitions", "release_partitions", "create_alias", "alter_alias",
    "drop_alias", "alter_collection_properties", "drop_collection_properties", "insert", "upsert", "delete",
    "add_collection_field", "create_database", "drop_database",
}  # fmt: skip


@pytest.fixture
def milvus_calls(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts every AsyncMilvusClient method call the CLI makes, by method name."""
    import pymilvus

    calls: Counter = Counter()
    real = pymilvus.AsyncMilvusClient

    class CountingClient(real):  # type: ignore[misc, valid-type]
        def __getattribute__(self, name: str):
            attribute = super().__getattribute__(name)
            if callable(attribute) and not name.startswith("_"):
                calls[name] += 1
            return attribute

    monkeypatch.setattr(pymilvus, "AsyncMilvusClient", CountingClient)
    return calls


def _up(directory: Path, uri: Path, *extra: str):
    return CliRunner().invoke(main, ["up", "--uri", str(uri), "--dir", str(directory), *extra])


def _assert_refused(result, milvus_calls: Counter) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert sum(milvus_calls[m] for m in MUTATING) == 0
    assert sum(milvus_calls.values()) == 0  # validation runs before any connection


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_before_milvus_is_touched(case, tmp_path, monkeypatch, milvus_calls):
    shutil.copytree(CORPUS / case, tmp_path / "m", ignore=shutil.ignore_patterns("expected.txt"))
    monkeypatch.chdir(tmp_path / "m")
    expected = (CORPUS / case / "expected.txt").read_text().splitlines()

    result = _up(Path("."), tmp_path / "milvus.db")

    _assert_refused(result, milvus_calls)
    lines = result.stderr.splitlines()
    assert lines[:-1] == expected
    errors = [line for line in expected if ": warning: " not in line]  # warnings are shown, not counted
    assert lines[-1] == f"Error: {len(errors)} problem(s) in migration files; nothing was changed."


def _huge_file(d: Path) -> None:
    (d / "0001_huge.yaml").write_text("description: x\n" + "# padding\n" * 200_000)


def _deep_nesting(d: Path) -> None:
    (d / "0001_deep.yaml").write_text("collections: " + "[" * 5000 + "]" * 5000 + "\n")


def _alias_bomb(d: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    (d / "0001_bomb.yaml").write_text("\n".join(lines) + "\n")


def _symlink_loop(d: Path) -> None:
    shutil.rmtree(d)
    d.symlink_to(d)


def _file_instead_of_directory(d: Path) -> None:
    shutil.rmtree(d)
    d.write_text("not a directory\n")


def _dangling_symlink(d: Path) -> None:
    (d / "0001_gone.yaml").symlink_to(d / "nowhere.yaml")


def _directory_named_like_a_file(d: Path) -> None:
    (d / "0001_dir.yaml").mkdir()


HOSTILE = {
    "huge_file": (_huge_file, "0001_huge.yaml: file is 2000015 bytes; migration files are limited to 1048576"),
    "deep_nesting": (_deep_nesting, "0001_deep.yaml:1:1: YAML nested too deeply"),
    "alias_bomb": (_alias_bomb, "0001_bomb.yaml:"),
    "symlink_loop": (_symlink_loop, "migrations: migrations directory is a dangling symbolic link or a symbolic link loop"),
    "file_instead_of_directory": (_file_instead_of_directory, "migrations: migrations directory not found"),
    "dangling_symlink": (_dangling_symlink, "0001_gone.yaml: not a regular file"),
    "directory_named_like_a_file": (_directory_named_like_a_file, "0001_dir.yaml: not a regular file"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_migration_directories_are_refused(case, tmp_path, monkeypatch, milvus_calls):
    directory = tmp_path / "migrations"
    directory.mkdir()
    make, expected_start = HOSTILE[case]
    make(directory)
    monkeypatch.chdir(tmp_path)

    result = _up(Path("migrations"), tmp_path / "milvus.db")

    _assert_refused(result, milvus_calls)
    first = result.stderr.splitlines()[0]
    assert first.startswith(expected_start if "/" in expected_start or expected_start.startswith("migrations") else f"migrations/{expected_start}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory, so an unreadable one cannot be made")
def test_unreadable_directory_is_refused(tmp_path, monkeypatch, milvus_calls):
    directory = tmp_path / "migrations"
    directory.mkdir()
    directory.chmod(0)
    monkeypatch.chdir(tmp_path)
    try:
        result = _up(Path("migrations"), tmp_path / "milvus.db")
    finally:
        directory.chmod(0o755)
    _assert_refused(result, milvus_calls)
    assert "cannot read the migrations directory" in result.stderr


def test_counter_sees_the_calls_of_a_valid_run(tmp_path, milvus_calls):
    """Control: the same wrapper counts real mutating calls when the input is valid."""
    repo_migrations = Path(__file__).resolve().parents[2] / "migrations"
    result = _up(repo_migrations, tmp_path / "milvus.db")
    assert result.exit_code == 0, result.output
    assert milvus_calls["create_collection"] >= 1 and milvus_calls["create_alias"] >= 1
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(tmp_path / "milvus.db"))

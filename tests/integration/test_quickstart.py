"""examples/quickstart end to end: the real CLI applies migrations/, then the quickstart script uses the data.

Both run as subprocesses on one Milvus Lite file, one after the other (Lite allows one process per file).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "quickstart" / "quickstart.py"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=150)


def _cli() -> list[str]:
    found = shutil.which("milvus-migrate", path=str(Path(sys.executable).parent)) or shutil.which("milvus-migrate")
    return [found] if found else [sys.executable, "-m", "milvus_migrate"]


def test_quickstart_runs_on_the_migrated_schema(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", migrations)
    uri = str(tmp_path / "milvus.db")

    up = _run([*_cli(), "up", "--uri", uri, "--dir", str(migrations)], cwd=tmp_path)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "The database is now at version 2." in up.stdout, up.stdout

    quick = _run([sys.executable, str(SCRIPT), "--uri", uri], cwd=tmp_path)
    out = quick.stdout
    assert quick.returncode == 0, out + quick.stderr
    assert "loaded my_collection: Loaded" in out, out
    assert "inserted 10000 rows" in out, out

    count = re.search(r'count\(\*\) where text like "%random%": (\d+) \(expected (\d+)\)', out)
    assert count, out
    assert int(count.group(1)) == int(count.group(2)) == 5000, out

    for title in ("dense search", "sparse search", "hybrid search (RRF)"):
        hits = re.search(rf"^{re.escape(title)}: (\d+) hits$", out, re.MULTILINE)
        assert hits, f"no {title} line in:\n{out}"
        assert int(hits.group(1)) == 5, out
    # Every printed hit is a row the script inserted.
    ids = [int(i) for i in re.findall(r"^  id=(\d+) ", out, re.MULTILINE)]
    assert len(ids) == 9 and all(0 <= i < 10_000 for i in ids), out


def test_quickstart_fails_without_migrations(tmp_path: Path) -> None:
    quick = _run([sys.executable, str(SCRIPT), "--uri", str(tmp_path / "empty.db")], cwd=tmp_path)
    assert quick.returncode == 1
    assert "milvus-migrate up" in quick.stderr

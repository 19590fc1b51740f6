"""examples/*/run.py end to end, each as a user runs it: a subprocess on a fresh Milvus Lite file, and on
the 2.3.5 server where the example runs there too (hybrid-rag needs BM25, which 2.3 lacks)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Backend

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]


def _example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MILVUS_URI"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name / "run.py"), *args],
        capture_output=True, text=True, timeout=200, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error:" not in done.stderr, done.stderr
    return done


def _connection(backend: Backend) -> list[str]:
    return ["--uri", backend.uri, "--db-name", backend.db_name]


def test_hybrid_rag_keeps_its_rows_across_versions_and_searches_through_the_alias(tmp_path: Path) -> None:
    out = _example("hybrid-rag", "--uri", str(tmp_path / "rag.db")).stdout
    assert "plan: 2 pending steps" in out and "destructive: False" in out, out
    assert "the database is at version 3" in out and "rows through the alias rag: 6" in out, out
    # The filtered hybrid search through the alias answers from faq.md only, best match first.
    after = out.split("on rag where source == \"faq.md\":\n", 1)[1].splitlines()[:3]
    assert after[0] == "  faq.md: A partition key spreads tenants over partitions automatically.", out
    assert all(line.startswith("  faq.md: ") for line in after), out
    assert "status: version 3 of 3, up to date: True" in out, out


def test_multi_tenant_searches_see_only_their_tenant(backend: Backend) -> None:
    out = _example("multi-tenant", *_connection(backend)).stdout
    assert "The database is now at version 2." in out, out
    assert "plan after up: empty" in out, out
    for line in ["acme: 5 rows, search returned 5 hits of tenants ['acme']",
                 "globex: 3 rows, search returned 3 hits of tenants ['globex']",
                 "initech: 2 rows, search returned 2 hits of tenants ['initech']"]:  # fmt: skip
        assert line in out, out


def test_blue_green_moves_the_alias_forward_back_and_forward(backend: Backend) -> None:
    out = _example("blue-green", *_connection(backend)).stdout
    searches = re.findall(r"search docs_live \(dim (\d+)\) '[^']+': \['(blue|green): ", out)
    # v1 blue, v2 still blue (green is being backfilled), v3 green, down: blue, v4: green.
    assert searches == [("8", "blue"), ("8", "blue"), ("16", "green"), ("8", "blue"), ("16", "green")], out
    assert "down: the database is at version 2" in out and "up refused: the plan would lose data" in out, out
    assert "status: version 4 of 4, up to date: True" in out, out
    assert "docs_blue" not in backend.collections() and "docs_green" in backend.collections()


def test_environments_pick_their_target_from_the_configuration_file(backend: Backend) -> None:
    prod = ["--prod-uri", backend.uri, "--prod-db-name", backend.db_name] if not backend.is_lite else []
    out = _example("environments", *prod).stdout
    assert "(environment dev of milvus-migrate.toml)" in out and "dev.db" in out, out
    assert "dev: version 1, up to date: True, dev.db exists: True" in out, out
    assert "takes its token from $MILVUS_PROD_TOKEN, which is not set" in out, out
    if not backend.is_lite:
        assert "prod: version 1, up to date: True, backend: Milvus 2.3.5" in out, out
        assert f"at {backend.uri}, database {backend.db_name} (environment prod of milvus-migrate.toml)" in out, out

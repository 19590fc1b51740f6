"""An `up` SIGKILLed at several points, then rerun, converges with a consistent history and keeps data.

Each case applies version 1 and inserts rows into `docs`, then runs `milvus-migrate up -v` (versions
2 and 3) in its own process and SIGKILLs it when the executor reports a chosen event (`up --events`,
read through a named pipe as it is written): a "start" event kills *during* that operation, a "done"
event after it, and a "recorded" event between versions.

A SIGKILLed run cannot release the deployment lock; the rerun takes it over with no `unlock`
(its holder is a dead process on this host; test_concurrency.py covers holders it cannot see die,
whose lease must run out first).

Milvus Lite lets only one process open the .db file: the test process releases it
(backend.release_lite) before starting the `up` that gets killed, and after the kill runs the
CLI in-process (CliRunner) for the checks and the rerun.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import (
    EventRun,
    at,
    cli_command,
    history_rows,
    run_until_event,
)

pytestmark = pytest.mark.integration

V1 = """
description: docs collection
collections:
  docs:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 8}
    indexes:
      - {field_name: embedding, index_type: HNSW, metric_type: L2, params: {M: 8, efConstruction: 64}}
    load: true
"""
_DOCS_V2 = """
  docs:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 8}
    partitions: [p2025]
    indexes:
      - {field_name: embedding, index_type: HNSW, metric_type: L2, params: {M: 8, efConstruction: 64}}
    load: true
  notes:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: vec, type: FLOAT_VECTOR, dim: 4}
    indexes:
      - {field_name: vec, index_type: FLAT, metric_type: L2}
    load: true
"""
V2 = "description: notes collection; a partition for docs\ncollections:" + _DOCS_V2
V3 = (
    "description: tags collection\ncollections:"
    + _DOCS_V2
    + """
  tags:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: tag, type: VARCHAR, max_length: 64}
      - {name: vec, type: FLOAT_VECTOR, dim: 4}
    indexes:
      - {field_name: vec, index_type: IVF_FLAT, metric_type: L2, params: {nlist: 16}}
      - {field_name: tag, index_type: AUTOINDEX}
"""
)

# What each version adds: collection -> index names (= field names); version 2 also adds docs.p2025.
ADDED = {1: {"docs": {"embedding"}}, 2: {"notes": {"vec"}}, 3: {"tags": {"vec", "tag"}}}
DOCS_ROWS = 300

# (executor event to kill at, versions that may be recorded when the kill lands)
KILL_POINTS = {
    "during-create-collection": (at("start", "create_collection", "notes"), [[1]]),
    "during-index-build": (at("start", "create_index", "notes"), [[1]]),
    "during-load": (at("start", "load_collection", "notes"), [[1]]),
    # v2's operations all finished; its history record may or may not have been written.
    "after-ops-before-record": (at("done", "load_collection", "notes"), [[1], [1, 2]]),
    # v2 recorded, v3 not started.
    "between-versions": (at("recorded", version=2), [[1, 2]]),
    # two index builds of the last version in flight at once.
    "during-last-version-index-builds": (at("start", "create_index", "tags"), [[1, 2]]),
}


@pytest.fixture
def crash_set(tmp_migrations: Callable[..., Path]) -> Path:
    return tmp_migrations("0001_docs.yaml", V1, "0002_notes.yaml", V2, "0003_tags.yaml", V3)








def _up_killed_at(backend: Any, directory: Path, point: Callable[[dict[str, Any]], bool]) -> tuple[int, str]:
    """Run `up -v` and SIGKILL it as soon as the executor reports the event `point`; (pid, output so far)."""
    proc, output = run_until_event(
        cli_command(backend, directory, "up", "-v"), point, directory.parent / "events.jsonl", lambda p: p.kill()
    )
    returncode = proc.wait(30)
    assert returncode == -9, f"`up` was not killed while running (exit {returncode}):\n{output}"
    return proc.pid, output


def _count(backend: Any, client: Any, collection: str) -> int:
    if backend.is_lite:  # a collection with an index starts not loaded in every new Lite process
        client.load_collection(collection)
    return client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]


def _assert_versions_applied(backend: Any, versions: list[int]) -> None:
    """Every object that `versions` add exists (and, on the server, is loaded)."""
    client = backend.client()
    for version in versions:
        for collection, indexes in ADDED[version].items():
            assert client.has_collection(collection), f"version {version} recorded but {collection} missing"
            assert set(client.list_indexes(collection)) == indexes, (version, collection)
            # Lite forgets load state between processes; tags is not declared loaded (keeps the test fast).
            if not backend.is_lite and collection != "tags":
                assert client.get_load_state(collection)["state"].name == "Loaded", (version, collection)
        if version == 2:
            assert "p2025" in client.list_partitions("docs")


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_up_killed_then_rerun_converges(backend, cli, crash_set, point):
    event, may_be_recorded = KILL_POINTS[point]
    first = cli("up", "--to", "1", directory=crash_set)
    assert first.exit_code == 0, first.output
    client = backend.client()
    client.insert("docs", [{"id": i, "embedding": [float(i % 7)] * 8} for i in range(DOCS_ROWS)])
    client.flush("docs")
    assert _count(backend, client, "docs") == DOCS_ROWS
    backend.release_lite()  # Lite: let the `up` process open the file

    pid, output = _up_killed_at(backend, crash_set, event)

    # The killed process is gone; the rest runs in this process (on Lite too: the file is free now).
    # What a crash leaves: a history prefix in which every recorded version is complete.
    recorded = history_rows(cli, crash_set)
    versions = [v for v, _, _ in recorded]
    assert versions in may_be_recorded, output
    assert recorded == [(v, "up", v) for v in versions]
    _assert_versions_applied(backend, versions)

    # The killed run still holds the lock: the rerun takes it over by itself, well within its timeout.
    assert f", pid {pid}, since " in json.loads(cli("status", "--format", "json", directory=crash_set).stdout)["lock_holder"]
    rerun = cli("up", "--lock-timeout", "5", directory=crash_set)
    assert rerun.exit_code == 0, f"{output}\n--- rerun ---\n{rerun.output}"
    assert "The database is now at version 3." in rerun.stdout

    assert history_rows(cli, crash_set) == [(1, "up", 1), (2, "up", 2), (3, "up", 3)]
    status = json.loads(cli("status", "--format", "json", directory=crash_set).stdout)
    assert (status["current_version"], status["pending"], status["lock_holder"]) == (3, [], None)
    assert status["unmanaged_collections"] == []
    if not backend.is_lite:  # Lite reports load drift in a new process (load state is per process)
        assert status["drift"] == []
    _assert_versions_applied(backend, [1, 2, 3])
    client = backend.client()
    assert sorted(client.list_collections()) == sorted(["docs", "notes", "tags", backend.history])
    assert _count(backend, client, "docs") == DOCS_ROWS  # the collection already applied kept every row


def test_rerun_while_an_interrupted_load_is_still_loading_converges(backend, cli, crash_set):
    """The server-during-load case made deterministic: a load outlives the killed client that started it,
    and 2.3 answers describe_replica with "failed to get channels, collection not loaded" while it runs."""
    if backend.is_lite:
        pytest.skip(reason="Milvus Lite loads before load_collection returns: nothing is left loading")
    assert cli("up", "--to", "1", directory=crash_set).exit_code == 0
    client = backend.client()
    client.insert("docs", [{"id": i, "embedding": [float(i % 7)] * 8} for i in range(DOCS_ROWS)])
    client.flush("docs")
    client.release_collection("docs")
    client.load_collection("docs", _async=True)  # what a client killed during load_collection leaves
    assert client.get_load_state("docs")["state"].name == "Loading"

    rerun = cli("up", "--lock-timeout", "5", directory=crash_set)

    assert rerun.exit_code == 0, rerun.output
    assert history_rows(cli, crash_set) == [(1, "up", 1), (2, "up", 2), (3, "up", 3)]
    assert json.loads(cli("status", "--format", "json", directory=crash_set).stdout)["drift"] == []
    _assert_versions_applied(backend, [1, 2, 3])
    assert _count(backend, client, "docs") == DOCS_ROWS


def test_sigterm_cancels_up_and_releases_the_lock(backend, cli, crash_set):
    """What Kubernetes or systemd send on shutdown: the run stops, the lock is released, a rerun continues."""
    backend.release_lite()
    run = EventRun(cli_command(backend, crash_set, "up", "-v"), crash_set.parent / "events.jsonl")
    run.until(at("start", "create_index", "docs"))
    run.proc.terminate()
    returncode = run.finish(120)
    output = run.text()

    assert returncode == 1, output
    assert "Error: interrupted; the deployment lock was released" in output
    assert "Traceback" not in output
    status = json.loads(cli("status", "--format", "json", directory=crash_set).stdout)
    assert status["lock_holder"] is None
    rerun = cli("up", "--lock-timeout", "1", directory=crash_set)
    assert rerun.exit_code == 0, rerun.output
    assert history_rows(cli, crash_set) == [(1, "up", 1), (2, "up", 2), (3, "up", 3)]
    after = json.loads(cli("status", "--format", "json", directory=crash_set).stdout)
    assert after["drift"] == []

"""The Milvus 2.3.5 server fails under a running `up`: killed, briefly unreachable, or refusing a request.

* Killed (SIGKILL of the whole server) at a chosen point of `milvus-migrate up -v --timeout 20` (an
  executor event, `up --events`): the interrupted run exits 1 quickly with an `Error: …` message (no
  traceback, no hang); after a restart (the URI changes) the interrupted run's deployment lock is
  still there, and the next `up` takes it over by itself (its holder's process has exited) and
  converges with a consistent history. The rows of the collection the plan did not touch survive.
* Unreachable (a TCP proxy written here that resets every connection while it is "down"): an outage
  of ~3 s at the start of `up` is retried; an outage longer than `--timeout` ends in a one-line error.
* Refusing (a load of two replicas, which a standalone server with one query node refuses and nothing
  before the load can know): not retried, reported with the server's reason, the version not recorded.

The server is private to this module because the tests kill it; every test uses its own database.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import EventRun, at, unbuffered_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TIMEOUT = "20"  # --timeout of every `up` here: the bound of one Milvus call
DOCS_ROWS = 300

_DOCS = """
  docs:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 8}
    indexes:
      - {field_name: embedding, index_type: HNSW, metric_type: L2, params: {M: 8, efConstruction: 64}}
    load: true
"""
_NOTES = """
  notes:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: vec, type: FLOAT_VECTOR, dim: 4}
    indexes:
      - {field_name: vec, index_type: FLAT, metric_type: L2}
    load: true
"""
_TAGS = """
  tags:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: tag, type: VARCHAR, max_length: 64}
      - {name: vec, type: FLOAT_VECTOR, dim: 4}
    indexes:
      - {field_name: vec, index_type: IVF_FLAT, metric_type: L2, params: {nlist: 16}}
      - {field_name: tag, index_type: AUTOINDEX}
    load: true
"""
# Two replicas on a standalone server with one query node: only the load finds out ("nodes not enough").
_BAD_PQ = """
  pq:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: vec, type: FLOAT_VECTOR, dim: 8}
    indexes:
      - {field_name: vec, index_type: IVF_FLAT, metric_type: L2, params: {nlist: 16}}
    load: {replica_number: 2}
"""
THREE_VERSIONS = {
    "0001_docs.yaml": "description: docs\ncollections:" + _DOCS,
    "0002_notes.yaml": "description: notes\ncollections:" + _DOCS + _NOTES,
    "0003_tags.yaml": "description: tags\ncollections:" + _DOCS + _NOTES + _TAGS,
}
# What each version adds: collection -> its indexes (named after their fields).
ADDED = {1: {"docs": {"embedding"}}, 2: {"notes": {"vec"}}, 3: {"tags": {"vec", "tag"}}}

# Kill point -> (the executor event to kill the server at, versions recorded when it lands).
KILL_POINTS = {
    "during-index-build": (at("start", "create_index", "notes"), [1]),
    "during-load": (at("start", "load_collection", "notes"), [1]),
    "between-versions": (at("recorded", version=2), [1, 2]),
}


# ---------------------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A private 2.3.5 server (these tests kill it); a short session TTL makes a restart take ~25 s."""
    from tests.milvus_server import MilvusServer

    srv = MilvusServer(tmp_path_factory.mktemp("faults-server"), extra_config={"common.session.ttl": 10})
    srv.start(timeout=240)
    try:
        yield srv
    finally:
        srv.kill()  # its data is thrown away; stop() would wait ~20 s for 2.3.5 to exit on SIGTERM


@pytest.fixture
def db(server: Any) -> str:
    """A fresh database on the private server."""
    from pymilvus import MilvusClient

    name = f"f_{uuid.uuid4().hex[:12]}"
    admin = MilvusClient(uri=server.uri, timeout=30)
    admin.create_database(name)
    admin.close()
    return name


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory




def _command(uri: str, db: str, directory: Path, command: str, *args: str) -> list[str]:
    base = [sys.executable, "-m", "milvus_migrate", command, "--uri", uri, "--db-name", db, "--dir", str(directory)]
    return [*base, *(args if "--timeout" in args else ("--timeout", TIMEOUT, *args))]


def _mm(uri: str, db: str, directory: Path, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(uri, db, directory, command, *args), capture_output=True, text=True, env=unbuffered_env(), timeout=180
    )


def _client(uri: str, db: str) -> Any:
    from pymilvus import MilvusClient

    return MilvusClient(uri=uri, db_name=db, timeout=30)


def _history(uri: str, db: str, directory: Path) -> list[tuple[int, str, int]]:
    result = _mm(uri, db, directory, "history", "--format", "json")
    assert result.returncode == 0, result.stderr
    return [(r["version"], r["direction"], r["current_version"]) for r in json.loads(result.stdout)]


def _count(client: Any, collection: str) -> int:
    rows = client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return rows[0]["count(*)"]


def _assert_one_error(stderr: str, stdout: str) -> list[str]:
    """The run failed with `Error: …` lines and no traceback; returns the lines from 'Error:' on."""
    assert "Traceback" not in stderr + stdout, stderr
    lines = stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Error: ")]
    assert len(starts) == 1, stderr
    return lines[starts[0] :]


def _wait_loaded(client: Any, collections: list[str], timeout: float = 90) -> float:
    """Wait until every collection reports Loaded; returns the seconds waited."""
    started = time.monotonic()
    while True:
        states = {c: client.get_load_state(c)["state"].name for c in collections}
        if all(s == "Loaded" for s in states.values()):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, states
        time.sleep(0.5)


def _assert_applied(client: Any, versions: list[int]) -> None:
    """Every object `versions` add exists and is loaded."""
    for version in versions:
        for collection, indexes in ADDED[version].items():
            assert client.has_collection(collection), f"version {version} recorded but {collection} missing"
            assert set(client.list_indexes(collection)) == indexes, (version, collection)
            assert client.get_load_state(collection)["state"].name == "Loaded", (version, collection)


def _kill_server_at(server: Any, command: list[str], point: Callable[[dict[str, Any]], bool],
                    events: Path) -> tuple[subprocess.Popen[str], float, str, str]:  # fmt: skip
    """Run `command --events EVENTS`, kill the server as soon as the executor reports the event `point`.

    Returns (process, seconds from the kill to the process's exit, stdout, stderr).
    """
    run = EventRun(command, events, merge=False)
    try:
        run.until(point)
        server.kill()
        killed_at = time.monotonic()
        run.finish(120)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(30)
    return run.proc, time.monotonic() - killed_at, "".join(run.stdout), "".join(run.stderr)


# ---------------------------------------------------------------------------- (1) server killed
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_server_killed_during_up_then_restarted_converges(server, db, tmp_path, point):
    kill_at, recorded_at_kill = KILL_POINTS[point]
    directory = _write(tmp_path / "migrations", THREE_VERSIONS)
    first = _mm(server.uri, db, directory, "up", "--to", "1")
    assert first.returncode == 0, first.stderr
    client = _client(server.uri, db)
    client.insert("docs", [{"id": i, "embedding": [float(i % 7)] * 8} for i in range(DOCS_ROWS)])
    client.flush("docs")
    assert _count(client, "docs") == DOCS_ROWS
    client.close()

    proc, exit_seconds, out, err = _kill_server_at(
        server, _command(server.uri, db, directory, "up", "-v"), kill_at, tmp_path / "events.jsonl"
    )

    # The interrupted run fails at once (pymilvus fails a call on a dead server), never hangs.
    assert proc.returncode == 1, out + err
    assert exit_seconds < 2 * float(TIMEOUT) + 10, (exit_seconds, err)
    error = _assert_one_error(err, out)
    assert "server unavailable" in error[0], err
    if point == "between-versions":
        assert "applied 0002_notes" in out  # shown as soon as it was recorded, before the failure
        # The kill lands while version 3 reads the live state (no operation running: the connection
        # was lost) or during its first operation (that operation failed, version 3 not recorded).
        if not error[0].startswith("Error: lost the connection to Milvus: Fail connecting to server on "):
            assert error[0].startswith("Error: up 0003_tags failed at: "), err
            assert "Version 3 was not recorded" in error[-1], err
    else:
        assert error[0].startswith("Error: up 0002_notes failed at: "), err
        assert "Version 2 was not recorded" in error[-1], err

    started = time.monotonic()
    server.restart(timeout=180)
    restart_seconds = time.monotonic() - started
    uri = server.uri  # changes on restart

    # What the crash left: a history prefix in which every recorded version is complete. (After a
    # restart Milvus reloads the collections that were loaded; wait for that before checking.)
    assert _history(uri, db, directory) == [(v, "up", v) for v in recorded_at_kill]
    client = _client(uri, db)
    reload_seconds = _wait_loaded(client, [c for v in recorded_at_kill for c in ADDED[v]])
    _assert_applied(client, recorded_at_kill)

    # The interrupted run could not release the deployment lock (Milvus was gone); its process has
    # exited, so the rerun takes the lock over by itself, with no `unlock`.
    left = json.loads(_mm(uri, db, directory, "status", "--format", "json").stdout)["lock_holder"]
    assert f", pid {proc.pid}, since " in left, left

    started = time.monotonic()
    rerun = _mm(uri, db, directory, "up", "--lock-timeout", "5")
    rerun_seconds = time.monotonic() - started
    assert rerun.returncode == 0, f"{out}{err}\n--- rerun ---\n{rerun.stdout}{rerun.stderr}"
    assert "The database is now at version 3." in rerun.stdout

    assert _history(uri, db, directory) == [(1, "up", 1), (2, "up", 2), (3, "up", 3)]
    status = json.loads(_mm(uri, db, directory, "status", "--format", "json").stdout)
    assert (status["current_version"], status["pending"], status["drift"]) == (3, [], [])
    assert (status["lock_holder"], status["unmanaged_collections"]) == (None, [])
    _assert_applied(client, [1, 2, 3])
    assert sorted(client.list_collections()) == ["docs", "milvus_migrate_history", "notes", "tags"]
    assert _count(client, "docs") == DOCS_ROWS  # untouched by the plan: every row survived
    client.close()
    print(
        f"{point}: `up` exited {exit_seconds:.1f} s after the kill; restart {restart_seconds:.1f} s, "
        f"reload {reload_seconds:.1f} s, rerun {rerun_seconds:.1f} s; {error[0][:60]}…"
    )


# ---------------------------------------------------------------------------- (2) server unreachable
class FlakyProxy:
    """A TCP proxy on 127.0.0.1 (asyncio, in a thread); while down it resets every new connection."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.down_until = 0.0
        self.reset = 0  # connections reset while down
        self.forwarded = 0
        self.port = 0
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "proxy did not start"

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def down_for(self, seconds: float, drop_existing: bool = False) -> None:
        """Refuse new connections for `seconds`; with drop_existing, also reset the open ones (a server restart)."""
        self.down_until = time.monotonic() + seconds
        if drop_existing:
            self._loop.call_soon_threadsafe(lambda: [w.transport.abort() for w in list(self._open)])

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self.down_until:
            self.reset += 1
            writer.transport.abort()  # RST, as from a server that is restarting
            return
        self.forwarded += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        def stop() -> None:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)


@pytest.fixture
def proxy(server: Any) -> Iterator[FlakyProxy]:
    p = FlakyProxy(server.proxy_port)
    try:
        yield p
    finally:
        p.close()


def test_outage_at_start_of_up_is_retried(server, db, proxy, tmp_path):
    directory = _write(tmp_path / "migrations", {k: THREE_VERSIONS[k] for k in ("0001_docs.yaml", "0002_notes.yaml")})
    proxy.down_for(3)
    started = time.monotonic()

    result = _mm(proxy.uri, db, directory, "up")

    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The database is now at version 2." in result.stdout
    assert proxy.reset >= 1 and proxy.forwarded >= 1  # it really met the outage, then got through
    assert elapsed >= 2.5, elapsed
    assert _history(server.uri, db, directory) == [(1, "up", 1), (2, "up", 2)]
    client = _client(server.uri, db)
    _assert_applied(client, [1, 2])
    client.close()
    print(f"`up` through a 3 s outage: {elapsed:.1f} s, {proxy.reset} connection(s) reset")


def test_outage_in_the_middle_of_up_is_retried(server, db, proxy, tmp_path):
    """Open connections reset and new ones refused for 3 s while `up` runs: the executor retries, `up` succeeds."""
    directory = _write(tmp_path / "migrations", {k: THREE_VERSIONS[k] for k in ("0001_docs.yaml", "0002_notes.yaml")})
    command = [sys.executable, "-m", "milvus_migrate", "up", "-v", "--uri", proxy.uri, "--db-name", db,
               "--dir", str(directory), "--timeout", "30"]  # fmt: skip
    run = EventRun(command, tmp_path / "events.jsonl")
    run.until(at("done", "create_collection", "notes"))
    proxy.down_for(3, drop_existing=True)
    returncode = run.finish(120)
    output = run.text()

    assert returncode == 0, output
    assert proxy.reset >= 1, output  # the outage really happened during the run
    assert "The database is now at version 2." in output
    assert _history(server.uri, db, directory) == [(1, "up", 1), (2, "up", 2)]


def test_outage_longer_than_timeout_fails_clearly(server, db, proxy, tmp_path):
    directory = _write(tmp_path / "migrations", {"0001_docs.yaml": THREE_VERSIONS["0001_docs.yaml"]})
    proxy.down_for(3600)
    started = time.monotonic()

    result = _mm(proxy.uri, db, directory, "up", "--timeout", "5")

    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed < 5 + 15, elapsed  # bounded by --timeout, plus interpreter start
    assert proxy.reset >= 2  # retried before giving up
    assert _assert_one_error(result.stderr, result.stdout) == [
        f"Error: cannot connect to Milvus at {proxy.uri}: Fail connecting to server on 127.0.0.1:{proxy.port}, "
        "illegal connection params or server unavailable"
    ]
    client = _client(server.uri, db)
    assert client.list_collections() == []  # nothing happened
    client.close()
    print(f"`up --timeout 5` against a dead proxy failed after {elapsed:.1f} s, {proxy.reset} attempt(s)")


# ---------------------------------------------------------------------------- (3) server refuses
def test_an_operation_the_server_refuses_is_reported_not_retried_not_recorded(server, db, tmp_path):
    directory = _write(
        tmp_path / "migrations",
        {
            "0001_docs.yaml": THREE_VERSIONS["0001_docs.yaml"],
            "0002_pq.yaml": "description: a load 2.3.5 standalone rejects\ncollections:" + _DOCS + _BAD_PQ,
        },
    )
    validated = subprocess.run(
        [sys.executable, "-m", "milvus_migrate", "validate", "--dir", str(directory)], capture_output=True, text=True
    )
    assert validated.returncode == 0, validated.stderr  # the offline validator accepts it
    started = time.monotonic()

    result = _mm(server.uri, db, directory, "up")

    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed < float(TIMEOUT), elapsed  # a refusal is not retried until --timeout
    assert "applied 0001_docs" in result.stdout
    error = _assert_one_error(result.stderr, result.stdout)
    assert error[0].startswith("Error: up 0002_pq failed at: load pq with 2 replica(s)"), error
    assert "nodes not enough" in error[0]  # the server's reason
    assert "Version 2 was not recorded" in error[-1]
    assert _history(server.uri, db, directory) == [(1, "up", 1), (2, "failed", 1)]  # the failed attempt is visible
    status = json.loads(_mm(server.uri, db, directory, "status", "--format", "json").stdout)
    assert (status["current_version"], status["lock_holder"]) == (1, None)  # the failed run released the lock
    print(f"refused load reported after {elapsed:.1f} s")

"""Start and stop a real Milvus 2.3.5 standalone server (PyPI ``milvus==2.3.5``) for tests.

Each :class:`MilvusServer` owns one data dir and runs on its own free ports, so several servers
(e.g. pytest-xdist workers) can run side by side. Quirks of the ``milvus`` wrapper package that
this module works around (see /work/shared/milvus-capabilities.md):

* ``milvus-server`` is a Python wrapper that spawns the real ``milvus`` binary as a child and, when
  that child dies, keeps waiting forever. We therefore start the server through a tiny launcher
  (this file run with ``--launch``) that drives the *same* wrapper classes, but exits with the
  binary's exit code, reaps it, and kills it if our test process disappears.
* The wrapper probes each port by binding it (without SO_REUSEADDR) and silently moves on to the
  next port if that fails -- a restart right after a stop then came up on shifted ports and
  panicked on a clash. The launcher passes the ports as *explicit* config values, which makes the
  wrapper fail hard instead of shifting; we then retry on fresh ports.
* The metrics/healthz port is picked by the wrapper from 9091 upwards (racy with concurrent
  starts); the launcher pins it to a port we chose.
* The embedded etcd's peer port is 2380 unless ``ETCD_CONFIG_PATH`` names an etcd embed config,
  so we always write one.

Run ``python tests/milvus_server.py`` for a smoke test (two servers, kill, restart).
"""

from __future__ import annotations

import atexit
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import weakref
from pathlib import Path
from typing import Any

# Port flags of ``milvus-server`` (wrapper config keys); every one gets a fresh port per start.
PORT_KEYS: tuple[str, ...] = (
    "proxy_port",
    "etcd_port",
    "root_coord_port",
    "proxy_internal_port",
    "query_coord_port",
    "query_node_port",
    "index_coord_port",
    "index_node_port",
    "data_coord_port",
    "data_node_port",
)
# Service ports come from below the Linux ephemeral range (32768+) so outgoing connections
# cannot grab them between our check and the server's bind; the etcd peer port comes from a
# disjoint range, "well away" from the others.
_SERVICE_PORT_RANGE = (20000, 32000)
_PEER_PORT_RANGE = (12000, 19000)
_START_ATTEMPTS = 3  # retries on fresh ports when a start fails with a port clash
_LOG_TAIL_LINES = 40
_STOP_GRACE_S = 20.0

_live_servers: "weakref.WeakSet[MilvusServer]" = weakref.WeakSet()


def _port_free(port: int) -> bool:
    """Return True if ``port`` can be bound on all interfaces, exactly as the wrapper checks it."""
    # No SO_REUSEADDR on purpose: the wrapper binds without it, so a port with sockets still in
    # TIME_WAIT (e.g. right after a kill) counts as busy for it and must count as busy here too.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("", port))
        except OSError:
            return False
    return True


def _pick_ports(count: int, port_range: tuple[int, int], taken: set[int]) -> list[int]:
    """Pick ``count`` random free ports from ``port_range``, at least 2 apart from ``taken`` and each other."""
    rng = random.SystemRandom()
    chosen: list[int] = []
    for _ in range(count * 200):
        if len(chosen) == count:
            break
        port = rng.randrange(*port_range)
        if any(abs(port - other) < 2 for other in (*taken, *chosen)):
            continue
        if _port_free(port):
            chosen.append(port)
    if len(chosen) < count:
        raise RuntimeError(f"could not find {count} free ports in {port_range}")
    return chosen


def _group_alive(pgid: int) -> bool:
    """Return True while any non-zombie process is left in process group ``pgid``."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: fall back to signal 0 (counts zombies as alive)
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Format: "pid (comm) state ppid pgrp ..."; comm may contain spaces, so split after ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class MilvusServer:
    """A Milvus 2.3.5 standalone server in its own process group, on free ports, with its own data dir.

    ``uri`` and ``proxy_port`` are set by :meth:`start` and CAN CHANGE on :meth:`restart` (fresh
    ports are used when the old ones are not free yet, e.g. TIME_WAIT after a kill), so clients must
    re-read ``uri`` after a restart.
    """

    def __init__(self, data_dir: Path, extra_config: dict[str, Any] | None = None) -> None:
        """Remember the data dir and optional milvus.yaml overrides (dotted keys); nothing starts yet."""
        self.data_dir = Path(data_dir).resolve()
        # E.g. {"common.session.ttl": 10}: a restart waits until the previous run's etcd sessions
        # expire -- after kill(), and after stop() too, because 2.3.5 panics during shutdown before
        # revoking them all. Default TTL 30 s => ~55 s restart; TTL 10 s => ~25 s.
        self.extra_config = dict(extra_config or {})
        self.log_path = self.data_dir / "milvus-server.log"
        self.ports: dict[str, int] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self.start_seconds: float | None = None  # duration of the last successful start

    # ------------------------------------------------------------------ properties
    @property
    def proxy_port(self) -> int:
        """gRPC/HTTP port clients connect to."""
        if not self.ports:
            raise RuntimeError("server has not been started")
        return self.ports["proxy_port"]

    @property
    def uri(self) -> str:
        """Client URI, e.g. ``http://127.0.0.1:23456`` (may change on restart)."""
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def pid(self) -> int | None:
        """PID of the launcher process, which is also the process-group id; None when stopped."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """True while the launcher (and hence the milvus binary) is alive."""
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 180.0) -> None:
        """Start on fresh free ports and block until the server answers; RuntimeError on failure."""
        self._start(timeout, reuse_ports=False)

    def restart(self, timeout: float = 180.0) -> None:
        """Stop if running, then start again on the same data dir (same ports if still free, else fresh)."""
        self.stop()
        self._start(timeout, reuse_ports=True)

    def stop(self) -> None:
        """SIGTERM the whole process group, wait up to ~20 s, then SIGKILL it. Idempotent."""
        self._terminate(signal.SIGTERM, _STOP_GRACE_S)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (simulated crash) and wait until it is gone."""
        self._terminate(signal.SIGKILL, 30.0)

    def __enter__(self) -> "MilvusServer":
        """Start (unless already running) and return self."""
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        """Stop the server."""
        self.stop()

    # ------------------------------------------------------------------ internals
    def _start(self, timeout: float, reuse_ports: bool) -> None:
        """Run start attempts until one is ready; only port clashes are retried (on fresh ports)."""
        if self.running:
            raise RuntimeError(f"server already running (pid {self.pid})")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        deadline = began + timeout
        ports = self.ports if reuse_ports and self.ports and all(map(_port_free, self.ports.values())) else {}
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.ports = ports or self._fresh_ports()
            self._spawn()
            error = self._wait_ready(deadline)
            if error is None:
                self.start_seconds = time.monotonic() - began
                return
            self._terminate(signal.SIGKILL, 30.0)
            log_text = self._start_log()
            clash = "address already in use" in log_text or "bind failed" in log_text
            if not clash or attempt == _START_ATTEMPTS or time.monotonic() >= deadline:
                raise RuntimeError(
                    f"Milvus server in {self.data_dir} failed to start ({error}); ports {self.ports}; "
                    f"log {self.log_path}:\n{self._failure_summary(log_text)}"
                )
            ports = {}  # a concurrent process grabbed one of our ports: retry on fresh ones

    def _fresh_ports(self) -> dict[str, int]:
        """Choose a free port for every port flag, plus metrics and a far-away etcd peer port."""
        service = _pick_ports(len(PORT_KEYS) + 1, _SERVICE_PORT_RANGE, set())
        (peer,) = _pick_ports(1, _PEER_PORT_RANGE, set(service))
        ports = dict(zip(PORT_KEYS, service))
        ports["metrics_port"] = service[-1]
        ports["etcd_peer_port"] = peer
        return ports

    def _write_etcd_config(self) -> Path:
        """Write the etcd embed config; without it the peer port is the fixed 2380 and servers clash."""
        peer = f"http://127.0.0.1:{self.ports['etcd_peer_port']}"
        client = f"http://127.0.0.1:{self.ports['etcd_port']}"
        path = self.data_dir / "etcd-embed.yaml"
        path.write_text(
            "name: default\n"
            f"listen-peer-urls: {peer}\n"
            f"initial-advertise-peer-urls: {peer}\n"
            f"initial-cluster: default={peer}\n"
            f"listen-client-urls: {client}\n"
            f"advertise-client-urls: {client}\n",
            encoding="utf-8",
        )
        return path

    def _spawn(self) -> None:
        """Launch the wrapper via our launcher in a new session, logging to ``log_path``."""
        env = dict(os.environ, ETCD_CONFIG_PATH=str(self._write_etcd_config()))
        spec = {"data_dir": str(self.data_dir), "ports": self.ports, "extra_config": self.extra_config}
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start, ports {self.ports}\n".encode())
            log.flush()
            self._log_offset = log.tell()
            self._proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--launch", json.dumps(spec)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own process group: stop()/kill() signal launcher + binary
            )
        _live_servers.add(self)

    def _wait_ready(self, deadline: float) -> str | None:
        """Poll until ready; return None when ready, else a short reason (exited / timed out)."""
        from pymilvus import (
            MilvusClient,  # lazy: the launcher process must not pay for it
        )

        assert self._proc is not None
        health_url = f"http://127.0.0.1:{self.ports['metrics_port']}/healthz"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return f"process exited with code {self._proc.returncode}"
            if self._accepts(self.proxy_port) and self._healthy(health_url):
                # Short per-call timeouts: without them pymilvus retries UNAVAILABLE ~75 times.
                try:
                    client = MilvusClient(self.uri, timeout=3)
                    try:
                        client.get_server_version(timeout=3)
                        return None
                    finally:
                        client.close()
                except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
                    pass
            time.sleep(0.5)
        return "timed out waiting for the proxy port and get_server_version()"

    @staticmethod
    def _accepts(port: int) -> bool:
        """Return True if something accepts TCP connections on 127.0.0.1:port."""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    @staticmethod
    def _healthy(url: str) -> bool:
        """Return True if Milvus' /healthz says OK (all components up, as the wrapper itself checks)."""
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return b"OK" in resp.read()
        except Exception:  # noqa: BLE001 - connection refused, HTTP 500 while starting, ...
            return False

    def _start_log(self) -> str:
        """Everything the launcher and the binary wrote during the current start attempt."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(self._log_offset)
                return fh.read().decode("utf-8", "replace")
        except OSError as exc:
            return f"<cannot read {self.log_path}: {exc}>"

    @staticmethod
    def _failure_summary(log_text: str) -> str:
        """Panic/fatal lines (a Go panic is followed by a goroutine dump longer than the tail) + the tail."""
        lines = log_text.splitlines()
        key_lines = [ln for ln in lines if ln.startswith(("panic:", "fatal error:")) or "bind failed" in ln]
        head = "".join(f"{ln[:500]}\n" for ln in key_lines[:5])
        tail = "\n".join(ln[:500] for ln in lines[-_LOG_TAIL_LINES:])
        return f"{head}--- last {_LOG_TAIL_LINES} lines of the log ---\n{tail}"

    def _terminate(self, sig: signal.Signals, grace: float) -> None:
        """Send ``sig`` to the process group, wait ``grace`` s, then SIGKILL it and wait until it is gone."""
        proc = self._proc
        if proc is None:
            return
        pgid = proc.pid  # start_new_session=True: launcher pid == process group id
        if not self._signal_and_wait(proc, pgid, sig, grace):
            with self.log_path.open("a", encoding="utf-8") as log:  # explain the abrupt end of the log
                log.write(f"\n=== still running {grace:.0f}s after {sig.name}: sending SIGKILL to the group\n")
            if not self._signal_and_wait(proc, pgid, signal.SIGKILL, 30.0):
                raise RuntimeError(f"process group {pgid} of Milvus server in {self.data_dir} did not exit")
        self._proc = None
        _live_servers.discard(self)

    @staticmethod
    def _signal_and_wait(proc: subprocess.Popen[bytes], pgid: int, sig: signal.Signals, wait_s: float) -> bool:
        """Signal the group; return True once the launcher is reaped and no group member is left."""
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        end = time.monotonic() + wait_s
        while True:
            proc.poll()  # reap the launcher so it does not linger as a zombie
            if proc.returncode is not None and not _group_alive(pgid):
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.1)


@atexit.register
def _stop_leftovers() -> None:
    """Kill servers a test forgot to stop, so no orphan milvus binaries outlive the test process."""
    for server in list(_live_servers):
        try:
            server.kill()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


# ---------------------------------------------------------------------------- launcher
def _launch(spec: dict[str, Any]) -> int:
    """Run the ``milvus-server`` wrapper with pinned ports; return the milvus binary's exit code."""
    import threading

    import milvus  # the PyPI wrapper package, version 2.3.5

    ports = dict(spec["ports"])
    metrics_port = ports.pop("metrics_port")
    ports.pop("etcd_peer_port")  # used only through ETCD_CONFIG_PATH
    # Ports given as config kwargs (not CLI defaults) make the wrapper raise "bind failed" instead of
    # silently shifting them by one.
    config = milvus.MilvusServerConfig(data_dir=spec["data_dir"], **ports)
    # debug=True: the binary inherits our stdout/stderr (the log file) and wrapper steps are logged.
    server = milvus.MilvusServer(config, wait_for_started=False, debug=True)
    server.webservice_port = metrics_port  # wrapper would otherwise probe 9091 upwards (racy)
    for key, value in spec["extra_config"].items():
        config.set(key, value)  # unknown dotted keys become milvus.yaml overrides, as --extra-config does
    if not _port_free(metrics_port):
        print(f"bind failed: metrics port {metrics_port} is in use", flush=True)
        return 98
    # The group SIGTERM from stop() reaches the binary directly; we only keep waiting so that we
    # reap it and exit after it (stop() then knows the binary is gone).
    signal.signal(signal.SIGTERM, lambda *_: None)
    server.start()
    child = server.server_proc
    print(f"milvus binary pid {child.pid}, metrics port {server.webservice_port}", flush=True)
    parent = os.getppid()

    def watch_parent() -> None:
        """If the test process dies without stop(), terminate the binary instead of orphaning it."""
        while child.poll() is None:
            if os.getppid() != parent:
                child.terminate()
                try:
                    child.wait(timeout=_STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    child.kill()
                return
            time.sleep(1)

    threading.Thread(target=watch_parent, daemon=True).start()
    code = child.wait()
    print(f"milvus binary exited with code {code}", flush=True)
    server.server_proc = None  # already reaped; keep the wrapper's __del__/stop() from touching it
    return code if code >= 0 else 128 - code


# ---------------------------------------------------------------------------- smoke test
def _smoke() -> None:
    """Two concurrent servers, create/describe/drop, kill + restart keeps data, stop all, no orphans."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from pymilvus import DataType, MilvusClient

    def make_schema(client: MilvusClient) -> Any:
        """Tiny schema: INT64 pk + 4-dim float vector."""
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
        return schema

    with tempfile.TemporaryDirectory(prefix="milvus-smoke-") as tmp:
        a = MilvusServer(Path(tmp) / "a")
        b = MilvusServer(Path(tmp) / "b")
        t0 = time.monotonic()
        # Start both concurrently: proves the two sets of ports (and etcd peer ports) do not clash.
        with ThreadPoolExecutor(2) as pool:
            for fut in [pool.submit(a.start), pool.submit(b.start)]:
                fut.result()
        print(f"both started in {time.monotonic() - t0:.1f}s (a {a.start_seconds:.1f}s, b {b.start_seconds:.1f}s)")
        try:
            for server in (a, b):
                client = MilvusClient(server.uri, timeout=10)
                print(f"{server.uri} pid {server.pid} version {client.get_server_version(timeout=10)!r}")
                client.create_collection("tmp_c", schema=make_schema(client), timeout=30)
                assert client.describe_collection("tmp_c", timeout=10)["fields"][1]["params"]["dim"] == 4
                client.drop_collection("tmp_c", timeout=30)
                assert "tmp_c" not in client.list_collections(timeout=10)
                client.create_collection("keep_me", schema=make_schema(client), timeout=30)
                client.close()

            old_uri = a.uri
            t0 = time.monotonic()
            a.kill()
            print(f"killed a in {time.monotonic() - t0:.1f}s; restarting on the same data dir")
            a.restart()
            print(f"a restarted in {a.start_seconds:.1f}s, uri {old_uri} -> {a.uri}")
            client = MilvusClient(a.uri, timeout=10)
            assert "keep_me" in client.list_collections(timeout=10), client.list_collections()
            client.close()
            print("collection created before the kill survived the restart")
            client = MilvusClient(b.uri, timeout=10)  # b unaffected by a's crash
            assert "keep_me" in client.list_collections(timeout=10)
            client.close()
        finally:
            t0 = time.monotonic()
            a.stop()
            b.stop()
            print(f"stopped both in {time.monotonic() - t0:.1f}s")
        leftovers = subprocess.run(["ps", "-eo", "pid,pgid,args"], capture_output=True, text=True).stdout
        orphans = [line for line in leftovers.splitlines() if tmp in line]
        assert not orphans, f"orphan processes: {orphans}"
        print("no orphan processes; smoke test passed")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--launch":
        sys.exit(_launch(json.loads(sys.argv[2])))
    _smoke()

"""Benchmark `milvus-migrate up` and `plan` against hand-written pymilvus scripts on a Milvus 2.3.5 server.

For each N in --sizes, N collections (INT64 pk, FLOAT_VECTOR dim 8, VARCHAR; HNSW index; loaded) are
created, in the same run and each time in a fresh database, by:

* `milvus-migrate up`  the real CLI as a subprocess, on a generated migration file (one version, N collections);
                       then `milvus-migrate plan --detailed-exitcode` on the result (must report no changes);
* (a) baseline_sync.py  a sequential synchronous MilvusClient script making the same calls;
* (b) baseline_async.py an AsyncMilvusClient script, asyncio.gather under a semaphore of --concurrency (8).

Every workload is a subprocess, so each time includes interpreter start, imports and connecting.
Medians of --repeat runs are printed as a markdown table with the ratios a/up and up/b.

Then `plan` is timed alone at N = --plan-sizes (default 10 and 200) on cheaper collections (same
schema and HNSW index, no load), to show how plan cost grows with N.

Without --uri, a Milvus 2.3.5 server is started for the run (tests.milvus_server.MilvusServer) and
stopped afterwards. Run from anywhere: `python benchmarks/bench_up.py --quick`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PREFIX = "bench_"
HISTORY = "milvus_migrate_history"


# --------------------------------------------------------------------------- migration files


def migration_text(n: int, load: bool) -> str:
    """One version declaring n collections like the baselines create."""
    lines = [f"description: benchmark, {n} collections{'' if load else ' (not loaded)'}", "collections:"]
    for i in range(n):
        lines += [
            f"  {PREFIX}{i:04d}:",
            "    fields:",
            "      - {name: id, type: INT64, is_primary: true}",
            "      - {name: vec, type: FLOAT_VECTOR, dim: 8}",
            "      - {name: title, type: VARCHAR, max_length: 128}",
            "    indexes:",
            "      - {field_name: vec, index_type: HNSW, metric_type: L2, params: {M: 8, efConstruction: 64}}",
        ]
        if load:
            lines.append("    load: true")
    return "\n".join(lines) + "\n"


def write_migrations(parent: Path, n: int, load: bool) -> Path:
    directory = parent / f"migrations_{n}_{'loaded' if load else 'cheap'}"
    if not directory.exists():
        directory.mkdir(parents=True)
        (directory / "0001_bench.yaml").write_text(migration_text(n, load), encoding="utf-8")
    return directory


# --------------------------------------------------------------------------- databases


@contextlib.contextmanager
def fresh_database(uri: str, tag: str, expect: int | None = None) -> Iterator[str]:
    """A new database for one run; on exit checks `expect` collections exist (and are loaded) and drops it."""
    from pymilvus import MilvusClient

    db_name = f"b_{tag}_{uuid.uuid4().hex[:8]}"
    admin = MilvusClient(uri=uri, timeout=120)
    admin.create_database(db_name, timeout=120)
    try:
        yield db_name
        if expect is not None:
            problem = asyncio.run(_check(uri, db_name, expect))
            if problem:
                raise RuntimeError(f"{tag}: {problem}")
    finally:
        asyncio.run(_drop_everything(uri, db_name))
        admin.drop_database(db_name, timeout=120)
        admin.close()


async def _check(uri: str, db_name: str, expect: int) -> str | None:
    from pymilvus import AsyncMilvusClient

    client = AsyncMilvusClient(uri=uri, db_name=db_name, timeout=120)
    try:
        names = [n for n in await client.list_collections() if n.startswith(PREFIX)]
        if len(names) != expect:
            return f"expected {expect} collections, found {len(names)}"
        states = await asyncio.gather(*(client.get_load_state(n) for n in names))
        not_loaded = [n for n, s in zip(names, states) if s["state"].name != "Loaded"]
        return f"not loaded: {', '.join(sorted(not_loaded)[:5])}…" if not_loaded else None
    finally:
        await client.close()


async def _drop_everything(uri: str, db_name: str) -> None:
    from pymilvus import AsyncMilvusClient

    client = AsyncMilvusClient(uri=uri, db_name=db_name, timeout=120)
    limit = asyncio.Semaphore(16)

    async def drop(name: str) -> None:
        async with limit:
            for alias in (await client.describe_collection(name)).get("aliases") or []:
                await client.drop_alias(alias)
            await client.drop_collection(name)

    try:
        await asyncio.gather(*(drop(n) for n in await client.list_collections()))
    finally:
        await client.close()


# --------------------------------------------------------------------------- workloads


def cli_command() -> list[str]:
    found = shutil.which("milvus-migrate", path=str(Path(sys.executable).parent)) or shutil.which("milvus-migrate")
    return [found] if found else [sys.executable, "-m", "milvus_migrate"]


def timed(args: list[str], ok_codes: tuple[int, ...] = (0,)) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    if proc.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(args[:3])}… exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc.stdout + proc.stderr


@dataclass
class Samples:
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, seconds: float) -> None:
        self.values.setdefault(key, []).append(seconds)

    def median(self, key: str) -> float:
        return statistics.median(self.values[key])


def run_up_and_plan(uri: str, directory: Path, n: int, concurrency: int, samples: Samples, log: list[str]) -> None:
    with fresh_database(uri, f"up{n}", expect=n) as db:
        conn = ["--uri", uri, "--db-name", db, "--dir", str(directory), "--concurrency", str(concurrency)]
        seconds, out = timed([*cli_command(), "up", *conn])
        samples.add(f"up/{n}", seconds)
        step = re.search(r"applied 0001_bench \((\d+) operations, ([\d.]+) s\)", out)
        if step:
            samples.add(f"up-step/{n}", float(step.group(2)))
        log.append(f"up N={n}: {seconds:.2f} s ({step.group(0) if step else out.strip()[-200:]})")
        # --detailed-exitcode: 0 means the plan is empty, as it must be right after `up`.
        seconds, out = timed([*cli_command(), "plan", "--detailed-exitcode", *conn])
        samples.add(f"plan/{n}", seconds)
        log.append(f"plan N={n}: {seconds:.2f} s")


def run_baseline(kind: str, uri: str, n: int, concurrency: int, samples: Samples, log: list[str]) -> None:
    with fresh_database(uri, f"{kind}{n}", expect=n) as db:
        args = [sys.executable, str(HERE / f"baseline_{kind}.py"), "--uri", uri, "--db-name", db, "--n", str(n)]
        if kind == "async":
            args += ["--concurrency", str(concurrency)]
        seconds, out = timed(args)
        samples.add(f"{kind}/{n}", seconds)
        log.append(f"{kind} N={n}: {seconds:.2f} s ({out.strip()})")


def run_plan_scaling(uri: str, work: Path, n: int, repeat: int, concurrency: int, samples: Samples, log: list[str]) -> None:
    directory = write_migrations(work, n, load=False)
    with fresh_database(uri, f"plan{n}") as db:
        conn = ["--uri", uri, "--db-name", db, "--dir", str(directory), "--concurrency", str(concurrency)]
        seconds, _ = timed([*cli_command(), "up", *conn])
        log.append(f"setup up N={n} (not loaded): {seconds:.2f} s")
        for _ in range(repeat):
            seconds, _ = timed([*cli_command(), "plan", "--detailed-exitcode", *conn])
            samples.add(f"plan-scale/{n}", seconds)
            log.append(f"plan N={n} (not loaded): {seconds:.2f} s")


# --------------------------------------------------------------------------- report


def report(samples: Samples, sizes: list[int], plan_sizes: list[int], repeat: int, concurrency: int) -> str:
    out = [
        f"| N | `up` | `plan` (after up) | (a) sync sequential | (b) async gather, c={concurrency} | a / up | up / b |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        up, plan = samples.median(f"up/{n}"), samples.median(f"plan/{n}")
        a, b = samples.median(f"sync/{n}"), samples.median(f"async/{n}")
        out.append(f"| {n} | {up:.2f} s | {plan:.2f} s | {a:.2f} s | {b:.2f} s | {a / up:.2f}× | {up / b:.2f}× |")
    out.append("")
    out.append(f"Medians of {repeat} run(s); every time is a whole subprocess (interpreter start, imports, connect).")
    steps = [n for n in sizes if f"up-step/{n}" in samples.values]
    if steps:
        parts = [f"N={n}: {samples.median(f'up-step/{n}'):.2f} s of {samples.median(f'up/{n}'):.2f} s" for n in steps]
        out.append("`up`'s own step time (read live state, apply, record history; as printed by `up`): " + "; ".join(parts) + ".")
    if len(plan_sizes) >= 2 and all(f"plan-scale/{n}" in samples.values for n in plan_sizes):
        lo, hi = min(plan_sizes), max(plan_sizes)
        t_lo, t_hi = samples.median(f"plan-scale/{lo}"), samples.median(f"plan-scale/{hi}")
        marginal = (t_hi - t_lo) / (hi - lo) * 1000
        out += [
            "",
            "| `plan`, collections with HNSW index, not loaded | time |",
            "|---|---:|",
            f"| N={lo} | {t_lo:.2f} s |",
            f"| N={hi} | {t_hi:.2f} s |",
            f"| ratio N={hi} / N={lo} ({hi // lo}× the collections) | {t_hi / t_lo:.2f}× |",
            f"| marginal cost per extra collection | {marginal:.1f} ms |",
        ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", help="a running Milvus 2.3.5 server (default: start one for this run)")
    parser.add_argument("--sizes", default="10,50", help="comma-separated N values (default 10,50)")
    parser.add_argument("--plan-sizes", default="10,200", help="N values for the plan-only timing (default 10,200)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload; medians are reported (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="for up, plan and baseline (b) (default 8)")
    parser.add_argument("--quick", action="store_true", help="smoke run: N=5, plan at N=5 and 20, repeat 1")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    plan_sizes = [int(s) for s in args.plan_sizes.split(",") if s.strip()]
    repeat = args.repeat
    if args.quick:
        sizes, plan_sizes, repeat = [5], [5, 20], 1

    import logging

    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    server = None
    uri = args.uri
    if not uri:
        sys.path.insert(0, str(ROOT))
        from tests.milvus_server import MilvusServer

        data = Path(tempfile.mkdtemp(prefix="bench-milvus-"))
        server = MilvusServer(data)
        print(f"starting Milvus 2.3.5 in {data} …", flush=True)
        server.start(timeout=240)
        uri = server.uri
    started = time.monotonic()
    samples, log = Samples(), []
    try:
        from pymilvus import MilvusClient

        version = MilvusClient(uri=uri, timeout=30).get_server_version()
        print(f"server {uri} version {version}; sizes {sizes}, plan sizes {plan_sizes}, repeat {repeat}", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
            work = Path(tmp)
            workloads = ["up", "sync", "async"]
            for rep in range(repeat):
                # Rotate the order each repeat so slow drift of the machine does not favour one workload.
                order = workloads[rep % 3 :] + workloads[: rep % 3]
                for n in sizes:
                    for kind in order:
                        if kind == "up":
                            run_up_and_plan(uri, write_migrations(work, n, load=True), n, args.concurrency, samples, log)
                        else:
                            run_baseline(kind, uri, n, args.concurrency, samples, log)
                        print(f"  [{time.monotonic() - started:6.0f} s] {log[-1] if kind != 'up' else log[-2]}", flush=True)
            for n in plan_sizes:
                run_plan_scaling(uri, work, n, repeat, args.concurrency, samples, log)
                print(f"  [{time.monotonic() - started:6.0f} s] {log[-1]}", flush=True)
    finally:
        if server is not None:
            server.stop()
    print()
    print(f"Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; machine: {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; Milvus {version}; total {time.monotonic() - started:.0f} s")
    print(f"Command: python benchmarks/bench_up.py {' '.join(sys.argv[1:])}")
    print()
    print(report(samples, sizes, plan_sizes, repeat, args.concurrency))
    print()
    print("Runs:")
    for line in log:
        print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where does `milvus-migrate up` spend its time? A timeline of every Milvus call of one in-process `up`.

Runs `up` in this process (the CLI's own entry point) on a fresh database with N collections like
bench_up.py, after wrapping every coroutine method of pymilvus's AsyncMilvusClient (and asyncio.sleep
inside pymilvus) to record start, end, method and collection. Nothing in milvus_migrate is patched,
so the script survives moves of the tool's modules. Printed:

* the time to import the CLI and pymilvus (process start itself is `python -c pass`, measured apart);
* per method: calls, summed and wall time (union of intervals), first start and last end;
* the phases of `up` reconstructed from the calls: connect, lock (marker, alias, renew), reads
  (history + live state), applying the collections, the history collection, recording, releasing;
* the time with no Milvus call in flight (client-side work or waiting on nothing).

    python benchmarks/profile_up.py --uri http://127.0.0.1:19530 --n 50 [--concurrency 8] [--cprofile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
T0 = time.perf_counter()
CALLS: list[tuple[float, float, str, str, bool]] = []  # start, end, method, first argument, ok
SLEEPS: list[tuple[float, float]] = []


def _instrument() -> None:
    import inspect

    from pymilvus import AsyncMilvusClient

    def wrap(name: str, fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        async def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            started, ok = time.perf_counter(), False
            try:
                result = await fn(self, *args, **kwargs)
                ok = True
                return result
            finally:
                target = args[0] if args and isinstance(args[0], str) else str(kwargs.get("collection_name", ""))
                CALLS.append((started - T0, time.perf_counter() - T0, name, target, ok))

        return wrapper

    for name, fn in list(vars(AsyncMilvusClient).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(fn) and name != "close":
            setattr(AsyncMilvusClient, name, wrap(name, fn))

    import pymilvus.client.async_grpc_handler as handler

    real_sleep = asyncio.sleep

    async def sleep(delay, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return await real_sleep(delay, *args, **kwargs)
        finally:
            SLEEPS.append((started - T0, time.perf_counter() - T0))

    class _Asyncio:  # the handler's `asyncio` module, with sleep recorded
        def __getattr__(self, attr):  # type: ignore[no-untyped-def]
            return sleep if attr == "sleep" else getattr(asyncio, attr)

    handler.asyncio = _Asyncio()  # type: ignore[assignment]


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, e in sorted(intervals):
        if s > end:
            total += e - s
            end = e
        elif e > end:
            total += e - end
            end = e
    return total


def _phase(calls: list[tuple[float, float, str, str, bool]]) -> str:
    if not calls:
        return "-"
    s, e = min(c[0] for c in calls), max(c[1] for c in calls)
    return f"{s:7.3f} → {e:7.3f} s  (span {e - s:6.3f} s, {len(calls)} calls, busy {_union([(c[0], c[1]) for c in calls]):6.3f} s)"


def report(started: float, ended: float, prefix: str, history: str) -> None:
    calls = sorted(CALLS)
    print(f"\nthe command ran from {started:.3f} s to {ended:.3f} s after the script started ({ended - started:.3f} s)")
    print(f"{len(calls)} Milvus calls; {len(SLEEPS)} pymilvus sleeps ({sum(e - s for s, e in SLEEPS):.2f} s summed)")
    lock = [c for c in calls if c[3].startswith(f"{history}_lock")]
    hist = [c for c in calls if c[3] == history]
    mine = [c for c in calls if c[3].startswith(prefix)]
    print("\nPhases (by the collection each call names):")
    print(f"  first call              {calls[0][0]:7.3f} s ({calls[0][2]})")
    print(f"  lock marker/alias/renew {_phase(lock)}")
    print(f"  history collection      {_phase(hist)}")
    for method in ("describe_collection", "list_partitions", "get_load_state", "list_indexes", "describe_index",
                   "create_collection", "create_index", "load_collection"):
        print(f"  {prefix}* {method:<22} {_phase([c for c in mine if c[2] == method])}")
    print(f"  last call               {calls[-1][1]:7.3f} s ({calls[-1][2]} {calls[-1][3]})")
    idle = (ended - started) - _union([(max(c[0], started), min(c[1], ended)) for c in calls])
    print(f"\nNo Milvus call in flight for {idle:.3f} s of the {ended - started:.3f} s `up` ran (client-side work)")
    gaps, end = [], started
    for s, e, name, target, _ in calls:
        if s - end > 0.05:
            gaps.append((end, s, name, target))
        end = max(end, e)
    for s, e, name, target in gaps:
        print(f"  gap {s:7.3f} → {e:7.3f} s ({e - s:.3f} s) before {name} {target}")
    print("\nPer method: calls, summed call time, wall time with at least one such call in flight")
    by: dict[str, list[tuple[float, float, str, str, bool]]] = {}
    for c in calls:
        by.setdefault(c[2], []).append(c)
    for method, cs in sorted(by.items(), key=lambda kv: -_union([(c[0], c[1]) for c in kv[1]])):
        failed = sum(1 for c in cs if not c[4])
        print(f"  {method:<32} {len(cs):4d} calls{f' ({failed} failed)' if failed else ''}"
              f"  sum {sum(c[1] - c[0] for c in cs):7.2f} s  wall {_union([(c[0], c[1]) for c in cs]):6.2f} s"
              f"  {min(c[0] for c in cs):7.3f} → {max(c[1] for c in cs):7.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--command", choices=("up", "plan"), default="up",
                        help="plan: apply the file first (collections not loaded), then profile `plan`")
    parser.add_argument("--loaded", action="store_true", help="with --command plan: the collections are loaded")
    parser.add_argument("--cprofile", help="also write a cProfile of the `up` call to this file")
    parser.add_argument("--timeline", action="store_true", help="print every call")
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    import bench_up

    t = time.perf_counter()
    from milvus_migrate import cli

    t_cli = time.perf_counter() - t
    t = time.perf_counter()
    import pymilvus  # noqa: F401

    t_pymilvus = time.perf_counter() - t
    print(f"import milvus_migrate.cli: {t_cli:.3f} s; then import pymilvus: {t_pymilvus:.3f} s")
    _instrument()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        load = args.command == "up" or args.loaded
        directory = bench_up.write_migrations(Path(tmp), args.n, load=load)
        with bench_up.fresh_database(args.uri, f"prof{args.n}", expect=args.n if load else None) as db:
            argv = ["--uri", args.uri, "--db-name", db, "--dir", str(directory), "--concurrency", str(args.concurrency)]
            if args.command == "plan":
                with contextlib.suppress(SystemExit):
                    cli.main.main(args=["up", *argv], prog_name="milvus-migrate")
                argv = ["plan", "--detailed-exitcode", *argv]
            else:
                argv = ["up", *argv]
            CALLS.clear()
            SLEEPS.clear()
            profiler = None
            if args.cprofile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            import resource

            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter() - T0
            try:
                cli.main.main(args=argv, prog_name="milvus-migrate")
            except SystemExit as exc:
                print(f"{argv[0]} exited {exc.code}")
            ended = time.perf_counter() - T0
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            print(f"CPU time of this process while the command ran: user {cpu1.ru_utime - cpu0.ru_utime:.2f} s, "
                  f"system {cpu1.ru_stime - cpu0.ru_stime:.2f} s, wall {ended - started:.2f} s")
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.cprofile)
            snapshot = list(CALLS)
        CALLS[:] = snapshot
    report(started, ended, bench_up.PREFIX, bench_up.HISTORY)
    if args.timeline:
        for s, e, name, target, ok in sorted(CALLS):
            print(f"{s:8.3f} {e:8.3f} {e - s:6.3f} {name} {target}{'' if ok else ' FAILED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

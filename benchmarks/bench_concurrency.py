"""Which --concurrency should `up` default to? `up` and baseline (b) at several concurrencies, in one run.

For N collections (as in bench_up.py: create, HNSW index, load), each in a fresh database, times
`milvus-migrate up --concurrency C` and baseline_async.py at semaphore C for every C in --levels;
the order of the workloads rotates between repeats. Prints medians and every run.

    python benchmarks/bench_concurrency.py --uri http://127.0.0.1:19530 --n 50 --levels 8,16 --repeat 2
"""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True, help="a running Milvus 2.3.5 server")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--levels", default="8,16", help="comma-separated concurrencies (default 8,16)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    levels = [int(s) for s in args.levels.split(",") if s.strip()]
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    started = time.monotonic()
    samples, log = bench_up.Samples(), []
    workloads = [(kind, c) for c in levels for kind in ("up", "async")]
    with tempfile.TemporaryDirectory(prefix="bench-conc-") as tmp:
        directory = bench_up.write_migrations(Path(tmp), args.n, load=True)
        for rep in range(args.repeat):
            shift = rep % len(workloads)
            for kind, c in workloads[shift:] + workloads[:shift]:
                if kind == "up":
                    local = bench_up.Samples()
                    bench_up.run_up_and_plan(args.uri, directory, args.n, c, local, log)
                    samples.add(f"up/{c}", local.values[f"up/{args.n}"][0])
                    if f"up-step/{args.n}" in local.values:
                        samples.add(f"up-step/{c}", local.values[f"up-step/{args.n}"][0])
                    line = log[-2]
                else:
                    local = bench_up.Samples()
                    bench_up.run_baseline("async", args.uri, args.n, c, local, log)
                    samples.add(f"async/{c}", local.values[f"async/{args.n}"][0])
                    line = log[-1]
                print(f"  [{time.monotonic() - started:6.0f} s] c={c} {line}", flush=True)
    print()
    print(f"Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; N={args.n}; repeat {args.repeat}; "
          f"total {time.monotonic() - started:.0f} s")
    print(f"Command: python benchmarks/bench_concurrency.py {' '.join(sys.argv[1:])}")
    print()
    print("| concurrency | `up` | `up` step | (b) gather | up / b |")
    print("|---:|---:|---:|---:|---:|")
    for c in levels:
        up, b = samples.median(f"up/{c}"), samples.median(f"async/{c}")
        step = f"{samples.median(f'up-step/{c}'):.2f} s" if f"up-step/{c}" in samples.values else "–"
        print(f"| {c} | {up:.2f} s | {step} | {b:.2f} s | {up / b:.2f}× |")
    print()
    for key, values in samples.values.items():
        print(f"- {key}: {', '.join(f'{v:.2f}' for v in values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

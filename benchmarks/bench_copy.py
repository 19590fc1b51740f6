"""Benchmark a copy-class change: `milvus-migrate up` vs a hand-written pymilvus script, on a Milvus 2.3.5 server.

Both add a DOUBLE field with a default to `docs` (N rows, INT64 pk, FLOAT_VECTOR dim 64, IVF_FLAT nlist 128,
loaded), each run in a fresh database holding the same rows:

* `up`     the real CLI as a subprocess: copy into docs__mm_shadow, index, load, switch (keeps a backup);
* script   new collection, pymilvus query_iterator (batch 2000), insert, flush, index, load, drop, rename
           (what the Milvus maintainers tell users to write; shared/milvus-capabilities.md saw it segfault
           against 2.3.5 in 2 of 5 runs, so a crashed run is retried and counted).

Each workload is timed as a subprocess (interpreter start included) and its peak RSS read with os.wait4.
Medians of --repeat runs. --memory-sizes times `up` alone at larger N to show memory does not grow with N.

    python benchmarks/bench_copy.py --uri http://127.0.0.1:19530 --sizes 100000 --memory-sizes 400000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIM = 64

V1 = f"""
collections:
  docs:
    fields:
      - {{name: id, type: INT64, is_primary: true}}
      - {{name: vec, type: FLOAT_VECTOR, dim: {DIM}}}
    indexes:
      - {{field_name: vec, index_type: IVF_FLAT, metric_type: L2, params: {{nlist: 128}}}}
    load: true
"""
V2 = V1.replace("    indexes:", "      - {name: score, type: DOUBLE, default_value: 0.0}\n    indexes:")

SCRIPT = textwrap.dedent(
    f"""
    import sys
    from pymilvus import DataType, MilvusClient
    uri, db = sys.argv[1], sys.argv[2]
    c = MilvusClient(uri=uri, db_name=db, timeout=600)
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim={DIM})
    s.add_field("score", DataType.DOUBLE, default_value=0.0)
    c.create_collection("docs_new", schema=s)
    it = c.query_iterator("docs", batch_size=2000, output_fields=["id", "vec"])
    while True:
        rows = it.next()
        if not rows:
            it.close()
            break
        c.insert("docs_new", rows)
    c.flush("docs_new")
    ip = MilvusClient.prepare_index_params()
    ip.add_index(field_name="vec", index_type="IVF_FLAT", metric_type="L2", params={{"nlist": 128}})
    c.create_index("docs_new", ip)
    c.load_collection("docs_new")
    c.drop_collection("docs")
    c.rename_collection("docs_new", "docs")
    """
)


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """(seconds, peak RSS in MB, exit status) of a subprocess."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - started, usage.ru_maxrss // 1024, proc.returncode


def cli(uri: str, db: str, directory: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "milvus_migrate", *args, "--uri", uri, "--db-name", db, "--dir", str(directory), "--timeout", "600"]


def prepare(uri: str, rows: int, directory: Path) -> str:
    """A fresh database with `docs` at version 1 holding `rows` rows."""
    import numpy as np
    from pymilvus import MilvusClient

    db = f"bench_copy_{uuid.uuid4().hex[:8]}"
    MilvusClient(uri=uri).create_database(db)
    (directory / "0001_docs.yaml").write_text(V1)
    (directory / "0002_score.yaml").unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(cli(uri, db, directory, "up"), check=True, env=env, capture_output=True, cwd=ROOT)
    client = MilvusClient(uri=uri, db_name=db, timeout=600)
    rng = np.random.default_rng(7)
    for start in range(0, rows, 10000):
        n = min(10000, rows - start)
        vectors = rng.random((n, DIM), dtype=np.float32)
        client.insert("docs", [{"id": start + i, "vec": vectors[i].tolist()} for i in range(n)])
    client.flush("docs")
    client.close()
    return db


def verify_and_drop(uri: str, db: str, rows: int) -> None:
    from pymilvus import MilvusClient

    client = MilvusClient(uri=uri, db_name=db, timeout=600)
    count = client.query("docs", filter="", output_fields=["count(*)"])[0]["count(*)"]
    fields = [f["name"] for f in client.describe_collection("docs")["fields"]]
    assert count == rows and fields == ["id", "vec", "score"], (count, fields)
    for name in client.list_collections():
        for alias in client.describe_collection(name)["aliases"]:
            client.drop_alias(alias)
        client.drop_collection(name)
    client.close()
    MilvusClient(uri=uri).drop_database(db)


def one(uri: str, rows: int, workload: str) -> tuple[float, int, int]:
    """(seconds, peak MB, crashed runs retried) of one workload on a fresh database."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        db = prepare(uri, rows, directory)
        crashes = 0
        while True:
            if workload == "up":
                (directory / "0002_score.yaml").write_text(V2)
                seconds, peak, status = run(cli(uri, db, directory, "up"), env)
            else:
                seconds, peak, status = run([sys.executable, "-c", SCRIPT, uri, db], env)
            if status == 0:
                break
            if status != -11 or crashes >= 3:
                raise SystemExit(f"{workload} failed with exit {status}")
            crashes += 1  # the script segfaulted (see module docstring); its database is rebuilt
            verify_and_drop_quietly(uri, db)
            db = prepare(uri, rows, directory)
        verify_and_drop(uri, db, rows)
        return seconds, peak, crashes


def verify_and_drop_quietly(uri: str, db: str) -> None:
    from pymilvus import MilvusClient

    client = MilvusClient(uri=uri, db_name=db, timeout=600)
    for name in client.list_collections():
        client.drop_collection(name)
    MilvusClient(uri=uri).drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", required=True, help="a running Milvus 2.3.5 server")
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--memory-sizes", default="400000", help="extra sizes where only `up` runs (peak memory)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| rows | `up` | script | up / script | peak RSS `up` | peak RSS script | script crashes |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for rows in [int(s) for s in args.sizes.split(",") if s]:
        results: dict[str, list[tuple[float, int, int]]] = {"up": [], "script": []}
        for i in range(args.repeat):
            for workload in (("up", "script") if i % 2 == 0 else ("script", "up")):
                results[workload].append(one(args.uri, rows, workload))
        up = statistics.median(r[0] for r in results["up"])
        script = statistics.median(r[0] for r in results["script"])
        print(
            f"| {rows:,} | {up:.1f} s | {script:.1f} s | {up / script:.2f} | {max(r[1] for r in results['up'])} MB | "
            f"{max(r[1] for r in results['script'])} MB | {sum(r[2] for r in results['script'])} |",
            flush=True,
        )
    for rows in [int(s) for s in args.memory_sizes.split(",") if s]:
        seconds, peak, _ = one(args.uri, rows, "up")
        print(f"| {rows:,} | {seconds:.1f} s | – | – | {peak} MB | – | – |", flush=True)


if __name__ == "__main__":
    main()

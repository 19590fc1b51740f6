"""A multi-tenant collection: one collection, a partition key on `tenant`, searches filtered per tenant.

Runs `milvus-migrate up`, checks with the Python API that nothing is left to plan, then inserts rows for three tenants and checks that each tenant's count and searches see only
its own rows. Works on Milvus Lite (default: a file in a temporary directory) and on a server
(`--uri http://localhost:19530 [--db-name NAME]`).

Exit code 0 when every step returned what it should, 1 otherwise.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
TENANTS = {"acme": 5, "globex": 3, "initech": 2}  # rows per tenant


def milvus_migrate(*args: str, uri: str, db_name: str) -> int:
    """Run the CLI (as `milvus-migrate …` would) and return its exit code."""
    command = [sys.executable, "-m", "milvus_migrate", *args, "--uri", uri, "--db-name", db_name, "--dir", str(MIGRATIONS)]
    print(f"$ milvus-migrate {' '.join(args)}", flush=True)
    return subprocess.run(command).returncode


def main(uri: str, db_name: str) -> list[str]:
    problems = []
    code = milvus_migrate("up", uri=uri, db_name=db_name)
    if code != 0:
        return [f"milvus-migrate up exited {code}"]
    # The same check from Python (as a deployment script or a test would): nothing left to do.
    import milvus_migrate.api as migrate

    remaining = migrate.plan(MIGRATIONS, uri=uri, db_name=db_name)
    print(f"plan after up: {'empty' if remaining.is_empty else remaining.to_json()}")
    if not remaining.is_empty:
        problems.append("the plan after up is not empty")

    # The application's side: Milvus Lite keeps no load state between processes, so load if needed.
    from pymilvus import MilvusClient
    from pymilvus.client.types import LoadState

    client = MilvusClient(uri=uri, **({"db_name": db_name} if db_name != "default" else {}))
    if client.get_load_state("tenant_docs")["state"] != LoadState.Loaded:
        client.load_collection("tenant_docs")
    rng = random.Random(0)
    rows = [
        {"tenant": tenant, "text": f"{tenant} document {i}", "embedding": [rng.random() for _ in range(8)]}
        for tenant, count in TENANTS.items()
        for i in range(count)
    ]
    client.insert("tenant_docs", rows)  # auto_id: Milvus assigns the ids; the partition key routes each row
    client.flush("tenant_docs")
    query = [rng.random() for _ in range(8)]
    for tenant, expected in TENANTS.items():
        tenant_filter = f'tenant == "{tenant}"'
        counted = client.query("tenant_docs", filter=tenant_filter, output_fields=["count(*)"], consistency_level="Strong")
        count = counted[0]["count(*)"]
        hits = client.search(
            "tenant_docs", data=[query], filter=tenant_filter, limit=10, output_fields=["tenant"],
            search_params={"metric_type": "COSINE"}, consistency_level="Strong",
        )[0]  # fmt: skip
        seen = sorted({hit["entity"]["tenant"] for hit in hits})
        print(f"{tenant}: {count} rows, search returned {len(hits)} hits of tenants {seen}")
        if count != expected or len(hits) != expected or seen != [tenant]:
            problems.append(f"{tenant}: {count} rows and {len(hits)} hits of {seen}, expected {expected} of [{tenant!r}]")
    client.close()
    return problems


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default=None, help="Milvus URI or Lite file (default: a new Lite file in a temporary directory)")
    parser.add_argument("--db-name", default="default", help="database (default: default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        problems = main(args.uri or str(Path(tmp) / "tenants.db"), args.db_name)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(cli())

"""Blue/green with an alias: the application always queries docs_live; migrations build green and move it.

With the Python API: version 1 creates docs_blue behind the alias docs_live; the application inserts and
searches through the alias. Version 2 builds and loads docs_green (a new embedding model, dim 16, and a
`lang` field); the script backfills it from blue. Version 3 moves the alias (searches through docs_live
now answer from green); `down` moves it back (rollback rehearsal) and `up` forward again. Version 4 drops
blue, refused without `allow_data_loss=True`. Works on Milvus Lite (default: a file in a temporary
directory) and on a server (`--uri http://localhost:19530 [--db-name NAME]`).

Exit code 0 when every step returned what it should, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import zlib
from pathlib import Path

import milvus_migrate.api as migrate
from milvus_migrate.errors import DataLossRefused

MIGRATIONS = Path(__file__).parent / "migrations"
TITLES = ["Install the CLI", "Write a migration file", "Review the plan", "Roll back with down"]


def embed(text: str, dim: int) -> list[float]:
    """A stand-in for an embedding model of `dim` dimensions (hashed bag of words, normalised)."""
    vector = [0.0] * dim
    for word in text.lower().split():
        vector[zlib.crc32(word.encode()) % dim] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def search_live(client, query: str, dim: int) -> list[dict]:
    """What the application does: search the alias, never a collection name."""
    hits = client.search(
        "docs_live", data=[embed(query, dim)], limit=2, output_fields=["title"],
        search_params={"metric_type": "COSINE"}, consistency_level="Strong",
    )[0]  # fmt: skip
    print(f"  search docs_live (dim {dim}) {query!r}: {[hit['entity']['title'] for hit in hits]}")
    return hits


def main(uri: str, db_name: str) -> list[str]:
    from pymilvus import MilvusClient

    connection = {"uri": uri, "db_name": db_name}
    problems: list[str] = []

    def expect(condition: bool, problem: str) -> None:
        if not condition:
            problems.append(problem)

    def up(**kwargs) -> None:
        report = migrate.up(MIGRATIONS, **connection, **kwargs)
        print(f"up: the database is at version {report.final_version}")

    up(to=1)
    client = MilvusClient(uri=uri, **({"db_name": db_name} if db_name != "default" else {}))
    client.insert("docs_live", [{"id": i, "title": f"blue: {t}", "embedding": embed(t, 8)} for i, t in enumerate(TITLES)])
    hits = search_live(client, "Review the plan", dim=8)
    expect(hits and hits[0]["entity"]["title"] == "blue: Review the plan", f"version 1: expected blue's row first: {hits}")

    up(to=2)  # green is built and loaded; docs_live still answers from blue
    rows = client.query("docs_blue", filter="id >= 0", output_fields=["id", "title"], consistency_level="Strong")
    green = [
        {"id": r["id"], "title": r["title"].replace("blue:", "green:"), "lang": "en", "embedding": embed(r["title"][6:], 16)}
        for r in rows
    ]
    client.insert("docs_green", green)  # backfill with the new model
    print(f"  backfilled {len(green)} rows into docs_green")
    expect(len(green) == len(TITLES), f"read {len(green)} rows from docs_blue, expected {len(TITLES)}")
    hits = search_live(client, "Review the plan", dim=8)
    expect(hits and hits[0]["entity"]["title"].startswith("blue:"), f"version 2: docs_live should still be blue: {hits}")

    up(to=3)
    hits = search_live(client, "Review the plan", dim=16)
    expect(hits and hits[0]["entity"]["title"] == "green: Review the plan", f"version 3: expected green's row first: {hits}")

    report = migrate.down(MIGRATIONS, **connection)  # rollback: the alias goes back to blue
    print(f"down: the database is at version {report.final_version}")
    hits = search_live(client, "Review the plan", dim=8)
    expect(hits and hits[0]["entity"]["title"] == "blue: Review the plan", f"after down: expected blue's row first: {hits}")
    up(to=3)

    try:
        up()
        problems.append("version 4 drops docs_blue: up without allow_data_loss should have refused")
    except DataLossRefused as exc:
        print(f"up refused: {exc.message.splitlines()[0]}")
    up(allow_data_loss=True)
    expect(not client.has_collection("docs_blue"), "docs_blue still exists after version 4")
    hits = search_live(client, "Roll back with down", dim=16)
    expect(hits and hits[0]["entity"]["title"] == "green: Roll back with down", f"version 4: expected green's row first: {hits}")
    client.close()

    status = migrate.status(MIGRATIONS, **connection)
    print(f"status: version {status.current_version} of {status.latest_version}, up to date: {status.up_to_date}")
    expect(status.up_to_date, f"status after up needs attention: {status.attention}")
    return problems


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default=None, help="Milvus URI or Lite file (default: a new Lite file in a temporary directory)")
    parser.add_argument("--db-name", default="default", help="database (default: default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        problems = main(args.uri or str(Path(tmp) / "bluegreen.db"), args.db_name)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(cli())

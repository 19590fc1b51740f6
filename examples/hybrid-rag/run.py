"""Hybrid RAG retrieval (BM25 + dense vectors) on a collection evolved by three migrations.

Applies version 1 with the Python API, inserts chunks (Milvus computes their BM25 vectors from the text),
runs a hybrid search, then applies versions 2-3 (a re-tuned BM25 index, a `source` index, a denser HNSW
graph, the alias `rag`) and searches again through the alias: the rows survive every version. Runs on
Milvus Lite in a temporary directory (Milvus 2.3 has no BM25 functions or sparse vectors).

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

MIGRATIONS = Path(__file__).parent / "migrations"
DIM = 8
CHUNKS = [
    ("handbook.md", "Milvus Lite stores a whole database in one local file."),
    ("handbook.md", "An alias points at a collection; applications query the alias."),
    ("handbook.md", "BM25 ranks chunks by the words they share with the query."),
    ("faq.md", "Dense vectors capture meaning; sparse BM25 vectors capture exact words."),
    ("faq.md", "Reciprocal rank fusion merges the dense and the sparse result lists."),
    ("faq.md", "A partition key spreads tenants over partitions automatically."),
]


def embed(text: str) -> list[float]:
    """A stand-in for an embedding model: hashed bag of words, normalised (deterministic, no download)."""
    vector = [0.0] * DIM
    for word in text.lower().split():
        vector[zlib.crc32(word.strip(".,;:?").encode()) % DIM] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def hybrid_search(client, collection: str, query: str, filter: str = "") -> list[dict]:
    from pymilvus import AnnSearchRequest, RRFRanker

    requests = [
        AnnSearchRequest(data=[embed(query)], anns_field="dense", param={"metric_type": "COSINE"}, limit=5, expr=filter),
        # BM25: the query is text; Milvus runs the collection's BM25 function on it.
        AnnSearchRequest(data=[query], anns_field="sparse", param={"metric_type": "BM25"}, limit=5, expr=filter),
    ]
    hits = client.hybrid_search(collection, requests, RRFRanker(), limit=3, output_fields=["source", "text"])[0]
    print(f"hybrid search {query!r} on {collection}{f' where {filter}' if filter else ''}:")
    for hit in hits:
        print(f"  {hit['entity']['source']}: {hit['entity']['text']}")
    return hits


def main(uri: str) -> list[str]:
    from pymilvus import MilvusClient

    problems = []
    report = migrate.up(MIGRATIONS, uri=uri, to=1)
    print(f"applied version 1: the database is at version {report.final_version}")

    client = MilvusClient(uri=uri)
    rows = [{"id": i, "source": source, "text": text, "dense": embed(text)} for i, (source, text) in enumerate(CHUNKS)]
    client.insert("rag_chunks", rows)  # no `sparse`: the BM25 function fills it
    client.flush("rag_chunks")
    hits = hybrid_search(client, "rag_chunks", "exact words BM25")
    if not hits or "BM25" not in hits[0]["entity"]["text"]:
        problems.append(f"version 1: the best hit for 'exact words BM25' does not mention BM25: {hits}")

    pending = migrate.plan(MIGRATIONS, uri=uri)
    print(f"plan: {len(pending.steps)} pending steps, {len(pending.ops)} operations, destructive: {bool(pending.destructive_ops)}")
    if pending.destructive_ops:
        problems.append("versions 2-3 should not need --allow-data-loss")
    report = migrate.up(MIGRATIONS, uri=uri)
    print(f"applied versions 2-3: the database is at version {report.final_version}")

    count = client.query("rag", filter="", output_fields=["count(*)"])[0]["count(*)"]
    print(f"rows through the alias rag: {count}")
    if count != len(CHUNKS):
        problems.append(f"{count} rows after versions 2-3, expected {len(CHUNKS)}: an index change must keep the rows")
    hits = hybrid_search(client, "rag", "how are tenants spread", filter='source == "faq.md"')
    if not hits or any(hit["entity"]["source"] != "faq.md" for hit in hits) or "tenants" not in hits[0]["entity"]["text"]:
        problems.append(f"version 3: expected faq.md hits, the tenants chunk first: {hits}")
    client.close()

    status = migrate.status(MIGRATIONS, uri=uri)
    print(f"status: version {status.current_version} of {status.latest_version}, up to date: {status.up_to_date}")
    if not status.up_to_date:
        problems.append(f"status after up needs attention: {status.attention}")
    return problems


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default=None, help="Milvus Lite file (default: a new one in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        problems = main(args.uri or str(Path(tmp) / "rag.db"))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(cli())

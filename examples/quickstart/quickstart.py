"""The data half of the pymilvus AsyncMilvusClient tutorial, on a schema that milvus-migrate created.

Run `milvus-migrate up` first: it creates `my_collection` (id INT64 pk, dense_vector FLOAT_VECTOR dim 5,
sparse_vector SPARSE_FLOAT_VECTOR, text VARCHAR 512), its indexes, partitions and alias. This script
then does what the tutorial does with the data: load, insert 10,000 random rows, query, a dense
search, a sparse search and an RRF hybrid search.

It targets Milvus Lite (`--uri ./milvus.db`, the default): the Milvus 2.3.5 server has no sparse
vectors. Milvus Lite forgets load state between processes, so the script loads the collection itself.

Exit code 0 when every step returned what it should, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time

COLLECTION = "my_collection"
DIM = 5


def random_row(i: int, first_id: int, rng: random.Random) -> dict:
    return {
        "id": first_id + i,
        "dense_vector": [rng.random() for _ in range(DIM)],
        # A sparse vector is {dimension index: value}; a few non-zero entries out of 1,000 dimensions.
        "sparse_vector": {d: rng.random() for d in rng.sample(range(1000), 5)},
        "text": f"This is a random text {first_id + i}" if i % 2 == 0 else f"Another sentence number {first_id + i}",
    }


def random_sparse(rng: random.Random) -> dict[int, float]:
    return {d: rng.random() for d in rng.sample(range(1000), 5)}


def show(title: str, hits: list[dict]) -> None:
    print(f"{title}: {len(hits)} hits")
    for hit in hits[:3]:
        print(f"  id={hit['id']} distance={hit['distance']:.4f} text={hit['entity'].get('text')!r}")


async def count(client, filter: str) -> int:
    answer = await client.query(COLLECTION, filter=filter, output_fields=["count(*)"])
    return answer[0]["count(*)"] if answer else 0


async def main(uri: str, rows: int, batch: int, seed: int) -> int:
    from pymilvus import AnnSearchRequest, AsyncMilvusClient, RRFRanker

    rng = random.Random(seed)
    client = AsyncMilvusClient(uri=uri, timeout=60)
    problems: list[str] = []
    try:
        started = time.monotonic()
        if not await client.has_collection(COLLECTION):
            print(f"error: {COLLECTION} does not exist at {uri}; run `milvus-migrate up --uri {uri}` first", file=sys.stderr)
            return 1

        # Milvus Lite starts every process with the collection released: load it (a no-op if loaded).
        await client.load_collection(COLLECTION)
        print(f"loaded {COLLECTION}: {(await client.get_load_state(COLLECTION))['state'].name}")

        # Rows already there (a second run of this script) are counted, not overwritten.
        before = await count(client, "")
        matching_before = await count(client, 'text like "%random%"')

        rng.seed(f"{seed}/{before}")  # a second run inserts different vectors
        # Insert concurrently, in batches, as the tutorial's gathered inserts do.
        data = [random_row(i, before, rng) for i in range(rows)]
        results = await asyncio.gather(
            *(client.insert(COLLECTION, data[i : i + batch]) for i in range(0, rows, batch))
        )
        inserted = sum(r["insert_count"] for r in results)
        print(f"inserted {inserted} rows in {len(results)} batches")
        if inserted != rows:
            problems.append(f"inserted {inserted} rows, expected {rows}")

        # Query: how many rows match a LIKE filter (even ids say "random").
        matching = await count(client, 'text like "%random%"')
        expected = matching_before + (rows + 1) // 2
        print(f'count(*) where text like "%random%": {matching} (expected {expected})')
        if matching != expected:
            problems.append(f"count(*) returned {matching}, expected {expected}")

        dense_query = [rng.random() for _ in range(DIM)]
        sparse_query = random_sparse(rng)

        dense = await client.search(
            COLLECTION,
            data=[dense_query],
            anns_field="dense_vector",
            limit=5,
            search_params={"metric_type": "IP"},
            output_fields=["text"],
        )
        show("dense search", dense[0])

        sparse = await client.search(
            COLLECTION,
            data=[sparse_query],
            anns_field="sparse_vector",
            limit=5,
            search_params={"metric_type": "IP"},
            output_fields=["text"],
        )
        show("sparse search", sparse[0])

        requests = [
            AnnSearchRequest(data=[dense_query], anns_field="dense_vector", param={"metric_type": "IP"}, limit=10),
            AnnSearchRequest(data=[sparse_query], anns_field="sparse_vector", param={"metric_type": "IP"}, limit=10),
        ]
        hybrid = await client.hybrid_search(COLLECTION, requests, RRFRanker(), limit=5, output_fields=["text"])
        show("hybrid search (RRF)", hybrid[0])

        for title, hits in (("dense search", dense[0]), ("sparse search", sparse[0]), ("hybrid search", hybrid[0])):
            if not hits:
                problems.append(f"{title} returned no hits")
        print(f"done in {time.monotonic() - started:.1f} s")
    finally:
        await client.close()

    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default="./milvus.db", help="Milvus URI or Milvus Lite file (default ./milvus.db)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows to insert (default 10000)")
    parser.add_argument("--batch", type=int, default=1_000, help="rows per insert call (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args()
    try:
        return asyncio.run(main(args.uri, args.rows, args.batch, args.seed))
    except Exception as exc:  # one line instead of a traceback; still a failure
        print(f"error: {type(exc).__name__}: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(cli())

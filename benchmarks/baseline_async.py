"""Baseline (b): the hand-written fast way, AsyncMilvusClient with asyncio.gather under a semaphore.

For each of N collections, at most --concurrency at a time: create_collection (INT64 pk, FLOAT_VECTOR
dim 8, VARCHAR), create_index (HNSW on the vector, M 8, efConstruction 64, L2), load_collection.
Milvus server only: on Milvus Lite AsyncMilvusClient.create_index raises UNIMPLEMENTED.
"""

from __future__ import annotations

import argparse
import asyncio
import time


async def run(uri: str, db_name: str, n: int, prefix: str, concurrency: int) -> None:
    from pymilvus import AsyncMilvusClient, DataType

    client = AsyncMilvusClient(uri=uri, db_name=db_name, timeout=120)
    limit = asyncio.Semaphore(concurrency)

    async def one(name: str) -> None:
        schema = AsyncMilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=8)
        schema.add_field("title", DataType.VARCHAR, max_length=128)
        index_params = AsyncMilvusClient.prepare_index_params()
        index_params.add_index(
            field_name="vec", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64}
        )
        async with limit:
            await client.create_collection(name, schema=schema, timeout=120)
            await client.create_index(name, index_params, timeout=120)
            await client.load_collection(name, timeout=120)

    try:
        await asyncio.gather(*(one(f"{prefix}{i:04d}") for i in range(n)))
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--db-name", default="default")
    parser.add_argument("--n", type=int, required=True, help="number of collections")
    parser.add_argument("--prefix", default="bench_")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    started = time.monotonic()
    asyncio.run(run(args.uri, args.db_name, args.n, args.prefix, args.concurrency))
    print(
        f"async: {args.n} collections created, indexed and loaded in {time.monotonic() - started:.2f} s "
        f"(concurrency {args.concurrency})"
    )


if __name__ == "__main__":
    main()

"""Baseline (a): the hand-written way, a synchronous MilvusClient doing each collection in turn.

For each of N collections: create_collection (INT64 pk, FLOAT_VECTOR dim 8, VARCHAR), create_index
(HNSW on the vector, M 8, efConstruction 64, L2), load_collection. The same calls `milvus-migrate up`
makes for the benchmark's migration file (see bench_up.py), without history, lock or diffing.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--db-name", default="default")
    parser.add_argument("--n", type=int, required=True, help="number of collections")
    parser.add_argument("--prefix", default="bench_")
    args = parser.parse_args()

    from pymilvus import DataType, MilvusClient

    started = time.monotonic()
    client = MilvusClient(uri=args.uri, db_name=args.db_name, timeout=120)
    for i in range(args.n):
        name = f"{args.prefix}{i:04d}"
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=8)
        schema.add_field("title", DataType.VARCHAR, max_length=128)
        client.create_collection(name, schema=schema, timeout=120)
        index_params = MilvusClient.prepare_index_params()
        index_params.add_index(
            field_name="vec", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64}
        )
        client.create_index(name, index_params, timeout=120)
        client.load_collection(name, timeout=120)
    client.close()
    print(f"sync: {args.n} collections created, indexed and loaded in {time.monotonic() - started:.2f} s")


if __name__ == "__main__":
    main()

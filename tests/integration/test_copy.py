"""copy.copy_rows against real Milvus: every row and value carried, per partition, on Lite and the 2.3.5 server."""

from __future__ import annotations

from typing import Any

import pytest

from milvus_migrate.config import ConnectionSettings
from milvus_migrate.milvus import copy
from milvus_migrate.milvus.connection import connect
from milvus_migrate.planning.ops import RowMapping

pytestmark = pytest.mark.integration

ROWS = 3000
IN_P1 = 1800  # the others go to _default


def source_row(i: int, lite: bool) -> dict[str, Any]:
    """Row i of the source: deterministic values of every kind, a dynamic key on even rows."""
    row: dict[str, Any] = {
        "id": i * 7 - 5000,  # negative and positive keys, not inserted in key order
        "vec": [float((i * 31 + k) % 97) / 97.0 for k in range(8)],
        "title": f"title {i} ✓",
        "year": 1990 + i % 35,
        "meta": {"n": i, "tags": ["a", "b"][: i % 3]},
        "tags": list(range(i % 5)),
        "legacy": i * 3,
    }
    if i % 2 == 0:
        row["color"] = ["red", "green"][i % 4 // 2]
    if lite:
        # Nullable fields and sparse vectors exist on Lite only (2.3.5 drops nullable; sparse rows crash it).
        row["note"] = None if i % 3 == 0 else f"note {i}"
        row["sparse"] = {i % 50: 0.5, 60 + i % 7: 1.25}
    return row


def schema(lite: bool, *, title: int, year: str, tags: int, legacy: bool, score: bool) -> Any:
    """The source (legacy field) or target (wider title and tags, INT64 year, score) schema."""
    from pymilvus import DataType, MilvusClient

    s = MilvusClient.create_schema(enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=8)
    s.add_field("title", DataType.VARCHAR, max_length=title)
    s.add_field("year", DataType[year])
    s.add_field("meta", DataType.JSON)
    s.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=tags)
    if legacy:
        s.add_field("legacy", DataType.INT64)
    if score:
        s.add_field("score", DataType.DOUBLE, default_value=1.5)
    if lite:
        s.add_field("note", DataType.VARCHAR, max_length=64, nullable=True)
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    return s


def build_source(client: Any, lite: bool) -> None:
    """`src`: two partitions, ROWS rows (IN_P1 in p1), indexed and loaded, via the sync client."""
    client.create_collection("src", schema=schema(lite, title=64, year="INT32", tags=8, legacy=True, score=False))
    client.create_partition("src", "p1")
    rows = [source_row(i, lite) for i in range(ROWS)]
    for start in range(0, ROWS, 600):
        client.insert("src", rows[start : start + 600], partition_name="p1" if start < IN_P1 else "_default")
    load_for_query(client, "src", lite)


def build_target(client: Any, lite: bool) -> None:
    """`dst`: title widened, year INT64, legacy dropped, score added with a default; p1 exists."""
    client.create_collection("dst", schema=schema(lite, title=256, year="INT64", tags=16, legacy=False, score=True))
    client.create_partition("dst", "p1")


def mapping(lite: bool) -> RowMapping:
    fields = ("id", "vec", "title", "year", "meta", "tags") + (("note", "sparse") if lite else ())
    return RowMapping(
        primary_key="id",
        primary_key_type="INT64",
        fields=fields,
        conversions={"year": "INT64"},
        dynamic=True,
        target_partitions=("_default", "p1"),
    )


def load_for_query(client: Any, name: str, lite: bool) -> None:
    from pymilvus import MilvusClient

    index = MilvusClient.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
    if lite:
        index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_index(name, index)
    client.load_collection(name)


def all_rows(client: Any, name: str, partition: str, fields: list[str]) -> dict[int, dict[str, Any]]:
    rows = client.query(name, filter="id >= -100000", output_fields=fields, partition_names=[partition], limit=16384)
    return {r["id"]: r for r in rows}


async def test_copy_carries_every_row_and_value_into_the_same_partitions(backend):
    client = backend.client()
    build_source(client, backend.is_lite)
    build_target(client, backend.is_lite)
    seen: list[tuple[int, int | None]] = []

    async with connect(ConnectionSettings(uri=backend.uri, db_name=backend.db_name, timeout=60)) as session:
        report = await copy.copy_rows(
            session.client, "src", "dst", mapping(backend.is_lite), session.caps,
            batch_rows=500, timeout=60, on_progress=lambda done, total: seen.append((done, total)),
        )  # fmt: skip

    assert report.rows == ROWS
    if backend.is_lite:  # Lite counts a collection as a whole only
        assert report.source_counts == {"*": ROWS}
    else:
        assert report.source_counts == {"_default": ROWS - IN_P1, "p1": IN_P1} == report.copied
    assert seen[-1] == (ROWS, ROWS) and len(seen) >= ROWS // 500
    load_for_query(client, "dst", backend.is_lite)
    fields = ["id", "vec", "title", "year", "meta", "tags", "score", "color"] + (["note", "sparse"] if backend.is_lite else [])
    for partition, expected_ids in (("p1", range(IN_P1)), ("_default", range(IN_P1, ROWS))):
        copied = all_rows(client, "dst", partition, fields)
        assert len(copied) == len(expected_ids), partition
        for i in expected_ids:
            want = source_row(i, backend.is_lite)
            got = copied[want["id"]]
            assert got["vec"] == pytest.approx(want["vec"], rel=1e-6)
            assert (got["title"], got["year"], got["meta"], list(got["tags"])) == (want["title"], want["year"], want["meta"], want["tags"])
            assert got["score"] == 1.5  # the new field's default
            assert got.get("color") == want.get("color")  # dynamic key carried (absent stays absent)
            assert "legacy" not in got
            if backend.is_lite:
                assert got["note"] == want["note"]
                assert {int(k): pytest.approx(v) for k, v in got["sparse"].items()} == want["sparse"]


async def test_copy_stops_when_rows_arrive_during_the_copy(backend):
    client = backend.client()
    build_source(client, backend.is_lite)
    build_target(client, backend.is_lite)
    writer = {"done": False}

    async with connect(ConnectionSettings(uri=backend.uri, db_name=backend.db_name, timeout=60)) as session:

        def write_once(done: int, total: int | None) -> None:
            if not writer["done"]:
                writer["done"] = True
                client.insert("src", [source_row(ROWS + 1, backend.is_lite)], partition_name="p1")

        with pytest.raises(copy.CopyFailed, match="changed while it was copied"):
            await copy.copy_rows(
                session.client, "src", "dst", mapping(backend.is_lite), session.caps, batch_rows=1000, timeout=60, on_progress=write_once
            )


async def test_copy_pages_a_varchar_primary_key_with_quotes_and_backslashes(backend):
    from pymilvus import DataType, MilvusClient

    client = backend.client()
    keys = [f'k{i:04d} "quoted" \\ back ✓' if i % 3 == 0 else f"k{i:04d}'s" for i in range(1500)]
    for name in ("vsrc", "vdst"):
        schema = MilvusClient.create_schema()
        schema.add_field("key", DataType.VARCHAR, max_length=64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
        client.create_collection(name, schema=schema)
    client.insert("vsrc", [{"key": k, "vec": [float(i), 1.0]} for i, k in enumerate(keys)])
    load_for_query_2d(client, "vsrc")
    varchar = RowMapping(primary_key="key", primary_key_type="VARCHAR", fields=("key", "vec"), target_partitions=("_default",))

    async with connect(ConnectionSettings(uri=backend.uri, db_name=backend.db_name, timeout=60)) as session:
        report = await copy.copy_rows(session.client, "vsrc", "vdst", varchar, session.caps, batch_rows=100, timeout=60)

    assert report.rows == len(keys)
    load_for_query_2d(client, "vdst")
    copied = client.query("vdst", filter='key != ""', output_fields=["key"], limit=16384)
    assert sorted(r["key"] for r in copied) == sorted(keys)


def load_for_query_2d(client: Any, name: str) -> None:
    from pymilvus import MilvusClient

    index = MilvusClient.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
    client.create_index(name, index)
    client.load_collection(name)

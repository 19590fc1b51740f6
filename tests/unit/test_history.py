"""history: which versions the records say are applied, failures until a later success, record details."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from milvus_migrate.milvus import history
from milvus_migrate.milvus.history import HistoryRecord, HistoryStore
from milvus_migrate.planning.ops import Direction


def rec(seq: int, version: int, direction: Direction, current: int, checksum: str = "c", detail: str = "") -> HistoryRecord:
    r = HistoryRecord.new(
        version=version, name=f"{version:04d}_v{version}", checksum=checksum, direction=direction,
        current_version=current, detail=detail,
    )  # fmt: skip
    return HistoryRecord(**{**r.to_json(), "seq": seq, "direction": direction})


def test_applied_versions_follow_ups_downs_stamps_and_repairs():
    records = [
        rec(1, 1, Direction.UP, 1, "a"),
        rec(2, 2, Direction.UP, 2, "b"),
        rec(3, 2, Direction.DOWN, 1, "b"),
        rec(4, 2, Direction.STAMP, 2, "b2"),
        rec(5, 1, Direction.REPAIR, 2, "a2"),
        rec(6, 2, Direction.RECONCILE, 2, "ignored"),  # drift repair: the version's checksum stays as recorded
        rec(7, 3, Direction.FAILED, 2, "x"),  # a failure never counts as applied
    ]
    assert history.applied_checksums(records) == {1: ("0001_v1", "a2"), 2: ("0002_v2", "b2")}
    assert history.current_version(records) == 2
    assert history.current_version([]) == 0


def test_a_stamp_below_forgets_the_versions_above():
    records = [rec(1, 1, Direction.UP, 1), rec(2, 2, Direction.UP, 2), rec(3, 1, Direction.STAMP, 1, "")]
    assert set(history.applied_checksums(records)) == {1}


def test_the_last_failure_shows_until_that_version_succeeds():
    failed = rec(3, 2, Direction.FAILED, 1, detail=json.dumps({"operation": "load notes", "message": "no", "ran": 2}))
    records = [rec(1, 1, Direction.UP, 1), rec(2, 2, Direction.FAILED, 1), failed]
    assert history.last_failure(records) == failed
    assert history.detail_of(failed) == {"operation": "load notes", "message": "no", "ran": 2}
    assert history.last_failure([*records, rec(4, 1, Direction.REPAIR, 1)]) == failed  # another version: still failed
    assert history.last_failure([*records, rec(5, 2, Direction.UP, 2)]) is None
    assert history.detail_of(rec(6, 2, Direction.FAILED, 1, detail="not json")) == {}


def test_a_long_server_message_is_shortened_to_fit_the_detail_field():
    text = history.encode_detail({"operation": "create index", "message": "x" * 10_000, "ran": 0, "not_run": 3})
    decoded = json.loads(text)
    assert len(text) <= 4096 and decoded["message"].endswith("…") and decoded["not_run"] == 3


def test_records_are_secret_free_and_json_carries_the_direction_word():
    r = rec(1, 1, Direction.UP, 1)
    body = r.to_json()
    assert body["direction"] == "up" and body["tool_version"] and "@" in body["applied_by"]
    assert set(body) == set(HistoryRecord.__dataclass_fields__)


def test_switch_facts_keep_the_last_record_of_each_backup_and_skip_unreadable_ones():
    def switched(backup: str, out: int, incoming: int, direction: Direction = Direction.UP) -> HistoryRecord:
        detail = {"switches": [{"collection": "docs", "backup": backup, "out": {"rows": out, "keys": "a"}, "in": {"rows": incoming, "keys": "b"}}]}
        return rec(0, 2, direction, 2, detail=json.dumps(detail))

    records = [
        switched("docs__mm_backup_v1", 10, 10),
        rec(0, 2, Direction.FAILED, 1, detail=json.dumps({"operation": "x", "switches": [{"backup": "docs__mm_backup_v9"}]})),
        switched("docs__mm_backup_v2", 10, 11, Direction.DOWN),
        switched("docs__mm_backup_v1", 12, 12),
        rec(0, 3, Direction.UP, 3, detail="not json"),
    ]
    facts = history.switch_facts(records)
    assert {b: (o.rows, i.rows) for b, (o, i) in facts.items()} == {"docs__mm_backup_v1": (12, 12), "docs__mm_backup_v2": (10, 11)}


class _FakeHistoryClient:
    """The AsyncMilvusClient calls HistoryStore makes on an existing, loaded history collection; logs each query."""

    def __init__(self, seqs: list[int]):
        self.rows = [{**rec(s, 1, Direction.UP, 1).to_json(), "seq": s} for s in seqs]
        self.queries: list[tuple[str, list[str]]] = []

    async def has_collection(self, name: str, **_: Any) -> bool:
        return True

    async def create_collection(self, name: str, **_: Any) -> None:
        raise AssertionError("the history collection exists")

    async def describe_collection(self, name: str, **_: Any) -> dict[str, Any]:
        return {"fields": [{"name": f} for f in HistoryRecord.__dataclass_fields__]}

    async def list_indexes(self, name: str, **_: Any) -> list[str]:
        return ["placeholder"]

    async def load_collection(self, name: str, **_: Any) -> None:
        pass

    async def query(self, name: str, filter: str, output_fields: list[str], **_: Any) -> list[dict[str, Any]]:
        self.queries.append((filter, output_fields))
        low = int(re.fullmatch(r"seq >= (\d+)", filter).group(1))  # type: ignore[union-attr]
        return [{k: row[k] for k in output_fields} for row in self.rows if row["seq"] >= low]

    async def insert(self, name: str, rows: list[dict[str, Any]], **_: Any) -> None:
        self.rows += rows


def _new(version: int) -> HistoryRecord:
    return HistoryRecord.new(version=version, name=f"{version:04d}_v", checksum="c", direction=Direction.UP, current_version=version)


def test_append_numbers_after_the_last_record_reading_only_the_seqs_from_the_highest_known():
    client = _FakeHistoryClient([1, 2, 3])
    store = HistoryStore(client, "history", timeout=5)

    async def scenario() -> list[int]:
        await store.records()
        client.queries.clear()
        first = await store.append([_new(4), _new(5)])
        then = await store.append([_new(6)])
        return [r.seq for r in first + then]

    assert asyncio.run(scenario()) == [4, 5, 6]
    # Not every record each time: the seqs from the highest one this store read or wrote (one row here).
    assert client.queries == [("seq >= 3", ["seq"]), ("seq >= 5", ["seq"])]
    assert sorted(r["seq"] for r in client.rows) == [1, 2, 3, 4, 5, 6]


def test_append_without_a_read_first_and_after_another_process_appended_keeps_seqs_unique():
    client = _FakeHistoryClient([1, 2])
    ours, theirs = HistoryStore(client, "history", timeout=5), HistoryStore(client, "history", timeout=5)

    async def scenario() -> list[int]:
        fresh = await HistoryStore(client, "history", timeout=5).append([_new(3)])  # never read: finds 2
        await ours.records()  # sees 1-3
        await theirs.append([_new(4)])  # e.g. after `unlock` broke our lock
        return [r.seq for r in fresh + await ours.append([_new(5)])]

    assert asyncio.run(scenario()) == [3, 5]
    assert sorted(r["seq"] for r in client.rows) == [1, 2, 3, 4, 5]

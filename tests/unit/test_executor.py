"""executor.apply against a recording stand-in client: dispatch and concurrency rules, no server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from milvus_migrate.config import ConnectionSettings
from milvus_migrate.milvus import executor
from milvus_migrate.milvus.connection import Session
from milvus_migrate.planning import capabilities, ops


class RecordingClient:
    """Answers every AsyncMilvusClient method it is asked for; records calls and how many alias calls overlap."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.alias_calls_in_flight = 0
        self.most_alias_calls_in_flight = 0

    def __getattr__(self, method: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> None:
            self.calls.append((method, args, kwargs))
            alias = method.endswith("_alias")
            if alias:
                self.alias_calls_in_flight += 1
                self.most_alias_calls_in_flight = max(self.most_alias_calls_in_flight, self.alias_calls_in_flight)
            await asyncio.sleep(0.01)  # long enough for other lanes to start their calls
            if alias:
                self.alias_calls_in_flight -= 1

        return call


def _apply(plan_ops: list[ops.Operation], caps: capabilities.Capabilities) -> RecordingClient:
    client = RecordingClient()
    session = Session(client=client, caps=caps, settings=ConnectionSettings(uri="http://localhost:19530", timeout=5))
    result = asyncio.run(executor.apply(ops.Plan(ops=tuple(plan_ops)), session, concurrency=8))
    assert result.ok, result.failed
    return client


def _alias_ops(kind: type[ops.Operation]) -> list[ops.Operation]:
    return [kind(collection_name=f"c{i}", alias=f"c{i}_live", reason="test") for i in range(8)]


@pytest.mark.parametrize("kind", [ops.CreateAlias, ops.DropAlias])
def test_alias_operations_run_one_at_a_time_where_the_backend_needs_it(kind):
    # Issue 8 item 4: Milvus Lite fails concurrent create_alias/drop_alias with "[Errno 2] No such file or directory".
    client = _apply(_alias_ops(kind), capabilities.lite())
    assert len(client.calls) == 8
    assert client.most_alias_calls_in_flight == 1


def test_alias_operations_run_concurrently_on_a_server():
    client = _apply(_alias_ops(ops.CreateAlias), capabilities.server_2_3())
    assert client.most_alias_calls_in_flight > 1


def test_alter_collection_field_calls_pymilvus_with_field_params():
    op = ops.AlterCollectionField(
        collection_name="docs", field_name="title", field_params={"mmap.enabled": True}, before={"mmap.enabled": False}, reason="test"
    )
    client = _apply([op], capabilities.modern_server("v2.5.4"))
    assert client.calls == [("alter_collection_field", ("docs", "title"), {"field_params": {"mmap.enabled": True}, "timeout": 5})]


class RowsClient(RecordingClient):
    """A collection `docs` whose primary keys are `keys`; every other call is recorded."""

    def __init__(self, keys: list[int]) -> None:
        super().__init__()
        self.keys = keys

    async def describe_collection(self, name: str, **kwargs: Any) -> dict[str, Any]:
        return {"fields": [{"name": "id", "type": "INT64", "is_primary": True}]}

    async def get_load_state(self, name: str, **kwargs: Any) -> dict[str, Any]:
        return {"state": "Loaded"}

    async def query(self, name: str, *, filter: str, limit: int, **kwargs: Any) -> list[dict[str, Any]]:
        after = int(filter.split(">")[1]) if filter else -1
        return [{"id": k} for k in sorted(self.keys) if k > after][:limit]


def _switch_back(expected: list[int]) -> list[ops.Operation]:
    from milvus_migrate.milvus.copy import KeyDigest

    digest = KeyDigest()
    digest.add(expected)
    return [
        ops.RenameCollection(
            collection_name="docs__mm_backup_v1", new_name="docs__mm_switch_v1", phase=ops.Phase.SWITCH_PREPARE,
            expect_rows=digest.row_set(), expect_rows_of="docs", reason="test",
        ),
        ops.RenameCollection(collection_name="docs", new_name="docs__mm_backup_v2", reason="test"),
        ops.RenameCollection(
            collection_name="docs__mm_switch_v1", new_name="docs", phase=ops.Phase.SWITCH_IN, rows=digest.row_set(), reason="test"
        ),
    ]  # fmt: skip


def _run(client: RecordingClient, plan_ops: list[ops.Operation]) -> executor.ApplyResult:
    session = Session(client=client, caps=capabilities.server_2_3(), settings=ConnectionSettings(uri="http://localhost:19530", timeout=5))
    return asyncio.run(executor.apply(ops.Plan(ops=tuple(plan_ops)), session))


def test_switch_back_renames_when_the_collection_holds_the_rows_it_was_planned_with():
    client = RowsClient(keys=[1, 2, 3])
    result = _run(client, _switch_back([3, 2, 1]))
    assert result.ok
    assert [c[1] for c in client.calls if c[0] == "rename_collection"] == [
        ("docs__mm_backup_v1", "docs__mm_switch_v1"), ("docs", "docs__mm_backup_v2"), ("docs__mm_switch_v1", "docs"),
    ]  # fmt: skip
    # Milvus 2.3.5 keeps a stale schema under a name renamed away: each free target name is dropped first.
    names = [(c[0], c[1][-1]) for c in client.calls if c[0] in ("drop_collection", "rename_collection")]
    assert names == [
        ("drop_collection", "docs__mm_switch_v1"), ("rename_collection", "docs__mm_switch_v1"),
        ("drop_collection", "docs__mm_backup_v2"), ("rename_collection", "docs__mm_backup_v2"),
        ("drop_collection", "docs"), ("rename_collection", "docs"),
    ]  # fmt: skip
    (switch,) = result.switches  # recorded for the next switch back
    assert switch["backup"] == "docs__mm_backup_v2" and switch["out"]["rows"] == 3 and switch["in"]["rows"] == 3


@pytest.mark.parametrize("now", [[1, 2, 3, 4], [1, 2, 4]], ids=["row-inserted", "row-replaced"])
def test_switch_back_renames_nothing_when_rows_were_written_since_the_plan(now):
    client = RowsClient(keys=now)
    result = _run(client, _switch_back([1, 2, 3]))
    (failure,) = result.failure_lines()
    assert "docs took writes since the plan was made" in failure and "Nothing was switched" in failure
    assert [c for c in client.calls if c[0] == "rename_collection"] == []
    assert not result.switches

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

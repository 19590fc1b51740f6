"""A deployment lock made of a Milvus alias: exactly one `up`/`down` applies at a time.

Milvus has no transactions, but alias creation is atomic: of several create_alias calls naming one
alias with *different* target collections, exactly one succeeds (on Milvus 2.3 the calls naming
the winner's target succeed too, so every contender points the alias at its own marker
collection). A contender holds the lock when the alias points at its marker. The marker's
properties say who holds it and since when, so a waiting deployment can name the holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from milvus_migrate.capabilities import Capabilities
from milvus_migrate.errors import LockHeld
from milvus_migrate.history import applied_by, now
from milvus_migrate.introspect import aliases_of

_HOLDER, _PID, _SINCE = "milvus_migrate.holder", "milvus_migrate.pid", "milvus_migrate.since"
POLL_SECONDS = 0.5


def lock_alias(history_collection: str) -> str:
    return f"{history_collection}_lock"


def is_lock_object(name: str, history_collection: str) -> bool:
    """Whether a collection belongs to the lock machinery (never reported as unmanaged)."""
    return name.startswith(lock_alias(history_collection))


@contextlib.asynccontextmanager
async def deployment_lock(
    client: Any, caps: Capabilities, history_collection: str, *, timeout: float, call_timeout: float
) -> AsyncIterator[None]:
    """Hold the migration lock for the block; wait up to `timeout` s, then raise LockHeld naming the holder."""
    alias = lock_alias(history_collection)
    marker = f"{alias}_{uuid.uuid4().hex[:12]}"
    await _create_marker(client, marker, call_timeout)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(Exception):  # losing the race is an error reply; checked below
                await client.create_alias(marker, alias, timeout=call_timeout)
            if alias in await aliases_of(client, marker, caps, call_timeout):
                # "since" says when the lock was taken, not when this deployment began to wait.
                with contextlib.suppress(Exception):
                    await client.alter_collection_properties(marker, properties={_SINCE: now()}, timeout=call_timeout)
                break
            if time.monotonic() >= deadline:
                who = await current_holder(client, caps, history_collection, call_timeout)
                raise LockHeld(
                    f"another deployment holds the migration lock ({who or 'holder unknown'}); waited {timeout:g} s. "
                    "If that run crashed, break the lock with 'milvus-migrate unlock'."
                )
            await asyncio.sleep(POLL_SECONDS)
        try:
            yield
        except BaseException:
            # The block failed, often because Milvus went away: releasing may fail too, and that must
            # not replace the block's error. An unreleased lock names its holder to the next run.
            with contextlib.suppress(Exception):
                await _release(client, caps, alias, marker, call_timeout)
            raise
        await _release(client, caps, alias, marker, call_timeout)
    finally:
        with contextlib.suppress(Exception):
            await client.drop_collection(marker, timeout=call_timeout)


async def _release(client: Any, caps: Capabilities, alias: str, marker: str, call_timeout: float) -> None:
    if alias in await aliases_of(client, marker, caps, call_timeout):
        await client.drop_alias(alias, timeout=call_timeout)


async def break_lock(client: Any, caps: Capabilities, history_collection: str, call_timeout: float) -> str | None:
    """Remove the lock and every marker left behind by crashed runs; returns who held it, if anyone."""
    holder = await current_holder(client, caps, history_collection, call_timeout)
    alias = lock_alias(history_collection)
    with contextlib.suppress(Exception):
        await client.drop_alias(alias, timeout=call_timeout)
    for name in await _markers(client, alias, call_timeout):
        with contextlib.suppress(Exception):
            await client.drop_collection(name, timeout=call_timeout)
    return holder


async def current_holder(client: Any, caps: Capabilities, history_collection: str, call_timeout: float) -> str | None:
    """Who holds the lock now ('user@host, pid N, since T'), or None."""
    alias = lock_alias(history_collection)
    for marker in await _markers(client, alias, call_timeout):
        with contextlib.suppress(Exception):  # a marker may vanish while we look
            if alias in await aliases_of(client, marker, caps, call_timeout):
                props = (await client.describe_collection(marker, timeout=call_timeout)).get("properties") or {}
                return f"{props.get(_HOLDER, '?')}, pid {props.get(_PID, '?')}, since {props.get(_SINCE, '?')}"
    return None


async def _markers(client: Any, alias: str, call_timeout: float) -> list[str]:
    return [n for n in await client.list_collections(timeout=call_timeout) if n.startswith(f"{alias}_")]


async def _create_marker(client: Any, marker: str, call_timeout: float) -> None:
    from pymilvus import AsyncMilvusClient, DataType

    schema = AsyncMilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)
    properties = {_HOLDER: applied_by(), _PID: str(os.getpid()), _SINCE: now()}
    await client.create_collection(marker, schema=schema, properties=properties, timeout=call_timeout)

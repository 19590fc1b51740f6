"""Copy every row of one collection into another: primary-key pages per partition, bounded memory, verified counts.

Paging is `pk > last` with a `limit`, asking Milvus for the query iterator's ordering (`iterator`,
`reduce_stop_for_best`, as pymilvus's QueryIterator does): without them Milvus Lite answers a limited
query with arbitrary rows, not the smallest keys, and paging would skip rows (measured on Lite 3.2.2).
pymilvus's own query_iterator is sync-only and segfaulted against 2.3.5 in 2 of 5 runs
(shared/milvus-capabilities.md), hence this loop on the async client.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from milvus_migrate.milvus import introspect
from milvus_migrate.planning import recovery
from milvus_migrate.planning.capabilities import Capabilities
from milvus_migrate.planning.ops import RowMapping
from milvus_migrate.planning.recovery import InterruptedSwitch
from milvus_migrate.planning.state import RowSet

# Milvus refuses a query whose limit (+ offset) exceeds 16384 (quotaAndLimits maxQueryResultWindow).
MAX_QUERY_LIMIT = 16384
# Rows per page: about this many bytes on the wire. Python holds a page at several times that (a float
# in a list is 32 bytes), and at most two pages per running partition are alive (one read, one inserted).
# Measured on 2.3.5, 30k rows dim 64: pages of 2,000 rows took 7.6 s, 5,000 rows 5.4 s (each call ~0.2 s).
PAGE_BYTES = 2 * 1024 * 1024
# Every count and page reads with Strong consistency: rows inserted just before the copy must be seen.
_STRONG = {"consistency_level": "Strong"}
# The query iterator's ordering: results sorted by primary key, the smallest first.
_ORDERED = {"iterator": "True", "reduce_stop_for_best": "True"}
ALL_PARTITIONS = "*"  # the key of a count over the whole collection

Progress = Callable[[int, "int | None"], None]


class CopyFailed(Exception):
    """The copy cannot be trusted: counts differ, or the source changed while it ran."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class KeyDigest:
    """An order-independent digest of primary keys: the sum of a 64-bit hash of each, and how many.

    Partitions and pages are copied concurrently, so the digest must not depend on the order keys arrive in.
    """

    def __init__(self) -> None:
        self.rows, self.total = 0, 0

    def add(self, keys: Any) -> None:
        for key in keys:
            text = f"s:{key}" if isinstance(key, str) else f"i:{int(key)}"
            self.total += int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
            self.rows += 1
        self.total %= 1 << 64

    def row_set(self) -> RowSet:
        return RowSet(rows=self.rows, keys=f"{self.total:016x}")


@dataclass(frozen=True)
class CopyReport:
    """Rows counted in the source before the copy and rows written, per partition ('*': whole collection)."""

    source_counts: dict[str, int]
    copied: dict[str, int]
    seconds: float
    # The keys read from the source and written to the target (a switch back compares them later).
    source_rows: RowSet | None = None
    target_rows: RowSet | None = None

    @property
    def rows(self) -> int:
        return sum(self.copied.values())


async def copy_rows(
    client: Any,
    source: str,
    target: str,
    mapping: RowMapping,
    caps: Capabilities,
    *,
    concurrency: int = 4,
    batch_rows: int | None = None,
    timeout: float | None = None,
    on_progress: Progress | None = None,
) -> CopyReport:
    """Copy `source` into `target` (which exists with its partitions), flush, and verify the counts.

    Raises CopyFailed when the source's row counts changed during the copy (writes arrived) or the rows
    written differ from the rows counted; the target is then left as it is, and the source untouched.
    """
    started = time.monotonic()
    if batch_rows is None:
        batch_rows = max(100, PAGE_BYTES // max(mapping.row_bytes, 1))
    if not await _is_loaded(client, source, timeout) and await is_empty(client, source, timeout):
        # Nothing to carry, and an unindexed empty collection cannot even be loaded on a server.
        await client.flush(target, timeout=timeout)
        empty = KeyDigest().row_set()
        return CopyReport(
            source_counts={ALL_PARTITIONS: 0}, copied={ALL_PARTITIONS: 0}, seconds=time.monotonic() - started,
            source_rows=empty, target_rows=empty,
        )  # fmt: skip
    await ensure_loaded(client, source, timeout)
    partitions = sorted(await client.list_partitions(source, timeout=timeout)) if mapping.by_partition else [None]
    copied_partitions = [p for p in partitions if _destination(p, mapping) is not _SKIP]
    before = await count_rows(client, source, copied_partitions, caps, timeout)
    total = sum(before.values())
    done = 0
    limit = asyncio.Semaphore(concurrency)
    read, written_keys = KeyDigest(), KeyDigest()

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        if on_progress is not None:
            on_progress(done, total)

    async def one(partition: str | None) -> tuple[str, int]:
        async with limit:
            rows = await _copy_partition(
                client, source, target, partition, mapping, batch_rows, timeout, advance, (read, written_keys)
            )
            return (partition or ALL_PARTITIONS, rows)

    copied = dict(await asyncio.gather(*(one(p) for p in copied_partitions)))
    await client.flush(target, timeout=timeout)
    after = await count_rows(client, source, copied_partitions, caps, timeout)
    if after != before:
        raise CopyFailed(
            f"{source} changed while it was copied ({_show(before)} rows before, {_show(after)} after): writes arrived "
            f"during the copy. Nothing was switched; {source} is unchanged. Pause the writers (or write through an alias) "
            "and run the command again."
        )
    written = _totals_like(copied, before)
    if written != before:
        raise CopyFailed(f"copied {_show(written)} rows of {source} into {target}, but {source} holds {_show(before)}")
    return CopyReport(
        source_counts=before, copied=copied, seconds=time.monotonic() - started,
        source_rows=read.row_set(), target_rows=written_keys.row_set(),
    )  # fmt: skip


async def read_row_set(client: Any, name: str, pk: str, pk_type: str, timeout: float | None) -> RowSet:
    """The rows `name` holds: every primary key read in pages (Strong), digested like a copy digests them."""
    digest = KeyDigest()
    cursor: Any = None
    while True:
        page = await client.query(
            name, filter=_after(pk, pk_type, cursor), output_fields=[pk], limit=MAX_QUERY_LIMIT, timeout=timeout,
            **_STRONG, **_ORDERED,
        )  # fmt: skip
        if not page:
            return digest.row_set()
        digest.add(row[pk] for row in page)
        cursor = page[-1][pk]


async def rows_of(client: Any, name: str, timeout: float | None) -> RowSet:
    """The rows collection `name` holds now (loaded first if it is not: Milvus queries loaded collections only)."""
    described = await client.describe_collection(name, timeout=timeout)
    pk = next(f for f in described.get("fields", []) if f.get("is_primary"))
    await ensure_loaded(client, name, timeout)
    pk_type = "VARCHAR" if getattr(pk.get("type"), "name", str(pk.get("type"))).endswith("VARCHAR") else "INT64"
    return await read_row_set(client, name, pk["name"], pk_type, timeout)


async def check_unchanged(client: Any, source: str, report: CopyReport, caps: Capabilities, timeout: float | None) -> None:
    """Raise CopyFailed when `source` no longer holds the rows the copy counted (writes since the copy)."""
    partitions = [None if p == ALL_PARTITIONS else p for p in report.source_counts]
    now = await count_rows(client, source, partitions, caps, timeout)
    if now != report.source_counts:
        raise CopyFailed(
            f"{source} changed after its rows were copied ({_show(report.source_counts)} rows then, {_show(now)} now): "
            f"the switch would leave those writes behind. Nothing was switched; {source} is unchanged. Pause the writers "
            "and run the command again."
        )


async def ensure_loaded(client: Any, name: str, timeout: float | None) -> None:
    """Load `name` unless it is loaded: Milvus answers queries on loaded collections only."""
    if not await _is_loaded(client, name, timeout):
        await client.load_collection(name, timeout=timeout)


async def _is_loaded(client: Any, name: str, timeout: float | None) -> bool:
    state = (await client.get_load_state(name, timeout=timeout)).get("state")
    return getattr(state, "name", str(state)) == "Loaded"


async def is_empty(client: Any, name: str, timeout: float | None) -> bool:
    """Whether `name` holds no row: count(*) when loaded, else the statistics after a flush.

    The statistics count deleted rows too, so an unloaded collection whose rows were all deleted is not empty here.
    """
    if await _is_loaded(client, name, timeout):
        answer = await client.query(name, filter="", output_fields=["count(*)"], timeout=timeout, **_STRONG)
        return int(answer[0]["count(*)"]) == 0
    await client.flush(name, timeout=timeout)
    stats = await client.get_collection_stats(name, timeout=timeout)
    return int(stats.get("row_count", 0)) == 0


async def count_rows(
    client: Any, name: str, partitions: list[str | None], caps: Capabilities, timeout: float | None
) -> dict[str, int]:
    """count(*) per partition (Strong); one total under '*' where the backend cannot count a partition."""
    if not caps.count_by_partition or partitions == [None]:
        # Milvus Lite answers count(*) for the whole collection whatever partition_names says.
        answer = await client.query(name, filter="", output_fields=["count(*)"], timeout=timeout, **_STRONG)
        return {ALL_PARTITIONS: int(answer[0]["count(*)"])}
    counts = await asyncio.gather(
        *(
            client.query(name, filter="", output_fields=["count(*)"], partition_names=[p], timeout=timeout, **_STRONG)
            for p in partitions
        )
    )
    return {p: int(answer[0]["count(*)"]) for p, answer in zip(partitions, counts)}  # type: ignore[misc]


async def find_interrupted_switches(
    client: Any, declared_aliases: dict[str, tuple[str, ...]], caps: Capabilities, timeout: float | None
) -> list[InterruptedSwitch]:
    """The switches killed runs left half done (recovery.find()); reads only, changes nothing.

    `declared_aliases` maps each managed collection to the aliases the target version declares on it.
    """
    existing = set(await client.list_collections(timeout=timeout))
    aliases = {b: await introspect.aliases_of(client, b, caps, timeout) for b in recovery.backups_to_read(existing, declared_aliases)}
    return recovery.find(existing, declared_aliases, aliases)


async def finish_interrupted_switches(
    client: Any, switches: list[InterruptedSwitch], caps: Capabilities, timeout: float | None
) -> None:
    """Complete `switches` (from find_interrupted_switches, under the lock): the rename, then the alias moves.

    A copy's shadow takes the name only when it holds as many rows as the backup (the source at the
    switch): CopyFailed otherwise, before anything of that collection moved.
    """
    for switch in switches:
        if switch.rename is not None:
            source, target = switch.rename
            if switch.check_rows_against is not None:
                counts = []
                for collection in (source, switch.check_rows_against):
                    await ensure_loaded(client, collection, timeout)
                    counts.append(await count_rows(client, collection, [None], caps, timeout))
                if counts[0] != counts[1]:
                    raise CopyFailed(
                        f"{switch.collection} is missing; {source} holds {_show(counts[0])} rows and "
                        f"{switch.check_rows_against} {_show(counts[1])}, so the interrupted switch cannot be finished "
                        f"safely. Rename the one to keep to {switch.collection} by hand."
                    )
            await rename(client, source, target, caps, timeout)
        for alias, _ in switch.alias_moves:
            await client.alter_alias(switch.collection, alias, timeout=timeout)


async def rename(client: Any, source: str, target: str, caps: Capabilities, timeout: float | None) -> None:
    """rename_collection, first making Milvus 2.3.5 forget what `target` held before (every rename goes here)."""
    if caps.stale_name_after_rename and not await client.has_collection(target, timeout=timeout):
        # 2.3.5's proxy keeps the schema a name held before a rename: the first insert into a new schema under
        # it crashed the server (capabilities.py). Dropping the free name clears that; nothing is dropped.
        await client.drop_collection(target, timeout=timeout)
    await client.rename_collection(source, target, timeout=timeout)


class _Skip:
    pass


_SKIP = _Skip()


def _destination(partition: str | None, mapping: RowMapping) -> str | None | _Skip:
    """Where rows of a source partition go: a target partition, None (the target routes them), or nowhere."""
    if mapping.target_partitions is None or partition is None:
        return None if mapping.target_partitions is None else "_default"
    return partition if partition in mapping.target_partitions else _SKIP


async def _copy_partition(
    client: Any,
    source: str,
    target: str,
    partition: str | None,
    mapping: RowMapping,
    batch_rows: int,
    timeout: float | None,
    advance: Callable[[int], None],
    digests: tuple[KeyDigest, KeyDigest],
) -> int:
    """Page one partition by primary key; the next page is read while the previous one is inserted.

    `digests` collect the keys read and the keys written (an auto_id target answers with its own).
    """
    destination = _destination(partition, mapping)
    insert_kwargs: dict[str, Any] = {"partition_name": destination} if isinstance(destination, str) else {}
    output_fields = list(dict.fromkeys([mapping.primary_key, *mapping.fields, *(["$meta"] if mapping.dynamic else [])]))
    scope = {"partition_names": [partition]} if partition is not None else {}
    pk = mapping.primary_key
    drop_pk = pk not in mapping.fields  # an auto_id target assigns its own keys
    limit = min(batch_rows, MAX_QUERY_LIMIT)
    cursor: Any = None
    written = 0
    pending: asyncio.Task[int] | None = None
    try:
        while True:
            page = await client.query(
                source,
                filter=_after(pk, mapping.primary_key_type, cursor),
                output_fields=output_fields,
                limit=limit,
                timeout=timeout,
                **scope,
                **_STRONG,
                **_ORDERED,
            )
            if not page:
                break
            cursor = page[-1][pk]
            digests[0].add(row[pk] for row in page)
            rows = [_convert(row, mapping, pk if drop_pk else None) for row in page]
            del page
            if pending is not None:
                written += await pending
            pending = asyncio.create_task(_insert(client, target, rows, insert_kwargs, timeout, advance, digests[1], pk))
        if pending is not None:
            written += await pending
            pending = None
    finally:
        if pending is not None and not pending.done():
            # Never leave an insert running unobserved: wait for it, whatever failed around it.
            await asyncio.gather(pending, return_exceptions=True)
    return written


async def _insert(
    client: Any, target: str, rows: list[dict[str, Any]], kwargs: dict[str, Any], timeout: float | None,
    advance: Callable[[int], None], written: KeyDigest, pk: str,
) -> int:  # fmt: skip
    answer = await client.insert(target, rows, timeout=timeout, **kwargs)
    count = int(answer.get("insert_count", len(rows))) if isinstance(answer, dict) else len(rows)
    ids = answer.get("ids") if isinstance(answer, dict) else None
    written.add(ids if ids else [row[pk] for row in rows if pk in row])
    advance(count)
    return count


def _after(pk: str, pk_type: str, cursor: Any) -> str:
    """The filter of the page after `cursor` (None: the first page)."""
    if cursor is None:
        # No filter: 2.3.5 cannot even parse the smallest INT64 literal ("-9223372036854775808" overflows).
        return ""
    if pk_type == "VARCHAR":
        # A JSON string literal is a valid Milvus string literal (double quotes, backslash escapes).
        return f"{pk} > {json.dumps(cursor, ensure_ascii=False)}"
    return f"{pk} > {int(cursor)}"


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "INT16": int, "INT32": int, "INT64": int, "DOUBLE": float,
}  # fmt: skip


def _convert(row: dict[str, Any], mapping: RowMapping, drop: str | None) -> dict[str, Any]:
    """A source row as the target takes it: widened values, no auto_id key; nulls stay None."""
    if drop is not None:
        row.pop(drop, None)
    for name, to_type in mapping.conversions.items():
        value = row.get(name)
        if value is not None:
            row[name] = _CONVERTERS[to_type](value)
    return row


def _totals_like(copied: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    """The written rows keyed like `counts` (summed when the source could only be counted as a whole)."""
    if list(counts) == [ALL_PARTITIONS]:
        return {ALL_PARTITIONS: sum(copied.values())}
    return copied


def _show(counts: dict[str, int]) -> str:
    if list(counts) == [ALL_PARTITIONS]:
        return f"{counts[ALL_PARTITIONS]:,}"
    return ", ".join(f"{p}: {n:,}" for p, n in sorted(counts.items()))

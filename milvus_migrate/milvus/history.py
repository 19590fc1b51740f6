"""The version history, kept in a collection of the target database that the tool owns."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import getpass
import json
import socket
from dataclasses import asdict, dataclass, replace
from typing import Any

from milvus_migrate import __version__
from milvus_migrate.errors import HistoryError
from milvus_migrate.milvus import retry
from milvus_migrate.planning.ops import Direction
from milvus_migrate.planning.state import RowSet

# Milvus needs a vector field and an index before it can query a collection: a 2-d placeholder.
_PLACEHOLDER_VECTOR = [0.0, 0.0]
_TEXT = 1024


@dataclass(frozen=True)
class HistoryRecord:
    """One recorded step. `current_version` is the database's version once the step completed."""

    seq: int
    version: int
    name: str
    checksum: str
    direction: Direction
    current_version: int
    applied_at: str
    applied_by: str
    duration_ms: int
    tool_version: str
    # JSON: a failed step's operation, message, ran, not_run; any step's switches (executor.ApplyResult);
    # '' when there is neither. Newer than the other
    # fields: a history collection made by milvus-migrate 0.1 has no such field, and keeps working.
    detail: str = ""

    @classmethod
    def new(
        cls, *, version: int, name: str, checksum: str, direction: Direction, current_version: int,
        duration_ms: int = 0, detail: str = "",
    ) -> HistoryRecord:  # fmt: skip
        """A record made by this process now; HistoryStore.append numbers it."""
        return cls(
            seq=0, version=version, name=name, checksum=checksum, direction=direction,
            current_version=current_version, applied_at=now(), applied_by=applied_by(),
            duration_ms=duration_ms, tool_version=__version__, detail=detail,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "direction": self.direction.value}


_FIELDS = tuple(HistoryRecord.__dataclass_fields__)
_REQUIRED_FIELDS = tuple(f for f in _FIELDS if f != "detail")
_DETAIL_MAX = 4096


def applied_by() -> str:
    """user@host of this process (never a credential)."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def current_version(records: list[HistoryRecord]) -> int:
    """The version the history says the database is at (0 with no records)."""
    return records[-1].current_version if records else 0


def applied_checksums(records: list[HistoryRecord]) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) for every version applied at the current version, as last recorded."""
    applied: dict[int, tuple[str, str]] = {}
    for r in records:
        if r.direction in (Direction.UP, Direction.STAMP, Direction.REPAIR) and r.checksum:
            applied[r.version] = (r.name, r.checksum)
        elif r.direction is Direction.DOWN:
            applied.pop(r.version, None)
        for v in [v for v in applied if v > r.current_version]:
            del applied[v]
    return applied


def last_failure(records: list[HistoryRecord]) -> HistoryRecord | None:
    """The latest failed attempt, unless that version succeeded since (a failure never blocks a rerun)."""
    for i in range(len(records) - 1, -1, -1):
        r = records[i]
        if r.direction is Direction.FAILED:
            later = records[i + 1 :]
            if any(x.version == r.version and x.direction is not Direction.FAILED for x in later):
                return None
            return r
    return None


def detail_of(record: HistoryRecord) -> dict[str, Any]:
    """The parsed detail of a record ({} when it has none): a failure's, and the switches a step made."""
    try:
        value = json.loads(record.detail) if record.detail else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def switch_facts(records: list[HistoryRecord]) -> dict[str, tuple[RowSet, RowSet]]:
    """backup name -> (rows it held when it stepped aside, rows of the collection that took its name), as last recorded."""
    facts: dict[str, tuple[RowSet, RowSet]] = {}
    for r in records:
        for switch in detail_of(r).get("switches") or []:
            try:
                facts[str(switch["backup"])] = (RowSet(**switch["out"]), RowSet(**switch["in"]))
            except (KeyError, TypeError, ValueError):
                continue  # a record this version cannot read: no switch back over it, a copy instead
    return facts


def encode_detail(detail: dict[str, Any]) -> str:
    """JSON of `detail`, shortened to fit the history's detail field."""
    text = json.dumps(detail, ensure_ascii=False)
    if len(text) > _DETAIL_MAX and "message" in detail:
        cut = len(text) - _DETAIL_MAX + 1
        detail = {**detail, "message": str(detail["message"])[: max(len(str(detail["message"])) - cut, 0)] + "…"}
        text = json.dumps(detail, ensure_ascii=False)
    return text[:_DETAIL_MAX]


class HistoryStore:
    """Reads and appends HistoryRecords in the history collection through an AsyncMilvusClient."""

    def __init__(self, client: Any, collection_name: str, timeout: float, create_collection: Any = None):
        self.client, self.name, self.timeout = client, collection_name, timeout
        # Session.create_collection: recovers what a killed Milvus Lite run leaves behind.
        self._create_collection = create_collection or client.create_collection
        self._ensured: asyncio.Future[None] | None = None
        self.has_detail = True  # False on a history collection made before the detail field existed
        self._last_seq: int | None = None  # the highest seq this store read or wrote: append() numbers after it

    async def exists(self) -> bool:
        return bool(await self.client.has_collection(self.name, timeout=self.timeout))

    def prepare(self) -> None:
        """Start ensure() in the background: on a first `up` it overlaps with the first version's work."""
        if self._ensured is None:
            self._ensured = asyncio.ensure_future(self._ensure())
            # Retrieved here so a failure nobody awaits (the step failed first) is not logged as lost.
            self._ensured.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def aclose(self) -> None:
        """Stop a background ensure() still running when the command ends (failed or interrupted)."""
        if self._ensured is not None and not self._ensured.done():
            self._ensured.cancel()
            with contextlib.suppress(BaseException):
                await self._ensured

    async def ensure(self) -> None:
        """Create the history collection on first use, and make it queryable (once per store)."""
        self.prepare()
        await self._ensured  # type: ignore[misc]

    async def _ensure(self) -> None:
        from pymilvus import AsyncMilvusClient, DataType

        if not await self.exists():
            schema = AsyncMilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("seq", DataType.INT64, is_primary=True)
            schema.add_field("version", DataType.INT64)
            schema.add_field("name", DataType.VARCHAR, max_length=_TEXT)
            schema.add_field("checksum", DataType.VARCHAR, max_length=64)
            schema.add_field("direction", DataType.VARCHAR, max_length=16)
            schema.add_field("current_version", DataType.INT64)
            schema.add_field("applied_at", DataType.VARCHAR, max_length=64)
            schema.add_field("applied_by", DataType.VARCHAR, max_length=_TEXT)
            schema.add_field("duration_ms", DataType.INT64)
            schema.add_field("tool_version", DataType.VARCHAR, max_length=64)
            schema.add_field("detail", DataType.VARCHAR, max_length=_DETAIL_MAX * 4)  # max_length counts bytes
            schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)
            try:
                await self._create_collection(self.name, schema=schema, timeout=self.timeout, consistency_level="Strong")
            except Exception:
                # Another process may have created it a moment ago (Milvus Lite: "already exists").
                if not await self.exists():
                    raise
        described = await self.client.describe_collection(self.name, timeout=self.timeout)
        present = {f["name"] for f in described.get("fields", [])}
        self.has_detail = "detail" in present
        missing = set(_REQUIRED_FIELDS) - present
        if missing:
            raise HistoryError(
                f"the history collection '{self.name}' does not hold milvus-migrate records "
                f"(no field {', '.join(sorted(missing))}); choose another with --history-collection"
            )
        indexes = await self.client.list_indexes(self.name, timeout=self.timeout)
        if not indexes:
            params = AsyncMilvusClient.prepare_index_params()
            params.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
            try:
                await self.client.create_index(self.name, params, timeout=self.timeout)
            except Exception:
                # Milvus Lite's async create_index raises after creating the index; check it is there.
                if not await self.client.list_indexes(self.name, timeout=self.timeout):
                    raise
        await self.client.load_collection(self.name, timeout=self.timeout)

    async def records(self) -> list[HistoryRecord]:
        """Every record, oldest first; [] when the history collection does not exist yet."""
        if not await self.exists():
            return []
        await self.ensure()
        # ensure() checked the schema, so every row has every field.
        rows = await self._query("seq >= 0", list(_FIELDS if self.has_detail else _REQUIRED_FIELDS))
        records = [
            HistoryRecord(**{k: row[k] for k in _FIELDS if k in row} | {"direction": Direction(row["direction"])})
            for row in rows
        ]
        self._last_seq = max((r.seq for r in records), default=0)
        return sorted(records, key=lambda r: r.seq)

    async def _query(self, condition: str, fields: list[str]) -> list[dict[str, Any]]:
        # A run killed while loading the history collection can leave Milvus 2.3 answering "collection
        # not loaded" for a few seconds after load_collection returned: load again and retry, bounded.
        async def reload(exc: BaseException) -> None:
            if not retry.is_transient(exc):
                await self.client.load_collection(self.name, timeout=self.timeout)

        return await retry.call(
            lambda: self.client.query(
                self.name, filter=condition, output_fields=fields, consistency_level="Strong", timeout=self.timeout
            ),
            budget=self.timeout,
            retry_if=retry.is_settling,
            before_retry=reload,
        )

    async def append(self, records: list[HistoryRecord]) -> list[HistoryRecord]:
        """Append records made with HistoryRecord.new(), numbered after the last one; returns them numbered."""
        await self.ensure()
        seq = await self._next_seq()
        numbered = [replace(r, seq=seq + i) for i, r in enumerate(records)]
        rows = []
        for r in numbered:
            row = {**r.to_json(), "placeholder": _PLACEHOLDER_VECTOR}
            if not self.has_detail:
                row.pop("detail")
            rows.append(row)
        await self.client.insert(self.name, rows, timeout=self.timeout)
        self._last_seq = numbered[-1].seq if numbered else self._last_seq
        return numbered

    async def _next_seq(self) -> int:
        """The seq after the highest one in the collection, reading only the seqs from the highest this
        store has seen on (usually one row) instead of every record.

        Still read, not assumed: a writer holds the deployment lock, but `unlock` can break it and let
        another process append meanwhile, and a reused seq would not fail: Milvus 2.3.5 keeps both rows of
        a primary key inserted twice (count(*) 2) while a query returns only one (measured), so a record
        would silently vanish from the history.
        """
        known = self._last_seq or 0
        rows = await self._query(f"seq >= {known}", ["seq"])
        return max([known, *(int(row["seq"]) for row in rows)]) + 1

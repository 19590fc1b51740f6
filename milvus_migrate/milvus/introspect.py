"""Live Milvus → State: the only module that sees raw describe_* answers, and normalises them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from milvus_migrate.milvus import retry
from milvus_migrate.milvus.connection import expected_failure
from milvus_migrate.planning.capabilities import Capabilities
from milvus_migrate.planning.state import (
    AUTOINDEX,
    CollectionState,
    FieldState,
    FunctionState,
    IndexState,
    LoadState,
    State,
)

# describe_index keys that are bookkeeping, not build parameters.
_INDEX_INFO_KEYS = {
    "index_type", "metric_type", "field_name", "index_name", "total_rows", "indexed_rows",
    "pending_index_rows", "state", "params", "index_state_fail_reason",
}  # fmt: skip
# describe_collection field params that are not type params of the schema we compare.
_FIELD_PARAM_KEYS = ("dim", "max_length", "max_capacity", "enable_analyzer", "enable_match", "analyzer_params", "mmap_enabled")


async def list_collections(client: Any, timeout: float | None) -> list[str]:
    """Every collection of the database, sorted (the server answers in unstable order)."""
    return sorted(await client.list_collections(timeout=timeout))


async def read_state(
    client: Any,
    names: Iterable[str],
    caps: Capabilities,
    *,
    aliases: Iterable[str] = (),
    concurrency: int = 8,
    timeout: float | None = None,
    count_rows: bool = True,
) -> State:
    """The live state of the named collections that exist, read concurrently.

    Per collection: describe_collection, list_partitions, get_load_state, list_indexes, one
    describe_index per index; on Milvus Lite list_aliases; on a server, describe_replica when loaded
    and one get_load_state per partition when it has several. Then one describe_collection per name
    (of `names` and of the declared `aliases`) that is neither a collection nor a known alias of one,
    to find the names that are aliases of collections the files do not manage (State.alias_owners).
    With `count_rows` False, num_rows is left unknown (a Strong count(*) per loaded collection is most of
    a read's time; the run counts only the collections it would copy or drop: commands._refine).
    """
    existing = set(await list_collections(client, timeout))
    wanted = sorted(set(names) & existing)
    limit = asyncio.Semaphore(concurrency)

    async def once(method: str, *args: Any, **kwargs: Any) -> Any:
        async with limit:
            return await getattr(client, method)(*args, timeout=timeout, **kwargs)

    async def call(method: str, *args: Any, **kwargs: Any) -> Any:
        return await retry.call(lambda: once(method, *args, **kwargs), budget=timeout or 60.0, retry_if=retry.is_settling)

    states = await asyncio.gather(*(_read_collection(call, name, caps, count_rows) for name in wanted))
    collections = {s.name: s for s in states}
    known = {alias: c.name for c in states for alias in c.aliases}
    unknown = sorted((set(names) | set(aliases)) - existing - known.keys())
    owners = await asyncio.gather(*(_alias_owner(call, name) for name in unknown))
    # Aliases of managed collections are in `collections` already: what is left points elsewhere. A declared
    # alias that is the name of an unmanaged collection is held by that collection itself.
    held = {n: o for n, o in zip(unknown, owners) if o is not None}
    held |= {name: name for name in (set(aliases) & existing) - set(names)}
    return State(collections=collections, alias_owners=dict(sorted(held.items())))


async def _alias_owner(call: Any, name: str) -> str | None:
    """The collection `name` is an alias of, or None when it names nothing.

    describe_collection resolves an alias to its collection on both backends and honours the client's
    database; describe_alias does not on Milvus 2.3 (it answers from the default database).
    """
    from pymilvus.exceptions import MilvusException

    try:
        with expected_failure():
            answer = await call("describe_collection", name)
    except MilvusException:  # "collection not found" / "does not exist": the name is free
        return None
    owner = answer.get("collection_name")
    return owner if owner and owner != name else None


async def _read_collection(call: Any, name: str, caps: Capabilities, count_rows: bool = True) -> CollectionState:
    description, partitions, load, index_names = await asyncio.gather(
        call("describe_collection", name),
        call("list_partitions", name),
        call("get_load_state", name),
        call("list_indexes", name),
    )
    aliases = description.get("aliases") or []
    if caps.backend == "lite":
        # Milvus Lite's describe_collection always answers aliases: [].
        aliases = await call("list_aliases", collection_name=name)
    index_infos = await asyncio.gather(*(call("describe_index", name, index_name) for index_name in index_names))
    fields = tuple(_field(raw, caps) for raw in description.get("fields", []))
    has_partition_key = any(f.is_partition_key for f in fields)
    # With a partition key Milvus creates the partitions itself: they are not declared, so not compared.
    user_partitions = () if has_partition_key else tuple(sorted(p for p in partitions if p != "_default"))
    load_state = await _load_state(call, name, load, user_partitions, caps)
    num_rows = await _num_rows(call, name, load_state) if count_rows else None
    return CollectionState(
        name=name,
        description=description.get("description") or "",
        enable_dynamic_field=bool(description.get("enable_dynamic_field", False)),
        consistency_level=description.get("consistency_level_name") if caps.keeps_consistency_level else None,
        num_shards=description.get("num_shards") if caps.keeps_num_shards else None,
        num_partitions=_num_partitions(description, has_partition_key, caps),
        properties={str(k): str(v) for k, v in (description.get("properties") or {}).items()},
        fields=fields,
        functions=tuple(_function(raw) for raw in description.get("functions") or []),
        partitions=user_partitions,
        indexes=tuple(
            sorted((_index(info, fields, caps) for info in index_infos if info), key=lambda i: i.field_name)
        ),
        load=load_state,
        aliases=tuple(sorted(_alias_names(aliases))),
        num_rows=num_rows,
    )


async def count_rows(client: Any, name: str, timeout: float | None = None) -> int | None:
    """The rows of collection `name` as read_state counts them (None when unsure)."""

    async def call(method: str, *args: Any, **kwargs: Any) -> Any:
        return await getattr(client, method)(*args, timeout=timeout, **kwargs)

    state = _enum_name((await call("get_load_state", name)).get("state"))
    return await _num_rows(call, name, LoadState(loaded=state in ("Loaded", "Loading")))


async def _num_rows(call: Any, name: str, load: LoadState) -> int | None:
    """The collection's rows: count(*) when loaded, else the segment statistics; None when unsure.

    The planner recreates a collection with 0 rows without copying, so 0 must be certain: statistics
    may lag behind rows not yet flushed, so a 0 from them is 'unknown' (the executor checks again).
    """
    try:
        if load.loaded:
            answer = await call("query", name, filter="", output_fields=["count(*)"], consistency_level="Strong")
            return int(answer[0]["count(*)"])
        stats = await call("get_collection_stats", name)
        rows = int(stats.get("row_count", 0))
        return rows or None
    except Exception:  # a count is an estimate for the plan; never fail reading the state for it
        return None


def _field(raw: dict[str, Any], caps: Capabilities) -> FieldState:
    params = raw.get("params") or {}
    type_name = _enum_name(raw["type"])
    values: dict[str, Any] = {k: params[k] for k in _FIELD_PARAM_KEYS if k in params}
    for flag in ("enable_analyzer", "enable_match"):
        if flag in values:
            values[flag] = str(values[flag]).lower() == "true"  # both backends answer 'true' as text
    if "mmap_enabled" in values:
        values["mmap_enabled"] = str(values["mmap_enabled"]).lower() == "true"
    return FieldState(
        name=raw["name"],
        type=type_name,
        # pymilvus omits false flags from the field dict: a missing key means False.
        is_primary=bool(raw.get("is_primary", False)),
        auto_id=bool(raw.get("auto_id", False)),
        element_type=_enum_name(raw["element_type"]) if raw.get("element_type") is not None and type_name == "ARRAY" else None,
        nullable=bool(raw.get("nullable", False)),
        default_value=_unwrap_default(raw.get("default_value")),
        is_partition_key=bool(raw.get("is_partition_key", False)),
        is_clustering_key=bool(raw.get("is_clustering_key", False)),
        is_function_output=bool(raw.get("is_function_output", False)),
        description=raw.get("description") or "",
        **values,
    )


def _function(raw: dict[str, Any]) -> FunctionState:
    return FunctionState(
        name=raw["name"],
        type=_enum_name(raw["type"]),
        input_field_names=tuple(raw.get("input_field_names") or ()),
        output_field_names=tuple(raw.get("output_field_names") or ()),
        params=dict(raw.get("params") or {}),
        description=raw.get("description") or "",
    )


def _index(info: dict[str, Any], fields: tuple[FieldState, ...], caps: Capabilities) -> IndexState:
    # Build params arrive flattened as strings (server, pymilvus-3 style) and/or nested under 'params'
    # (both backends, when created with the nested form): merge both.
    params: dict[str, Any] | None = {k: v for k, v in info.items() if k not in _INDEX_INFO_KEYS}
    nested = info.get("params")
    if isinstance(nested, str):
        nested = json.loads(nested)
    if isinstance(nested, dict):
        params.update(nested)  # type: ignore[union-attr]
    if not params and not caps.reports_flat_index_params:
        # Milvus Lite drops build params given in pymilvus's documented flat form and keeps only the nested
        # form, so "no params reported" cannot tell "built without params" from "built with params that were
        # not kept": the params are unknown (None), and the planner does not compare them.
        params = None
    metric = info.get("metric_type")
    index_type = info.get("index_type")
    if not index_type:
        # Milvus 2.3 describes a scalar index created without index_type with no type at all; it built
        # its default for the field type (STL_SORT for numbers, Trie for VARCHAR).
        field_type = next((f.type for f in fields if f.name == info["field_name"]), "")
        index_type = caps.index_type_for(field_type, AUTOINDEX)
    return IndexState(
        field_name=info["field_name"],
        index_name=info.get("index_name") or info["field_name"],
        index_type=index_type,
        # Scalar indexes: Lite reports metric 'NONE', the server no metric at all.
        metric_type=None if metric in (None, "", "NONE") else metric,
        params=params,
    )


async def _load_state(
    call: Any, name: str, load: dict[str, Any], partitions: tuple[str, ...], caps: Capabilities
) -> LoadState:
    state = _enum_name(load.get("state"))
    loaded = state in ("Loaded", "Loading")
    if not loaded or caps.backend == "lite":
        return LoadState(loaded=loaded)
    replica_number = None
    try:
        replicas = await call("describe_replica", name)
    except Exception:
        # 2.3.5 answers "replica not found" for a collection renamed in place of one that was read before
        # the rename (a copy's switch), although it is loaded and serves queries: the count is unknown then.
        replicas = None
    if replicas:
        replica_number = len(replicas)
    loaded_partitions = None
    if partitions and caps.partition_load:
        every = ("_default", *partitions)
        answers = await asyncio.gather(*(call("get_load_state", name, partition_names=[p]) for p in every))
        states = [_enum_name(a.get("state")) for a in answers]
        chosen = tuple(sorted(p for p, s in zip(every, states) if s in ("Loaded", "Loading")))
        loaded_partitions = None if len(chosen) == len(every) else chosen
    return LoadState(loaded=True, replica_number=replica_number, partitions=loaded_partitions)


def _num_partitions(description: dict[str, Any], has_partition_key: bool, caps: Capabilities) -> int | None:
    if not has_partition_key or not caps.keeps_num_partitions:
        return None
    count = description.get("num_partitions")
    if count is None:
        return None
    # Milvus Lite counts `_default` among the partition-key partitions (N+1); the server reports N.
    return count - 1 if caps.backend == "lite" else count


def _unwrap_default(value: Any) -> Any:
    # describe_collection returns default_value as a protobuf ValueField on both backends.
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    which = value.WhichOneof("data") if hasattr(value, "WhichOneof") else None
    return getattr(value, which) if which else None


async def aliases_of(client: Any, name: str, caps: Capabilities, timeout: float | None) -> list[str]:
    """The aliases pointing at collection `name`.

    Milvus 2.3 answers list_aliases/describe_alias from the default database whatever the client's
    db_name, but describe_collection's aliases are right; Milvus Lite is the other way round.
    """
    if caps.backend == "lite":
        return _alias_names(await client.list_aliases(collection_name=name, timeout=timeout))
    return _alias_names((await client.describe_collection(name, timeout=timeout)).get("aliases"))


def _alias_names(answer: Any) -> list[str]:
    # AsyncMilvusClient.list_aliases returns the raw protobuf list on both backends, not a dict.
    if isinstance(answer, dict):
        return list(answer.get("aliases") or [])
    return [str(a) for a in answer or []]


def _enum_name(value: Any) -> str:
    # DataType, FunctionType and LoadState are enums; their names are the words we compare.
    return getattr(value, "name", None) or str(value)

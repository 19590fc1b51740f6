"""plan(desired, live, caps) -> Plan: a pure function from two states to ordered operations."""

from __future__ import annotations

from milvus_migrate import evolution, ops
from milvus_migrate.capabilities import Capabilities
from milvus_migrate.errors import UnsupportedByServer
from milvus_migrate.state import AUTOINDEX, CollectionState, IndexState, LoadState, State



def plan(
    desired: State,
    live: State,
    caps: Capabilities,
    *,
    database: str = "default",
    from_version: int = 0,
    to_version: int = 0,
    direction: str = "up",
) -> ops.Plan:
    """The operations that take `live` to `desired` on a backend with `caps`, in a safe order.

    `live` holds the managed collections that exist; a collection in `live` but not in `desired` is
    dropped. Raises UnsupportedByServer when the declaration needs what the backend cannot do.
    """
    refusals = refusals_for(desired, caps)
    if refusals:
        raise UnsupportedByServer(refusals)
    warnings = list(warnings_for(desired, caps))
    planned: list[ops.Operation] = []
    recreated: set[str] = set()
    for name in sorted(desired.collections.keys() | live.collections.keys()):
        want, have = desired.collections.get(name), live.collections.get(name)
        if want is None:
            planned.append(ops.DropCollection(collection_name=name, reason="no longer declared"))
        elif have is None:
            planned += _create(want, caps, "declared, not in Milvus", warnings)
        else:
            # Changes Milvus cannot make in place: copy the rows, or drop and create (evolution.py).
            changes = evolution.classify(want, have, caps)
            if evolution.needs_recreate(changes):
                rebuilt = evolution.recreate_ops(
                    want, have, changes, lambda c, why: _create(c, caps, why, warnings), version=from_version
                )
                if any(isinstance(op, ops.DropCollection) for op in rebuilt):
                    recreated.add(name)
                planned += rebuilt
            else:
                planned += _diff_collection(want, have, caps, warnings) + evolution.in_place_ops(want, have, changes)
    planned += _diff_aliases(desired, live, recreated)
    planned.sort(key=lambda op: op.sort_key())
    return ops.Plan(
        ops=tuple(planned),
        database=database,
        from_version=from_version,
        to_version=to_version,
        direction=direction,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def refusals_for(desired: State, caps: Capabilities) -> list[str]:
    """What the declaration needs that the backend cannot do and that would change data or behaviour."""
    out = []
    where = caps.label
    for c in desired.collections.values():
        dense = [f for f in c.fields if f.type.endswith("_VECTOR") and f.type != "SPARSE_FLOAT_VECTOR"]
        for f in c.fields:
            if f.type.endswith("_VECTOR") and f.type not in caps.vector_types:
                out.append(f"{c.name}.{f.name}: {f.type} fields are not supported by {where}")
            if f.nullable and not caps.nullable:
                out.append(f"{c.name}.{f.name}: nullable fields are not supported by {where}")
            if f.default_value is not None and f.type not in caps.default_value_types:
                out.append(f"{c.name}.{f.name}: default_value on {f.type} fields is not supported by {where}")
            if f.is_primary and f.auto_id and f.type == "VARCHAR" and not caps.auto_id_varchar:
                out.append(f"{c.name}.{f.name}: auto_id on a VARCHAR primary key is not supported by {where}")
        if len(dense) > caps.max_dense_vector_fields:
            out.append(f"{c.name}: {len(dense)} dense vector fields; {where} supports {caps.max_dense_vector_fields}")
        if c.functions and not caps.functions:
            out.append(f"{c.name}: functions ({', '.join(fn.name for fn in c.functions)}) are not supported by {where}")
        for ix in c.indexes:
            field = c.field(ix.field_name)
            built = caps.index_type_for(field.type if field else "", ix.index_type)
            is_vector = field is not None and field.type.endswith("_VECTOR")
            allowed = caps.vector_index_types if is_vector else caps.scalar_index_types
            if allowed is not None and built not in allowed:
                kind = "vector" if is_vector else "scalar"
                out.append(f"{c.name}.{ix.field_name}: {kind} index type {built} is not supported by {where}")
        if c.load and c.load.partitions is not None and not caps.partition_load:
            out.append(f"{c.name}: partition-level load (load: {{partitions: …}}) is not supported by {where}")
    return out


def warnings_for(desired: State, caps: Capabilities) -> list[str]:
    """Cosmetic or tuning attributes the backend ignores: said once, then left out of the comparison."""
    out = []
    where = caps.label
    for c in desired.collections.values():
        if not caps.keeps_descriptions and (c.description or any(f.description for f in c.fields)):
            out.append(f"{where} does not keep descriptions; they are not compared")
        if not caps.keeps_consistency_level and c.consistency_level is not None:
            out.append(f"{where} ignores consistency_level; it is not compared")
        if not caps.keeps_num_shards and c.num_shards is not None:
            out.append(f"{where} ignores num_shards; it is not compared")
        if not caps.keeps_num_partitions and c.num_partitions is not None:
            out.append(f"{where} ignores num_partitions; it is not compared")
        if not caps.keeps_index_names and any(ix.index_name != ix.field_name for ix in c.indexes):
            out.append(f"{where} names every index after its field; custom index names are not compared")
        if not caps.keeps_mmap and any(f.mmap_enabled is not None for f in c.fields):
            out.append(f"{where} ignores mmap_enabled on fields; it is not compared")
        if not caps.keeps_clustering_key and any(f.is_clustering_key for f in c.fields):
            out.append(f"{where} ignores is_clustering_key; it is not compared")
    return out


def _create(want: CollectionState, caps: Capabilities, reason: str, warnings: list[str]) -> list[ops.Operation]:
    """Everything that builds `want` from nothing: collection, partitions, indexes, load."""
    out: list[ops.Operation] = [ops.CreateCollection(collection_name=want.name, collection=want, reason=reason)]
    out += [ops.CreatePartition(collection_name=want.name, partition_name=p, reason=reason) for p in want.partitions]
    out += [_create_index(want, ix, caps, reason, warnings) for ix in want.indexes]
    if want.load is not None and want.load.loaded:
        out.append(_load(want.name, want.load, reason))
    return out


def _create_index(
    want: CollectionState, ix: IndexState, caps: Capabilities, reason: str, warnings: list[str]
) -> ops.CreateIndex:
    field = want.field(ix.field_name)
    built = caps.index_type_for(field.type if field else "", ix.index_type)
    if built != ix.index_type:
        note = f"{caps.label} does not accept AUTOINDEX on {field.type if field else '?'} fields; building {built}, its default"
        warnings.append(f"{want.name}.{ix.field_name}: {note}")
        reason = f"{reason} ({note})"
        ix = ix.model_copy(update={"index_type": built})
    return ops.CreateIndex(collection_name=want.name, index=ix, reason=reason)


def _load(name: str, load: LoadState, reason: str) -> ops.Operation:
    if load.partitions is not None:
        return ops.LoadPartitions(
            collection_name=name, partition_names=load.partitions, replica_number=load.replica_number, reason=reason
        )
    return ops.LoadCollection(collection_name=name, replica_number=load.replica_number, reason=reason)


def _diff_collection(
    want: CollectionState, have: CollectionState, caps: Capabilities, warnings: list[str]
) -> list[ops.Operation]:
    name = want.name
    out: list[ops.Operation] = []
    have_fields = {f.name for f in have.fields}
    out += [
        ops.AddField(collection_name=name, field_spec=f, reason="field declared, not in Milvus")
        for f in want.fields
        if f.name not in have_fields
    ]
    if caps.keeps_descriptions and want.description != have.description:
        warnings.append(f"{name}: description differs from Milvus, which cannot change it in place; left as is")
    if caps.keeps_consistency_level and want.consistency_level not in (None, have.consistency_level):
        # Not worth a destructive recreate: searches can still ask for any level per request.
        warnings.append(
            f"{name}: consistency_level is {have.consistency_level} in Milvus, declared {want.consistency_level}; "
            "Milvus cannot change it in place, so it is left as is (pass consistency_level per request)"
        )
    out += _diff_properties(want, have, caps, warnings)
    if not any(f.is_partition_key for f in want.fields):
        out += [
            ops.CreatePartition(collection_name=name, partition_name=p, reason="declared, not in Milvus")
            for p in sorted(set(want.partitions) - set(have.partitions))
        ]
        out += [
            ops.DropPartition(collection_name=name, partition_name=p, reason="no longer declared")
            for p in sorted(set(have.partitions) - set(want.partitions))
        ]
    for field_name in sorted({i.field_name for i in want.indexes} | {i.field_name for i in have.indexes}):
        w, h = want.index_on(field_name), have.index_on(field_name)
        if w is not None and h is None:
            out.append(_create_index(want, w, caps, "declared, not in Milvus", warnings))
        elif h is not None and w is None:
            out.append(ops.DropIndex(collection_name=name, index=h, reason="no longer declared"))
        elif w is not None and h is not None:
            change = _index_change(want, w, h, caps)
            if change:
                out.append(ops.DropIndex(collection_name=name, index=h, reason=f"{change}: rebuilt"))
                out.append(_create_index(want, w, caps, change, warnings))
    dropped = {op.index.field_name for op in out if isinstance(op, ops.DropIndex)}
    if dropped and caps.drop_index_drops_all:
        # The other indexes go too: build them again.
        out += [
            _create_index(want, w, caps, f"{caps.label} drops every index of a collection with any drop_index", warnings)
            for w in want.indexes
            if w.field_name not in dropped and have.index_on(w.field_name) is not None
        ]
    out += _diff_load(want, have, caps, out)
    return out


def _diff_properties(
    want: CollectionState, have: CollectionState, caps: Capabilities, warnings: list[str]
) -> list[ops.Operation]:
    changed = {k: v for k, v in want.properties.items() if have.properties.get(k) != v}
    removed = tuple(sorted(have.properties.keys() - want.properties.keys()))
    out: list[ops.Operation] = []
    if changed:
        before = {k: have.properties.get(k) for k in changed}
        out.append(
            ops.AlterCollectionProperties(
                collection_name=want.name, properties=changed, before=before, reason="properties differ"
            )
        )
    if removed and not caps.drop_collection_properties:
        # Refusing would block every `down` past the version that added a property; keep it, say so.
        kept = ", ".join(f"{k}={have.properties[k]}" for k in removed)
        warnings.append(
            f"{want.name}: {caps.label} cannot remove collection properties; {kept} stays "
            "(declare the value you want to change it)"
        )
    elif removed:
        out.append(
            ops.DropCollectionProperties(collection_name=want.name, property_keys=removed, reason="no longer declared")
        )
    return out


def _index_change(want: CollectionState, w: IndexState, h: IndexState, caps: Capabilities) -> str:
    """What differs between a declared and a live index ('' when they match)."""
    field = want.field(w.field_name)
    built = caps.index_type_for(field.type if field else "", w.index_type)
    if h.index_type != built:
        return f"index type {h.index_type} → {built}"
    if w.metric_type is not None and h.metric_type != w.metric_type:
        return f"metric {h.metric_type} → {w.metric_type}"
    if built == AUTOINDEX or built != w.index_type:
        # The server picks the build params of AUTOINDEX (and of the default it substitutes): compare only declared ones.
        differing = {k for k, v in w.params.items() if h.params.get(k) != v}
    else:
        differing = {k for k in w.params.keys() | h.params.keys() if w.params.get(k) != h.params.get(k)}
    if differing:
        return "index params " + ", ".join(f"{k} {_show(h.params.get(k))} → {_show(w.params.get(k))}" for k in sorted(differing))
    if caps.keeps_index_names and w.index_name != h.index_name:
        return f"index name {h.index_name} → {w.index_name}"
    return ""


def _diff_load(
    want: CollectionState, have: CollectionState, caps: Capabilities, changes: list[ops.Operation]
) -> list[ops.Operation]:
    """Release/load operations: release only where a change needs it, reload after."""
    name = want.name
    loaded_now = have.load is not None and have.load.loaded
    needs_release = loaded_now and any(
        isinstance(op, ops.DropIndex) or (isinstance(op, ops.DropPartition) and caps.drop_partition_needs_release)
        for op in changes
    )
    target = want.load
    if target is None:
        # Load state not declared: leave it, but restore what a maintenance release took away.
        if needs_release:
            release = ops.ReleaseCollection(collection_name=name, reason="required to change indexes or partitions")
            restore = _without_dropped_partitions(have.load, changes)  # type: ignore[arg-type]
            if restore is None:
                return [release]
            return [release, _load(name, restore, "restore the load state after the change")]
        return []
    out: list[ops.Operation] = []
    if not target.loaded:
        if loaded_now and caps.keeps_load_state:
            out.append(ops.ReleaseCollection(collection_name=name, reason="declared load: false"))
        return out
    if not caps.keeps_load_state:
        # Milvus Lite forgets load state between processes: load whenever this plan touches the collection.
        if changes and not loaded_now:
            out.append(_load(name, target, "declared loaded (Milvus Lite keeps no load state between runs)"))
        elif needs_release:
            out.append(ops.ReleaseCollection(collection_name=name, reason="required to change indexes or partitions"))
            out.append(_load(name, target, "reload after the change"))
        return out
    replicas_differ = (
        target.replica_number is not None
        and have.load is not None
        and have.load.replica_number is not None
        and target.replica_number != have.load.replica_number
    )
    if replicas_differ and not needs_release and loaded_now:
        out.append(
            ops.ReleaseCollection(
                collection_name=name,
                reason=f"replica_number {have.load.replica_number} → {target.replica_number} needs a reload",  # type: ignore[union-attr]
            )
        )
        needs_release = True
    elif needs_release:
        out.append(ops.ReleaseCollection(collection_name=name, reason="required to change indexes or partitions"))
    if not loaded_now or needs_release:
        out.append(_load(name, target, "declared loaded" if not loaded_now else "reload after the change"))
        return out
    have_partitions = have.load.partitions if have.load else None
    all_partitions = ("_default", *have.partitions)
    if target.partitions is None:
        if have_partitions is not None:
            out.append(ops.LoadCollection(collection_name=name, replica_number=target.replica_number, reason="declared: every partition loaded"))
        return out
    loaded = set(all_partitions if have_partitions is None else have_partitions)
    to_load = tuple(sorted(set(target.partitions) - loaded))
    to_release = tuple(sorted(loaded - set(target.partitions)))
    if to_load:
        out.append(ops.LoadPartitions(collection_name=name, partition_names=to_load, replica_number=target.replica_number, reason="declared loaded"))
    if to_release:
        out.append(ops.ReleasePartitions(collection_name=name, partition_names=to_release, reason="declared not loaded"))
    return out


def _without_dropped_partitions(load: LoadState, changes: list[ops.Operation]) -> LoadState | None:
    """`load` minus the partitions this plan drops (None when nothing would be left to load)."""
    if load.partitions is None:
        return load
    dropped = {op.partition_name for op in changes if isinstance(op, ops.DropPartition)}
    kept = tuple(p for p in load.partitions if p not in dropped)
    return load.model_copy(update={"partitions": kept}) if kept else None


def _diff_aliases(desired: State, live: State, recreated: set[str]) -> list[ops.Operation]:
    """Alias moves across collections: attach after targets are ready, detach before drops."""
    want, have = desired.alias_targets(), live.alias_targets()
    out: list[ops.Operation] = []
    for alias, target in sorted(want.items()):
        current = have.get(alias)
        if current is None:
            out.append(ops.CreateAlias(collection_name=target, alias=alias, reason="declared, not in Milvus"))
        elif current in recreated:
            # Dropping a collection that has aliases fails (newer Milvus) or leaves them dangling (2.3).
            out.append(ops.DropAlias(collection_name=current, alias=alias, reason=f"{current} is recreated"))
            out.append(ops.CreateAlias(collection_name=target, alias=alias, reason=f"{current} is recreated"))
        elif current != target:
            out.append(ops.AlterAlias(collection_name=target, alias=alias, previous_collection=current, reason="declared on another collection"))
    for alias, current in sorted(have.items()):
        if alias not in want:
            out.append(ops.DropAlias(collection_name=current, alias=alias, reason="no longer declared"))
    return out


def _show(value: object) -> str:
    return "none" if value is None else str(value)

"""How a live collection can become its declaration: in place, by copying its rows, or only with data loss.

classify(want, have, caps) lists every schema change with its class and the reason. The planner turns
the classes into operations: in-place calls, a copy into a shadow collection followed by a switch of
names (recreate_ops), or drop + create when some change has no row mapping. Pure: no I/O.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from milvus_migrate.planning import ops
from milvus_migrate.planning.capabilities import Capabilities
from milvus_migrate.planning.ops import Phase
from milvus_migrate.planning.state import CollectionState, FieldState

# Field attributes whose change Milvus cannot make in place on every backend.
SCHEMA_ATTRIBUTES = (
    "type", "is_primary", "auto_id", "dim", "max_length", "element_type", "max_capacity", "nullable",
    "default_value", "is_partition_key", "is_clustering_key", "enable_analyzer", "analyzer_params", "enable_match",
)  # fmt: skip

# Retypes where every value of the old type is a value of the new one (Python ints and floats carry them).
_WIDENINGS = {
    ("INT8", "INT16"), ("INT8", "INT32"), ("INT8", "INT64"), ("INT16", "INT32"), ("INT16", "INT64"),
    ("INT32", "INT64"), ("FLOAT", "DOUBLE"),
}  # fmt: skip

# Names milvus-migrate gives its own collections during a copy. Collection names allow letters, digits and
# underscores only, so a double underscore plus "mm" is the least likely to meet a user's name.
SHADOW_SUFFIX = "__mm_shadow"
_BACKUP = re.compile(r"^(?P<owner>.+)__mm_backup_v(?P<version>\d+)$")
# A backup on its way back to its name (a switch back between its renames): `<name>__mm_switch_v<version>`.
_SWITCH = re.compile(r"^(?P<owner>.+)__mm_switch_v(?P<version>\d+)$")


class Kind(str, Enum):
    """The class of a change: what it costs to make."""

    IN_PLACE = "in_place"  # one call on the connected server; rows untouched
    COPY = "copy"  # the rows are carried into a collection with the new schema
    DATA_LOSS = "data_loss"  # no mapping of the rows exists: drop and create

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Change:
    """One difference between a live collection and its declaration, with its class and why."""

    kind: Kind
    reason: str
    # A COPY that cannot carry everything names what is lost (a dropped field's values, dynamic keys);
    # the plan marks it destructive, so it needs --allow-data-loss while the rows are kept.
    lost: str = ""
    # An IN_PLACE change other than an added field: the field params or properties that make it.
    field_params: dict[str, Any] | None = None
    properties: dict[str, str] | None = None
    field_name: str = ""


def shadow_name(name: str) -> str:
    """The collection a copy fills before the switch."""
    return f"{name}{SHADOW_SUFFIX}"


def backup_name(name: str, version: int) -> str:
    """The name the old collection keeps after a switch: `<name>__mm_backup_v<version it held>`."""
    return f"{name}__mm_backup_v{version}"


def switch_name(name: str, version: int) -> str:
    """The name backup `<name>__mm_backup_v<version>` takes while it switches back to `name`."""
    return f"{name}__mm_switch_v{version}"


def owner_of(name: str) -> str:
    """The user collection a shadow or backup belongs to (`name` itself for any other collection)."""
    if name.endswith(SHADOW_SUFFIX):
        return name.removesuffix(SHADOW_SUFFIX)
    match = _BACKUP.match(name) or _SWITCH.match(name)
    return match["owner"] if match else name


def is_reserved(name: str) -> bool:
    """Whether `name` is one of milvus-migrate's shadow, backup or switching collections."""
    return owner_of(name) != name


def backup_version(name: str) -> int | None:
    """The version a backup collection holds (None when `name` is no backup)."""
    match = _BACKUP.match(name)
    return int(match["version"]) if match else None


def switch_version(name: str) -> int | None:
    """The version a backup switching back holds (None when `name` is no such collection)."""
    match = _SWITCH.match(name)
    return int(match["version"]) if match else None


def comparable_field(f: FieldState, caps: Capabilities) -> dict[str, Any]:
    """The schema attributes of `f` as the backend keeps them (what it drops is not compared)."""
    values = {k: getattr(f, k) for k in SCHEMA_ATTRIBUTES}
    if not caps.keeps_clustering_key:
        values["is_clustering_key"] = False
    if f.type == "ARRAY" and not caps.keeps_array_max_length:
        values["max_length"] = None
    if f.type == "FLOAT" and isinstance(f.default_value, (int, float)) and not isinstance(f.default_value, bool):
        # Milvus keeps a FLOAT default as float32: a declared 0.1 reads back as 0.10000000149011612.
        values["default_value"] = struct.unpack("f", struct.pack("f", f.default_value))[0]
    return values


def can_add_in_place(f: FieldState, caps: Capabilities) -> bool:
    """add_collection_field (Milvus 2.6+) adds nullable scalar fields only."""
    return caps.add_field and f.nullable and not f.type.endswith("_VECTOR")


def classify(want: CollectionState, have: CollectionState, caps: Capabilities) -> list[Change]:
    """Every schema difference between `have` (live) and `want` (declared), classified, sorted by reason."""
    changes: list[Change] = []
    have_fields = {f.name: f for f in have.fields}
    want_fields = {f.name: f for f in want.fields}
    outputs = {out for fn in want.functions for out in fn.output_field_names} if caps.functions else set()
    old_outputs = {out for fn in have.functions for out in fn.output_field_names} if caps.functions else set()
    for name in sorted(have_fields.keys() - want_fields.keys()):
        if name in old_outputs or have_fields[name].is_function_output:
            changes.append(Change(Kind.COPY, f"function output field {name} removed"))
        elif have_fields[name].is_primary:
            changes.append(Change(Kind.DATA_LOSS, f"primary key field {name} removed"))
        else:
            changes.append(Change(Kind.COPY, f"field {name} removed", lost=f"the values of field {name}"))
    for name in sorted(want_fields.keys() - have_fields.keys()):
        changes.append(_added(want_fields[name], name in outputs, caps))
    for name in sorted(want_fields.keys() & have_fields.keys()):
        changes += _field_changes(want_fields[name], have_fields[name], caps)
    changes += _collection_changes(want, have, caps)
    return sorted(changes, key=lambda c: c.reason)


def _added(f: FieldState, is_output: bool, caps: Capabilities) -> Change:
    if is_output:
        return Change(Kind.COPY, f"function output field {f.name} added (Milvus computes its values on insert)")
    if can_add_in_place(f, caps):
        return Change(Kind.IN_PLACE, f"field {f.name} added (add_collection_field)")
    if f.is_primary:
        return Change(Kind.DATA_LOSS, f"primary key field {f.name} added")
    if f.nullable or f.default_value is not None:
        fill = "null" if f.default_value is None else f"default {f.default_value}"
        return Change(Kind.COPY, f"field {f.name} added (existing rows get {fill})")
    return Change(Kind.DATA_LOSS, f"field {f.name} added without nullable or default_value: existing rows have no value for it")


def _field_changes(w: FieldState, h: FieldState, caps: Capabilities) -> list[Change]:
    want, have = comparable_field(w, caps), comparable_field(h, caps)
    # A retype changes the type params with it (VARCHAR → INT64 loses max_length): the type says it all.
    keys = ("type", "is_primary", "auto_id") if want["type"] != have["type"] else SCHEMA_ATTRIBUTES
    out = []
    for key in keys:
        before, after = have[key], want[key]
        if before == after:
            continue
        what = f"field {w.name} {key} {_show(before)} → {_show(after)}"
        out.append(_attribute_change(key, before, after, what, w, caps))
    return out


def _attribute_change(key: str, before: Any, after: Any, what: str, w: FieldState, caps: Capabilities) -> Change:
    if key in ("is_primary", "auto_id", "dim"):
        return Change(Kind.DATA_LOSS, what)
    if key in ("type", "element_type"):
        if (before, after) in _WIDENINGS and not w.is_primary:
            return Change(Kind.COPY, f"{what} (every value converts)")
        return Change(Kind.DATA_LOSS, f"{what} (no conversion keeps every value)")
    if key in ("max_length", "max_capacity"):
        # None is unbounded (Milvus Lite accepts a VARCHAR without max_length).
        widened = after is None or (before is not None and after > before)
        if not widened:
            return Change(Kind.DATA_LOSS, f"{what} (narrowed: longer values do not fit)")
        if caps.alter_field and not (key == "max_length" and w.type == "ARRAY"):
            return Change(Kind.IN_PLACE, f"{what} (alter_collection_field)", field_params={key: after}, field_name=w.name)
        return Change(Kind.COPY, f"{what} (widened)")
    if key == "nullable":
        if after:
            return Change(Kind.COPY, what)
        return Change(Kind.DATA_LOSS, f"{what} (rows holding null have no value)")
    # default_value, partition key, clustering key, analyzer, match: the rows carry over unchanged,
    # and Milvus re-routes, re-tokenises or applies the new default on insert.
    return Change(Kind.COPY, what)


def _collection_changes(want: CollectionState, have: CollectionState, caps: Capabilities) -> list[Change]:
    out = []
    if caps.functions:
        wanted = {fn.name: _comparable_function(fn, caps) for fn in want.functions}
        existing = {fn.name: _comparable_function(fn, caps) for fn in have.functions}
        for name in sorted(wanted.keys() | existing.keys()):
            if name not in existing:
                out.append(Change(Kind.COPY, f"function {name} added (Milvus computes its outputs on insert)"))
            elif name not in wanted:
                out.append(Change(Kind.COPY, f"function {name} removed"))
            elif wanted[name] != existing[name]:
                out.append(Change(Kind.COPY, f"function {name} changed (Milvus recomputes its outputs on insert)"))
    if want.enable_dynamic_field != have.enable_dynamic_field:
        what = f"enable_dynamic_field {have.enable_dynamic_field} → {want.enable_dynamic_field}"
        if want.enable_dynamic_field and caps.dynamic_field_property:
            out.append(Change(Kind.IN_PLACE, f"{what} (property dynamicfield.enabled)", properties={"dynamicfield.enabled": "True"}))
        elif want.enable_dynamic_field:
            out.append(Change(Kind.COPY, what))
        else:
            out.append(Change(Kind.COPY, what, lost="the dynamic field's keys ($meta)"))
    if want.num_shards is not None and caps.keeps_num_shards and have.num_shards is not None and want.num_shards != have.num_shards:
        out.append(Change(Kind.COPY, f"num_shards {have.num_shards} → {want.num_shards}"))
    if want.num_partitions is not None and have.num_partitions is not None and want.num_partitions != have.num_partitions:
        out.append(Change(Kind.COPY, f"num_partitions {have.num_partitions} → {want.num_partitions}"))
    return out


def _comparable_function(fn: Any, caps: Capabilities) -> Any:
    # Milvus Lite drops function descriptions: comparing them would plan a copy of an unchanged collection.
    return fn if caps.keeps_descriptions else fn.model_copy(update={"description": ""})


def needs_recreate(changes: list[Change]) -> bool:
    """Whether the collection must be rebuilt (some change is not in place)."""
    return any(c.kind is not Kind.IN_PLACE for c in changes)


def in_place_ops(want: CollectionState, have: CollectionState, changes: list[Change]) -> list[ops.Operation]:
    """The calls for IN_PLACE changes other than added fields (the planner's AddField covers those)."""
    out: list[ops.Operation] = []
    for c in changes:
        if c.kind is not Kind.IN_PLACE:
            continue
        if c.field_params:
            old = have.field(c.field_name)
            before = {k: getattr(old, k, None) for k in c.field_params}
            out.append(
                ops.AlterCollectionField(
                    collection_name=want.name, field_name=c.field_name, field_params=dict(c.field_params),
                    before=before, reason=c.reason,
                )
            )  # fmt: skip
        elif c.properties:
            before = {k: have.properties.get(k) for k in c.properties}
            out.append(
                ops.AlterCollectionProperties(
                    collection_name=want.name, properties=dict(c.properties), before=before, reason=c.reason
                )
            )
    return out


Diff = Callable[[CollectionState, CollectionState], list[ops.Operation]]


def recreate_ops(
    want: CollectionState,
    have: CollectionState,
    changes: list[Change],
    create: Callable[[CollectionState, str], list[ops.Operation]],
    *,
    version: int,
    to_version: int,
    backups: dict[str, CollectionState],
    diff: Diff,
    caps: Capabilities,
) -> list[ops.Operation]:
    """The operations that rebuild `have` as `want`, keeping the rows where every change allows it.

    `create(collection, reason)` is the planner's builder of a collection with its partitions, indexes
    and load state. `version` is the version the live collection holds (it names the backup). When a
    backup of version `to_version` holds exactly the rows `have` holds (`backups`, read from Milvus and
    the history), the backup takes the name back instead: `diff(want, backup)` makes it what is declared.
    """
    blocking = [c for c in changes if c.kind is not Kind.IN_PLACE]
    why = "; ".join(c.reason for c in blocking)
    not_switched = ""
    if to_version != version and backups:
        backup, not_switched = switch_back_candidate(want, have, backups, version, to_version, caps)
        if backup is not None:
            return _switch_back_ops(want, have, backup, diff, version)
    if not_switched:
        why = f"{why} ({not_switched})"
    loss = [c for c in blocking if c.kind is Kind.DATA_LOSS]
    if have.num_rows == 0 or loss or want.on_recreate == "drop":
        if have.num_rows == 0:
            why_drop = f"{why}: recreated empty"  # nothing to carry, so nothing is lost
        else:
            why_drop = f"{why}: cannot be changed in place" + ("" if loss else " (on_recreate: drop)")
        return [
            ops.DropCollection(collection_name=want.name, phase=Phase.DROP_FOR_RECREATE, num_rows=have.num_rows, reason=why_drop),
            *create(want, f"recreated: {why}"),
        ]
    return _copy_ops(want, have, blocking, create, version, why)


def switch_back_candidate(
    want: CollectionState,
    have: CollectionState,
    backups: dict[str, CollectionState],
    version: int,
    to_version: int,
    caps: Capabilities,
) -> tuple[CollectionState | None, str]:
    """The backup that can take `want.name` back instantly, or None and why not ('' when there is no backup).

    A backup of `to_version` qualifies when it has the declared schema (only in-place differences) and
    the collection under the name holds exactly the rows it held when it replaced that backup: no row
    inserted or deleted since the switch (docs/evolution.md, "Switching back").
    """
    name = backup_name(want.name, to_version)
    backup = backups.get(name)
    if backup is None:
        return None, ""
    if backup_name(want.name, version) in backups:
        return None, f"not switched back to {name}: {backup_name(want.name, version)} already exists"
    if needs_recreate(classify(want, backup, caps)):
        return None, f"not switched back to {name}: its schema is not the one declared"
    if backup.replaced_by is None:
        return None, f"not switched back to {name}: the history holds no record of the switch that kept it"
    if have.row_set is None:
        return None, f"not switched back to {name}: the rows of {want.name} could not be compared (not loaded)"
    if have.row_set != backup.replaced_by:
        then, now = backup.replaced_by, have.row_set
        how = f"{then.describe()} then, {now.describe()} now" if then.rows != now.rows else "other primary keys"
        return None, f"not switched back to {name}: {want.name} took writes since it replaced it ({how})"
    return backup, ""


def _switch_back_ops(
    want: CollectionState, have: CollectionState, backup: CollectionState, diff: Diff, version: int
) -> list[ops.Operation]:
    """The backup is made what is declared under its own name, then takes the name; the current collection steps aside."""
    name = want.name
    incoming, outgoing = switch_name(name, backup_version(backup.name) or 0), backup_name(name, version)
    rows = have.row_set
    assert rows is not None  # switch_back_candidate checked it
    out = diff(want.model_copy(update={"name": backup.name, "aliases": ()}), backup)
    out.append(
        ops.RenameCollection(
            collection_name=backup.name, new_name=incoming, phase=Phase.SWITCH_PREPARE, expect_rows=rows,
            expect_rows_of=name,
            reason=f"switch to the backup: {name} took no writes since it replaced {backup.name} ({rows.describe()}, same keys)",
        )  # fmt: skip
    )
    out.append(ops.RenameCollection(collection_name=name, new_name=outgoing, reason="switch: keep the current collection as a backup"))
    out.append(
        ops.RenameCollection(
            collection_name=incoming, new_name=name, phase=Phase.SWITCH_IN, rows=backup.row_set,
            reason="switch: the backup takes the name back",
        )  # fmt: skip
    )
    return out + _after_switch(want, have, outgoing)


def _copy_ops(
    want: CollectionState,
    have: CollectionState,
    changes: list[Change],
    create: Callable[[CollectionState, str], list[ops.Operation]],
    version: int,
    why: str,
) -> list[ops.Operation]:
    """Fill a shadow with the new schema from `have`'s rows, then switch names; `why` says what changed."""
    name, shadow, backup = want.name, shadow_name(want.name), backup_name(want.name, version)
    reason = f"copy: {why}"
    # The shadow is built like a new collection, minus the aliases: those move at the switch.
    built = create(want.model_copy(update={"name": shadow, "aliases": ()}), reason)
    for i, op in enumerate(built):
        if isinstance(op, ops.CreateCollection):
            built[i] = ops.CreateCollection(
                collection_name=op.collection_name, collection=op.collection, reason=op.reason, replace_leftover=True
            )
    mapping = row_mapping(want, have)
    lost = [c.lost for c in changes if c.lost]
    if mapping.by_partition and mapping.target_partitions is not None:
        lost += [f"the rows of partition {p}" for p in have.partitions if p not in mapping.target_partitions]
    primary = want.primary_field
    if primary is not None and primary.auto_id:
        # Milvus refuses primary keys on insert into an auto_id collection: the copies get new ones.
        lost.append(f"the primary key values of {primary.name} (auto_id assigns new ones)")
    out: list[ops.Operation] = list(built)
    out.append(
        ops.CopyRows(
            collection_name=name, target=shadow, estimated_rows=have.num_rows, mapping=mapping, lost=tuple(lost),
            backup=backup, reason=reason,
        )  # fmt: skip
    )
    out.append(ops.RenameCollection(collection_name=name, new_name=backup, check_rows_against=shadow, reason="switch: keep the old collection as a backup"))
    out.append(ops.RenameCollection(collection_name=shadow, new_name=name, phase=Phase.SWITCH_IN, reason="switch: the copy takes the name"))
    return out + _after_switch(want, have, backup)


def _after_switch(want: CollectionState, have: CollectionState, backup: str) -> list[ops.Operation]:
    """Aliases follow a renamed collection: the declared ones move from the backup back to the name; the backup is released."""
    moves: list[ops.Operation] = [
        ops.AlterAlias(collection_name=want.name, alias=alias, previous_collection=backup, reason="switch: re-point the alias")
        for alias in sorted(set(want.aliases) & set(have.aliases))
    ]
    release = ops.ReleaseCollection(
        collection_name=backup, phase=Phase.AFTER_SWITCH, reason="the backup holds no memory until it is needed again"
    )
    return [*moves, release]


def row_mapping(want: CollectionState, have: CollectionState) -> ops.RowMapping:
    """Which source fields the copy reads and writes, which it converts, and where the rows go."""
    outputs = {out for fn in want.functions for out in fn.output_field_names} | {
        f.name for f in want.fields if f.is_function_output
    }
    have_outputs = {out for fn in have.functions for out in fn.output_field_names} | {
        f.name for f in have.fields if f.is_function_output
    }
    want_fields = {f.name: f for f in want.fields}
    copied = tuple(
        f.name
        for f in have.fields
        if f.name in want_fields and f.name not in outputs and f.name not in have_outputs
        and not (want_fields[f.name].is_primary and want_fields[f.name].auto_id)
    )  # fmt: skip
    conversions = {
        f.name: want_fields[f.name].type
        for f in have.fields
        if f.name in copied and want_fields[f.name].type != f.type
    }
    primary = have.primary_field
    target_partition_key = any(f.is_partition_key for f in want.fields)
    return ops.RowMapping(
        primary_key=primary.name if primary else "",
        primary_key_type=primary.type if primary else "INT64",
        fields=copied,
        conversions=conversions,
        dynamic=have.enable_dynamic_field and want.enable_dynamic_field,
        by_partition=not any(f.is_partition_key for f in have.fields),
        target_partitions=None if target_partition_key else ("_default", *want.partitions),
        row_bytes=sum(_field_bytes(f) for f in have.fields if f.name in copied) + (256 if have.enable_dynamic_field else 0),
    )


# Bytes per element of each vector type (BINARY: bits; sparse vectors: a guess of 100 entries).
_VECTOR_BYTES = {"FLOAT_VECTOR": 4.0, "FLOAT16_VECTOR": 2.0, "BFLOAT16_VECTOR": 2.0, "INT8_VECTOR": 1.0, "BINARY_VECTOR": 0.125}


def _field_bytes(f: FieldState) -> int:
    """A rough size of one value of `f`, to size the pages of a copy."""
    if f.type in _VECTOR_BYTES:
        return int((f.dim or 0) * _VECTOR_BYTES[f.type]) + 16
    if f.type == "SPARSE_FLOAT_VECTOR":
        return 800
    if f.type == "VARCHAR":
        return min(f.max_length or 256, 1024)  # real values are rarely as long as allowed
    if f.type == "ARRAY":
        return 8 * (f.max_capacity or 16)
    return 256 if f.type == "JSON" else 8


def _show(value: object) -> str:
    return "none" if value is None else str(value)

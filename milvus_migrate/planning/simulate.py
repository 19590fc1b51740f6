"""simulate(state, ops) -> state: what Milvus will look like after a plan runs; the planner's oracle.

The run plan plans each version against the state the previous versions leave, and `up` checks
before each version that Milvus is still what this simulation expects. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable

from milvus_migrate.planning import evolution, ops
from milvus_migrate.planning.state import CollectionState, LoadState, State


def simulate(state: State, operations: Iterable[ops.Operation]) -> State:
    """`state` after `operations` ran in order, as a later read of Milvus would describe it."""
    # Backups take part: a switch back renames one to its collection's name, and a switch makes one.
    collections = {**state.backups, **state.collections}
    stepped_aside: dict[str, str] = {}  # collection name -> the backup its previous collection became
    for op in operations:
        _apply(collections, op)
        if isinstance(op, ops.RenameCollection):
            _follow_switch(collections, op, stepped_aside)
    backups = {n: c for n, c in collections.items() if evolution.backup_version(n) is not None}
    kept = {n: c for n, c in collections.items() if n not in backups}
    # Names held by collections the files do not manage stay held: later steps are refused the same way.
    return State(collections=kept, alias_owners=state.alias_owners, backups=backups)


def _follow_switch(collections: dict[str, CollectionState], op: ops.RenameCollection, stepped_aside: dict[str, str]) -> None:
    """Keep the row sets a later switch back compares (CollectionState.row_set, replaced_by)."""
    if evolution.backup_version(op.new_name) is not None:
        stepped_aside[op.collection_name] = op.new_name
        _update(collections, op.new_name, replaced_by=None)
    elif not evolution.is_reserved(op.new_name):
        # A shadow's rows are known once copied, not before: a later step cannot switch back over it.
        _update(collections, op.new_name, row_set=op.rows, replaced_by=None)
        backup = stepped_aside.pop(op.new_name, None)
        if backup is not None and backup in collections:
            _update(collections, backup, replaced_by=op.rows)


# alter_collection_field's params → the FieldState attribute they set.
_FIELD_PARAMS = {"mmap.enabled": "mmap_enabled", "max_length": "max_length", "max_capacity": "max_capacity", "description": "description"}


def _apply(collections: dict[str, CollectionState], op: ops.Operation) -> None:
    name = op.collection_name
    match op:
        case ops.CreateCollection(collection=c):
            # create_collection builds the schema only; partitions, indexes, load and aliases are ops of their own.
            collections[name] = c.model_copy(
                update={"partitions": (), "indexes": (), "aliases": (), "load": LoadState(loaded=False)}
            )
        case ops.DropCollection():
            collections.pop(name, None)
        case ops.CreateAlias(alias=alias) | ops.AlterAlias(alias=alias):
            _detach_alias(collections, alias)
            _update(collections, name, aliases=tuple(sorted({*collections[name].aliases, alias})))
        case ops.DropAlias(alias=alias):
            _detach_alias(collections, alias)
        case _ if name not in collections:
            raise ValueError(f"{op.describe()}: collection {name} does not exist at this point of the plan")
        case ops.CopyRows(target=target):
            # The target's schema is its own; only its rows come from the source.
            _update(collections, target, num_rows=collections[name].num_rows)
        case ops.RenameCollection(new_name=new_name):
            # Aliases, indexes, partitions and the load state follow the collection to its new name.
            collections[new_name] = collections.pop(name).model_copy(update={"name": new_name})
        case ops.AddField(field_spec=f):
            _update(collections, name, fields=(*collections[name].fields, f))
        case ops.AlterCollectionField(field_name=field_name, field_params=params):
            changes = {_FIELD_PARAMS[k]: v for k, v in params.items()}
            fields = tuple(f.model_copy(update=changes) if f.name == field_name else f for f in collections[name].fields)
            _update(collections, name, fields=fields)
        case ops.CreatePartition(partition_name=p):
            _update(collections, name, partitions=tuple(sorted({*collections[name].partitions, p})))
        case ops.DropPartition(partition_name=p):
            c = collections[name]
            load = c.load
            if load is not None and load.partitions is not None:
                load = load.model_copy(update={"partitions": tuple(x for x in load.partitions if x != p)})
            _update(collections, name, partitions=tuple(x for x in c.partitions if x != p), load=load)
        case ops.CreateIndex(index=ix):
            kept = [i for i in collections[name].indexes if i.field_name != ix.field_name]
            _update(collections, name, indexes=tuple(sorted([*kept, ix], key=lambda i: i.field_name)))
        case ops.DropIndex(index=ix):
            kept = tuple(i for i in collections[name].indexes if i.index_name != ix.index_name)
            _update(collections, name, indexes=kept)
        case ops.AlterCollectionProperties(properties=props):
            _update(collections, name, properties={**collections[name].properties, **props})
        case ops.DropCollectionProperties(property_keys=keys):
            kept_props = {k: v for k, v in collections[name].properties.items() if k not in keys}
            _update(collections, name, properties=kept_props)
        case ops.LoadCollection(replica_number=n):
            _update(collections, name, load=LoadState(loaded=True, replica_number=n))
        case ops.ReleaseCollection():
            _update(collections, name, load=LoadState(loaded=False))
        case ops.LoadPartitions(partition_names=names, replica_number=n):
            before = collections[name].load
            already = set(before.partitions or ()) if before is not None and before.loaded else set()
            _update(collections, name, load=LoadState(loaded=True, replica_number=n, partitions=tuple(sorted(already | set(names)))))
        case ops.ReleasePartitions(partition_names=names):
            c = collections[name]
            every = ("_default", *c.partitions)
            loaded = c.load.partitions if c.load is not None and c.load.partitions is not None else every
            left = tuple(sorted(set(loaded) - set(names)))
            replicas = c.load.replica_number if c.load is not None else None
            _update(collections, name, load=LoadState(loaded=bool(left), replica_number=replicas, partitions=left or None))
        case _:
            raise NotImplementedError(f"simulate: no model of {op.op}")


def _update(collections: dict[str, CollectionState], name: str, **changes: object) -> None:
    collections[name] = collections[name].model_copy(update=changes)


def _detach_alias(collections: dict[str, CollectionState], alias: str) -> None:
    for other, c in collections.items():
        if alias in c.aliases:
            collections[other] = c.model_copy(update={"aliases": tuple(a for a in c.aliases if a != alias)})

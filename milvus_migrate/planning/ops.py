"""Plan operations: one frozen dataclass per pymilvus call, plus the Plan that orders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any, ClassVar

from milvus_migrate.planning.state import (
    CollectionState,
    FieldState,
    IndexState,
    RowSet,
)


class Phase(IntEnum):
    """Where an operation sits in a plan; each member says why it sits there."""

    DETACH_ALIASES = 10  # newer Milvus refuses to drop an aliased collection; 2.3 leaks the alias
    RELEASE = 20  # Milvus refuses drop_index (both backends) and drop_partition (2.3) on a loaded collection
    DROP_INDEXES = 30  # an index is dropped before its replacement is created: one index per field
    DROP_PARTITIONS = 40
    DROP_FOR_RECREATE = 50  # the old collection must be gone before one of the same name is created
    CREATE_COLLECTIONS = 60
    ALTER_PROPERTIES = 65
    CREATE_PARTITIONS = 70  # partitions exist before a partition-level load names them
    COPY_ROWS = 75  # a shadow collection is filled before its indexes are built: one build, on sealed segments
    CREATE_INDEXES = 80  # Milvus loads only collections whose vector fields are indexed
    LOAD = 90
    # A backup switched back to takes a name that says so first: an interrupted switch back is then
    # finished (or undone) knowing which backup was coming in (copy.finish_interrupted_switches).
    SWITCH_PREPARE = 94
    SWITCH = 95  # a copied collection's old version steps aside only once its shadow is indexed and loaded
    SWITCH_IN = 96  # then the shadow takes the name
    AFTER_SWITCH = 97  # the backup is released: it holds no memory until `down` needs it
    ATTACH_ALIASES = 100  # aliases move only once their new target is created and loaded
    DROP_COLLECTIONS = 110  # a removed collection goes last, once no alias points at it any more


class Category(str, Enum):
    """How a plan line is marked: + adds, - removes, ~ changes."""

    ADD = "+"
    REMOVE = "-"
    CHANGE = "~"


class Direction(str, Enum):
    """What a step or a history record did to the database's version."""

    UP = "up"
    DOWN = "down"
    RECONCILE = "reconcile"  # `up` repaired drift at the current version
    STAMP = "stamp"  # recorded without changing Milvus
    REPAIR = "repair"  # new checksums of edited, applied files accepted
    FAILED = "failed"  # a step that failed part-way; never changes the recorded version

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One call to Milvus, with why it is in the plan."""

    op: ClassVar[str]
    category: ClassVar[Category]
    destructive: ClassVar[bool] = False
    phase: Phase
    collection_name: str
    reason: str

    def describe(self) -> str:
        """A short sentence for plan output."""
        raise NotImplementedError

    def sort_key(self) -> tuple[Any, ...]:
        return (self.phase, self.collection_name, self.subject())

    def subject(self) -> str:
        """The object inside the collection this operation is about (for ordering and output)."""
        return ""

    def details(self) -> dict[str, Any]:
        """Operation-specific keys for JSON output."""
        return {}

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "collection": self.collection_name,
            "destructive": self.destructive,
            "reason": self.reason,
            **self.details(),
        }


@dataclass(frozen=True, kw_only=True)
class CreateCollection(Operation):
    op: ClassVar[str] = "create_collection"
    category: ClassVar[Category] = Category.ADD
    phase: Phase = Phase.CREATE_COLLECTIONS
    collection: CollectionState
    # A copy's shadow: a leftover of an interrupted copy under the reserved name is dropped first.
    replace_leftover: bool = False

    def describe(self) -> str:
        fields = ", ".join(f"{f.name} {f.type}" for f in self.collection.fields)
        return f"create collection {self.collection_name} ({fields})"

    def details(self) -> dict[str, Any]:
        c = self.collection
        return {
            "fields": [f.model_dump(exclude_defaults=True) for f in c.fields],
            "functions": [fn.model_dump(exclude_defaults=True) for fn in c.functions],
            "enable_dynamic_field": c.enable_dynamic_field,
            "properties": dict(c.properties),
            **({"replace_leftover": True} if self.replace_leftover else {}),
        }


@dataclass(frozen=True, kw_only=True)
class DropCollection(Operation):
    op: ClassVar[str] = "drop_collection"
    category: ClassVar[Category] = Category.REMOVE
    phase: Phase = Phase.DROP_COLLECTIONS
    num_rows: int | None = None  # the live row count when known; 0: nothing is lost

    @property
    def destructive(self) -> bool:  # type: ignore[override]
        """Every row of the collection is lost, unless it is known to hold none."""
        return self.num_rows != 0

    def describe(self) -> str:
        if self.num_rows == 0:
            return f"drop collection {self.collection_name} (empty)"
        rows = f": {self.num_rows:,} rows" if self.num_rows is not None else ""
        return f"drop collection {self.collection_name} (ALL ITS DATA{rows})"

    def details(self) -> dict[str, Any]:
        return {} if self.num_rows is None else {"num_rows": self.num_rows}


@dataclass(frozen=True, kw_only=True)
class AddField(Operation):
    op: ClassVar[str] = "add_field"
    category: ClassVar[Category] = Category.ADD
    phase: Phase = Phase.CREATE_COLLECTIONS
    field_spec: FieldState

    def subject(self) -> str:
        return self.field_spec.name

    def describe(self) -> str:
        return f"add field {self.field_spec.name} {self.field_spec.type} to {self.collection_name}"

    def details(self) -> dict[str, Any]:
        return {"field_name": self.field_spec.name, "field": self.field_spec.model_dump(exclude_defaults=True)}


@dataclass(frozen=True, kw_only=True)
class AlterCollectionField(Operation):
    """alter_collection_field (Milvus 2.5+): change a field's params in place, e.g. {"mmap.enabled": True}."""

    op: ClassVar[str] = "alter_collection_field"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.ALTER_PROPERTIES
    field_name: str
    field_params: dict[str, Any]
    before: dict[str, Any]

    def subject(self) -> str:
        return self.field_name

    def describe(self) -> str:
        changes = ", ".join(f"{k}: {_unset(self.before.get(k))} → {v}" for k, v in sorted(self.field_params.items()))
        return f"alter field {self.collection_name}.{self.field_name}: {changes}"

    def details(self) -> dict[str, Any]:
        return {"field_name": self.field_name, "field_params": dict(self.field_params), "before": dict(self.before)}


@dataclass(frozen=True, kw_only=True)
class CreatePartition(Operation):
    op: ClassVar[str] = "create_partition"
    category: ClassVar[Category] = Category.ADD
    phase: Phase = Phase.CREATE_PARTITIONS
    partition_name: str

    def subject(self) -> str:
        return self.partition_name

    def describe(self) -> str:
        return f"create partition {self.partition_name} in {self.collection_name}"

    def details(self) -> dict[str, Any]:
        return {"partition": self.partition_name}


@dataclass(frozen=True, kw_only=True)
class DropPartition(Operation):
    op: ClassVar[str] = "drop_partition"
    category: ClassVar[Category] = Category.REMOVE
    destructive: ClassVar[bool] = True  # the partition's rows are lost
    phase: Phase = Phase.DROP_PARTITIONS
    partition_name: str

    def subject(self) -> str:
        return self.partition_name

    def describe(self) -> str:
        return f"drop partition {self.partition_name} of {self.collection_name} (ITS DATA)"

    def details(self) -> dict[str, Any]:
        return {"partition": self.partition_name}


@dataclass(frozen=True, kw_only=True)
class CreateIndex(Operation):
    op: ClassVar[str] = "create_index"
    category: ClassVar[Category] = Category.ADD
    phase: Phase = Phase.CREATE_INDEXES
    index: IndexState

    def subject(self) -> str:
        return self.index.field_name

    def describe(self) -> str:
        metric = f" {self.index.metric_type}" if self.index.metric_type else ""
        params = f" {_format_params(self.index.params)}" if self.index.params else ""
        return f"create index {self.index.index_name} on {self.collection_name}.{self.index.field_name}: {self.index.index_type}{metric}{params}"

    def details(self) -> dict[str, Any]:
        i = self.index
        return {"field_name": i.field_name, "index_name": i.index_name, "index_type": i.index_type, "metric_type": i.metric_type, "params": dict(i.params)}


@dataclass(frozen=True, kw_only=True)
class DropIndex(Operation):
    op: ClassVar[str] = "drop_index"
    category: ClassVar[Category] = Category.REMOVE
    destructive: ClassVar[bool] = False  # an index can be rebuilt from the rows; nothing is lost
    phase: Phase = Phase.DROP_INDEXES
    index: IndexState

    def subject(self) -> str:
        return self.index.field_name

    def describe(self) -> str:
        return f"drop index {self.index.index_name} on {self.collection_name}.{self.index.field_name}"

    def details(self) -> dict[str, Any]:
        return {"field_name": self.index.field_name, "index_name": self.index.index_name}


@dataclass(frozen=True, kw_only=True)
class AlterCollectionProperties(Operation):
    op: ClassVar[str] = "alter_collection_properties"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.ALTER_PROPERTIES
    properties: dict[str, str]
    before: dict[str, str | None]

    def describe(self) -> str:
        changes = ", ".join(f"{k}: {_unset(self.before.get(k))} → {v}" for k, v in sorted(self.properties.items()))
        return f"set properties of {self.collection_name}: {changes}"

    def details(self) -> dict[str, Any]:
        return {"properties": dict(self.properties), "before": dict(self.before)}


@dataclass(frozen=True, kw_only=True)
class DropCollectionProperties(Operation):
    op: ClassVar[str] = "drop_collection_properties"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.ALTER_PROPERTIES
    property_keys: tuple[str, ...]

    def describe(self) -> str:
        return f"remove properties of {self.collection_name}: {', '.join(self.property_keys)}"

    def details(self) -> dict[str, Any]:
        return {"property_keys": list(self.property_keys)}


@dataclass(frozen=True, kw_only=True)
class LoadCollection(Operation):
    op: ClassVar[str] = "load_collection"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.LOAD
    replica_number: int | None = None

    def describe(self) -> str:
        replicas = f" with {self.replica_number} replica(s)" if self.replica_number else ""
        return f"load {self.collection_name}{replicas}"

    def details(self) -> dict[str, Any]:
        return {"replica_number": self.replica_number}


@dataclass(frozen=True, kw_only=True)
class ReleaseCollection(Operation):
    op: ClassVar[str] = "release_collection"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.RELEASE

    def describe(self) -> str:
        return f"release {self.collection_name}"


@dataclass(frozen=True, kw_only=True)
class LoadPartitions(Operation):
    op: ClassVar[str] = "load_partitions"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.LOAD
    partition_names: tuple[str, ...]
    replica_number: int | None = None

    def subject(self) -> str:
        return ",".join(self.partition_names)

    def describe(self) -> str:
        return f"load partitions {', '.join(self.partition_names)} of {self.collection_name}"

    def details(self) -> dict[str, Any]:
        return {"partitions": list(self.partition_names), "replica_number": self.replica_number}


@dataclass(frozen=True, kw_only=True)
class ReleasePartitions(Operation):
    op: ClassVar[str] = "release_partitions"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.LOAD
    partition_names: tuple[str, ...]

    def subject(self) -> str:
        return ",".join(self.partition_names)

    def describe(self) -> str:
        return f"release partitions {', '.join(self.partition_names)} of {self.collection_name}"

    def details(self) -> dict[str, Any]:
        return {"partitions": list(self.partition_names)}


@dataclass(frozen=True, kw_only=True)
class CreateAlias(Operation):
    op: ClassVar[str] = "create_alias"
    category: ClassVar[Category] = Category.ADD
    phase: Phase = Phase.ATTACH_ALIASES
    alias: str

    def subject(self) -> str:
        return self.alias

    def describe(self) -> str:
        return f"create alias {self.alias} → {self.collection_name}"

    def details(self) -> dict[str, Any]:
        return {"alias": self.alias}


@dataclass(frozen=True, kw_only=True)
class AlterAlias(Operation):
    op: ClassVar[str] = "alter_alias"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.ATTACH_ALIASES
    alias: str
    previous_collection: str

    def subject(self) -> str:
        return self.alias

    def describe(self) -> str:
        return f"move alias {self.alias}: {self.previous_collection} → {self.collection_name}"

    def details(self) -> dict[str, Any]:
        return {"alias": self.alias, "previous_collection": self.previous_collection}


@dataclass(frozen=True, kw_only=True)
class DropAlias(Operation):
    op: ClassVar[str] = "drop_alias"
    category: ClassVar[Category] = Category.REMOVE
    phase: Phase = Phase.DETACH_ALIASES
    alias: str

    def subject(self) -> str:
        return self.alias

    def describe(self) -> str:
        return f"drop alias {self.alias} (→ {self.collection_name})"

    def details(self) -> dict[str, Any]:
        return {"alias": self.alias}


@dataclass(frozen=True)
class RowMapping:
    """How a copy carries rows: which fields it reads and writes, what it converts, where the rows go."""

    primary_key: str
    primary_key_type: str  # INT64 or VARCHAR: how the copy pages by primary key
    fields: tuple[str, ...]  # read from the source and written to the target, in source order
    conversions: dict[str, str] = field(default_factory=dict)  # field -> its new type (a widening)
    dynamic: bool = False  # carry the dynamic field's keys ($meta)
    by_partition: bool = True  # copy each source partition on its own (False: the source has a partition key)
    # Partitions of the target a row may be written to (None: the target routes rows by its partition key).
    target_partitions: tuple[str, ...] | None = ("_default",)
    row_bytes: int = 512  # an estimate of one row's size on the wire: how many rows a page holds

    def to_json(self) -> dict[str, Any]:
        return {
            "primary_key": self.primary_key,
            "fields": list(self.fields),
            "conversions": dict(self.conversions),
            "dynamic": self.dynamic,
            "by_partition": self.by_partition,
            "target_partitions": None if self.target_partitions is None else list(self.target_partitions),
        }


@dataclass(frozen=True, kw_only=True)
class CopyRows(Operation):
    """Stream every row of `collection_name` into `target`, flush, and verify the row counts."""

    op: ClassVar[str] = "copy_rows"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.COPY_ROWS
    target: str
    estimated_rows: int | None
    mapping: RowMapping
    lost: tuple[str, ...] = ()  # what the copy cannot carry (a dropped field's values, dynamic keys)
    backup: str | None = None  # the name the source takes at the switch: checked free before any row moves

    @property
    def destructive(self) -> bool:  # type: ignore[override]
        """Every row is kept; it is destructive only when some values are not."""
        return bool(self.lost)

    def subject(self) -> str:
        return self.target

    def describe(self) -> str:
        rows = "rows" if self.estimated_rows is None else f"~{self.estimated_rows:,} rows"
        lost = f" (LOST: {', '.join(self.lost)})" if self.lost else ""
        return f"copy {rows} of {self.collection_name} into {self.target}{lost}"

    def details(self) -> dict[str, Any]:
        return {
            "target": self.target, "estimated_rows": self.estimated_rows, "mapping": self.mapping.to_json(),
            "lost": list(self.lost), "backup": self.backup,
        }  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RenameCollection(Operation):
    """rename_collection; aliases and indexes follow the collection to its new name."""

    op: ClassVar[str] = "rename_collection"
    category: ClassVar[Category] = Category.CHANGE
    phase: Phase = Phase.SWITCH
    new_name: str
    # Before renaming, check that the collection still holds the rows a copy into this one counted
    # (writes that arrived after the copy would be left behind in the backup).
    check_rows_against: str | None = None
    # A switch back: before renaming, check that `expect_rows_of` still holds exactly these rows (no
    # writes since the switch that made the backup), else stop with nothing renamed.
    expect_rows: RowSet | None = None
    expect_rows_of: str | None = None
    # A switch back, as the backup takes the name: the rows it holds (recorded, for the next switch).
    rows: RowSet | None = None

    def subject(self) -> str:
        return self.new_name

    def describe(self) -> str:
        return f"rename collection {self.collection_name} → {self.new_name}"

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"new_name": self.new_name, "check_rows_against": self.check_rows_against}
        if self.expect_rows is not None:
            out["expect_rows"] = {"collection": self.expect_rows_of, **self.expect_rows.model_dump()}
        return out


@dataclass(frozen=True)
class Plan:
    """An ordered list of operations taking the live state to the declared state of `to_version`."""

    ops: tuple[Operation, ...]
    database: str = "default"
    from_version: int = 0
    to_version: int = 0
    direction: str = "up"
    warnings: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.ops

    @property
    def destructive_ops(self) -> tuple[Operation, ...]:
        return tuple(op for op in self.ops if op.destructive)

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "current_version": self.from_version,
            "target_version": self.to_version,
            "direction": self.direction,
            "changes": len(self.ops),
            "destructive": len(self.destructive_ops),
            "warnings": list(self.warnings),
            "operations": [op.to_json() for op in self.ops],
        }


def _format_params(params: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(params.items())) + "}"


def _unset(value: object) -> str:
    # A property that is not set yet reads "(unset)", never Python's "None".
    return "(unset)" if value is None else str(value)

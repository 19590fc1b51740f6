"""Normalised state of Milvus collections: one model for the declared and the live side, no I/O."""

from __future__ import annotations

import json
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, field_validator

Scalar = Union[bool, int, float, str]
AUTOINDEX = "AUTOINDEX"


def canonical_index_type(index_type: str | None) -> str:
    """The index type as compared: no type means the server default (AUTOINDEX); 'TRIE' is spelled 'Trie'."""
    if not index_type:
        return AUTOINDEX
    # Milvus 2.3 only accepts the spelling "Trie"; every other index type is upper case.
    return "Trie" if index_type.upper() == "TRIE" else index_type.upper()


def canonical_scalar(value: Any) -> Any:
    """Coerce a parameter value to int/float/bool where its text says so ('16' -> 16, 'true' -> True).

    Milvus 2.3 returns index build params as strings while Milvus Lite returns ints; declarations
    may write either. Comparing canonical values absorbs that difference and nothing else.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        for parse in (int, float):
            try:
                return parse(text)
            except ValueError:
                pass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldState(_State):
    """One field; missing flags mean False/None, as pymilvus's FieldSchema.to_dict omits them."""

    name: str
    type: str
    is_primary: bool = False
    auto_id: bool = False
    dim: int | None = None
    max_length: int | None = None
    element_type: str | None = None
    max_capacity: int | None = None
    nullable: bool = False
    default_value: Scalar | None = None
    is_partition_key: bool = False
    is_clustering_key: bool = False
    enable_analyzer: bool = False
    analyzer_params: dict[str, Any] | None = None
    enable_match: bool = False
    mmap_enabled: bool | None = None
    description: str = ""
    is_function_output: bool = False

    @field_validator("analyzer_params", mode="before")
    @classmethod
    def _parse_analyzer_params(cls, value: Any) -> Any:
        # Both backends return analyzer_params as JSON text, formatted differently: compare parsed.
        return json.loads(value) if isinstance(value, str) else value


class FunctionState(_State):
    """A schema function such as BM25."""

    name: str
    type: str
    input_field_names: tuple[str, ...]
    output_field_names: tuple[str, ...]
    params: dict[str, Any] = {}
    description: str = ""


class IndexState(_State):
    """One index; `index_name` is always filled in (a declaration defaults it to the field name).

    `params` None (live side only): the backend did not report the build params, so they are unknown.
    """

    field_name: str
    index_name: str
    index_type: str = AUTOINDEX
    metric_type: str | None = None
    params: dict[str, Scalar] | None = {}

    @field_validator("index_type", mode="before")
    @classmethod
    def _canonical_type(cls, value: Any) -> str:
        return canonical_index_type(value)

    @field_validator("metric_type", mode="before")
    @classmethod
    def _canonical_metric(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) and value else None

    @field_validator("params", mode="before")
    @classmethod
    def _canonical_params(cls, value: Any) -> Any:
        if value is None:
            return None
        return {k: canonical_scalar(v) for k, v in value.items()}


class LoadState(_State):
    """Whether a collection is loaded, with how many replicas, and which partitions (None: all)."""

    loaded: bool
    replica_number: int | None = None
    partitions: tuple[str, ...] | None = None


class RowSet(_State):
    """Which rows a collection holds, as far as a switch back needs to know: how many, and which primary keys.

    `keys` is an order-independent digest of the primary keys (copy.KeyDigest). Two equal RowSets of the
    same collection mean no row was inserted or deleted in between; an upsert that rewrites a row under
    the same key is not seen.
    """

    rows: int
    keys: str

    def describe(self) -> str:
        return f"{self.rows:,} rows"


class CollectionState(_State):
    """Everything milvus-migrate manages about one collection.

    On the declared side, None means "not declared, leave it as it is" (consistency level, shards,
    partition count, load state). On the live side, None means "this backend does not tell".
    """

    name: str
    description: str = ""
    enable_dynamic_field: bool = False
    consistency_level: str | None = None
    num_shards: int | None = None
    num_partitions: int | None = None
    properties: dict[str, str] = {}
    fields: tuple[FieldState, ...] = ()
    functions: tuple[FunctionState, ...] = ()
    partitions: tuple[str, ...] = ()
    indexes: tuple[IndexState, ...] = ()
    load: LoadState | None = None
    aliases: tuple[str, ...] = ()
    # Live side only: rows in the collection when Milvus says (None: not known, so assume it holds data).
    num_rows: int | None = None
    # Declared side only: what `up` does when a change cannot be made in place
    # ("copy", the default: carry the rows over; "drop": drop and create, for scratch collections).
    on_recreate: Literal["copy", "drop"] | None = None
    # Live side only, read when a backup could replace this collection (docs/evolution.md, "Switching back"):
    # the rows it holds now; for a backup, the rows it held when it stepped aside (from the history).
    row_set: RowSet | None = None
    # A backup only: the rows of the collection that took its name at that switch, as recorded then.
    # While that collection still holds exactly these rows, this backup can take the name back instantly.
    replaced_by: RowSet | None = None

    def field(self, name: str) -> FieldState | None:
        """The field called `name`, if any."""
        return next((f for f in self.fields if f.name == name), None)

    def index_on(self, field_name: str) -> IndexState | None:
        """The index on `field_name`, if any."""
        return next((i for i in self.indexes if i.field_name == field_name), None)

    @property
    def primary_field(self) -> FieldState | None:
        return next((f for f in self.fields if f.is_primary), None)



class State(_State):
    """A set of collections keyed by name: a whole database as declared, or as read from Milvus."""

    collections: dict[str, CollectionState] = {}
    # Live side only: names the files use (declared aliases and collection names) that Milvus resolves to a
    # collection the files do not manage, each with that collection: an alias of it, or its own name.
    alias_owners: dict[str, str] = {}
    # Live side only: the backups copies kept of managed collections (`<name>__mm_backup_v<N>`), keyed by
    # their names, with what the history recorded at their switch. Never planned as collections of their own.
    backups: dict[str, CollectionState] = {}

    def alias_targets(self) -> dict[str, str]:
        """alias -> the collection it points at."""
        return {alias: c.name for c in self.collections.values() for alias in c.aliases}

"""Pydantic models of one migration file, exactly as a user writes it (keys are pymilvus's parameter names)."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from milvus_migrate.planning.state import (
    CollectionState,
    FieldState,
    FunctionState,
    IndexState,
    LoadState,
    canonical_index_type,
)

DENSE_VECTOR_TYPES = ("FLOAT_VECTOR", "BINARY_VECTOR", "FLOAT16_VECTOR", "BFLOAT16_VECTOR", "INT8_VECTOR")
VECTOR_TYPES = DENSE_VECTOR_TYPES + ("SPARSE_FLOAT_VECTOR",)
SCALAR_TYPES = (
    "BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR", "JSON", "ARRAY",
)  # fmt: skip
FIELD_TYPES = SCALAR_TYPES + VECTOR_TYPES
ELEMENT_TYPES = ("BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR")
CONSISTENCY_LEVELS = ("Strong", "Bounded", "Session", "Eventually")
FUNCTION_TYPES = ("BM25", "TEXT_EMBEDDING", "RERANK")
# Field params Milvus accepts and silently drops on these types: pymilvus 3.0.2 sends them, Milvus Lite 3.2.2 and
# server 2.3.5 both create the field, and describe_collection shows no trace of them. Real schemas carry them
# (Dify declares max_length=65535 on a JSON field). Elsewhere a stray one is kept by the server (dim on VARCHAR,
# element_type on INT64 show up in describe on 2.3.5), so those stay errors.
IGNORED_FIELD_PARAMS = ("dim", "max_length", "max_capacity")
TYPES_IGNORING_PARAMS = ("BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "JSON")

FieldType = Literal[FIELD_TYPES]  # type: ignore[valid-type]
ElementType = Literal[ELEMENT_TYPES]  # type: ignore[valid-type]
Scalar = Union[bool, int, float, str]


class _Spec(BaseModel):
    # strict: a YAML string "768" where an int is meant is a mistake worth reporting, not coercing.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FieldSpec(_Spec):
    """One field of a collection schema, as `CollectionSchema.add_field` takes it."""

    name: str
    type: FieldType
    is_primary: bool = False
    auto_id: bool = False
    dim: int | None = None
    max_length: int | None = None
    element_type: ElementType | None = None
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


class FunctionSpec(_Spec):
    """A schema function (BM25 and friends), as `pymilvus.Function` takes it."""

    name: str
    type: Literal[FUNCTION_TYPES]  # type: ignore[valid-type]
    input_field_names: list[str]
    output_field_names: list[str]
    params: dict[str, Any] = {}
    description: str = ""


class IndexSpec(_Spec):
    """One index, as `IndexParams.add_index` takes it; no index_type means the server's default (AUTOINDEX)."""

    field_name: str
    index_type: str | None = None
    metric_type: str | None = None
    index_name: str | None = None
    params: dict[str, Scalar] = {}


class LoadSpec(_Spec):
    """`load:` as a mapping: loaded, with replicas and/or only some partitions."""

    replica_number: int | None = None
    partitions: list[str] | None = None


class CollectionSpec(_Spec):
    """The whole declaration of one collection as of the version that declares it."""

    description: str = ""
    auto_id: bool = False
    enable_dynamic_field: bool = False
    consistency_level: Literal[CONSISTENCY_LEVELS] | None = None  # type: ignore[valid-type]
    num_shards: int | None = None
    num_partitions: int | None = None
    properties: dict[str, Scalar] = {}
    fields: list[FieldSpec] = Field(min_length=1)
    functions: list[FunctionSpec] = []
    partitions: list[str] = []
    indexes: list[IndexSpec] = []
    # Omitted: the tool leaves the load state alone (the application manages it).
    load: bool | LoadSpec | None = None
    aliases: list[str] = []
    # A change Milvus cannot make in place: "copy" (default) carries the rows into a collection with the
    # new schema; "drop" drops and recreates (a scratch collection), destructive like any drop.
    on_recreate: Literal["copy", "drop"] = "copy"

    def to_state(self, name: str) -> CollectionState:
        """The normalised desired state this declaration stands for."""
        function_outputs = {out for fn in self.functions for out in fn.output_field_names}
        fields = tuple(
            FieldState(
                **f.model_dump(exclude={"auto_id", *ignored_params(f)}),
                # `auto_id` may sit on the collection (create_schema) or on the primary field (add_field).
                auto_id=f.is_primary and (f.auto_id or self.auto_id),
                is_function_output=f.name in function_outputs,
            )
            for f in self.fields
        )
        return CollectionState(
            name=name,
            description=self.description,
            enable_dynamic_field=self.enable_dynamic_field,
            consistency_level=self.consistency_level,
            num_shards=self.num_shards,
            num_partitions=self.num_partitions,
            properties={k: _property_text(v) for k, v in self.properties.items()},
            fields=fields,
            functions=tuple(FunctionState(**fn.model_dump()) for fn in self.functions),
            partitions=tuple(sorted(self.partitions)),
            indexes=tuple(
                sorted(
                    (
                        IndexState(
                            field_name=i.field_name,
                            index_name=i.index_name or i.field_name,
                            index_type=canonical_index_type(i.index_type),
                            metric_type=i.metric_type,
                            params=i.params,
                        )
                        for i in self.indexes
                    ),
                    key=lambda i: i.field_name,
                )
            ),
            load=_load_state(self.load),
            aliases=tuple(sorted(self.aliases)),
            on_recreate=self.on_recreate,
        )


def ignored_params(f: FieldSpec) -> list[str]:
    """The params this field declares that Milvus accepts and drops (not part of the declared state)."""
    if f.type not in TYPES_IGNORING_PARAMS:
        return []
    return [key for key in IGNORED_FIELD_PARAMS if getattr(f, key) is not None]


class MigrationFile(_Spec):
    """One migration file: the collections it (re)declares and the ones it drops."""

    description: str = ""
    collections: dict[str, CollectionSpec] = {}
    drop_collections: list[str] = []


def _property_text(value: Scalar) -> str:
    # Milvus stores every property value as a string, str()-ed by pymilvus (True -> 'True', 60 -> '60').
    return str(value)


def _load_state(load: bool | LoadSpec | None) -> LoadState | None:
    if load is None:
        return None
    if isinstance(load, bool):
        return LoadState(loaded=load)
    partitions = tuple(sorted(load.partitions)) if load.partitions is not None else None
    return LoadState(loaded=True, replica_number=load.replica_number, partitions=partitions)


def json_schema() -> dict[str, Any]:
    """A JSON Schema of the migration file format, for editors."""
    schema = MigrationFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "milvus-migrate migration file"
    return schema

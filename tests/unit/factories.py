"""Short builders for State, CollectionState, FieldState and IndexState in planner tests.

    collection("docs", fields=[pk(), vec(dim=8)], indexes=[hnsw("vec")], load=True)

Every builder returns the frozen state models the planner takes; defaults are the smallest valid thing.
"""

from __future__ import annotations

from typing import Any

from milvus_migrate.planning.state import (
    CollectionState,
    FieldState,
    FunctionState,
    IndexState,
    LoadState,
    State,
)

LoadShape = bool | LoadState | dict[str, Any] | None


def pk(name: str = "id", type: str = "INT64", *, auto_id: bool = False, **attrs: Any) -> FieldState:
    """A primary-key field (INT64 unless `type` says otherwise; VARCHAR gets max_length 64)."""
    if type == "VARCHAR":
        attrs.setdefault("max_length", 64)
    return FieldState(name=name, type=type, is_primary=True, auto_id=auto_id, **attrs)


def vec(name: str = "vec", *, dim: int = 8, type: str = "FLOAT_VECTOR", **attrs: Any) -> FieldState:
    """A dense vector field."""
    return FieldState(name=name, type=type, dim=dim, **attrs)


def sparse(name: str = "sparse", **attrs: Any) -> FieldState:
    """A sparse vector field (no dim)."""
    return FieldState(name=name, type="SPARSE_FLOAT_VECTOR", **attrs)


def scalar(name: str, type: str = "VARCHAR", **attrs: Any) -> FieldState:
    """A scalar field; VARCHAR gets max_length 64 unless given."""
    if type == "VARCHAR":
        attrs.setdefault("max_length", 64)
    return FieldState(name=name, type=type, **attrs)


def index(
    field: str,
    index_type: str | None = "AUTOINDEX",
    *,
    metric: str | None = None,
    name: str | None = None,
    **params: Any,
) -> IndexState:
    """An index on `field`; its name defaults to the field name, as a declaration's does."""
    return IndexState(
        field_name=field, index_name=name or field, index_type=index_type, metric_type=metric, params=params
    )


def hnsw(field: str = "vec", *, metric: str = "COSINE", M: int = 16, efConstruction: int = 200, name: str | None = None) -> IndexState:
    """An HNSW vector index."""
    return index(field, "HNSW", metric=metric, name=name, M=M, efConstruction=efConstruction)


def autoindex(field: str = "vec", *, metric: str | None = None, name: str | None = None) -> IndexState:
    """An index with no declared type (the server's default, AUTOINDEX)."""
    return index(field, "AUTOINDEX", metric=metric, name=name)


def bm25(name: str = "bm25", *, input_field: str = "text", output_field: str = "sparse") -> FunctionState:
    """A BM25 function from a VARCHAR field to a sparse vector field."""
    return FunctionState(name=name, type="BM25", input_field_names=(input_field,), output_field_names=(output_field,))


def loaded(*, replica_number: int | None = None, partitions: list[str] | tuple[str, ...] | None = None) -> LoadState:
    """A loaded LoadState (partitions=None: every partition)."""
    return LoadState(
        loaded=True,
        replica_number=replica_number,
        partitions=tuple(sorted(partitions)) if partitions is not None else None,
    )


def _load(shape: LoadShape) -> LoadState | None:
    # The same shapes a migration file's `load:` takes: true | false | {replica_number, partitions}.
    if shape is None or isinstance(shape, LoadState):
        return shape
    if isinstance(shape, bool):
        return LoadState(loaded=shape)
    return loaded(**shape)


def collection(
    name: str,
    *,
    fields: list[FieldState] | None = None,
    indexes: list[IndexState] | tuple[IndexState, ...] = (),
    load: LoadShape = None,
    partitions: list[str] | tuple[str, ...] = (),
    aliases: list[str] | tuple[str, ...] = (),
    functions: list[FunctionState] | tuple[FunctionState, ...] = (),
    properties: dict[str, str] | None = None,
    **attrs: Any,
) -> CollectionState:
    """A collection; fields default to [pk(), vec()], lists are sorted the way spec.to_state sorts them."""
    return CollectionState(
        name=name,
        fields=tuple(fields if fields is not None else [pk(), vec()]),
        indexes=tuple(sorted(indexes, key=lambda i: i.field_name)),
        load=_load(load),
        partitions=tuple(sorted(partitions)),
        aliases=tuple(sorted(aliases)),
        functions=tuple(functions),
        properties=dict(properties or {}),
        **attrs,
    )


def state(*collections: CollectionState) -> State:
    """A State holding `collections`, keyed by name."""
    return State(collections={c.name: c for c in collections})


def change(c: CollectionState, **updates: Any) -> CollectionState:
    """A copy of `c` with some attributes replaced (load accepts the same shapes as collection())."""
    if "load" in updates:
        updates["load"] = _load(updates["load"])
    for key in ("fields", "indexes", "partitions", "aliases", "functions"):
        if key in updates:
            updates[key] = tuple(updates[key])
    return c.model_copy(update=updates)

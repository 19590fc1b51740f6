"""Live state → a migration file, written the way a person writes one (for `inspect`).

Keys follow the file format's order (spec.py), defaults are left out, and fields, functions and indexes
are one flow mapping per line, as in the README. What a backend does not keep (descriptions on Milvus
Lite, load state between processes, …) is not written, so the file declares only what can be compared.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from milvus_migrate.files.spec import CollectionSpec, FieldSpec
from milvus_migrate.planning.capabilities import Capabilities
from milvus_migrate.planning.state import (
    AUTOINDEX,
    CollectionState,
    FieldState,
    IndexState,
    State,
)

SCHEMA_COMMENT = "# yaml-language-server: $schema=./milvus-migrate.schema.json"
# Server defaults a person leaves out; written only when a collection differs.
_DEFAULT_CONSISTENCY = "Bounded"
_DEFAULT_SHARDS = 1


def declaration(c: CollectionState, caps: Capabilities) -> dict[str, Any]:
    """The `collections: {name: …}` mapping that declares `c` as it is, in the file format's key order."""
    out: dict[str, Any] = {}
    if c.description and caps.keeps_descriptions:
        out["description"] = c.description
    if c.enable_dynamic_field:
        out["enable_dynamic_field"] = True
    if c.consistency_level and caps.keeps_consistency_level and c.consistency_level != _DEFAULT_CONSISTENCY:
        out["consistency_level"] = c.consistency_level
    if c.num_shards and caps.keeps_num_shards and c.num_shards != _DEFAULT_SHARDS:
        out["num_shards"] = c.num_shards
    if c.num_partitions is not None and caps.keeps_num_partitions:
        out["num_partitions"] = c.num_partitions
    if c.properties:
        out["properties"] = dict(sorted(c.properties.items()))
    out["fields"] = [_field(f, caps) for f in c.fields]
    if c.functions:
        out["functions"] = [
            _without_defaults(
                {
                    "name": fn.name,
                    "type": fn.type,
                    "input_field_names": list(fn.input_field_names),
                    "output_field_names": list(fn.output_field_names),
                    "params": dict(fn.params),
                    "description": fn.description if caps.keeps_descriptions else "",
                }
            )
            for fn in c.functions
        ]
    if c.partitions:
        out["partitions"] = list(c.partitions)
    if c.indexes:
        out["indexes"] = [_index(ix, caps) for ix in c.indexes]
    if c.load is not None and caps.keeps_load_state:
        out["load"] = _load(c)
    if c.aliases:
        out["aliases"] = list(c.aliases)
    CollectionSpec.model_validate(out, strict=False)  # what is written must read back
    return out


def _field(f: FieldState, caps: Capabilities) -> dict[str, Any]:
    values = f.model_dump(exclude={"is_function_output"})
    if not caps.keeps_descriptions:
        values["description"] = ""
    if not caps.keeps_mmap:
        values["mmap_enabled"] = None
    ordered = {key: values[key] for key in FieldSpec.model_fields if key in values}
    return _without_defaults(ordered, keep=("name", "type"))


def _index(ix: IndexState, caps: Capabilities) -> dict[str, Any]:
    out: dict[str, Any] = {"field_name": ix.field_name}
    if ix.index_type != AUTOINDEX:
        out["index_type"] = ix.index_type
    if ix.metric_type:
        out["metric_type"] = ix.metric_type
    if ix.index_name != ix.field_name and caps.keeps_index_names:
        out["index_name"] = ix.index_name
    if ix.params:
        out["params"] = dict(ix.params)
    return out


def _load(c: CollectionState) -> Any:
    load = c.load
    assert load is not None
    if not load.loaded:
        return False
    shape: dict[str, Any] = {}
    if load.replica_number and load.replica_number > 1:
        shape["replica_number"] = load.replica_number
    if load.partitions is not None:
        shape["partitions"] = list(load.partitions)
    return shape or True


def _without_defaults(values: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in keep or v not in (None, False, "", {}, [])}


def migration_file(live: State, caps: Capabilities, *, description: str | None = None) -> str:
    """A whole migration file declaring every collection of `live`."""
    when = dt.date.today().isoformat()
    lines = [
        SCHEMA_COMMENT,
        f"description: {_scalar(description or f'Baseline of the existing collections (milvus-migrate inspect, {when})')}",
    ]
    if not live.collections:
        lines.append("collections: {}")
    else:
        lines.append("collections:")
    for name, c in sorted(live.collections.items()):
        lines.append(f"  {_scalar(name)}:")
        lines += _mapping_lines(declaration(c, caps), indent=4)
    return "\n".join(lines) + "\n"


def _mapping_lines(mapping: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    for key, value in mapping.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{pad}{key}:")
            lines += [f"{pad}  - {_flow(v)}" for v in value]
        else:
            lines.append(f"{pad}{key}: {_flow(value)}")
    return lines


def _flow(value: Any) -> str:
    """One value in YAML flow style ({a: 1, b: [x, y]}), quoted only where YAML needs it."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6, allow_unicode=True).strip()
    return text.removesuffix("...").strip()  # a lone scalar ends with an explicit document end


_scalar = _flow

"""Milvus's own rules over one parsed migration file: every problem, each at the path it concerns."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from milvus_migrate.errors import describe_value, did_you_mean
from milvus_migrate.files.spec import (
    DENSE_VECTOR_TYPES,
    VECTOR_TYPES,
    CollectionSpec,
    FieldSpec,
    MigrationFile,
    ignored_params,
)
from milvus_migrate.planning.state import canonical_index_type

# Milvus: names start with a letter or underscore, then letters, digits, underscores; at most 255.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
MAX_DIM = 32768
MAX_VARCHAR = 65535
MAX_ARRAY_CAPACITY = 4096
MAX_SHARDS = 16
MAX_PARTITIONS = 1024

FLOAT_VECTOR_INDEXES = {
    "FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "IVF_RABITQ", "HNSW", "HNSW_SQ", "HNSW_PQ", "HNSW_PRQ",
    "DISKANN", "SCANN", "AUTOINDEX", "BRUTE_FORCE", "GPU_CAGRA", "GPU_IVF_FLAT", "GPU_IVF_PQ", "GPU_BRUTE_FORCE",
}  # fmt: skip
INDEXES_BY_TYPE: dict[str, set[str]] = {
    "FLOAT_VECTOR": FLOAT_VECTOR_INDEXES,
    "FLOAT16_VECTOR": FLOAT_VECTOR_INDEXES,
    "BFLOAT16_VECTOR": FLOAT_VECTOR_INDEXES,
    "INT8_VECTOR": {"HNSW", "AUTOINDEX"},
    "BINARY_VECTOR": {"BIN_FLAT", "BIN_IVF_FLAT", "MINHASH_LSH", "HNSW", "AUTOINDEX"},
    "SPARSE_FLOAT_VECTOR": {"SPARSE_INVERTED_INDEX", "SPARSE_WAND", "AUTOINDEX"},
    "VARCHAR": {"INVERTED", "Trie", "BITMAP", "NGRAM", "AUTOINDEX"},
    "BOOL": {"INVERTED", "BITMAP", "AUTOINDEX"},
    "JSON": {"INVERTED", "AUTOINDEX"},
    "ARRAY": {"INVERTED", "BITMAP", "AUTOINDEX"},
}
for _numeric in ("INT8", "INT16", "INT32", "INT64"):
    INDEXES_BY_TYPE[_numeric] = {"INVERTED", "STL_SORT", "BITMAP", "AUTOINDEX"}
for _numeric in ("FLOAT", "DOUBLE"):
    INDEXES_BY_TYPE[_numeric] = {"INVERTED", "STL_SORT", "AUTOINDEX"}

FLOAT_METRICS = {"L2", "IP", "COSINE"}
METRICS_BY_TYPE = {
    "FLOAT_VECTOR": FLOAT_METRICS,
    "FLOAT16_VECTOR": FLOAT_METRICS,
    "BFLOAT16_VECTOR": FLOAT_METRICS,
    "INT8_VECTOR": FLOAT_METRICS,
    "BINARY_VECTOR": {"HAMMING", "JACCARD", "SUBSTRUCTURE", "SUPERSTRUCTURE", "MHJACCARD"},
    "SPARSE_FLOAT_VECTOR": {"IP", "BM25"},
}
DEFAULT_VALUE_TYPES: dict[str, tuple[type, ...]] = {
    "BOOL": (bool,),
    "INT8": (int,),
    "INT16": (int,),
    "INT32": (int,),
    "INT64": (int,),
    "FLOAT": (int, float),
    "DOUBLE": (int, float),
    "VARCHAR": (str,),
}


@dataclass(frozen=True)
class RuleProblem:
    """A broken rule at a data path of the file (`at_key`: point at the key rather than its value).

    A `warning` is reported but stops nothing (something Milvus accepts and ignores, a param unknown here).
    """

    path: tuple[Any, ...]
    message: str
    at_key: bool = False
    warning: bool = False


def check_file(spec: MigrationFile) -> list[RuleProblem]:
    """Every rule broken by one migration file, and every warning about it."""
    problems: list[RuleProblem] = []
    for name, collection in spec.collections.items():
        base = ("collections", name)
        if not NAME.match(name):
            problems.append(RuleProblem(base, _bad_name("collection", name), at_key=True))
        problems.extend(_check_collection(base, collection))
    for i, name in enumerate(spec.drop_collections):
        if spec.drop_collections.index(name) != i:
            problems.append(RuleProblem(("drop_collections", i), f"collection {name!r} is listed twice"))
    return problems


def _bad_name(kind: str, name: str) -> str:
    return (
        f"invalid {kind} name {name!r}: use letters, digits and underscores, "
        "starting with a letter or underscore, at most 255 characters"
    )


def _check_collection(base: tuple, c: CollectionSpec) -> list[RuleProblem]:
    problems: list[RuleProblem] = []
    add = lambda path, msg, at_key=False: problems.append(RuleProblem(base + path, msg, at_key))  # noqa: E731
    fields: dict[str, FieldSpec] = {}
    for i, f in enumerate(c.fields):
        if f.name in fields:
            add(("fields", i, "name"), f"duplicate field name {f.name!r}")
        fields.setdefault(f.name, f)
        problems.extend(_check_field(base + ("fields", i), f))

    primaries = [i for i, f in enumerate(c.fields) if f.is_primary]
    if not primaries:
        add(("fields",), "a collection needs exactly one primary key field (is_primary: true)", True)
    for i in primaries[1:]:
        add(("fields", i, "is_primary"), "a collection needs exactly one primary key; another field is already primary")
    if not any(f.type in VECTOR_TYPES for f in c.fields):
        add(("fields",), "a collection needs at least one vector field", True)

    partition_keys = [i for i, f in enumerate(c.fields) if f.is_partition_key]
    for i in partition_keys[1:]:
        add(("fields", i, "is_partition_key"), "at most one field can be the partition key")
    for i in [i for i, f in enumerate(c.fields) if f.is_clustering_key][1:]:
        add(("fields", i, "is_clustering_key"), "at most one field can be the clustering key")
    if partition_keys and c.partitions:
        add(("partitions",), "partitions cannot be declared when a field is the partition key (Milvus creates them)", True)
    if c.num_partitions is not None:
        if not partition_keys:
            add(("num_partitions",), "num_partitions needs a partition key field (is_partition_key: true)", True)
        elif not 1 <= c.num_partitions <= MAX_PARTITIONS:
            add(("num_partitions",), f"num_partitions must be between 1 and {MAX_PARTITIONS}")
    if c.num_shards is not None and not 1 <= c.num_shards <= MAX_SHARDS:
        add(("num_shards",), f"num_shards must be between 1 and {MAX_SHARDS}")
    if c.auto_id and primaries and c.fields[primaries[0]].type not in ("INT64", "VARCHAR"):
        add(("auto_id",), "auto_id needs an INT64 or VARCHAR primary key")

    seen_partitions: set[str] = set()
    for i, p in enumerate(c.partitions):
        if p == "_default":
            add(("partitions", i), "'_default' always exists; do not declare it")
        elif not NAME.match(p):
            add(("partitions", i), _bad_name("partition", p))
        if p in seen_partitions:
            add(("partitions", i), f"duplicate partition name {p!r}")
        seen_partitions.add(p)

    problems.extend(_check_functions(base, c, fields))
    problems.extend(_check_indexes(base, c, fields))

    if isinstance(c.load, bool) or c.load is None:
        wants_load = bool(c.load)
    else:
        wants_load = True
        if c.load.replica_number is not None and c.load.replica_number < 1:
            add(("load", "replica_number"), "replica_number must be at least 1")
        for i, p in enumerate(c.load.partitions or []):
            if p != "_default" and p not in seen_partitions:
                add(("load", "partitions", i), f"partition {p!r} is not declared in 'partitions'")
        if c.load.partitions is not None and partition_keys:
            add(("load", "partitions"), "partition-level load is not possible with a partition key")
        if c.load.partitions == []:
            add(("load", "partitions"), "an empty partition list loads nothing; use load: false")
    if wants_load:
        indexed = {ix.field_name for ix in c.indexes}
        for f in c.fields:
            if f.type in VECTOR_TYPES and f.name not in indexed:
                add(("load",), f"load needs an index on every vector field; {f.name!r} has none", True)

    seen_aliases: set[str] = set()
    for i, a in enumerate(c.aliases):
        if not NAME.match(a):
            add(("aliases", i), _bad_name("alias", a))
        if a in seen_aliases:
            add(("aliases", i), f"duplicate alias {a!r}")
        seen_aliases.add(a)
    return problems


def _check_field(at: tuple, f: FieldSpec) -> list[RuleProblem]:
    out: list[RuleProblem] = []
    add = lambda path, msg: out.append(RuleProblem(at + path, msg))  # noqa: E731
    ignored = ignored_params(f)
    for key in ignored:
        out.append(RuleProblem(at + (key,), f"{key} is ignored on {f.type} fields (Milvus accepts and drops it)", True, True))
    if not NAME.match(f.name):
        add(("name",), _bad_name("field", f.name))
    if f.type in DENSE_VECTOR_TYPES:
        if f.dim is None:
            add((), f"field {f.name!r}: {f.type} needs 'dim'")
        elif not 1 <= f.dim <= MAX_DIM:
            add(("dim",), f"dim must be between 1 and {MAX_DIM}, got {f.dim}")
        elif f.type == "BINARY_VECTOR" and f.dim % 8:
            add(("dim",), f"dim of a BINARY_VECTOR must be a multiple of 8, got {f.dim}")
    elif f.dim is not None and "dim" not in ignored:
        add(("dim",), f"'dim' is only for dense vector fields, not {f.type}")
    needs_length = f.type == "VARCHAR" or (f.type == "ARRAY" and f.element_type == "VARCHAR")
    if needs_length:
        if f.max_length is None:
            add((), f"field {f.name!r}: {'ARRAY of VARCHAR' if f.type == 'ARRAY' else 'VARCHAR'} needs 'max_length'")
        elif not 1 <= f.max_length <= MAX_VARCHAR:
            add(("max_length",), f"max_length must be between 1 and {MAX_VARCHAR}, got {f.max_length}")
    elif f.max_length is not None and "max_length" not in ignored:
        add(("max_length",), f"'max_length' is only for VARCHAR fields, not {f.type}")
    if f.type == "ARRAY":
        if f.element_type is None:
            add((), f"field {f.name!r}: ARRAY needs 'element_type'")
        if f.max_capacity is None:
            add((), f"field {f.name!r}: ARRAY needs 'max_capacity'")
        elif not 1 <= f.max_capacity <= MAX_ARRAY_CAPACITY:
            add(("max_capacity",), f"max_capacity must be between 1 and {MAX_ARRAY_CAPACITY}, got {f.max_capacity}")
    else:
        for key in ("element_type", "max_capacity"):
            if getattr(f, key) is not None and key not in ignored:
                add((key,), f"{key!r} is only for ARRAY fields, not {f.type}")
    if f.is_primary:
        if f.type not in ("INT64", "VARCHAR"):
            add(("type",), f"primary key {f.name!r} must be INT64 or VARCHAR, not {f.type}")
        if f.nullable:
            add(("nullable",), "the primary key cannot be nullable")
        if f.default_value is not None:
            add(("default_value",), "the primary key cannot have a default_value")
        if f.is_partition_key:
            add(("is_partition_key",), "the primary key cannot be the partition key")
    elif f.auto_id:
        add(("auto_id",), "auto_id is only allowed on the primary key field")
    if f.is_partition_key and f.type not in ("INT64", "VARCHAR"):
        add(("is_partition_key",), f"a partition key must be INT64 or VARCHAR, not {f.type}")
    if f.nullable and f.type in VECTOR_TYPES:
        add(("nullable",), "vector fields cannot be nullable")
    if f.nullable and f.is_partition_key:
        add(("nullable",), "the partition key cannot be nullable")
    if f.default_value is not None:
        allowed = DEFAULT_VALUE_TYPES.get(f.type)
        if allowed is None:
            add(("default_value",), f"{f.type} fields cannot have a default_value")
        elif isinstance(f.default_value, bool) and bool not in allowed or not isinstance(f.default_value, allowed):
            add(("default_value",), f"default_value {f.default_value!r} does not fit a {f.type} field")
        elif f.type == "VARCHAR" and f.max_length is not None and len(f.default_value) > f.max_length:
            add(("default_value",), f"default_value is longer than max_length {f.max_length}")
    if f.type != "VARCHAR":
        for key in ("enable_analyzer", "enable_match"):
            if getattr(f, key):
                add((key,), f"{key!r} is only for VARCHAR fields")
        if f.analyzer_params is not None:
            add(("analyzer_params",), "'analyzer_params' is only for VARCHAR fields")
    elif f.enable_match and not f.enable_analyzer:
        add(("enable_match",), "enable_match needs enable_analyzer: true")
    elif f.analyzer_params is not None and not f.enable_analyzer:
        add(("analyzer_params",), "analyzer_params needs enable_analyzer: true")
    if f.is_clustering_key and f.type in ("JSON", "ARRAY", "BOOL"):
        add(("is_clustering_key",), f"a clustering key cannot be {f.type}")
    return out


def _check_functions(base: tuple, c: CollectionSpec, fields: dict[str, FieldSpec]) -> list[RuleProblem]:
    out: list[RuleProblem] = []
    names: set[str] = set()
    outputs: set[str] = set()
    for i, fn in enumerate(c.functions):
        at = base + ("functions", i)
        if not NAME.match(fn.name):
            out.append(RuleProblem(at + ("name",), _bad_name("function", fn.name)))
        if fn.name in names:
            out.append(RuleProblem(at + ("name",), f"duplicate function name {fn.name!r}"))
        names.add(fn.name)
        for j, name in enumerate(fn.input_field_names):
            f = fields.get(name)
            if f is None:
                out.append(RuleProblem(at + ("input_field_names", j), f"function {fn.name!r}: no field {name!r}{did_you_mean(name, fields)}"))
            elif fn.type == "BM25" and (f.type != "VARCHAR" or not f.enable_analyzer):
                out.append(
                    RuleProblem(at + ("input_field_names", j), f"BM25 input {name!r} must be a VARCHAR field with enable_analyzer: true")
                )
        for j, name in enumerate(fn.output_field_names):
            f = fields.get(name)
            if f is None:
                out.append(RuleProblem(at + ("output_field_names", j), f"function {fn.name!r}: no field {name!r}{did_you_mean(name, fields)}"))
                continue
            if name in fn.input_field_names:
                out.append(RuleProblem(at + ("output_field_names", j), f"field {name!r} cannot be both input and output"))
            if name in outputs:
                out.append(RuleProblem(at + ("output_field_names", j), f"field {name!r} is already the output of another function"))
            outputs.add(name)
            if fn.type == "BM25" and f.type != "SPARSE_FLOAT_VECTOR":
                out.append(RuleProblem(at + ("output_field_names", j), f"BM25 output {name!r} must be a SPARSE_FLOAT_VECTOR field"))
            if fn.type == "TEXT_EMBEDDING" and f.type not in DENSE_VECTOR_TYPES:
                out.append(RuleProblem(at + ("output_field_names", j), f"TEXT_EMBEDDING output {name!r} must be a dense vector field"))
        if fn.type == "BM25" and (len(fn.input_field_names) != 1 or len(fn.output_field_names) != 1):
            out.append(RuleProblem(at, "a BM25 function takes exactly one input and one output field", True))
    return out


def _check_indexes(base: tuple, c: CollectionSpec, fields: dict[str, FieldSpec]) -> list[RuleProblem]:
    out: list[RuleProblem] = []
    bm25_outputs = {o for fn in c.functions if fn.type == "BM25" for o in fn.output_field_names}
    indexed: set[str] = set()
    names: set[str] = set()
    for i, ix in enumerate(c.indexes):
        at = base + ("indexes", i)
        f = fields.get(ix.field_name)
        if f is None:
            out.append(RuleProblem(at + ("field_name",), f"index on unknown field {ix.field_name!r}{did_you_mean(ix.field_name, fields)}"))
            continue
        if ix.field_name in indexed:
            out.append(RuleProblem(at + ("field_name",), f"field {ix.field_name!r} already has an index (at most one per field)"))
        indexed.add(ix.field_name)
        name = ix.index_name or ix.field_name
        if ix.index_name is not None and not NAME.match(ix.index_name):
            out.append(RuleProblem(at + ("index_name",), _bad_name("index", ix.index_name)))
        if name in names:
            out.append(RuleProblem(at + ("index_name",) if ix.index_name else at, f"duplicate index name {name!r}", ix.index_name is None))
        names.add(name)
        index_type = canonical_index_type(ix.index_type)
        allowed = INDEXES_BY_TYPE.get(f.type, set())
        if index_type not in allowed:
            out.append(
                RuleProblem(at + ("index_type",), f"index_type {ix.index_type} does not fit {f.type} field {f.name!r}; use one of {', '.join(sorted(allowed))}")
            )
        else:
            out.extend(_check_build_params(at, index_type, ix.params, f))
        metric = ix.metric_type.upper() if ix.metric_type else None
        if f.type in VECTOR_TYPES:
            metrics = METRICS_BY_TYPE[f.type]
            if metric is None:
                # Milvus Lite refuses create_index without a metric for every vector index (AUTOINDEX and BM25
                # outputs included: "create_index missing required 'metric_type' parameter"); 2.3.5 defaults
                # only AUTOINDEX (to IP) and refuses the rest. Required, so the plan never holds an unsendable op.
                usable = sorted(metrics - {"BM25"})
                wanted = "BM25" if f.name in bm25_outputs else usable[0] if len(usable) == 1 else f"one of {', '.join(usable)}"
                out.append(RuleProblem(at, f"the index on vector field {f.name!r} needs metric_type: {wanted}", True))
            elif metric not in metrics:
                out.append(RuleProblem(at + ("metric_type",), f"metric_type {ix.metric_type} does not fit {f.type}; use one of {', '.join(sorted(metrics))}"))
            elif metric == "BM25" and f.name not in bm25_outputs:
                out.append(RuleProblem(at + ("metric_type",), f"metric BM25 is only for the output of a BM25 function; {f.name!r} is not one"))
            elif f.name in bm25_outputs and metric != "BM25":
                out.append(RuleProblem(at + ("metric_type",), f"{f.name!r} is a BM25 function output: its metric_type must be BM25"))
        elif metric is not None:
            out.append(RuleProblem(at + ("metric_type",), f"metric_type is only for vector indexes; {f.name!r} is {f.type}"))
    return out


@dataclass(frozen=True)
class Param:
    """A documented build param of an index type: the kind of value Milvus parses, and the range it accepts."""

    kind: Literal["integer", "number", "bool", "choice"]
    low: float | None = None
    high: float | None = None
    high_open: bool = False  # [low, high) rather than [low, high]
    choices: tuple[str, ...] = ()


INT_MAX = 2**31 - 1
_NLIST = Param("integer", 1, 65536)
_HNSW = {"M": Param("integer", 2, 2048), "efConstruction": Param("integer", 1, INT_MAX)}
_REFINE = {"refine": Param("bool"), "refine_type": Param("choice", choices=("SQ6", "SQ8", "FP16", "BF16", "FP32", "FLAT"))}
_SPARSE = {
    "drop_ratio_build": Param("number", 0, 1, high_open=True),
    "inverted_index_algo": Param("choice", choices=("TAAT_NAIVE", "DAAT_WAND", "DAAT_MAXSCORE")),
    "bm25_k1": Param("number", 0, 3),
    "bm25_b": Param("number", 0, 1),
}
# The build params each index type documents, with the ranges Milvus enforces. Sources: the Milvus index docs
# (milvus.io/docs hnsw, ivf-flat, ivf-pq, scann, diskann, sparse-inverted-index, ngram) and, where a doc gives
# no range, knowhere's own checks (src/index/*/…_config.h: set_range). Where they differ the wider range is used:
# refusing a value some server builds is worse than letting the server refuse it. 2.3.5 enforces the same
# nlist [1, 65536], M and efConstruction limits (measured: nlist 65537 and M "x" fail there mid-`up`).
# Index types missing here (GPU_*, MINHASH_LSH, BRUTE_FORCE) are not checked.
BUILD_PARAMS: dict[str, dict[str, Param]] = {
    "FLAT": {},
    "BIN_FLAT": {},
    "AUTOINDEX": {},
    "IVF_FLAT": {"nlist": _NLIST},
    "IVF_SQ8": {"nlist": _NLIST},
    "IVF_PQ": {"nlist": _NLIST, "m": Param("integer", 1, 65536), "nbits": Param("integer", 1, 24)},
    "IVF_RABITQ": {"nlist": _NLIST, **_REFINE},
    "BIN_IVF_FLAT": {"nlist": _NLIST},
    "SCANN": {"nlist": _NLIST, "with_raw_data": Param("bool")},
    "HNSW": _HNSW,
    "HNSW_SQ": {**_HNSW, "sq_type": Param("choice", choices=("SQ6", "SQ8", "FP16", "BF16")), **_REFINE},
    "HNSW_PQ": {**_HNSW, "m": Param("integer", 1, 65536), "nbits": Param("integer", 1, 24), **_REFINE},
    "HNSW_PRQ": {**_HNSW, "m": Param("integer", 1, 65536), "nbits": Param("integer", 1, 64), "nrq": Param("integer", 1, 64), **_REFINE},
    "DISKANN": {
        "max_degree": Param("integer", 1, 2048),
        "search_list_size": Param("integer", 1, INT_MAX),
        "pq_code_budget_gb_ratio": Param("number", 0),
        "search_cache_budget_gb_ratio": Param("number", 0),
    },
    "SPARSE_INVERTED_INDEX": _SPARSE,
    "SPARSE_WAND": _SPARSE,
    "INVERTED": {},
    "STL_SORT": {},
    "Trie": {},
    "BITMAP": {},
    "NGRAM": {"min_gram": Param("integer", 1, INT_MAX), "max_gram": Param("integer", 1, INT_MAX)},
}
# Index-level mmap is set through the build params of any index type (Milvus docs: mmap.md).
COMMON_BUILD_PARAMS = {"mmap.enabled": Param("bool")}
# Search-time params sometimes put into build params by mistake: create_index ignores them.
SEARCH_PARAMS = {"ef", "nprobe", "search_list", "drop_ratio_search", "reorder_k", "radius", "range_filter", "level"}
# Index types whose m splits each vector into m sub-vectors: knowhere refuses a dim that m does not divide.
SPLITS_DIM = ("IVF_PQ", "HNSW_PQ")


def _check_build_params(at: tuple, index_type: str, params: dict[str, Any], f: FieldSpec) -> list[RuleProblem]:
    """Documented build params with a wrong type or range (errors), undocumented ones (warnings)."""
    known = BUILD_PARAMS.get(index_type)
    if known is None:
        return []
    out: list[RuleProblem] = []
    for key, value in params.items():
        where = at + ("params", key)
        param = known.get(key) or COMMON_BUILD_PARAMS.get(key)
        if param is None:
            if key in SEARCH_PARAMS:
                message = f"{key} is a search param, not a build param of {index_type}; create_index ignores it"
            else:
                listed = f"documented: {', '.join(known)}" if known else "it documents none"
                message = (
                    f"{key!r} is not a documented build param of {index_type} ({listed}); "
                    f"it is passed to Milvus unchecked{did_you_mean(key, known)}"
                )
            out.append(RuleProblem(where, message, True, True))
            continue
        reason = _param_problem(key, value, param)
        if reason is None and key == "m" and index_type in SPLITS_DIM and f.dim and f.dim % _as_int(value):
            reason = f"m must divide the dim of {f.name!r} ({f.dim}), got {value}"
        if reason is not None:
            out.append(RuleProblem(where, f"{index_type} {reason}", True))
    return out


def _param_problem(key: str, value: Any, param: Param) -> str | None:
    """Why `value` does not fit `param`, or None. pymilvus sends params as text, so '16' means 16."""
    if param.kind == "choice":
        if value in param.choices:
            return None
        hint = did_you_mean(str(value), param.choices)
        return f"{key} must be one of {', '.join(param.choices)}, not {describe_value(value)}{hint}"
    if param.kind == "bool":
        if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in ("true", "false")):
            return None
        return f"{key} must be true or false, not {describe_value(value)}"
    number = _as_int(value) if param.kind == "integer" else _as_number(value)
    if number is None:
        return f"{key} must be {'an integer' if param.kind == 'integer' else 'a number'}{_range_text(param, ' ')}, not {describe_value(value)}"
    below = param.low is not None and number < param.low
    above = param.high is not None and (number >= param.high if param.high_open else number > param.high)
    if below or above:
        return f"{key} must be{_range_text(param, ' ')}, got {value}"
    return None


def _range_text(param: Param, lead: str) -> str:
    low, high = _shown(param.low), _shown(param.high)
    if param.low is None and param.high is None:
        return ""
    if param.high is None:
        return f"{lead}at least {low}"
    if param.high_open:
        return f"{lead}at least {low} and below {high}"
    return f"{lead}between {low} and {high}"


def _shown(bound: float | None) -> str:
    return str(int(bound)) if bound is not None and float(bound).is_integer() else str(bound)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None

"""What the connected Milvus can do: one place for every backend difference the planner must know."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

ALL_VECTOR_TYPES = frozenset(
    {"FLOAT_VECTOR", "BINARY_VECTOR", "FLOAT16_VECTOR", "BFLOAT16_VECTOR", "SPARSE_FLOAT_VECTOR", "INT8_VECTOR"}
)
SCALAR_INDEX_TYPES = frozenset({"INVERTED", "STL_SORT", "Trie", "BITMAP", "NGRAM", "AUTOINDEX"})
DEFAULT_METRIC_TYPES = {
    "FLOAT_VECTOR": "COSINE", "FLOAT16_VECTOR": "COSINE", "BFLOAT16_VECTOR": "COSINE", "INT8_VECTOR": "COSINE",
    "BINARY_VECTOR": "HAMMING", "SPARSE_FLOAT_VECTOR": "IP",
}  # fmt: skip


@dataclass(frozen=True)
class Capabilities:
    """Facts about one backend; `version` is what get_server_version() answered."""

    backend: str  # "lite" or "server"
    version: str
    vector_types: frozenset[str] = ALL_VECTOR_TYPES
    max_dense_vector_fields: int = 4
    nullable: bool = True
    functions: bool = True
    auto_id_varchar: bool = True
    # Field types whose default_value the server accepts (pymilvus 3 sends INT8-32 defaults as int_data).
    default_value_types: frozenset[str] = frozenset(
        {"BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR"}
    )
    scalar_index_types: frozenset[str] = frozenset({"INVERTED", "STL_SORT", "Trie", "BITMAP", "NGRAM", "AUTOINDEX"})
    vector_index_types: frozenset[str] | None = None  # None: any the validator allows
    # field type -> the index type to build where the declaration says AUTOINDEX but the backend refuses it.
    autoindex_substitutes: dict[str, str] = field(default_factory=dict)
    partition_load: bool = True
    # 2.3: "partition cannot be dropped, partition is loaded, please release it first" (an unloaded one drops directly).
    drop_partition_needs_release: bool = True
    drop_index_drops_all: bool = False  # Milvus Lite: drop_index removes every index of the collection
    add_field: bool = False
    # An index created on a loaded collection is used only after release + load (2.3.5, measured).
    create_index_needs_reload: bool = False
    # alter_collection_field (Milvus 2.5+): mmap_enabled (and max_length/max_capacity) of a field change in place.
    alter_field: bool = False
    # Milvus Lite fails at random with "[Errno 2] No such file or directory" when several create_alias or
    # drop_alias calls are in flight at once (shared/milvus-capabilities.md, 2026-12-01); one at a time works.
    concurrent_alias_ops: bool = True
    # describe_index reports the build params of an index created with pymilvus's documented flat form
    # (add_index(..., params={"nlist": 1024}) or nlist=1024). Milvus Lite drops them: it reports only what was
    # given nested (params={"params": {...}}), so an index read back without params may still have some.
    reports_flat_index_params: bool = True
    # Build params each index type cannot do without: 2.3.5 refuses HNSW without M/efConstruction ("efConstruction
    # out of range"), IVF_* without nlist, IVF_PQ without m ("parameter `m` not found"); newer servers default them.
    required_index_params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # index type -> param -> the only values the backend builds (Lite: "unsupported sparse algorithm 'DAAT_WAND';
    # use TAAT_NAIVE"). A param not listed is not restricted.
    index_param_values: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    # The metric filled in for a vector index declared without metric_type. Lite and 2.3.5 refuse such an index
    # ("create_index missing required 'metric_type' parameter", "metric type not found"); these are the
    # defaults Milvus 2.4+ applies itself, so a declaration means the same on every backend.
    default_metric_types: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_METRIC_TYPES))
    dynamic_field_property: bool = False  # alter_collection_properties(dynamicfield.enabled) (2.6.2+)
    count_by_partition: bool = True  # count(*) honours partition_names (Milvus Lite counts the whole collection)
    # 2.3.5: a name renamed away stays in the proxy's cache, so a new collection under it refuses inserts
    # ("the number of fields is less than needed") until the name is dropped, which succeeds although
    # nothing exists under it (measured 2026-12-01). Worse, the name a switch renames a new schema *to*
    # keeps the old schema in the proxy: the first insert into it crashed 2.3.5 ("panic: undefined data
    # type Int64" in fillWithDefaultValue), unless the free name was dropped before the rename (measured
    # 2026-12-01; the executor does that before every rename on such a backend).
    stale_name_after_rename: bool = False
    drop_collection_properties: bool = True
    # Cosmetic or tuning attributes a backend ignores: left out of the comparison, with a warning.
    keeps_descriptions: bool = True
    keeps_consistency_level: bool = True
    keeps_num_shards: bool = True
    keeps_num_partitions: bool = True
    keeps_index_names: bool = True
    keeps_mmap: bool = True
    keeps_clustering_key: bool = True
    keeps_array_max_length: bool = True
    # Milvus Lite forgets the load state when its process ends; it cannot be compared later.
    keeps_load_state: bool = True
    # Milvus Lite: a loaded collection comes back NotLoad from rename_collection (the server keeps it Loaded).
    rename_keeps_load_state: bool = True

    @property
    def label(self) -> str:
        """How messages name this backend, e.g. 'Milvus 2.3.5' or 'Milvus Lite 3.2.2'."""
        if self.backend == "lite":
            return f"Milvus Lite {self.version.removeprefix('milvus_lite-')}"
        return f"Milvus {self.version.lstrip('v').removesuffix('-lite')}"

    def index_type_for(self, field_type: str, declared: str) -> str:
        """The index type actually built for a declared type on a field of `field_type`."""
        if declared == "AUTOINDEX":
            return self.autoindex_substitutes.get(field_type, declared)
        return declared

    def default_metric_for(self, field_type: str) -> str | None:
        """The metric a vector index on a `field_type` field is built with when none is declared."""
        return self.default_metric_types.get(field_type)


def lite(version: str = "milvus_lite-3.2.2") -> Capabilities:
    """Milvus Lite (measured on 3.2.2; see shared/milvus-capabilities.md)."""
    return Capabilities(
        backend="lite",
        version=version,
        vector_types=frozenset({"FLOAT_VECTOR", "SPARSE_FLOAT_VECTOR"}),
        max_dense_vector_fields=16,
        # Scalar AUTOINDEX is refused ("requires a vector field"); where it is declared on BOOL..VARCHAR,
        # autoindex_substitutes turns it into INVERTED first, so only JSON/ARRAY reach this check.
        scalar_index_types=frozenset({"INVERTED"}),
        vector_index_types=frozenset(
            {"FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "HNSW_SQ", "AUTOINDEX", "BRUTE_FORCE", "SPARSE_INVERTED_INDEX"}
        ),
        # Lite: "sparse field requires SPARSE_INVERTED_INDEX"; scalars take INVERTED only.
        autoindex_substitutes={"SPARSE_FLOAT_VECTOR": "SPARSE_INVERTED_INDEX"}
        | {t: "INVERTED" for t in ("BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR")},
        partition_load=False,  # load_partitions/release_partitions are UNIMPLEMENTED
        drop_partition_needs_release=False,
        drop_index_drops_all=True,
        keeps_array_max_length=False,  # the element max_length of ARRAY<VARCHAR> is dropped
        auto_id_varchar=False,
        keeps_descriptions=False,
        keeps_consistency_level=False,
        keeps_num_shards=False,
        keeps_num_partitions=False,  # always 16 partition-key partitions, whatever num_partitions says
        keeps_index_names=False,
        keeps_mmap=False,
        keeps_clustering_key=False,
        keeps_load_state=False,
        rename_keeps_load_state=False,
        concurrent_alias_ops=False,
        reports_flat_index_params=False,
        index_param_values={"SPARSE_INVERTED_INDEX": {"inverted_index_algo": frozenset({"TAAT_NAIVE"})}},
        count_by_partition=False,
    )


def server_2_3(version: str = "v2.3.5") -> Capabilities:
    """Milvus 2.3 server (measured on 2.3.5 through pymilvus 3)."""
    return Capabilities(
        backend="server",
        version=version,
        # BFLOAT16/SPARSE/INT8 are accepted at create time but can never be indexed (and rows crash 2.3.5).
        vector_types=frozenset({"FLOAT_VECTOR", "BINARY_VECTOR", "FLOAT16_VECTOR"}),
        max_dense_vector_fields=1,
        nullable=False,  # silently dropped
        functions=False,  # silently dropped
        default_value_types=frozenset({"BOOL", "INT64", "FLOAT", "DOUBLE", "VARCHAR"}),
        # No scalar AUTOINDEX on 2.3.5; numbers and VARCHAR get substitutes, BOOL/JSON/ARRAY take no index.
        scalar_index_types=frozenset({"STL_SORT", "Trie"}),
        vector_index_types=frozenset(
            {"FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "HNSW", "DISKANN", "AUTOINDEX", "SCANN", "BIN_FLAT", "BIN_IVF_FLAT"}
        ),
        # 2.3.5: "index type not match: expected=Trie, actual=AUTOINDEX" for VARCHAR; numbers want STL_SORT.
        autoindex_substitutes={"VARCHAR": "Trie"} | {t: "STL_SORT" for t in ("INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE")},
        drop_collection_properties=False,  # "only support alter collection properties"
        create_index_needs_reload=True,  # load_collection then fails "can't change the index for loaded collection"
        stale_name_after_rename=True,
        keeps_clustering_key=False,
        # Measured on 2.3.5 (index created with metric, without params); DISKANN, FLAT, BIN_FLAT, AUTOINDEX need none.
        required_index_params={
            "HNSW": ("M", "efConstruction"),
            "IVF_FLAT": ("nlist",), "IVF_SQ8": ("nlist",), "IVF_PQ": ("nlist", "m"), "SCANN": ("nlist",),
            "BIN_IVF_FLAT": ("nlist",),
        },  # fmt: skip
    )


def modern_server(version: str) -> Capabilities:
    """Milvus 2.4 and later; features by the release that added them."""
    major, minor = _major_minor(version)
    recent = (major, minor) >= (2, 5)
    caps = Capabilities(backend="server", version=version)
    return replace(
        caps,
        nullable=recent,
        functions=recent,
        vector_types=ALL_VECTOR_TYPES if (major, minor) >= (2, 6) else ALL_VECTOR_TYPES - {"INT8_VECTOR"},
        add_field=(major, minor) >= (2, 6),
        alter_field=recent,
        dynamic_field_property=_release(version) >= (2, 6, 2),
        drop_collection_properties=recent,
        scalar_index_types=SCALAR_INDEX_TYPES if recent else SCALAR_INDEX_TYPES - {"NGRAM"},
    )


def from_version(version: str) -> Capabilities:
    """Capabilities for what get_server_version() answered."""
    if version.startswith("milvus_lite"):
        return lite(version)
    if _major_minor(version) < (2, 4):
        return server_2_3(version)
    return modern_server(version)


def _release(version: str) -> tuple[int, int, int]:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2]), int(match[3])) if match else (*_major_minor(version), 0)


def _major_minor(version: str) -> tuple[int, int]:
    match = re.search(r"(\d+)\.(\d+)", version)
    # An unparseable version (a dev build) is treated as the newest server.
    return (int(match[1]), int(match[2])) if match else (99, 0)

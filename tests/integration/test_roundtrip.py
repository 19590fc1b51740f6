"""Round-trip property: a collection built by hand exactly as declared plans no change; one edit plans one change.

Each declaration is created with the synchronous MilvusClient the way a user would write it (never through
milvus_migrate.milvus.executor), in the styles the pymilvus docs show: index params flat (`params={"nlist": 16}`),
as keywords (`nlist=16`) or nested (`params={"params": {...}}`), indexes passed to create_index or to
`create_collection(index_params=…)`, functions with descriptions, several aliases at once. milvus-migrate then
reads it back through `plan --format json`. Declarations are generated within what the backend under test
supports (see shared/milvus-capabilities.md).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.integration

NUMERIC = ("INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE")
SCALARS = ("BOOL", *NUMERIC, "VARCHAR", "JSON", "ARRAY")
ELEMENT_TYPES = ("BOOL", *NUMERIC, "VARCHAR")
# default_value types each backend accepts (2.3.5 rejects INT8/16/32: pymilvus 3 sends them as int_data).
DEFAULT_TYPES = {"lite": {"BOOL", *NUMERIC, "VARCHAR"}, "server": {"BOOL", "INT64", "FLOAT", "DOUBLE", "VARCHAR"}}
DEFAULTS: dict[str, st.SearchStrategy[Any]] = {
    "BOOL": st.booleans(),
    "INT8": st.integers(-128, 127),
    "INT16": st.integers(-(2**15), 2**15 - 1),
    "INT32": st.integers(-(2**31), 2**31 - 1),
    "INT64": st.integers(-(2**63), 2**63 - 1),
    # FLOAT is stored as float32: values a user would write, not only exactly representable ones.
    "FLOAT": st.sampled_from([0.0, 1.5, -2.25, 0.1, 3.3]),
    "DOUBLE": st.sampled_from([0.0, 0.1, -1e300, 2.5]),
    "VARCHAR": st.text("abcxyz ", max_size=6),
}
# (index_type, params) per vector type; None: leave index_type out (the server then builds AUTOINDEX).
VECTOR_INDEXES = {
    "FLOAT_VECTOR": [("FLAT", {}), ("IVF_FLAT", {"nlist": 16}), ("IVF_SQ8", {"nlist": 8}),
                     ("HNSW", {"M": 8, "efConstruction": 64}), ("AUTOINDEX", {})],
    "FLOAT16_VECTOR": [("FLAT", {}), ("IVF_FLAT", {"nlist": 16}), ("HNSW", {"M": 4, "efConstruction": 32}), ("AUTOINDEX", {})],
    "BINARY_VECTOR": [("BIN_FLAT", {}), ("BIN_IVF_FLAT", {"nlist": 8}), ("AUTOINDEX", {})],
    "SPARSE_FLOAT_VECTOR": [("SPARSE_INVERTED_INDEX", {})],
}  # fmt: skip
METRICS = {
    "FLOAT_VECTOR": ["L2", "IP", "COSINE"],
    "FLOAT16_VECTOR": ["L2", "IP", "COSINE"],
    "BINARY_VECTOR": ["HAMMING", "JACCARD"],
    "SPARSE_FLOAT_VECTOR": ["IP"],
}


# --------------------------------------------------------------------------------------------- generation


@st.composite
def _scalar_field(draw: st.DrawFn, name: str, backend: str) -> dict[str, Any]:
    lite = backend == "lite"
    type_ = draw(st.sampled_from(SCALARS))
    f: dict[str, Any] = {"name": name, "type": type_}
    if type_ == "VARCHAR":
        f["max_length"] = draw(st.integers(1, 512))
    if type_ == "ARRAY":
        f["element_type"] = draw(st.sampled_from(ELEMENT_TYPES))
        f["max_capacity"] = draw(st.integers(1, 64))
        if f["element_type"] == "VARCHAR":
            f["max_length"] = draw(st.integers(1, 64))
    if lite and draw(st.booleans()):
        f["nullable"] = True
    if type_ in DEFAULT_TYPES[backend] and draw(st.integers(0, 2)) == 0:
        value = draw(DEFAULTS[type_])
        if type_ == "VARCHAR":
            value = value[: f["max_length"]]
        f["default_value"] = value
    if draw(st.integers(0, 3)) == 0:
        f["description"] = draw(st.sampled_from(["a field", "Größe", "x"]))
    return f


def _scalar_index(f: dict[str, Any], backend: str, draw: st.DrawFn) -> dict[str, Any] | None:
    """A scalar index the backend builds for this field, or None when it has none for the type."""
    if backend == "lite":
        if f["type"] in ("JSON", "ARRAY"):
            return None
        return {"field_name": f["name"], "index_type": "INVERTED"}
    if f["type"] in NUMERIC:
        return {"field_name": f["name"], "index_type": draw(st.sampled_from(["STL_SORT", None]))}
    if f["type"] == "VARCHAR":
        return {"field_name": f["name"], "index_type": draw(st.sampled_from(["Trie", None]))}
    return None  # 2.3.5 indexes no BOOL/JSON/ARRAY


@st.composite
def declarations(draw: st.DrawFn, backend: str, prefix: str) -> dict[str, Any]:
    """One collection declaration (the YAML mapping under `collections: {name: …}`)."""
    lite = backend == "lite"
    pk_type = draw(st.sampled_from(["INT64", "VARCHAR"]))
    pk: dict[str, Any] = {"name": "pk", "type": pk_type, "is_primary": True}
    if pk_type == "VARCHAR":
        pk["max_length"] = draw(st.integers(8, 128))
    if (pk_type == "INT64" or not lite) and draw(st.booleans()):
        pk["auto_id"] = True
    fields = [pk]

    if lite:
        n_dense = draw(st.integers(0, 3))
        n_sparse = draw(st.integers(0 if n_dense else 1, 2))
        vector_types = ["FLOAT_VECTOR"] * n_dense + ["SPARSE_FLOAT_VECTOR"] * n_sparse
    else:
        vector_types = [draw(st.sampled_from(["FLOAT_VECTOR", "BINARY_VECTOR", "FLOAT16_VECTOR"]))]
    for i, vt in enumerate(vector_types):
        v: dict[str, Any] = {"name": f"v{i}", "type": vt}
        if vt == "BINARY_VECTOR":
            v["dim"] = 8 * draw(st.integers(1, 16))
        elif vt != "SPARSE_FLOAT_VECTOR":
            v["dim"] = draw(st.integers(2, 64))
        fields.append(v)

    n_scalars = draw(st.integers(0, 4))
    scalars = [draw(_scalar_field(f"s{i}", backend)) for i in range(n_scalars)]
    fields += scalars

    functions = []
    if lite and draw(st.integers(0, 3)) == 0:
        fields.append({"name": "text", "type": "VARCHAR", "max_length": 256, "enable_analyzer": True,
                       "analyzer_params": {"type": "standard"}})  # fmt: skip
        fields.append({"name": "text_sparse", "type": "SPARSE_FLOAT_VECTOR"})
        functions.append({"name": "bm25", "type": "BM25", "input_field_names": ["text"], "output_field_names": ["text_sparse"]})
        if draw(st.booleans()):
            functions[0]["description"] = "full text of text"  # Lite drops it (issue 8 item 5)

    decl: dict[str, Any] = {"fields": fields}
    if functions:
        decl["functions"] = functions
    key_candidates = [f for f in scalars if f["type"] in ("INT64", "VARCHAR") and not f.get("nullable")]
    partition_key = key_candidates and draw(st.integers(0, 3)) == 0
    if partition_key:
        key_candidates[0]["is_partition_key"] = True
        key_candidates[0].pop("default_value", None)
        if draw(st.booleans()):
            decl["num_partitions"] = draw(st.integers(1, 8))
    elif draw(st.booleans()):
        decl["partitions"] = sorted(draw(st.sets(st.sampled_from(["p0", "p1", "p2", "year_2025"]), min_size=1)))

    if draw(st.booleans()):
        decl["enable_dynamic_field"] = True
    if draw(st.integers(0, 3)) == 0:
        decl["description"] = draw(st.sampled_from(["documents", "Ünïcode description"]))
    if draw(st.integers(0, 3)) == 0:
        decl["consistency_level"] = draw(st.sampled_from(["Strong", "Bounded", "Session", "Eventually"]))
    if not lite and draw(st.integers(0, 3)) == 0:
        decl["num_shards"] = draw(st.integers(1, 2))
    properties = draw(
        st.dictionaries(
            st.sampled_from(["collection.ttl.seconds", "owner", "tier"]),
            st.one_of(st.integers(0, 10**6), st.sampled_from(["team-a", "gold"]), st.booleans()),
            max_size=2,
        )
    )
    if properties:
        decl["properties"] = properties

    indexes = []
    for f in fields:
        if f["type"].endswith("_VECTOR"):
            if f["name"] == "text_sparse":
                indexes.append({"field_name": f["name"], "index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25"})
                continue
            index_type, params = draw(st.sampled_from(VECTOR_INDEXES[f["type"]]))
            ix: dict[str, Any] = {"field_name": f["name"], "index_type": index_type}
            if not lite and index_type == "AUTOINDEX" and draw(st.booleans()):
                del ix["index_type"]  # the server's default vector index is AUTOINDEX
            # Required offline: Milvus Lite refuses a vector index without one (2.3.5 defaults AUTOINDEX to IP).
            ix["metric_type"] = draw(st.sampled_from(METRICS[f["type"]]))
            if params:
                ix["params"] = params
        elif draw(st.integers(0, 2)) == 0:
            ix = _scalar_index(f, backend, draw)
            if ix is None:
                continue
            if ix["index_type"] is None:
                del ix["index_type"]
        else:
            continue
        if draw(st.integers(0, 4)) == 0:
            ix["index_name"] = f"ix_{f['name']}"
        indexes.append(ix)
    decl["indexes"] = indexes

    load_choices: list[Any] = ["omit", True, False]
    if not lite and decl.get("partitions"):
        load_choices += [{"partitions": ["_default", decl["partitions"][0]]}, {"partitions": decl["partitions"][:1]}]
    if not lite:
        load_choices.append({"replica_number": 1})
    load = draw(st.sampled_from(load_choices))
    if load != "omit":
        decl["load"] = load
    aliases = draw(st.sets(st.sampled_from(["a", "b", "live"]), max_size=3))
    if aliases:
        decl["aliases"] = sorted(f"{prefix}_{a}" for a in aliases)
    return decl


# --------------------------------------------------------------------------------------------- by hand


# How index build params are passed to IndexParams.add_index: the pymilvus docs' flat dict, keywords, or the
# nested form (the only one Milvus Lite reports back, see Capabilities.reports_flat_index_params).
PARAM_STYLES = ("flat", "keyword", "nested")


def create_by_hand(
    client: Any, name: str, decl: dict[str, Any], *, params_style: str = "nested", via_create_collection: bool = False
) -> None:
    """Build `decl` with plain pymilvus calls, as an application would; milvus_migrate is not involved."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(
        enable_dynamic_field=decl.get("enable_dynamic_field", False), description=decl.get("description", "")
    )
    for f in decl["fields"]:
        kwargs = {k: v for k, v in f.items() if k not in ("name", "type")}
        if "element_type" in kwargs:
            kwargs["element_type"] = DataType[kwargs["element_type"]]
        schema.add_field(f["name"], DataType[f["type"]], **kwargs)
    for fn in decl.get("functions", []):
        schema.add_function(
            Function(
                name=fn["name"],
                function_type=FunctionType[fn["type"]],
                input_field_names=fn["input_field_names"],
                output_field_names=fn["output_field_names"],
                description=fn.get("description", ""),
            )
        )
    kwargs: dict[str, Any] = {}
    for key in ("consistency_level", "num_shards", "num_partitions", "properties"):
        if key in decl:
            kwargs[key] = decl[key]
    index_params = None
    if decl["indexes"]:
        index_params = client.prepare_index_params()
        for ix in decl["indexes"]:
            extra: dict[str, Any] = {}
            if "metric_type" in ix:
                extra["metric_type"] = ix["metric_type"]
            if "index_name" in ix:
                extra["index_name"] = ix["index_name"]
            if ix.get("params"):
                if params_style == "nested":
                    extra["params"] = {"params": ix["params"]}
                elif params_style == "flat":
                    extra["params"] = dict(ix["params"])  # add_index(..., params={"nlist": 1024}), as the docs show
                else:
                    extra.update(ix["params"])  # add_index(..., nlist=1024)
            if "index_type" in ix:
                extra["index_type"] = ix["index_type"]
            index_params.add_index(field_name=ix["field_name"], **extra)
    if via_create_collection and index_params is not None:
        # create_collection(index_params=…) also loads the collection: undo that where the declaration says otherwise.
        client.create_collection(name, schema=schema, index_params=index_params, **kwargs)
        for p in decl.get("partitions", []):
            client.create_partition(name, p)
        if decl.get("load", "omit") is not True and "replica_number" not in (decl.get("load") or {}):
            client.release_collection(name)
    else:
        client.create_collection(name, schema=schema, **kwargs)
        for p in decl.get("partitions", []):
            client.create_partition(name, p)
        if index_params is not None:
            client.create_index(name, index_params)
    load = decl.get("load")
    if load is True or (isinstance(load, dict) and "partitions" not in load):
        client.load_collection(name, **({"replica_number": load["replica_number"]} if isinstance(load, dict) else {}))
    elif isinstance(load, dict):
        client.load_partitions(name, load["partitions"])
    for alias in decl.get("aliases", []):
        client.create_alias(name, alias)


def _write(directory: Path, *versions: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for n, collections in enumerate(versions, start=1):
        text = yaml.safe_dump({"collections": collections}, sort_keys=False, allow_unicode=True)
        (directory / f"{n:04d}_declare.yaml").write_text(text, encoding="utf-8")
    return directory


def _plan(cli: Callable[..., Any], directory: Path) -> dict[str, Any]:
    result = cli("plan", "--format", "json", directory=directory)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _ops(body: dict[str, Any]) -> list[tuple[str, ...]]:
    """(op, subject) pairs: what a reader of the plan needs to check the order."""
    out = []
    for o in body["operations"]:
        subject = o.get("field_name") or o.get("partition") or o.get("alias") or ""
        out.append((o["op"], subject) if subject else (o["op"],))
    return out


# --------------------------------------------------------------------------------------------- property


@pytest.fixture
def client(backend: Any) -> Any:
    """One synchronous client for all examples of a test (hypothesis reuses function-scoped fixtures)."""
    return backend.client()


# No shrinking: every example builds real collections (1-3 s each), so shrinking would run for many minutes;
# the failing declaration is printed in full (note) and replayed first on the next run (example database).
@settings(
    max_examples=12,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_collection_built_by_hand_as_declared_plans_no_change(data, backend, client, cli, tmp_path):
    name = f"c_{uuid.uuid4().hex[:10]}"
    decl = data.draw(declarations(backend.name, name), label="declaration")
    style = data.draw(st.sampled_from(PARAM_STYLES), label="index params style")
    via_create_collection = data.draw(st.booleans(), label="create_collection(index_params=…)")
    note(yaml.safe_dump(decl, sort_keys=False))
    create_by_hand(client, name, decl, params_style=style, via_create_collection=via_create_collection)
    try:
        body = _plan(cli, _write(tmp_path / name, {name: decl}))

        assert body["operations"] == [], json.dumps(body["operations"], indent=2)
        assert (body["current_version"], body["target_version"]) == (0, 1)
    finally:
        for alias in decl.get("aliases", []):
            client.drop_alias(alias)
        client.drop_collection(name)


# --------------------------------------------------------------------------------------------- single changes


def _base(backend_name: str) -> dict[str, Any]:
    return {
        "description": "docs",
        "properties": {"collection.ttl.seconds": 60},
        "fields": [
            {"name": "id", "type": "INT64", "is_primary": True},
            {"name": "vec", "type": "FLOAT_VECTOR", "dim": 8},
            {"name": "title", "type": "VARCHAR", "max_length": 64},
        ],
        "partitions": ["p1"],
        "indexes": [
            {"field_name": "title", "index_type": "INVERTED" if backend_name == "lite" else "Trie"},
            {"field_name": "vec", "index_type": "HNSW", "metric_type": "COSINE", "params": {"M": 8, "efConstruction": 64}},
        ],
        "load": True,
        "aliases": ["docs_live"],
    }


def _vec_index(decl: dict[str, Any]) -> dict[str, Any]:
    return next(ix for ix in decl["indexes"] if ix["field_name"] == "vec")


RECREATE = [
    ("drop_alias", "docs_live"), ("drop_collection",), ("create_collection",), ("create_partition", "p1"),
    ("create_index", "title"), ("create_index", "vec"), ("load_collection",), ("create_alias", "docs_live"),
]  # fmt: skip
# Milvus Lite drops every index of a collection on any drop_index, so the title index is rebuilt too.
REINDEX = {
    "server": [("release_collection",), ("drop_index", "vec"), ("create_index", "vec"), ("load_collection",)],
    "lite": [("release_collection",), ("drop_index", "vec"), ("create_index", "title"), ("create_index", "vec"), ("load_collection",)],
}  # fmt: skip


def _change_params(d: dict[str, Any]) -> None:
    _vec_index(d)["params"]["M"] = 16


def _change_metric(d: dict[str, Any]) -> None:
    _vec_index(d)["metric_type"] = "L2"


def _add_partition(d: dict[str, Any]) -> None:
    d["partitions"].append("p2")


def _drop_partition(d: dict[str, Any]) -> None:
    d["partitions"] = []


def _change_property(d: dict[str, Any]) -> None:
    d["properties"]["collection.ttl.seconds"] = 120


def _add_alias(d: dict[str, Any]) -> None:
    d["aliases"].append("docs_next")


def _remove_alias(d: dict[str, Any]) -> None:
    d["aliases"] = []


def _change_dim(d: dict[str, Any]) -> None:
    d["fields"][1]["dim"] = 16


def _describe_field(d: dict[str, Any]) -> None:
    d["fields"][2]["description"] = "the title"


def _add_field(d: dict[str, Any]) -> None:
    d["fields"].append({"name": "year", "type": "INT32"})


CHANGES = {
    "index params": (_change_params, REINDEX),
    "metric": (_change_metric, REINDEX),
    "add partition": (_add_partition, {"server": [("create_partition", "p2")], "lite": [("create_partition", "p2")]}),
    # 2.3.5 refuses to drop a loaded partition: release just it (the rest stays loaded), drop. Lite drops it while loaded.
    "drop partition": (
        _drop_partition,
        {"server": [("release_partitions",), ("drop_partition", "p1")], "lite": [("drop_partition", "p1")]},
    ),
    # No Milvus here changes a field's description in place: a warning, no operation (issue 8 item 12).
    "field description": (_describe_field, {"server": [], "lite": []}),
    "property value": (_change_property, {b: [("alter_collection_properties",)] for b in ("server", "lite")}),
    "alias added": (_add_alias, {b: [("create_alias", "docs_next")] for b in ("server", "lite")}),
    "alias removed": (_remove_alias, {b: [("drop_alias", "docs_live")] for b in ("server", "lite")}),
    "dim": (_change_dim, {b: RECREATE for b in ("server", "lite")}),
    # Neither backend can add a field in place (add_collection_field is Milvus 2.6+): recreate.
    "field added": (_add_field, {b: RECREATE for b in ("server", "lite")}),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_one_declared_change_plans_exactly_its_operations(change, backend, cli, tmp_path):
    edit, expected = CHANGES[change]
    base = _base(backend.name)
    create_by_hand(backend.client(), "docs", base, params_style="nested")
    changed = copy.deepcopy(base)
    edit(changed)
    directory = _write(tmp_path / "m", {"docs": base}, {"docs": changed})

    body = _plan(cli, directory)

    assert _ops(body) == expected[backend.name], json.dumps(body["operations"], indent=2)
    destructive = {o["op"] for o in body["operations"] if o["destructive"]}
    # The collection holds no rows: recreating it loses nothing (docs/evolution.md), dropping a partition does.
    assert destructive == {o[0] for o in expected[backend.name]} & {"drop_partition"}
    if change in ("index params", "metric"):
        created = [o for o in body["operations"] if o["op"] == "create_index" and o["field_name"] == "vec"]
        assert created[0]["metric_type"] == _vec_index(changed)["metric_type"]
        assert created[0]["params"] == _vec_index(changed)["params"]
    if change == "field description" and not backend.is_lite:
        assert "docs.title: description differs from Milvus, which cannot change a field's description in place; left as is" in body["warnings"]
    # The unchanged declaration still matches what was built by hand.
    assert _plan(cli, _write(tmp_path / "same", {"docs": base}))["operations"] == []


def test_load_false_to_true_plans_a_load(backend, cli, tmp_path):
    base = {**_base(backend.name), "load": False}
    create_by_hand(backend.client(), "docs", base, params_style="nested")
    directory = _write(tmp_path / "m", {"docs": base}, {"docs": {**base, "load": True}})

    body = _plan(cli, directory)

    if backend.is_lite:
        # Milvus Lite forgets load state when its process ends (Capabilities.keeps_load_state): a later
        # command could never see `load: true` hold, so the planner does not compare it; apps load themselves.
        assert body["operations"] == []
    else:
        assert _ops(body) == [("load_collection",)]


# --------------------------------------------------------------------------------------------- documented styles


def test_collections_built_the_documented_pymilvus_ways_plan_no_change(backend, cli, tmp_path):
    """Issue 8 "done when": the pymilvus docs' own index styles, a function with a description, aliases at once."""
    client = backend.client()
    ivf = {"fields": [{"name": "id", "type": "INT64", "is_primary": True}, {"name": "v", "type": "FLOAT_VECTOR", "dim": 8}],
           "indexes": [{"field_name": "v", "index_type": "IVF_FLAT", "metric_type": "L2", "params": {"nlist": 1024}}],
           "aliases": ["ivf_a", "ivf_b", "ivf_c"]}  # fmt: skip
    hnsw = {"fields": ivf["fields"],
            "indexes": [{"field_name": "v", "index_type": "HNSW", "metric_type": "IP", "params": {"M": 8, "efConstruction": 64}}],
            "aliases": ["hnsw_live"], "load": True}  # fmt: skip
    declared = {"ivf": ivf, "hnsw": hnsw}
    create_by_hand(client, "ivf", ivf, params_style="flat", via_create_collection=True)
    create_by_hand(client, "hnsw", hnsw, params_style="keyword")
    if backend.is_lite:
        text = {"fields": [{"name": "id", "type": "INT64", "is_primary": True},
                           {"name": "text", "type": "VARCHAR", "max_length": 256, "enable_analyzer": True},
                           {"name": "sparse", "type": "SPARSE_FLOAT_VECTOR"}],
                "functions": [{"name": "bm25", "type": "BM25", "input_field_names": ["text"],
                               "output_field_names": ["sparse"], "description": "BM25 of text"}],
                "indexes": [{"field_name": "sparse", "index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25"}]}  # fmt: skip
        create_by_hand(client, "text", text)
        declared["text"] = text

    body = _plan(cli, _write(tmp_path / "m", declared))

    assert body["operations"] == [], json.dumps(body["operations"], indent=2)
    if backend.is_lite:
        # Lite reports no build params for the flat and keyword forms: said once, not planned as a rebuild.
        assert any("the declared params of hnsw.v, ivf.v cannot be checked" in w for w in body["warnings"]), body["warnings"]
        assert "Milvus Lite 3.2.2 does not keep descriptions; they are not compared" in body["warnings"]
    else:
        assert body["warnings"] == []


def test_one_change_to_a_collection_built_the_documented_way_plans_exactly_its_operations(backend, cli, tmp_path):
    base = _base(backend.name)
    create_by_hand(backend.client(), "docs", base, params_style="flat", via_create_collection=True)
    changed = copy.deepcopy(base)
    _change_metric(changed)

    body = _plan(cli, _write(tmp_path / "m", {"docs": base}, {"docs": changed}))

    assert _ops(body) == REINDEX[backend.name], json.dumps(body["operations"], indent=2)

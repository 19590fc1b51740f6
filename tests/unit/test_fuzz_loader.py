"""Whatever is in the migrations directory, loading it either succeeds or raises SpecError with located problems."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milvus_migrate.errors import SpecError
from milvus_migrate.files.loader import collection_at, fold, load_migrations
from milvus_migrate.files.spec import ELEMENT_TYPES, FIELD_TYPES

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # nothing written outside the temp dirs
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- what goes into the files ------------------------------------------------------------------

TOKENS = [
    "\n", " ", "  ", "- ", ": ", ":", ",", "[", "]", "{", "}", "'", '"', "#", "&a ", "*a", "!!python/object:os.system ",
    "!!str ", "---\n", "|\n", ">\n", "<<: ", "? ", "\t", "\x00", "\ufeff", "é", "{{", "}}", "{%", "%}", "{#", "#}",
    "{{ vars.x }}", "{{ env.HOME }}", "{{ vars.dim | default(8) }}", "{% for i in range(3) %}", "{% endfor %}",
    "{% if vars.x is defined %}", "{% endif %}", "{{ ''.__class__ }}", "{{ 1/0 }}", "{{ 'a' * 3 }}",
    "collections", "drop_collections", "description", "fields", "indexes", "functions", "partitions", "load",
    "aliases", "properties", "name", "type", "dim", "max_length", "is_primary", "field_name", "metric_type",
    "index_type", "docs", "id", "vec", "INT64", "VARCHAR", "FLOAT_VECTOR", "SPARSE_FLOAT_VECTOR", "L2", "BM25",
    "true", "false", "null", "0", "8", "-1", "1e3", "0x10", "2025-01-01",
]
yamlish_text = st.lists(st.sampled_from(TOKENS), max_size=80).map("".join)

NAMES = st.sampled_from(["docs", "other", "id", "vec", "text", "sparse", "p1", "live", "9bad", "bad-name", "", "x" * 300])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 8, 128, 32768, 32769, 65535, 65536, 4097]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    NAMES,
    st.sampled_from(["{{ vars.x }}", "{{ env.X | default(4) }}", "{{ vars.dim | default(8) }}", "{{ nope }}"]),
)


def some_of(required: dict, optional: dict) -> st.SearchStrategy[dict]:
    """Mappings with `required` keys and any subset of `optional` ones, plus now and then an unknown key."""
    return st.fixed_dictionaries(required, optional={**optional, "unknown_key": SCALARS, "nmae": SCALARS})


def valid_or(strategy: st.SearchStrategy, *valid) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(valid), strategy) if valid else strategy


field = some_of(
    {"name": NAMES, "type": valid_or(SCALARS, *FIELD_TYPES, "FLOAT_VECTR")},
    {
        "is_primary": valid_or(SCALARS, True, False),
        "auto_id": valid_or(SCALARS, True),
        "dim": valid_or(SCALARS, 8, 0),
        "max_length": valid_or(SCALARS, 64),
        "element_type": valid_or(SCALARS, *ELEMENT_TYPES),
        "max_capacity": valid_or(SCALARS, 16),
        "nullable": valid_or(SCALARS, True),
        "default_value": SCALARS,
        "is_partition_key": valid_or(SCALARS, True),
        "is_clustering_key": valid_or(SCALARS, True),
        "enable_analyzer": valid_or(SCALARS, True),
        "enable_match": valid_or(SCALARS, True),
        "analyzer_params": st.one_of(SCALARS, st.dictionaries(st.text(max_size=5), SCALARS, max_size=2)),
    },
)
index = some_of(
    {"field_name": NAMES},
    {
        "index_type": valid_or(SCALARS, "HNSW", "AUTOINDEX", "INVERTED", "Trie", "BIN_FLAT", "SPARSE_INVERTED_INDEX"),
        "metric_type": valid_or(SCALARS, "L2", "IP", "COSINE", "BM25", "HAMMING"),
        "index_name": NAMES,
        "params": st.one_of(SCALARS, st.dictionaries(st.sampled_from(["M", "nlist", "efConstruction"]), SCALARS, max_size=2)),
    },
)
function = some_of(
    {"name": NAMES, "type": valid_or(SCALARS, "BM25", "TEXT_EMBEDDING", "RERANK")},
    {"input_field_names": st.lists(NAMES, max_size=2), "output_field_names": st.lists(NAMES, max_size=2), "params": SCALARS},
)
collection = some_of(
    {},
    {
        "fields": st.one_of(st.lists(field, max_size=5), SCALARS),
        "indexes": st.lists(index, max_size=3),
        "functions": st.lists(function, max_size=2),
        "partitions": st.one_of(st.lists(NAMES, max_size=3), SCALARS),
        "load": st.one_of(SCALARS, some_of({}, {"replica_number": SCALARS, "partitions": st.lists(NAMES, max_size=2)})),
        "aliases": st.lists(NAMES, max_size=2),
        "properties": st.dictionaries(st.sampled_from(["collection.ttl.seconds", "mmap.enabled", "x"]), SCALARS, max_size=2),
        "auto_id": SCALARS,
        "consistency_level": valid_or(SCALARS, "Strong", "Bounded"),
        "num_shards": SCALARS,
        "num_partitions": SCALARS,
        "enable_dynamic_field": SCALARS,
        "description": SCALARS,
    },
)
migration = some_of(
    {},
    {
        "description": SCALARS,
        "collections": st.one_of(st.dictionaries(NAMES, collection, max_size=2), SCALARS),
        "drop_collections": st.one_of(st.lists(NAMES, max_size=2), SCALARS),
    },
)


def as_yaml(data: object, flow: bool) -> str:
    return yaml.safe_dump(data, default_flow_style=flow, sort_keys=False, allow_unicode=True)


# --- the properties ----------------------------------------------------------------------------


def check_loads_or_reports(files: dict[str, bytes]) -> None:
    """Load a directory of these files: success folds at every version; failure is a located SpecError."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for name, content in files.items():
            (directory / name).write_bytes(content)
        try:
            migration_set = load_migrations(directory, variables={"x": "7"}, environ={"HOME": "/home/u"})
        except SpecError as exc:
            assert exc.problems, "a SpecError must carry at least one problem"
            for problem in exc.problems:
                assert problem.message.strip()
                assert Path(problem.file).name in files or Path(problem.file) == directory
                if problem.line == 0:
                    assert problem.col == 0 and str(problem) == f"{problem.file}: {problem.message}"
                    continue
                assert problem.line > 0 and problem.col > 0
                # YAML and Jinja also break lines at '\r' (and a few rarer characters): count generously.
                line_count = len(files[Path(problem.file).name].decode("utf-8", "replace").splitlines()) + 1
                assert problem.line <= line_count, (problem, line_count)
                assert str(problem).startswith(f"{problem.file}:{problem.line}:{problem.col}: ")
            return
        for version in [0, *migration_set.versions]:
            state = fold(migration_set, to=version)
            for name in migration_set.managed_collections():
                spec = collection_at(migration_set, name, to=version)
                assert (spec is not None) == (name in state.collections)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(content: bytes):
    check_loads_or_reports({"0001_fuzz.yaml": content})


@FUZZ
@given(st.text(max_size=1000))
def test_random_text(content: str):
    check_loads_or_reports({"0001_fuzz.yaml": content.encode("utf-8", "surrogatepass")})


@FUZZ
@given(yamlish_text)
def test_yaml_and_jinja_token_soup(content: str):
    check_loads_or_reports({"0001_fuzz.yaml": content.encode("utf-8")})


@FUZZ
@given(migration, st.booleans())
def test_random_declarations(data: dict, flow: bool):
    check_loads_or_reports({"0001_fuzz.yaml": as_yaml(data, flow).encode("utf-8")})


@FUZZ
@given(
    st.dictionaries(
        st.one_of(
            st.integers(min_value=0, max_value=12).map(lambda v: f"{v:04d}_step.yaml"),
            st.from_regex(r"\A[0-9A-Za-z_.\-]{1,12}\.ya?ml\Z"),
        ),
        st.tuples(migration, st.booleans()).map(lambda pair: as_yaml(*pair).encode("utf-8")),
        max_size=4,
    )
)
def test_random_directories(files: dict[str, bytes]):
    check_loads_or_reports({name: content for name, content in files.items() if not name.startswith(".")})


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["docs", "other"]), st.booleans(), st.sampled_from([[], ["live"], ["docs"]])), min_size=1, max_size=5))
def test_random_histories_of_valid_collections(steps: list[tuple[str, bool, list[str]]]):
    """Declares and drops valid collections in random order: only history rules can fail."""
    files = {}
    for version, (name, drop, aliases) in enumerate(steps, 1):
        if drop:
            text = f"drop_collections: [{name}]\n"
        else:
            text = as_yaml(
                {
                    "collections": {
                        name: {
                            "fields": [{"name": "id", "type": "INT64", "is_primary": True}, {"name": "vec", "type": "FLOAT_VECTOR", "dim": 4}],
                            "aliases": aliases,
                        }
                    }
                },
                False,
            )
        files[f"{version:04d}_step.yaml"] = text.encode()
    check_loads_or_reports(files)

"""The desired state at version N is the fold of migration files 1..N."""

from __future__ import annotations

from pathlib import Path

import pytest

from milvus_migrate.files.loader import collection_at, fold, load_migrations
from milvus_migrate.planning.state import CollectionState, IndexState, LoadState, State


def declaration(name: str = "docs", dim: int = 8, extra: str = "", extra_fields: str = "", index: str = "metric_type: L2") -> str:
    return f"""\
collections:
  {name}:
    fields:
      - {{name: id, type: INT64, is_primary: true}}
      - {{name: vec, type: FLOAT_VECTOR, dim: {dim}}}
{extra_fields}    indexes:
      - {{field_name: vec, {index}}}
{extra}"""


@pytest.fixture
def write(tmp_path: Path):
    """write({version: text, ...}) -> the loaded MigrationSet of those files."""

    def _write(files: dict[int, str]):
        for version, text in files.items():
            (tmp_path / f"{version:04d}_v{version}.yaml").write_text(text)
        return load_migrations(tmp_path, variables={}, environ={})

    return _write


def only(state: State) -> CollectionState:
    assert len(state.collections) == 1
    return next(iter(state.collections.values()))


# --- versions ----------------------------------------------------------------------------------


def test_fold_at_zero_is_empty(write):
    migration_set = write({1: declaration(), 2: declaration("other")})

    assert fold(migration_set, to=0) == State()


def test_fold_of_no_files_is_empty(write):
    migration_set = write({})

    assert migration_set.latest_version == 0
    assert fold(migration_set) == State()


def test_fold_at_one_has_only_the_first_file(write):
    migration_set = write({1: declaration(), 2: declaration("other")})

    assert list(fold(migration_set, to=1).collections) == ["docs"]


def test_fold_at_latest_is_the_default(write):
    migration_set = write({1: declaration(), 2: declaration("other"), 3: declaration("third")})

    assert fold(migration_set) == fold(migration_set, to=3)
    assert sorted(fold(migration_set).collections) == ["docs", "other", "third"]


def test_fold_between_sparse_versions(write):
    migration_set = write({1: declaration(), 5: declaration("other"), 10: declaration("third")})

    assert migration_set.versions == [1, 5, 10]
    assert sorted(fold(migration_set, to=7).collections) == ["docs", "other"]
    assert migration_set.get(5).name == "0005_v5"
    assert migration_set.get(7) is None


def test_a_later_declaration_replaces_the_earlier_one_entirely(write):
    migration_set = write(
        {
            1: declaration(dim=8, extra_fields="      - {name: title, type: VARCHAR, max_length: 64}\n", extra="    partitions: [a]\n"),
            2: declaration(dim=16, index="index_type: HNSW, metric_type: IP"),
        }
    )

    before, after = only(fold(migration_set, to=1)), only(fold(migration_set, to=2))

    assert [f.name for f in before.fields] == ["id", "vec", "title"]
    assert before.partitions == ("a",)
    assert [(f.name, f.dim) for f in after.fields] == [("id", None), ("vec", 16)]
    assert after.partitions == ()
    assert after.indexes == (IndexState(field_name="vec", index_name="vec", index_type="HNSW", metric_type="IP"),)


def test_drop_collections_removes_the_collection(write):
    migration_set = write({1: declaration(), 2: declaration("other"), 3: "drop_collections: [docs]\n"})

    assert sorted(fold(migration_set, to=2).collections) == ["docs", "other"]
    assert sorted(fold(migration_set, to=3).collections) == ["other"]


def test_a_dropped_collection_can_be_declared_again(write):
    migration_set = write({1: declaration(dim=8), 2: "drop_collections: [docs]\n", 3: declaration(dim=32)})

    assert fold(migration_set, to=2) == State()
    assert only(fold(migration_set, to=3)).field("vec").dim == 32


# --- collection_at and managed_collections -----------------------------------------------------


def test_collection_at_follows_declarations_and_drops(write):
    migration_set = write({1: declaration(dim=8), 2: declaration(dim=16), 3: "drop_collections: [docs]\n", 4: declaration("other")})

    assert collection_at(migration_set, "docs", to=0) is None
    assert collection_at(migration_set, "docs", to=1).fields[1].dim == 8
    assert collection_at(migration_set, "docs", to=2).fields[1].dim == 16
    assert collection_at(migration_set, "docs", to=3) is None
    assert collection_at(migration_set, "docs") is None
    assert collection_at(migration_set, "other") is not None
    assert collection_at(migration_set, "other", to=3) is None
    assert collection_at(migration_set, "never") is None


def test_managed_collections_include_declared_and_dropped_names(write):
    migration_set = write({1: declaration(), 2: declaration("other"), 3: "drop_collections: [docs]\n"})

    assert migration_set.managed_collections() == {"docs", "other"}


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        ("", None),
        ("    load: true\n", LoadState(loaded=True)),
        ("    load: false\n", LoadState(loaded=False)),
        ("    load: {replica_number: 2}\n", LoadState(loaded=True, replica_number=2)),
        ("    load: {}\n", LoadState(loaded=True)),
        ("    partitions: [b, a]\n    load: {partitions: [b, a]}\n", LoadState(loaded=True, partitions=("a", "b"))),
        ("    partitions: [a]\n    load: {replica_number: 1, partitions: [_default]}\n", LoadState(loaded=True, replica_number=1, partitions=("_default",))),
    ],
)
def test_load_forms(load: str, expected: LoadState | None, write):
    assert only(fold(write({1: declaration(extra=load)}))).load == expected


def test_index_name_defaults_to_the_field_name(write):
    migration_set = write({1: declaration(index="metric_type: L2, index_name: by_vec"), 2: declaration()})

    assert only(fold(migration_set, to=1)).index_on("vec").index_name == "by_vec"
    assert only(fold(migration_set, to=2)).index_on("vec").index_name == "vec"


def test_missing_index_type_means_autoindex(write):
    index = only(fold(write({1: declaration(index="metric_type: cosine")}))).index_on("vec")

    assert index.index_type == "AUTOINDEX"
    assert index.metric_type == "COSINE"


@pytest.mark.parametrize(("written", "canonical"), [("hnsw", "HNSW"), ("IVF_FLAT", "IVF_FLAT"), ("autoindex", "AUTOINDEX")])
def test_index_type_spelling_is_canonical(written: str, canonical: str, write):
    migration_set = write({1: declaration(index=f"index_type: {written}, metric_type: L2, params: {{nlist: '128'}}")})

    index = only(fold(migration_set)).index_on("vec")

    assert index.index_type == canonical
    assert index.params == {"nlist": 128}


def test_trie_index_keeps_milvus_spelling(write):
    migration_set = write(
        {1: declaration(extra_fields="      - {name: title, type: VARCHAR, max_length: 64}\n", extra="      - {field_name: title, index_type: TRIE}\n")}
    )

    assert only(fold(migration_set)).index_on("title").index_type == "Trie"


def test_indexes_are_ordered_by_field(write):
    migration_set = write(
        {1: declaration(extra_fields="      - {name: a_title, type: VARCHAR, max_length: 64}\n", extra="      - {field_name: a_title}\n")}
    )

    assert [i.field_name for i in only(fold(migration_set)).indexes] == ["a_title", "vec"]


@pytest.mark.parametrize("where", ["collection", "field"])
def test_auto_id_belongs_to_the_primary_field(where: str, write):
    text = declaration()
    if where == "collection":
        text = text.replace("  docs:\n", "  docs:\n    auto_id: true\n")
    else:
        text = text.replace("is_primary: true", "is_primary: true, auto_id: true")

    collection = only(fold(write({1: text})))

    assert collection.primary_field.auto_id is True
    assert [f.auto_id for f in collection.fields] == [True, False]


def test_auto_id_is_off_unless_declared(write):
    assert only(fold(write({1: declaration()}))).primary_field.auto_id is False


def test_properties_are_stringified_like_pymilvus_does(write):
    text = declaration(extra="    properties: {collection.ttl.seconds: 60, mmap.enabled: true, ratio: 0.5, note: hi}\n")

    assert only(fold(write({1: text}))).properties == {
        "collection.ttl.seconds": "60",
        "mmap.enabled": "True",
        "ratio": "0.5",
        "note": "hi",
    }


def test_partitions_and_aliases_are_sorted(write):
    text = declaration(extra="    partitions: [p2026, p2025]\n    aliases: [live, current]\n")

    collection = only(fold(write({1: text})))

    assert collection.partitions == ("p2025", "p2026")
    assert collection.aliases == ("current", "live")
    assert fold(write({1: text})).alias_targets() == {"current": "docs", "live": "docs"}


def test_function_outputs_are_marked(write):
    text = declaration(
        extra_fields="      - {name: text, type: VARCHAR, max_length: 1000, enable_analyzer: true}\n      - {name: sparse, type: SPARSE_FLOAT_VECTOR}\n",
        extra="      - {field_name: sparse, metric_type: BM25}\n"
        "    functions:\n      - {name: bm25, type: BM25, input_field_names: [text], output_field_names: [sparse]}\n",
    )

    collection = only(fold(write({1: text})))

    assert {f.name: f.is_function_output for f in collection.fields} == {"id": False, "vec": False, "text": False, "sparse": True}
    assert collection.functions[0].input_field_names == ("text",)
    assert collection.index_on("sparse").metric_type == "BM25"


def test_optional_collection_settings_stay_undeclared(write):
    collection = only(fold(write({1: declaration()})))

    assert collection.consistency_level is None
    assert collection.num_shards is None
    assert collection.num_partitions is None
    assert collection.load is None
    assert collection.description == ""
    assert collection.enable_dynamic_field is False


def test_collection_settings_are_carried(write):
    text = declaration(extra="    description: Documents\n    consistency_level: Bounded\n    num_shards: 2\n    enable_dynamic_field: true\n")

    collection = only(fold(write({1: text})))

    assert (collection.description, collection.consistency_level, collection.num_shards, collection.enable_dynamic_field) == (
        "Documents",
        "Bounded",
        2,
        True,
    )

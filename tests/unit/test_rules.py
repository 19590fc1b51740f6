"""Every broken migration in bad_inputs/ is reported exactly as its expected.txt says.

Each case is a directory holding one or more migration files that break one rule, and the exact
`FILE:LINE:COL: message` lines `validate` must print for it (FILE relative to the case directory).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from milvus_migrate.errors import SpecError
from milvus_migrate.files.loader import fold, load_migrations

BAD_INPUTS = Path(__file__).parent / "bad_inputs"
CASES = sorted(p.name for p in BAD_INPUTS.iterdir() if p.is_dir())

VALID = """\
collections:
  docs:
    fields:
      - name: id
        type: INT64
        is_primary: true
      - name: vec
        type: FLOAT_VECTOR
        dim: 8
    indexes:
      - field_name: vec
        metric_type: L2
"""


def reported_lines(directory: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The lines `validate` prints for `directory` (run from inside it): problems and warnings, in file order."""
    monkeypatch.chdir(directory)
    try:
        migration_set = load_migrations(".", variables={}, environ={})
    except SpecError as exc:
        assert str(exc) == "\n".join(str(p) for p in exc.problems)
        return [str(p) for p in sorted([*exc.problems, *exc.warnings])]
    return [str(w) for w in migration_set.warnings]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_reported_exactly(case: str, monkeypatch: pytest.MonkeyPatch):
    directory = BAD_INPUTS / case
    expected = (directory / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert expected, f"{case}/expected.txt is empty"

    assert reported_lines(directory, monkeypatch) == expected


@pytest.mark.parametrize("case", CASES)
def test_every_reported_location_lies_inside_the_named_file(case: str, monkeypatch: pytest.MonkeyPatch):
    directory = BAD_INPUTS / case
    monkeypatch.chdir(directory)
    with pytest.raises(SpecError) as caught:
        load_migrations(".", variables={}, environ={})
    for problem in caught.value.problems:
        lines = (directory / problem.file).read_bytes().split(b"\n")
        if problem.line == 0:
            assert problem.col == 0  # a whole-file message: FILE: message
        else:
            assert 1 <= problem.line <= len(lines)
            assert 1 <= problem.col <= len(lines[problem.line - 1]) + 1


def test_the_base_declaration_the_corpus_breaks_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "0001_init.yaml").write_text(VALID)
    assert reported_lines(tmp_path, monkeypatch) == []


def test_problems_of_all_files_come_in_one_run_sorted_by_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "0001_a.yaml").write_text(VALID.replace("dim: 8", "dim: 0").replace("metric_type: L2", "metric_type: L7"))
    (tmp_path / "0002_b.yaml").write_text("collections: [oops]\n")
    (tmp_path / "0003_c.yaml").write_text(VALID.replace("docs", "other").replace("INT64", "INT46"))

    assert reported_lines(tmp_path, monkeypatch) == [
        "0001_a.yaml:9:14: dim must be between 1 and 32768, got 0",
        "0001_a.yaml:12:22: metric_type L7 does not fit FLOAT_VECTOR; use one of COSINE, IP, L2",
        "0002_b.yaml:1:14: collections must be a mapping, not a list",
        "0003_c.yaml:5:15: type: 'INT46' is not one of 'BOOL', 'INT8', 'INT16', 'INT32', 'INT64', 'FLOAT', 'DOUBLE', "
        "'VARCHAR', 'JSON', 'ARRAY', 'FLOAT_VECTOR', 'BINARY_VECTOR', 'FLOAT16_VECTOR', 'BFLOAT16_VECTOR', "
        "'INT8_VECTOR' or 'SPARSE_FLOAT_VECTOR' (did you mean 'INT64'?)",
    ]


def test_positions_in_flow_style_point_at_the_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "0001_flow.yaml").write_text(
        "collections:\n"
        "  docs:\n"
        "    fields:\n"
        "      - {name: id, type: VARCHAR, is_primary: true, max_length: 0}\n"
        "      - {name: vec, type: FLOAT_VECTOR, dim: 8}\n"
        "    indexes: [{field_name: vec, index_type: BIN_FLAT, metric_type: L2}]\n"
    )
    assert reported_lines(tmp_path, monkeypatch) == [
        "0001_flow.yaml:4:65: max_length must be between 1 and 65535, got 0",
        "0001_flow.yaml:6:45: index_type BIN_FLAT does not fit FLOAT_VECTOR field 'vec'; use one of AUTOINDEX, "
        "BRUTE_FORCE, DISKANN, FLAT, GPU_BRUTE_FORCE, GPU_CAGRA, GPU_IVF_FLAT, GPU_IVF_PQ, HNSW, HNSW_PQ, HNSW_PRQ, "
        "HNSW_SQ, IVF_FLAT, IVF_PQ, IVF_RABITQ, IVF_SQ8, SCANN",
    ]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("{name: tags, type: ARRAY, element_type: VARCHAR, max_capacity: 4}", "field 'tags': ARRAY of VARCHAR needs 'max_length'"),
        ("{name: tags, type: ARRAY, element_type: INT64, max_capacity: 5000}", "max_capacity must be between 1 and 4096, got 5000"),
        ("{name: n, type: VARCHAR, max_length: 8, max_capacity: 3}", "'max_capacity' is only for ARRAY fields, not VARCHAR"),
        ("{name: n, type: INT64, auto_id: true}", "auto_id is only allowed on the primary key field"),
        ("{name: v2, type: FLOAT_VECTOR, dim: 4, nullable: true}", "vector fields cannot be nullable"),
        ("{name: n, type: INT8, default_value: x}", "default_value 'x' does not fit a INT8 field"),
        ("{name: t, type: VARCHAR, max_length: 8, enable_match: true}", "enable_match needs enable_analyzer: true"),
        ("{name: j, type: JSON, is_partition_key: true}", "a partition key must be INT64 or VARCHAR, not JSON"),
        # Stray params 2.3.5 keeps in describe_collection (params / element_type): errors, not ignored params.
        ("{name: t, type: VARCHAR, max_length: 8, dim: 4}", "'dim' is only for dense vector fields, not VARCHAR"),
        ("{name: n, type: INT64, element_type: INT64}", "'element_type' is only for ARRAY fields, not INT64"),
        ("{name: a, type: ARRAY, element_type: INT64, max_capacity: 4, max_length: 9}", "'max_length' is only for VARCHAR fields, not ARRAY"),
        ("{name: v2, type: SPARSE_FLOAT_VECTOR, dim: 4}", "'dim' is only for dense vector fields, not SPARSE_FLOAT_VECTOR"),
    ],
)
def test_field_rules(field: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "0001_init.yaml").write_text(VALID.replace("    indexes:", f"      - {field}\n    indexes:"))
    reported = reported_lines(tmp_path, monkeypatch)
    assert len(reported) == 1
    assert reported[0].startswith("0001_init.yaml:10:")
    assert reported[0].endswith(f": {message}")


def test_valid_bm25_collection_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "0001_init.yaml").write_text(
        VALID.replace(
            "    indexes:",
            "      - {name: text, type: VARCHAR, max_length: 1000, enable_analyzer: true}\n"
            "      - {name: sparse, type: SPARSE_FLOAT_VECTOR}\n"
            "    functions:\n"
            "      - {name: bm25, type: BM25, input_field_names: [text], output_field_names: [sparse]}\n"
            "    indexes:\n"
            "      - {field_name: sparse, index_type: SPARSE_INVERTED_INDEX, metric_type: BM25}",
        )
    )
    assert reported_lines(tmp_path, monkeypatch) == []


# --- parameters Milvus accepts and ignores (issue 8, item 8) -------------------------------------------------


def test_a_json_max_length_as_dify_declares_it_is_a_warning_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "0001_init.yaml").write_text(
        VALID.replace("    indexes:", "      - {name: metadata, type: JSON, max_length: 65535}\n    indexes:")
    )

    assert reported_lines(tmp_path, monkeypatch) == [
        "0001_init.yaml:10:38: warning: max_length is ignored on JSON fields (Milvus accepts and drops it)"
    ]


@pytest.mark.parametrize("field_type", ["BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "JSON"])
@pytest.mark.parametrize("param", ["dim: 8", "max_length: 100", "max_capacity: 4"])
def test_ignored_field_params_warn_and_stay_out_of_the_declared_state(
    field_type: str, param: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    field = f"      - {{name: extra, type: {field_type}, {param}}}"
    (tmp_path / "0001_init.yaml").write_text(VALID.replace("    indexes:", f"{field}\n    indexes:"))
    key = param.split(":")[0]

    assert reported_lines(tmp_path, monkeypatch) == [
        f"0001_init.yaml:10:{field.index(key) + 1}: warning: {key} is ignored on {field_type} fields (Milvus accepts and drops it)"
    ]
    # Milvus keeps no trace of it, so the declared state must not either: plan after up stays empty.
    extra = fold(load_migrations(".", variables={}, environ={})).collections["docs"].fields[2]
    assert (extra.name, extra.dim, extra.max_length, extra.max_capacity) == ("extra", None, None, None)


# --- index build params (items 9 and 13) ---------------------------------------------------------------------


def _indexed(index: str, *, field: str = "{name: vec, type: FLOAT_VECTOR, dim: 8}") -> str:
    return (
        "collections:\n  docs:\n    fields:\n      - {name: id, type: INT64, is_primary: true}\n"
        f"      - {field}\n    indexes:\n      - {index}\n"
    )


def _write_index(directory: Path, index: str, field: str | None) -> str:
    """Write a file whose only index is 'INDEX_TYPE, rest of the mapping' (metric L2 unless given); its text."""
    index_type, _, rest = index.partition(", ")
    metric = "" if "metric_type" in rest else "metric_type: L2, "
    text = _indexed(f"{{field_name: vec, index_type: {index_type}, {metric}{rest}}}", **({"field": field} if field else {}))
    (directory / "0001_init.yaml").write_text(text)
    return text


BINARY = "{name: vec, type: BINARY_VECTOR, dim: 8}"
BM25_FIELDS = (
    "{name: text, type: VARCHAR, max_length: 99, enable_analyzer: true}\n      - {name: vec, type: SPARSE_FLOAT_VECTOR}\n"
    "    functions:\n      - {name: bm25, type: BM25, input_field_names: [text], output_field_names: [vec]}"
)


@pytest.mark.parametrize(
    ("index", "field", "message"),
    [
        ("HNSW, params: {M: x, efConstruction: 64}", None, "HNSW M must be an integer between 2 and 2048, not the string 'x'"),
        ("HNSW, params: {M: 1}", None, "HNSW M must be between 2 and 2048, got 1"),
        ("HNSW, params: {M: 16.5}", None, "HNSW M must be an integer between 2 and 2048, not the number 16.5"),
        ("HNSW, params: {M: true}", None, "HNSW M must be an integer between 2 and 2048, not true"),
        ("HNSW, params: {efConstruction: 0}", None, "HNSW efConstruction must be between 1 and 2147483647, got 0"),
        ("IVF_FLAT, params: {nlist: 65537}", None, "IVF_FLAT nlist must be between 1 and 65536, got 65537"),
        ("IVF_SQ8, params: {nlist: 0}", None, "IVF_SQ8 nlist must be between 1 and 65536, got 0"),
        ("IVF_PQ, params: {nlist: 16, m: 3, nbits: 8}", None, "IVF_PQ m must divide the dim of 'vec' (8), got 3"),
        ("IVF_PQ, params: {nlist: 16, m: 4, nbits: 25}", None, "IVF_PQ nbits must be between 1 and 24, got 25"),
        ("SCANN, params: {nlist: 16, with_raw_data: maybe}", None, "SCANN with_raw_data must be true or false, not the string 'maybe'"),
        ("DISKANN, params: {max_degree: 0}", None, "DISKANN max_degree must be between 1 and 2048, got 0"),
        ("HNSW_SQ, params: {sq_type: SQ9}", None, "HNSW_SQ sq_type must be one of SQ6, SQ8, FP16, BF16, not the string 'SQ9' (did you mean 'SQ8'?)"),
        ("BIN_IVF_FLAT, metric_type: HAMMING, params: {nlist: 65537}", BINARY, "BIN_IVF_FLAT nlist must be between 1 and 65536, got 65537"),
        ("SPARSE_INVERTED_INDEX, metric_type: BM25, params: {drop_ratio_build: 1}", BM25_FIELDS,
         "SPARSE_INVERTED_INDEX drop_ratio_build must be at least 0 and below 1, got 1"),
        ("SPARSE_INVERTED_INDEX, metric_type: BM25, params: {inverted_index_algo: DAAT_WAN}", BM25_FIELDS,
         "SPARSE_INVERTED_INDEX inverted_index_algo must be one of TAAT_NAIVE, DAAT_WAND, DAAT_MAXSCORE, "
         "not the string 'DAAT_WAN' (did you mean 'DAAT_WAND'?)"),
        ("SPARSE_INVERTED_INDEX, metric_type: BM25, params: {bm25_b: 1.5}", BM25_FIELDS, "SPARSE_INVERTED_INDEX bm25_b must be between 0 and 1, got 1.5"),
        ("SPARSE_INVERTED_INDEX, metric_type: BM25, params: {bm25_k1: 3.5}", BM25_FIELDS, "SPARSE_INVERTED_INDEX bm25_k1 must be between 0 and 3, got 3.5"),
    ],
)  # fmt: skip
def test_index_build_params_of_the_wrong_type_or_range_are_refused_at_the_param(
    index: str, field: str | None, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    text = _write_index(tmp_path, index, field)
    key = message.split()[1]

    reported = reported_lines(tmp_path, monkeypatch)

    assert len(reported) == 1, reported
    file, line, col, said = reported[0].split(":", 3)
    assert said == f" {message}"
    assert text.splitlines()[int(line) - 1][int(col) - 1 :].startswith(key)  # points at the param's key


@pytest.mark.parametrize(
    ("index", "field"),
    [
        ("HNSW, params: {M: 16, efConstruction: 200}", None),
        ("HNSW, params: {M: '16', efConstruction: '200'}", None),  # pymilvus sends text anyway
        ("IVF_FLAT, params: {nlist: 1}", None),
        ("IVF_SQ8, params: {nlist: 65536}", None),
        ("IVF_PQ, params: {nlist: 128, m: 4, nbits: 8}", None),
        ("SCANN, params: {nlist: 128, with_raw_data: true}", None),
        ("DISKANN, params: {max_degree: 56, search_list_size: 100}", None),
        ("HNSW_SQ, params: {M: 16, sq_type: SQ8, refine: true, refine_type: FP16}", None),
        ("AUTOINDEX, params: {mmap.enabled: false}", None),
        ("BIN_IVF_FLAT, metric_type: JACCARD, params: {nlist: 128}", BINARY),
        ("SPARSE_INVERTED_INDEX, metric_type: BM25, params: {drop_ratio_build: 0.2, inverted_index_algo: DAAT_MAXSCORE, "
         "bm25_k1: 1.2, bm25_b: 0.75}", BM25_FIELDS),
    ],
)  # fmt: skip
def test_documented_build_params_pass(index: str, field: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _write_index(tmp_path, index, field)

    assert reported_lines(tmp_path, monkeypatch) == []


def test_unknown_build_params_warn_because_servers_add_new_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    index = "{field_name: vec, index_type: HNSW, metric_type: L2, params: {efconstruction: 64, ef: 32, shiny_new: 1}}"
    (tmp_path / "0001_init.yaml").write_text(_indexed(index))
    at = {key: f"0001_init.yaml:7:{index.index(key) + 9}" for key in ("efconstruction", "ef:", "shiny_new")}

    assert reported_lines(tmp_path, monkeypatch) == [
        f"{at['efconstruction']}: warning: 'efconstruction' is not a documented build param of HNSW (documented: M, "
        "efConstruction); it is passed to Milvus unchecked (did you mean 'efConstruction'?)",
        f"{at['ef:']}: warning: ef is a search param, not a build param of HNSW; create_index ignores it",
        f"{at['shiny_new']}: warning: 'shiny_new' is not a documented build param of HNSW (documented: M, "
        "efConstruction); it is passed to Milvus unchecked",
    ]
    assert load_migrations(".", variables={}, environ={}).migrations  # warnings stop nothing


# --- metric_type (item 10) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "field", "wanted"),
    [
        ("{field_name: vec, index_type: HNSW, params: {M: 16}}", None, "one of COSINE, IP, L2"),
        ("{field_name: vec, index_type: AUTOINDEX}", None, "one of COSINE, IP, L2"),  # Milvus Lite refuses it too
        ("{field_name: vec}", None, "one of COSINE, IP, L2"),
        ("{field_name: vec, index_type: BIN_FLAT}", BINARY, "one of HAMMING, JACCARD, MHJACCARD, SUBSTRUCTURE, SUPERSTRUCTURE"),
        ("{field_name: vec, index_type: SPARSE_INVERTED_INDEX}", "{name: vec, type: SPARSE_FLOAT_VECTOR}", "IP"),
        ("{field_name: vec, index_type: SPARSE_INVERTED_INDEX}", BM25_FIELDS, "BM25"),
    ],
)
def test_a_vector_index_needs_a_metric_type(index: str, field: str | None, wanted: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    text = _indexed(index, **({"field": field} if field else {}))
    (tmp_path / "0001_init.yaml").write_text(text)

    [reported] = reported_lines(tmp_path, monkeypatch)

    line = len(text.splitlines())  # the index entry, the last line
    assert reported == f"0001_init.yaml:{line}:9: the index on vector field 'vec' needs metric_type: {wanted}"


def test_a_scalar_index_needs_no_metric_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "0001_init.yaml").write_text(
        VALID.replace("    indexes:", "      - {name: year, type: INT32}\n    indexes:\n      - {field_name: year, index_type: STL_SORT}")
    )
    assert reported_lines(tmp_path, monkeypatch) == []


# --- how warnings reach the user -----------------------------------------------------------------------------


def test_validate_prints_warnings_on_stderr_and_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from click.testing import CliRunner

    from milvus_migrate.cli import main

    (tmp_path / "0001_init.yaml").write_text(
        VALID.replace("    indexes:", "      - {name: metadata, type: JSON, max_length: 65535}\n    indexes:")
    )
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, ["validate", "--dir", "."])

    assert result.exit_code == 0, result.output
    assert result.stdout == "1 migration file valid (latest version 1).\n"
    assert result.stderr == "0001_init.yaml:10:38: warning: max_length is ignored on JSON fields (Milvus accepts and drops it)\n"

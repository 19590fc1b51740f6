"""Every broken migration in bad_inputs/ is reported exactly as its expected.txt says.

Each case is a directory holding one or more migration files that break one rule, and the exact
`FILE:LINE:COL: message` lines `validate` must print for it (FILE relative to the case directory).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from milvus_migrate.errors import SpecError
from milvus_migrate.loader import load_migrations

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


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 45


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

"""Declarations a backend cannot honour are refused before anything is created; cosmetic ones only get a note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

LABELS = {"lite": "Milvus Lite 3.2.2", "server": "Milvus 2.3.5"}
PK = {"name": "id", "type": "INT64", "is_primary": True}
VEC = {"name": "vec", "type": "FLOAT_VECTOR", "dim": 8}
VEC_INDEX = {"field_name": "vec", "index_type": "FLAT", "metric_type": "L2"}


def _collection(*extra_fields: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {"fields": [PK, VEC, *extra_fields], **rest}


# case id -> (backend that lacks the feature, declaration of collection `refused`, words the message must contain)
CASES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "sparse vector": (
        "server",
        _collection({"name": "sparse", "type": "SPARSE_FLOAT_VECTOR"}),
        ["refused.sparse", "SPARSE_FLOAT_VECTOR fields are not supported"],
    ),
    "bfloat16 vector": (
        "server",
        {"fields": [PK, {"name": "vec", "type": "BFLOAT16_VECTOR", "dim": 8}]},
        ["refused.vec", "BFLOAT16_VECTOR fields are not supported"],
    ),
    "int8 vector": (
        "server",
        {"fields": [PK, {"name": "vec", "type": "INT8_VECTOR", "dim": 8}]},
        ["refused.vec", "INT8_VECTOR fields are not supported"],
    ),
    "nullable field": (
        "server",
        _collection({"name": "note", "type": "VARCHAR", "max_length": 16, "nullable": True}),
        ["refused.note", "nullable fields are not supported"],
    ),
    "int32 default_value": (
        "server",
        _collection({"name": "year", "type": "INT32", "default_value": 2025}),
        ["refused.year", "default_value on INT32 fields is not supported"],
    ),
    "bm25 function": (
        "server",
        {
            "fields": [
                PK,
                {"name": "text", "type": "VARCHAR", "max_length": 256, "enable_analyzer": True},
                {"name": "sparse", "type": "SPARSE_FLOAT_VECTOR"},
            ],
            "functions": [
                {"name": "bm25", "type": "BM25", "input_field_names": ["text"], "output_field_names": ["sparse"]}
            ],
        },
        ["refused: functions (bm25) are not supported"],
    ),
    "two float vectors": (
        "server",
        _collection({"name": "vec2", "type": "FLOAT_VECTOR", "dim": 4}),
        ["refused: 2 dense vector fields", "supports 1"],
    ),
    "inverted scalar index": (
        "server",
        _collection({"name": "year", "type": "INT64"}, indexes=[{"field_name": "year", "index_type": "INVERTED"}]),
        ["refused.year", "scalar index type INVERTED is not supported"],
    ),
    "binary vector": (
        "lite",
        {"fields": [PK, {"name": "vec", "type": "BINARY_VECTOR", "dim": 16}]},
        ["refused.vec", "BINARY_VECTOR fields are not supported"],
    ),
    "float16 vector": (
        "lite",
        {"fields": [PK, {"name": "vec", "type": "FLOAT16_VECTOR", "dim": 8}]},
        ["refused.vec", "FLOAT16_VECTOR fields are not supported"],
    ),
    "partition-level load": (
        "lite",
        _collection(partitions=["p1"], indexes=[VEC_INDEX], load={"partitions": ["p1"]}),
        ["refused: partition-level load", "is not supported"],
    ),
    "auto_id on varchar pk": (
        "lite",
        {"fields": [{"name": "id", "type": "VARCHAR", "max_length": 36, "is_primary": True, "auto_id": True}, VEC]},
        ["refused.id", "auto_id on a VARCHAR primary key is not supported"],
    ),
    "stl_sort scalar index": (
        "lite",
        _collection({"name": "year", "type": "INT64"}, indexes=[{"field_name": "year", "index_type": "STL_SORT"}]),
        ["refused.year", "scalar index type STL_SORT is not supported"],
    ),
}

# Refused on 2.3.5 and unknown to Milvus Lite 3.2.2 as well (Lite takes FLOAT_VECTOR and SPARSE_FLOAT_VECTOR only).
NEITHER = {"bfloat16 vector", "int8 vector"}


def _write(directory: Path, collections: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump({"collections": collections}, sort_keys=False)
    (directory / "0001_declare.yaml").write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("backend", "case"),
    [pytest.param(backend_name, case, id=f"{backend_name}-{case}") for case, (backend_name, _, _) in CASES.items()],
    indirect=["backend"],
)
def test_a_feature_the_backend_lacks_is_refused_before_anything_is_created(backend, case, cli, tmp_path):
    _, declaration, words = CASES[case]
    client = backend.client()
    before = sorted(client.list_collections())
    # An acceptable collection beside the refused one: the refusal must stop it being created too.
    directory = _write(tmp_path / "m", {"fine": _collection(indexes=[VEC_INDEX]), "refused": declaration})

    for command in ("plan", "up"):
        result = cli(command, directory=directory)

        assert result.exit_code == 1, (command, result.output)
        message = result.stderr
        assert "cannot apply this declaration" in message, message
        assert LABELS[backend.name] in message, message
        for word in words:
            assert word in message, (word, message)
        assert "Traceback" not in result.output
        assert sorted(client.list_collections()) == before  # no collection, no history, no lock marker


def test_the_same_declaration_is_accepted_where_the_feature_exists(backend, cli, tmp_path):
    """The refusals above are backend facts, not validation: each declaration plans fine on the other backend."""
    names = {
        case.replace(" ", "_").replace("-", "_"): decl
        for case, (lacking, decl, _) in CASES.items()
        if lacking != backend.name and case not in NEITHER
    }
    result = cli("plan", "--format", "json", directory=_write(tmp_path / "m", names))

    assert result.exit_code == 0, result.output
    created = {o["collection"] for o in json.loads(result.stdout)["operations"] if o["op"] == "create_collection"}
    assert created == set(names)


def test_notes_for_what_lite_ignores_do_not_make_plans_non_empty(backend, cli, tmp_path):
    if not backend.is_lite:
        pytest.skip(reason="Milvus 2.3.5 keeps descriptions and consistency_level: nothing to note")
    directory = _write(
        tmp_path / "m",
        {
            "docs": _collection(
                {"name": "title", "type": "VARCHAR", "max_length": 64, "description": "the title"},
                description="documents",
                consistency_level="Bounded",
                indexes=[VEC_INDEX],
            )
        },
    )

    applied = cli("up", directory=directory)
    plan = cli("plan", "--detailed-exitcode", directory=directory)
    as_json = cli("plan", "--format", "json", "--detailed-exitcode", directory=directory)

    assert applied.exit_code == 0, applied.output
    notes = [line for line in applied.stderr.splitlines() if line.startswith("note: ")]
    assert any("Milvus Lite 3.2.2 does not keep descriptions" in n for n in notes), applied.stderr
    assert any("Milvus Lite 3.2.2 ignores consistency_level" in n for n in notes), applied.stderr
    assert plan.exit_code == 0, plan.output
    assert "No changes: Milvus already matches version 1" in plan.stdout
    assert "note: Milvus Lite 3.2.2 does not keep descriptions; they are not compared" in plan.stdout
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert body["operations"] == [] and len(body["warnings"]) == 2


"""The docs say what the code does: every file-format key is documented, the reference example is valid
(and runs where the doc says it runs), and relative links in the Markdown files resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from milvus_migrate.files import spec
from milvus_migrate.files.loader import fold, load_migrations
from milvus_migrate.planning import capabilities, planner

ROOT = Path(__file__).resolve().parents[2]
FILE_FORMAT = ROOT / "docs" / "file-format.md"


@pytest.mark.parametrize(
    "model", [spec.MigrationFile, spec.CollectionSpec, spec.FieldSpec, spec.FunctionSpec, spec.IndexSpec, spec.LoadSpec]
)
def test_every_key_of_the_file_format_is_documented(model: type) -> None:
    text = FILE_FORMAT.read_text(encoding="utf-8")
    missing = [key for key in model.model_fields if f"| `{key}` |" not in text]
    assert not missing, f"docs/file-format.md has no table row for {model.__name__} keys {missing}"


def test_the_file_format_example_is_valid_and_runs_where_the_doc_says(tmp_path: Path) -> None:
    example = re.search(r"## A complete example\n\n```yaml\n(.*?)```", FILE_FORMAT.read_text(encoding="utf-8"), re.S)
    assert example, "no example block in docs/file-format.md"
    directory = tmp_path / "migrations"
    directory.mkdir()
    # The example drops old_docs, which an earlier version must declare.
    (directory / "0001_old_docs.yaml").write_text(
        "collections:\n  old_docs:\n    fields:\n      - {name: id, type: INT64, is_primary: true}\n"
        "      - {name: v, type: FLOAT_VECTOR, dim: 4}\n"
    )
    (directory / "0002_create_docs.yaml").write_text(example.group(1))
    migration_set = load_migrations(directory)
    desired = fold(migration_set)
    assert desired.collections["docs"].fields[4].dim == 768  # the template's default
    assert planner.refusals_for(desired, capabilities.lite()) == []
    assert planner.refusals_for(desired, capabilities.modern_server("v2.5.4")) == []
    refused = "\n".join(planner.refusals_for(desired, capabilities.server_2_3()))
    for feature in ("SPARSE_FLOAT_VECTOR", "functions", "nullable"):
        assert feature in refused


MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").glob("*/README.md"))]


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    broken = [t for t in targets if not re.match(r"[a-z]+:|#", t) and not (page.parent / t.split("#")[0]).exists()]
    assert not broken, f"{page.relative_to(ROOT)}: links to missing files {broken}"

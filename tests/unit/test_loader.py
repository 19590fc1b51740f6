"""Reading a migrations directory: which files count, how they are named in messages, file-level limits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from milvus_migrate.errors import SpecError
from milvus_migrate.files.loader import MAX_FILE_BYTES, fold, load_migrations

VALID = """\
description: Create the docs collection
collections:
  docs:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: vec, type: FLOAT_VECTOR, dim: 8}
    indexes:
      - {field_name: vec, metric_type: L2}
"""


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def problems_of(directory: Path | str, **kwargs) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_migrations(directory, variables={}, environ={}, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_missing_directory_is_reported(cwd: Path):
    assert problems_of("migrations") == ["migrations: migrations directory not found (use --dir or MILVUS_MIGRATE_DIR)"]


def test_empty_directory_is_an_empty_set(cwd: Path):
    (cwd / "migrations").mkdir()

    migration_set = load_migrations("migrations", variables={}, environ={})

    assert migration_set.migrations == ()
    assert migration_set.latest_version == 0


def test_only_visible_yaml_files_count(cwd: Path):
    (cwd / "0001_init.yaml").write_text(VALID)
    (cwd / "0002_more.yml").write_text(VALID.replace("docs", "more"))
    (cwd / "README.md").write_text("not a migration")
    (cwd / "0003_notes.txt").write_text("{{ broken")
    (cwd / ".0004_hidden.yaml").write_text("{{ broken")

    migration_set = load_migrations(".", variables={}, environ={})

    assert migration_set.versions == [1, 2]
    assert [m.name for m in migration_set.migrations] == ["0001_init", "0002_more"]


def test_versions_are_ordered_numerically_not_by_name(cwd: Path):
    (cwd / "10_ten.yaml").write_text(VALID.replace("docs", "ten"))
    (cwd / "9_nine.yaml").write_text(VALID.replace("docs", "nine"))

    assert load_migrations(".", variables={}, environ={}).versions == [9, 10]


def test_a_directory_named_like_a_migration_is_reported(cwd: Path):
    (cwd / "0001_init.yaml").mkdir()

    assert problems_of(".") == ["0001_init.yaml: not a regular file"]


def test_a_too_large_file_is_reported_without_parsing(cwd: Path):
    (cwd / "0001_big.yaml").write_text("#" * (MAX_FILE_BYTES + 1))

    assert problems_of(".") == [
        f"0001_big.yaml: file is {MAX_FILE_BYTES + 1} bytes; migration files are limited to {MAX_FILE_BYTES}"
    ]


def test_a_template_rendering_too_much_text_is_reported(cwd: Path):
    (cwd / "0001_big.yaml").write_text("{% for i in range(99999) %}# {{ 'x' * 20 }}\n{% endfor %}")

    [problem] = problems_of(".")
    assert problem.startswith("0001_big.yaml: the rendered template is ")
    assert problem.endswith(f" characters; it is limited to {MAX_FILE_BYTES}")


def test_an_empty_file_declares_nothing(cwd: Path):
    (cwd / "0001_empty.yaml").write_text("# nothing yet\n")

    migration_set = load_migrations(".", variables={}, environ={})

    assert fold(migration_set).collections == {}
    assert migration_set.migrations[0].description == ""


def test_migration_records_checksum_and_description(cwd: Path):
    path = cwd / "0001_init.yaml"
    path.write_text(VALID)

    [migration] = load_migrations(".", variables={}, environ={}).migrations

    assert migration.checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert migration.description == "Create the docs collection"
    assert migration.version == 1


def test_checksum_is_of_the_file_not_the_rendering(cwd: Path):
    path = cwd / "0001_init.yaml"
    path.write_text(VALID.replace("dim: 8", "dim: {{ vars.dim }}"))

    first = load_migrations(".", variables={"dim": "8"}, environ={}).migrations[0]
    second = load_migrations(".", variables={"dim": "16"}, environ={}).migrations[0]

    assert first.checksum == second.checksum == hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_are_named_relative_to_the_working_directory(cwd: Path):
    (cwd / "migrations").mkdir()
    (cwd / "migrations" / "0001_init.yaml").write_text(VALID.replace("dim: 8", "dim: 0"))

    assert problems_of("migrations") == ["migrations/0001_init.yaml:6:46: dim must be between 1 and 32768, got 0"]
    assert problems_of(cwd / "migrations") == ["migrations/0001_init.yaml:6:46: dim must be between 1 and 32768, got 0"]


def test_files_outside_the_working_directory_are_named_absolutely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_init.yaml").write_text("collections: 1\n")
    monkeypatch.chdir(tmp_path / "elsewhere")

    assert problems_of(tmp_path / "migrations") == [
        f"{tmp_path / 'migrations' / '0001_init.yaml'}:1:14: collections must be a mapping, not the number 1"
    ]


def test_variables_reach_every_file(cwd: Path):
    (cwd / "0001_a.yaml").write_text(VALID.replace("dim: 8", "dim: {{ vars.dim }}"))
    (cwd / "0002_b.yaml").write_text(VALID.replace("docs", "other").replace("dim: 8", "dim: {{ vars.dim }}"))

    state = fold(load_migrations(".", variables={"dim": "64"}, environ={}))

    assert {name: c.field("vec").dim for name, c in state.collections.items()} == {"docs": 64, "other": 64}


def test_one_bad_file_does_not_hide_problems_of_later_files(cwd: Path):
    (cwd / "0001_a.yaml").write_text("collections: {")
    (cwd / "0002_b.yaml").write_text(VALID.replace("docs", "9docs"))
    (cwd / "0003_c.yaml").write_text("drop_collections: [docs]\n")

    assert problems_of(".") == [
        "0001_a.yaml:1:15: YAML syntax error: expected the node content, but found '<stream end>' "
        "(while parsing a flow node started at line 1, column 15)",
        "0002_b.yaml:3:3: invalid collection name '9docs': use letters, digits and underscores, "
        "starting with a letter or underscore, at most 255 characters",
        "0003_c.yaml:1:20: drop_collections: 'docs' is not declared by an earlier version",
    ]


def test_a_billion_laughs_file_is_refused(cwd: Path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    (cwd / "0001_lol.yaml").write_text("\n".join(lines) + "\n")

    [problem] = problems_of(".")
    assert problem.startswith("0001_lol.yaml:")
    assert "document too large: more than 200000 values (alias expansion?)" in problem


def test_the_same_alias_in_two_versions_of_one_collection_is_fine(cwd: Path):
    (cwd / "0001_a.yaml").write_text(VALID + "    aliases: [live]\n")
    (cwd / "0002_b.yaml").write_text(VALID.replace("dim: 8", "dim: 16") + "    aliases: [live]\n")

    assert fold(load_migrations(".", variables={}, environ={})).alias_targets() == {"live": "docs"}


def test_an_alias_may_move_to_another_collection_once_its_owner_is_dropped(cwd: Path):
    (cwd / "0001_a.yaml").write_text(VALID + "    aliases: [live]\n")
    (cwd / "0002_b.yaml").write_text("drop_collections: [docs]\n" + VALID.replace("docs", "docs_v2").replace("description: Create the docs_v2 collection\n", "") + "    aliases: [live]\n")

    assert fold(load_migrations(".", variables={}, environ={})).alias_targets() == {"live": "docs_v2"}


def test_warnings_of_every_file_are_kept_in_order_and_stop_nothing(cwd: Path):
    (cwd / "migrations").mkdir()
    (cwd / "migrations" / "0002_meta.yaml").write_text(
        VALID.replace("      - {name: vec", "      - {name: meta, type: JSON, max_length: 10}\n      - {name: vec", 1)
    )
    (cwd / "migrations" / "0001_init.yaml").write_text(VALID.replace("metric_type: L2}", "metric_type: L2, params: {nprobe: 8}}"))

    migration_set = load_migrations("migrations", variables={}, environ={})

    assert migration_set.versions == [1, 2]
    assert [(w.file, w.line, w.severity) for w in migration_set.warnings] == [
        ("migrations/0001_init.yaml", 8, "warning"),
        ("migrations/0002_meta.yaml", 6, "warning"),
    ]
    assert str(migration_set.warnings[1]) == (
        "migrations/0002_meta.yaml:6:34: warning: max_length is ignored on JSON fields (Milvus accepts and drops it)"
    )


def test_a_failing_load_still_carries_its_warnings_apart_from_the_problems(cwd: Path):
    (cwd / "migrations").mkdir()
    (cwd / "migrations" / "0001_init.yaml").write_text(
        VALID.replace("dim: 8}", "dim: 8}\n      - {name: meta, type: JSON, max_length: 10}").replace("metric_type: L2", "metric_type: L7")
    )

    with pytest.raises(SpecError) as caught:
        load_migrations("migrations", variables={}, environ={})

    assert [p.severity for p in caught.value.problems] == ["error"]
    assert [str(w) for w in caught.value.warnings] == [
        "migrations/0001_init.yaml:7:34: warning: max_length is ignored on JSON fields (Milvus accepts and drops it)"
    ]
    assert "warning" not in str(caught.value)  # the error text (and its count) is the problems only

"""The pytest plugin, used the way a project's own test suite would use it (run by pytest's pytester)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

DOCS = """
description: docs
collections:
  docs:
    fields:
      - {name: id, type: INT64, is_primary: true}
      - {name: embedding, type: FLOAT_VECTOR, dim: 4}
      - {name: title, type: VARCHAR, max_length: 64}
    indexes:
      - {field_name: embedding, index_type: FLAT, metric_type: L2}
    load: true
"""
PARTITIONED = DOCS.replace("description: docs", "description: partitions").replace("    load: true", "    partitions: [p1]\n    load: true")

USER_TESTS = '''
from pymilvus import MilvusClient
from milvus_migrate.testing import assert_plan_empty, assert_versions_go_up_and_down


def test_app_can_insert_and_search(milvus_db):
    client = MilvusClient(milvus_db)
    client.insert("docs", [{"id": 1, "embedding": [0.1, 0.2, 0.3, 0.4], "title": "hello"}])
    hits = client.search("docs", [[0.1, 0.2, 0.3, 0.4]], limit=1, output_fields=["title"])
    assert hits[0][0]["entity"]["title"] == "hello"
    assert sorted(client.list_partitions("docs")) == ["_default", "p1"]


def test_plan_is_empty_after_the_fixture(milvus_db, milvus_migrations_dir):
    assert_plan_empty(milvus_migrations_dir, uri=milvus_db)


def test_every_version_goes_up_and_down(milvus_migrations_dir):
    assert_versions_go_up_and_down(milvus_migrations_dir)
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: db/migrations with two versions, the ini option pointing at them, a test file."""
    migrations = pytester.mkdir("db").joinpath("migrations")
    migrations.mkdir()
    (migrations / "0001_docs.yaml").write_text(DOCS)
    (migrations / "0002_partitions.yaml").write_text(PARTITIONED)
    pytester.makeini("[pytest]\nmilvus_migrate_dir = db/migrations\n")
    pytester.makepyfile(test_app=USER_TESTS)
    return pytester


def test_a_users_suite_gets_a_migrated_database_and_the_assertions(project):
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_assert_plan_empty_fails_naming_the_difference(project):
    # A hand-made collection in the fixture's database makes `plan` non-empty: the assertion says so.
    project.makepyfile(
        test_app="""
from pymilvus import MilvusClient
from milvus_migrate.testing import assert_plan_empty


def test_drifted(milvus_db, milvus_migrations_dir):
    MilvusClient(milvus_db).create_partition("docs", "by_hand")
    assert_plan_empty(milvus_migrations_dir, uri=milvus_db)
"""
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*milvus-migrate plan is not empty*", "*drop partition by_hand of docs*"])

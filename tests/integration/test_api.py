"""The Python API: the commands as functions returning typed results and raising the tool's exceptions."""

from __future__ import annotations

import pytest

from milvus_migrate import aio, api
from milvus_migrate.errors import DataLossRefused, OutOfOrderMigration
from tests.integration.conftest import V1, V2

pytestmark = pytest.mark.integration


def _connection(backend) -> dict:
    return {"uri": backend.uri, "db_name": backend.db_name, "timeout": 60}


def test_plan_up_status_history_as_functions(backend, tmp_migrations):
    directory = tmp_migrations("0001_docs.yaml", V1, "0002_alias.yaml", V2)

    planned = api.plan(directory, **_connection(backend))
    report = api.up(directory, **_connection(backend))
    status = api.status(directory, **_connection(backend))
    records = api.history(directory, **_connection(backend))

    assert [s.version for s in planned.steps] == [1, 2] and not planned.is_empty
    assert [r.step.version for r in report.steps] == [1, 2] and report.final_version == 2
    assert [[op.op for op in r.step.plan.ops] for r in report.steps] == [[op.op for op in s.plan.ops] for s in planned.steps]
    assert (status.current_version, status.pending, status.drift, status.up_to_date) == (2, [], [], True)
    assert [(r.version, r.direction.value) for r in records] == [(1, "up"), (2, "up")]
    assert backend.aliases("docs") == ["docs_live"]
    assert api.plan(directory, **_connection(backend)).is_empty


def test_errors_are_the_tools_own_with_data(backend, tmp_migrations):
    directory = tmp_migrations("0001_docs.yaml", V1, "0003_alias.yaml", V2)
    api.up(directory, **_connection(backend))
    (directory / "0002_late.yaml").write_text(V1)

    with pytest.raises(OutOfOrderMigration) as late:
        api.plan(directory, **_connection(backend))
    (directory / "0002_late.yaml").unlink()
    with pytest.raises(DataLossRefused) as refused:
        api.down(directory, to=0, **_connection(backend))

    assert late.value.current == 3 and late.value.files[0][1] == 2
    assert refused.value.descriptions == [
        "drop partition p2025 of docs (ITS DATA): no longer declared",  # step 3 → 1
        "drop collection docs (ALL ITS DATA): no longer declared",  # step 1 → 0
    ]
    assert backend.collections() == ["docs"]


async def test_async_twins_run_in_an_application_event_loop(backend, tmp_migrations):
    directory = tmp_migrations("0001_docs.yaml", V1)

    report = await aio.up(directory, **_connection(backend))
    status = await aio.status(directory, **_connection(backend))

    assert report.final_version == 1 and status.up_to_date
    with pytest.raises(RuntimeError, match="await the same function from milvus_migrate.aio"):
        api.status(directory, **_connection(backend))


def test_the_api_leaves_the_applications_logging_alone(backend, tmp_migrations):
    import logging

    from milvus_migrate.milvus.connection import import_pymilvus

    import_pymilvus()  # pymilvus sets its own logger's level when first imported; an application configures after
    directory = tmp_migrations("0001_docs.yaml", V1)
    names = ("asyncio", "milvus_lite", "pymilvus")
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        for name in names:  # an application's own choice (in-process CLI tests earlier may have quieted them)
            logging.getLogger(name).setLevel(logging.INFO)
        api.up(directory, **_connection(backend))
        api.status(directory, **_connection(backend))
        assert {name: logging.getLogger(name).level for name in names} == dict.fromkeys(names, logging.INFO)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)

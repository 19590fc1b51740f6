"""Connection settings: TLS options reach pymilvus; secrets never reach text."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from milvus_migrate.config import ConnectionSettings, redact, redact_uri
from milvus_migrate.milvus.connection import _client_kwargs


def test_tls_options_are_passed_to_pymilvus():
    settings = ConnectionSettings(
        uri="https://milvus.example:19530", token=SecretStr("root:pw"), db_name="prod", secure=True,
        server_name="milvus.example", ca_pem_path="/ca.pem", client_pem_path="/client.pem", client_key_path="/client.key",
    )  # fmt: skip
    assert _client_kwargs(settings) == {
        "uri": "https://milvus.example:19530", "timeout": 120.0, "token": "root:pw", "db_name": "prod", "secure": True,
        "server_name": "milvus.example", "ca_pem_path": "/ca.pem", "client_pem_path": "/client.pem",
        "client_key_path": "/client.key",
    }  # fmt: skip


def test_repr_and_display_hide_secrets():
    settings = ConnectionSettings(uri="http://alice:hunter2@db:19530?token=abc", token=SecretStr("alice:hunter2"))
    assert "hunter2" not in repr(settings)
    assert settings.display_uri == "http://***@db:19530?token=***"
    assert settings.scrub("failed for alice:hunter2 at http://alice:hunter2@db") == "failed for *** at http://***@db"


def test_local_paths_are_lite_and_shown_as_given():
    assert ConnectionSettings(uri="./milvus.db").is_lite
    assert not ConnectionSettings(uri="http://localhost:19530").is_lite
    assert redact_uri("./milvus.db") == "./milvus.db"


LONG_RANDOM = "x7Qp-2vL~9zR+kT4/mW8=eY1"
ORDINARY = "Error: cannot connect to Milvus at http://db:19530: Fail connecting to server on db:19530, root user"


@pytest.mark.parametrize("password", ["o", "Milvus", LONG_RANDOM])
def test_redaction_removes_whole_tokens_and_keeps_ordinary_words(password):
    token = f"root:{password}"
    settings = ConnectionSettings(uri=f"http://root:{password}@db:19530", token=SecretStr(token))
    foreign = (
        f"{ORDINARY}; sent token {token}, uri http://root:{password}@db:19530/x?token={password}&a=1, "
        f"password={password} {{'password': '{password}'}} Authorization: Basic cm9vdDpNaWx2dXM= {token}."
    )
    shown = settings.scrub(foreign)
    assert shown == (
        f"{ORDINARY}; sent token ***, uri http://***@db:19530/x?token=***&a=1, "
        "password=*** {'password': '***'} Authorization: Basic *** ***."
    )
    assert settings.scrub(ORDINARY) == ORDINARY  # no word of the tool's own text is touched, whatever the password


def test_redact_is_the_one_function_behind_display_uri_and_scrub():
    assert redact_uri("http://u:p@host:19530/db?token=t&x=1") == redact("http://u:p@host:19530/db?token=t&x=1")
    assert redact("connect root:pw@host:19530 failed") == "connect ***@host:19530 failed"
    assert redact("api_key=abc123, 12:30, ns:name") == "api_key=***, 12:30, ns:name"
    assert redact("the token abc123def is invalid", ["abc123def"]) == "the token *** is invalid"
    assert redact("xabc123def abc123defx", ["abc123def"]) == "xabc123def abc123defx"  # never inside a longer token


def test_only_the_tools_expected_refusals_are_kept_out_of_pymilvus_error_logs():
    import logging

    from milvus_migrate.milvus.connection import expected_failure

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("pymilvus.decorators")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.ERROR  # in-process CLI tests quiet the pymilvus parent logger
    try:
        with expected_failure():
            logger.error("RPC error: [describe_collection] collection 'maybe' does not exist")
        logger.error("RPC error: [insert] the application's own failure")
    finally:
        logger.removeHandler(handler)
        logger.level = level
    assert seen == ["RPC error: [insert] the application's own failure"]

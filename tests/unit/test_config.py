"""Connection settings: TLS options reach pymilvus; secrets never reach text."""

from __future__ import annotations

from pydantic import SecretStr

from milvus_migrate.config import ConnectionSettings, redact_uri
from milvus_migrate.connection import _client_kwargs


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

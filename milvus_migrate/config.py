"""Connection settings, and redaction of secrets from anything shown to a user."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

DEFAULT_URI = "./milvus.db"
DEFAULT_HISTORY_COLLECTION = "milvus_migrate_history"


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and how to reach Milvus; `token` never appears in repr or output."""

    uri: str = field(default=DEFAULT_URI, repr=False)  # may hold user:password; repr shows display_uri
    token: SecretStr = field(default_factory=lambda: SecretStr(""))
    db_name: str = "default"
    timeout: float = 120.0
    secure: bool = False
    server_name: str | None = None
    server_pem_path: str | None = None
    ca_pem_path: str | None = None
    client_pem_path: str | None = None
    client_key_path: str | None = None

    def __repr__(self) -> str:
        return f"ConnectionSettings(uri={self.display_uri!r}, db_name={self.db_name!r}, secure={self.secure})"

    @property
    def is_lite(self) -> bool:
        """A local file path (Milvus Lite) rather than a server address."""
        return not re.match(r"^[a-z][a-z0-9+.-]*://", self.uri, re.I)

    @property
    def display_uri(self) -> str:
        return redact_uri(self.uri)

    def secrets(self) -> list[str]:
        """Every secret these settings carry, for scrubbing text before it is shown."""
        found = [self.token.get_secret_value()]
        parts = urlsplit(self.uri) if not self.is_lite else None
        if parts and parts.password:
            found.append(parts.password)
            found.append(f"{parts.username}:{parts.password}")
        if ":" in found[0]:
            found.extend(found[0].split(":", 1)[1:])  # user:password tokens
        return [s for s in found if s]

    def scrub(self, text: str) -> str:
        """`text` with every secret of these settings replaced by '***'."""
        for secret in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def redact_uri(uri: str) -> str:
    """The URI without user info or secret-looking query parameters."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<invalid uri>"
    if not parts.scheme or not parts.netloc:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username or parts.password:
        host = f"***@{host}"
    query = re.sub(r"(?i)(token|password|secret|key)=[^&]*", r"\1=***", parts.query)
    return urlunsplit((parts.scheme, host, parts.path, query, ""))

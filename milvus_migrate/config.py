"""Connection settings, and redaction of secrets from anything shown to a user."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

DEFAULT_URI = "./milvus.db"
DEFAULT_HISTORY_COLLECTION = "milvus_migrate_history"
# Collections read or changed at once. Loads dominate `up` (about 3 s each on 2.3.5 however many run at
# once), so up's time is about ceil(N / concurrency) loads: 16 made `up` of 50 collections 10.6x faster
# than a sequential script where 8 made it 6.9x (benchmarks/README.md, 2026-12-01); 32 was faster still on
# empty collections, but real loads cost the query nodes memory and I/O.
DEFAULT_CONCURRENCY = 16


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
        """Every secret these settings carry, for redact()."""
        return secrets_of(self.uri, self.token.get_secret_value())

    def scrub(self, text: str) -> str:
        """`text` (from pymilvus or gRPC) with the secrets of these settings removed: redact(text, self.secrets())."""
        return redact(text, self.secrets())


def redact_uri(uri: str) -> str:
    """The URI as shown to a user: no user info, no secret query parameters."""
    try:
        urlsplit(uri)
    except ValueError:
        return "<invalid uri>"
    return redact(uri)


def secrets_of(uri: str, token: str) -> list[str]:
    """The exact strings that must never be shown: the token, and the user:password of the URI."""
    found = [token]
    try:
        parts = urlsplit(uri)
        if parts.scheme and parts.password is not None:
            found.append(f"{parts.username}:{parts.password}")
    except ValueError:
        pass
    # pymilvus sends user:password as a base64 Authorization header; gRPC debug output may show it.
    found += [base64.b64encode(s.encode()).decode() for s in found if s]
    return sorted({s for s in found if s}, key=len, reverse=True)


# Structural rules: each removes a whole secret-bearing token and leaves every other word as it was.
# Substring replacement garbled ordinary words (password 'o': 'cann***t') and revealed short passwords
# ('cannot connect to *** at' for root:Milvus), so a bare password is never searched for on its own.
# http://user:pw@host; up to the first '@' of the word, since a password may hold an unencoded '/' or '?'
_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^\s@]*@", re.I)
_BARE_USERINFO = re.compile(r"(?<![\w.%+:-])[^\s/?#@:'\"]+:[^\s/?#@'\"]*@(?=[\w\[])")  # user:pw@host
_KEY_VALUE = re.compile(  # password=x, token=x, "token": "x", 'password': 'x'
    r"(?P<key>\b(?:password|passwd|pwd|token|secret|api[_-]?key)\b(?:=|['\"]\s*:\s*))(?P<quote>['\"]?)"
    r"(?P<value>[^\s'\"&,;)}\]]+)",
    re.I,
)
_AUTH_HEADER = re.compile(r"(?P<key>\bauthorization['\"]?\s*[:=,]\s*['\"]?(?:basic|bearer)\s+)[^\s'\",)]+", re.I)
_TOKEN_CHARS = r"\w~+/=%:.@-"  # what a secret may be glued to and still be one larger token
MASK = "***"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with secrets removed as whole tokens; the one redaction function of the tool.

    Removes URI user info (`http://***@host`), `password=`/`token=` values, Authorization headers,
    and each of `secrets` (exact strings such as a token or user:password) where it stands as a whole
    token, never inside an ordinary word.
    """
    text = _USERINFO.sub(rf"\g<scheme>{MASK}@", text)
    text = _BARE_USERINFO.sub(f"{MASK}@", text)
    text = _KEY_VALUE.sub(rf"\g<key>\g<quote>{MASK}", text)
    text = _AUTH_HEADER.sub(rf"\g<key>{MASK}", text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            # A trailing '.' or ':' ends a sentence or a label; followed by a word character it is part of the token.
            pattern = rf"(?<![{_TOKEN_CHARS}]){re.escape(secret)}(?![\w~+/=%@-]|[.:]\w)"
            text = re.sub(pattern, MASK, text)
    return text

"""milvus-migrate: versioned, declarative schema migrations for Milvus."""

__version__ = "0.1.0"

# The Python API, named after the commands (synchronous; milvus_migrate.aio has the coroutines).
from milvus_migrate.api import down, history, plan, status, up  # noqa: E402  (after __version__, which they report)

__all__ = ["__version__", "down", "history", "plan", "status", "up"]

"""milvus-migrate: versioned, declarative schema migrations for Milvus."""

__version__ = "0.1.0"

"""`milvus-migrate new`: write the next migration file, optionally pre-filled with a collection's declaration."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from milvus_migrate.errors import MigrateError
from milvus_migrate.files import loader
from milvus_migrate.files.spec import json_schema

SCHEMA_FILE = "milvus-migrate.schema.json"

# Commented out whole, keys included, so that removing the leading '# ' of every line gives a valid file
# (a `collections: {}` above indented comments became a YAML error once uncommented).
_EXAMPLE = """\
# collections:
#   docs:
#     fields:
#       - {name: id, type: INT64, is_primary: true}
#       - {name: embedding, type: FLOAT_VECTOR, dim: 768}
#     indexes:
#       - {field_name: embedding, index_type: HNSW, metric_type: COSINE, params: {M: 16, efConstruction: 200}}
#     load: true
# drop_collections: []  # names of collections declared by earlier versions
"""


def slugify(message: str) -> str:
    """'Add title index!' -> 'add_title_index'."""
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")
    return slug[:60] or "migration"


def write_next(directory: Path, message: str, collections: list[str], variables: dict[str, str]) -> Path:
    """Create the next version's file and the JSON Schema beside it; returns the new file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    has_files = any(p.suffix in (".yaml", ".yml") for p in directory.iterdir())
    migration_set = loader.load_migrations(directory, variables) if has_files else None
    version = (migration_set.latest_version if migration_set else 0) + 1
    width = max(4, len(str(version)))
    path = directory / f"{version:0{width}d}_{slugify(message)}.yaml"
    body = [f"# yaml-language-server: $schema=./{SCHEMA_FILE}", f"description: {json.dumps(message)}"]
    declarations = {}
    for name in collections:
        spec = loader.collection_at(migration_set, name) if migration_set else None
        if spec is None:
            raise MigrateError(f"collection {name!r} is not declared by any migration in {directory}")
        declarations[name] = spec.model_dump(mode="json", exclude_defaults=True)
    if declarations:
        body.append(yaml.safe_dump({"collections": declarations}, sort_keys=False, default_flow_style=None, width=120).rstrip())
    else:
        body.append(_EXAMPLE.rstrip())
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    write_schema(directory)
    return path


def write_schema(directory: Path) -> Path:
    """Write (or refresh) the JSON Schema that migration files in `directory` point editors at."""
    path = directory / SCHEMA_FILE
    path.write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
    return path

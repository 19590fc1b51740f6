"""Migration files on disk → rendered, parsed, validated MigrationSet; fold(set, to=N) → declared State."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from milvus_migrate.errors import Problem, SpecError, describe_value, did_you_mean
from milvus_migrate.files import positions, rules, templating
from milvus_migrate.files.spec import (
    CollectionSpec,
    FieldSpec,
    FunctionSpec,
    IndexSpec,
    LoadSpec,
    MigrationFile,
)
from milvus_migrate.planning.state import State

FILE_NAME = re.compile(r"^(?P<version>\d+)_(?P<slug>[A-Za-z0-9][A-Za-z0-9_\-]*)\.ya?ml$")
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Migration:
    """One parsed, valid migration file."""

    version: int
    name: str
    path: Path
    checksum: str
    spec: MigrationFile

    @property
    def description(self) -> str:
        return self.spec.description


@dataclass(frozen=True)
class MigrationSet:
    """All migration files of a directory, in version order, with the warnings validating them raised."""

    directory: Path
    migrations: tuple[Migration, ...]
    # Located, like problems, but nothing stops for them: str() reads "FILE:LINE:COL: warning: …".
    warnings: tuple[Problem, ...] = ()

    @property
    def latest_version(self) -> int:
        return self.migrations[-1].version if self.migrations else 0

    @property
    def versions(self) -> list[int]:
        return [m.version for m in self.migrations]

    def get(self, version: int) -> Migration | None:
        """The migration with this version, if any."""
        return next((m for m in self.migrations if m.version == version), None)

    def managed_collections(self) -> set[str]:
        """Every collection name any file declares or drops: the only ones the tool may touch."""
        names: set[str] = set()
        for m in self.migrations:
            names.update(m.spec.collections)
            names.update(m.spec.drop_collections)
        return names

    def declared_aliases(self) -> set[str]:
        """Every alias any file declares (introspect checks who owns them in Milvus)."""
        return {a for m in self.migrations for c in m.spec.collections.values() for a in c.aliases}


def load_migrations(
    directory: Path | str,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> MigrationSet:
    """Read, render, parse and validate every migration file; raise SpecError listing every problem."""
    directory = Path(directory)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    entries = _migration_paths(directory, problems)
    by_version: dict[int, list[Path]] = {}
    for path in entries:
        match = FILE_NAME.match(path.name)
        if match is None:
            problems.append(
                Problem(display_path(path), 0, 0, "file name must look like NNNN_slug.yaml (e.g. 0001_create_docs.yaml)")
            )
            continue
        by_version.setdefault(int(match["version"]), []).append(path)
    for version, paths in by_version.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            problems.extend(Problem(display_path(p), 0, 0, f"version {version} is used by more than one file: {names}") for p in paths)

    parsed: list[tuple[Migration, positions.Positions]] = []
    for version in sorted(by_version):
        for path in by_version[version]:
            loaded = _load_file(path, version, variables or {}, environ, problems, warnings)
            if loaded is not None:
                parsed.append(loaded)
    problems.extend(_check_history_of_names(parsed))
    if problems:
        raise SpecError(problems, warnings)
    return MigrationSet(directory, tuple(m for m, _ in parsed), tuple(sorted(warnings)))


def fold(migration_set: MigrationSet, to: int | None = None) -> State:
    """The declared state at version `to` (default: latest): files 1..to applied in order; 0 is empty."""
    target = migration_set.latest_version if to is None else to
    collections = {}
    for migration in migration_set.migrations:
        if migration.version > target:
            break
        for name in migration.spec.drop_collections:
            collections.pop(name, None)
        for name, spec in migration.spec.collections.items():
            collections[name] = spec.to_state(name)
    return State(collections=collections)


def collection_at(migration_set: MigrationSet, name: str, to: int | None = None) -> CollectionSpec | None:
    """The declaration of collection `name` as of version `to` (default latest), for scaffolding."""
    found = None
    for migration in migration_set.migrations:
        if to is not None and migration.version > to:
            break
        if name in migration.spec.drop_collections:
            found = None
        found = migration.spec.collections.get(name, found)
    return found


def _migration_paths(directory: Path, problems: list[Problem]) -> list[Path]:
    shown = display_path(directory)
    try:
        if directory.is_symlink() and not directory.exists():
            problems.append(Problem(shown, 0, 0, "migrations directory is a dangling symbolic link or a symbolic link loop"))
            return []
        if not directory.is_dir():
            problems.append(Problem(shown, 0, 0, "migrations directory not found (use --dir or MILVUS_MIGRATE_DIR)"))
            return []
        return sorted(
            p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
        )
    except OSError as exc:
        problems.append(Problem(shown, 0, 0, f"cannot read the migrations directory: {exc.strerror or exc}"))
        return []


def _load_file(
    path: Path,
    version: int,
    variables: Mapping[str, str],
    environ: Mapping[str, str] | None,
    problems: list[Problem],
    warnings: list[Problem],
) -> tuple[Migration, positions.Positions] | None:
    shown = display_path(path)
    try:
        if not path.is_file():
            problems.append(Problem(shown, 0, 0, "not a regular file"))
            return None
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(shown, 0, 0, f"cannot read file: {exc.strerror or exc}"))
        return None
    if len(raw) > MAX_FILE_BYTES:
        problems.append(Problem(shown, 0, 0, f"file is {len(raw)} bytes; migration files are limited to {MAX_FILE_BYTES}"))
        return None
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.append(Problem(shown, line, col, f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})"))
        return None
    try:
        rendered = templating.render(source, shown, variables, environ)
    except templating.RenderError as exc:
        problems.append(Problem(shown, exc.problem.line, exc.problem.col, exc.problem.message))
        return None
    if len(rendered) > MAX_FILE_BYTES:
        problems.append(Problem(shown, 0, 0, f"the rendered template is {len(rendered)} characters; it is limited to {MAX_FILE_BYTES}"))
        return None
    line_map = positions.LineMap(source, rendered)
    try:
        data, where = positions.parse(rendered, line_map)
    except positions.YamlProblem as exc:
        problems.append(Problem(shown, exc.line, exc.col, exc.message))
        return None
    except RecursionError:
        problems.append(Problem(shown, 1, 1, "YAML nested too deeply"))
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(Problem(shown, 1, 1, "a migration file must be a mapping (with 'collections' and/or 'drop_collections')"))
        return None
    try:
        spec = MigrationFile.model_validate(data)
    except pydantic.ValidationError as exc:
        problems.extend(Problem(shown, *where.locate(loc, at_key), msg) for loc, at_key, msg in _explain(exc, data))
        return None
    found = rules.check_file(spec)
    file_problems = [p for p in found if not p.warning]
    problems.extend(Problem(shown, *where.locate(p.path, p.at_key), p.message) for p in file_problems)
    warnings.extend(Problem(shown, *where.locate(p.path, p.at_key), p.message, "warning") for p in found if p.warning)
    if file_problems:
        return None
    migration = Migration(version, path.stem, path, hashlib.sha256(raw).hexdigest(), spec)
    return migration, where


def _check_history_of_names(parsed: list[tuple[Migration, positions.Positions]]) -> list[Problem]:
    """Checks that span files: drops name something declared earlier; aliases unique at every version."""
    problems = []
    declared: dict[str, Any] = {}
    for migration, where in parsed:
        shown = display_path(migration.path)
        for i, name in enumerate(migration.spec.drop_collections):
            path = ("drop_collections", i)
            if name in migration.spec.collections:
                problems.append(Problem(shown, *where.locate(path), f"collection {name!r} is both declared and dropped in this file"))
            elif name not in declared:
                hint = did_you_mean(name, declared)
                problems.append(
                    Problem(shown, *where.locate(path), f"drop_collections: {name!r} is not declared by an earlier version{hint}")
                )
            declared.pop(name, None)
        declared.update(migration.spec.collections)
        owners: dict[str, str] = {}
        for name, spec in declared.items():
            for alias in spec.aliases:
                owners.setdefault(alias, name)
        for name, spec in migration.spec.collections.items():
            for i, alias in enumerate(spec.aliases):
                path = ("collections", name, "aliases", i)
                if alias in declared:
                    problems.append(Problem(shown, *where.locate(path), f"alias {alias!r} is also the name of a collection"))
                elif owners.get(alias, name) != name:
                    problems.append(
                        Problem(shown, *where.locate(path), f"alias {alias!r} already points at collection {owners[alias]!r}")
                    )
    return problems


_MODEL_AT = {
    (): MigrationFile,
    ("collections", "*"): CollectionSpec,
    ("collections", "*", "fields", "#"): FieldSpec,
    ("collections", "*", "functions", "#"): FunctionSpec,
    ("collections", "*", "indexes", "#"): IndexSpec,
    ("collections", "*", "load"): LoadSpec,
}
_TYPE_WORDS = {
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "none_required": "empty",
}


def _explain(exc: pydantic.ValidationError, data: Any) -> list[tuple[tuple, bool, str]]:
    """pydantic errors → (data path, point at key?, message), with union alternatives merged."""
    grouped: dict[tuple, list[dict]] = {}
    for error in exc.errors():
        grouped.setdefault(_data_path(error["loc"], data), []).append(error)
    # A union whose member failed deeper (e.g. load.replica_number) explains itself there.
    ancestors = {q[:depth] for q in grouped for depth in range(len(q))}
    deepest = [p for p in grouped if p not in ancestors]
    out = []
    for path in deepest:
        errors = grouped[path]
        key = path[-1] if path else None
        label = f"{key}" if isinstance(key, str) else (f"item {key}" if key is not None else "file")
        first = errors[0]
        if first["type"] == "invalid_key" or first["loc"][-1:] == ("[key]",):
            out.append((path, True, f"key {key!r} must be a string (put it in quotes)"))
        elif first["type"] == "extra_forbidden":
            allowed = _allowed_keys(path[:-1])
            out.append((path, True, f"unknown key {key!r}{did_you_mean(str(key), allowed)}"))
        elif first["type"] == "missing":
            out.append((path[:-1], True, f"missing required key {key!r}"))
        elif first["type"] == "literal_error":
            expected = first["ctx"]["expected"]
            hint = did_you_mean(str(first["input"]), re.findall(r"'([^']+)'", expected))
            out.append((path, False, f"{label}: {first['input']!r} is not one of {expected}{hint}"))
        elif first["type"] == "too_short":
            out.append((path, False, f"{label} must not be empty"))
        elif all(e["type"] in _TYPE_WORDS for e in errors):
            words = list(dict.fromkeys(_TYPE_WORDS[e["type"]] for e in errors))
            out.append((path, False, f"{label} must be {' or '.join(words)}, not {describe_value(errors[0]['input'])}"))
        else:
            out.append((path, False, f"{label}: {first['msg']}"))
    return out


def _data_path(loc: tuple, data: Any) -> tuple:
    # pydantic puts union member names ('bool', 'LoadSpec', …) into loc; keep only real keys and indexes.
    path, node = [], data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part in (keys := {str(k): k for k in node}):
            path.append(keys[part])  # a non-string key (null, true) that pydantic reports as text
            node = node[keys[part]]
        elif isinstance(node, dict) and isinstance(part, str) and not _is_union_tag(part):
            path.append(part)  # a missing key: the path still names it
            node = None
    return tuple(path)


def _is_union_tag(part: str) -> bool:
    return part in ("bool", "int", "float", "str", "LoadSpec", "none") or "[" in part


def _allowed_keys(path: tuple) -> list[str]:
    shape = tuple("#" if isinstance(p, int) else p for p in path)
    shape = tuple("*" if i == 1 and shape[:1] == ("collections",) else p for i, p in enumerate(shape))
    model = _MODEL_AT.get(shape)
    return list(model.model_fields) if model else []


def display_path(path: Path) -> str:
    # Paths relative to the working directory when inside it (as a user types them), else absolute.
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)

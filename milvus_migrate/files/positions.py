"""YAML parsing that remembers where every key and value sat in the original file."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[Any, ...]
_SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
# Aliases are shared nodes: a "billion laughs" file expands exponentially if constructed naively.
MAX_NODES = 200_000


class YamlProblem(Exception):
    """A YAML problem at a 1-based (line, col) of the parsed text."""

    def __init__(self, line: int, col: int, message: str):
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


@dataclass
class Positions:
    """Where each path's key and value start in the source file, 1-based."""

    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path, at_key: bool = False) -> tuple[int, int]:
        """The position of `path` (its key when at_key), or of its nearest located ancestor."""
        for depth in range(len(path), -1, -1):
            prefix = tuple(path[:depth])
            table = self.keys if (at_key or depth < len(path)) and prefix in self.keys else self.values
            if prefix in table:
                return table[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)


def parse(text: str, line_map: LineMap) -> tuple[Any, Positions]:
    """Parse one YAML document safely, returning plain data and the source positions of its parts."""
    node = _compose_fast(text)
    if node is None:
        node = _compose(text, line_map)
    positions = Positions()
    if node is None:
        return None, positions
    # The constructor of plain scalars (ints, floats, bools, timestamps): the same whichever parser composed.
    constructor = yaml.SafeLoader("")
    try:
        data = _Builder(constructor, line_map, positions).build(node, ())
    finally:
        constructor.dispose()
    return data, positions


# libyaml composes about ten times faster than pure-Python PyYAML, with the same node marks (measured on
# the 1,400-line N=200 benchmark file: 8,005 nodes, identical lines and columns); its error messages are
# poorer, so any problem is parsed again by the pure-Python loader, which reports it.
_CLoader = getattr(yaml, "CSafeLoader", None)


def _compose_fast(text: str) -> Any:
    """The document's node composed by libyaml; None when libyaml is missing or the text has any problem."""
    if _CLoader is None:
        return None
    loader = _CLoader(text)
    try:
        node = loader.get_single_node()
    except Exception:
        return None  # _compose parses it again and says what is wrong, where
    finally:
        loader.dispose()
    return node


def _compose(text: str, line_map: LineMap) -> Any:
    """The document's node composed by pure-Python PyYAML, or a YamlProblem naming the line and column."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character (e.g. NUL) YAML does not accept
        at = max(exc.position, 0)
        line, col = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        raise YamlProblem(*line_map.source(line, col), f"YAML does not allow the character #x{exc.character:04x} here") from None
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = line_map.source(mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.problem == "but found another document":
            message = "YAML syntax error: a second document ('---') was found; a migration file holds exactly one"
        elif exc.problem and exc.context and exc.context_mark:
            # e.g. an unclosed '[' is only noticed lines later: say where the construct began.
            ctx_line, ctx_col = line_map.source(exc.context_mark.line + 1, exc.context_mark.column + 1)
            message += f" ({exc.context} started at line {ctx_line}, column {ctx_col})"
        raise YamlProblem(line, col, message) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, 1, f"YAML error: {exc}") from None
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, line_map: LineMap, positions: Positions):
        self.loader, self.line_map, self.positions, self.count = loader, line_map, positions, 0

    def where(self, node: yaml.Node, text: str | None = None) -> tuple[int, int]:
        return self.line_map.source(node.start_mark.line + 1, node.start_mark.column + 1, text)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(*self.where(node), f"document too large: more than {MAX_NODES} values (alias expansion?)")
        self.positions.values.setdefault(path, self.where(node, _scalar_text(node)))
        if node.tag not in _SAFE_TAGS:
            raise YamlProblem(*self.where(node), f"YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')!r} is not allowed (only plain data)")
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem(*self.where(key_node), "YAML merge keys ('<<') are not supported")
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SAFE_TAGS:
                    raise YamlProblem(*self.where(key_node), "mapping keys must be plain scalars")
                key = self.scalar(key_node)
                if key in result:
                    raise YamlProblem(*self.where(key_node, str(key)), f"duplicate key {key!r}")
                self.positions.keys[path + (key,)] = self.where(key_node, str(key))
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # a date is only ever meant as text here (e.g. a partition named 2025-01-01)
        return self.loader.construct_object(node, deep=True)


def _scalar_text(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and node.value else None


class LineMap:
    """Maps a position in the rendered template back to the original file.

    Expressions (`{{ … }}`) keep the line structure, so lines map one to one; block tags (`{% … %}`)
    may add or remove lines, so lines are then matched by content.
    """

    def __init__(self, source: str, rendered: str):
        self.source_lines = source.splitlines()
        self.rendered_lines = rendered.splitlines()
        self.mapping: dict[int, int] | None = None
        if len(self.source_lines) != len(self.rendered_lines):
            self.mapping = {}
            matcher = difflib.SequenceMatcher(a=self.rendered_lines, b=self.source_lines, autojunk=False)
            for block in matcher.get_matching_blocks():
                for k in range(block.size):
                    self.mapping[block.a + k + 1] = block.b + k + 1
            self._map_generated_lines()

    def _map_generated_lines(self) -> None:
        # Lines a loop repeats (or a block tag shifted) are not matched verbatim: map each to the source
        # line it equals, or whose template it fits, nearest at or after the previous mapped line.
        assert self.mapping is not None
        matched = set(self.mapping.values())
        templated = {
            i: _literal_parts(text)
            for i, text in enumerate(self.source_lines, 1)
            if i not in matched and ("{{" in text or "{%" in text or "{#" in text)
        }
        by_text: dict[str, int] = {}
        for i, text in enumerate(self.source_lines, 1):
            by_text.setdefault(text, i)
        count, window, budget = len(self.source_lines), 64, 1_000_000

        def fits(i: int, text: str) -> bool:
            return self.source_lines[i - 1] == text or (i in templated and _fits(templated[i], text))

        previous = 1
        for r, text in enumerate(self.rendered_lines, 1):
            if r in self.mapping:
                previous = self.mapping[r]
                continue
            nearby = [*range(previous, min(previous + window, count) + 1), *range(previous - 1, max(previous - window, 1) - 1, -1)]
            found = next((i for i in nearby if fits(i, text)), None)
            if found is None and budget > 0:  # far away (rare): look through the whole file, within a budget
                budget -= len(templated)
                found = by_text.get(text) or next((i for i in templated if _fits(templated[i], text)), None)
            if found is not None:
                self.mapping[r] = previous = found

    def source(self, line: int, col: int, text: str | None = None) -> tuple[int, int]:
        """Source (line, col) for a rendered (line, col); `text`, if given, is what stands there."""
        src_line = line
        if self.mapping is not None:
            src_line = self.mapping.get(line, 0)
            if not src_line:
                earlier = [r for r in self.mapping if r <= line]
                src_line = self.mapping[max(earlier)] if earlier else 1
        rendered = self.rendered_lines[line - 1] if 0 < line <= len(self.rendered_lines) else ""
        original = self.source_lines[src_line - 1] if 0 < src_line <= len(self.source_lines) else ""
        if rendered == original:
            return src_line, col
        # Text before the first template expression is unchanged: the column is the same there
        # (e.g. `dim: {{ vars.dim }}` -> `dim: 7`: the key and the start of the value stay put).
        same = len(os.path.commonprefix([rendered, original]))
        if col - 1 <= same:
            return src_line, col
        if text:
            found = original.find(text, same)
            if found >= 0:
                return src_line, found + 1
        # The value came out of a template expression: point at the expression.
        tag = re.compile(r"\{\{|\{%")
        expr = tag.search(original, max(same - 1, 0)) or tag.search(original)
        return src_line, (expr.start() + 1) if expr else min(col, max(len(original), 1))


def _literal_parts(line: str) -> list[str]:
    """The text around a source line's template tags (each tag may render to anything)."""
    parts = re.split(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", line)
    return parts if "".join(parts).strip() else [""]  # a line of tags only: matches nothing but blank lines


def _fits(parts: list[str], text: str) -> bool:
    """Whether `text` is what a line with these literal parts could render to (a '*' glob; linear time)."""
    if len(parts) == 1:
        return text == parts[0] or (not parts[0] and not text.strip())
    first, *middle, last = parts
    if not (text.startswith(first) and text.endswith(last) and len(first) + len(last) <= len(text)):
        return False
    at, end = len(first), len(text) - len(last)
    for part in middle:
        found = text.find(part, at, end)
        if found < 0:
            return False
        at = found + len(part)
    return True

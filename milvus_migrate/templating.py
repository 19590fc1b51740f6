"""Render a migration file as a sandboxed Jinja2 template (env, vars; undefined names are errors)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENVIRONMENT = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)


@dataclass(frozen=True)
class TemplateProblem:
    """A Jinja error at a place in the source text (1-based line and column)."""

    line: int
    col: int
    message: str


def render(source: str, name: str, variables: Mapping[str, str], environ: Mapping[str, str] | None = None) -> str:
    """The rendered text of `source`; raises TemplateProblem-carrying RenderError on any Jinja error."""
    context = {"env": dict(os.environ if environ is None else environ), "vars": dict(variables)}
    try:
        template = _ENVIRONMENT.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        line = exc.lineno or 1
        raise RenderError(TemplateProblem(line, _first_tag_column(source, line), f"template syntax error: {exc.message}")) from None
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        line = _template_line(exc) or 1
        message = exc.message or "undefined value"
        raise RenderError(TemplateProblem(line, _column_of_name(source, line, message), f"template error: {_describe_undefined(message)}")) from None
    except jinja2.TemplateError as exc:  # SecurityError and the rest
        line = _template_line(exc) or 1
        raise RenderError(TemplateProblem(line, _first_tag_column(source, line), f"template error: {exc.message or exc}")) from None
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError, MemoryError, OverflowError) as exc:
        # Errors raised by filters and expressions (e.g. `{{ 1/0 }}`, `{{ "x" | int(base=99) }}`).
        line = _template_line(exc) or 1
        raise RenderError(TemplateProblem(line, _first_tag_column(source, line), f"template error: {type(exc).__name__}: {exc}")) from None


class RenderError(Exception):
    """Raised by render(); `problem` says where in the source and what."""

    def __init__(self, problem: TemplateProblem):
        super().__init__(problem.message)
        self.problem = problem


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so that frames of the template carry its line numbers (filename "<template>").
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _first_tag_column(source: str, line: int) -> int:
    text = _line_text(source, line)
    found = [i for i in (text.find("{{"), text.find("{%")) if i >= 0]
    return (min(found) + 1) if found else 1


def _column_of_name(source: str, line: int, message: str) -> int:
    text = _line_text(source, line)
    for name in re.findall(r"'([^']+)'", message):
        match = re.search(rf"\b{re.escape(name)}\b", text)
        if match:
            return match.start() + 1
    return _first_tag_column(source, line)


def _describe_undefined(message: str) -> str:
    if "has no attribute" in message and ("'dict object'" in message):
        key = re.findall(r"'([^']+)'", message)[-1]
        return f"{key!r} is not defined (pass it with --var {key}=VALUE, or use | default(...))"
    return message


def _line_text(source: str, line: int) -> str:
    lines = source.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""

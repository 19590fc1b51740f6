"""Render a migration file as a sandboxed Jinja2 template (env, vars; undefined names are errors)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import jinja2
import jinja2.runtime
import jinja2.sandbox
from jinja2.sandbox import ImmutableSandboxedEnvironment

# A template may build text, not exhaust memory: `'x' * 10**10` or `10 ** 10**10` is refused.
MAX_PRODUCT_SIZE = 1024 * 1024


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def call(self, __context: jinja2.runtime.Context, __obj: object, *args: object, **kwargs: object) -> object:
        # `'x'.center(10**9)`, `lipsum(10**6)`: any call taking a huge number builds a huge value.
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_PRODUCT_SIZE:
                raise jinja2.sandbox.SecurityError(f"a call with the number {value} would build too large a value")
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: object, right: object) -> object:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_PRODUCT_SIZE:
                    raise jinja2.sandbox.SecurityError(f"'*' would build a value of more than {MAX_PRODUCT_SIZE} items")
        elif operator == "%":
            widths = re.findall(r"%[-+ #0]*(\d+)", left) if isinstance(left, str) else []
            if any(int(w) > MAX_PRODUCT_SIZE for w in widths):
                raise jinja2.sandbox.SecurityError("'%' would build a value that is too large")
        elif isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            if right * max(abs(left), 2).bit_length() > 8 * MAX_PRODUCT_SIZE:
                raise jinja2.sandbox.SecurityError("'**' would build a number that is too large")
        return super().call_binop(context, operator, left, right)


_ENVIRONMENT = _Sandbox(
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
    except (RecursionError, SyntaxError, MemoryError):
        # Jinja compiles to Python: very deep nesting overflows its parser or Python's compiler.
        raise RenderError(TemplateProblem(1, 1, "template error: the template is nested too deeply")) from None
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        line = _template_line(exc) or 1
        message = exc.message or "undefined value"
        described = _describe_undefined(message, _line_text(source, line))
        raise RenderError(TemplateProblem(line, _column_of_name(source, line, message), f"template error: {described}")) from None
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
    # Look inside the template tags only: in `dim: {{ vars.dim }}` the name is the second 'dim'.
    tags = [m.span() for m in re.finditer(r"\{\{.*?(?:\}\}|$)|\{%.*?(?:%\}|$)", text)] or [(0, len(text))]
    for name in re.findall(r"'([^']+)'", message):
        for start, end in tags:
            match = re.compile(rf"\b{re.escape(name)}\b").search(text, start, end)
            if match:
                return match.start() + 1
    return _first_tag_column(source, line)


def _describe_undefined(message: str, line_text: str = "") -> str:
    if "has no attribute" in message and ("'dict object'" in message):
        key = re.findall(r"'([^']+)'", message)[-1]
        if re.search(rf"\benv\s*(?:\.\s*{re.escape(key)}\b|\[\s*['\"]{re.escape(key)}['\"])", line_text):
            return f"environment variable {key} is not set (set it, or use | default(...))"
        return f"{key!r} is not defined (pass it with --var {key}=VALUE, or use | default(...))"
    if message.endswith("is undefined"):
        return f"{message} (the template variables are 'env' and 'vars')"
    return message


def _line_text(source: str, line: int) -> str:
    lines = source.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""

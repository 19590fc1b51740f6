"""Plans and status as text or markdown (Jinja2 templates shipped in the package) or JSON."""

from __future__ import annotations

import json
from typing import Any

import jinja2

from milvus_migrate.evolution import owner_of
from milvus_migrate.ops import Plan

_COLOURS = {"add": "\x1b[32m", "remove": "\x1b[31m", "change": "\x1b[33m", "loud": "\x1b[1;31m", "dim": "\x1b[2m"}
_RESET = "\x1b[0m"


def _environment(colour: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("milvus_migrate", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["colour"] = (lambda text, name: f"{_COLOURS[name]}{text}{_RESET}") if colour else (lambda text, name: text)
    env.filters["md"] = lambda text: str(text).replace("|", "\\|")
    return env


_KIND = {"+": "add", "-": "remove", "~": "change"}


def plan_context(plan: Plan) -> dict[str, Any]:
    """Plain data the plan templates see."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for op in plan.ops:
        # A copy's shadow and backup are listed under their collection, in the order the steps run.
        groups.setdefault(owner_of(op.collection_name), []).append(
            {
                "op": op.op,
                "marker": op.category.value,
                "kind": _KIND[op.category.value],
                "text": op.describe(),
                "reason": op.reason,
                "destructive": op.destructive,
            }
        )
    return {
        "plan": plan.to_json(),
        "groups": dict(sorted(groups.items())),
        "destructive": [op.describe() for op in plan.destructive_ops],
        "warnings": list(plan.warnings),
    }


def render_plan(plan: Plan, fmt: str = "text", colour: bool = False) -> str:
    """The plan as 'text', 'markdown' or 'json'."""
    if fmt == "json":
        return json.dumps(plan.to_json(), indent=2) + "\n"
    template = "plan.md.j2" if fmt == "markdown" else "plan.txt.j2"
    return _environment(colour).get_template(template).render(plan_context(plan))


def render_template(name: str, context: dict[str, Any], colour: bool = False) -> str:
    """Any other shipped template (status, history) with plain data."""
    return _environment(colour).get_template(name).render(context)

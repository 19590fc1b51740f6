"""Plans and status as text or markdown (Jinja2 templates shipped in the package) or JSON."""

from __future__ import annotations

import json
from typing import Any

import jinja2

from milvus_migrate.planning.evolution import owner_of
from milvus_migrate.planning.ops import Direction
from milvus_migrate.planning.runplan import RunPlan, Step

_COLOURS = {"add": "\x1b[32m", "remove": "\x1b[31m", "change": "\x1b[33m", "loud": "\x1b[1;31m", "dim": "\x1b[2m", "title": "\x1b[1m"}
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
_VERB = {Direction.UP: "apply", Direction.DOWN: "revert", Direction.RECONCILE: "repair drift at"}


def _step_context(step: Step) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for op in step.plan.ops:
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
    title = f"{step.name} — {step.description}" if step.description else step.name
    return {
        "title": title,
        "verb": _VERB[step.direction],
        "from_version": step.from_version,
        "to_version": step.to_version,
        "changes": len(step.plan.ops),
        "groups": dict(sorted(groups.items())),
    }


def plan_context(run: RunPlan) -> dict[str, Any]:
    """Plain data the plan templates see."""
    return {
        "plan": run.to_json(),
        "steps": [_step_context(step) for step in run.steps],
        "destructive": [op.describe() for op in run.destructive_ops],
        "warnings": list(run.warnings),
        "recovery": [{"collection": s.collection, "text": s.describe()} for s in run.recovery],
    }


def render_plan(run: RunPlan, fmt: str = "text", colour: bool = False) -> str:
    """The run plan as 'text', 'markdown' or 'json'."""
    if fmt == "json":
        return json.dumps(run.to_json(), indent=2) + "\n"
    template = "plan.md.j2" if fmt == "markdown" else "plan.txt.j2"
    return _environment(colour).get_template(template).render(plan_context(run))


def render_history(records: list[dict[str, Any]]) -> str:
    """History records as an aligned table with a header, oldest first."""
    if not records:
        return "No history: no migration has been applied to this database.\n"
    header = ("#", "APPLIED AT", "DIRECTION", "FILE", "VERSION", "DURATION", "BY", "SHA256", "TOOL")
    rows = [
        (
            str(r["seq"]), r["applied_at"], r["direction"], r["name"], f"→ {r['current_version']}",
            f"{r['duration_ms']} ms", r["applied_by"], (r["checksum"] or "-")[:12], r["tool_version"],
        )
        for r in records
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in (header, *rows)]
    return "\n".join(lines) + "\n"


def render_template(name: str, context: dict[str, Any], colour: bool = False) -> str:
    """Any other shipped template (status) with plain data."""
    return _environment(colour).get_template(name).render(context)

"""The CLI reference (docs/cli.md), generated from the click commands: `python -m milvus_migrate.clidoc > docs/cli.md`.

Not imported by the CLI (`--help` stays fast); tests/unit/test_clidoc.py fails when docs/cli.md differs.
Option lines are click's own help records, so the reference says exactly what `--help` says.
"""

from __future__ import annotations

import inspect
import sys

import click

from milvus_migrate.cli import main as cli_main

REGENERATE = "python -m milvus_migrate.clidoc > docs/cli.md"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _command(name: str, command: click.Command, parent: click.Context) -> list[str]:
    ctx = click.Context(command, info_name=name, parent=parent)
    lines = [f"## `{name}`", "", "```", f"{ctx.command_path} {' '.join(command.collect_usage_pieces(ctx))}", "```", ""]
    if command.help:
        lines += [inspect.cleandoc(command.help), ""]
    # Options only: click 8.5 also gives arguments a help record, which the line above the table names.
    records = [(p, p.get_help_record(ctx)) for p in command.get_params(ctx) if isinstance(p, click.Option)]
    arguments = [p for p in command.get_params(ctx) if isinstance(p, click.Argument)]
    if arguments:
        lines += ["Arguments: " + ", ".join(f"`{p.make_metavar(ctx)}`" for p in arguments) + ".", ""]
    options = [record for _, record in records if record is not None]
    if options:
        lines += ["| option | description |", "|---|---|"]
        lines += [f"| `{_cell(opts)}` | {_cell(help_text)} |" for opts, help_text in options]
        lines.append("")
    return lines


def render(group: click.Group = cli_main, prog_name: str = "milvus-migrate") -> str:
    """docs/cli.md as Markdown: the group's help, then every command's usage, help and options."""
    ctx = click.Context(group, info_name=prog_name, **group.context_settings)
    lines = [
        "# CLI reference",
        "",
        f"<!-- Generated from the click commands by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "```",
        f"{prog_name} {' '.join(group.collect_usage_pieces(ctx))}",
        "```",
        "",
        inspect.cleandoc(group.help or ""),
        "",
        "| option | description |",
        "|---|---|",
    ]
    for param in group.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None:
            lines.append(f"| `{_cell(record[0])}` | {_cell(record[1])} |")
    lines += ["", "Commands: " + ", ".join(f"[`{n}`](#{n})" for n in group.list_commands(ctx)) + ".", ""]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            lines += _command(name, command, ctx)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())

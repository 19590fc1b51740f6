"""docs/cli.md is generated from the click commands and must match them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from milvus_migrate import clidoc

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_matches_the_commands() -> None:
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == clidoc.render(), f"docs/cli.md is out of date with the CLI; regenerate it: {clidoc.REGENERATE}"


def test_cli_reference_lists_every_command_and_option() -> None:
    text = clidoc.render()
    for name, command in clidoc.cli_main.commands.items():
        assert f"## `{name}`" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                assert opt in text, f"{opt} of {name} missing"
    assert "| `--uri TEXT` | Milvus URI, or a local .db file for Milvus Lite" in text


def test_the_cli_does_not_import_the_generator() -> None:
    code = "import sys, milvus_migrate.cli; print('milvus_migrate.clidoc' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"

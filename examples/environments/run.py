"""Per-environment configuration: the same migrations on a Milvus Lite file (dev) and on a server (prod).

    python examples/environments/run.py                                   # dev only
    python examples/environments/run.py --prod-uri http://localhost:19530 --prod-db-name default

Runs the CLI the way a developer and a CI job would, from a copy of this directory (the working directory
is where milvus-migrate.toml is found), and shows which target each command worked on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def milvus_migrate(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a subprocess; prints what it said, fails loudly on an unexpected exit code."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_URI", "MILVUS_TOKEN", "MILVUS_MIGRATE_"))}
    full_env.update(env or {})
    done = subprocess.run([sys.executable, "-m", "milvus_migrate", *args], cwd=cwd, env=full_env, capture_output=True, text=True)
    print(f"$ milvus-migrate {' '.join(args)}  (exit {done.returncode})")
    for line in done.stderr.splitlines():
        if line.startswith("Target: "):
            print(f"  {line}")
    if done.returncode not in (0, 2):
        sys.exit(done.stdout + done.stderr)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prod-uri", help="a Milvus server for the prod environment (overrides the file's uri)")
    parser.add_argument("--prod-db-name", default="default")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mm-environments-") as scratch:
        project = Path(scratch) / "project"
        shutil.copytree(HERE, project, ignore=shutil.ignore_patterns("*.db", "__pycache__", "run.py"))

        milvus_migrate("--env", "dev", "up", cwd=project)
        dev = json.loads(milvus_migrate("--env", "dev", "status", "--format", "json", cwd=project).stdout)
        print(f"dev: version {dev['current_version']}, up to date: {dev['up_to_date']}, dev.db exists: {(project / 'dev.db').exists()}")

        missing = subprocess.run(
            [sys.executable, "-m", "milvus_migrate", "--env", "prod", "status"], cwd=project, capture_output=True, text=True,
            env={k: v for k, v in os.environ.items() if k != "MILVUS_PROD_TOKEN"},
        )  # fmt: skip
        print(f"prod without MILVUS_PROD_TOKEN: exit {missing.returncode}: {missing.stderr.strip().splitlines()[-1]}")

        if args.prod_uri:
            prod_env = {"MILVUS_PROD_TOKEN": "root:Milvus", "MILVUS_URI": args.prod_uri}  # the variable outranks the file
            milvus_migrate("--env", "prod", "up", "--db-name", args.prod_db_name, cwd=project, env=prod_env)
            prod = json.loads(
                milvus_migrate("--env", "prod", "status", "--format", "json", "--db-name", args.prod_db_name, cwd=project, env=prod_env).stdout
            )
            print(f"prod: version {prod['current_version']}, up to date: {prod['up_to_date']}, backend: {prod['backend']}")


if __name__ == "__main__":
    main()

"""examples/github-actions: the workflows parse, and their shell steps run against Milvus Lite.

Each `run:` step (but `pip install`) is executed as GitHub runs it (`bash -eo pipefail`), in a
checkout of this repository's migrations/, with the workflow's env (secrets replaced by a Lite file) and
`milvus-migrate` on PATH as a wrapper that logs every invocation with its exit code. `uses:` steps are
simulated: the artefact moves from the pull-request checkout to the deploy checkout; `gh` is a stub that
records its arguments (and names a workflow run when asked for one). The "production" database starts at version 1 of migrations/, so the pull request
has version 2 pending.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "examples" / "github-actions"


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


class Runner:
    """Runs a workflow's milvus-migrate steps in a directory, logging each milvus-migrate call."""

    def __init__(self, tmp: Path, database: Path):
        self.bin = tmp / "bin"
        self.bin.mkdir()
        self.log = tmp / "calls.log"
        self.gh_log = tmp / "gh.log"
        self.database = database
        wrapper = self.bin / "milvus-migrate"
        wrapper.write_text(
            "#!/bin/bash\n"
            f"{shlex.quote(sys.executable)} -m milvus_migrate \"$@\"\n"
            "code=$?\n"
            f'echo "$code $*" >> {shlex.quote(str(self.log))}\n'
            'exit "$code"\n'
        )
        gh = self.bin / "gh"
        gh.write_text(
            f'#!/bin/bash\necho "$*" >> {shlex.quote(str(self.gh_log))}\n'
            'if [ "$1 $2" = "run list" ]; then echo 4242; fi\n'
        )
        for script in (wrapper, gh):
            script.chmod(0o755)

    def env(self, workflow: dict[str, Any], step: dict[str, Any]) -> dict[str, str]:
        (job,) = workflow["jobs"].values()
        declared = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
        # What GitHub would put into each ${{ … }}; a new secret in a workflow makes this fail loudly.
        github = {
            "MILVUS_URI": str(self.database),
            "MILVUS_TOKEN": "",
            "GH_TOKEN": "not-a-token",
            "PR_NUMBER": "7",
            "HEAD_SHA": "0" * 40,
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("MILVUS")}
        for key, value in declared.items():
            env[key] = github[key] if "${{" in str(value) else str(value)
        env["GITHUB_OUTPUT"] = str(self.bin.parent / "github_output")
        env["PATH"] = f"{self.bin}{os.pathsep}{env['PATH']}"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        return env

    def run_steps(self, workflow: dict[str, Any], cwd: Path) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
        results = []
        for step in _steps(workflow):
            if "run" not in step or step["run"].startswith("pip install"):
                continue
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=cwd, env=self.env(workflow, step), capture_output=True, text=True, timeout=240,
            )  # fmt: skip
            results.append((step["name"], done))
            if done.returncode != 0:
                break  # GitHub skips the rest of the job
        return results

    def calls(self) -> list[tuple[int, str]]:
        """(exit code, arguments) of every milvus-migrate call so far."""
        if not self.log.exists():
            return []
        return [(int(code), args) for code, _, args in (line.partition(" ") for line in self.log.read_text().splitlines())]


def _checkout(tmp: Path, name: str) -> Path:
    checkout = tmp / name
    shutil.copytree(ROOT / "migrations", checkout / "migrations")
    return checkout


def _production_at_version_1(tmp: Path) -> Path:
    database = tmp / "production.db"
    setup = subprocess.run(
        [sys.executable, "-m", "milvus_migrate", "up", "--to", "1", "--uri", str(database), "--dir", str(ROOT / "migrations")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    return database


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    if shutil.which("jq") is None:
        pytest.skip(reason="the pull-request workflow's gate uses jq (preinstalled on GitHub's runners), not installed here")
    return Runner(tmp_path, _production_at_version_1(tmp_path))


def test_workflows_parse_and_hand_the_plan_artefact_from_review_to_deploy() -> None:
    review, deploy = _load("pull-request.yml"), _load("deploy.yml")
    uploads = [s for s in _steps(review) if s.get("uses", "").startswith("actions/upload-artifact@")]
    downloads = [s for s in _steps(deploy) if s.get("uses", "").startswith("actions/download-artifact@")]
    assert len(uploads) == 1 and "plan.json" in uploads[0]["with"]["path"]
    assert len(downloads) == 1 and downloads[0]["with"]["name"] == uploads[0]["with"]["name"]
    # PyYAML reads the `on:` key as True (YAML 1.1); both triggers are pull-request events.
    assert "pull_request" in review[True] and deploy[True]["pull_request"]["types"] == ["closed"]
    commands = [s["run"] for s in _steps(review) + _steps(deploy) if "milvus-migrate" in s.get("run", "")]
    assert any("plan --format markdown --out plan.json" in c for c in commands)
    assert any("status --check" in c for c in commands)
    assert any("up --plan plan.json" in c for c in commands)


def test_review_then_deploy_applies_exactly_the_reviewed_plan(runner: Runner, tmp_path: Path) -> None:
    review_checkout = _checkout(tmp_path, "review")
    for name, done in runner.run_steps(_load("pull-request.yml"), review_checkout):
        assert done.returncode == 0, f"step {name!r} failed:\n{done.stdout}{done.stderr}"
    # The gate tolerated exactly one exit 2: status --check with version 2 pending.
    assert [(code, args.split()[0]) for code, args in runner.calls()] == [(0, "validate"), (2, "status"), (0, "plan")]
    status = json.loads((review_checkout / "status.json").read_text())
    assert status["current_version"] == 1 and status["pending"] == [2]
    comment = (review_checkout / "plan.md").read_text()
    assert "Apply `0002_add_partitions_and_alias" in comment and "my_collection_live" in comment, comment
    assert runner.gh_log.read_text().splitlines() == ["pr comment 7 --body-file plan.md --edit-last"]
    saved = json.loads((review_checkout / "plan.json").read_text())
    assert saved["format"] == "milvus-migrate-plan/1"

    # download-artifact: the reviewed plan lands in the deploy job's checkout.
    deploy_checkout = _checkout(tmp_path, "deploy")
    shutil.copy(review_checkout / "plan.json", deploy_checkout / "plan.json")
    for name, done in runner.run_steps(_load("deploy.yml"), deploy_checkout):
        assert done.returncode == 0, f"step {name!r} failed:\n{done.stdout}{done.stderr}"
    assert [(code, args.split()[0]) for code, args in runner.calls()[3:]] == [(0, "up"), (0, "status"), (0, "history")]
    applied = json.loads((deploy_checkout / "applied.json").read_text())
    assert applied["ok"] is True and applied["final_version"] == 2
    assert [s["version"] for s in applied["steps"]] == [2]

    assert "run_id=4242" in (tmp_path / "github_output").read_text()

    # The same artefact again is stale (the history moved): the apply step fails and changes nothing.
    again = runner.run_steps(_load("deploy.yml"), deploy_checkout)[-1][1]
    assert again.returncode == 1
    assert "the plan is stale" in again.stderr, again.stderr


def test_review_gate_fails_when_the_database_drifted(runner: Runner, tmp_path: Path) -> None:
    # Someone changed production by hand (in another process: Milvus Lite allows one per file).
    script = f"from pymilvus import MilvusClient; MilvusClient(uri={str(runner.database)!r}).drop_index('my_collection', 'text')"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, env={k: v for k, v in os.environ.items() if k != "MILVUS_URI"})
    review_checkout = _checkout(tmp_path, "review")
    results = dict(runner.run_steps(_load("pull-request.yml"), review_checkout))
    gate = results["Gate on the database's state"]
    assert gate.returncode == 1
    assert "::error::the database needs attention" in gate.stdout and "drifted from version 1" in gate.stdout, gate.stdout


def test_milvus_uri_variable_may_name_a_lite_file(tmp_path: Path) -> None:
    # Regression: pymilvus parses MILVUS_URI at import and refused a file path ("Illegal uri"), so the
    # workflows' env (and the README's MILVUS_URI) failed on Milvus Lite.
    env = {**os.environ, "MILVUS_URI": str(tmp_path / "lite.db"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "milvus_migrate", "status", "--dir", str(ROOT / "migrations")],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "is at version 0 of 2" in done.stdout, done.stdout

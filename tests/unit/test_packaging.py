"""The package as published: declared dependency bounds hold for what the tests run on, one version source,
and a built wheel installs into a fresh virtualenv and runs."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import milvus_migrate

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
requirements = pytest.importorskip("packaging.requirements", reason="packaging is in the test extra")

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_tested_versions_satisfy_the_declared_bounds() -> None:
    outside = []
    for line in PROJECT["project"]["dependencies"]:
        requirement = requirements.Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        installed = importlib.metadata.version(requirement.name)
        if not requirement.specifier.contains(installed, prereleases=True):
            outside.append(f"{requirement.name} {installed} is outside {requirement.specifier}")
    assert not outside, "the suite runs on versions pyproject.toml excludes: " + "; ".join(outside)


def test_pymilvus_bound_starts_at_the_api_the_code_uses() -> None:
    # AsyncMilvusClient and the 3.x client API (e.g. list_aliases returning a protobuf container) are what
    # introspect.py and executor.py are written and tested against.
    (pymilvus,) = [requirements.Requirement(d) for d in PROJECT["project"]["dependencies"] if d.startswith("pymilvus")]
    assert not pymilvus.specifier.contains("2.6.0") and pymilvus.specifier.contains("3.0.2")


def test_the_version_has_one_source() -> None:
    assert "version" not in PROJECT["project"] and "version" in PROJECT["project"]["dynamic"]
    assert PROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "milvus_migrate.__version__"}
    assert "py.typed" in PROJECT["tool"]["setuptools"]["package-data"]["milvus_migrate"]


@pytest.mark.timeout(240)
def test_the_built_wheel_installs_and_runs(tmp_path: Path) -> None:
    # Built from a copy: setuptools writes build/ and *.egg-info next to the sources, and an egg-info on
    # PYTHONPATH would make the source tree look installed. pip builds in an isolated environment;
    # setuptools comes from the configured index (a local one here).
    source = tmp_path / "source"
    shutil.copytree(ROOT / "milvus_migrate", source / "milvus_migrate", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MILVUS_URI")}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(tmp_path / "dist"), "-q"],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("milvus_migrate-*.whl")
    assert wheel.name.startswith(f"milvus_migrate-{milvus_migrate.__version__}-py3-none-any")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("milvus_migrate/py.typed", "milvus_migrate/templates/plan.md.j2", "milvus_migrate/templates/status.txt.j2"):
        assert expected in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names), names

    # A fresh venv with the wheel; its dependencies come from this interpreter's site-packages through a
    # .pth line (which, unlike --system-site-packages, does not run the editable install's path hooks).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, timeout=120, env=env,
    )  # fmt: skip
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    Path(purelib, "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    version = subprocess.run([str(venv / "bin" / "milvus-migrate"), "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"milvus-migrate, version {milvus_migrate.__version__}"
    where = subprocess.run([str(python), "-c", "import milvus_migrate; print(milvus_migrate.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)  # fmt: skip
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    validate = subprocess.run(
        [str(venv / "bin" / "milvus-migrate"), "validate", "--dir", str(ROOT / "examples" / "hybrid-rag" / "migrations")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert validate.returncode == 0 and "3 migration files valid" in validate.stdout, validate.stdout + validate.stderr

"""The package, pip-installed into a bare environment (no TensorFlow, no torch), runs quick mode.

This is what Colab's `%pip install "catsdogs-helpers @ git+..."` relies on: every package that
helpers/ imports must be declared in pyproject.toml, or the first `get_dataset()` stops with a
bare ModuleNotFoundError. The environment is made from scratch and the package installed from a
copy of this checkout (not editable), so nothing of the development environment leaks in.
pip reaches PyPI for the dependencies; its cache (~/.cache/pip) makes later runs quick.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import setup

pytestmark = pytest.mark.slow

QUICK_RUN = """
import importlib.util, json, sys
import helpers
from helpers.data import get_dataset
from helpers.results import machine_info

dataset = get_dataset(progress=False)
print(json.dumps({
    "helpers": helpers.__file__,
    "frameworks": [name for name in ("tensorflow", "torch", "keras") if importlib.util.find_spec(name)],
    "name": dataset.name, "counts": dataset.counts(), "skipped": dataset.report["skipped"],
    "near_duplicate_groups": dataset.report["near_duplicates"]["groups"],
    "blas": "blas" in machine_info(),
}))
"""


def _run(command, **kwargs):
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command[:4]} exit {result.returncode}\nSTDOUT:\n{result.stdout[-3000:]}\nSTDERR:\n{result.stderr[-5000:]}"
    return result


def test_pip_installed_package_runs_quick_mode_without_the_frameworks(tmp_path):
    source = tmp_path / "checkout"
    for name in ("helpers", "lessons", "records"):
        shutil.copytree(setup.PROJECT_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(setup.PROJECT_ROOT / "pyproject.toml", source / "pyproject.toml")

    environment = tmp_path / "bare"
    _run([sys.executable, "-m", "venv", environment], timeout=300)
    python = environment / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith("CATSDOGS_") and key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    _run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q", source], env=clean, cwd=tmp_path, timeout=1500)

    run = tmp_path / "run"  # not the checkout: `import helpers` must find the installed copy
    run.mkdir()
    result = _run([python, "-c", QUICK_RUN], cwd=run, timeout=600,
                  env={**clean, "CATSDOGS_QUICK": "1", "CATSDOGS_DATA": str(tmp_path / "data")})
    found = json.loads(result.stdout.strip().splitlines()[-1])

    assert Path(found["helpers"]).is_relative_to(environment)
    assert found["frameworks"] == []
    assert found["name"] == "synthetic" and found["skipped"] > 0  # quick mode's planted bad files were found
    assert min(found["counts"].values()) > 0
    assert (tmp_path / "data" / "clean" / "synthetic" / "report.json").is_file()
    assert found["blas"]  # threadpoolctl came with the package

"""helpers.setup: quick mode, seeds, project paths, the environment line."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from conftest import run_in_fresh_python

from helpers import setup


def test_seed_everything_makes_python_and_numpy_repeat():
    assert setup.seed_everything(3) == 3
    first = (random.random(), np.random.rand())
    setup.seed_everything(3)
    assert (random.random(), np.random.rand()) == first


def test_environment_report_is_one_line_with_versions_and_mode():
    report = setup.environment_report()
    assert "\n" not in report
    assert report.startswith("Python ") and "numpy" in report and "CPUs" in report
    assert ("QUICK mode" in report) == setup.QUICK and ("full mode" in report) != setup.QUICK


def _in_fresh_python(code: str, **env) -> str:
    return run_in_fresh_python(code, timeout=120, env=env).stdout.strip()


@pytest.mark.parametrize("value, quick", [("1", "True"), ("yes", "True"), ("0", "False"), ("", "False")])
def test_quick_mode_from_the_environment(value, quick):
    assert _in_fresh_python("from helpers import QUICK; print(QUICK)", CATSDOGS_QUICK=value) == quick


def test_project_root_is_the_checkout_or_catsdogs_root(tmp_path, monkeypatch):
    monkeypatch.delenv("CATSDOGS_ROOT", raising=False)
    checkout = setup._find_project_root()
    assert checkout == Path(setup.__file__).resolve().parent.parent and (checkout / "notebooks").is_dir()
    assert setup.DATA_DIR == setup.PROJECT_ROOT / "data"
    printed = _in_fresh_python("from helpers import setup; print(setup.DATA_DIR)", CATSDOGS_ROOT=str(tmp_path))
    assert printed == str(tmp_path.resolve() / "data")


def test_no_framework_is_imported_by_the_helpers():
    code = ("import sys, helpers, helpers.data, helpers.caches, helpers.plots, helpers.results, helpers.download; "
            "print(sorted(m for m in ('tensorflow', 'torch', 'keras') if m in sys.modules))")
    assert _in_fresh_python(code) == "[]"

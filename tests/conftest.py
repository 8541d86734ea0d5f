"""Shared fixtures: an isolated data folder, the synthetic photos, the real shared photos."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from helpers import setup

SHARED_DATA = setup.PROJECT_ROOT.parent / "shared" / "data"

# TF 2.20/2.21's oneDNN backward of a 1x1 stride-2 convolution with few channels corrupts the heap
# (docs/measurements.md, notebook 05: the crash and its post-mortem). The variable only counts when it is set before TensorFlow
# loads, so it is set here, when pytest reads this file: before any test or fixture (including
# one a test file defines for itself) can import TensorFlow. Subprocesses inherit it.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "shared_data" in item.keywords and not SHARED_DATA.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"real photos not present at {SHARED_DATA}"))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real photos not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def project_dirs(tmp_path, monkeypatch) -> Path:
    """Point data/, images/ and results at a temporary folder for one test."""
    monkeypatch.setattr(setup, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(setup, "IMAGES_DIR", tmp_path / "images")
    monkeypatch.setattr(setup, "RESULTS_DIR", tmp_path / "data" / "results")
    monkeypatch.setattr(setup, "MODELS_DIR", tmp_path / "data" / "models")
    return tmp_path


@pytest.fixture(scope="session")
def synthetic_pets(tmp_path_factory):
    """A synthetic PetImages folder (+ zip) with every kind of bad file planted; read-only by convention."""
    from helpers.synthetic import make_synthetic_pets

    return make_synthetic_pets(tmp_path_factory.mktemp("pets"), n_per_class=40, make_zip=True)


def run_in_fresh_python(code: str, timeout: int = 600, env: dict | None = None):
    """Run code in a new interpreter (TensorFlow and torch may not share a process)."""
    import subprocess

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"exit {result.returncode}\nSTDOUT:\n{result.stdout[-3000:]}\nSTDERR:\n{result.stderr[-5000:]}"
    return result


@pytest.fixture(autouse=True)
def _tensorflow_stays_in_its_own_session(request):
    """A test that imports TensorFlow must be marked `tensorflow` (Makefile runs those in a
    pytest process of their own): otherwise a later torch import in the same process crashes."""
    had_tensorflow = "tensorflow" in sys.modules
    yield
    if not had_tensorflow and "tensorflow" in sys.modules and "tensorflow" not in request.keywords:
        pytest.fail(f"{request.node.nodeid} imported TensorFlow but is not marked @pytest.mark.tensorflow")


@pytest.fixture(scope="module")
def keras():
    """Keras (and TensorFlow) imported when a test runs, never at collection: the pytest process
    that runs the torch tests (`-m "not tensorflow"`) collects these files too, and TensorFlow
    followed by torch in one process crashes."""
    return pytest.importorskip("keras")  # TF_ENABLE_ONEDNN_OPTS is set at the top of this file

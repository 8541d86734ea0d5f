"""helpers.setup: quick mode, seeds, project paths, the environment line."""
from __future__ import annotations

import os
import platform
import random
import subprocess
import sys
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


def test_seed_everything_leaves_pythonhashseed_alone(monkeypatch):
    """Python reads PYTHONHASHSEED only at start-up: setting it later would only pretend."""
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    setup.seed_everything(5)
    assert "PYTHONHASHSEED" not in __import__("os").environ


@pytest.fixture
def fake_colab(tmp_path, monkeypatch, project_dirs):
    """google.colab.drive replaced by a local folder: mount() makes <mount point>/MyDrive."""
    import sys
    import types

    mounted = []

    def mount(mount_point):
        (Path(mount_point) / "MyDrive").mkdir(parents=True, exist_ok=True)
        mounted.append(mount_point)

    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mount)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(setup, "IS_COLAB", True)
    # setenv first, so that monkeypatch remembers the variable was unset and removes what
    # use_google_drive sets (delenv of an absent variable records nothing to undo)
    monkeypatch.setenv(setup.DATA_ENV, "")
    monkeypatch.delenv(setup.DATA_ENV)
    for name in ("DATA_DIR", "RESULTS_DIR", "MODELS_DIR"):
        monkeypatch.setattr(setup, name, getattr(setup, name))
    return tmp_path / "drive", mounted


def test_google_drive_holds_data_for_the_whole_series(fake_colab, monkeypatch, capsys):
    from helpers.data import get_dataset
    from helpers.results import record_results

    mount_point, mounted = fake_colab
    data_dir = setup.use_google_drive(mount_point=str(mount_point))
    assert mounted == [str(mount_point)]
    assert data_dir == mount_point / "MyDrive" / "cats-vs-dogs" / "data" and data_dir.is_dir()
    assert (setup.DATA_DIR, setup.RESULTS_DIR, setup.MODELS_DIR) == (data_dir, data_dir / "results", data_dir / "models")
    assert __import__("os").environ[setup.DATA_ENV] == str(data_dir)  # a script the notebook starts agrees
    assert "Google Drive" in capsys.readouterr().out

    monkeypatch.delenv("CATSDOGS_IMAGES", raising=False)
    monkeypatch.setattr("helpers.data.synthetic_source.__defaults__", (6,))
    dataset = get_dataset(quick=True, progress=False)  # what every notebook's first data cell does
    assert dataset.folder == data_dir / "clean" / "synthetic"
    metrics = {"dataset": dataset.name, **dataset.counts(), "train_accuracy": None, "test_accuracy": None}
    assert record_results("00_get_the_data", metrics).parent == data_dir / "results"


def test_google_drive_outside_colab_changes_nothing(project_dirs, monkeypatch):
    monkeypatch.setattr(setup, "IS_COLAB", False)
    monkeypatch.delenv(setup.DATA_ENV, raising=False)
    before = setup.DATA_DIR
    assert setup.use_google_drive() is None
    assert setup.DATA_DIR == before and setup.DATA_ENV not in __import__("os").environ


def test_catsdogs_data_moves_the_data_folder_of_a_new_process(tmp_path):
    printed = _in_fresh_python("from helpers import setup; print(setup.DATA_DIR, setup.RESULTS_DIR)", CATSDOGS_DATA=str(tmp_path / "elsewhere"))
    assert printed == f"{tmp_path / 'elsewhere'} {tmp_path / 'elsewhere' / 'results'}"


_MMAPPED_BYTES_WHILE_80_MB_LIVE = """
import ctypes, ctypes.util, sys

class MallInfo2(ctypes.Structure):  # glibc 2.33+
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "torch_data":
    import helpers.torch_data  # noqa: F401  (asks glibc to keep freed memory)
for _ in range(2):  # the second block can reuse the first one's memory only if it was kept
    block = bytearray(80 << 20)
    print(libc.mallinfo2().hblkhd)
    del block
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_importing_torch_data_makes_glibc_serve_big_arrays_from_memory_it_keeps():
    """Without it glibc maps an 80 MB array fresh from the kernel each time (page faults every training step)."""
    env = {**os.environ, "PYTHONPATH": str(setup.PROJECT_ROOT)}
    mapped = {}
    for mode in ("plain", "torch_data"):
        result = subprocess.run([sys.executable, "-c", _MMAPPED_BYTES_WHILE_80_MB_LIVE, mode], capture_output=True, text=True, env=env, timeout=120)
        if "mallinfo2" in result.stderr:
            pytest.skip("glibc older than 2.33: no mallinfo2")
        assert result.returncode == 0, result.stderr[-2000:]
        mapped[mode] = [int(line) for line in result.stdout.split()]
    assert all(bytes_ >= 80 << 20 for bytes_ in mapped["plain"]), mapped  # glibc's default: each array mmapped
    assert all(bytes_ < 80 << 20 for bytes_ in mapped["torch_data"]), mapped  # kept: served by the heap

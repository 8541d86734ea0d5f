"""helpers.results: required fields, JSON files, and the Markdown table."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import setup
from helpers.results import REQUIRED, load_results, record_results, results_table

COMPLETE = dict(dataset="synthetic", n_train=10, n_val=2, n_test=3, train_accuracy=0.9, test_accuracy=0.75)


def test_record_writes_json_with_every_required_field(project_dirs, monkeypatch):
    monkeypatch.setattr(setup, "QUICK", True)
    path = record_results("notebooks/05_keras_cnn_cpu.ipynb", {**COMPLETE, "train_seconds": np.float64(12.5), "n_test": np.int64(3)})
    assert path == project_dirs / "data" / "results" / "05_keras_cnn_cpu.json"
    record = json.loads(path.read_text())
    assert set(REQUIRED) <= set(record)
    assert record["notebook"] == "05_keras_cnn_cpu" and record["quick"] is True
    assert record["train_seconds"] == 12.5 and record["n_test"] == 3  # NumPy scalars become plain numbers


@pytest.mark.parametrize("missing", ["dataset", "n_val", "test_accuracy"])
def test_missing_required_field_is_refused(project_dirs, missing):
    metrics = {k: v for k, v in COMPLETE.items() if k != missing}
    with pytest.raises(ValueError, match=missing):
        record_results("02_numpy_deep_neural_network", metrics)
    assert not (project_dirs / "data" / "results").exists()


def test_accuracy_may_be_none_when_nothing_is_trained(project_dirs):
    path = record_results("00_get_the_data", {**COMPLETE, "train_accuracy": None, "test_accuracy": None, "skipped": {"zero-byte": 1}})
    record = json.loads(path.read_text())
    assert record["train_accuracy"] is None and record["skipped"] == {"zero-byte": 1}
    assert "| 00_get_the_data |" in results_table()


def test_table_has_one_row_per_notebook(project_dirs):
    record_results("01_numpy_logistic_regression", {**COMPLETE, "test_accuracy": 0.6543})
    record_results("07_pytorch_cnn", {**COMPLETE, "val_accuracy": 0.8, "train_seconds": 123.4})
    record_results("07_pytorch_cnn", {**COMPLETE, "val_accuracy": 0.81})  # a rerun replaces the row
    lines = results_table().splitlines()
    assert lines[0].startswith("| notebook | quick | dataset | n_train")
    assert len(lines) == 4 and [row["notebook"] for row in load_results()] == ["01_numpy_logistic_regression", "07_pytorch_cnn"]
    assert "0.654" in lines[2] and "0.810" in lines[3]


def test_empty_table_says_what_to_do(project_dirs):
    assert "run a notebook" in results_table()


def test_command_line_prints_the_table(tmp_path):
    record_results("03_numpy_cnn", COMPLETE, directory=tmp_path)
    output = subprocess.run([sys.executable, "-m", "helpers.results", str(tmp_path)], capture_output=True, text=True, check=True, cwd=setup.PROJECT_ROOT).stdout
    assert "| 03_numpy_cnn |" in output and output.startswith("| notebook |")


def test_parameters_are_read_as_json_values_types_by_name():
    """A parameters cell may hold a dtype (03: DTYPE = np.float32), a tuple, a path or a NumPy scalar."""
    from pathlib import Path

    from helpers.results import _json_safe

    assert _json_safe(np.float32) == "float32"
    assert _json_safe((2, 4)) == [2, 4]
    assert _json_safe(np.int64(3)) == 3
    assert _json_safe(Path("a/b")) == "a/b"
    assert _json_safe(np.zeros(2)) == [0.0, 0.0]


def test_a_model_size_passed_as_parameters_is_kept_apart_from_the_parameters_cell(project_dirs):
    """05/06 passed `parameters=model.count_params()`; the parameters cell's values keep the name `parameters`."""
    path = record_results("05_keras_cnn_cpu", {**COMPLETE, "parameters": np.int64(2302)})
    record = json.loads(path.read_text())
    assert record["model_parameters"] == 2302 and record["parameters"] == {}  # outside a kernel: no cell values

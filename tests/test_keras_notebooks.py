"""Notebook 05 on real photos (../shared/data/cats_and_dogs_filtered), at reduced epochs and size.

Skipped where the shared photos are absent. A few minutes on 2 CPU cores; nbval covers quick mode.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import setup

pytestmark = [pytest.mark.tensorflow, pytest.mark.shared_data, pytest.mark.slow]

NOTEBOOKS = setup.PROJECT_ROOT / "notebooks"
EPOCHS = 3


def test_05_learns_from_real_photos_without_crashing(tmp_path, shared_data):
    photos = shared_data / "cats_and_dogs_filtered"
    env = {
        **os.environ,
        "CATSDOGS_QUICK": "0",
        "CATSDOGS_IMAGES": str(photos),
        "CATSDOGS_ROOT": str(tmp_path),  # cleaned tree, checkpoints, figures and results go here, not into the repo
    }
    command = [
        sys.executable, "-m", "papermill", str(NOTEBOOKS / "05_keras_cnn_cpu.ipynb"), str(tmp_path / "05_out.ipynb"),
        "-k", "python3", "--cwd", str(NOTEBOOKS),
        "-p", "EPOCHS", str(EPOCHS), "-p", "IMAGE_SIZE", "128", "-p", "LEARNING_RATE", "0.003",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]  # a SIGSEGV in fit shows here as "Kernel died"

    record = json.loads((tmp_path / "data" / "results" / "05_keras_cnn_cpu.json").read_text())
    print(f"05 on cats_and_dogs_filtered, {EPOCHS} epochs at 128x128: "
          f"val {record['val_accuracy']:.3f}, test {record['test_accuracy']:.3f}, {record['train_seconds']:.0f} s")
    assert record["dataset"].startswith("cats_and_dogs_filtered")
    assert (record["n_train"], record["n_val"] + record["n_test"]) == (2000, 1000)
    assert record["quick"] is False and record["epochs"] <= EPOCHS
    assert record["onednn"] == "0"
    assert 0.0 <= record["test_accuracy"] <= 1.0
    # 3 epochs of a 2,300-weight network are too few to promise an accuracy, but the loss must fall
    losses = record["history"]["loss"]
    assert len(losses) == record["epochs"] and losses[-1] < losses[0]
    assert (tmp_path / "data" / "models" / "05_keras_cnn_cpu.keras").exists()

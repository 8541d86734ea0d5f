"""Notebooks 04-06 as a learner runs them: quick mode learns its synthetic photos, 05 learns real photos
(../shared/data/cats_and_dogs_filtered, skipped where absent), and no notebook validates on the test set."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from helpers import setup

NOTEBOOKS = setup.PROJECT_ROOT / "notebooks"
KERAS_NOTEBOOKS = ("04_keras_cnn_csv", "05_keras_cnn_cpu", "06_keras_cnn_gpu")


def _run_05(tmp_path, extra_env: dict, parameters: dict) -> dict:
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path), **extra_env}  # data, checkpoints, figures, results: not the repo
    command = [sys.executable, "-m", "papermill", str(NOTEBOOKS / "05_keras_cnn_cpu.ipynb"), str(tmp_path / "05_out.ipynb"),
               "-k", "python3", "--cwd", str(NOTEBOOKS)]
    for name, value in parameters.items():
        command += ["-p", name, str(value)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]  # a SIGSEGV in fit shows here as "Kernel died"
    return json.loads((tmp_path / "data" / "results" / "05_keras_cnn_cpu.json").read_text())


@pytest.mark.tensorflow
@pytest.mark.slow
def test_05_in_quick_mode_learns_the_synthetic_photos(tmp_path):
    record = _run_05(tmp_path, {"CATSDOGS_QUICK": "1"}, {})
    assert record["quick"] is True and record["dataset"] == "synthetic"
    assert record["onednn"] == "0"
    # the synthetic cats and dogs differ in colour and shape (tests/test_synthetic.py): a network that
    # learns anything is far from the 0.5 of guessing, on photos it never saw
    assert record["test_accuracy"] >= 0.75, record["test_accuracy"]
    assert record["full_width_model_parameters"] > 1000 * record["model_parameters"]
    assert (tmp_path / "data" / "models" / "05_keras_cnn_cpu.keras").exists()


@pytest.mark.tensorflow
@pytest.mark.shared_data
@pytest.mark.slow
def test_05_learns_from_real_photos_without_crashing(tmp_path, shared_data):
    epochs = 3
    record = _run_05(tmp_path, {"CATSDOGS_QUICK": "0", "CATSDOGS_IMAGES": str(shared_data / "cats_and_dogs_filtered")},
                     {"EPOCHS": epochs, "IMAGE_SIZE": 128, "LEARNING_RATE": 0.003})
    print(f"05 on cats_and_dogs_filtered, {epochs} epochs at 128x128: "
          f"val {record['val_accuracy']:.3f}, test {record['test_accuracy']:.3f}, {record['train_seconds']:.0f} s")
    assert record["dataset"].startswith("cats_and_dogs_filtered")
    assert (record["n_train"], record["n_val"] + record["n_test"]) == (2000, 1000)
    assert record["quick"] is False and record["epochs"] <= epochs
    assert record["onednn"] == "0"
    # 3 epochs of a 2,300-weight network are too few to promise an accuracy, but the loss must fall
    losses = record["history"]["loss"]
    assert len(losses) == record["epochs"] and losses[-1] < losses[0]


@pytest.mark.parametrize("stem", KERAS_NOTEBOOKS)
def test_no_keras_notebook_validates_on_the_test_photos(stem):
    cells = json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text())["cells"]
    code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    exercises = "".join(cells[-1]["source"])
    for text in (code, exercises):
        assert not re.search(r"validation_data\s*=\s*\(?\s*(X_test|test_)", text), f"{stem} passes test photos as validation data"
    assert "validation_data=" in code  # curves and choices do use a validation split

"""tools/run_series.py on a tiny series of three notebooks, the middle one failing."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest


CHECKOUT = Path(__file__).resolve().parent.parent  # the repository, wherever CATSDOGS_ROOT puts data
SCRIPT = CHECKOUT / "tools" / "run_series.py"
spec = importlib.util.spec_from_file_location("run_series", SCRIPT)
run_series = sys.modules.setdefault("run_series", importlib.util.module_from_spec(spec))
spec.loader.exec_module(run_series)

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# Each tiny notebook reports what its kernel saw: the parameters and the environment.
REPORT = """
import json, os
from pathlib import Path
seen = {{"EPOCHS": globals().get("EPOCHS"), "images": os.environ.get("CATSDOGS_IMAGES"),
        "quick": os.environ.get("CATSDOGS_QUICK"), "cwd": os.getcwd()}}
Path(os.environ["CATSDOGS_ROOT"], "{stem}.seen.json").write_text(json.dumps(seen))
"""


def tiny_notebook(path, parameters: str, *cells: str):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)


@pytest.fixture
def tiny_series(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    tiny_notebook(notebooks / "01_alpha.ipynb", "EPOCHS = 1\nBATCH_SIZE = 4", REPORT.format(stem="01_alpha"),
                  "from helpers.results import record_results\n"
                  "record_results('01_alpha', dict(dataset='tiny', n_train=2, n_val=1, n_test=1, train_accuracy=0.75, test_accuracy=0.5))")
    tiny_notebook(notebooks / "02_broken.ipynb", "EPOCHS = 2\nLEARNING_RATE = 0.1", "x = 1",
                  "raise ValueError('planted failure')", "open('never', 'w').write('ran past the failure')")
    tiny_notebook(notebooks / "03_gamma.ipynb", "BATCH_SIZE = 2", REPORT.format(stem="03_gamma"))
    (tmp_path / "photos").mkdir()
    return tmp_path


def run_script(root, *args):
    env = {**os.environ, "CATSDOGS_ROOT": str(root)}
    env.pop("CATSDOGS_QUICK", None)
    return subprocess.run([sys.executable, str(SCRIPT), "--notebooks", str(root / "notebooks"), *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_failure_named_with_its_cell_others_run_overrides_only_where_defined(tiny_series):
    root = tiny_series
    result = run_script(root, "--images", str(root / "photos"), "-p", "EPOCHS", "3", "--quick")
    assert result.returncode == 1, result.stdout + result.stderr

    # 02 failed at its raise, the third cell of the notebook as committed (parameters, `x = 1`, raise),
    # though the executed copy has papermill's injected cell before it.
    failed_line = next(line for line in result.stdout.splitlines() if "02_broken" in line and "FAILED" in line)
    assert "cell 3 of 02_broken.ipynb" in failed_line and "ValueError: planted failure" in failed_line
    assert "raise ValueError" in failed_line
    assert "1 of 3 notebooks failed: 02_broken" in result.stderr
    assert not (root / "notebooks" / "never").exists()

    alpha = json.loads((root / "01_alpha.seen.json").read_text())
    gamma = json.loads((root / "03_gamma.seen.json").read_text())  # ran after the failure
    assert alpha["EPOCHS"] == 3                     # overridden where the parameters cell has EPOCHS
    assert gamma["EPOCHS"] is None                  # and not injected where it has not
    assert alpha["images"] == gamma["images"] == str((root / "photos").resolve())
    assert alpha["quick"] == "1"
    assert alpha["cwd"] == str(root / "notebooks")

    executed = nbformat.read(root / "data" / "series" / "01_alpha.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    gamma_executed = nbformat.read(root / "data" / "series" / "03_gamma.ipynb", as_version=4)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in gamma_executed.cells)
    assert (root / "data" / "series" / "02_broken.ipynb").exists()  # kept for reading the traceback

    # The results table comes last, with the row 01 recorded.
    results = result.stdout.split("## Results")[1]
    assert "| 01_alpha | True | tiny | 2 | 1 | 1 | 0.750 |" in results


def test_only_runs_the_chosen_notebooks_in_order(tiny_series):
    result = run_script(tiny_series, "--only", "03", "01")
    assert result.returncode == 0, result.stdout + result.stderr
    started = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("▶")]
    assert started == ["01_alpha", "03_gamma"]
    assert json.loads((tiny_series / "01_alpha.seen.json").read_text())["EPOCHS"] == 1


def test_an_override_no_notebook_has_is_refused_before_running(tiny_series):
    result = run_script(tiny_series, "-p", "EPOCH", "3")
    assert result.returncode != 0
    assert "EPOCH" in result.stderr and "EPOCHS" in result.stderr
    assert not (tiny_series / "data" / "series").exists()


def test_clear_errors_for_user_mistakes(tiny_series):
    missing = run_script(tiny_series, "--images", str(tiny_series / "no-such-folder"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    lower = run_script(tiny_series, "-p", "epochs", "3")
    assert lower.returncode == 2 and "UPPER_CASE" in lower.stderr
    unknown = run_script(tiny_series, "--only", "42")
    assert unknown.returncode != 0 and "no such notebook" in unknown.stderr


def test_parameter_values_are_python_literals_or_strings():
    assert run_series.parse_value("3") == 3
    assert run_series.parse_value("1e-3") == 0.001
    assert run_series.parse_value("True") is True
    assert run_series.parse_value("[64, 64]") == [64, 64]
    assert run_series.parse_value("/path/to/weights.h5") == "/path/to/weights.h5"


def test_parameters_of_reads_names_assigned_in_the_tagged_cell_only(tmp_path):
    path = tmp_path / "01_x.ipynb"
    tiny_notebook(path, "EPOCHS = 5\nIMAGE_SIZE, BATCH_SIZE = 64, 32\nif QUICK:\n    EPOCHS = 1", "OTHER = 2")
    assert run_series.parameters_of(path) == {"EPOCHS", "IMAGE_SIZE", "BATCH_SIZE"}


@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_series_turns_upper_case_variables_into_overrides():
    # Under `make test` the parent make's MAKEFLAGS would add "Entering directory" lines: a clean make.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(["make", "--no-print-directory", "-n", "-o", "install", "series", "IMAGES=/photos here", "ONLY=05 07",
                             "QUICK=1", "EPOCHS=3", "LEARNING_RATE=1e-3"], cwd=CHECKOUT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    command = result.stdout.strip().splitlines()[-1]
    assert "tools/run_series.py" in command
    for part in ("--images '/photos here'", "--only 05 07", "--quick", "-p EPOCHS '3'", "-p LEARNING_RATE '1e-3'"):
        assert part in command
    assert "-p IMAGES" not in command and "-p ONLY" not in command and "-p QUICK" not in command


# --- notebook 10: the whole series from results files, else from the committed records -------------

SERIES_NOTEBOOK = CHECKOUT / "notebooks" / "10_the_whole_series.ipynb"


def result(stem: str, test_accuracy: float, **fields) -> dict:
    return {"notebook": stem, "quick": False, "dataset": "cats_and_dogs_filtered", "n_train": 2000, "n_val": 500,
            "n_test": 500, "train_accuracy": 0.9, "test_accuracy": test_accuracy, "train_seconds": 60.0,
            "machine": {"cores": 2}, **fields}


def run_series_notebook(tmp_path, monkeypatch, results: dict, records_found: dict, quick: bool) -> dict:
    """Execute notebook 10 with these results files and these records; return the rows it saved."""
    import papermill

    for stem, data in results.items():
        (tmp_path / "data" / "results").mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "results" / f"{stem}.json").write_text(json.dumps(data))
    for ref, data in records_found.items():
        (tmp_path / "records" / ref).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "records" / f"{ref}.json").write_text(json.dumps({"record": ref, **data}))
    monkeypatch.setenv("CATSDOGS_ROOT", str(tmp_path))
    monkeypatch.setenv("CATSDOGS_QUICK", "1" if quick else "0")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(CHECKOUT), os.environ.get("PYTHONPATH", "")]))
    papermill.execute_notebook(str(SERIES_NOTEBOOK), str(tmp_path / "executed.ipynb"), cwd=str(CHECKOUT / "notebooks"),
                               parameters={"RECORDS_FOLDER": str(tmp_path / "records")}, progress_bar=False,
                               kernel_name="python3")
    saved = json.loads((tmp_path / "data" / "results" / "10_the_whole_series.json").read_text())
    assert 0 < saved["kernel_seconds"] < 600  # the run time of the notebook, recorded by record_results
    return {row["notebook"]: row for row in saved["rows"]}


SERIES = ["01", "02", "03", "04", "05", "06", "07", "07b", "08", "09"]


def test_notebook_10_compares_quick_mode_results_and_marks_them(tmp_path, monkeypatch):
    quick = {stem: result(stem, accuracy, quick=True) for stem, accuracy in
             (("01_numpy_logistic_regression", 0.60), ("02_numpy_deep_neural_network", 0.65), ("05_keras_cnn_cpu", 0.75))}
    rows = run_series_notebook(tmp_path, monkeypatch, quick, {}, quick=True)
    assert list(rows) == SERIES
    assert rows["01"]["source"] == rows["02"]["source"] == "your run, quick mode"
    assert rows["02"]["data"] == "synthetic photos (quick mode)"
    assert rows["01"]["what the idea bought"] == "the starting point"
    assert rows["02"]["what the idea bought"] == "+5.0 points vs 01: hidden layers; also its own learning rate and steps"
    assert rows["05"]["what the idea bought"] == "not comparable: no 03 result on these photos"  # 05 builds on 03, not on 02
    assert rows["03"]["source"] == "not run, no record" and rows["03"]["test accuracy"] is None
    assert (tmp_path / "data" / "images-quick" / "10_the_whole_series" / "accuracy_vs_time.png").is_file()


def test_notebook_10_compares_each_notebook_with_the_one_it_builds_on_and_names_what_else_differs(tmp_path, monkeypatch):
    committed = {
        "01_numpy_logistic_regression/catvnoncat": result("01_numpy_logistic_regression", 0.70, dataset="catvnoncat", n_test=50),
        "01_numpy_logistic_regression/filtered": result("01_numpy_logistic_regression", 0.56),
        "02_numpy_deep_neural_network/petimages": result("02_numpy_deep_neural_network", 0.60, dataset="petimages", n_test=2500),
        "03_numpy_cnn/filtered": result("03_numpy_cnn", 0.71, epochs=20, model_parameters=8081),
        "05_keras_cnn_cpu/filtered": result("05_keras_cnn_cpu", 0.68, epochs=23, model_parameters=2271),
        "07_pytorch_cnn/filtered": result("07_pytorch_cnn", 0.80, epochs=20, model_parameters=97_938),
        "07b_pytorch_recipe/filtered": result("07b_pytorch_recipe", 0.86, epochs=60, model_parameters=389_410),
    }
    rows = run_series_notebook(tmp_path, monkeypatch, {}, committed, quick=False)
    assert list(rows) == SERIES
    assert rows["01"]["source"] == "record 01_numpy_logistic_regression/filtered"
    assert rows["01"]["data"] == "cats_and_dogs_filtered: 2000 train / 500 test"
    assert rows["03"]["what the idea bought"] == "not comparable: no 02 result on these photos"  # 02 is on PetImages
    bought_05 = rows["05"]["what the idea bought"]
    assert bought_05.startswith("-3.0 points vs 03: separable convolutions") and "Keras, 180x180 photos" in bought_05
    assert "epochs 20 -> 23" in bought_05 and "parameters 8,081 -> 2,271" in bought_05 and rows["05"]["parameters"] == 2271
    bought_07b = rows["07b"]["what the idea bought"]  # the recipe's gain shares its credit with 40 more epochs and a wider network
    assert bought_07b.startswith("+6.0 points vs 07: a recipe") and "epochs 20 -> 60" in bought_07b and "97,938 -> 389,410" in bought_07b
    assert rows["09"]["source"] == "not run, no record"
    assert (tmp_path / "data" / "figures" / "10_the_whole_series" / "accuracy_vs_time.png").is_file()  # a real run writes the chart


def test_notebook_10_puts_your_run_on_the_same_photos_elsewhere_in_the_records_comparison(tmp_path, monkeypatch):
    """The record was measured on photos in one folder; you ran 03 on a copy somewhere else (another folder name,
    another path, so another cache folder): your 03 replaces the record's row and is compared with the record of 02.
    Your 05 on other photos is compared with nothing."""
    from helpers import setup
    from helpers.data import get_dataset
    from helpers.dataset_id import identity_of
    from helpers.results import record_results
    from photo_files import write_photos

    monkeypatch.setattr(setup, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(setup, "RESULTS_DIR", tmp_path / "data" / "results")
    monkeypatch.setattr(setup, "QUICK", False)
    monkeypatch.delenv("CATSDOGS_IMAGES", raising=False)
    theirs, other = tmp_path / "series" / "cats_and_dogs_filtered", tmp_path / "other"
    for folder in (theirs, other):
        write_photos(folder / "cats", 40, prefix=f"{folder.name}.cat.")  # enough for a cat and a dog in every split
        write_photos(folder / "dogs", 40, prefix=f"{folder.name}.dog.")
    mine = tmp_path / "my downloads" / "photos copy"
    shutil.copytree(theirs, mine)

    record_name = identity_of(get_dataset(theirs, progress=False).name)
    my_dataset = get_dataset(mine, progress=False)
    assert my_dataset.name != get_dataset(theirs, progress=False).name  # the cache folders differ: path and name do
    counts = my_dataset.counts()
    record_results("03_numpy_cnn", {"dataset": my_dataset.name, **counts, "train_accuracy": 0.9, "test_accuracy": 0.75, "train_seconds": 30.0})
    record_results("05_keras_cnn_cpu", {"dataset": get_dataset(other, progress=False).name, **counts,
                                        "train_accuracy": 0.9, "test_accuracy": 0.8, "train_seconds": 60.0})
    committed = {
        "02_numpy_deep_neural_network/filtered": result("02_numpy_deep_neural_network", 0.60, dataset=record_name, **counts),
        "03_numpy_cnn/filtered": result("03_numpy_cnn", 0.70, dataset=record_name, **counts),
    }
    rows = run_series_notebook(tmp_path, monkeypatch, {}, committed, quick=False)
    assert rows["03"]["source"] == "your run" and rows["03"]["test accuracy"] == 0.75
    assert rows["03"]["what the idea bought"].startswith("+15.0 points vs 02: convolutions and pooling")
    assert rows["05"]["source"] == "your run"
    assert rows["05"]["what the idea bought"] == "not comparable: no 03 result on these photos"

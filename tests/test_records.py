"""Every published number comes from a committed record, and no published number is stale."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import publish_records as records_tool  # noqa: E402
import readme_tables  # noqa: E402
from helpers import records  # noqa: E402

RUN = {"notebook": "07_pytorch_cnn", "quick": False, "dataset": "cats_and_dogs_filtered", "n_train": 2000, "n_val": 485,
       "n_test": 515, "train_accuracy": 0.91, "test_accuracy": 0.8612, "train_seconds": 1320.0,
       "models": {"efficientnet_lite0": {"test acc": 0.981}}, "machine": {"cores": 2}}


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_promote_refuses_a_quick_mode_run_and_one_without_its_machine(tmp_path):
    with pytest.raises(records.RecordError, match="quick-mode"):
        records.promote(write(tmp_path / "q.json", {**RUN, "quick": True}), "07_pytorch_cnn/filtered", tmp_path / "records")
    without_machine = {k: v for k, v in RUN.items() if k != "machine"}
    with pytest.raises(records.RecordError, match="which machine"):
        records.promote(write(tmp_path / "m.json", without_machine), "07_pytorch_cnn/filtered", tmp_path / "records")
    assert not (tmp_path / "records").exists()


def test_a_promoted_record_loads_back_with_its_reference(tmp_path):
    path = records.promote(write(tmp_path / "r.json", RUN), "07_pytorch_cnn/filtered", tmp_path / "records")
    assert path == tmp_path / "records" / "07_pytorch_cnn" / "filtered.json"
    loaded = records.load_record("07_pytorch_cnn/filtered", tmp_path / "records")
    assert loaded["record"] == "07_pytorch_cnn/filtered" and loaded["test_accuracy"] == 0.8612
    assert list(records.all_records(tmp_path / "records")) == ["07_pytorch_cnn/filtered"]
    with pytest.raises(records.RecordError, match="known records: 07_pytorch_cnn/filtered"):
        records.load_record("07_pytorch_cnn/petimages", tmp_path / "records")


def test_lookup_follows_dotted_paths_and_scales():
    assert records.lookup(RUN, "models.efficientnet_lite0.test acc") == 0.981
    assert records.lookup(RUN, "train_seconds / 60") == 22.0
    with pytest.raises(records.RecordError, match="no 'val_accuracy'"):
        records.lookup(RUN, "val_accuracy")


def test_markers_render_the_record_value_and_stale_values_are_replaced(monkeypatch, tmp_path):
    monkeypatch.setattr(records, "RECORDS_DIR", tmp_path / "records")
    records.promote(write(tmp_path / "r.json", RUN), "07_pytorch_cnn/filtered", tmp_path / "records")
    text = ("test <!--rec:07_pytorch_cnn/filtered|test_accuracy|.1%-->80%<!--/rec-->, "
            "<!--rec:07_pytorch_cnn/filtered|train_seconds / 60|.0f-->?<!--/rec--> minutes, "
            "<!--rec:07_pytorch_cnn/filtered|n_train|,-->2,000<!--/rec--> photos")
    filled = records_tool.fill_text(text)
    assert filled == ("test <!--rec:07_pytorch_cnn/filtered|test_accuracy|.1%-->86.1%<!--/rec-->, "
                      "<!--rec:07_pytorch_cnn/filtered|train_seconds / 60|.0f-->22<!--/rec--> minutes, "
                      "<!--rec:07_pytorch_cnn/filtered|n_train|,-->2,000<!--/rec--> photos")
    assert records_tool.fill_text(filled) == filled


def test_every_number_the_readme_and_the_notebooks_quote_matches_its_record():
    assert records_tool.stale_files() == [], "run `make records`"


def test_a_marker_of_a_record_not_committed_yet_says_so_and_a_wrong_key_fails(monkeypatch, tmp_path):
    monkeypatch.setattr(records, "RECORDS_DIR", tmp_path / "records")
    assert records_tool.fill_text("took <!--rec:ci/fresh-clone|test_seconds / 60|.0f-->15<!--/rec--> min") == (
        "took <!--rec:ci/fresh-clone|test_seconds / 60|.0f-->not measured yet<!--/rec--> min")
    records.promote(write(tmp_path / "r.json", RUN), "07_pytorch_cnn/filtered", tmp_path / "records")
    with pytest.raises(records.RecordError, match="no 'val_acuracy'"):
        records_tool.fill_text("<!--rec:07_pytorch_cnn/filtered|val_acuracy-->?<!--/rec-->")


def test_promote_refuses_a_failed_ci_run(tmp_path):
    failed = {"run": "ci", "quick": False, "machine": {"cores": 2}, "passed": False, "stages": {}}
    with pytest.raises(records.RecordError, match="failed"):
        records.promote(write(tmp_path / "ci-run.json", failed), "ci/fresh-clone", tmp_path / "records")
    assert records.promote(write(tmp_path / "ok.json", {**failed, "passed": True}), "ci/fresh-clone", tmp_path / "records").exists()


def test_records_stay_in_the_checkout_when_catsdogs_root_moves_data(tmp_path):
    """Notebook 10 and the README read records/ of the checkout, not of wherever data/ is."""
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("CATSDOGS_RECORDS", None)
    shown = subprocess.run([sys.executable, "-c", "from helpers import records; print(records.RECORDS_DIR)"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(shown) == ROOT / "records"
    env["CATSDOGS_RECORDS"] = str(tmp_path / "elsewhere")
    shown = subprocess.run([sys.executable, "-c", "from helpers import records; print(records.RECORDS_DIR)"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(shown) == tmp_path / "elsewhere"


# --- README's notebooks table ------------------------------------------------------------

def notebook_file(path: Path, code: str) -> Path:
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# A title"]},
                    {"cell_type": "code", "metadata": {}, "source": [code], "outputs": [], "execution_count": None}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return write(path, nb)


def test_default_data_is_read_from_the_notebooks_own_call(tmp_path):
    subset = notebook_file(tmp_path / "01_a.ipynb", 'TRAIN_PHOTOS = 2_000\nif QUICK:\n    TRAIN_PHOTOS = 40\n'
                           'h5_source(default_source="filtered", train_photos=TRAIN_PHOTOS)')
    assert readme_tables.default_data(subset) == "cats_and_dogs_filtered (3,000 photos, 68 MB), 2,000 training photos"
    by_name = notebook_file(tmp_path / "02_c.ipynb", 'SOURCE = "filtered"  # photos\nTRAIN_PHOTOS = None\n'
                            "h5_source(default_source=SOURCE, train_photos=TRAIN_PHOTOS)")
    assert readme_tables.default_data(by_name) == "cats_and_dogs_filtered (3,000 photos, 68 MB)"
    plain = notebook_file(tmp_path / "06_b.ipynb", "dataset = get_dataset()")
    assert readme_tables.default_data(plain) == "PetImages (about 25,000 photos, 787 MB)"


def test_the_table_quotes_each_record_and_says_when_a_notebook_has_none(tmp_path):
    measured = notebook_file(tmp_path / "07_pytorch_cnn.ipynb", 'get_dataset(default_source="filtered")')
    unmeasured = notebook_file(tmp_path / "08_transfer.ipynb", "get_dataset()")
    record = {**RUN, "val_accuracy": 0.849, "recorded_at": "2026-12-02T05:00:00+0000", "record": "07_pytorch_cnn/filtered"}
    table = readme_tables.notebooks_table([measured, unmeasured], {"07_pytorch_cnn/filtered": record}, "https://github.com/o/r")
    rows = table.splitlines()[2:]
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[0] == "07" and cells[3] == "cats_and_dogs_filtered (3,000 photos, 68 MB)"
    assert cells[4] == "cats_and_dogs_filtered (2,000 train / 485 val / 515 test); 2 CPU cores, no GPU; 2026-12-02"
    assert cells[5:] == ["training 22.0 min", "test 0.861, val 0.849", "[07_pytorch_cnn/filtered](records/07_pytorch_cnn/filtered.json)"]
    whole = readme_tables.notebooks_table([measured], {"07_pytorch_cnn/filtered": {**record, "kernel_seconds": 1500}}, "https://github.com/o/r")
    assert "| training 22.0 min, whole notebook 25.0 min |" in whole
    assert "not measured yet (no record)" in rows[1] and "0.861" not in rows[1]
    petimages = readme_tables.notebooks_table([unmeasured], {"08_transfer/filtered": record}, "https://github.com/o/r")
    assert "2026-12-02 (not the default data)" in petimages  # 08 defaults to PetImages
    busy = {**record, "machine": {"cores": 2, "load_average": [3.46, 2.0]}}
    assert "2 CPU cores, no GPU, load 3.5/2.0;" in readme_tables.notebooks_table([measured], {"07_pytorch_cnn/filtered": busy}, "https://github.com/o/r")


def test_filling_the_table_replaces_only_what_is_between_the_markers(tmp_path):
    notebook_file(tmp_path / "07_pytorch_cnn.ipynb", "get_dataset()")
    text = f"before\n{readme_tables.BEGIN}\nan old table\n{readme_tables.END}\nafter\n"
    filled = readme_tables.fill_notebooks_table(text, {}, tmp_path, "https://github.com/o/r")
    assert filled.startswith(f"before\n{readme_tables.BEGIN}\n| # |") and filled.endswith(f"|\n{readme_tables.END}\nafter\n")
    assert "an old table" not in filled and readme_tables.fill_notebooks_table(filled, {}, tmp_path, "https://github.com/o/r") == filled
    with pytest.raises(ValueError, match="lacks the table markers"):
        readme_tables.fill_notebooks_table("no markers", {}, tmp_path, "https://github.com/o/r")


def test_a_readme_table_that_disagrees_with_the_records_is_stale(monkeypatch, tmp_path):
    (tmp_path / "notebooks").mkdir()
    notebook_file(tmp_path / "notebooks" / "07_pytorch_cnn.ipynb", "get_dataset()")
    readme = tmp_path / "README.md"
    readme.write_text(f"{readme_tables.SERIES_BEGIN}\n{readme_tables.SERIES_END}\n")
    monkeypatch.setattr(records, "RECORDS_DIR", tmp_path / "records")
    monkeypatch.setattr(readme_tables, "ROOT", tmp_path)
    assert records_tool.fill_file(readme, write=True, cache={})          # the empty table is filled
    assert not records_tool.fill_file(readme, write=False, cache={})     # and then current
    records.promote(write(tmp_path / "r.json", RUN), "07_pytorch_cnn/filtered", tmp_path / "records")
    assert records_tool.fill_file(readme, write=False, cache={})         # a new record makes it stale
    assert "0.861" not in readme.read_text()


# --- no private words ---------------------------------------------------------------------

PRIVATE_WORD = re.compile("seed" + r"[ _-]00\d", re.IGNORECASE)  # split so this file does not match itself


def test_no_tracked_file_uses_a_word_from_outside_the_series():
    """Other projects are described in words a reader can follow (README, "What other projects reported")."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    found = []
    for name in listed.stdout.splitlines():
        path = ROOT / name
        if path.is_file() and path.suffix in {".py", ".ipynb", ".md", ".txt", ".toml", ".yml", ".json", ""}:
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{name}: {m.group(0)!r}" for m in PRIVATE_WORD.finditer(text)]
    assert not found, f"say what the other project did instead: {found}"


def test_ci_record_times_each_stage_and_its_run_becomes_the_test_time_record(tmp_path):
    venv = tmp_path / "venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "lib" / "big.bin").write_bytes(b"x" * 30_000_000)
    script = [sys.executable, str(ROOT / "tools" / "ci_record.py")]
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path), "CATSDOGS_CI_VENV": str(venv)}
    subprocess.run([*script, "start"], env=env, check=True)
    subprocess.run([*script, "run", "install", "--", sys.executable, "-c", "pass"], env=env, check=True)
    subprocess.run([*script, "run", "unit", "--", sys.executable, "-c", "import time; time.sleep(1.2)"], env=env, check=True)
    run = json.loads((tmp_path / "data" / "ci" / "ci-run.json").read_text())
    assert list(run["stages"]) == ["install", "unit"] and run["passed"] and not run["quick"]
    assert run["venv_gb"] == 0.03  # what the install left on disk
    assert run["stages"]["unit"]["seconds"] >= 1.2 and run["test_seconds"] == run["stages"]["unit"]["seconds"]
    failing = subprocess.run([*script, "run", "notebooks", "--", sys.executable, "-c", "raise SystemExit(3)"], env=env)
    assert failing.returncode == 3
    with pytest.raises(records.RecordError, match="failed"):
        records.promote(tmp_path / "data" / "ci" / "ci-run.json", "ci/fresh-clone", tmp_path / "records")


def test_readme_s_table_gives_the_result_and_time_of_the_default_data_s_record(tmp_path):
    measured = notebook_file(tmp_path / "01_logistic.ipynb", 'h5_source(default_source="filtered")')
    unmeasured = notebook_file(tmp_path / "06_gpu.ipynb", "get_dataset()")
    filtered = {**RUN, "dataset": "cats_and_dogs_filtered-0123abcd", "test_accuracy": 0.61, "kernel_seconds": 200,
                "recorded_at": "2026-12-07T05:00:00+0000"}
    classic = {**RUN, "dataset": "catvnoncat", "test_accuracy": 0.70, "recorded_at": "2026-12-08T05:00:00+0000"}
    on_gpu = {**filtered, "kernel_seconds": 30, "machine": {"cores": 8, "gpu": "NVIDIA T4"}}
    all_records = {"01_logistic/filtered": filtered, "01_logistic/catvnoncat": classic, "01_logistic/filtered-gpu": on_gpu}
    rows = readme_tables.series_table([measured, unmeasured], all_records, "https://github.com/o/r", tmp_path).splitlines()[2:]
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[0] == "01" and cells[3:6] == ["test accuracy 0.610", "about 3.3 min (whole notebook)", "about 30 s (whole notebook)"]
    assert "colab.research.google.com/github/o/r/blob/main/notebooks/01_logistic.ipynb" in cells[6]
    assert rows[1].count("not measured yet") == 3
    only_classic = readme_tables.series_table([measured], {"01_logistic/catvnoncat": classic}, "https://github.com/o/r", tmp_path)
    assert "test accuracy 0.700 (on catvnoncat)" in only_classic  # another data set says which
    (tmp_path / "01_logistic.md").write_text("every output")
    linked = readme_tables.series_table([measured], all_records, "https://github.com/o/r", tmp_path)
    assert "[test accuracy 0.610](docs/runs/01_logistic.md)" in linked

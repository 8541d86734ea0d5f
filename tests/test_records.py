"""Every published number comes from a committed record, and no published number is stale."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import publish_records as records_tool  # noqa: E402
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

"""Each notebook's numbers in data/results/<notebook-stem>.json, and all of them as one table.

`python -m helpers.results` prints the Markdown table.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from helpers import setup

REQUIRED = ("notebook", "quick", "dataset", "n_train", "n_val", "n_test", "train_accuracy", "test_accuracy")
TABLE_COLUMNS = ("notebook", "quick", "dataset", "n_train", "n_val", "n_test", "train_accuracy", "val_accuracy", "test_accuracy", "train_seconds")


def _stem(notebook: str) -> str:
    return Path(notebook).name.removesuffix(".ipynb")


def _plain(value):
    """NumPy scalars and arrays to JSON-friendly Python values."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def record_results(notebook: str, metrics: dict, directory: str | Path | None = None) -> Path:
    """Write data/results/<stem>.json; raise if a required field is missing."""
    record = {"notebook": _stem(notebook), "quick": setup.QUICK, **{k: _plain(v) for k, v in metrics.items()}}
    record["notebook"] = _stem(record["notebook"])
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise ValueError(f"record_results({notebook!r}) is missing {missing}; every notebook records {list(REQUIRED)}.")
    record["recorded_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    directory = Path(directory) if directory else setup.RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['notebook']}.json"
    path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n")
    return path


def load_results(directory: str | Path | None = None) -> list[dict]:
    directory = Path(directory) if directory else setup.RESULTS_DIR
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.0f}"
    return str(value)


def results_table(directory: str | Path | None = None) -> str:
    """All recorded results as a Markdown table, one row per notebook."""
    rows = load_results(directory)
    if not rows:
        return "No results yet: run a notebook (they write data/results/<notebook>.json)."
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(column)) for column in TABLE_COLUMNS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(results_table(sys.argv[1] if len(sys.argv) > 1 else None))

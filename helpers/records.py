"""Measurement records: the committed source of every number the series publishes.

A record is the results file of one real (not quick-mode) run, promoted into the
repository: `records/<notebook-stem>/<label>.json` (or `records/benchmarks/<name>.json`).
It holds the figures and how they were made: date, machine, data and its counts, the
parameters and CATSDOGS_* settings; the data by its content name (helpers/dataset_id.py), so a
learner's run on the same photos matches the record. README tables and the numbers quoted in the notebooks'
prose are generated from records (tools/publish_records.py); notebook 10 draws them.

A reference names a record by its path without `.json`: "07_pytorch_cnn/filtered".

Where the records are: the checkout's `records/` (also with CATSDOGS_ROOT pointing data/
elsewhere: records are part of the code, not of data/); in a pip-installed copy (Colab),
the same files packaged as `helpers/records_data/` (pyproject.toml); CATSDOGS_RECORDS
overrides both (tests).
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from helpers import dataset_id

_CHECKOUT_RECORDS = Path(__file__).resolve().parent.parent / "records"
_PACKAGED_RECORDS = Path(__file__).resolve().parent / "records_data"


def _records_dir() -> Path:
    if os.environ.get("CATSDOGS_RECORDS"):
        return Path(os.environ["CATSDOGS_RECORDS"]).expanduser().resolve()
    in_checkout = (_CHECKOUT_RECORDS.parent / "notebooks").is_dir()  # not site-packages/records of another package
    return _CHECKOUT_RECORDS if in_checkout or not _PACKAGED_RECORDS.is_dir() else _PACKAGED_RECORDS


RECORDS_DIR = _records_dir()
LABEL = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_KEY_SCALE = re.compile(r"^(?P<key>.+?)(?:\s*(?P<op>[/*])\s*(?P<factor>[0-9.]+))?$")


class RecordError(ValueError):
    """A record is missing, malformed, or a quick-mode run was offered as one."""


class MissingRecord(RecordError):
    """No record of that name is committed (yet)."""


def record_path(ref: str, directory: str | Path | None = None) -> Path:
    """records/<notebook-stem>/<label>.json for "<notebook-stem>/<label>"; a malformed reference raises."""
    directory = Path(directory) if directory else RECORDS_DIR
    parts = ref.strip("/").split("/")
    if len(parts) != 2 or not all(LABEL.match(p) for p in parts):
        raise RecordError(f"a record reference is '<notebook-stem or benchmarks>/<label>', got {ref!r}")
    return directory / parts[0] / f"{parts[1]}.json"


def load_record(ref: str, directory: str | Path | None = None) -> dict:
    path = record_path(ref, directory)
    if not path.exists():
        known = ", ".join(sorted(all_records(directory))) or "none yet"
        raise MissingRecord(f"no record {ref!r} ({path}); known records: {known}")
    return json.loads(path.read_text(encoding="utf-8"))


def all_records(directory: str | Path | None = None) -> dict[str, dict]:
    """{reference: record} for every committed record, sorted by reference."""
    directory = Path(directory) if directory else RECORDS_DIR
    found = {}
    for path in sorted(directory.glob("*/*.json")):
        found[f"{path.parent.name}/{path.stem}"] = json.loads(path.read_text(encoding="utf-8"))
    return found


def lookup(record: dict, key: str):
    """A value by dotted path ("models.efficientnet_lite0.test acc"), optionally scaled ("train_seconds / 60")."""
    match = _KEY_SCALE.match(key.strip())
    value = record
    for part in match.group("key").split("."):
        if isinstance(value, list) and part.isdigit():
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise RecordError(f"the record has no {match.group('key')!r} (stopped at {part!r})")
    if match.group("op"):
        factor = float(match.group("factor"))
        value = value / factor if match.group("op") == "/" else value * factor
    return value


def promote(source: str | Path, ref: str, directory: str | Path | None = None) -> Path:
    """Copy a results file of a real run into the records as `ref`; refuse quick-mode and incomplete runs."""
    source = Path(source)
    if not source.exists():
        raise RecordError(f"{source} does not exist: run the notebook (or benchmark) without CATSDOGS_QUICK first")
    results = json.loads(source.read_text(encoding="utf-8"))
    if results.get("quick", False):
        raise RecordError(f"{source} comes from a quick-mode run (synthetic photos, few iterations): its numbers "
                          "describe nothing a reader will see. Run it without CATSDOGS_QUICK and promote that.")
    if results.get("passed") is False:
        raise RecordError(f"{source} is a run that failed (a stage's exit status is not 0): fix it and run it again")
    if "machine" not in results:
        raise RecordError(f"{source} does not say which machine made it; rerun it with the current helpers")
    content_name = dataset_id.identity_of(results.get("dataset", ""))  # a results file from before content names
    if content_name:
        results = {**results, "dataset_folder": results["dataset"], "dataset": content_name}
    path = record_path(ref, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"record": ref, "promoted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **results}
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path

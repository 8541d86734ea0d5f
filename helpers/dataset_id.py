"""Which photos a result was measured on, named by the photos themselves.

A cleaned dataset's folder, data/clean/<name>/, is named after the folder it came from
(helpers/data.py): a cache key, different for every copy of the same photos. Results are
named by content instead, so that a learner's run and the series' records on the same
photos carry the same name, wherever the photos are:

    <label>-<digest>            e.g. cats_and_dogs_filtered-3f1c0a9b2d4e
    <label>-<digest>-train<N>   the same, with only N training photos (get_dataset(train_photos=N))

digest: the first 12 hex digits of the SHA-256 of one line per usable photo, sorted,
"<split>/<class>/<sha1>", where sha1 is the hash of the photo file's bytes that the cleaning
already computed (the manifest's `sha1` column; skipped files do not count). The split is part
of it: the same photos split differently give different test sets, hence different data.
Computing it reads manifest.csv only: cheap enough for every run.
label: the series' name for photos it publishes records on (KNOWN), else the download's name
("petimages", "kaggle"), else the name of the folder the photos came from. Two results are on the same photos when their `photos_key`
(digest and subset, the label left out) are equal.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from pathlib import Path

from helpers import setup

DIGEST_LENGTH = 12
# Digests of the photos the series' records were measured on -> the name the records use.
KNOWN = {
    "9fa863a07584": "cats_and_dogs_filtered",  # Google's cats_and_dogs_filtered.zip, cleaned and split by the series
}
IDENTITY = re.compile(rf"^(?P<label>.+)-(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<subset>-train\d+)?$")
# The older names, a hash of the folder's path: <folder>-<8 hex digits>[-train<N>]
PATH_HASH_NAME = re.compile(r"^(?P<label>.+)-[0-9a-f]{8}(?P<subset>-train\d+)?$")


def photos_digest(manifest_path: str | Path) -> str:
    """The digest of the usable photos a cleaning manifest lists (see the module docstring)."""
    with open(manifest_path, newline="", encoding="utf-8") as handle:
        lines = sorted(f"{row['split']}/{row['class_name']}/{row['sha1']}" for row in csv.DictReader(handle) if row["action"] != "skip")
    if not lines:
        raise ValueError(f"{manifest_path} lists no usable photo: there is nothing to name.")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:DIGEST_LENGTH]


def _label(name: str, report: dict) -> str:
    if not PATH_HASH_NAME.match(name):  # a download ("petimages", "kaggle"), named by get_dataset after its source
        return name.lower()
    return Path(report.get("source", "")).name.lower() or PATH_HASH_NAME.sub(r"\g<label>", name)


def identity_of(name: str, data_dir: str | Path | None = None) -> str | None:
    """The content name of the cleaned dataset data/clean/<name>/, or None where there is none there."""
    folder = Path(data_dir or setup.DATA_DIR) / "clean" / str(name)
    report_path, manifest_path = folder / "report.json", folder / "manifest.csv"
    if not (report_path.is_file() and manifest_path.is_file()):
        return None
    report = json.loads(report_path.read_text(encoding="utf-8"))
    subset = report.get("subset")
    if subset:  # a training subset: decided by the whole dataset's content and N (helpers.data.training_subset)
        whole = identity_of(subset["of"], data_dir)
        return f"{whole}-train{subset['train_photos']}" if whole else None
    try:
        digest = photos_digest(manifest_path)
    except ValueError:  # no usable photo: nothing was measured on it
        return None
    return f"{KNOWN.get(digest) or _label(name, report)}-{digest}"


def photos_key(dataset: str) -> str:
    """What two results must share to be on the same photos: the digest (and subset) of a content name.

    A name that is not a content name (the classic "catvnoncat" files, quick mode's "synthetic",
    a results file from before content names) is its own key.
    """
    match = IDENTITY.match(str(dataset))
    return match.group("digest") + (match.group("subset") or "") if match else str(dataset)


def migrate_records(old: str, new: str, directory: str | Path | None = None) -> list[Path]:
    """Rename dataset `old` to `new` in every record (and `old`-train<N> to `new`-train<N>).

    Every string in a record that names `old` changes (the `dataset` field, a benchmark's
    description quoting it); numbers never do. Returns the files changed.
    """
    from helpers import records

    if not IDENTITY.match(new):
        raise ValueError(f"{new!r} is not a content name (<label>-<{DIGEST_LENGTH} hex digits>)")
    pattern = re.compile(re.escape(old) + r"(?![0-9a-f])")

    def renamed(value):
        if isinstance(value, str):
            return pattern.sub(new, value)
        if isinstance(value, list):
            return [renamed(v) for v in value]
        if isinstance(value, dict):
            return {k: renamed(v) for k, v in value.items()}
        return value

    changed = []
    for path in sorted(Path(directory or records.RECORDS_DIR).glob("*/*.json")):
        text = path.read_text(encoding="utf-8")
        if old not in text:
            continue
        record = json.loads(text)
        path.write_text(json.dumps(renamed(record), indent=2) + "\n", encoding="utf-8")
        changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    """`python -m helpers.dataset_id FOLDER`: the content name of a folder of photos (cleaned first if needed).
    `python -m helpers.dataset_id migrate OLD NEW [RECORDS_DIR]`: rename a dataset in the records."""
    if len(argv) >= 3 and argv[0] == "migrate":
        for path in migrate_records(argv[1], argv[2], argv[3] if len(argv) > 3 else None):
            print(f"{path}: {argv[1]} -> {argv[2]}")
        return 0
    if len(argv) != 1:
        print(main.__doc__, file=sys.stderr)
        return 2
    from helpers.data import get_dataset

    dataset = get_dataset(argv[0], progress=False)
    print(f"cache folder: {dataset.name}\ncontent name: {identity_of(dataset.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

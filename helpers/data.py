"""The one call every notebook makes for its photos: `get_dataset()`.

Where the photos come from, in order:
  1. a folder given as `source`, or the CATSDOGS_IMAGES environment variable;
  2. quick mode (CATSDOGS_QUICK=1): a small synthetic PetImages folder made on the spot;
  3. Microsoft's PetImages zip, downloaded once and verified (helpers/download.py).
The photos are cleaned once (helpers/cleaning.py) and split by content hash
(helpers/splits.py); the result is cached in data/clean/<name>/ and reused while the
source folder's files (names, sizes, times) are unchanged.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helpers import setup
from helpers.cleaning import ACTIONS, convert_to_rgb_jpeg, scan_files
from helpers.layout import CLASS_NAMES, find_labelled_files
from helpers.splits import SPLITS, split_given_validation, split_of

QUICK_IMAGES_PER_CLASS = 120
MANIFEST_COLUMNS = ["relative", "label", "class_name", "split", "reason", "action", "detail", "sha1", "bytes", "format", "mode", "width", "height", "tree_path"]


@dataclass
class CleanDataset:
    name: str
    source: Path  # the user's folder: read, never written
    folder: Path  # data/clean/<name>/
    report: dict = field(default_factory=dict)

    @property
    def tree(self) -> Path:
        return self.folder / "tree"

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.csv"

    @property
    def manifest(self):
        import pandas as pd

        return pd.read_csv(self.manifest_path, keep_default_na=False)

    def split_dir(self, split: str) -> Path:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return self.tree / split

    def files(self, split: str) -> tuple[list[Path], np.ndarray]:
        """Paths (in the tree, all readable RGB JPEGs) and labels of one split, in a stable order."""
        paths, labels = [], []
        for label, class_name in enumerate(CLASS_NAMES):
            found = sorted((self.split_dir(split) / class_name).glob("*.jpg"))
            paths += found
            labels += [label] * len(found)
        return paths, np.array(labels, dtype=np.int64)

    def counts(self) -> dict:
        return {f"n_{split}": self.report["splits"][split]["total"] for split in SPLITS}

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        return f"CleanDataset({self.name!r}, {counts}, skipped={self.report.get('skipped', 0)})"


def _fingerprint(files) -> str:
    digest = hashlib.sha1()
    for item in files:
        stat = item.path.stat()
        digest.update(f"{item.relative}|{item.label}|{item.given_split}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _tree_name(item, sha1: str) -> str:
    stem = item.relative.replace("/", "__").rsplit(".", 1)[0]
    return f"{stem}-{sha1[:8]}.jpg"


def clean_folder(source: str | Path, name: str, *, processes: int | None = None, progress: bool = True, force: bool = False) -> CleanDataset:
    """Clean and split a labelled folder into data/clean/<name>/ (cached; force=True redoes it)."""
    source = Path(source).expanduser().resolve()
    files = find_labelled_files(source)
    folder = setup.DATA_DIR / "clean" / name
    fingerprint = _fingerprint(files)
    report_path = folder / "report.json"
    if not force and report_path.exists():
        report = json.loads(report_path.read_text())
        if report.get("fingerprint") == fingerprint and (folder / "tree").is_dir():
            return CleanDataset(name, source, folder, report)

    rows = scan_files([f.path for f in files], processes=processes, progress=progress)
    has_test_folder = any(f.given_split == "test" for f in files)
    tree = folder / "tree"
    if tree.exists():
        shutil.rmtree(tree)  # our own derived links and copies, never the user's photos
    for split in SPLITS:
        for class_name in CLASS_NAMES:
            (tree / split / class_name).mkdir(parents=True, exist_ok=True)

    records = []
    for item, row in zip(files, rows):
        if item.given_split is None:
            split = split_of(row["sha1"])
        elif item.given_split == "val" and not has_test_folder:
            split = split_given_validation(row["sha1"])
        else:
            split = item.given_split
        tree_path = ""
        if row["action"] != "skip":
            target = tree / split / CLASS_NAMES[item.label] / _tree_name(item, row["sha1"])
            if row["action"] == "convert":
                convert_to_rgb_jpeg(item.path, target)
            else:
                try:
                    target.symlink_to(item.path)
                except OSError:  # no symlinks (e.g. Windows without developer mode)
                    shutil.copyfile(item.path, target)
            tree_path = target.relative_to(folder).as_posix()
        records.append({
            "relative": item.relative, "label": item.label, "class_name": CLASS_NAMES[item.label], "split": split,
            **{k: row[k] for k in ("reason", "action", "detail", "sha1", "bytes", "format", "mode", "width", "height")},
            "tree_path": tree_path,
        })

    import pandas as pd

    manifest = pd.DataFrame.from_records(records, columns=MANIFEST_COLUMNS)
    folder.mkdir(parents=True, exist_ok=True)
    manifest.to_csv(folder / "manifest.csv", index=False)
    reasons = manifest["reason"].value_counts().to_dict()
    usable = manifest[manifest["action"] != "skip"]
    report = {
        "name": name,
        "source": str(source),
        "fingerprint": fingerprint,
        "files": len(manifest),
        "usable": len(usable),
        "skipped": int((manifest["action"] == "skip").sum()),
        "converted": int((manifest["action"] == "convert").sum()),
        "reasons": {reason: {"count": int(reasons.get(reason, 0)), "action": action} for reason, action in ACTIONS.items()},
        "splits": {
            split: {
                "total": int((usable["split"] == split).sum()),
                **{c: int(((usable["split"] == split) & (usable["class_name"] == c)).sum()) for c in CLASS_NAMES},
            }
            for split in SPLITS
        },
    }
    report_path.write_text(json.dumps(report, indent=2))
    return CleanDataset(name, source, folder, report)


def _name_for_folder(folder: Path) -> str:
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:8]
    return f"{folder.name.lower() or 'images'}-{digest}"


def synthetic_source(n_per_class: int = QUICK_IMAGES_PER_CLASS) -> Path:
    """data/synthetic/ (made once): the quick-mode photos, bad files planted."""
    from helpers.synthetic import make_synthetic_pets

    root = setup.DATA_DIR / "synthetic"
    marker = root / f".complete-{n_per_class}"
    if not marker.exists():
        for stale in root.glob(".complete-*"):  # the folder is about to hold another size
            stale.unlink()
        make_synthetic_pets(root, n_per_class=n_per_class)
        marker.touch()
    return root


def get_dataset(source: str | Path | None = None, *, quick: bool | None = None, progress: bool = True) -> CleanDataset:
    """The cleaned, split photos for a notebook (see the module docstring for the order)."""
    quick = setup.QUICK if quick is None else quick
    source = source or os.environ.get("CATSDOGS_IMAGES") or None
    if source:
        folder = Path(source).expanduser()
        return clean_folder(folder, _name_for_folder(folder), progress=progress)
    if quick:
        return clean_folder(synthetic_source(), "synthetic", progress=progress)
    from helpers.download import download_petimages

    return clean_folder(download_petimages(), "petimages", progress=progress)


def report_table(dataset: CleanDataset):
    """The cleaning report as a table: reason, files, action."""
    import pandas as pd

    rows = [(reason, entry["count"], entry["action"]) for reason, entry in dataset.report["reasons"].items()]
    return pd.DataFrame(rows, columns=["reason", "files", "action"]).set_index("reason")

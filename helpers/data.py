"""The one call every notebook makes for its photos: `get_dataset()`.

Where the photos come from, in order:
  1. a folder given as `source`, or the CATSDOGS_IMAGES environment variable;
  2. quick mode (CATSDOGS_QUICK=1): a small synthetic PetImages folder made on the spot;
  3. a download (helpers/download.py), verified and kept in data/: the source named by the
     CATSDOGS_SOURCE environment variable, else the notebook's `default_source`:
       "filtered"   Google's cats_and_dogs_filtered.zip, 68 MB, 3,000 photos (train 2,000);
       "petimages"  Microsoft's PetImages zip, 787 MB, about 25,000 photos;
       "kaggle"     the Kaggle competition's train.zip (needs a Kaggle API token).
The photos are cleaned once (helpers/cleaning.py) and split by content hash
(helpers/splits.py); the result is cached in data/clean/<name>/ and reused while the
source folder's files (names, sizes, times) are unchanged.

`train_photos=N` keeps N training photos (half cats, half dogs), the same ones in every
notebook and on every machine (see `training_subset`); validation and test stay whole.
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
from helpers.cleaning import ACTIONS, MAX_PIXELS, convert_to_rgb_jpeg, scan_files
from helpers.layout import CLASS_NAMES, find_labelled_files
from helpers.splits import NEAR_DUPLICATE_BITS, SPLITS, balanced_subset, near_duplicate_groups, split_given_validation, split_of

QUICK_IMAGES_PER_CLASS = 120
# The fewest usable photos of each class a split may hold: fewer cannot train (train) or
# measure anything (validation, test). Far too few to learn well; a few hundred per class is a start.
MIN_PHOTOS_PER_CLASS = {"train": 2, "val": 1, "test": 1}
SOURCE_ENV = "CATSDOGS_SOURCE"
SOURCES = ("filtered", "petimages", "kaggle")
MANIFEST_COLUMNS = ["relative", "label", "class_name", "split", "reason", "action", "detail", "sha1", "bytes", "format", "mode", "width", "height",
                    "phash", "duplicate_group", "tree_path"]
# Part of every cleaning fingerprint: a change to the cleaning or splitting rules redoes old results.
CLEANING_RULES = f"v2 near-duplicates<={NEAR_DUPLICATE_BITS}bits too-large"


class DatasetError(ValueError):
    """The photos found cannot train a model; the message says what was found and what to do."""


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
    digest = hashlib.sha1(CLEANING_RULES.encode())
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

    usable_rows = [row["action"] != "skip" for row in rows]
    group_keys = near_duplicate_groups([row["phash"] if ok else "" for row, ok in zip(rows, usable_rows)], [row["sha1"] for row in rows])
    group_sizes = {}
    for key, ok in zip(group_keys, usable_rows):
        group_sizes[key] = group_sizes.get(key, 0) + ok
    records = []
    for item, row, group_key in zip(files, rows, group_keys):
        if item.given_split is None:
            split = split_of(group_key)
        elif item.given_split == "val" and not has_test_folder:
            split = split_given_validation(group_key)
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
            **{k: row[k] for k in ("reason", "action", "detail", "sha1", "bytes", "format", "mode", "width", "height", "phash")},
            "duplicate_group": group_key[:12] if row["action"] != "skip" and group_sizes[group_key] > 1 else "",
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
        "max_pixels": MAX_PIXELS,  # the too-large limit
        "near_duplicates": near_duplicate_report(manifest),
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


def near_duplicate_report(manifest) -> dict:
    """Near-duplicate groups among the usable photos: how many, and the ones to look at.

    across_classes: groups holding both a cat and a dog (a wrong label, or both animals);
    across_splits: groups split apart, which only a folder that came split can cause.
    Each is listed as its members' relative paths.
    """
    grouped = manifest[(manifest["duplicate_group"] != "") & (manifest["action"] != "skip")]
    groups = list(grouped.groupby("duplicate_group"))
    return {
        "max_bits": NEAR_DUPLICATE_BITS,
        "groups": len(groups),
        "photos": len(grouped),
        "across_classes": [sorted(g["relative"]) for _, g in groups if g["label"].nunique() > 1],
        "across_splits": [sorted(g["relative"]) for _, g in groups if g["split"].nunique() > 1],
    }


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


def chosen_source(default_source: str = "petimages") -> str:
    """The download to use: CATSDOGS_SOURCE if set, else default_source (checked either way)."""
    from_env = os.environ.get(SOURCE_ENV, "").strip().lower()
    name = from_env or (default_source or "").strip().lower()
    if name not in SOURCES:
        where = f"the {SOURCE_ENV} environment variable" if from_env else "default_source"
        raise ValueError(f"{where} is {name!r}; use one of {', '.join(SOURCES)} "
                         "(or CATSDOGS_IMAGES=<folder> for photos you already have).")
    return name


def download_source(name: str) -> Path:
    """The folder of photos of one download source, fetched and verified once (helpers/download.py)."""
    from helpers import download

    if name == "filtered":
        return download.download_filtered()
    if name == "petimages":
        return download.download_petimages()
    return download.download_kaggle()


def _subset_is_current(folder: Path, fingerprint: str) -> dict | None:
    report_path = folder / "report.json"
    if report_path.exists() and (folder / "tree").is_dir():
        report = json.loads(report_path.read_text())
        if report.get("fingerprint") == fingerprint:
            return report
    return None


def training_subset(dataset: CleanDataset, train_photos: int | None) -> CleanDataset:
    """`dataset` with only `train_photos` of its training photos (validation and test whole).

    Half are cats and half dogs (a class with fewer photos gives all it has). Which ones
    is decided by a hash of each photo's content (helpers.splits.balanced_subset), so
    every notebook and every machine gets the same photos, a smaller subset is part of
    every larger one, and adding photos to the source never swaps an old photo for
    another old one (a new photo enters only if its hash ranks inside the subset).
    Asking for as many photos as the split holds, or more, returns `dataset` itself.
    The subset is its own dataset, data/clean/<name>-train<N>/, of links into the
    full tree (caches built from it are separate too); its report keeps the cleaning
    counts of the whole source and gives the subset's own split counts.
    """
    if train_photos is None:
        return dataset
    if isinstance(train_photos, bool) or not isinstance(train_photos, (int, np.integer)) or train_photos < 2:
        raise ValueError(f"train_photos must be a whole number of at least 2 (half cats, half dogs), got {train_photos!r}.")
    train_photos = int(train_photos)
    manifest = dataset.manifest
    is_train = (manifest["split"] == "train") & (manifest["action"] != "skip")
    if is_train.sum() <= train_photos:
        return dataset
    name = f"{dataset.name}-train{train_photos}"
    folder = setup.DATA_DIR / "clean" / name
    fingerprint = f"{dataset.report['fingerprint']}|train_photos={train_photos}"
    report = _subset_is_current(folder, fingerprint)
    if report is not None:
        return CleanDataset(name, dataset.source, folder, report)

    train = manifest[is_train]
    chosen = set(train.index[balanced_subset(train["sha1"].tolist(), train["label"].tolist(), train["relative"].tolist(), train_photos)])
    keep = (manifest["action"] == "skip") | ~is_train | manifest.index.isin(chosen)
    subset = manifest[keep].copy()
    tree = folder / "tree"
    if tree.exists():
        shutil.rmtree(tree)  # our own links from an earlier subset
    for split in SPLITS:
        for class_name in CLASS_NAMES:
            (tree / split / class_name).mkdir(parents=True, exist_ok=True)
    for tree_path in subset.loc[subset["tree_path"] != "", "tree_path"]:
        original = (dataset.folder / tree_path).resolve()  # the user's photo, or our converted copy
        target = folder / tree_path
        try:
            target.symlink_to(original)
        except OSError:  # no symlinks (e.g. Windows without developer mode)
            shutil.copyfile(original, target)
    subset.to_csv(folder / "manifest.csv", index=False)
    usable = subset[subset["action"] != "skip"]
    report = json.loads(json.dumps(dataset.report))  # a deep copy: the cleaning counts stay the source's
    report.update(name=name, fingerprint=fingerprint, subset={
        "of": dataset.name, "train_photos": train_photos,
        "train_available": dataset.report["splits"]["train"],
    })
    report["splits"]["train"] = {
        "total": int((usable["split"] == "train").sum()),
        **{c: int(((usable["split"] == "train") & (usable["class_name"] == c)).sum()) for c in CLASS_NAMES},
    }
    (folder / "report.json").write_text(json.dumps(report, indent=2))
    return CleanDataset(name, dataset.source, folder, report)


def get_dataset(source: str | Path | None = None, *, quick: bool | None = None, progress: bool = True,
                default_source: str = "petimages", train_photos: int | None = None) -> CleanDataset:
    """The cleaned, split photos for a notebook (see the module docstring for the order).

    default_source: the download this notebook uses when nothing else is set
    ("filtered", "petimages" or "kaggle"); CATSDOGS_SOURCE overrides it for every notebook.
    train_photos: keep only this many training photos (see `training_subset`).
    """
    quick = setup.QUICK if quick is None else quick
    name = chosen_source(default_source)  # checked even when unused: a typo should not wait for a full run
    from_env = not source and bool(os.environ.get("CATSDOGS_IMAGES"))
    source = source or os.environ.get("CATSDOGS_IMAGES") or None
    if source:
        folder = Path(source).expanduser()
        dataset = clean_folder(folder, _name_for_folder(folder), progress=progress)
        where = (f"The folder came from CATSDOGS_IMAGES={os.environ['CATSDOGS_IMAGES']}: point it at your photos, "
                 "or unset it to use the series' download." if from_env else
                 f"Pass get_dataset() a folder of cat and dog photos, or none to use the series' download.")
    elif quick:
        dataset = clean_folder(synthetic_source(), "synthetic", progress=progress)
        where = f"These are quick mode's synthetic photos: delete {dataset.source} to make them again."
    else:
        dataset = clean_folder(download_source(name), name, progress=progress)
        where = (f"These are the photos of the {name!r} download: delete {dataset.source} and {setup.DATA_DIR / 'downloads'} "
                 "to download them again, or set CATSDOGS_SOURCE to another source.")
    check_trainable(dataset, where)
    return training_subset(dataset, train_photos)


_SPLIT_FOLDER_NAMES = {"train": "train", "val": "validation", "test": "test"}


def _photos_of(n: int, class_name: str) -> str:
    return f"{n:,} {class_name}{'s' * (n != 1)}"


def check_trainable(dataset: CleanDataset, where: str = "") -> CleanDataset:
    """`dataset` itself when it can train and be evaluated; else DatasetError saying what was found.

    Stops when no file is usable (the counts per reason say why), and when a split holds fewer
    photos of a class than MIN_PHOTOS_PER_CLASS. `where` says how the folder was chosen.
    """
    report = dataset.report
    what_to_do = (f"Each file's reason is in {dataset.manifest_path}. "
                  + (where or f"The photos were read from {dataset.source}."))
    if report["usable"] == 0:
        reasons = ", ".join(f"{reason} {entry['count']:,}" for reason, entry in report["reasons"].items() if entry["count"])
        raise DatasetError(
            f"{dataset.source}: {report['files']:,} file{'s' * (report['files'] != 1)}, none usable: {reasons or 'no files'}.\n"
            "The series needs photos that decode as images (JPEG; PNG, BMP and GIF are converted). Files with a .jpg "
            "name can be something else: an HTML error page or a text file saved by a failed download, or a "
            f"Thumbs.db. {what_to_do}")
    short = [(split, class_name) for split, needed in MIN_PHOTOS_PER_CLASS.items() for class_name in CLASS_NAMES
             if report["splits"][split][class_name] < needed]
    if short:
        found = "; ".join(f"{_SPLIT_FOLDER_NAMES[split]} " + " and ".join(_photos_of(report["splits"][split][c], c) for c in CLASS_NAMES)
                          for split in SPLITS)
        lacking = ", ".join(f"{class_name}s in {_SPLIT_FOLDER_NAMES[split]}" for split, class_name in short)
        raise DatasetError(
            f"{dataset.source}: {report['usable']:,} usable photos, too few to train and evaluate a model. "
            f"The splits hold: {found}; too few {lacking}. Each split needs at least "
            + ", ".join(f"{n} of each class in {_SPLIT_FOLDER_NAMES[split]}" for split, n in MIN_PHOTOS_PER_CLASS.items())
            + " (and a few hundred photos per class to learn anything). A folder the series splits itself sends "
            "about 80% of each class to train and 10% each to validation and test; a folder that comes split "
            f"(train/, validation/, test/) is used as given. Add photos. {what_to_do}")
    return dataset


def report_table(dataset: CleanDataset):
    """The cleaning report as a table: reason, files, action, and the limit behind too-large."""
    import pandas as pd

    limit = dataset.report.get("max_pixels", MAX_PIXELS)
    notes = {"too-large": f"more than {limit:,} pixels ({limit / 1e6:.1f} megapixels)"}
    rows = [(reason, entry["count"], entry["action"], notes.get(reason, "")) for reason, entry in dataset.report["reasons"].items()]
    return pd.DataFrame(rows, columns=["reason", "files", "action", "note"]).set_index("reason")

"""Photos as arrays, saved in the formats the series' notebooks read.

* HDF5 in the classic deeplearning.ai cat/non-cat schema (`train_set_x`, `train_set_y`,
  `test_set_x`, `test_set_y`, `list_classes`): `load_h5_dataset` reads both the classic
  files (CATSDOGS_H5=<dir>) and the cats-vs-dogs cache built here, so notebooks 01-03
  run on either without a change.
* CSV, as a popular notebook that trains a Keras CNN from four CSV files stores its photos
  (notebook 04): one flattened 100x100x3 image per row, labels 0/1.
* Pickle, as many NumPy tutorials save their arrays: only ever unpickle files you made yourself.
"""
from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from helpers import setup
from helpers.cleaning import JPEG_FORMATS
from helpers.layout import CLASS_NAMES
from helpers.parallel import parallel_map


class H5Dataset(NamedTuple):
    """Unpacks like the classic `load_dataset()`: train_x, train_y, test_x, test_y, classes."""

    train_x: np.ndarray  # uint8 (m, h, w, 3)
    train_y: np.ndarray  # int (1, m)
    test_x: np.ndarray
    test_y: np.ndarray
    classes: np.ndarray  # bytes; classes[y] names label y


def open_rgb(path: str | Path, min_side: int) -> Image.Image:
    """A photo as an RGB image whose sides are still >= min_side.

    JPEGs are decoded by libjpeg at 1/2, 1/4 or 1/8 scale when that is still large enough:
    a big photo decodes several times faster than at full size.
    """
    with Image.open(path) as image:
        if image.format in JPEG_FORMATS:
            image.draft("RGB", (min_side, min_side))
        return image.convert("RGB")


def load_image(path: str | Path, size: int) -> np.ndarray:
    """One photo as uint8 (size, size, 3): squashed to a square, like Keras' default resize."""
    return np.asarray(open_rgb(path, size).resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def _load_image_star(args) -> np.ndarray:
    return load_image(*args)


def load_images(paths, size: int = 64, processes: int | None = None, progress: bool = True) -> np.ndarray:
    """Many photos as one uint8 array (n, size, size, 3), decoded in several processes."""
    jobs = [(str(p), size) for p in paths]
    out = np.empty((len(jobs), size, size, 3), dtype=np.uint8)
    images = parallel_map(_load_image_star, jobs, processes=processes, desc=f"Loading {size}x{size}", unit="img", progress=progress)
    for i, array in enumerate(images):
        out[i] = array
    return out


def save_h5(path: str | Path, prefix: str, x: np.ndarray, y: np.ndarray, classes=CLASS_NAMES) -> Path:
    """One file of the classic schema: <prefix>_set_x, <prefix>_set_y, list_classes."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset(f"{prefix}_set_x", data=np.asarray(x, dtype=np.uint8), compression="gzip", compression_opts=1)
        f.create_dataset(f"{prefix}_set_y", data=np.asarray(y, dtype=np.int64).reshape(-1))
        f.create_dataset("list_classes", data=np.array([c.encode() if isinstance(c, str) else c for c in classes]))
    return path


def _one_file(directory: Path, prefix: str) -> Path:
    found = sorted(directory.glob(f"{prefix}_*.h5"))
    if len(found) != 1:
        raise FileNotFoundError(
            f"Expected exactly one {prefix}_*.h5 file in {directory}, found {[p.name for p in found]}. "
            "Point CATSDOGS_H5 at the folder holding train_catvnoncat.h5 and test_catvnoncat.h5, "
            "or unset it to use the cats-vs-dogs cache."
        )
    return found[0]


def load_h5_split(directory: str | Path, prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x uint8 (m, h, w, 3), y int (1, m), classes, from <directory>/<prefix>_*.h5."""
    import h5py

    with h5py.File(_one_file(Path(directory), prefix), "r") as f:
        x = np.array(f[f"{prefix}_set_x"][:])
        y = np.array(f[f"{prefix}_set_y"][:]).astype(np.int64).reshape(1, -1)
        classes = np.array(f["list_classes"][:])
    return x, y, classes


def load_h5_dataset(directory: str | Path) -> H5Dataset:
    """Train and test sets from the classic cat/non-cat files or this series' cache."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a folder of .h5 files (check CATSDOGS_H5).")
    train_x, train_y, classes = load_h5_split(directory, "train")
    test_x, test_y, _ = load_h5_split(directory, "test")
    return H5Dataset(train_x, train_y, test_x, test_y, classes)


def build_h5_cache(dataset, size: int = 64, progress: bool = True) -> Path:
    """data/cache/<dataset>/h5_<size>/ with {train,val,test}_catsdogs.h5 (made once)."""
    directory = setup.DATA_DIR / "cache" / dataset.name / f"h5_{size}"
    stamp = directory / "fingerprint.txt"
    if stamp.exists() and stamp.read_text() == dataset.report["fingerprint"]:
        return directory
    for split in ("train", "val", "test"):
        paths, labels = dataset.files(split)
        save_h5(directory / f"{split}_catsdogs.h5", split, load_images(paths, size, progress=progress), labels)
    stamp.write_text(dataset.report["fingerprint"])
    return directory


def h5_source(quick: bool | None = None, *, default_source: str = "petimages", train_photos: int | None = None) -> tuple[Path, str]:
    """(folder, dataset name) for the NumPy notebooks: CATSDOGS_H5 if set, else the 64x64 cache
    of get_dataset(quick=quick, default_source=default_source, train_photos=train_photos)."""
    if os.environ.get("CATSDOGS_H5"):
        return Path(os.environ["CATSDOGS_H5"]).expanduser(), "catvnoncat"
    from helpers.data import get_dataset

    dataset = get_dataset(quick=quick, default_source=default_source, train_photos=train_photos)
    return build_h5_cache(dataset, 64), dataset.name


def csv_subset(dataset, split: str, limit: int | None) -> tuple[list[Path], np.ndarray]:
    """The photos export_csv writes for a split: all of them, or `limit` picked evenly (reproducible)."""
    paths, labels = dataset.files(split)
    if limit is not None and len(paths) > limit:
        keep = np.linspace(0, len(paths) - 1, limit).round().astype(int)
        paths, labels = [paths[i] for i in keep], labels[keep]
    return paths, labels


def export_csv(dataset, destination: str | Path, size: int = 100, max_train: int | None = 2000, max_test: int | None = 400, progress: bool = True) -> Path:
    """The four CSV files notebook 04 reads: input.csv, labels.csv, input_test.csv, labels_test.csv.

    max_train / max_test keep the sizes of the CSV notebook 04 follows (2,000 and 400): as text, one 100x100x3
    photo is about 100 KB, so all 25,000 photos would be gigabytes.
    """
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for split, stem, limit in (("train", "", max_train), ("test", "_test", max_test)):
        paths, labels = csv_subset(dataset, split, limit)
        images = load_images(paths, size, progress=progress)
        np.savetxt(destination / f"input{stem}.csv", images.reshape(len(images), -1), fmt="%d", delimiter=",")
        np.savetxt(destination / f"labels{stem}.csv", labels, fmt="%d", delimiter=",")
    return destination


def load_csv(directory: str | Path, size: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train (n, size, size, 3) uint8, y_train (n,), x_test, y_test from the CSV files export_csv writes."""
    directory = Path(directory)
    arrays = []
    for stem in ("", "_test"):
        for kind in ("input", "labels"):
            path = directory / f"{kind}{stem}.csv"
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: make the CSV files with helpers.caches.export_csv first.")
            arrays.append(np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=1))
    x_train, y_train, x_test, y_test = arrays
    return (x_train.reshape(-1, size, size, 3).astype(np.uint8), y_train, x_test.reshape(-1, size, size, 3).astype(np.uint8), y_test)


PICKLE_WARNING = "Unpickling runs code stored in the file: only load pickles you made yourself, never one from the internet."


def save_pickle(obj, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_pickle(path: str | Path):
    """Load a pickle (with a warning: a pickle from elsewhere can run any code)."""
    warnings.warn(PICKLE_WARNING, stacklevel=2)
    with open(path, "rb") as f:
        return pickle.load(f)

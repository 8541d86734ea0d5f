"""Find the labelled photos in a folder, whatever the accepted layout.

Accepted layouts (folder names in any case):
  1. class folders:  <root>/{Cat,Dog}/*  or  <root>/{cats,dogs}/*  (also inside <root>/PetImages/)
  2. split folders:  <root>/{train, validation|val, test}/{cat(s),dog(s)}/*  (used as given)
  3. Kaggle's flat:  <root>/train/cat.N.jpg, <root>/train/dog.N.jpg
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CLASS_NAMES = ("cat", "dog")  # label 0 = cat, 1 = dog
_CLASS_FOLDERS = {"cat": 0, "cats": 0, "dog": 1, "dogs": 1}
_SPLIT_FOLDERS = {"train": "train", "validation": "val", "val": "val", "valid": "val", "test": "test"}
_KAGGLE_NAME = re.compile(r"^(cat|dog)\.\d+\.[A-Za-z]+$", re.IGNORECASE)

LAYOUT_HELP = """Accepted layouts (folder names in any case):
  1. class folders:  ROOT/Cat/*.jpg and ROOT/Dog/*.jpg (or cats/ dogs/, also inside ROOT/PetImages/)
  2. split folders:  ROOT/train/, ROOT/validation/ (or val/), ROOT/test/, each with cat(s)/ and dog(s)/
  3. Kaggle's flat:  ROOT/train/cat.0.jpg, ROOT/train/dog.0.jpg, ..."""


class LayoutError(ValueError):
    """The folder holds no labelled photos in a layout the series understands."""


@dataclass(frozen=True)
class LabelledFile:
    path: Path
    label: int  # 0 = cat, 1 = dog
    relative: str  # path relative to the dataset root, with "/" (stable across machines)
    given_split: str | None = None  # 'train' | 'val' | 'test' when the layout says so


def _subdirs(folder: Path) -> dict[str, Path]:
    return {child.name.lower(): child for child in folder.iterdir() if child.is_dir()}


def _class_dirs(folder: Path) -> dict[int, Path] | None:
    found = {}
    for name, path in _subdirs(folder).items():
        if name in _CLASS_FOLDERS:
            found[_CLASS_FOLDERS[name]] = path
    return found if set(found) == {0, 1} else None


def _files_under(folder: Path):
    # Links to files count (a folder of links is a common way to reuse photos); rglob
    # does not descend into linked folders, so a link loop cannot hang the scan.
    return sorted(path for path in folder.rglob("*") if path.is_file())


def find_labelled_files(root: str | Path) -> list[LabelledFile]:
    """Every file under the class folders of an accepted layout, bad files included.

    Cleaning decides which files are usable; this only reads names, so it is fast.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise LayoutError(f"{root} is not a folder. Point CATSDOGS_IMAGES at a folder of cat and dog photos.\n{LAYOUT_HELP}")
    base = _subdirs(root).get("petimages", root)
    found: list[LabelledFile] = []

    classes = _class_dirs(base)
    if classes:  # layout 1
        for label, folder in sorted(classes.items()):
            found += [LabelledFile(p, label, p.relative_to(root).as_posix()) for p in _files_under(folder)]
    else:
        splits = {_SPLIT_FOLDERS[name]: path for name, path in _subdirs(base).items() if name in _SPLIT_FOLDERS}
        split_classes = {split: _class_dirs(path) for split, path in splits.items()}
        if split_classes and all(split_classes.values()) and "train" in split_classes:  # layout 2
            for split, classes in sorted(split_classes.items()):
                for label, folder in sorted(classes.items()):
                    found += [LabelledFile(p, label, p.relative_to(root).as_posix(), split) for p in _files_under(folder)]
        elif "train" in splits:  # layout 3: Kaggle's flat train/cat.N.jpg
            for path in sorted(splits["train"].iterdir()):
                if path.is_file() and _KAGGLE_NAME.match(path.name):
                    label = CLASS_NAMES.index(path.name.split(".")[0].lower())
                    found.append(LabelledFile(path, label, path.relative_to(root).as_posix()))
    if not found or {f.label for f in found} != {0, 1}:
        raise LayoutError(f"No cat and dog photos found in {root} in a layout the series understands.\n{LAYOUT_HELP}")
    return found

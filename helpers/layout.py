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
        one_class, what = _what_was_found(root, base)
        headline = (f"A class folder is missing in {root}:" if one_class
                    else f"No cat and dog photos found in {root} in a layout the series understands.")
        raise LayoutError(f"{headline} {what}\n{LAYOUT_HELP}")
    return found


def _count_files(folder: Path) -> str:
    n = len(_files_under(folder))
    return f"{n:,} file{'s' * (n != 1)}"


def _other_class_folder(name: str) -> str:
    """The other class's folder name in the same style: cats -> dogs, Cat -> Dog, DOG -> CAT."""
    swapped = {"cat": "dog", "dog": "cat"}[name.lower()[:3]] + name.lower()[3:]
    return swapped.upper() if name.isupper() else swapped.capitalize() if name[0].isupper() else swapped


def _missing_class(root: Path, found: dict) -> str:
    """'found cats/ (20 files) but no dog folder: add dogs/ ...' for a folder with one class folder."""
    (label, path), = found.items()
    other = CLASS_NAMES[1 - label]
    where = path.parent.relative_to(root).as_posix()
    prefix = "" if where == "." else where + "/"
    return (f"found {prefix}{path.name}/ ({_count_files(path)}) but no folder of {other} photos beside it; "
            f"add {prefix}{_other_class_folder(path.name)}/ with the {other} photos")


def _what_was_found(root: Path, base: Path) -> tuple[bool, str]:
    """(whether exactly one class is missing somewhere, what the folder holds), said so that
    the missing piece is obvious."""
    subdirs = _subdirs(base)
    classes = {_CLASS_FOLDERS[name]: path for name, path in subdirs.items() if name in _CLASS_FOLDERS}
    if len(classes) == 1:
        return True, _missing_class(root, classes) + "."
    splits = {name: path for name, path in subdirs.items() if name in _SPLIT_FOLDERS}
    missing, problems = [], []
    for name, path in sorted(splits.items()):
        inside = {_CLASS_FOLDERS[n]: p for n, p in _subdirs(path).items() if n in _CLASS_FOLDERS}
        if len(inside) == 1:
            missing.append(_missing_class(root, inside))
        elif not inside and name != "train":
            problems.append(f"the split folder {path.name}/ holds no cat(s)/ or dog(s)/ folder")
    if "train" in splits and not _class_dirs(splits["train"]):
        names = [p.name.split(".")[0].lower() for p in splits["train"].iterdir() if p.is_file() and _KAGGLE_NAME.match(p.name)]
        if names and len(set(names)) == 1:
            other = "dog" if names[0] == "cat" else "cat"
            missing.append(f"{splits['train'].name}/ holds {len(names):,} {names[0]}.N.jpg files (Kaggle's flat layout) "
                           f"but no {other}.N.jpg file; add the {other} photos there as {other}.0.jpg, {other}.1.jpg and so on")
    if splits and "train" not in splits:
        problems.append(f"there are split folders ({', '.join(p.name + '/' for p in splits.values())}) but no train/")
    if missing or problems:
        text = "; ".join(missing + problems) + "."
        return bool(missing), text if missing else text[0].upper() + text[1:]
    folders = sorted(p.name + "/" for p in subdirs.values())
    loose = sum(1 for p in base.iterdir() if p.is_file())
    found = ", ".join(filter(None, [
        f"the folders {', '.join(folders[:8])}{' ...' if len(folders) > 8 else ''}" if folders else "",
        f"{loose:,} loose file{'s' * (loose != 1)}" if loose else "",
    ]))
    return False, f"It holds {found or 'nothing'}; the photos must be in folders named after the two classes."

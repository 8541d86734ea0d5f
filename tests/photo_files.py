"""Tiny real JPEG files for the tests (each one different, so their content hashes differ)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image


def write_photo(path: str | Path, seed: int | str = 0, size: tuple[int, int] = (24, 16)) -> Path:
    """A small RGB JPEG of random pixels; the same seed gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    number = int(hashlib.sha1(str(seed).encode()).hexdigest()[:8], 16)
    pixels = np.random.default_rng(number).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(path, "JPEG", quality=90)
    return path


def write_photos(folder: str | Path, count: int, prefix: str = "", start: int = 0) -> list[Path]:
    folder = Path(folder)
    return [write_photo(folder / f"{prefix}{index}.jpg", seed=f"{folder.name}/{prefix}{index}") for index in range(start, start + count)]


def sha256_of_tree(root: str | Path) -> dict[str, str]:
    root = Path(root)
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}

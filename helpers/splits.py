"""Deterministic train / validation / test splits that never reshuffle.

A file's split comes from a hash of its content (sha1 of its bytes), not from `random`:
adding photos, renaming them or moving to another machine leaves every old photo where
it was, and two copies of the same photo (Kaggle's pool has a few, and PetImages
`Cat/N.jpg` is Kaggle's `cat.N.jpg`) always land in the same split, so no test photo
leaks into training. The same fractions are applied to each class separately, so each
split holds the classes in the same proportions (up to hashing noise).
"""
from __future__ import annotations

import hashlib

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def split_of(key: str, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> str:
    """'train', 'val' or 'test' for a stable key (a content hash, or any identity string)."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers that sum to 1, got {fractions}")
    position = int(hashlib.sha256(key.encode()).hexdigest()[:15], 16) / 16**15  # uniform in [0, 1)
    if position < fractions[0]:
        return "train"
    return "val" if position < fractions[0] + fractions[1] else "test"


def split_given_validation(key: str) -> str:
    """For datasets with train/ and validation/ but no test/: half of validation becomes test."""
    return "val" if split_of(key, (0.5, 0.5, 0.0)) == "train" else "test"

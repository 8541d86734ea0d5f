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


def subset_rank(key: str) -> str:
    """A photo's place in the training-subset order: a hash of its content hash, salted so
    that the order is unrelated to the split position."""
    return hashlib.sha256(f"training-subset|{key}".encode()).hexdigest()


def balanced_subset(keys, labels, names, n: int) -> list[int]:
    """Indices of `n` items, half of each label (0 gets the odd one), with the lowest subset_rank.

    keys: content hashes; names break ties between byte-identical copies. The choice
    depends only on the items themselves, not on their order or the machine, and the
    subset of n is part of the subset of every larger n. Adding items never swaps one
    old item for another: an old item leaves only when a new one ranks above it.
    (No rule can give exactly n items and never change when items are added: two
    disjoint folders would each have to keep their own subset inside their union.)
    """
    wanted = {0: (n + 1) // 2, 1: n // 2}
    chosen = []
    for label, count in wanted.items():
        members = [i for i, item_label in enumerate(labels) if item_label == label]
        members.sort(key=lambda i: (subset_rank(keys[i]), names[i]))
        chosen += members[:count]
    return sorted(chosen)

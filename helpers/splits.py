"""Deterministic train / validation / test splits that never reshuffle.

A photo's split comes from a hash of its content (sha1 of its bytes), not from `random`,
and near-duplicate photos share one split. The same fractions are applied to each class
separately, so each split holds the classes in the same proportions (up to hashing noise).

What the split guarantees, exactly (for folders the series splits itself: class folders,
PetImages, Kaggle's flat train/):
* Two photos whose perceptual hashes (imagehash.phash, 64 bits) differ in at most
  NEAR_DUPLICATE_BITS bits are in the same split, and so is every chain of such photos
  (a "near-duplicate group"). Byte-identical copies (distance 0) are the simplest case:
  PetImages' Cat/N.jpg and Kaggle's cat.N.jpg, or one photo saved twice under two names.
  Re-encoded, resized or lightly recompressed copies are caught the same way. Each group
  takes the split of its member with the smallest content hash.
* The split depends only on the photos, not on their names, folder, order or machine.
* Adding photos moves no old photo, with one exception: a new photo that is a near-duplicate
  of old ones joins their group, and if its content hash is the group's smallest the group
  moves with it (the only way to keep the group together).
Not guaranteed: copies that a perceptual hash does not see as close (crops, mirror images,
heavy edits, another photo of the same animal), and folders that come already split
(train/ validation/ test/): those splits are used as given, so a near-duplicate group across
them stays split and is reported instead (report["near_duplicates"]["across_splits"]).
Groups holding both a cat and a dog photo are reported too ("across_classes"): one of the
labels is wrong, or the photo shows both.

Why imagehash rather than a dozen NumPy lines: phash itself is short (grey 32x32, a 2-D DCT,
the 8x8 lowest frequencies against their median), but imagehash is a small, maintained
library whose phash is the definition other tools and papers compare with, its hashes print
and parse as hex, and it offers the alternatives to compare (average_hash, dhash, whash,
crop_resistant_hash) behind the same call.

NEAR_DUPLICATE_BITS = 8, measured: among cats_and_dogs_filtered's 3,000 photos (4.5 million
pairs) one pair is within 8 bits (dog.74 / dog.180 at 2 bits: the same photo), and the closest
other pairs, at 10 bits, are different photos; a photo resized to 60 % and saved again at JPEG
quality 70 stays within 8 bits of its original (40 of 40 in the tests, 0-8 bits).
"""
from __future__ import annotations

import hashlib

import numpy as np

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
NEAR_DUPLICATE_BITS = 8  # of 64: phash distance at which two photos count as one (see above)


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


def near_duplicate_pairs(phashes, max_bits: int = NEAR_DUPLICATE_BITS) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose hex phashes differ in at most max_bits bits; "" never matches.

    All pairs are compared, in blocks, with NumPy's popcount: 25,000 photos take seconds.
    """
    present = [i for i, h in enumerate(phashes) if h]
    values = np.array([int(phashes[i], 16) for i in present], dtype=np.uint64)
    pairs = []
    block = 256
    for start in range(0, len(values), block):
        chunk = values[start:start + block]
        distance = np.bitwise_count(chunk[:, None] ^ values[None, start:])
        for a, b in zip(*np.nonzero(distance <= max_bits)):
            if b > a:  # the chunk against itself: keep each pair once, not the diagonal
                pairs.append((present[start + int(a)], present[start + int(b)]))
    return sorted(pairs)


def near_duplicate_groups(phashes, keys, max_bits: int = NEAR_DUPLICATE_BITS) -> list[str]:
    """For every item the key its near-duplicate group splits by: the smallest key in its group
    (its own key when it has no near-duplicate). keys are content hashes, so byte-identical
    copies share a group even without a phash."""
    parent = list(range(len(keys)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    same_bytes: dict[str, int] = {}
    links = near_duplicate_pairs(phashes, max_bits)
    for i, key in enumerate(keys):
        links.append((same_bytes.setdefault(key, i), i))
    for a, b in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    smallest: dict[int, str] = {}
    for i, key in enumerate(keys):
        r = root(i)
        smallest[r] = min(smallest.get(r, key), key)
    return [smallest[root(i)] for i in range(len(keys))]

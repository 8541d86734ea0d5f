"""The real photos in ../shared/data (skipped when absent, as on a fresh clone)."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.caches import build_h5_cache, load_h5_dataset
from helpers.data import get_dataset

pytestmark = pytest.mark.shared_data


def test_classic_catvnoncat_files_load_with_the_published_shapes(shared_data):
    train_x, train_y, test_x, test_y, classes = load_h5_dataset(shared_data / "catvnoncat")
    assert train_x.shape == (209, 64, 64, 3) and train_x.dtype == np.uint8
    assert test_x.shape == (50, 64, 64, 3)
    assert train_y.shape == (1, 209) and test_y.shape == (1, 50)
    assert int(train_y.sum()) == 72 and int(test_y.sum()) == 33  # cats, as the README there says
    assert list(classes) == [b"non-cat", b"cat"]


def test_cleaning_and_cache_on_cats_and_dogs_filtered(shared_data, project_dirs):
    dataset = get_dataset(shared_data / "cats_and_dogs_filtered", progress=False)
    assert dataset.report["usable"] == 3000 and dataset.report["skipped"] == 0
    counts = dataset.counts()
    assert counts["n_train"] == 2000  # train/ used as given
    assert (counts["n_val"], counts["n_test"]) == (485, 515)  # validation/ halved by content hash: the same on every machine (00 quotes it)
    assert dataset.report["splits"]["train"] == {"total": 2000, "cat": 1000, "dog": 1000}

    cache = load_h5_dataset(build_h5_cache(dataset, 64, progress=False))
    assert cache.train_x.shape == (2000, 64, 64, 3) and cache.train_y.shape == (1, 2000)
    assert cache.test_x.shape == (counts["n_test"], 64, 64, 3)
    assert list(cache.classes) == [b"cat", b"dog"]


def test_the_one_near_duplicate_pair_of_cats_and_dogs_filtered_is_found(shared_data, project_dirs):
    """00 quotes it: dog.74 and dog.180 are one photo (2 phash bits apart), both in train/."""
    report = get_dataset(shared_data / "cats_and_dogs_filtered", progress=False).report["near_duplicates"]
    assert (report["groups"], report["photos"], report["across_classes"], report["across_splits"]) == (1, 2, [], [])

"""get_dataset(train_photos=N): a class-balanced, content-chosen subset of the training photos."""
from __future__ import annotations

import shutil

import pytest
from photo_files import write_photos

from helpers import data
from helpers.caches import h5_source, load_h5_dataset
from helpers.data import clean_folder, get_dataset, training_subset


def _photos(source, per_class, start=0):
    write_photos(source / "cats", per_class, start=start)
    write_photos(source / "dogs", per_class, start=start)


def _train_names(dataset) -> set[str]:
    manifest = dataset.manifest
    return set(manifest.loc[(manifest["split"] == "train") & (manifest["action"] != "skip"), "relative"])


@pytest.fixture
def photos(tmp_path, project_dirs):
    _photos(tmp_path / "photos", 60)
    return tmp_path / "photos"


def test_subset_is_class_balanced_and_leaves_validation_and_test_whole(photos):
    full = clean_folder(photos, "full", progress=False)
    subset = training_subset(full, 21)
    assert subset.name == "full-train21" and subset.folder != full.folder
    assert subset.report["splits"]["train"] == {"total": 21, "cat": 11, "dog": 10}
    assert subset.report["subset"] == {"of": "full", "train_photos": 21, "train_available": full.report["splits"]["train"]}
    for split in ("val", "test"):
        assert [p.name for p in subset.files(split)[0]] == [p.name for p in full.files(split)[0]]
    paths, labels = subset.files("train")
    assert len(paths) == 21 and list(labels).count(0) == 11
    full_names = {p.name for p in full.files("train")[0]}
    assert {p.name for p in paths} <= full_names
    for path in paths:  # links to the user's photos, which stay untouched
        assert path.resolve().parent in {(photos / "cats").resolve(), (photos / "dogs").resolve()}
    assert _train_names(subset) <= _train_names(full)
    assert subset.report["files"] == full.report["files"]  # the cleaning report stays the source's


def test_smaller_subsets_are_part_of_larger_ones(photos):
    full = clean_folder(photos, "full", progress=False)
    small, large = _train_names(training_subset(full, 10)), _train_names(training_subset(full, 30))
    assert len(small) == 10 and len(large) == 30 and small < large


def test_adding_photos_never_swaps_an_old_photo_for_another_old_one(photos):
    before = _train_names(training_subset(clean_folder(photos, "growing", progress=False), 20))
    old_photos = _train_names(clean_folder(photos, "growing", progress=False))

    _photos(photos, 60, start=60)  # the source doubles
    after = _train_names(training_subset(clean_folder(photos, "growing", progress=False), 20))
    assert len(after) == 20
    assert after & old_photos <= before  # no old photo outside the subset came in
    entered = after - old_photos
    assert len(before - after) == len(entered)  # an old photo left only to make room for a new one
    assert entered, "with the source doubled, some new photos rank inside the subset"
    assert len(before & after) >= 5  # and most of it stayed (expected: about half)


def test_another_folder_or_machine_gives_the_same_subset(photos, tmp_path):
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(photos, copy)
    first = training_subset(clean_folder(photos, "a", progress=False), 16)
    second = training_subset(clean_folder(copy, "b", progress=False), 16)
    assert _train_names(first) == _train_names(second)


def test_asking_for_as_many_photos_as_the_split_holds_returns_the_dataset(photos):
    full = clean_folder(photos, "full", progress=False)
    available = full.counts()["n_train"]
    assert training_subset(full, available) is full and training_subset(full, 10 * available) is full
    assert training_subset(full, None) is full


@pytest.mark.parametrize("bad", [0, 1, -4, 2.5, "100", True])
def test_a_train_photos_that_is_not_a_count_is_refused(photos, bad):
    with pytest.raises(ValueError, match="train_photos must be a whole number"):
        training_subset(clean_folder(photos, "full", progress=False), bad)


def test_subset_is_made_once_and_redone_when_the_source_changes(photos, monkeypatch):
    subset = get_dataset(photos, train_photos=12, progress=False)
    made = (subset.folder / "report.json").stat().st_mtime_ns
    assert get_dataset(photos, train_photos=12, progress=False).report == subset.report
    assert (subset.folder / "report.json").stat().st_mtime_ns == made

    _photos(photos, 5, start=60)
    again = get_dataset(photos, train_photos=12, progress=False)
    assert again.report["fingerprint"] != subset.report["fingerprint"]
    assert len(again.files("train")[0]) == 12


def test_h5_source_passes_the_subset_and_caches_it_separately(project_dirs, monkeypatch):
    for name in ("CATSDOGS_H5", "CATSDOGS_IMAGES", "CATSDOGS_SOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(data.synthetic_source, "__defaults__", (30,))
    full_dir, full_name = h5_source(quick=True)
    subset_dir, subset_name = h5_source(quick=True, default_source="filtered", train_photos=20)
    assert (full_name, subset_name) == ("synthetic", "synthetic-train20")
    assert subset_dir != full_dir
    subset = load_h5_dataset(subset_dir)
    assert subset.train_x.shape == (20, 64, 64, 3) and int(subset.train_y.sum()) == 10
    assert subset.test_x.shape == load_h5_dataset(full_dir).test_x.shape

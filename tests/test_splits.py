"""helpers.splits and how helpers.data applies them: stable, machine-independent, stratified."""
from __future__ import annotations

import shutil
from collections import Counter

import pytest
from photo_files import write_photos

from helpers.data import clean_folder
from helpers.splits import DEFAULT_FRACTIONS, SPLITS, split_given_validation, split_of


def _splits(dataset) -> dict[str, str]:
    manifest = dataset.manifest
    return dict(zip(manifest["relative"], manifest["split"]))


def test_split_of_is_a_pure_function_of_the_key():
    keys = [f"photo-{i}" for i in range(200)]
    assert [split_of(k) for k in keys] == [split_of(k) for k in keys]
    assert set(split_of(k) for k in keys) == set(SPLITS)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.8, 0.3, 0.1), (1.1, -0.1, 0.0)])
def test_bad_fractions_are_refused(fractions):
    with pytest.raises(ValueError, match="sum to 1"):
        split_of("x", fractions)


def test_fractions_hold_within_each_class():
    """Each class is split by the same fractions, so every split keeps the class balance."""
    by_class = {"cat": [f"cat-{i}" for i in range(4000)], "dog": [f"dog-{i}" for i in range(2000)]}
    for keys in by_class.values():
        counts = Counter(split_of(k) for k in keys)
        for split, fraction in zip(SPLITS, DEFAULT_FRACTIONS):
            assert counts[split] / len(keys) == pytest.approx(fraction, abs=0.025)
    assert Counter(split_of(k, (0.0, 0.0, 1.0)) for k in by_class["dog"]) == {"test": 2000}


def test_validation_without_test_folder_is_halved_stably():
    keys = [f"v{i}" for i in range(2000)]
    counts = Counter(split_given_validation(k) for k in keys)
    assert set(counts) == {"val", "test"} and counts["val"] / 2000 == pytest.approx(0.5, abs=0.04)
    assert [split_given_validation(k) for k in keys] == [split_given_validation(k) for k in keys]


def test_adding_photos_leaves_every_old_photo_in_its_split(tmp_path, project_dirs):
    source = tmp_path / "photos"
    write_photos(source / "cats", 40)
    write_photos(source / "dogs", 40)
    before = _splits(clean_folder(source, "growing", progress=False))

    write_photos(source / "cats", 30, start=40)
    write_photos(source / "dogs", 30, start=40)
    after = _splits(clean_folder(source, "growing", progress=False))
    assert len(after) == 140
    assert {name: after[name] for name in before} == before


def test_another_folder_or_machine_gives_the_same_splits(tmp_path, project_dirs):
    first = tmp_path / "machine-a" / "photos"
    write_photos(first / "cats", 30)
    write_photos(first / "dogs", 30)
    second = tmp_path / "machine-b" / "deeper" / "copy"
    shutil.copytree(first, second)
    assert _splits(clean_folder(first, "a", progress=False)) == _splits(clean_folder(second, "b", progress=False))


def test_copies_of_one_photo_land_in_the_same_split(tmp_path, project_dirs):
    source = tmp_path / "photos"
    originals = write_photos(source / "cats", 30) + write_photos(source / "dogs", 30)
    for index, original in enumerate(originals):  # the same photo again under another name
        shutil.copyfile(original, original.with_name(f"copy-of-{index}.jpg"))
    splits = _splits(clean_folder(source, "dups", progress=False))
    for index, original in enumerate(originals):
        relative = original.relative_to(source).as_posix()
        assert splits[relative] == splits[relative.rsplit("/", 1)[0] + f"/copy-of-{index}.jpg"]
    assert len(set(splits.values())) > 1  # and not everything in one split


def test_kaggle_and_petimages_names_of_one_photo_share_a_split(tmp_path, project_dirs, synthetic_pets):
    """PetImages' Cat/N.jpg is Kaggle's train/cat.N.jpg: a content hash keeps them together."""
    kaggle = tmp_path / "kaggle" / "train"
    kaggle.mkdir(parents=True)
    for index in range(20):
        shutil.copyfile(synthetic_pets.images_dir / "Cat" / f"{index}.jpg", kaggle / f"cat.{index}.jpg")
        shutil.copyfile(synthetic_pets.images_dir / "Dog" / f"{index}.jpg", kaggle / f"dog.{index}.jpg")
    kaggle_splits = _splits(clean_folder(kaggle.parent, "kaggle", progress=False))
    pets_splits = _splits(clean_folder(synthetic_pets.root, "pets", progress=False))
    for index in range(20):
        assert kaggle_splits[f"train/cat.{index}.jpg"] == pets_splits[f"PetImages/Cat/{index}.jpg"]
        assert kaggle_splits[f"train/dog.{index}.jpg"] == pets_splits[f"PetImages/Dog/{index}.jpg"]

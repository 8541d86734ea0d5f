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


# --- near-duplicates -------------------------------------------------------------------

def _smooth_photo(path, seed: int, size=(160, 120)):
    """A photo-like picture (smooth random shapes, unlike pixel noise), different for every seed."""
    import numpy as np
    from PIL import Image

    coarse = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(coarse, "RGB").resize(size, Image.Resampling.BICUBIC).save(path, "JPEG", quality=92)
    return path


def _reencoded_copy(original, copy, size=(100, 75), quality=70):
    """The same picture resized and saved again: other bytes, so another content hash."""
    from PIL import Image

    copy.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(original) as image:
        image.resize(size, Image.Resampling.BILINEAR).save(copy, "JPEG", quality=quality)
    return copy


def test_resized_reencoded_copies_land_in_the_split_of_their_original(tmp_path, project_dirs):
    source = tmp_path / "photos"
    for index in range(40):
        original = _smooth_photo(source / "cats" / f"{index}.jpg", seed=index)
        _reencoded_copy(original, source / "cats" / f"copy-{index}.jpg")
        _smooth_photo(source / "dogs" / f"{index}.jpg", seed=1000 + index)
    dataset = clean_folder(source, "near", progress=False)
    manifest = dataset.manifest.set_index("relative")
    for index in range(40):
        original, copy = manifest.loc[f"cats/{index}.jpg"], manifest.loc[f"cats/copy-{index}.jpg"]
        assert original["sha1"] != copy["sha1"]  # not byte-identical: a content hash alone would split them
        assert (copy["split"], copy["duplicate_group"]) == (original["split"], original["duplicate_group"]) != (original["split"], "")
    assert len(set(manifest["split"])) == 3  # the groups still spread over all splits
    report = dataset.report["near_duplicates"]
    assert (report["groups"], report["photos"], report["across_classes"], report["across_splits"]) == (40, 80, [], [])


def test_a_photo_filed_under_both_classes_is_reported(tmp_path, project_dirs):
    source = tmp_path / "photos"
    for index in range(10):
        _smooth_photo(source / "cats" / f"{index}.jpg", seed=index)
        _smooth_photo(source / "dogs" / f"{index}.jpg", seed=100 + index)
    _reencoded_copy(source / "cats" / "3.jpg", source / "dogs" / "looks-like-cat-3.jpg")
    shutil.copyfile(source / "dogs" / "5.jpg", source / "cats" / "dog-5-again.jpg")  # byte-identical
    report = clean_folder(source, "both", progress=False).report["near_duplicates"]
    assert sorted(report["across_classes"]) == [["cats/3.jpg", "dogs/looks-like-cat-3.jpg"], ["cats/dog-5-again.jpg", "dogs/5.jpg"]]


def test_a_folder_that_came_split_keeps_its_splits_and_reports_duplicates_across_them(tmp_path, project_dirs):
    source = tmp_path / "photos"
    for index in range(6):
        for offset, split in enumerate(("train", "validation")):
            _smooth_photo(source / split / "cats" / f"{index}.jpg", seed=100 * offset + index)
            _smooth_photo(source / split / "dogs" / f"{index}.jpg", seed=500 + 100 * offset + index)
    _reencoded_copy(source / "train" / "cats" / "0.jpg", source / "validation" / "cats" / "leaked.jpg")
    dataset = clean_folder(source, "given", progress=False)
    manifest = dataset.manifest.set_index("relative")
    assert manifest.loc["train/cats/0.jpg", "split"] == "train"
    assert manifest.loc["validation/cats/leaked.jpg", "split"] in ("val", "test")  # used as given
    assert dataset.report["near_duplicates"]["across_splits"] == [["train/cats/0.jpg", "validation/cats/leaked.jpg"]]


def test_near_duplicate_pairs_uses_the_stated_distance():
    from helpers.splits import NEAR_DUPLICATE_BITS, near_duplicate_pairs

    base = 0x0123_4567_89AB_CDEF
    eight_bits_off, nine_bits_off = base ^ 0xFF, base ^ 0x1FF << 20
    hashes = [f"{base:016x}", f"{eight_bits_off:016x}", f"{nine_bits_off:016x}", ""]
    assert NEAR_DUPLICATE_BITS == 8
    assert near_duplicate_pairs(hashes) == [(0, 1)]  # 8 bits apart: one photo; 9: two; "" (no picture): none
    assert near_duplicate_pairs(hashes, max_bits=17) == [(0, 1), (0, 2), (1, 2)]


def test_a_chain_of_near_duplicates_is_one_group_keyed_by_its_smallest_hash():
    from helpers.splits import near_duplicate_groups

    a, b, c, far = 0, 0b1111, 0b1111 | 0b111111 << 8, (1 << 64) - 1  # a~b (4 bits), b~c (6), a-c 10: too far
    hashes = [f"{v:016x}" for v in (b, a, c, far)]
    keys = ["k2", "k3", "k1", "k0"]
    assert near_duplicate_groups(hashes, keys) == ["k1", "k1", "k1", "k0"]
    assert near_duplicate_groups(["", ""], ["same", "same"]) == ["same", "same"]  # identical bytes, no phash

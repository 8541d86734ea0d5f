"""helpers.layout: every accepted folder layout, and a clear error for anything else."""
from __future__ import annotations

import pytest
from photo_files import write_photo, write_photos

from helpers.layout import CLASS_NAMES, LayoutError, find_labelled_files


def _summary(files):
    return sorted((f.relative, f.label, f.given_split) for f in files)


def test_class_names_are_cat_then_dog():
    assert CLASS_NAMES == ("cat", "dog")


def test_petimages_layout(synthetic_pets):
    files = find_labelled_files(synthetic_pets.root)
    cats = [f for f in files if f.label == 0]
    dogs = [f for f in files if f.label == 1]
    assert all(f.relative.startswith("PetImages/Cat/") for f in cats)
    assert all(f.relative.startswith("PetImages/Dog/") for f in dogs)
    planted = {f"PetImages/{name}" for name in synthetic_pets.planted}
    assert planted <= {f.relative for f in files}  # bad files are listed too: cleaning judges them
    assert len(files) == 2 * synthetic_pets.n_per_class + len(planted)
    assert all(f.given_split is None for f in files)
    # pointing at PetImages/ itself works as well
    assert _summary(find_labelled_files(synthetic_pets.images_dir)) == [
        (relative.removeprefix("PetImages/"), label, split) for relative, label, split in _summary(files)
    ]


@pytest.mark.parametrize("cat_folder, dog_folder", [("cats", "dogs"), ("CATS", "Dogs"), ("cat", "DOG"), ("Cat", "dogs")])
def test_class_folders_in_any_case(tmp_path, cat_folder, dog_folder):
    write_photos(tmp_path / cat_folder, 2)
    write_photos(tmp_path / dog_folder, 3)
    (tmp_path / "notes").mkdir()  # other folders are ignored
    assert _summary(find_labelled_files(tmp_path)) == sorted(
        [(f"{cat_folder}/{i}.jpg", 0, None) for i in range(2)] + [(f"{dog_folder}/{i}.jpg", 1, None) for i in range(3)]
    )


@pytest.mark.parametrize("validation_name", ["validation", "val", "Validation"])
def test_split_folders_are_used_as_given(tmp_path, validation_name):
    for split, count in (("train", 3), (validation_name, 2), ("test", 1)):
        write_photos(tmp_path / split / "cats", count)
        write_photos(tmp_path / split / "dogs", count)
    files = find_labelled_files(tmp_path)
    given = {}
    for f in files:
        given.setdefault((f.given_split, f.label), []).append(f)
    assert {key: len(value) for key, value in given.items()} == {
        ("train", 0): 3, ("train", 1): 3, ("val", 0): 2, ("val", 1): 2, ("test", 0): 1, ("test", 1): 1,
    }
    assert all(f.relative.startswith(f"{validation_name}/") for f in given[("val", 0)])


def test_kaggle_flat_layout(tmp_path):
    for index in range(3):
        write_photo(tmp_path / "train" / f"cat.{index}.jpg", f"cat{index}")
        write_photo(tmp_path / "train" / f"dog.{index}.jpg", f"dog{index}")
    write_photo(tmp_path / "test1" / "1.jpg", "unlabelled")  # Kaggle's unlabelled test set is not used
    (tmp_path / "train" / "readme.txt").write_text("not a photo name")
    assert _summary(find_labelled_files(tmp_path)) == sorted(
        [(f"train/cat.{i}.jpg", 0, None) for i in range(3)] + [(f"train/dog.{i}.jpg", 1, None) for i in range(3)]
    )


def test_links_to_photos_count(tmp_path):
    originals = write_photos(tmp_path / "elsewhere", 2)
    for folder in ("cats", "dogs"):
        (tmp_path / "linked" / folder).mkdir(parents=True)
        for original in originals:
            (tmp_path / "linked" / folder / original.name).symlink_to(original)
    assert len(find_labelled_files(tmp_path / "linked")) == 4


@pytest.mark.parametrize("make", [
    lambda root: (write_photos(root / "birds", 2), write_photos(root / "fish", 2)),
    lambda root: write_photos(root / "cats", 2),  # one class only
    lambda root: write_photos(root, 3),  # loose photos, no labels
    lambda root: (write_photos(root / "train" / "cats", 2), write_photos(root / "train" / "horses", 2)),
    lambda root: None,  # empty folder
])
def test_other_layouts_are_refused_with_the_accepted_ones_named(tmp_path, make):
    make(tmp_path)
    with pytest.raises(LayoutError) as raised:
        find_labelled_files(tmp_path)
    message = str(raised.value)
    assert str(tmp_path) in message
    for layout in ("class folders", "split folders", "Kaggle's flat", "cat.0.jpg", "validation/"):
        assert layout in message


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(LayoutError, match="is not a folder.*CATSDOGS_IMAGES"):
        find_labelled_files(tmp_path / "nowhere")


@pytest.mark.parametrize("make, found, add", [
    (lambda root: write_photos(root / "cats", 20), "found cats/ (20 files) but no folder of dog photos", "add dogs/ with the dog photos"),
    (lambda root: write_photos(root / "PetImages" / "Dog", 3), "found PetImages/Dog/ (3 files) but no folder of cat photos", "add PetImages/Cat/"),
    (lambda root: (write_photos(root / "train" / "cats", 2), write_photos(root / "train" / "dogs", 2), write_photos(root / "validation" / "cats", 2)),
     "found validation/cats/ (2 files) but no folder of dog photos", "add validation/dogs/"),
    (lambda root: [write_photo(root / "train" / f"cat.{i}.jpg", i) for i in range(3)],
     "train/ holds 3 cat.N.jpg files (Kaggle's flat layout) but no dog.N.jpg file", "dog.0.jpg"),
])
def test_a_missing_class_folder_is_named_with_what_was_found(tmp_path, make, found, add):
    make(tmp_path)
    with pytest.raises(LayoutError) as raised:
        find_labelled_files(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"A class folder is missing in {tmp_path}: {found}")
    assert add in message and "Accepted layouts" in message


def test_a_folder_of_other_things_says_what_it_holds(tmp_path):
    write_photos(tmp_path / "birds", 2)
    write_photos(tmp_path, 3)
    with pytest.raises(LayoutError, match=r"It holds the folders birds/, 3 loose files; the photos must be in folders named after the two classes"):
        find_labelled_files(tmp_path)

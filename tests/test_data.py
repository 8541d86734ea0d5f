"""helpers.data: where get_dataset finds photos, the split tree it builds, and its cache."""
from __future__ import annotations

import pytest
from photo_files import write_photos
from PIL import Image

from helpers import data
from helpers.data import DatasetError, clean_folder, get_dataset, report_table
from helpers.layout import LayoutError


def _split_folders(root, counts):
    for split, count in counts.items():
        write_photos(root / split / "cats", count)
        write_photos(root / split / "dogs", count)


def test_split_folders_are_used_as_given(tmp_path, project_dirs):
    _split_folders(tmp_path / "photos", {"train": 6, "validation": 3, "test": 2})
    dataset = clean_folder(tmp_path / "photos", "given", progress=False)
    assert dataset.counts() == {"n_train": 12, "n_val": 6, "n_test": 4}
    manifest = dataset.manifest
    assert (manifest[manifest["relative"].str.startswith("validation/")]["split"] == "val").all()


def test_without_a_test_folder_half_of_validation_becomes_test(tmp_path, project_dirs):
    _split_folders(tmp_path / "photos", {"train": 10, "val": 40})
    dataset = clean_folder(tmp_path / "photos", "no-test", progress=False)
    counts = dataset.counts()
    assert counts["n_train"] == 20
    assert counts["n_val"] + counts["n_test"] == 80 and counts["n_val"] > 20 and counts["n_test"] > 20
    manifest = dataset.manifest
    assert set(manifest[manifest["relative"].str.startswith("train/")]["split"]) == {"train"}  # train stays train


def test_tree_holds_every_usable_photo_once(tmp_path, project_dirs, synthetic_pets):
    dataset = clean_folder(synthetic_pets.root, "pets", progress=False)
    usable = dataset.report["usable"]
    converted = sum(data.ACTIONS[reason] == "convert" for reason in synthetic_pets.planted.values())
    assert usable == 2 * synthetic_pets.n_per_class + converted
    seen = []
    for split in ("train", "val", "test"):
        paths, labels = dataset.files(split)
        assert len(paths) == len(labels) == dataset.counts()[f"n_{split}"]
        assert all(p.parent.name == ("cat", "dog")[label] for p, label in zip(paths, labels))
        seen += paths
    assert len(seen) == len(set(seen)) == usable
    with pytest.raises(ValueError, match="split must be one of"):
        dataset.split_dir("validation")


def test_clean_result_is_reused_until_the_folder_changes(tmp_path, project_dirs, monkeypatch):
    source = tmp_path / "photos"
    write_photos(source / "cats", 5)
    write_photos(source / "dogs", 5)
    first = clean_folder(source, "cached", progress=False)

    monkeypatch.setattr(data, "scan_files", lambda *a, **k: pytest.fail("an unchanged folder is not scanned again"))
    assert clean_folder(source, "cached", progress=False).report == first.report

    monkeypatch.undo()
    write_photos(source / "dogs", 1, start=5)
    assert clean_folder(source, "cached", progress=False).report["usable"] == 11


def test_get_dataset_quick_mode_makes_synthetic_photos(project_dirs, monkeypatch):
    monkeypatch.delenv("CATSDOGS_IMAGES", raising=False)
    monkeypatch.setattr(data, "QUICK_IMAGES_PER_CLASS", 30)
    monkeypatch.setattr(data.synthetic_source, "__defaults__", (30,))
    dataset = get_dataset(quick=True, progress=False)
    assert dataset.name == "synthetic"
    assert dataset.source == (project_dirs / "data" / "synthetic").resolve()
    assert dataset.report["skipped"] == 6 and dataset.report["converted"] == 5
    assert sum(dataset.counts().values()) == 65


def test_catsdogs_images_wins_over_quick_mode(tmp_path, project_dirs, monkeypatch):
    write_photos(tmp_path / "mine" / "Cats", 30)
    write_photos(tmp_path / "mine" / "Dogs", 30)
    monkeypatch.setenv("CATSDOGS_IMAGES", str(tmp_path / "mine"))
    dataset = get_dataset(quick=True, progress=False)
    assert dataset.name.startswith("mine-") and dataset.report["usable"] == 60
    assert not (project_dirs / "data" / "synthetic").exists()


def test_get_dataset_full_mode_downloads(project_dirs, monkeypatch, synthetic_pets):
    import helpers.download

    monkeypatch.delenv("CATSDOGS_IMAGES", raising=False)
    monkeypatch.setattr(helpers.download, "download_petimages", lambda: synthetic_pets.root)
    assert get_dataset(quick=False, progress=False).name == "petimages"


def test_get_dataset_rejects_a_folder_without_photos(tmp_path, project_dirs):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LayoutError, match="Accepted layouts"):
        get_dataset(tmp_path / "empty", progress=False)


def test_report_table_lists_every_reason_with_its_action(project_dirs, synthetic_pets):
    table = report_table(clean_folder(synthetic_pets.root, "pets", progress=False))
    assert table.loc["ok", "files"] == 2 * synthetic_pets.n_per_class
    assert table.loc["wrong-format", "files"] == 3 and table.loc["wrong-format", "action"] == "convert"
    assert table.loc["zero-byte", "action"] == "skip"
    assert (table.loc["too-large", "files"], table.loc["too-large", "action"]) == (1, "skip")
    assert table.loc["too-large", "note"] == "more than 89,478,485 pixels (89.5 megapixels)"  # the limit is stated
    assert list(table.columns) == ["files", "action", "note"]


def test_every_file_in_the_tree_decodes_as_rgb_jpeg(project_dirs, synthetic_pets):
    dataset = clean_folder(synthetic_pets.root, "pets", progress=False)
    for path in dataset.tree.rglob("*.jpg"):
        with Image.open(path) as image:
            image.load()
            assert (image.format, image.mode) == ("JPEG", "RGB"), path


def test_synthetic_source_follows_the_requested_size(project_dirs):
    def cats(root):
        return len([p for p in (root / "PetImages" / "Cat").glob("[0-9].jpg")])

    assert cats(data.synthetic_source(4)) == 4
    assert cats(data.synthetic_source(6)) == 6
    assert cats(data.synthetic_source(4)) == 4  # not fooled by the marker of the first call


def _text_files(folder, count):
    folder.mkdir(parents=True)
    for index in range(count):
        (folder / f"{index}.jpg").write_text("<html>404 Not Found</html>")


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_a_folder_without_one_usable_photo_stops_with_what_was_found(tmp_path, project_dirs, monkeypatch, how):
    _text_files(tmp_path / "texts" / "cats", 10)
    _text_files(tmp_path / "texts" / "dogs", 10)
    if how == "environment":
        monkeypatch.setenv("CATSDOGS_IMAGES", str(tmp_path / "texts"))
        call = dict(quick=True)  # CATSDOGS_IMAGES wins over quick mode, and is checked all the same
    else:
        monkeypatch.delenv("CATSDOGS_IMAGES", raising=False)
        call = dict(source=tmp_path / "texts")
    for _ in range(2):  # the second call reads the cached cleaning result and stops all the same
        with pytest.raises(DatasetError) as raised:
            get_dataset(progress=False, **call)
        message = str(raised.value)
        assert message.startswith(f"{tmp_path / 'texts'}: 20 files, none usable: not-an-image 20.\n")
        assert "manifest.csv" in message
        assert ("CATSDOGS_IMAGES=" in message) == (how == "environment")


def test_too_few_photos_per_split_stop_with_the_counts_found(tmp_path, project_dirs):
    _split_folders(tmp_path / "photos", {"train": 5, "validation": 3})
    write_photos(tmp_path / "photos" / "test" / "cats", 2)
    (tmp_path / "photos" / "test" / "dogs").mkdir()  # the folder is there, its photos are not
    with pytest.raises(DatasetError) as raised:
        get_dataset(tmp_path / "photos", progress=False)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'photos'}: 18 usable photos, too few to train and evaluate a model.")
    assert "The splits hold: train 5 cats and 5 dogs; validation 3 cats and 3 dogs; test 2 cats and 0 dogs; too few dogs in test." in message
    assert "at least 2 of each class in train, 1 of each class in validation, 1 of each class in test" in message


def test_a_split_of_one_class_only_from_a_small_folder_stops(tmp_path, project_dirs):
    write_photos(tmp_path / "tiny" / "cats", 3)
    write_photos(tmp_path / "tiny" / "dogs", 3)
    with pytest.raises(DatasetError, match="too few to train and evaluate a model.*Add photos"):
        get_dataset(tmp_path / "tiny", progress=False)


def test_a_one_class_folder_names_the_missing_class_folder(tmp_path, project_dirs):
    write_photos(tmp_path / "only-cats" / "cats", 20)
    with pytest.raises(LayoutError, match=r"A class folder is missing in .*only-cats: found cats/ \(20 files\) but no folder of dog photos"):
        get_dataset(tmp_path / "only-cats", progress=False)

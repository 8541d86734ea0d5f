"""helpers.dataset_id: results are named by the photos, not by the folder they sit in."""
from __future__ import annotations

import json
import shutil

import pytest

from helpers import dataset_id, records
from helpers.data import get_dataset
from helpers.results import record_results
from photo_files import write_photos

METRICS = dict(n_train=8, n_val=2, n_test=2, train_accuracy=0.9, test_accuracy=0.5)


def make_photos(folder, cats=40, dogs=40):  # enough of each class in every split for get_dataset
    write_photos(folder / "cats", cats, prefix="cat.")
    write_photos(folder / "dogs", dogs, prefix="dog.")
    return folder


def test_the_same_photos_at_another_path_get_the_same_name(tmp_path, project_dirs):
    original = make_photos(tmp_path / "photos")
    copy = tmp_path / "elsewhere" / "my copy"
    shutil.copytree(original, copy)
    first, second = get_dataset(original, progress=False), get_dataset(copy, progress=False)
    assert first.name != second.name  # two cache folders, one per path...
    name = dataset_id.identity_of(first.name)
    assert name == dataset_id.identity_of(second.name).replace("my copy", "photos")  # ...one content, the label aside
    assert dataset_id.photos_key(name) == dataset_id.photos_key(dataset_id.identity_of(second.name))
    assert dataset_id.IDENTITY.match(name) and name.startswith("photos-")


def test_other_photos_or_other_splits_get_another_name(tmp_path, project_dirs):
    base = dataset_id.identity_of(get_dataset(make_photos(tmp_path / "a"), progress=False).name)
    one_more = make_photos(tmp_path / "b")
    write_photos(one_more / "dogs", 1, prefix="extra.")
    assert dataset_id.photos_key(dataset_id.identity_of(get_dataset(one_more, progress=False).name)) != dataset_id.photos_key(base)
    resplit = tmp_path / "c"  # the same files, but train/ and validation/ decide the splits
    for path in (tmp_path / "a").rglob("*.jpg"):
        split = "train" if path.stem.endswith(("0", "1", "2")) else "validation"
        (resplit / split / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, resplit / split / path.parent.name / path.name)
    assert dataset_id.photos_key(dataset_id.identity_of(get_dataset(resplit, progress=False).name)) != dataset_id.photos_key(base)


def test_a_download_is_labelled_by_its_source(tmp_path, project_dirs):
    from helpers.data import clean_folder

    dataset = clean_folder(make_photos(tmp_path / "PetImages"), "petimages", progress=False)
    name = dataset_id.identity_of(dataset.name)
    assert name.startswith("petimages-") and dataset_id.IDENTITY.match(name)


def test_a_training_subset_is_named_after_the_whole_and_its_size(tmp_path, project_dirs):
    folder = make_photos(tmp_path / "photos", cats=12, dogs=12)
    whole = dataset_id.identity_of(get_dataset(folder, progress=False).name)
    subset = get_dataset(folder, progress=False, train_photos=4)
    assert dataset_id.identity_of(subset.name) == f"{whole}-train4"
    assert dataset_id.photos_key(f"{whole}-train4") != dataset_id.photos_key(whole)


def test_record_results_names_the_data_by_content(tmp_path, project_dirs, monkeypatch):
    from helpers import setup

    monkeypatch.setattr(setup, "QUICK", False)
    dataset = get_dataset(make_photos(tmp_path / "photos"), progress=False)
    record = json.loads(record_results("03_numpy_cnn", {"dataset": dataset.name, **METRICS}).read_text())
    assert record["dataset"] == dataset_id.identity_of(dataset.name) and record["dataset_folder"] == dataset.name
    # names that are no dataset of data/clean/ stay as they are
    assert json.loads(record_results("01_x", {"dataset": "catvnoncat", **METRICS}).read_text())["dataset"] == "catvnoncat"
    monkeypatch.setattr(setup, "QUICK", True)
    assert json.loads(record_results("03_numpy_cnn", {"dataset": dataset.name, **METRICS}).read_text())["dataset"] == dataset.name


def test_promote_names_an_older_results_file_by_content(tmp_path, project_dirs):
    dataset = get_dataset(make_photos(tmp_path / "photos"), progress=False)
    results = tmp_path / "old.json"
    results.write_text(json.dumps({"notebook": "03_numpy_cnn", "quick": False, "dataset": dataset.name, "machine": {}, **METRICS}))
    path = records.promote(results, "03_numpy_cnn/mine", tmp_path / "records")
    assert json.loads(path.read_text())["dataset"] == dataset_id.identity_of(dataset.name)


def test_migrate_renames_only_the_name(tmp_path):
    folder = tmp_path / "records" / "bench"
    folder.mkdir(parents=True)
    before = {"dataset": "photos-1234abcd", "value": 1234, "cases": [{"description": "on photos-1234abcd-train8", "median": 0.5}],
              "other": "photos-1234abcdef"}
    (folder / "x.json").write_text(json.dumps(before))
    (folder / "y.json").write_text(json.dumps({"dataset": "catvnoncat"}))
    changed = dataset_id.migrate_records("photos-1234abcd", "photos-0123456789ab", tmp_path / "records")
    assert [p.name for p in changed] == ["x.json"]
    after = json.loads((folder / "x.json").read_text())
    assert after == {**before, "dataset": "photos-0123456789ab", "cases": [{"description": "on photos-0123456789ab-train8", "median": 0.5}]}
    with pytest.raises(ValueError, match="content name"):
        dataset_id.migrate_records("photos-1234abcd", "photos-1234abcd", tmp_path / "records")


def test_every_committed_record_names_its_photos_by_content():
    """A record whose data is a folder's path hash (the older names) can never match a learner's run:
    migrate it (`python -m helpers.dataset_id migrate OLD NEW`, OLD -> the content name of the same photos)."""
    fixed_names = {"catvnoncat"}  # the classic deeplearning.ai files (CATSDOGS_H5), named by helpers.caches
    found = {ref: r["dataset"] for ref, r in records.all_records().items() if "dataset" in r}
    assert found, "no record names its data"
    by_path = {ref: name for ref, name in found.items() if name not in fixed_names and not dataset_id.IDENTITY.match(str(name))}
    assert not by_path, f"records named by a folder path, not by content: {by_path}"
    unknown = {ref: name for ref, name in found.items() if dataset_id.IDENTITY.match(str(name))
               and dataset_id.photos_key(name).split("-")[0] in dataset_id.KNOWN
               and not name.startswith(dataset_id.KNOWN[dataset_id.photos_key(name).split("-")[0]])}
    assert not unknown, f"records whose known photos carry another label: {unknown}"


@pytest.mark.shared_data
def test_the_known_digest_is_that_of_the_shared_photos(shared_data, tmp_path, project_dirs):
    """The records' photos, cleaned here from the shared copy, give the digest KNOWN names (about a minute)."""
    dataset = get_dataset(shared_data / "cats_and_dogs_filtered", progress=False)
    assert dataset_id.identity_of(dataset.name) == "cats_and_dogs_filtered-9fa863a07584"

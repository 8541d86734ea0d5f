"""helpers.caches: the classic HDF5 schema both ways, the CSV seed format, pickles."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from helpers import caches
from helpers.caches import (
    build_h5_cache,
    export_csv,
    h5_source,
    load_csv,
    load_h5_dataset,
    load_images,
    load_pickle,
    save_h5,
    save_pickle,
)
from helpers.data import clean_folder

CLASSIC_KEYS = {"train": {"train_set_x", "train_set_y", "list_classes"}, "test": {"test_set_x", "test_set_y", "list_classes"}}


@pytest.fixture
def dataset(project_dirs, synthetic_pets):
    return clean_folder(synthetic_pets.root, "pets", progress=False)


def _write_classic(folder, m_train=7, m_test=3):
    """Files shaped exactly like deeplearning.ai's train_catvnoncat.h5 / test_catvnoncat.h5."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, m in (("train", m_train), ("test", m_test)):
        x = rng.integers(0, 256, (m, 64, 64, 3), dtype=np.uint8)
        y = rng.integers(0, 2, m).astype(np.int64)
        with h5py.File(folder / f"{prefix}_catvnoncat.h5", "w") as f:
            f["list_classes"] = np.array([b"non-cat", b"cat"], dtype="S7")
            f[f"{prefix}_set_x"] = x
            f[f"{prefix}_set_y"] = y
        arrays[prefix] = (x, y)
    return arrays


def test_loads_the_classic_files(tmp_path):
    arrays = _write_classic(tmp_path / "classic")
    loaded = load_h5_dataset(tmp_path / "classic")
    train_x, train_y, test_x, test_y, classes = loaded  # unpacks like the course's load_dataset()
    assert train_x.dtype == np.uint8 and train_x.shape == (7, 64, 64, 3)
    assert train_y.shape == (1, 7) and test_y.shape == (1, 3)
    np.testing.assert_array_equal(train_x, arrays["train"][0])
    np.testing.assert_array_equal(test_y[0], arrays["test"][1])
    assert list(classes) == [b"non-cat", b"cat"]
    assert classes[train_y[0, 0]].decode() in ("non-cat", "cat")


def test_save_and_load_round_trip(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    y = np.array([0, 1, 1, 0, 1])
    save_h5(tmp_path / "train_catsdogs.h5", "train", x, y)
    save_h5(tmp_path / "test_catsdogs.h5", "test", x[:2], y[:2])
    with h5py.File(tmp_path / "train_catsdogs.h5") as f:
        assert set(f) == CLASSIC_KEYS["train"]
        assert f["train_set_y"].shape == (5,)  # stored like the classic files; loaded as (1, m)
    loaded = load_h5_dataset(tmp_path)
    np.testing.assert_array_equal(loaded.train_x, x)
    np.testing.assert_array_equal(loaded.train_y, y.reshape(1, -1))
    assert list(loaded.classes) == [b"cat", b"dog"]


def test_build_h5_cache_from_the_synthetic_photos(dataset):
    directory = build_h5_cache(dataset, size=32, progress=False)
    for split in ("train", "val", "test"):
        with h5py.File(directory / f"{split}_catsdogs.h5") as f:
            assert set(f) == {f"{split}_set_x", f"{split}_set_y", "list_classes"}
            x, y = f[f"{split}_set_x"][:], f[f"{split}_set_y"][:]
        paths, labels = dataset.files(split)
        assert x.dtype == np.uint8 and x.shape == (len(paths), 32, 32, 3)
        np.testing.assert_array_equal(y, labels)
    loaded = load_h5_dataset(directory)
    np.testing.assert_array_equal(loaded.test_x, load_images(dataset.files("test")[0], 32, progress=False))
    assert loaded.train_y.shape == (1, dataset.counts()["n_train"])

    stamp = (directory / "train_catsdogs.h5").stat().st_mtime_ns
    assert build_h5_cache(dataset, size=32, progress=False) == directory
    assert (directory / "train_catsdogs.h5").stat().st_mtime_ns == stamp  # made once, then reused


def test_h5_source_prefers_catsdogs_h5(tmp_path, monkeypatch):
    _write_classic(tmp_path / "classic")
    monkeypatch.setenv("CATSDOGS_H5", str(tmp_path / "classic"))
    folder, name = h5_source()
    assert (folder, name) == (tmp_path / "classic", "catvnoncat")


def test_missing_or_wrong_h5_folder_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="CATSDOGS_H5"):
        load_h5_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="train_catvnoncat.h5"):
        load_h5_dataset(tmp_path / "empty")


def test_load_images_squares_and_uses_several_processes(synthetic_pets):
    paths = sorted(synthetic_pets.images_dir.glob("Dog/[0-9].jpg")) * 50  # >= 500: the pool is used
    one = load_images(paths, size=20, processes=1, progress=False)
    assert one.shape == (len(paths), 20, 20, 3) and one.dtype == np.uint8
    np.testing.assert_array_equal(load_images(paths, size=20, processes=2, progress=False), one)


def test_csv_export_and_import_round_trip(dataset, tmp_path):
    directory = export_csv(dataset, tmp_path / "csv", size=12, max_train=20, max_test=None, progress=False)
    assert sorted(p.name for p in directory.iterdir()) == ["input.csv", "input_test.csv", "labels.csv", "labels_test.csv"]
    first_row = (directory / "input.csv").read_text().splitlines()[0].split(",")
    assert len(first_row) == 12 * 12 * 3  # one flattened photo per row, as notebook 04 reads them
    x_train, y_train, x_test, y_test = load_csv(directory, size=12)
    assert x_train.shape == (20, 12, 12, 3) and x_train.dtype == np.uint8 and y_train.shape == (20,)
    test_paths, test_labels = dataset.files("test")
    np.testing.assert_array_equal(x_test, load_images(test_paths, 12, progress=False))
    np.testing.assert_array_equal(y_test, test_labels)
    assert set(np.unique(y_train)) == {0, 1}  # the evenly spread subset holds both classes


def test_load_csv_without_files_says_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="export_csv"):
        load_csv(tmp_path)


def test_pickle_round_trip_warns_on_load(tmp_path):
    data = {"x": np.arange(6).reshape(2, 3), "classes": ["cat", "dog"]}
    path = save_pickle(data, tmp_path / "sub" / "data.pkl")
    with pytest.warns(UserWarning, match="only load pickles you made yourself"):
        loaded = load_pickle(path)
    np.testing.assert_array_equal(loaded["x"], data["x"])
    assert loaded["classes"] == ["cat", "dog"]
    assert caches.PICKLE_WARNING.startswith("Unpickling runs code")

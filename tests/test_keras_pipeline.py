"""helpers.keras_data: the tf.data pipeline of notebooks 05, 06 and 08 over the cleaned tree."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.data import get_dataset
from helpers.keras_data import as_arrays, image_datasets, load_photo

pytestmark = pytest.mark.tensorflow

SIZE = (40, 48)  # not square, so height and width cannot be swapped unnoticed


@pytest.fixture(scope="module")
def make_augmentation(keras):
    from lessons.keras_cnn import make_augmentation  # imports Keras: only when a test runs

    return make_augmentation


@pytest.fixture
def dataset(keras, project_dirs, synthetic_pets):
    return get_dataset(synthetic_pets.root, progress=False)


def test_every_planted_bad_kind_is_read_without_an_exception(dataset, synthetic_pets, make_augmentation):
    manifest = dataset.manifest
    planted = manifest[manifest["relative"].str.replace("PetImages/", "", regex=False).isin(synthetic_pets.planted)]
    assert set(planted["reason"]) == set(synthetic_pets.planted.values())  # every bad kind is in the data we read
    converted = planted[planted["action"] == "convert"]
    assert {"wrong-format", "cmyk", "grayscale"} <= set(converted["reason"])

    data = image_datasets(dataset, SIZE, batch_size=8, augmentation=make_augmentation(seed=1))
    for split, batches in data.items():
        images, labels = as_arrays(batches)
        assert len(images) == len(labels) == dataset.counts()[f"n_{split}"]
        assert images.shape[1:] == (*SIZE, 3)
        assert set(np.unique(labels)) == {0, 1}
    # the converted files (BMP, PNG, GIF, CMYK, grayscale) are in the tree the pipeline read
    tree_files = {p.relative_to(dataset.folder).as_posix() for split in ("train", "val", "test") for p in dataset.files(split)[0]}
    assert set(converted["tree_path"]) <= tree_files


def test_labels_follow_the_class_folders_cat_0_dog_1(dataset):
    data = image_datasets(dataset, SIZE, batch_size=16, splits=("test",))
    _, labels = as_arrays(data["test"])
    _, expected = dataset.files("test")
    assert np.bincount(labels, minlength=2).tolist() == np.bincount(expected, minlength=2).tolist()


def test_unaugmented_splits_give_the_same_pixels_every_epoch(dataset):
    val = image_datasets(dataset, SIZE, batch_size=8, splits=("val",))["val"]
    first, second = as_arrays(val), as_arrays(val)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[0].dtype == np.uint8 and first[0].max() > 100  # pixels stay in [0, 255], not rescaled


def test_training_split_is_reshuffled_and_augmented_each_epoch(dataset, make_augmentation):
    train = image_datasets(dataset, SIZE, batch_size=8, augmentation=make_augmentation(seed=3), splits=("train",))["train"]
    (x1, y1), (x2, y2) = as_arrays(train, "float32"), as_arrays(train, "float32")
    assert len(y1) == len(y2) == dataset.counts()["n_train"]
    assert sorted(y1.tolist()) == sorted(y2.tolist())
    assert not np.array_equal(y1, y2) or not np.allclose(x1, x2)


def test_a_cache_file_is_written_where_asked(dataset, tmp_path):
    cache = str(tmp_path / "pipeline-cache")
    val = image_datasets(dataset, SIZE, batch_size=8, cache=cache, splits=("val",))["val"]
    images, _ = as_arrays(val)
    assert len(images) == dataset.counts()["n_val"]
    assert list(tmp_path.glob("pipeline-cache-val*"))


def test_an_empty_split_says_which_folder_is_empty(dataset):
    for path in dataset.split_dir("val").glob("*/*.jpg"):
        path.unlink()  # links and copies in the test's own tree, never the photos
    with pytest.raises(ValueError, match="No photos in .*val"):
        image_datasets(dataset, SIZE, splits=("val",))


def test_a_photo_for_prediction_is_resized_exactly_as_the_pipeline_resizes_training_photos(dataset):
    paths, _ = dataset.files("val")  # unshuffled splits come in dataset.files order
    pipeline, _ = as_arrays(image_datasets(dataset, SIZE, batch_size=8, splits=("val",))["val"])
    loaded = np.concatenate([load_photo(path, SIZE) for path in paths])
    assert loaded.shape == pipeline.shape and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, pipeline.astype("float32"))


def test_load_img_resizes_differently_which_is_why_predictions_use_load_photo(dataset, keras):
    """PIL's resize (load_img) antialiases when it shrinks; tf.image.resize does not: the check above can fail."""
    paths, _ = dataset.files("val")
    differences = []
    for path in paths[:8]:
        pil = keras.utils.img_to_array(keras.utils.load_img(path, target_size=SIZE, interpolation="bilinear"))
        differences.append(np.abs(pil - load_photo(path, SIZE)[0]).max())
    assert max(differences) > 10, differences  # whole pixel values apart, not rounding


def test_a_file_that_is_not_a_photo_or_missing_says_so(tmp_path):
    (tmp_path / "notes.jpg").write_text("not a photo")
    with pytest.raises(ValueError, match="not an image"):
        load_photo(tmp_path / "notes.jpg", SIZE)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_photo(tmp_path / "missing.jpg", SIZE)

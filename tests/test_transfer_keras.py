"""helpers.weights for notebook 08 (Keras): local weights files, each model's own preprocessing, the offline error."""
from __future__ import annotations

import numpy as np
import pytest

from offline_weights import offline_error_message

from helpers import weights  # imports no framework itself

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def keras():
    """Imported by the tests, not at collection: `pytest -m "not tensorflow"` collects this file beside torch tests."""
    return pytest.importorskip("keras")


def _random_base(name: str, size: int, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    return weights.keras_base(name, weights=None, input_size=size)


def _assert_same_weights(expected, actual):
    import keras

    assert len(expected.weights) == len(actual.weights)
    for want, got in zip(expected.weights, actual.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), err_msg=want.path)


def test_a_saved_weights_file_is_restored_exactly(tmp_path, keras):
    saved = _random_base("ResNet50", 32, seed=1)
    path = tmp_path / "resnet50_catsdogs.weights.h5"
    saved.save_weights(path)
    other = _random_base("ResNet50", 32, seed=2)
    assert any(not np.array_equal(a, b) for a, b in zip(saved.get_weights(), other.get_weights()))  # else the check below proves nothing

    loaded = weights.keras_base("ResNet50", weights="imagenet", weights_file=path, input_size=32)

    _assert_same_weights(saved, loaded)


def test_the_download_file_in_catsdogs_weights_dir_is_used(tmp_path, monkeypatch, keras):
    """The real ImageNet files are legacy HDF5 weights files: one is found under its download name."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    saved = _random_base("VGG16", 32, seed=3)
    with h5py.File(tmp_path / weights.KERAS_WEIGHTS["VGG16"].filename, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, saved)
    monkeypatch.setenv(weights.WEIGHTS_DIR_ENV, str(tmp_path))

    loaded = weights.keras_base("VGG16", input_size=32)

    _assert_same_weights(saved, loaded)


def test_a_missing_weights_file_says_so(tmp_path, keras):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        weights.keras_base("VGG16", weights_file=tmp_path / "nowhere.h5", input_size=32)


def test_weights_none_builds_a_random_base_of_the_requested_size(keras):
    base = weights.keras_base("InceptionV3", weights=None, input_size=75)
    assert base.input_shape == (None, 75, 75, 3)
    assert base.output_shape[-1] == 2048


@pytest.mark.parametrize("name", ["VGG16", "ResNet50"])
def test_caffe_models_get_bgr_minus_the_imagenet_mean(name, keras):
    pixel = np.array([[[[10.0, 20.0, 30.0]]]], dtype="float32")  # R, G, B
    out = weights.keras_preprocess_input(name)(pixel.copy())
    # channels swapped to B, G, R, then the ImageNet mean (B 103.939, G 116.779, R 123.68) subtracted; no scaling
    np.testing.assert_allclose(out.ravel(), [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-5)


def test_inception_v3_gets_minus_one_to_one(keras):
    pixels = np.array([[[[0.0, 127.5, 255.0]]]], dtype="float32")
    np.testing.assert_allclose(weights.keras_preprocess_input("InceptionV3")(pixels.copy()).ravel(), [-1.0, 0.0, 1.0], atol=1e-6)


def test_input_sizes_and_download_addresses_match_keras_applications(keras):
    from keras.src.applications import inception_v3, resnet, vgg16

    assert weights.KERAS_WEIGHTS["VGG16"].url == vgg16.WEIGHTS_PATH_NO_TOP
    assert weights.KERAS_WEIGHTS["InceptionV3"].url == inception_v3.WEIGHTS_PATH_NO_TOP
    assert weights.KERAS_WEIGHTS["ResNet50"].url == resnet.BASE_WEIGHTS_PATH + weights.KERAS_WEIGHTS["ResNet50"].filename
    assert weights.KERAS_WEIGHTS["ResNet50"].md5 == resnet.WEIGHTS_HASHES["resnet50"][1]
    assert {name: spec.input_size for name, spec in weights.KERAS_WEIGHTS.items()} == {"VGG16": 224, "ResNet50": 224, "InceptionV3": 299}


def test_no_network_and_no_local_file_names_both_remedies(tmp_path):
    message = offline_error_message('weights.keras_base("VGG16", input_size=32)', tmp_path, {"KERAS_HOME": str(tmp_path / "keras")})
    spec = weights.KERAS_WEIGHTS["VGG16"]
    assert "Connect this machine to the internet" in message
    assert spec.url in message and spec.filename in message
    assert weights.WEIGHTS_DIR_ENV in message and "WEIGHTS_FILES" in message
    assert not (tmp_path / "keras" / "models" / spec.filename).exists()  # no partial download left behind


def test_notebook_fine_tuning_trains_only_the_top_block_and_keeps_batch_norm_statistics(keras):
    from notebook_code import load_definitions

    nb = load_definitions("08_transfer_learning_keras")
    nb.update(DROPOUT=0.2)
    base = _random_base("ResNet50", 32, seed=4)
    base.trainable = False
    head = nb["make_head"](2048)
    model = nb["build_classifier"](base, head, 32)
    assert model.layers[-1] is head.layers[-1]  # the head trained on cached features is the one fine-tuned
    assert nb["count_parameters"](model.trainable_weights) == 2049

    nb["unfreeze_top"](base, "conv4_block6_out")
    trainable = {v.path.split("/")[0] for v in model.trainable_weights}
    assert trainable - {"head"} and all(name.startswith("conv5_") and not name.endswith("_bn") for name in trainable - {"head"})

    before = {v.path: keras.ops.convert_to_numpy(v).copy() for v in model.weights}
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    model.fit(np.random.default_rng(0).normal(size=(8, 32, 32, 3)).astype("float32") * 50, np.array([0, 1] * 4), epochs=1, verbose=0)
    after = {v.path: keras.ops.convert_to_numpy(v) for v in model.weights}

    changed = {path for path in before if not np.array_equal(before[path], after[path])}
    assert any(path.startswith("conv5_block3_3_conv") for path in changed)
    assert not any("_bn/" in path or path.startswith(("conv1_", "conv4_")) for path in changed), sorted(changed)


def test_the_saved_model_carries_its_preprocessing_and_says_when_a_file_is_not_a_photo(tmp_path, keras):
    from PIL import Image

    from helpers.keras_data import load_photo

    from notebook_code import load_definitions

    nb = load_definitions("08_transfer_learning_keras")
    nb.update(DROPOUT=0.2)
    keras.utils.set_random_seed(0)
    base = weights.keras_base("ResNet50", weights=None, input_size=32)
    classifier = nb["build_classifier"](base, nb["make_head"](2048), 32)
    photos = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3)).astype("float32")  # pixels as a JPEG gives them
    expected = classifier.predict(weights.keras_preprocess_input("ResNet50")(photos.copy()), verbose=0)

    path = tmp_path / "resnet50.keras"
    nb["with_preprocessing"]("ResNet50", classifier, 32).save(path)
    loaded = keras.models.load_model(path)

    np.testing.assert_allclose(loaded.predict(photos, verbose=0), expected, atol=1e-5)  # BGR and the mean subtracted inside
    # your own photo, read as the notebook reads it (helpers.keras_data.load_photo: the pipeline's resize)
    Image.fromarray(photos[0].astype("uint8")).resize((50, 40)).save(tmp_path / "photo.png")
    mine = load_photo(tmp_path / "photo.png", (32, 32))
    assert mine.shape == (1, 32, 32, 3) and loaded.predict(mine, verbose=0).shape == (1, 1)
    (tmp_path / "notes.jpg").write_text("not a photo")
    with pytest.raises(ValueError, match="not an image"):
        load_photo(tmp_path / "notes.jpg", (32, 32))

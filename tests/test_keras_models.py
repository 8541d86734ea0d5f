"""lessons.keras_cnn (exported from notebook 05): the keras.io network of notebooks 05 and 06, its
augmentation, and its checkpoints."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from conftest import run_in_fresh_python

from helpers.data import get_dataset
from helpers.keras_data import as_arrays, image_datasets

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def keras_cnn(keras):
    """The module, imported when a test runs: it imports Keras (see the `keras` fixture)."""
    import lessons.keras_cnn

    return lessons.keras_cnn


def _compile(model):
    import keras  # already loaded by the `keras` fixture of the calling test

    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(name="acc", threshold=0.0)],
    )
    return model


@pytest.mark.parametrize("augment_in_model", [False, True], ids=["05-augment-in-pipeline", "06-augment-in-model"])
def test_the_checkpoint_the_notebooks_save_loads_and_predicts_the_same(keras, keras_cnn, project_dirs, synthetic_pets, tmp_path, augment_in_model):
    keras.utils.set_random_seed(0)
    dataset = get_dataset(synthetic_pets.root, progress=False)
    augmentation = keras_cnn.make_augmentation(seed=0)
    data = image_datasets(dataset, (48, 48), batch_size=16, augmentation=None if augment_in_model else augmentation)
    model = _compile(keras_cnn.make_model((48, 48, 3), (4, 8, 16, 32), augmentation=augmentation if augment_in_model else None))
    path = tmp_path / "best.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_acc", mode="max", save_best_only=True)
    # one epoch: the first epoch is always the best so far, so the checkpoint holds the model as it is now
    model.fit(data["train"], validation_data=data["val"], epochs=1, callbacks=[checkpoint], verbose=0)
    assert path.exists()

    images, _ = as_arrays(data["test"])
    loaded = keras.models.load_model(path)
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-5)
    assert expected.shape == (len(images), 1) and np.ptp(expected) > 0
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_filter_sizes_set_the_width_of_every_block(keras_cnn):
    model = keras_cnn.make_model((64, 64, 3), (2, 4, 8, 16, 32))
    convolutions = [layer for layer in model.layers if "conv" in layer.__class__.__name__.lower()]
    assert convolutions[0].filters == 2  # entry block
    assert sorted({layer.filters for layer in convolutions}) == [2, 4, 8, 16, 32]
    assert model.get_layer(keras_cnn.LAST_CONV_LAYER).output.shape[-1] == 32
    assert model.output.shape == (None, 1)
    assert keras_cnn.CPU_FILTERS == (2, 4, 8, 16, 32) and keras_cnn.GPU_FILTERS == (128, 256, 512, 728, 1024)


def test_parameter_counts_the_notebooks_quote(keras_cnn):
    # 06's prose: about 2,271 weights at CPU width, about 2.7 million at keras.io's width (≈1,200x)
    assert keras_cnn.make_model((180, 180, 3), keras_cnn.CPU_FILTERS).count_params() == 2271
    assert keras_cnn.make_model((180, 180, 3), keras_cnn.GPU_FILTERS).count_params() == 2731065


def test_more_than_two_classes_get_one_logit_each(keras_cnn):
    assert keras_cnn.make_model((32, 32, 3), (4, 8, 16), num_classes=5).output.shape == (None, 5)


def test_too_few_filter_sizes_is_a_clear_error(keras_cnn):
    with pytest.raises(ValueError, match="entry, at least one block, exit"):
        keras_cnn.make_model((32, 32, 3), (8, 16))


def test_under_mixed_precision_the_logit_stays_float32(keras, keras_cnn):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras_cnn.make_model((32, 32, 3), (4, 8, 16))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer(keras_cnn.LAST_CONV_LAYER).compute_dtype == "float16"
    assert model.output.dtype == "float32"


def _flips_and_turns(augmentation, draws: int = 300, size: int = 64):
    """For each of `draws` augmented copies of one photo: (was it mirrored, was it turned anticlockwise).

    The photo is black but for a bright patch right of the centre. A mirror puts the patch left of
    the centre; a rotation moves it up or down, the other way round when it was mirrored first, so
    the sign of dx * dy gives the rotation's direction whatever the flip did. Only pixels within
    the inscribed circle count: the corners a rotation fills come from reflections.
    """
    image = np.zeros((size, size, 3), "float32")
    centre = size // 2
    image[centre - 2:centre + 2, centre + 16:centre + 20] = 255.0
    out = np.asarray(augmentation(np.repeat(image[None], draws, axis=0), training=True))[..., 0]
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    weights = out * ((yy ** 2 + xx ** 2) < 28 ** 2)
    dx = (weights * xx).sum(axis=(1, 2)) / weights.sum(axis=(1, 2))
    dy = (weights * yy).sum(axis=(1, 2)) / weights.sum(axis=(1, 2))
    return dx < 0, dx * dy < 0


def test_flips_and_rotation_directions_are_independent(keras, keras_cnn):
    flipped, turned = _flips_and_turns(keras_cnn.make_augmentation(seed=42))
    # independent fair coins: each of the 4 combinations about 75 of 300 times (sd 7.5); with one
    # shared seed two of them never occur (a flip exactly when the angle is negative)
    counts = [int(np.sum((flipped == f) & (turned == t))) for f in (False, True) for t in (False, True)]
    assert min(counts) >= 40, counts


def test_the_independence_check_catches_layers_that_share_a_seed(keras):
    shared = keras.Sequential([keras.layers.RandomFlip("horizontal", seed=42), keras.layers.RandomRotation(0.1, seed=42)])
    flipped, turned = _flips_and_turns(shared)
    assert np.array_equal(flipped, ~turned) or np.array_equal(flipped, turned)  # the defect the test above guards against


def test_one_seed_gives_the_same_augmentation_twice(keras, keras_cnn):
    photos = np.random.default_rng(0).uniform(0, 255, size=(8, 32, 32, 3)).astype("float32")
    first = np.asarray(keras_cnn.make_augmentation(seed=7)(photos, training=True))
    second = np.asarray(keras_cnn.make_augmentation(seed=7)(photos, training=True))
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, photos)


def test_the_network_builds_and_trains_under_the_torch_backend():
    # the GPU benchmark runs make_model with KERAS_BACKEND=torch: the module must not import TensorFlow
    code = textwrap.dedent("""
        import sys
        import numpy as np, keras
        from lessons.keras_cnn import make_model
        assert keras.backend.backend() == "torch"
        model = make_model((40, 56, 3), (4, 8, 16))
        model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
        model.fit(np.random.default_rng(0).uniform(0, 255, (4, 40, 56, 3)), np.array([0, 1, 0, 1.0]), epochs=1, verbose=0)
        assert "tensorflow" not in sys.modules
        print("torch ok", model.output.shape)
    """)
    assert "torch ok" in run_in_fresh_python(code, timeout=300, env={"KERAS_BACKEND": "torch"}).stdout

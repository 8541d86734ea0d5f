"""helpers.keras_models: the keras.io network of notebooks 05 and 06, and its checkpoints."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.data import get_dataset
from helpers.keras_data import as_arrays, image_datasets
from helpers.keras_models import CPU_FILTERS, GPU_FILTERS, LAST_CONV_LAYER, make_augmentation, make_model

pytestmark = pytest.mark.tensorflow


def _compile(model):
    import keras  # already loaded by the `keras` fixture of the calling test

    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(name="acc", threshold=0.0)],
    )
    return model


@pytest.mark.parametrize("augment_in_model", [False, True], ids=["05-augment-in-pipeline", "06-augment-in-model"])
def test_the_checkpoint_the_notebooks_save_loads_and_predicts_the_same(keras, project_dirs, synthetic_pets, tmp_path, augment_in_model):
    keras.utils.set_random_seed(0)
    dataset = get_dataset(synthetic_pets.root, progress=False)
    augmentation = make_augmentation(seed=0)
    data = image_datasets(dataset, (48, 48), batch_size=16, augmentation=None if augment_in_model else augmentation)
    model = _compile(make_model((48, 48, 3), (4, 8, 16, 32), augmentation=augmentation if augment_in_model else None))
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


def test_filter_sizes_set_the_width_of_every_block(keras):
    model = make_model((64, 64, 3), (2, 4, 8, 16, 32))
    convolutions = [layer for layer in model.layers if "conv" in layer.__class__.__name__.lower()]
    assert convolutions[0].filters == 2  # entry block
    assert sorted({layer.filters for layer in convolutions}) == [2, 4, 8, 16, 32]
    assert model.get_layer(LAST_CONV_LAYER).output.shape[-1] == 32
    assert model.output.shape == (None, 1)
    assert make_model((64, 64, 3), (4, 8, 16, 32, 64)).count_params() > model.count_params()
    assert CPU_FILTERS == (2, 4, 8, 16, 32) and GPU_FILTERS == (128, 256, 512, 728, 1024)


def test_more_than_two_classes_get_one_logit_each(keras):
    assert make_model((32, 32, 3), (4, 8, 16), num_classes=5).output.shape == (None, 5)


def test_too_few_filter_sizes_is_a_clear_error(keras):
    with pytest.raises(ValueError, match="entry, at least one block, exit"):
        make_model((32, 32, 3), (8, 16))


def test_under_mixed_precision_the_logit_stays_float32(keras):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = make_model((32, 32, 3), (4, 8, 16))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer(LAST_CONV_LAYER).compute_dtype == "float16"
    assert model.output.dtype == "float32"

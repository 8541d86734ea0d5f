"""helpers.gradcam: heat maps at the image's size, in [0, 1], for plain and nested Keras models."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from conftest import run_in_fresh_python

from helpers.gradcam import grad_cam, show_grad_cam
from helpers.keras_models import LAST_CONV_LAYER, make_augmentation, make_model

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def model(keras):
    keras.utils.set_random_seed(0)
    return make_model((40, 56, 3), (4, 8, 16, 32))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 255, size=(3, 40, 56, 3)).astype("float32")


def test_heat_maps_have_the_image_size_and_values_in_0_1(model, images):
    heatmaps = grad_cam(model, images, LAST_CONV_LAYER)
    assert heatmaps.shape == (3, 40, 56)
    assert heatmaps.min() >= 0 and heatmaps.max() <= 1
    assert np.ptp(heatmaps, axis=(1, 2)).min() > 0  # a map, not a constant


def test_one_image_without_a_batch_axis_gives_one_map(model, images):
    assert grad_cam(model, images[0], LAST_CONV_LAYER).shape == (1, 40, 56)


def test_explaining_cat_or_dog_gives_different_maps(model, images):
    cat = grad_cam(model, images, LAST_CONV_LAYER, class_index=0)
    dog = grad_cam(model, images, LAST_CONV_LAYER, class_index=1)
    assert not np.allclose(cat, dog)
    predicted = grad_cam(model, images, LAST_CONV_LAYER)
    dog_votes = model.predict(images, verbose=0)[:, 0] > 0
    for index, is_dog in enumerate(dog_votes):
        np.testing.assert_allclose(predicted[index], (dog if is_dog else cat)[index], atol=1e-5)


def test_a_layer_inside_a_nested_base_model_is_found(keras, images):
    keras.utils.set_random_seed(1)
    full = make_model((40, 56, 3), (4, 8, 16))
    base = keras.Model(full.inputs, full.get_layer(LAST_CONV_LAYER).output, name="base")
    inputs = keras.Input((40, 56, 3))
    x = make_augmentation()(inputs)
    x = base(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outer = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))  # like transfer learning (08)
    heatmaps = grad_cam(outer, images, LAST_CONV_LAYER)
    assert heatmaps.shape == (3, 40, 56) and 0 <= heatmaps.min() and heatmaps.max() <= 1


def test_an_unknown_layer_name_lists_the_layers(model, images):
    with pytest.raises(ValueError, match="No layer 'block14_sepconv2_act'.*Its layers"):
        grad_cam(model, images, "block14_sepconv2_act")


def test_show_grad_cam_draws_one_panel_per_image(keras, images):
    import matplotlib

    matplotlib.use("Agg")
    fig = show_grad_cam(images, np.zeros((3, 40, 56)), titles=["a", "b", "c"])
    drawn = [axis for axis in fig.axes if axis.images]
    assert len(drawn) == 3 and [axis.get_title() for axis in drawn] == ["a", "b", "c"]


def test_the_same_code_runs_under_the_torch_backend():
    code = textwrap.dedent("""
        import numpy as np, keras
        from helpers.gradcam import grad_cam
        from helpers.keras_models import LAST_CONV_LAYER, make_model
        assert keras.backend.backend() == "torch"
        model = make_model((40, 56, 3), (4, 8, 16))
        maps = grad_cam(model, np.random.default_rng(0).uniform(0, 255, (2, 40, 56, 3)), LAST_CONV_LAYER)
        assert maps.shape == (2, 40, 56) and maps.min() >= 0 and maps.max() <= 1, (maps.shape, maps.min(), maps.max())
        print("torch ok")
    """)
    assert "torch ok" in run_in_fresh_python(code, timeout=300, env={"KERAS_BACKEND": "torch"}).stdout

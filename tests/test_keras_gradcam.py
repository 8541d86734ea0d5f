"""lessons.grad_cam (exported from notebook 06): heat maps at the image's size, in [0, 1], following the
logit, for plain models and for a frozen base model nested in a classifier (notebook 08)."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def lessons(keras):
    """(lessons.keras_cnn, lessons.grad_cam), imported when a test runs: they import Keras and TensorFlow."""
    from lessons import grad_cam, keras_cnn

    return keras_cnn, grad_cam


@pytest.fixture(scope="module")
def model(keras, lessons):
    keras.utils.set_random_seed(0)
    return lessons[0].make_model((40, 56, 3), (4, 8, 16, 32))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 255, size=(3, 40, 56, 3)).astype("float32")


def test_heat_maps_have_the_image_size_and_values_in_0_1(lessons, model, images):
    keras_cnn, grad_cam = lessons
    heatmaps = grad_cam.grad_cam(model, images, keras_cnn.LAST_CONV_LAYER)
    assert heatmaps.shape == (3, 40, 56)
    assert heatmaps.min() >= 0 and heatmaps.max() <= 1
    assert np.ptp(heatmaps, axis=(1, 2)).min() > 0  # a map, not a constant


def test_one_image_without_a_batch_axis_gives_one_map(lessons, model, images):
    keras_cnn, grad_cam = lessons
    assert grad_cam.grad_cam(model, images[0], keras_cnn.LAST_CONV_LAYER).shape == (1, 40, 56)


def test_the_map_is_the_relu_of_the_gradient_weighted_feature_maps(keras, lessons, model, images):
    import tensorflow as tf

    keras_cnn, grad_cam = lessons
    probe = keras.Model(model.inputs, [model.get_layer(keras_cnn.LAST_CONV_LAYER).output, model.output])
    x = tf.constant(images[:1])
    with tf.GradientTape() as tape:
        features, logit = probe(x, training=False)
        score = logit[0, 0] if float(logit[0, 0]) > 0 else -logit[0, 0]  # the predicted class
    weights = tf.reduce_mean(tape.gradient(score, features), axis=(1, 2))[0].numpy()
    expected = np.maximum((features[0].numpy() * weights).sum(-1), 0)
    expected = tf.image.resize(expected[None, ..., None] / expected.max(), (40, 56)).numpy()[0, ..., 0]
    np.testing.assert_allclose(grad_cam.grad_cam(model, images[:1], keras_cnn.LAST_CONV_LAYER)[0], np.clip(expected, 0, 1), atol=1e-5)


def test_explaining_cat_or_dog_gives_different_maps(lessons, model, images):
    keras_cnn, grad_cam = lessons
    cat = grad_cam.grad_cam(model, images, keras_cnn.LAST_CONV_LAYER, class_index=0)
    dog = grad_cam.grad_cam(model, images, keras_cnn.LAST_CONV_LAYER, class_index=1)
    assert not np.allclose(cat, dog)
    predicted = grad_cam.grad_cam(model, images, keras_cnn.LAST_CONV_LAYER)
    dog_votes = model.predict(images, verbose=0)[:, 0] > 0
    for index, is_dog in enumerate(dog_votes):
        np.testing.assert_allclose(predicted[index], (dog if is_dog else cat)[index], atol=1e-5)


def _classifier_around_a_frozen_base(keras, keras_cnn, activation, scale=1.0):
    """Like notebook 08: augmentation, a frozen nested base model, pooling, one Dense output."""
    keras.utils.set_random_seed(1)
    full = keras_cnn.make_model((40, 56, 3), (4, 8, 16))
    base = keras.Model(full.inputs, full.get_layer(keras_cnn.LAST_CONV_LAYER).output, name="base")
    base.trainable = False
    inputs = keras.Input((40, 56, 3))
    x = keras_cnn.make_augmentation()(inputs)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    head = keras.layers.Dense(1, activation=activation, name="cat_or_dog")
    outer = keras.Model(inputs, head(x))
    head.kernel.assign(head.kernel * scale)
    return outer


def test_a_layer_inside_a_frozen_nested_base_model_is_found_and_gives_a_map(keras, lessons, images):
    keras_cnn, grad_cam = lessons
    outer = _classifier_around_a_frozen_base(keras, keras_cnn, "sigmoid")
    heatmaps = grad_cam.grad_cam(outer, images, keras_cnn.LAST_CONV_LAYER)
    assert heatmaps.shape == (3, 40, 56) and 0 <= heatmaps.min() and heatmaps.max() <= 1
    assert np.ptp(heatmaps, axis=(1, 2)).min() > 0  # the frozen base still passes gradients back to its maps


def test_a_saturated_sigmoid_still_gives_the_logits_map(keras, lessons, images):
    keras_cnn, grad_cam = lessons
    # a head so sure of itself that float32 rounds the sigmoid to 0 or 1: its gradient is 0 there
    saturated = _classifier_around_a_frozen_base(keras, keras_cnn, "sigmoid", scale=1e4)
    linear = _classifier_around_a_frozen_base(keras, keras_cnn, None, scale=1e4)
    probabilities = saturated.predict(images, verbose=0)[:, 0]
    assert set(np.unique(probabilities)) <= {0.0, 1.0}
    maps = grad_cam.grad_cam(saturated, images, keras_cnn.LAST_CONV_LAYER)
    np.testing.assert_allclose(maps, grad_cam.grad_cam(linear, images, keras_cnn.LAST_CONV_LAYER), atol=1e-5)
    assert np.ptp(maps, axis=(1, 2)).min() > 0


def test_an_unknown_layer_name_lists_the_layers(lessons, model, images):
    with pytest.raises(ValueError, match="No layer 'block14_sepconv2_act'.*Its layers"):
        lessons[1].grad_cam(model, images, "block14_sepconv2_act")


def test_show_grad_cam_draws_one_panel_per_image(lessons, images):
    import matplotlib

    matplotlib.use("Agg")
    fig = lessons[1].show_grad_cam(images, np.zeros((3, 40, 56)), titles=["a", "b", "c"])
    drawn = [axis for axis in fig.axes if axis.images]
    assert len(drawn) == 3 and [axis.get_title() for axis in drawn] == ["a", "b", "c"]

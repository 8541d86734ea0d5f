"""Grad-CAM (Selvaraju et al., 2017) for Keras models: where in the photo the network looked.

The heat map of one image is ReLU(sum_k w_k * A_k), A_k the k-th feature map of the
last convolutional layer and w_k the mean gradient of the class score over A_k.
Everything but the gradient is keras.ops, so the same code runs under the TensorFlow
and PyTorch backends (JAX needs the model split at the layer; not supported here).

Works for a plain functional model (notebooks 05, 06) and for a chain of layers holding
a nested base model (transfer learning, notebook 08): pass the layer's name inside the
base model.
"""
from __future__ import annotations

import numpy as np


def _find_layer(model, name: str):
    """(the layer, the nested model holding it or None)."""
    try:
        return model.get_layer(name), None
    except ValueError:
        pass
    for layer in model.layers:
        if hasattr(layer, "get_layer"):
            try:
                return layer.get_layer(name), layer
            except ValueError:
                continue
    names = [layer.name for layer in model.layers]
    raise ValueError(f"No layer {name!r} in model {model.name!r} (nor in a model nested in it). Its layers: {names}")


def _features_and_outputs(model, layer_name: str):
    """A function images -> (feature maps of layer_name, model outputs), in inference mode."""
    import keras

    layer, nested = _find_layer(model, layer_name)
    if nested is None:
        probe = keras.Model(model.inputs, [layer.output, model.output])
        return lambda images: probe(images, training=False)

    inner = keras.Model(nested.inputs, [layer.output, nested.output])
    chain = [each for each in model.layers if not isinstance(each, keras.layers.InputLayer)]

    def run(images):
        x, features = images, None
        for each in chain:
            if each is nested:
                features, x = inner(x, training=False)
            else:
                x = each(x, training=False)
        return features, x

    return run


def _ends_in_sigmoid(model) -> bool:
    activation = getattr(model.layers[-1], "activation", None)
    return getattr(activation, "__name__", "") == "sigmoid"


def _score(outputs, class_index, threshold):
    """The score whose gradient Grad-CAM follows, one per image."""
    from keras import ops

    if outputs.shape[-1] == 1:  # one output for two classes: above the threshold votes for class 1
        logit = outputs[:, 0]
        if class_index is None:
            chosen = ops.cast(logit > threshold, "float32")
        else:
            chosen = ops.full_like(logit, float(class_index))
        return ops.where(chosen > 0.5, logit, -logit)
    chosen = ops.argmax(outputs, axis=-1) if class_index is None else ops.full((outputs.shape[0],), class_index, dtype="int32")
    return ops.take_along_axis(outputs, ops.expand_dims(ops.cast(chosen, "int32"), -1), axis=-1)[:, 0]


def _features_and_gradients(run, images, class_index, threshold):
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            features, outputs = run(images)
            tape.watch(features)
            score = _score(outputs, class_index, threshold)
        return features, tape.gradient(score, features)
    if backend == "torch":
        import torch

        with torch.enable_grad():
            features, outputs = run(images)
            score = _score(outputs, class_index, threshold)
            gradients = torch.autograd.grad(score.sum(), features)[0]  # images are independent in inference mode
        return features.detach(), gradients
    raise NotImplementedError(f"grad_cam supports the tensorflow and torch Keras backends, not {backend!r}.")


def grad_cam(model, images, last_conv_layer_name: str, class_index: int | None = None) -> np.ndarray:
    """Heat maps (n, H, W) in [0, 1] at the images' size, one per image.

    images: (n, H, W, 3) or one (H, W, 3) image, scaled as the model expects.
    class_index: the class to explain; None explains each image's predicted class.
    """
    from keras import ops

    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4:
        raise ValueError(f"images must be (n, H, W, channels) or (H, W, channels), got shape {images.shape}")
    run = _features_and_outputs(model, last_conv_layer_name)
    threshold = 0.5 if _ends_in_sigmoid(model) else 0.0  # a probability, or a logit
    features, gradients = _features_and_gradients(run, ops.convert_to_tensor(images), class_index, threshold)
    weights = ops.mean(ops.cast(gradients, "float32"), axis=(1, 2), keepdims=True)  # one weight per feature map
    heatmaps = ops.relu(ops.sum(ops.cast(features, "float32") * weights, axis=-1))  # (n, h, w)
    peak = ops.max(heatmaps, axis=(1, 2), keepdims=True)
    heatmaps = heatmaps / ops.maximum(peak, 1e-12)  # 0 everywhere when nothing speaks for the class
    resized = ops.image.resize(ops.expand_dims(heatmaps, -1), images.shape[1:3], interpolation="bilinear")
    return np.clip(ops.convert_to_numpy(resized)[..., 0], 0.0, 1.0)


def show_grad_cam(images, heatmaps, titles=None, alpha: float = 0.45, columns: int = 4):
    """Each image with its heat map laid over it (jet colours: red = looked at most)."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 3:
        images, heatmaps = images[None], np.asarray(heatmaps)[None]
    n = len(images)
    columns = min(columns, n)
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.2 * rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= n:
            continue
        image = images[index].astype("float32")
        image = (image - image.min()) / (image.max() - image.min() + 1e-12)
        axis.imshow(image)
        axis.imshow(heatmaps[index], cmap="jet", alpha=alpha, vmin=0, vmax=1)
        if titles is not None:
            axis.set_title(titles[index], fontsize=9)
    fig.tight_layout()
    return fig

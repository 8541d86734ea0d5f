"""The keras.io "Image classification from scratch" network, any width (notebooks 05 and 06).

Written with Keras layers only, so the same function builds the model under the
TensorFlow, PyTorch or JAX backend (the GPU benchmark runs it with KERAS_BACKEND=torch).
Keras is imported inside the function: importing helpers must not pick a framework.
"""
from __future__ import annotations

# keras.io's filter sizes: entry block 128, residual blocks 256 / 512 / 728, exit block 1024.
GPU_FILTERS = (128, 256, 512, 728, 1024)
# Seed 000's PC version of the same network: about 1/64 of the work per image.
CPU_FILTERS = (2, 4, 8, 16, 32)

# Grad-CAM reads the feature maps of this layer: the last one that still has a spatial grid.
LAST_CONV_LAYER = "exit_relu"


def make_model(input_shape=(180, 180, 3), filters=CPU_FILTERS, augmentation=None, num_classes: int = 2, dropout: float = 0.25):
    """A small Xception: entry Conv2D, residual SeparableConv2D blocks, exit SeparableConv2D, one logit.

    filters = (entry, *blocks, exit). Inputs are pixels in [0, 255]; the model rescales them.
    augmentation: optional layers applied first (on a GPU that is where they are cheapest).
    For two classes the output is one logit (> 0 means dog): train with
    BinaryCrossentropy(from_logits=True). The last Dense runs in float32 so that
    mixed precision cannot overflow the loss.
    """
    import keras
    from keras import layers

    if len(filters) < 3:
        raise ValueError(f"filters needs (entry, at least one block, exit) sizes, got {filters!r}")
    entry, *blocks, exit_size = filters
    inputs = keras.Input(shape=input_shape)
    x = augmentation(inputs) if augmentation is not None else inputs
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(entry, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous_block_activation = x  # set aside for the residual connection

    for size in blocks:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        # a 1x1 convolution with stride 2 brings the shortcut to the block's new shape
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])
        previous_block_activation = x

    x = layers.SeparableConv2D(exit_size, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu", name=LAST_CONV_LAYER)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    units = 1 if num_classes == 2 else num_classes
    outputs = layers.Dense(units, activation=None, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name=f"xception_{'_'.join(map(str, filters))}")


def make_augmentation(flip: str = "horizontal", rotation: float = 0.1, seed: int | None = None):
    """keras.io's augmentation: random horizontal flips and small rotations (training only)."""
    import keras
    from keras import layers

    return keras.Sequential([layers.RandomFlip(flip, seed=seed), layers.RandomRotation(rotation, seed=seed)], name="augmentation")

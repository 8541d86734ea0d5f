"""The tf.data input pipeline of the Keras notebooks (05, 06, 08).

`image_datasets(dataset)` reads the cleaned tree (every file a readable RGB JPEG, so
no "Corrupt JPEG data" or unknown-format crash mid-epoch) with
`keras.utils.image_dataset_from_directory` and keeps the model fed:

  decode + resize once -> uint8 -> cache -> shuffle -> batch -> [augment] -> prefetch

* cache after decoding: from the second epoch on no JPEG is opened again. Caching
  uint8 rather than float32 needs 4x less memory (25,000 photos at 180x180: 2.4 GB);
* shuffle after the cache, so every epoch sees a new order;
* augmentation in the pipeline (`augmentation=`) runs on the CPU in parallel with
  training: the cheap place on a CPU-only machine. On a GPU put the augmentation
  layers in the model instead (lessons.keras_cnn.make_model(augmentation=...), notebook 05);
* prefetch(AUTOTUNE) prepares the next batches while the model trains on this one.

`load_photo(path)` reads one photo of your own exactly as the pipeline reads the training photos.

TensorFlow is imported inside the functions: importing helpers must not pick a framework.
"""
from __future__ import annotations

from helpers.layout import CLASS_NAMES

SHUFFLE_BUFFER = 1024  # images (~100 MB at 180x180): the file order is already shuffled once


def load_split(directory, image_size=(180, 180), shuffle: bool = False, seed: int = 42):
    """One split folder ({cat,dog}/*.jpg) as an unbatched dataset of (uint8 image, int label)."""
    import keras
    import tensorflow as tf

    images = keras.utils.image_dataset_from_directory(
        directory,
        labels="inferred",
        label_mode="int",
        class_names=list(CLASS_NAMES),  # fixes 0 = cat, 1 = dog whatever the folder holds
        image_size=tuple(image_size),
        batch_size=None,
        shuffle=shuffle,
        seed=seed,
        verbose=False,
    )
    # resizing gives float32 in [0, 255]; uint8 holds the same pixels in a quarter of the memory
    return images.map(lambda image, label: (tf.cast(tf.round(image), tf.uint8), label), num_parallel_calls=tf.data.AUTOTUNE)


def image_datasets(dataset, image_size=(180, 180), batch_size: int = 32, augmentation=None, cache=True, seed: int = 42, splits=("train", "val", "test")) -> dict:
    """{split: tf.data.Dataset of (float32 image batch in [0, 255], int label batch)}.

    dataset: a helpers.data.CleanDataset. Only 'train' is shuffled and augmented.
    cache: True caches in memory, a path string caches to that file (for data larger
    than memory), False does not cache.
    """
    import tensorflow as tf

    autotune = tf.data.AUTOTUNE
    out = {}
    for split in splits:
        training = split == "train"
        directory = dataset.split_dir(split)
        if not any(directory.glob("*/*.jpg")):
            raise ValueError(f"No photos in {directory}: get_dataset() found none for the {split!r} split.")
        data = load_split(directory, image_size, shuffle=training, seed=seed)
        if cache:
            data = data.cache(f"{cache}-{split}" if isinstance(cache, str) else "")
        if training:
            data = data.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        data = data.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=autotune)
        if training and augmentation is not None:
            data = data.map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=autotune)
        out[split] = data.prefetch(autotune)
    return out


def as_arrays(data, image_dtype: str = "uint8") -> tuple:
    """All (images, labels) of a batched, unaugmented dataset as two NumPy arrays.

    uint8 by default: the pipeline's pixels are whole numbers in [0, 255], and a test set of
    2,300 photos at 180x180 takes 220 MB as uint8 but 900 MB as float32.
    """
    import numpy as np

    images, labels = [], []
    for x, y in data:
        images.append(np.asarray(x).astype(image_dtype))
        labels.append(np.asarray(y))
    return np.concatenate(images), np.concatenate(labels)


def load_photo(path, image_size=(180, 180)):
    """One photo file as a batch of one (1, height, width, 3), float32 pixels in [0, 255], resized
    exactly as `image_datasets` resizes the training photos.

    The pipeline's `image_dataset_from_directory` decodes with `tf.image.decode_image` and resizes with
    `tf.image.resize(..., "bilinear")`, which does not antialias; `keras.utils.load_img(target_size=...)`
    resizes with PIL (nearest-neighbour by default; its bilinear antialiases when it shrinks). Either
    would show the model a different picture from the ones it was trained on, so predictions read the
    photo here, with the pipeline's own operations, and round to whole pixels as the pipeline's cache does.
    """
    import os

    import tensorflow as tf

    path = os.path.expanduser(str(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path!r}: no such file. Give the path of a photo (JPEG, PNG, BMP or GIF), "
                                "for example in MY_IMAGE in the parameters cell.")
    try:
        image = tf.image.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        raise ValueError(f"{path!r} is not an image TensorFlow can read ({error.message.splitlines()[0]}). "
                         "Give the path of a photo file: JPEG, PNG, BMP or GIF.") from error
    image = tf.image.resize(image, tuple(image_size), method="bilinear")  # what load_split's reader does
    return tf.round(image)[None].numpy().astype("float32")  # whole pixels, as the pipeline caches them (uint8)

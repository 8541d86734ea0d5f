"""Does the input pipeline starve the model? Augmentation in the pipeline or in the model? Mixed precision?

1. CPU, TensorFlow backend (notebook 05): epoch time of the CPU-sized network (filters 2..32,
   180x180), one fresh model per variant, the variants' epochs taken in turns (the order reversed
   every other round), each round's ratio paired (benchmarks/measure.py):
   - files: the JPEG files through helpers.keras_data.image_datasets (decode, cache, shuffle,
     augment, prefetch), as notebook 05 trains;
   - memory: the same photos already decoded, as one tensor, through the same shuffle,
     augmentation and prefetch: the pipeline's lower bound. Target: files / memory <= 1.15;
   - model_augmentation: notebook 05's first exercise: the same cached files without augmentation
     in the pipeline, the augmentation layers inside the model instead.
   The first round (it decodes the JPEGs and traces the models) is reported apart, not counted.
2. GPU, any Keras backend (notebook 06; runs only when a GPU is present, or with --gpu-anyway):
   epoch time of the GPU-sized network (filters 128..1024) in float32 and in mixed_float16 on
   in-memory data, interleaved, and the projected time of 25 epochs over PetImages' training photos.
   TensorFlow is not installed on the lent GPU machine: run it there with KERAS_BACKEND=torch.

Writes data/benchmarks/bench_keras_pipeline.json (cases with median, min-max, IQR, rounds).

    python benchmarks/bench_keras_pipeline.py                       # CPU part (and GPU part if a GPU is present)
    python benchmarks/bench_keras_pipeline.py --quick               # synthetic photos, 64 px, 2 rounds (never promoted)
    KERAS_BACKEND=torch python benchmarks/bench_keras_pipeline.py --part gpu
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # the CPU network crashes TF 2.20/2.21 otherwise (notebook 05)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks import measure  # noqa: E402

PETIMAGES_TRAIN_PHOTOS = 19_950  # notebook 00: about 24,950 usable photos, about 19,950 of them for training


def keras_cnn():
    """Notebook 05's network and augmentation, as the notebook exports them (imports keras: call it late)."""
    from lessons import keras_cnn as module

    return module


def _compiled(model):
    import keras

    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def one_epoch(model, data, teardown: list):
    """One `fit` epoch, timed from the call to the end of its last step. Each `fit` call makes a tf.data
    iterator and tears it down at the end, and the teardown can wait for tf.data's autotuning thread, which
    wakes at growing intervals (seen here as epochs ending at 20.5 or 41.0 s, gone with autotune disabled).
    A training run of many epochs in one `fit` does not pay that per epoch, so it is timed apart, in `teardown`."""
    import keras

    class LastStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.at = time.perf_counter()

    def run():
        last_step = LastStep()
        start = time.perf_counter()
        model.fit(data, epochs=1, verbose=0, callbacks=[last_step])
        teardown.append(round(time.perf_counter() - last_step.at, 3))
        return measure.Timed(last_step.at - start)
    return run


def cpu_cases(results, source: str | None, quick: bool, image_size: int, batch_size: int, rounds: int) -> None:
    import keras
    import tensorflow as tf

    from helpers.data import get_dataset
    from helpers.keras_data import SHUFFLE_BUFFER, as_arrays, image_datasets

    cnn = keras_cnn()
    dataset = get_dataset(None if quick else source, quick=quick, progress=False, default_source="filtered")  # notebook 05's photos
    size = (image_size, image_size)

    def model(augmentation=None):
        keras.utils.set_random_seed(0)
        return _compiled(cnn.make_model((*size, 3), cnn.CPU_FILTERS, augmentation=augmentation))

    augmentation = cnn.make_augmentation(seed=0)
    from_files = image_datasets(dataset, size, batch_size, augmentation=augmentation, splits=("train",))["train"]
    unaugmented_files = image_datasets(dataset, size, batch_size, augmentation=None, splits=("train",))["train"]
    # the same photos, decoded beforehand, as one tensor in memory: the pipeline's lower bound
    images, labels = as_arrays(image_datasets(dataset, size, batch_size, cache=False, splits=("train",))["train"])
    autotune = tf.data.AUTOTUNE
    in_memory = (
        tf.data.Dataset.from_tensor_slices((tf.constant(images), tf.constant(labels)))
        .shuffle(SHUFFLE_BUFFER, seed=0)
        .batch(batch_size)
        .map(lambda x, y: (augmentation(tf.cast(x, tf.float32), training=True), y), num_parallel_calls=autotune)
        .prefetch(autotune)
    )
    trained_on = {
        "files": (model(), from_files),
        "memory": (model(), in_memory),
        "model_augmentation": (model(cnn.make_augmentation(seed=0)), unaugmented_files),
    }
    teardown = {name: [] for name in trained_on}
    epochs = {name: one_epoch(keras_model, data, teardown[name]) for name, (keras_model, data) in trained_on.items()}
    # the first epoch decodes the JPEGs (files) and traces each model: timed apart, not counted
    first = measure.interleaved(epochs, rounds=1, warmup=0)
    seconds = measure.interleaved(epochs, rounds, warmup=0)
    from helpers.dataset_id import identity_of

    data_name = identity_of(dataset.name) or dataset.name  # by content, as the records name it
    net = f"CPU net {'-'.join(map(str, cnn.CPU_FILTERS))} at {image_size}px, {len(images)} photos ({data_name}), batch {batch_size}"
    first_epoch = {name: round(s[0], 2) for name, s in first.items()}
    results.settings.update({"dataset": data_name, "photos": len(images), "image_size": image_size, "batch_size": batch_size,
                             "rounds": rounds, "first_epoch_s": first_epoch,
                             "epoch_timing": "from the fit call to the end of its last step; the iterator teardown after it apart",
                             "teardown_s": teardown})
    results.add("files_vs_memory", measure.case(
        f"{net}: steady-state epoch fed from the JPEG files (cache, shuffle, augment, prefetch) vs from tensors in memory",
        seconds, "files", "memory", target=1.15, unit="s per epoch", first_epoch_s=first_epoch))
    results.add("augmentation_model_vs_pipeline", measure.case(
        f"{net}: epoch with the augmentation inside the model vs in the tf.data pipeline (notebook 05, exercise 1)",
        seconds, "model_augmentation", "files", unit="s per epoch", first_epoch_s=first_epoch))


def gpu_cases(results, quick: bool, image_size: int, batch_size: int, steps: int, filters, rounds: int) -> None:
    import keras

    cnn = keras_cnn()
    n = batch_size * steps
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(n, image_size, image_size, 3)).astype("float32")
    labels = rng.integers(0, 2, size=(n, 1)).astype("float32")
    epochs = {}
    for policy in ("float32", "mixed_float16"):
        keras.mixed_precision.set_global_policy(policy)  # a model takes the policy in force when it is built
        keras.utils.set_random_seed(0)
        model = _compiled(cnn.make_model((image_size, image_size, 3), filters))
        model.fit(images[:batch_size * 2], labels[:batch_size * 2], batch_size=batch_size, epochs=1, verbose=0)  # warm-up: tracing, cuDNN autotuning
        epochs[policy] = (lambda m: lambda: m.fit(images, labels, batch_size=batch_size, epochs=1, verbose=0))(model)
    keras.mixed_precision.set_global_policy("float32")
    seconds = measure.interleaved(epochs, rounds, warmup=0)
    per_image = {policy: measure.spread([s / n for s in values]) for policy, values in seconds.items()}
    projected = {policy: round(25 * PETIMAGES_TRAIN_PHOTOS * spread["median"] / 60, 1) for policy, spread in per_image.items()}
    results.settings.update({"gpu_image_size": image_size, "gpu_batch_size": batch_size, "gpu_images_per_epoch": n, "gpu_rounds": rounds})
    results.add("gpu_mixed_vs_float32", measure.case(
        f"GPU net {'-'.join(map(str, filters))} at {image_size}px, {keras.backend.backend()} backend: epoch in mixed_float16 vs float32 (in-memory data)",
        seconds, "mixed_float16", "float32", per=n, unit="s per image",
        projected_25_epochs_petimages_min=projected, petimages_train_photos=PETIMAGES_TRAIN_PHOTOS))


def _gpu_present() -> bool:
    import keras

    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    if backend == "jax":
        import jax

        return any(device.platform == "gpu" for device in jax.devices())
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("cpu", "gpu", "all"), default="all")
    parser.add_argument("--source", default=measure.default_photos(),
                        help="photo folder for the CPU part (default: CATSDOGS_IMAGES, ../shared/data/cats_and_dogs_filtered, else notebook 05's download)")
    parser.add_argument("--image-size", type=int, default=180)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5, help="CPU part: timed epochs per variant, after the first (default 5)")
    parser.add_argument("--gpu-batch-size", type=int, default=64)
    parser.add_argument("--gpu-steps", type=int, default=20)
    parser.add_argument("--gpu-rounds", type=int, default=5)
    parser.add_argument("--gpu-filters", default="128,256,512,728,1024")
    parser.add_argument("--gpu-anyway", action="store_true", help="run the GPU part without a GPU (to check the code path)")
    parser.add_argument("--quick", action="store_true", help="synthetic photos, 64 px, 2 rounds: checks the code path, measures nothing")
    args = parser.parse_args(argv)
    quick = measure.is_quick(args.quick)
    if quick:
        args.image_size, args.rounds, args.gpu_steps, args.gpu_rounds, args.gpu_filters = 64, 2, 2, 2, "8,16,32"
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: a spread needs more than one epoch")

    import keras

    backend = keras.backend.backend()
    gpu = _gpu_present()
    results = measure.Results("bench_keras_pipeline", quick, {"backend": backend, "device": "gpu" if gpu else "cpu", "keras": keras.__version__})
    if args.part in ("cpu", "all"):
        if backend == "tensorflow":
            cpu_cases(results, args.source, quick, args.image_size, args.batch_size, args.rounds)
        else:
            results.notes.append(f"CPU part skipped: it measures the tf.data pipeline, which needs the tensorflow backend (this is {backend}).")
    if args.part in ("gpu", "all"):
        if gpu or args.gpu_anyway:
            filters = tuple(int(f) for f in args.gpu_filters.split(","))
            gpu_cases(results, quick, args.image_size, args.gpu_batch_size, args.gpu_steps, filters, args.gpu_rounds)
        else:
            results.notes.append("GPU part not measured: no GPU. On a GPU machine without TensorFlow run it with KERAS_BACKEND=torch --part gpu.")
    for note in results.notes:
        print(note)
    if not results.cases:
        print("Nothing measured.")
        return 1
    results.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())

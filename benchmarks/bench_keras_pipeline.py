"""Does the input pipeline starve the model? And what does mixed precision buy on a GPU?

1. CPU, TensorFlow backend (notebook 05): epoch time of the CPU-sized network (filters 2..32,
   180x180) fed from the JPEG files through helpers.keras_data.image_datasets (decode, cache,
   shuffle, augment, prefetch) versus fed from the same photos already in memory as tensors,
   through the same shuffle, augmentation and prefetch. Steady-state epochs (after the first,
   which decodes the JPEGs and traces the model). Target: ratio <= 1.15.
2. GPU, any Keras backend (notebook 06; runs only when a GPU is present, or with --gpu-anyway):
   images/s of the GPU-sized network (filters 128..1024) in float32 and in mixed_float16 on
   in-memory data, and the projected time of 25 epochs over the 23,000 PetImages photos.
   TensorFlow is not installed on the lent GPU machine: run it there with KERAS_BACKEND=torch.

Prints Markdown table rows and writes data/benchmarks/bench_keras_pipeline.json.
Timings on a shared machine are noisy: compare the two columns of one run, not runs.

    python benchmarks/bench_keras_pipeline.py                       # CPU part (and GPU part if a GPU is present)
    KERAS_BACKEND=torch python benchmarks/bench_keras_pipeline.py --part gpu
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # the CPU network crashes TF 2.20/2.21 otherwise (notebook 05)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from helpers import setup  # noqa: E402

PETIMAGES_PHOTOS = 23_000
SHARED_PHOTOS = setup.PROJECT_ROOT.parent / "shared" / "data" / "cats_and_dogs_filtered"


def epoch_timer():
    """A Keras callback recording each epoch's wall time (keras is imported late, so it is made here)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def _compiled(model):
    import keras

    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def _interleaved_epoch_seconds(factory, datasets: dict, epochs: int) -> dict:
    """{name: [seconds of each epoch]}: one fresh model per dataset, their epochs taken in turns.

    Taking turns spreads the load of a shared machine over both sides instead of one.
    """
    import keras

    models = {}
    for name in datasets:
        keras.utils.set_random_seed(0)
        models[name] = factory()
    seconds = {name: [] for name in datasets}
    for _ in range(epochs):
        for name, data in datasets.items():
            start = time.perf_counter()
            models[name].fit(data, epochs=1, verbose=0)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def cpu_rows(source: str | None, image_size: int, batch_size: int, epochs: int) -> list[dict]:
    import tensorflow as tf

    from helpers.data import get_dataset
    from helpers.keras_data import SHUFFLE_BUFFER, as_arrays, image_datasets
    from helpers.keras_models import CPU_FILTERS, make_augmentation, make_model

    dataset = get_dataset(source, progress=False)
    size = (image_size, image_size)
    factory = lambda: _compiled(make_model((*size, 3), CPU_FILTERS))  # noqa: E731
    augmentation = make_augmentation(seed=0)

    from_files = image_datasets(dataset, size, batch_size, augmentation=augmentation, splits=("train",))["train"]
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
    seconds = _interleaved_epoch_seconds(factory, {"files": from_files, "memory": in_memory}, epochs)
    # the first epoch decodes the JPEGs (files) and traces the model (both): reported apart
    files_epoch, memory_epoch = (statistics.median(seconds[name][1:]) for name in ("files", "memory"))
    return [{
        "case": f"CPU net {'-'.join(map(str, CPU_FILTERS))} at {image_size}px, {len(images)} photos ({dataset.name}), epoch",
        "files_pipeline_s": round(files_epoch, 2),
        "in_memory_s": round(memory_epoch, 2),
        "ratio": round(files_epoch / memory_epoch, 3),
        "target": "<= 1.15",
        "first_epoch_files_s": round(seconds["files"][0], 2),
        "first_epoch_memory_s": round(seconds["memory"][0], 2),
        "epochs_files_s": [round(x, 1) for x in seconds["files"]],
        "epochs_memory_s": [round(x, 1) for x in seconds["memory"]],
    }]


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


def gpu_rows(image_size: int, batch_size: int, steps: int, filters) -> list[dict]:
    import keras

    from helpers.keras_models import make_model

    n = batch_size * steps
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(n, image_size, image_size, 3)).astype("float32")
    labels = rng.integers(0, 2, size=(n, 1)).astype("float32")
    rows, rates = [], {}
    for policy in ("float32", "mixed_float16"):
        keras.mixed_precision.set_global_policy(policy)
        keras.utils.set_random_seed(0)
        model = _compiled(make_model((image_size, image_size, 3), filters))
        model.fit(images[:batch_size * 2], labels[:batch_size * 2], batch_size=batch_size, epochs=1, verbose=0)  # warm-up: tracing, cuDNN autotuning
        timer = epoch_timer()
        model.fit(images, labels, batch_size=batch_size, epochs=2, callbacks=[timer], verbose=0)
        rates[policy] = n / statistics.median(timer.seconds)
    keras.mixed_precision.set_global_policy("float32")
    for policy, rate in rates.items():
        rows.append({
            "case": f"GPU net {'-'.join(map(str, filters))} at {image_size}px, {policy}, {keras.backend.backend()} backend",
            "images_per_s": round(rate, 1),
            "projected_25_epochs_min": round(25 * PETIMAGES_PHOTOS / rate / 60, 1),
            "speedup_vs_float32": round(rate / rates["float32"], 2),
        })
    return rows


def markdown(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(column, "")) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("cpu", "gpu", "all"), default="all")
    parser.add_argument("--source", default=os.environ.get("CATSDOGS_IMAGES") or (str(SHARED_PHOTOS) if SHARED_PHOTOS.is_dir() else None),
                        help="photo folder for the CPU part (default: CATSDOGS_IMAGES, ../shared/data/cats_and_dogs_filtered, else the synthetic photos)")
    parser.add_argument("--image-size", type=int, default=180)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3, help="CPU part: epochs per variant (the first is reported apart)")
    parser.add_argument("--gpu-batch-size", type=int, default=64)
    parser.add_argument("--gpu-steps", type=int, default=20)
    parser.add_argument("--gpu-filters", default="128,256,512,728,1024")
    parser.add_argument("--gpu-anyway", action="store_true", help="run the GPU part without a GPU (to check the code path)")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch decodes and traces, the later ones are timed")

    import keras

    rows = []
    backend = keras.backend.backend()
    if args.part in ("cpu", "all"):
        if backend == "tensorflow":
            rows += cpu_rows(args.source, args.image_size, args.batch_size, args.epochs)
        else:
            print(f"CPU part skipped: it measures the tf.data pipeline, which needs the tensorflow backend (this is {backend}).")
    gpu = _gpu_present()
    if args.part in ("gpu", "all"):
        if gpu or args.gpu_anyway:
            filters = tuple(int(f) for f in args.gpu_filters.split(","))
            rows += gpu_rows(args.image_size, args.gpu_batch_size, args.gpu_steps, filters)
        else:
            print("GPU part skipped: no GPU. On a GPU machine without TensorFlow run it with KERAS_BACKEND=torch --part gpu.")
    if not rows:
        print("Nothing measured.")
        return 1
    print(f"Measured on {platform.node() or 'this machine'}: {os.cpu_count()} CPUs, {'GPU' if gpu else 'no GPU'}, Keras {keras.__version__} ({backend}). Timings on shared machines are noisy.")
    print(markdown(rows))
    out = setup.DATA_DIR / "benchmarks" / "bench_keras_pipeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "device": "gpu" if gpu else "cpu", "backend": backend, "cpus": os.cpu_count()}, indent=2) + "\n")
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

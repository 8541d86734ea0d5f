#!/usr/bin/env python
"""Notebook 07b: what makes the recipe's epoch cheap on a CPU, each change against the path before it.

    python benchmarks/bench_pytorch_recipe.py             # the photos of ../shared/data/cats_and_dogs_filtered (or CATSDOGS_IMAGES)
    python benchmarks/bench_pytorch_recipe.py --quick     # synthetic photos, tiny sizes, 2 rounds (never promoted)

One variant is one slice of the recipe's epoch: `--batches` training batches of the final recipe's model
(widths 32-256, 96 pixels, AdamW, label smoothing) and its share of validation batches (485 validation photos
to 2,000 training photos), each slice starting fresh loader iterators as an epoch does. Times are scaled to a
whole epoch (seconds per epoch). Variants, in float32 and, where the CPU has bfloat16 instructions, in bfloat16:
  * before: the path of notebook 07 before the split: photo files decoded every epoch (FastJpegLoader, the
    default workers), channels-first (NCHW) weights and batches, validation with mirror TTA every epoch;
  * channels_last: the same with channels-last weights and batches;
  * memory: the photos decoded once into memory as uint8 (lessons.pytorch_recipe.memory_loaders), 0 workers;
  * plain_val: validation without the mirrors (they are kept for the final scores);
  * pool_first: each block pools before its ReLU (the same function: tests/test_pytorch_cnn.py), so the ReLU
    touches a quarter of the numbers; the other variants use the old order, conv -> batch norm -> ReLU -> pool;
  * keep_memory: glibc keeps freed memory (helpers.setup.keep_freed_memory, which helpers.torch_data now
    sets); the other variants run as a notebook did before, with glibc's default (its steady state:
    measure.glibc_default_steady_state, set before each call of the variant, since the allocator is the process's);
  * after: all five, notebook 07b's path.
Each case is a variant's time over `before`'s in the same round and precision (benchmarks/measure.py:
interleaved rounds, the order reversed every other round; median, min-max, IQR). Target: after / before <= 0.5
in float32. Also bf16_vs_float32 for the path after, where bfloat16 runs.
Writes data/benchmarks/bench_pytorch_recipe.json.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from benchmarks import measure  # noqa: E402

import torch  # noqa: E402
from helpers.data import get_dataset  # noqa: E402
from helpers.torch_data import FastJpegLoader, default_num_workers, image_folders, loaders_over  # noqa: E402
from lessons import pytorch_cnn as cnn  # noqa: E402  (notebook 07's model, transforms and training loop)
from lessons import pytorch_recipe as recipe  # noqa: E402  (notebook 07b's photos in memory)

WIDTHS = (32, 64, 128, 256)  # the final recipe's model
TARGET = 0.5  # issue: the float32 epoch of the recipe at most half of what it was


class EpochSlice:
    """`train_batches` training batches and `val_batches` validation batches of one model, fresh iterators each call."""

    def __init__(self, loaders, dtype, channels_last: bool, tta: bool, pool_first: bool, keep_memory: bool,
                 train_batches: int, val_batches: int):
        torch.manual_seed(0)
        self.loaders, self.dtype, self.tta, self.keep_memory = loaders, dtype, tta, keep_memory
        self.train_batches, self.val_batches = train_batches, val_batches
        self.device = torch.device("cpu")
        self.model = cnn.build_model(self.device, channels_last=channels_last, widths=WIDTHS)
        if not pool_first:
            self.model.features = relu_before_pool(self.model.features)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-3, weight_decay=0.05)
        self()  # warm: first calls pick convolution algorithms, start the workers

    def __call__(self):
        if self.keep_memory:
            measure.keep_freed_memory()
        else:
            measure.glibc_default_steady_state()
        cnn.run_epoch(self.model, itertools.islice(self.loaders["train"], self.train_batches), self.device, self.optimizer,
                      dtype=self.dtype, label_smoothing=0.1, progress=False)
        cnn.run_epoch(self.model, itertools.islice(self.loaders["val"], self.val_batches), self.device, dtype=self.dtype,
                      tta=self.tta, progress=False)


def relu_before_pool(features: torch.nn.Sequential) -> torch.nn.Sequential:
    """The blocks as notebook 07 first wrote them: conv -> batch norm -> ReLU -> max pool."""
    blocks = [list(features[start:start + 4]) for start in range(0, len(features), 4)]
    assert all([type(layer).__name__ for layer in block] == ["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"] for block in blocks), features
    return torch.nn.Sequential(*[layer for conv, norm, pool, relu in blocks for layer in (conv, norm, relu, pool)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=measure.default_photos(),
                        help="folder of cat and dog photos (default: CATSDOGS_IMAGES, ../shared/data/cats_and_dogs_filtered, else notebook 07's download)")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=4, help="training batches per variant and round (validation: its share of them)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--no-bfloat16", action="store_true", help="float32 only, even where the CPU has bfloat16 instructions")
    parser.add_argument("--quick", action="store_true", help="synthetic photos, tiny sizes, 2 rounds: checks the code path")
    args = parser.parse_args(argv)
    quick = measure.is_quick(args.quick)
    if quick:
        args.image_size, args.batch_size, args.batches, args.rounds = 32, 8, 2, 2

    torch.manual_seed(0)
    dataset = get_dataset(None if quick else args.data, quick=quick, progress=False, default_source="filtered")
    n_train, n_val = len(dataset.files("train")[0]), len(dataset.files("val")[0])
    batches_per_epoch = -(-n_train // args.batch_size)
    val_batches = max(1, round(args.batches * n_val / n_train))
    epoch_fraction = args.batches / batches_per_epoch  # what one call does, as a share of an epoch (the validation's share with it)
    workers = default_num_workers()
    threads = torch.get_num_threads()
    precisions = {"float32": None}
    if cnn.cpu_has_bf16() and not args.no_bfloat16:
        precisions["bfloat16"] = torch.bfloat16

    augment, evaluate = cnn.train_transform(args.image_size), cnn.eval_transform(args.image_size)
    files = loaders_over(image_folders(dataset, augment, evaluate, loader=FastJpegLoader(round(1.25 * args.image_size))), args.batch_size, workers)
    start = time.perf_counter()
    in_memory = recipe.memory_loaders(dataset, args.image_size, args.batch_size, num_workers=0, progress=False)
    decode_seconds = time.perf_counter() - start
    results = measure.Results("bench_pytorch_recipe", quick, {
        "dataset": dataset.name, "training_photos": n_train, "validation_photos": n_val, "image_size": args.image_size,
        "batch_size": args.batch_size, "widths": list(WIDTHS), "train_batches_per_round": args.batches, "val_batches_per_round": val_batches,
        "epoch_fraction_per_round": round(epoch_fraction, 4), "rounds": args.rounds, "num_workers_files": workers, "num_workers_memory": 0,
        "torch_threads": threads, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "all"), "precisions": list(precisions), "decode_once_seconds": round(decode_seconds, 1), "allocator": "per variant: glibc keeps freed memory (keep_memory, after), else glibc's default steady state"})
    print(f"dataset {dataset.name}, {args.image_size} px, batch {args.batch_size}, {args.batches} training + {val_batches} validation "
          f"batches per variant and round ({epoch_fraction:.2f} of an epoch), {args.rounds} rounds, {os.cpu_count()} CPUs, "
          f"{threads} torch threads, {workers} workers for the files; photos decoded into memory in {decode_seconds:.0f} s; "
          f"precisions {list(precisions)}", flush=True)

    paths = {  # (loaders, channels-last, validation with mirrors, pool before ReLU, glibc keeps freed memory)
        "before": (files, False, True, False, False),
        "channels_last": (files, True, True, False, False),
        "memory": (in_memory, False, True, False, False),
        "plain_val": (files, False, False, False, False),
        "pool_first": (files, False, True, True, False),
        "keep_memory": (files, False, True, False, True),
        "after": (in_memory, True, False, True, True),
    }
    variants = {f"{path}_{name}": EpochSlice(loaders, dtype, *choices, args.batches, val_batches)
                for name, dtype in precisions.items() for path, (loaders, *choices) in paths.items()}
    seconds = measure.interleaved(variants, args.rounds, warmup=0)
    per = {name: epoch_fraction for name in variants}  # seconds per call / share of an epoch = seconds per epoch

    descriptions = {
        "channels_last": "channels-last weights and batches",
        "memory": "photos decoded once into memory (uint8), 0 workers",
        "plain_val": "validation without mirror TTA",
        "pool_first": "max pool before the ReLU in each block",
        "keep_memory": "glibc keeps freed memory",
        "after": "all five (notebook 07b)",
    }
    for name in precisions:
        for path, what in descriptions.items():
            results.add(f"{path}_vs_before_{name}", measure.case(
                f"Recipe epoch in {name}: {what} vs before (files every epoch, NCHW, validation with mirrors, ReLU then pool, glibc's default); below 1: faster",
                seconds, f"{path}_{name}", f"before_{name}", per=per, unit="s per epoch",
                target=TARGET if (path, name) == ("after", "float32") else None))
    if "bfloat16" in precisions:
        results.add("bfloat16_vs_float32_after", measure.case(
            "Recipe epoch, notebook 07b's path: bfloat16 autocast vs float32 (below 1: bfloat16 is faster)",
            seconds, "after_bfloat16", "after_float32", per=per, unit="s per epoch"))
    else:
        results.notes.append("No bfloat16 instructions on this CPU (or --no-bfloat16): float32 only.")
        print(results.notes[-1])
    results.notes.append("No GPU cases: benchmarks/bench_pytorch_loader.py measures AMP + channels-last on a GPU.")
    results.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())

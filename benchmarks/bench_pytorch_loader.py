#!/usr/bin/env python
"""Notebook 07: does the data loader keep the training loop fed; one torch thread or all; and what do
AMP, channels-last and torch.compile buy?

    python benchmarks/bench_pytorch_loader.py             # the photos of ../shared/data/cats_and_dogs_filtered (or CATSDOGS_IMAGES)
    python benchmarks/bench_pytorch_loader.py --quick     # synthetic photos, tiny sizes, 2 rounds (never promoted)

Every variant runs once per round, the order reversed every other round, and each case is the ratio
of two variants' times per image within a round (benchmarks/measure.py): median, min-max, IQR, rounds.
  * threads_1_vs_2: notebook 07's training step (lessons.pytorch_cnn.run_epoch) on batches in memory with one torch
    thread vs all of them (below 1: one thread is faster, other work keeps the cores busy);
  * fed_vs_memory: the step fed by the DataLoader vs on batches in memory (above 1: input-bound);
  * loop_vs_loader: the training step's time per image / the DataLoader's alone (decode + augment,
    no model): how many times the images the loop consumes the loader can deliver;
  * pil_vs_fast_jpeg, workers_0_vs_default: the loader with PIL's full-size decode, with 0 workers,
    vs FastJpegLoader with the default workers;
  * compile_vs_eager: torch.compile vs eager on this CPU (its first step, compiling, reported apart);
  * with a GPU: AMP + channels-last vs float32, each with and without torch.compile.
A loader's persistent workers prefetch two batches while other variants run, so a loader-alone
round gets those for free: it takes 4x the loop's batches to keep that small.
Writes data/benchmarks/bench_pytorch_loader.json.
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

ALLOCATOR = measure.keep_freed_memory()  # before torch allocates: every training step frees and reallocates its activations
import torch  # noqa: E402
from helpers.data import get_dataset  # noqa: E402
from helpers.torch_data import FastJpegLoader, default_num_workers, make_loaders  # noqa: E402



from lessons import pytorch_cnn as cnn  # noqa: E402  (notebook 07's model, transforms and training loop)


def endless(loader):
    """Batches forever (epoch after epoch), so a small dataset still gives enough batches."""
    while True:
        yield from loader


def take(stream, batches: int):
    def run():
        for _ in range(batches):
            next(stream)
    return run


class TrainingLoop:
    """Notebook 07's training step on one model, `batches` batches a call; the first call timed apart."""

    def __init__(self, model, stream, device, batches: int, amp=False, channels_last=False, threads: int | None = None):
        self.model, self.stream, self.device, self.batches = model, stream, device, batches
        self.dtype = torch.float16 if amp else None  # notebook 07's AMP on a GPU: float16 with a GradScaler
        self.channels_last, self.threads = channels_last, threads
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        self.scaler = torch.amp.GradScaler("cuda") if amp else None
        start = time.perf_counter()
        self.train(1)  # compiles, picks convolution algorithms, fills caches
        self.first_step_s = time.perf_counter() - start

    def train(self, n):
        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            cnn.run_epoch(self.model, itertools.islice(self.stream, n), self.device, self.optimizer, self.scaler, dtype=self.dtype,
                          progress=False, channels_last=self.channels_last)
            if self.device.type == "cuda":
                torch.cuda.synchronize()
        finally:
            torch.set_num_threads(previous)

    def __call__(self):
        self.train(self.batches)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=measure.default_photos(),
                        help="folder of cat and dog photos (default: CATSDOGS_IMAGES, ../shared/data/cats_and_dogs_filtered, else notebook 07's download)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=4, help="batches per training variant and round (the loader alone: 4 times as many)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (15: the two-thread cases, compile among them, wander by 15%% over 7)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (it needs a C compiler and takes a minute)")
    parser.add_argument("--quick", action="store_true", help="synthetic photos, tiny sizes, 2 rounds, no compile: checks the code path")
    args = parser.parse_args(argv)
    quick = measure.is_quick(args.quick)
    if quick:
        args.image_size, args.batch_size, args.batches, args.rounds, args.no_compile = 64, 8, 1, 2, True

    torch.manual_seed(0)
    dataset = get_dataset(None if quick else args.data, quick=quick, progress=False, default_source="filtered")  # notebook 07's photos
    augment, evaluate = cnn.train_transform(args.image_size), cnn.eval_transform(args.image_size)
    workers = default_num_workers()
    threads = torch.get_num_threads()
    fast_jpeg = FastJpegLoader(round(1.25 * args.image_size))
    cpu = torch.device("cpu")
    results = measure.Results("bench_pytorch_loader", quick, {
        "dataset": dataset.name, "training_photos": len(dataset.files("train")[0]), "image_size": args.image_size,
        "batch_size": args.batch_size, "batches_per_round": args.batches, "loader_batches_per_round": 4 * args.batches,
        "rounds": args.rounds, "num_workers": workers, "torch_threads": threads, "allocator": ALLOCATOR})
    print(f"dataset {dataset.name}, image size {args.image_size}, batch {args.batch_size}, {args.batches} batches per variant "
          f"and round, {args.rounds} rounds, {os.cpu_count()} CPUs, {threads} torch threads, default num_workers {workers}", flush=True)

    train_loader = make_loaders(dataset, augment, evaluate, args.batch_size, workers, loader=fast_jpeg)["train"]
    memory_batches = list(itertools.islice(endless(train_loader), 2))

    def model_on(device, channels_last=False, compile=False):
        torch.manual_seed(0)
        model = cnn.CatsDogsCNN().to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        return torch.compile(model) if compile else model

    loop_images = args.batches * args.batch_size
    loader_batches = 4 * args.batches
    loader_images = loader_batches * args.batch_size
    plain = make_loaders(dataset, augment, evaluate, args.batch_size, workers)["train"]
    in_process = make_loaders(dataset, augment, evaluate, args.batch_size, 0, loader=fast_jpeg)["train"]
    streams = {"fast_jpeg": endless(train_loader), "pil": endless(plain), "in_process": endless(in_process)}
    for stream in streams.values():
        next(stream)  # the workers are started and warm
    variants = {
        "loop_memory": TrainingLoop(model_on(cpu), itertools.cycle(memory_batches), cpu, args.batches),
        "loop_fed": TrainingLoop(model_on(cpu), streams["fast_jpeg"], cpu, args.batches),
        "loader_fast_jpeg": take(streams["fast_jpeg"], loader_batches),
        "loader_pil": take(streams["pil"], loader_batches),
        "loader_0_workers": take(streams["in_process"], loader_batches),
    }
    if threads > 1:
        variants["loop_memory_1_thread"] = TrainingLoop(model_on(cpu), itertools.cycle(memory_batches), cpu, args.batches, threads=1)
    first_step = {}
    if not args.no_compile:
        try:
            compiled = TrainingLoop(model_on(cpu, compile=True), itertools.cycle(memory_batches), cpu, args.batches)
        except Exception as error:  # no C compiler, an unsupported platform: the other cases still count
            results.notes.append(f"torch.compile failed on this CPU ({type(error).__name__}: {str(error)[:200]}): compile_vs_eager not measured")
            print(results.notes[-1])
        else:
            variants["loop_memory_compiled"] = compiled
            first_step["loop_memory_compiled"] = round(compiled.first_step_s, 1)
    seconds = measure.interleaved(variants, args.rounds, warmup=0)
    images = {name: loader_images if name.startswith("loader") else loop_images for name in variants}

    def add(key, description, numerator, denominator, **extra):
        results.add(key, measure.case(description, seconds, numerator, denominator, per=images, unit="s per image", **extra))

    if threads > 1:
        add("threads_1_vs_2", f"CPU training step, batches in memory: 1 torch thread vs {threads} (time ratio; below 1: one thread is faster)",
            "loop_memory_1_thread", "loop_memory")
    add("fed_vs_memory", f"CPU training step fed by the DataLoader ({workers} workers, FastJpegLoader) vs on batches in memory (above 1: input-bound)",
        "loop_fed", "loop_memory")
    add("loop_vs_loader", f"CPU training step (batches in memory) vs the DataLoader alone ({workers} workers, FastJpegLoader): "
        "times the loop's speed the loader delivers", "loop_memory", "loader_fast_jpeg")
    add("pil_vs_fast_jpeg", f"DataLoader alone, PIL full-size decode vs FastJpegLoader ({workers} workers; above 1: FastJpegLoader is faster)",
        "loader_pil", "loader_fast_jpeg")
    add("workers_0_vs_default", f"DataLoader alone, 0 workers vs {workers} (FastJpegLoader)", "loader_0_workers", "loader_fast_jpeg")
    if "loop_memory_compiled" in variants:
        add("compile_vs_eager", "CPU training step, batches in memory: torch.compile vs eager (first step, compiling, apart)",
            "loop_memory_compiled", "loop_memory", first_step_s=first_step["loop_memory_compiled"])

    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        gpu_batches = args.batches * 4
        gpu_variants = {"gpu_float32": TrainingLoop(model_on(gpu), itertools.cycle(memory_batches), gpu, gpu_batches),
                        "gpu_amp_channels_last": TrainingLoop(model_on(gpu, True), itertools.cycle(memory_batches), gpu, gpu_batches, amp=True, channels_last=True),
                        "gpu_amp_channels_last_fed": TrainingLoop(model_on(gpu, True), endless(train_loader), gpu, gpu_batches, amp=True, channels_last=True)}
        if not args.no_compile:
            gpu_variants["gpu_float32_compiled"] = TrainingLoop(model_on(gpu, compile=True), itertools.cycle(memory_batches), gpu, gpu_batches)
            gpu_variants["gpu_amp_channels_last_compiled"] = TrainingLoop(model_on(gpu, True, True), itertools.cycle(memory_batches), gpu, gpu_batches, amp=True, channels_last=True)
        gpu_first = {name: round(loop.first_step_s, 1) for name, loop in gpu_variants.items()}
        seconds.update(measure.interleaved(gpu_variants, args.rounds, warmup=0))
        images.update({name: gpu_batches * args.batch_size for name in gpu_variants})
        results.settings["gpu"] = torch.cuda.get_device_name(0)
        add("gpu_amp_channels_last_vs_float32", "GPU training step, batches in memory: AMP + channels-last vs float32", "gpu_amp_channels_last", "gpu_float32", first_step_s=gpu_first)
        add("gpu_fed_vs_memory", f"GPU training step (AMP + channels-last) fed by the DataLoader ({workers} workers) vs batches in memory",
            "gpu_amp_channels_last_fed", "gpu_amp_channels_last")
        if not args.no_compile:
            add("gpu_compile_vs_eager_float32", "GPU training step, float32: torch.compile vs eager", "gpu_float32_compiled", "gpu_float32")
            add("gpu_compile_vs_eager_amp", "GPU training step, AMP + channels-last: torch.compile vs eager", "gpu_amp_channels_last_compiled", "gpu_amp_channels_last")
    else:
        results.notes.append("No CUDA GPU here: the GPU cases (float32 vs AMP + channels-last, with and without torch.compile) were not measured.")
        print(results.notes[-1])
    results.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Notebook 07: does the data loader keep the training loop fed, and what do AMP,
channels-last and torch.compile buy?

    python benchmarks/bench_pytorch_loader.py                      # the photos get_dataset() picks
    CATSDOGS_IMAGES=../shared/data/cats_and_dogs_filtered python benchmarks/bench_pytorch_loader.py

Images per second, all measured in this one run:
  * the DataLoader alone (decode + augment, no model): with the default workers and
    FastJpegLoader, with PIL's full-size decode, and with 0 workers;
  * notebook 07's training step (`run_epoch` of train_pytorch_cnn.py) on batches already in
    memory (the model's own speed) and fed by the DataLoader (what the notebook gets). The
    loop is input-bound when the second is clearly slower than the first. Also with one
    torch thread: faster than all threads means other work keeps the cores busy;
  * torch.compile against eager on this device (the first step, compilation included, separately);
  * with a GPU: float32 against AMP + channels-last, each with and without torch.compile.
Prints Markdown table rows and writes data/benchmarks/bench_pytorch_loader.json.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "notebooks")]

import torch  # noqa: E402

import train_pytorch_cnn as cnn  # noqa: E402
from helpers import setup  # noqa: E402
from helpers.data import get_dataset  # noqa: E402
from helpers.torch_data import FastJpegLoader, default_num_workers, make_loaders  # noqa: E402


def endless(loader):
    """Batches forever (epoch after epoch), so a small dataset still gives enough batches."""
    while True:
        yield from loader


def images_per_second(run, images: int, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return images / (time.perf_counter() - start)


def loader_speed(loader, batches: int) -> float:
    stream = endless(loader)
    next(stream)  # the workers are started and warm

    def take():
        for _ in range(batches):
            next(stream)
    return images_per_second(take, batches * loader.batch_size, torch.device("cpu"))


def training_speed(model, stream, device, batches: int, batch_size: int, amp: bool, channels_last: bool) -> tuple[float, float]:
    """(images/s of notebook 07's training loop over `batches` batches, seconds of the first step)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda") if amp else None

    def train(n):
        cnn.run_epoch(model, itertools.islice(stream, n), device, optimizer, scaler, amp, progress=False, channels_last=channels_last)
    first = time.perf_counter()
    train(1)  # compiles, picks convolution algorithms, fills caches
    first_step = time.perf_counter() - first
    return images_per_second(lambda: train(batches), batches * batch_size, device), first_step


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder of cat and dog photos (default: CATSDOGS_IMAGES, else the synthetic quick-mode photos)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=4, help="batches timed per training case, after one warm-up batch (the loader alone: 4 times as many)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (it needs a C compiler and takes a minute)")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    dataset = get_dataset(args.data, quick=args.data is None and not os.environ.get("CATSDOGS_IMAGES"), progress=False)
    augment, evaluate = cnn.train_transform(args.image_size), cnn.eval_transform(args.image_size)
    workers = default_num_workers()
    fast_jpeg = FastJpegLoader(round(1.25 * args.image_size))
    cpu = torch.device("cpu")
    rows = []

    def row(case, value, baseline=None, baseline_name="", **extra):
        entry = {"case": case, "images_per_s": round(value, 1),
                 "ratio": round(value / baseline, 2) if baseline else None, "vs": baseline_name, **extra}
        rows.append(entry)
        print(f"| {case} | {value:.1f} | {entry['ratio'] if entry['ratio'] is not None else ''} | {baseline_name} | {extra.get('first_step_s', '')} |", flush=True)

    print(f"dataset {dataset.name} ({len(dataset.files('train')[0])} training photos), image size {args.image_size}, "
          f"batch {args.batch_size}, {args.batches} timed batches per case, {os.cpu_count()} CPUs, "
          f"{torch.get_num_threads()} torch threads, default num_workers {workers}. Timings on a shared machine are noisy.\n")
    print("| case | images/s | ratio | vs | first step (s), compiling included |\n|---|---|---|---|---|")

    train_loader = make_loaders(dataset, augment, evaluate, args.batch_size, workers, loader=fast_jpeg)["train"]
    memory_batches = list(itertools.islice(endless(train_loader), 2))

    def model_on(device, channels_last=False, compile=False):
        torch.manual_seed(0)
        model = cnn.CatsDogsCNN().to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        return torch.compile(model) if compile else model

    eager, _ = training_speed(model_on(cpu), itertools.cycle(memory_batches), cpu, args.batches, args.batch_size, False, False)
    row("CPU training loop, batches in memory (float32, eager)", eager, eager, "itself")
    threads = torch.get_num_threads()
    if threads > 1:  # on a machine whose cores are busy with other work, threads wait for each other
        torch.set_num_threads(1)
        one_thread, _ = training_speed(model_on(cpu), itertools.cycle(memory_batches), cpu, args.batches, args.batch_size, False, False)
        torch.set_num_threads(threads)
        row("CPU training loop, batches in memory, 1 torch thread", one_thread, eager, f"{threads} threads")
    fed, _ = training_speed(model_on(cpu), endless(train_loader), cpu, args.batches, args.batch_size, False, False)
    row(f"CPU training loop fed by the DataLoader ({workers} workers)", fed, eager, "batches in memory")
    row(f"DataLoader alone, {workers} workers, FastJpegLoader", loader_speed(train_loader, 4 * args.batches), eager, "CPU training loop")
    plain = make_loaders(dataset, augment, evaluate, args.batch_size, workers)["train"]
    row(f"DataLoader alone, {workers} workers, PIL full-size decode", loader_speed(plain, 4 * args.batches), eager, "CPU training loop")
    in_process = make_loaders(dataset, augment, evaluate, args.batch_size, 0, loader=fast_jpeg)["train"]
    row("DataLoader alone, 0 workers, FastJpegLoader", loader_speed(in_process, 4 * args.batches), eager, "CPU training loop")
    if not args.no_compile:
        compiled, first_step = training_speed(model_on(cpu, compile=True), itertools.cycle(memory_batches), cpu, args.batches, args.batch_size, False, False)
        row("CPU training loop, batches in memory, torch.compile", compiled, eager, "eager", first_step_s=round(first_step, 1))

    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        cases = [("float32", False, False), ("AMP + channels-last", True, True)]
        baseline = None
        for compile in ([False] if args.no_compile else [False, True]):
            for name, amp, channels_last in cases:
                speed, first_step = training_speed(model_on(gpu, channels_last, compile), itertools.cycle(memory_batches), gpu, args.batches * 4, args.batch_size, amp, channels_last)
                baseline = baseline or speed
                row(f"GPU training loop, batches in memory, {name}{', torch.compile' if compile else ''}", speed, baseline, "GPU float32 eager", first_step_s=round(first_step, 1))
        fed_gpu, _ = training_speed(model_on(gpu, True), endless(train_loader), gpu, args.batches * 4, args.batch_size, True, True)
        row(f"GPU training loop fed by the DataLoader ({workers} workers), AMP + channels-last", fed_gpu, baseline, "GPU float32 eager")
    else:
        print("\nNo CUDA GPU here: the GPU rows (float32 vs AMP + channels-last, with and without torch.compile) were not measured.")

    out = setup.DATA_DIR / "benchmarks" / "bench_pytorch_loader.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"dataset": dataset.name, "image_size": args.image_size, "batch_size": args.batch_size, "batches": args.batches,
                "num_workers": workers, "cpus": os.cpu_count(), "torch": torch.__version__,
                "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    out.write_text(json.dumps({"settings": settings, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {out}")
    return rows


if __name__ == "__main__":
    main()

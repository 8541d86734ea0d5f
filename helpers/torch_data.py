"""PyTorch loaders over the cleaned photos, for the PyTorch notebooks (07, 07b, 09).

Model-agnostic: the transforms come from the notebook, where they are taught. Import
this module only where torch is the notebook's framework (never beside TensorFlow).

Importing it asks glibc to keep freed memory (helpers.setup.keep_freed_memory): a training step frees and
reallocates the same large activations, and handing them back to the kernel each time made 07b's epoch slower
(docs/measurements.md, §07). Nothing else changes; elsewhere than Linux it does nothing.
"""
from __future__ import annotations

import multiprocessing
import os

from helpers.layout import CLASS_NAMES
from helpers.splits import SPLITS
from helpers.setup import keep_freed_memory

keep_freed_memory()  # see the module's docstring; nothing reads what it returns


def default_num_workers() -> int:
    """DataLoader worker processes that are safe when the loader is started from a notebook.

    Linux starts workers with `fork`: they inherit the notebook's objects, so anything
    works and they start fast. Windows and macOS start workers with `spawn`: fresh
    interpreters that must import and unpickle the dataset and transforms; a class or
    lambda defined in a notebook cell cannot be imported by them, and the loader then
    fails (or hangs) in its first batch. So: 0 workers (load in the notebook's own
    process) unless the start method is fork; with fork, one core stays free for the model.
    """
    # allow_none: asking must not fix the start method for the user; the first listed is the platform's default
    start_method = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]
    if start_method != "fork":
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


class FastJpegLoader:
    """Open a photo as RGB, letting libjpeg decode it at a reduced scale (PIL draft mode).

    A 500x375 photo that will be cropped to 128 pixels does not need decoding at full
    size: draft mode asks the decoder for a power-of-two reduction that is still at least
    `min_side` pixels on its shorter side, which makes loading several times faster.
    A class (not a closure) so worker processes can pickle it.
    """

    def __init__(self, min_side: int):
        self.min_side = int(min_side)

    def __call__(self, path):
        from helpers.caches import open_rgb

        return open_rgb(path, self.min_side)


def image_folders(dataset, train_transform, eval_transform, loader=None) -> dict:
    """torchvision ImageFolder datasets for 'train' (train_transform), 'val' and 'test' (eval_transform).

    `dataset` is a helpers.data.CleanDataset: every file in its tree decodes as an RGB
    JPEG, so ImageFolder never meets an unreadable file.
    """
    from torchvision.datasets import ImageFolder

    folders = {}
    for split in SPLITS:
        transform = train_transform if split == "train" else eval_transform
        kwargs = {"loader": loader} if loader is not None else {}
        folder = ImageFolder(str(dataset.split_dir(split)), transform=transform, **kwargs)
        if tuple(folder.classes) != CLASS_NAMES:
            raise ValueError(f"{dataset.split_dir(split)} has class folders {folder.classes}; expected {list(CLASS_NAMES)} (label 0 = cat, 1 = dog).")
        folders[split] = folder
    return folders


def make_loaders(dataset, train_transform, eval_transform, batch_size: int, num_workers: int | None = None, sampler=None, loader=None) -> dict:
    """DataLoaders for 'train' (shuffled), 'val' and 'test' (in a fixed order), over the photo files.

    num_workers=None picks `default_num_workers()`. `sampler` is for DistributedDataParallel:
    a function (image_folder, shuffle) -> sampler, e.g. a DistributedSampler per split;
    the loaders then leave shuffling to it. `loader` opens one photo (ImageFolder's default: PIL).
    """
    return loaders_over(image_folders(dataset, train_transform, eval_transform, loader=loader), batch_size, num_workers, sampler)


def loaders_over(datasets: dict, batch_size: int, num_workers: int | None = None, sampler=None) -> dict:
    """DataLoaders over {'train', 'val', 'test'} torch datasets (files, or photos in memory): 'train' shuffled.

    The same settings as make_loaders: num_workers=None picks `default_num_workers()`, persistent
    workers, pinned memory with a GPU, `sampler(dataset, shuffle)` for DistributedDataParallel.
    """
    import torch
    from torch.utils.data import DataLoader

    num_workers = default_num_workers() if num_workers is None else num_workers
    common = {
        "batch_size": batch_size,
        "num_workers": num_workers,
        "persistent_workers": num_workers > 0,  # don't restart the workers every epoch
        "pin_memory": torch.cuda.is_available(),  # faster host-to-GPU copies
    }
    loaders = {}
    for split, folder in datasets.items():
        shuffle = split == "train"
        if sampler is None:
            loaders[split] = DataLoader(folder, shuffle=shuffle, **common)
        else:
            loaders[split] = DataLoader(folder, sampler=sampler(folder, shuffle), **common)
    return loaders


def describe_loaders(loaders: dict) -> str:
    """One line per split: photos, batches and worker processes."""
    return "\n".join(f"{split:5}: {len(loader.dataset):5} photos, {len(loader):3} batches, {loader.num_workers} workers"
                     for split, loader in loaders.items())


class NotAnImageError(ValueError):
    """The file given as a photo is not a picture PIL can read."""


def open_photo(path):
    """The photo at `path` as an RGB PIL image; a clear error when the file is missing or not a picture."""
    from pathlib import Path

    from PIL import Image, UnidentifiedImageError

    path, what = Path(path).expanduser(), "Give the path of a photo (JPEG, PNG, ...) of a cat or a dog."
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}. {what}")
    try:
        with Image.open(path) as opened:
            return opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise NotAnImageError(f"{path} is not an image that can be read ({error}). {what}") from error


def describe_photos_in_memory(loaders: dict, seconds: float) -> str:
    """How many photos of loaders over photos in memory (a `pixels` list each) were decoded, how fast, in how many MB."""
    megabytes = sum(p.numel() for loader in loaders.values() for p in loader.dataset.pixels) / 1e6
    return f"{sum(len(l.dataset) for l in loaders.values())} photos decoded in {seconds:.0f} s, {megabytes:.0f} MB in memory"

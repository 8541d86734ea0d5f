"""Where the series runs: Colab or not, quick mode, project paths, seeds, versions."""
from __future__ import annotations

import functools
import os
import platform
import random
import sys
from pathlib import Path

# The one place a fork changes to point the Colab installs and badges at itself.
REPO_URL = "https://github.com/catsdogs-series/cats-vs-dogs"

IS_COLAB = "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


QUICK = _truthy(os.environ.get("CATSDOGS_QUICK"))


def _find_project_root() -> Path:
    """The checkout holding notebooks/ (editable install or running in place), else the cwd.

    In Colab the helpers are pip-installed into site-packages, so the data lives next
    to wherever the notebook runs (or CATSDOGS_ROOT).
    """
    if os.environ.get("CATSDOGS_ROOT"):
        return Path(os.environ["CATSDOGS_ROOT"]).expanduser().resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "notebooks").is_dir():
        return here
    cwd = Path.cwd().resolve()
    return cwd.parent if cwd.name == "notebooks" else cwd


PROJECT_ROOT = _find_project_root()
DATA_ENV = "CATSDOGS_DATA"  # data/ somewhere else (use_google_drive sets it, so scripts it starts agree)
DATA_DIR = Path(os.environ[DATA_ENV]).expanduser() if os.environ.get(DATA_ENV) else PROJECT_ROOT / "data"
IMAGES_DIR = PROJECT_ROOT / "images"
RESULTS_DIR = DATA_DIR / "results"
MODELS_DIR = DATA_DIR / "models"

DRIVE_MOUNT_POINT = "/content/drive"
DRIVE_FOLDER = "MyDrive/cats-vs-dogs"


def set_data_dir(path: str | Path) -> Path:
    """Put data/ (downloads, cleaned photos, caches, results, models) at `path` for this
    process and for the processes it starts (CATSDOGS_DATA)."""
    global DATA_DIR, RESULTS_DIR, MODELS_DIR
    DATA_DIR = Path(path).expanduser()
    RESULTS_DIR = DATA_DIR / "results"
    MODELS_DIR = DATA_DIR / "models"
    os.environ[DATA_ENV] = str(DATA_DIR)
    return DATA_DIR


def use_google_drive(folder: str = DRIVE_FOLDER, *, mount_point: str = DRIVE_MOUNT_POINT, in_colab: bool | None = None) -> Path | None:
    """In Colab: mount your Google Drive and keep data/ in <mount_point>/<folder>/data.

    Each Colab notebook runs in a fresh runtime whose disk is wiped when it ends, so
    without this every notebook downloads and cleans the photos again. With it, the
    download, the cleaned tree, the caches and the results are made once and every later
    notebook (and session) finds them. Colab asks you to allow the access once per session.
    Drive is slow with many small files: the first cleaning of PetImages' 25,000 photos takes
    longer there than on Colab's own disk; the filtered source's 3,000 are quick.
    Outside Colab this does nothing and returns None (data/ stays in the checkout).
    """
    in_colab = IS_COLAB if in_colab is None else in_colab
    if not in_colab:
        return None
    from google.colab import drive  # only exists in Colab

    drive.mount(mount_point)
    data_dir = Path(mount_point) / folder / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    set_data_dir(data_dir)
    print(f"data/ is on your Google Drive: {data_dir} (kept between sessions and notebooks)")
    return data_dir


def seed_everything(seed: int = 42) -> int:
    """Seed Python, NumPy, and TensorFlow / PyTorch only if the notebook already imported them.

    Importing a framework here would break the one-framework-per-process rule.
    PYTHONHASHSEED is not set: Python reads it only when it starts, so setting it here would
    change nothing in this process. Nothing in the series depends on the order of a set of
    strings; if your code does, start Python (or Jupyter) with PYTHONHASHSEED=0 in the environment.
    """
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.random.set_seed(seed)
    if "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    return seed


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.cache
def _glibc():
    """The C library when it is glibc (it has mallopt and malloc_trim), else None (macOS, Windows)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
    except (OSError, TypeError):
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def set_malloc_thresholds(mmap_threshold: int, trim_threshold: int, release_now: bool = False) -> bool:
    """Set glibc's mmap and trim thresholds (bytes), and with release_now hand the free memory it keeps back to the
    kernel; False where the C library is not glibc or refused (macOS, Windows, musl)."""
    libc = _glibc()
    if libc is None or not (libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold) and libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)):
        return False
    if release_now:
        libc.malloc_trim(0)
    return True


def keep_freed_memory() -> str:
    """Ask glibc to keep freed memory for reuse instead of returning it to the kernel; returns what was done.

    By default glibc serves every array over 32 MB with fresh pages from the kernel and hands them back when it
    is freed. A training step of 07b's network frees and reallocates activations of 75 MB (64 photos x 32
    channels x 96 x 96 in float32) several times, so every step page-faulted them in again
    (benchmarks/bench_pytorch_recipe.py measures what keeping them saves; docs/measurements.md, §07). The price:
    the process keeps its peak memory until it ends. Safe to call at any time, any number of times.
    """
    if set_malloc_thresholds(256 << 20, 2**31 - 1):
        return "glibc keeps freed memory (mallopt: mmap threshold 256 MB, no trimming)"
    return "default allocator (not glibc, or mallopt refused)"


def _accelerator() -> str:
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            return f"GPU {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return f"GPU x{len(gpus)}"
    return "CPU only"


def environment_report() -> str:
    """One line: Python, the frameworks this notebook imported, CPU count, GPU, modes."""
    parts = [f"Python {platform.python_version()}"]
    for name in ("numpy", "tensorflow", "keras", "torch", "torchvision"):
        module = sys.modules.get(name)
        if module is not None:
            parts.append(f"{name} {getattr(module, '__version__', '?')}")
    parts.append(f"{os.cpu_count()} CPUs")
    parts.append(_accelerator())
    parts.append("Colab" if IS_COLAB else platform.system())
    parts.append("QUICK mode" if QUICK else "full mode")
    return " | ".join(parts)

"""Where the series runs: Colab or not, quick mode, project paths, seeds, versions."""
from __future__ import annotations

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
DATA_DIR = PROJECT_ROOT / "data"
IMAGES_DIR = PROJECT_ROOT / "images"
RESULTS_DIR = DATA_DIR / "results"
MODELS_DIR = DATA_DIR / "models"


def seed_everything(seed: int = 42) -> int:
    """Seed Python, NumPy, and TensorFlow / PyTorch only if the notebook already imported them.

    Importing a framework here would break the one-framework-per-process rule.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
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

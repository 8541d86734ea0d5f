"""Thin helpers for the cats-vs-dogs series: data, cleaning, caches, plots, results.

Every module imports TensorFlow / PyTorch lazily (inside functions), because in one
process `import tensorflow` followed by `import torch` crashes; each notebook uses one
framework and these helpers never pick one for it.
"""
# DATA_DIR is not re-exported: use_google_drive() moves it, and a copy taken here at import would go stale;
# read helpers.setup.DATA_DIR.
from helpers.setup import IS_COLAB, QUICK, REPO_URL, PROJECT_ROOT, seed_everything, environment_report

__all__ = ["IS_COLAB", "QUICK", "REPO_URL", "PROJECT_ROOT", "seed_everything", "environment_report"]

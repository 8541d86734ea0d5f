"""The figures every notebook draws, saved under data/ (a record run's are promoted to images/; matplotlib only)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from helpers import setup
from helpers.layout import CLASS_NAMES


def _plt():
    import matplotlib.pyplot as plt

    return plt


def save_fig(notebook: str, name: str, fig=None, dpi: int = 100, photos: bool = False) -> Path:
    """Save the current (or given) figure under data/ and return its path.

    A real run writes data/figures/<notebook-stem>/<name>.png and lists it in that folder's
    run.json (the figures of the latest run, reset by the first figure a new process saves).
    The committed figures in images/ change only when a run becomes a record:
    `tools/publish_records.py promote ... --figures` copies the listed ones there, so a
    learner's run never modifies the checkout. Quick mode writes data/images-quick/
    (synthetic pictures). A figure that shows photos (`photos=True`: grids, augmentations,
    predictions) goes to data/images/ in every mode and is never promoted: the photos belong
    to their authors, so the repository ships only charts (curves, confusion matrices, comparisons).
    """
    stem = Path(notebook).name.removesuffix(".ipynb")
    if setup.QUICK:
        folder = setup.DATA_DIR / "images-quick"
    elif photos:
        folder = setup.DATA_DIR / "images"
    else:
        folder = setup.DATA_DIR / FIGURES_FOLDER
    path = folder / stem / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    (fig or _plt().gcf()).savefig(path, dpi=dpi, bbox_inches="tight")
    if folder == setup.DATA_DIR / FIGURES_FOLDER:
        _list_in_run(path)
    return path


FIGURES_FOLDER = "figures"
RUN_LIST = "run.json"
_listed_this_process: set[Path] = set()


def _list_in_run(path: Path) -> None:
    """Add path to its folder's run.json: the figures the latest run (this process) saved."""
    import json
    import os
    import time

    run_list = path.parent / RUN_LIST
    figures = {}
    if path.parent in _listed_this_process and run_list.exists():
        figures = json.loads(run_list.read_text(encoding="utf-8")).get("figures", {})
    _listed_this_process.add(path.parent)
    figures[path.name] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    run_list.write_text(json.dumps({"process": os.getpid(), "figures": figures}, indent=2) + "\n", encoding="utf-8")


def run_figures(stem: str, data_dir: Path | None = None) -> list[Path]:
    """The figures the latest real run of a notebook saved (data/figures/<stem>/run.json)."""
    import json

    folder = Path(data_dir or setup.DATA_DIR) / FIGURES_FOLDER / stem
    run_list = folder / RUN_LIST
    if not run_list.exists():
        return []
    return [folder / name for name in json.loads(run_list.read_text(encoding="utf-8"))["figures"] if (folder / name).exists()]


def _as_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):  # CHW (PyTorch)
        image = image.transpose(1, 2, 0)
    if image.dtype != np.uint8:
        low, high = float(image.min()), float(image.max())
        image = (image - low) / (high - low + 1e-12)  # any scale or normalisation back to [0, 1] for display
    return image.squeeze()


def _name(label, classes) -> str:
    label = int(np.asarray(label).reshape(-1)[0]) if np.ndim(label) else int(label)
    name = classes[label]
    return name.decode() if isinstance(name, bytes) else str(name)


def show_images(images, labels, predictions=None, classes=CLASS_NAMES, n: int = 16, columns: int = 8, title: str | None = None):
    """A grid of images titled with the true label (and prediction; wrong ones in red)."""
    plt = _plt()
    n = min(n, len(images))
    rows = max(1, int(np.ceil(n / columns)))
    fig, axes = plt.subplots(rows, min(columns, n), figsize=(1.6 * min(columns, n), 1.8 * rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= n:
            continue
        axis.imshow(_as_image(images[index]))
        text, colour = _name(labels[index], classes), "black"
        if predictions is not None:
            predicted = _name(predictions[index], classes)
            colour = "black" if predicted == text else "red"
            text = f"true {text}\npred {predicted}"
        axis.set_title(text, fontsize=8, color=colour)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_costs(costs, every: int = 100, title: str = "Cost while training", ylabel: str = "cost"):
    """A NumPy training loop's costs (one list, or a dict of name -> list to compare)."""
    plt = _plt()
    fig, axis = plt.subplots(figsize=(6, 4))
    curves = costs if isinstance(costs, dict) else {"cost": costs}
    for name, values in curves.items():
        values = np.asarray(values, dtype=float).reshape(-1)
        axis.plot(np.arange(len(values)) * every, values, label=str(name))
    axis.set_xlabel("iteration" if every != 1 else "step")
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    if len(curves) > 1:  # outside the axes, on the right: never over a curve
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_history(history, metrics=("loss", "accuracy")):
    """Training curves from a Keras History or a dict of lists ({'loss': [...], 'val_loss': [...]})."""
    plt = _plt()
    history = getattr(history, "history", history)
    metrics = [m for m in metrics if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for axis, metric in zip(axes.flat, metrics):
        epochs = np.arange(1, len(history[metric]) + 1)
        marker = "o-" if len(epochs) <= 30 else "-"  # dots hide the curve past a few dozen epochs
        axis.plot(epochs, history[metric], marker, label="train")
        if f"val_{metric}" in history:
            axis.plot(epochs, history[f"val_{metric}"], marker, label="validation")
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False)  # one legend, above the panels
    return fig


def confusion_matrix(y_true, y_pred, n_classes: int = 2) -> np.ndarray:
    """counts[i, j] = how many of true class i were predicted as class j."""
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    y_pred = np.asarray(y_pred).reshape(-1).astype(int)
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def plot_confusion_matrix(y_true, y_pred, classes=CLASS_NAMES, title: str = "Confusion matrix (test)"):
    plt = _plt()
    classes = [c.decode() if isinstance(c, bytes) else str(c) for c in classes]
    counts = confusion_matrix(y_true, y_pred, len(classes))
    fig, axis = plt.subplots(figsize=(3.8, 3.4))
    axis.imshow(counts, cmap="Blues")
    for (i, j), value in np.ndenumerate(counts):
        axis.text(j, i, str(value), ha="center", va="center", color="white" if value > counts.max() / 2 else "black")
    axis.set_xticks(range(len(classes)), classes)
    axis.set_yticks(range(len(classes)), classes)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    fig.tight_layout()
    return fig


def plot_mislabeled(images, y_true, y_pred, classes=CLASS_NAMES, n: int = 10):
    """The first n test images the model got wrong."""
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    wrong = np.flatnonzero(y_true != y_pred)[:n]
    if len(wrong) == 0:
        print("No mislabeled images: every prediction is right.")
        return None
    return show_images(np.asarray(images)[wrong], y_true[wrong], y_pred[wrong], classes, n=len(wrong), columns=min(5, len(wrong)), title="Mislabeled test images")


def show_top_losses(pictures, labels, probabilities, classes=CLASS_NAMES,
                    title: str = "Top losses: the test photos the model was most confidently wrong about"):
    """One row of pictures, each titled with its true class and the probability of the likeliest wrong class."""
    plt = _plt()
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    fig, axes = plt.subplots(1, len(pictures), figsize=(2.2 * len(pictures), 2.8), squeeze=False)
    for axis, picture, label, p in zip(axes.flat, pictures, labels, probabilities):
        axis.imshow(picture)
        wrong = int(np.argmax(np.where(np.arange(len(p)) == label, -np.inf, p)))
        axis.set_title(f"true {_name(label, classes)}\np({_name(wrong, classes)}) = {p[wrong]:.2f}", fontsize=9)
        axis.axis("off")
    fig.suptitle(title)
    return fig


def show_prediction(path, probabilities: dict):
    """The photo at `path`, titled with each class's probability ({'cat': 0.2, 'dog': 0.8})."""
    from PIL import Image

    plt = _plt()
    fig, axis = plt.subplots()
    with Image.open(path) as image:
        axis.imshow(image.convert("RGB"))
    axis.set_title(", ".join(f"{name} {p:.1%}" for name, p in probabilities.items()))
    axis.axis("off")
    return fig


def plot_lr_range_test(rates, losses, suggested: float):
    """The smoothed loss of a learning-rate range test against the rate (log axis), the suggestion dashed."""
    plt = _plt()
    fig, axis = plt.subplots(figsize=(5, 3))
    axis.semilogx(rates, losses)
    axis.axvline(suggested, color="tab:red", linestyle="--", label=f"suggested {suggested:.1e}")
    axis.set_xlabel("learning rate")
    axis.set_ylabel("smoothed training loss")
    axis.legend()
    fig.tight_layout()
    return fig


def plot_schedules(schedules: dict, steps: int = 1000):
    """Each {label: rate(step, total_steps)} over `steps` steps, as a fraction of the peak."""
    plt = _plt()
    fig, axis = plt.subplots(figsize=(5, 3))
    x = np.arange(steps + 1)
    for label, rate in schedules.items():
        axis.plot(x, [rate(s, steps) for s in x], label=label)
    axis.set_xlabel("step")
    axis.set_ylabel("learning rate / peak")
    axis.legend()
    fig.tight_layout()
    return fig


RECIPE_COLUMNS = ["step", "epochs", "image_size", "model_parameters", "seconds", "val_accuracy", "test_accuracy"]


def recipe_steps_table(rows):
    """The rows (dicts) of a recipe's steps as a table with RECIPE_COLUMNS, in that order."""
    import pandas as pd

    return pd.DataFrame(rows)[RECIPE_COLUMNS]


def plot_recipe_steps(table, test_accuracy: float):
    """Horizontal bars of each step's validation accuracy (axis from 0.5, chance), the last step's test accuracy a dot."""
    plt = _plt()
    fig, axis = plt.subplots(figsize=(8, 3.5))
    positions = np.arange(len(table))
    axis.barh(positions, table["val_accuracy"], color="tab:blue", label="validation accuracy")
    axis.scatter([test_accuracy], [positions[-1]], color="tab:red", zorder=3, label="test accuracy (final recipe only)")
    axis.set_yticks(positions, [f"{s} ({e} ep, {p} px)" for s, e, p in zip(table["step"], table["epochs"], table["image_size"])])
    axis.invert_yaxis()
    axis.set_xlim(0.5, 1.0)
    axis.set_xlabel("accuracy (axis from 0.5, chance)")
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2)  # below the chart: never over a bar
    fig.tight_layout()
    return fig


def unnormalise(tensor, mean, std) -> np.ndarray:
    """Undo a Normalize(mean, std): a (3, H, W) tensor back to an (H, W, 3) picture in [0, 1]."""
    return np.clip(np.asarray(tensor).transpose(1, 2, 0) * np.array(std) + np.array(mean), 0, 1)

"""The comparison table and bar chart of the transfer-learning notebooks (08 Keras, 09 PyTorch).

Both notebooks fill a pandas DataFrame with one row per model and these columns; the
code that trains the models and measures them stays in the notebooks, where it is taught.
"""
from __future__ import annotations

import math

COLUMN_FORMATS = {
    "input size": "{:.0f}", "test acc (zero-shot)": "{:.3f}", "feature pass s": "{:.1f}", "head s/epoch": "{:.2f}",
    "val acc (head)": "{:.3f}", "test acc (head)": "{:.3f}",
    "parameters": "{:,.0f}", "trainable (head)": "{:,.0f}", "trainable (fine-tune)": "{:,.0f}",
    "fine-tune s/epoch": "{:.1f}", "train acc": "{:.3f}", "val acc": "{:.3f}", "test acc": "{:.3f}",
    "inference ms/image": "{:.1f}",
}
OPTIONAL_COLUMNS = {"test acc (zero-shot)", "inference ms/image"}  # drawn when the table has them, else left out
PANELS = [  # (columns side by side, divide by, y label, title)
    (["test acc (zero-shot)", "test acc (head)", "test acc"], 1, "test accuracy", "each step of the recipe"),
    (["parameters", "trainable (fine-tune)"], 1e6, "parameters (millions)", "all, and trained when fine-tuning"),
    (["head s/epoch", "fine-tune s/epoch"], 1, "seconds per epoch", "head on cached features, then fine-tuning"),
    (["inference ms/image"], 1, "milliseconds", "inference time per image"),
]
LEGEND_NAMES = {"test acc (zero-shot)": "zero-shot (ImageNet classes)", "test acc (head)": "head on frozen features",
                "test acc": "fine-tuned", "parameters": "all", "trainable (fine-tune)": "trained when fine-tuning",
                "head s/epoch": "head (cached features)", "fine-tune s/epoch": "fine-tuning"}


def style_table(table):
    """The table with readable numbers (thousands separators, 3 decimals for accuracies)."""
    return table.style.format({column: f for column, f in COLUMN_FORMATS.items() if column in table.columns})


def accuracy_floor(values) -> float:
    """Where the accuracy axis starts: 0, or, when every bar is above 0.5, a round number a little below the lowest."""
    low = min(values)
    if low <= 0.5:
        return 0.0
    return max(0.0, math.floor((low - 0.25 * (1 - low)) * 50) / 50)  # a margin of a quarter of the error, in steps of 0.02


def plot_comparison(table, title: str):
    """Up to four bar charts: accuracy (zero-shot if measured, head, fine-tuned), parameters, seconds per epoch, and
    inference time per image if measured (notebook 08).

    Each bar carries its value; legends sit under their chart, clear of the bars; the accuracy axis is zoomed
    when every accuracy is above 0.5, and its label says where it starts; seconds per epoch are on a log scale
    (the head's epoch on cached features is thousands of times shorter than a fine-tuning epoch)."""
    import matplotlib.pyplot as plt

    missing = sorted({c for columns, *_ in PANELS for c in columns} - set(table.columns) - OPTIONAL_COLUMNS)
    if missing:
        raise ValueError(f"The comparison table lacks the columns {missing}; the notebooks record them per model.")
    panels = [panel for panel in PANELS if any(c in table.columns for c in panel[0])]
    # 2 x 2; with three panels the accuracy, the one that matters most, takes the whole first row
    layout = [[0, 0], [1, 2]] if len(panels) == 3 else [[0, 1], [2, 3]]
    fig, axes = plt.subplot_mosaic(layout, figsize=(10, 8), layout="constrained")
    for axis, (columns, scale, ylabel, panel_title) in zip([axes[i] for i in range(len(panels))], panels):
        columns = [c for c in columns if c in table.columns]
        values = table[columns].astype(float) / scale
        values.columns = [LEGEND_NAMES.get(c, c) for c in columns]
        values.plot.bar(ax=axis, rot=0, legend=False, width=0.8)
        for bars in axis.containers:
            axis.bar_label(bars, fmt="%.3f" if "acc" in columns[0] else "%.3g", padding=2, fontsize=8)
        if "acc" in columns[0]:
            floor = accuracy_floor(values.to_numpy().ravel())
            axis.set_ylim(floor, 1.0 + 0.08 * (1 - floor))
            if floor > 0:
                ylabel = f"{ylabel} (zoomed: axis starts at {floor:.2f})"
        elif columns[0] == "head s/epoch":
            axis.set_yscale("log")
            axis.set_ylim(top=values.to_numpy().max() * 4)
            ylabel = f"{ylabel} (log scale)"
        else:
            axis.set_ylim(0, values.to_numpy().max() * 1.15)
        axis.set_ylabel(ylabel)
        axis.set_xlabel("")
        axis.set_title(panel_title, fontsize=11)
        for side in ("top", "right"):
            axis.spines[side].set_visible(False)
        if len(columns) > 1:
            axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(columns), frameon=False, fontsize=9)
    fig.suptitle(title, fontsize=13)
    return fig

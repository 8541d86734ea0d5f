"""The comparison table and bar chart of the transfer-learning notebooks (08 Keras, 09 PyTorch).

Both notebooks fill a pandas DataFrame with one row per model and these columns; the
code that trains the models and measures them stays in the notebooks, where it is taught.
"""
from __future__ import annotations

COLUMN_FORMATS = {
    "input size": "{:.0f}", "test acc (zero-shot)": "{:.3f}", "feature pass s": "{:.1f}", "head s/epoch": "{:.2f}",
    "val acc (head)": "{:.3f}", "test acc (head)": "{:.3f}",
    "parameters": "{:,.0f}", "trainable (head)": "{:,.0f}", "trainable (fine-tune)": "{:,.0f}",
    "fine-tune s/epoch": "{:.1f}", "train acc": "{:.3f}", "val acc": "{:.3f}", "test acc": "{:.3f}",
    "inference ms/image": "{:.1f}",
}
OPTIONAL_COLUMNS = {"test acc (zero-shot)"}  # drawn when the table has it (notebook 09), else left out (08)
PANELS = [  # (columns side by side, divide by, y label, title)
    (["test acc (zero-shot)", "test acc (head)", "test acc"], 1, "test accuracy", "each step of the recipe"),
    (["parameters", "trainable (fine-tune)"], 1e6, "parameters (millions)", "all, and trained when fine-tuning"),
    (["head s/epoch", "fine-tune s/epoch"], 1, "seconds per epoch", "head on cached features, then fine-tuning"),
    (["inference ms/image"], 1, "milliseconds", "inference time per image"),
]


def style_table(table):
    """The table with readable numbers (thousands separators, 3 decimals for accuracies)."""
    return table.style.format({column: f for column, f in COLUMN_FORMATS.items() if column in table.columns})


def plot_comparison(table, title: str):
    """Four bar charts: accuracy (zero-shot if measured, head, fine-tuned), parameters, seconds per epoch, inference time per image."""
    import matplotlib.pyplot as plt

    missing = sorted({c for columns, *_ in PANELS for c in columns} - set(table.columns) - OPTIONAL_COLUMNS)
    if missing:
        raise ValueError(f"The comparison table lacks the columns {missing}; the notebooks record them per model.")
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 3.6))
    for axis, (columns, scale, ylabel, panel_title) in zip(axes, PANELS):
        columns = [c for c in columns if c in table.columns]
        values = table[columns].astype(float) / scale
        values.plot.bar(ax=axis, rot=0, legend=len(columns) > 1)
        axis.set_ylabel(ylabel)
        axis.set_title(panel_title, fontsize=10)
    axes[0].set_ylim(0, 1)
    fig.suptitle(title)
    fig.tight_layout()
    return fig

"""What the notebooks teach, exported from their cells (tools/export_lessons.py, `make lessons`).

Each module here but this one is generated from one notebook's `#| export` cells: edit the
notebook, then run `make lessons`; tests/test_lessons.py fails while a module is stale.
Notebooks that reuse another notebook's code, the scripts and the tests import it from here.
Nothing is imported on `import lessons`, so a TensorFlow notebook never loads PyTorch.
"""

"""The code a notebook teaches, loaded from the notebook itself (so tests check what learners read).

`load_definitions("02_numpy_deep_neural_network")` reads every code cell, keeps only its
top-level imports, UPPER_CASE constants and function and class definitions with their
decorators (training runs, plots and prints are left out), and executes them in a fresh namespace, returned as a dict of names.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def _python_source(cell_source: str) -> str:
    """A cell's source without IPython-only lines (%magics, !shell), which `ast` cannot parse."""
    lines = cell_source.splitlines()
    return "\n".join(line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def definition_source(notebook: str | Path) -> str:
    """The imports, functions and classes of a notebook's code cells, in notebook order."""
    path = Path(notebook)
    if not path.suffix:
        path = NOTEBOOKS_DIR / f"{path.name}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    chunks = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = _python_source("".join(cell["source"]))
        tree = ast.parse(source, filename=f"{path.name} cell")
        lines = source.splitlines()
        for node in tree.body:
            if (isinstance(node, DEFINITIONS) and not _imports_colab_only(node)) or _defines_constants(node):
                # from the first decorator on: a function's @torch.inference_mode() is part of what it does
                first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
                chunks.append("\n".join(lines[first - 1 : node.end_lineno]))
    return "\n\n".join(chunks)


def _defines_constants(node) -> bool:
    """`CAT_CLASSES = ...`: module-level UPPER_CASE names the definitions read."""
    return isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)


def _imports_colab_only(node) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom)) and any(alias.name.startswith("google.colab") for alias in node.names)


def load_definitions(notebook: str | Path) -> dict:
    """Execute a notebook's definitions in a new namespace and return it."""
    path = Path(notebook)
    namespace: dict = {"__name__": f"notebook_{path.stem}"}
    exec(compile(definition_source(notebook), str(path), "exec"), namespace)
    return namespace

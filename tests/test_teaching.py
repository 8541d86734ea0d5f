"""The lessons teach and one page measures: each notebook fits a sitting, its markdown leaves the machinery
to docs/measurements.md, and a measured notebook shows its key figure and links its rendered run."""
from __future__ import annotations

import base64
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import setup

CHECKOUT = Path(__file__).resolve().parent.parent
NOTEBOOKS = CHECKOUT / "notebooks"
spec = importlib.util.spec_from_file_location("notebooks_meta", CHECKOUT / "tools" / "notebooks_meta.py")
meta = sys.modules.setdefault("notebooks_meta", importlib.util.module_from_spec(spec))
spec.loader.exec_module(meta)

MAX_NOTEBOOK = 30_000   # characters of source (markdown + code): a notebook a learner finishes in a sitting
MAX_SERIES = 250_000
# What belongs on the measurement page, never in a lesson's prose: CPU models, load, BLAS libraries,
# allocators, tf.data teardown waits, debuggers.
MACHINERY = re.compile(r"\b(Xeon|EPYC|Ryzen|Threadripper|Core i[3579]|load average|OpenBLAS|MKL|BLIS|"
                       r"allocator|malloc|mallopt|jemalloc|tcmalloc|teardown|gdb|lldb|debugger|post-mortem)\b",
                       re.IGNORECASE)
PATHS = meta.notebook_paths(NOTEBOOKS)


def source_size(path: Path) -> int:
    return sum(len(cell.source) for cell in nbformat.read(path, as_version=4).cells)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_a_notebook_fits_a_sitting(path):
    assert source_size(path) <= MAX_NOTEBOOK, f"{path.name}: {source_size(path):,} characters of source"


def test_the_series_fits_its_budget():
    sizes = {p.stem: source_size(p) for p in PATHS}
    assert sum(sizes.values()) < MAX_SERIES, sizes


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_lesson_prose_leaves_the_machinery_to_the_measurement_page(path):
    found = [(index, match.group(0)) for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
             if cell.cell_type == "markdown" for match in MACHINERY.finditer(cell.source)]
    assert not found, f"{path.name}: move these to docs/measurements.md (cell, word): {found}"


def test_the_machinery_pattern_finds_what_it_must_and_spares_teaching_words():
    assert MACHINERY.search("the Intel(R) Xeon(R) Processor") and MACHINERY.search("a gdb post-mortem")
    assert MACHINERY.search("with OpenBLAS threads") and MACHINERY.search("a load average of 2.4")
    assert not MACHINERY.search("matrix products, mini-batches and the learning-rate schedule")


MEASURED = [p for p in PATHS if (CHECKOUT / "records" / p.stem).is_dir()]


@pytest.mark.parametrize("path", MEASURED, ids=lambda p: p.stem)
def test_a_measured_notebook_shows_its_key_figure_and_links_its_run(path):
    stem = path.stem
    assert stem in meta.KEY_FIGURES, f"{stem} has a record but no key figure in tools/notebooks_meta.py"
    file, _ = meta.KEY_FIGURES[stem]
    image = CHECKOUT / "images" / stem / file
    assert image.exists(), f"{image} (the figure of the record's run) is missing"
    cells = nbformat.read(path, as_version=4).cells
    figure = [c for c in cells if c.get("id") == meta.KEY_FIGURE_CELL_ID]
    assert len(figure) == 1 and figure[0].attachments[file]["image/png"] == base64.b64encode(image.read_bytes()).decode()
    page = CHECKOUT / "docs" / "runs" / f"{stem}.md"
    assert page.exists(), f"{stem}: no rendered run (tools/render_run.py)"
    assert f"docs/runs/{stem}.md" in cells[0].source


def test_the_key_figure_cell_carries_the_image_bytes(tmp_path):
    images = tmp_path / "images" / "03_numpy_cnn"
    images.mkdir(parents=True)
    (images / "history.png").write_bytes(b"\x89PNG fake")
    cell = meta.key_figure_cell("03_numpy_cnn", tmp_path / "images", "https://github.com/o/r", runs_dir=tmp_path)
    assert cell.attachments["history.png"]["image/png"] == base64.b64encode(b"\x89PNG fake").decode()
    assert "(attachment:history.png)" in cell.source and "docs/runs" not in cell.source
    (tmp_path / "03_numpy_cnn.md").write_text("page")
    linked = meta.key_figure_cell("03_numpy_cnn", tmp_path / "images", "https://github.com/o/r", runs_dir=tmp_path)
    assert "https://github.com/o/r/blob/main/docs/runs/03_numpy_cnn.md" in linked.source
    assert meta.key_figure_cell("06_keras_cnn_gpu", tmp_path / "images", "https://github.com/o/r") is None

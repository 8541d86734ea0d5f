"""Every notebook's badge, navigation, metadata, setup, parameters and exercises are current
(tools/notebooks_meta.py --check), and the script itself works on a tiny notebook set."""
from __future__ import annotations

import importlib.util
from pathlib import Path
import sys

import nbformat
import pytest

from helpers import setup

CHECKOUT = Path(__file__).resolve().parent.parent  # the repository, wherever CATSDOGS_ROOT puts data
SCRIPT = CHECKOUT / "tools" / "notebooks_meta.py"
spec = importlib.util.spec_from_file_location("notebooks_meta", SCRIPT)
meta = sys.modules.setdefault("notebooks_meta", importlib.util.module_from_spec(spec))
spec.loader.exec_module(meta)

NOTEBOOKS = CHECKOUT / "notebooks"
OLD_URL = "https://github.com/someone-else/old-name"


@pytest.fixture(scope="module")
def series_reports():
    return {r.path.name: r for r in meta.process(NOTEBOOKS, setup.REPO_URL, write=False)}


@pytest.mark.parametrize("name", [p.name for p in meta.notebook_paths(NOTEBOOKS)])
def test_committed_notebook_is_current(series_reports, name):
    report = series_reports[name]
    assert not report.needs_author, f"{name}: fix by hand: {report.needs_author}"
    assert not report.stale, f"{name}: run `make badges`: {report.stale}"


# --- the script on a tiny series -------------------------------------------------------

SETUP = f'''# Setup: Colab installs the helpers; everywhere: versions, seeds, quick mode.
import sys
if "google.colab" in sys.modules:
    %pip install -q "catsdogs-helpers @ git+{OLD_URL}"
from helpers import QUICK, seed_everything, environment_report
seed_everything(42)
print(environment_report())'''
PARAMETERS = "EPOCHS = 10\nLEARNING_RATE = 0.01\nif QUICK:\n    EPOCHS = 1"


def tiny_notebook(path, title, *, setup_source=SETUP, parameters=(PARAMETERS,), exercises=True, executed=True):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"},
                   "language_info": {"name": "python", "version": "3.11.7"}, "papermill": {"duration": 3.2}}
    cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nWhat you build.")]
    if setup_source is not None:
        cells.append(nbformat.v4.new_code_cell(setup_source))
    for source in parameters:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    teaching = nbformat.v4.new_code_cell("print(EPOCHS)")
    if executed:
        teaching.execution_count = 3
        teaching.outputs = [nbformat.v4.new_output("stream", name="stdout", text="10\n")]
        teaching.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    cells.append(teaching)
    if exercises:
        cells.append(nbformat.v4.new_markdown_cell("## Exercises\n\n1. Double the epochs."))
    nb.cells = cells
    nbformat.write(nb, path)
    return path


@pytest.fixture
def tiny_series(tmp_path):
    tiny_notebook(tmp_path / "01_numpy_one.ipynb", "01 · One")
    tiny_notebook(tmp_path / "06_keras_gpu.ipynb", "06 · On a GPU")
    tiny_notebook(tmp_path / "09_last.ipynb", "09 · Last")
    return tmp_path


def snapshot(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.ipynb"))}


def run(directory, *args, repo_url="https://github.com/me/my-fork"):
    return meta.main(["--notebooks", str(directory), "--repo-url", repo_url, *args])


def test_check_lists_what_is_stale_and_changes_nothing(tiny_series, capsys):
    before = snapshot(tiny_series)
    assert run(tiny_series, "--check") == 1
    out = capsys.readouterr().out
    for name in before:
        assert f"STALE    {name}" in out
    assert "badge/navigation cell missing" in out and "Colab install line points at " + OLD_URL in out
    assert "carry outputs" in out and "make badges" in out
    assert "notebook metadata colab, kernelspec, language_info, papermill not as expected" in out
    assert snapshot(tiny_series) == before


def test_refresh_writes_badge_navigation_install_line_metadata_and_strips_outputs(tiny_series):
    assert run(tiny_series) == 0
    assert run(tiny_series, "--check") == 0
    first, gpu, last = (nbformat.read(p, as_version=4) for p in sorted(tiny_series.glob("*.ipynb")))

    badge = gpu.cells[0].source
    assert "(https://colab.research.google.com/github/me/my-fork/blob/main/notebooks/06_keras_gpu.ipynb)" in badge
    assert "[01 · One](01_numpy_one.ipynb)" in badge and "[09 · Last](09_last.ipynb)" in badge
    assert "blob/main/notebooks/01_numpy_one.ipynb)" in badge and "blob/main/notebooks/09_last.ipynb)" in badge
    assert "Previous" not in first.cells[0].source and "Next: [06 · On a GPU](06_keras_gpu.ipynb)" in first.cells[0].source
    assert "Next" not in last.cells[0].source and "Previous: [06 · On a GPU](06_keras_gpu.ipynb)" in last.cells[0].source

    assert '    %pip install -q "catsdogs-helpers @ git+https://github.com/me/my-fork"\n' in gpu.cells[2].source
    drive = "".join(f"    {line}\n" for line in meta.DRIVE_LINES)
    assert drive.startswith("    USE_DRIVE = True") and "    use_google_drive()\n" in drive
    expected = SETUP.replace('old-name"\n', 'old-name"\n' + drive, 1)
    assert gpu.cells[2].source.replace("me/my-fork", "someone-else/old-name") == expected  # nothing else touched

    assert first.metadata == {"kernelspec": meta.KERNELSPEC, "language_info": {"name": "python"}, "colab": {"provenance": []}}
    assert gpu.metadata == {"kernelspec": meta.KERNELSPEC, "language_info": {"name": "python"},
                            "colab": {"provenance": [], "gpuType": "T4"}, "accelerator": "GPU"}
    for nb in (first, gpu, last):
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None and "execution" not in c.metadata for c in code)
        assert [c.source for c in nb.cells[1:]][-1].startswith("## Exercises")


def test_stale_drive_lines_are_replaced_wherever_they_are(tmp_path):
    old_lines = "USE_DRIVE = False\nfrom helpers.setup import use_google_drive\nuse_google_drive('elsewhere')\n"
    tiny_notebook(tmp_path / "01_a.ipynb", "01 · A", setup_source=SETUP + "\n" + old_lines + "print('kept')")
    assert run(tmp_path) == 0
    source = nbformat.read(tmp_path / "01_a.ipynb", as_version=4).cells[2].source
    assert source.count("USE_DRIVE =") == 1 and "elsewhere" not in source and source.endswith("print('kept')")
    assert "    USE_DRIVE = True" in source.split("%pip install", 1)[1].split("\n")[1]


def test_cells_without_ids_get_stable_ones(tmp_path):
    path = tiny_notebook(tmp_path / "01_old.ipynb", "01 · Old")
    nb = nbformat.read(path, as_version=4)
    nb.nbformat_minor = 4
    for cell in nb.cells:
        cell.pop("id", None)
    nbformat.write(nb, path)
    assert run(tmp_path) == 0
    once = nbformat.read(path, as_version=4)
    assert once.nbformat_minor == 5 and [c.id for c in once.cells][1:] == [f"01-cell-{i:02d}" for i in range(5)]
    assert once.cells[0].id == meta.NAV_CELL_ID
    assert run(tmp_path, "--check") == 0  # and nothing changes the second time


def test_refresh_is_idempotent_and_keeps_one_badge_cell(tiny_series):
    run(tiny_series)
    after_first = snapshot(tiny_series)
    run(tiny_series)
    assert snapshot(tiny_series) == after_first
    nb = nbformat.read(tiny_series / "06_keras_gpu.ipynb", as_version=4)
    assert sum("colab-badge.svg" in c.source for c in nb.cells) == 1


def test_a_new_notebook_or_a_fork_makes_the_others_stale(tiny_series, capsys):
    run(tiny_series)
    tiny_notebook(tiny_series / "07_torch.ipynb", "07 · Torch", executed=False)
    assert run(tiny_series, "--check") == 1
    out = capsys.readouterr().out
    assert "STALE    06_keras_gpu.ipynb: badge/navigation cell stale" in out  # its Next is now 07
    assert "STALE    09_last.ipynb: badge/navigation cell stale" in out
    assert "01_numpy_one.ipynb" in out and "STALE    01_numpy_one" not in out
    run(tiny_series)
    assert run(tiny_series, "--check", repo_url="https://github.com/other/fork") == 1


def test_what_only_an_author_can_fix_is_reported_in_both_modes(tmp_path, capsys):
    tiny_notebook(tmp_path / "01_no_params.ipynb", "01 · A", parameters=())
    tiny_notebook(tmp_path / "02_two_params.ipynb", "02 · B", parameters=(PARAMETERS, "BATCH_SIZE = 2"))
    tiny_notebook(tmp_path / "03_lower.ipynb", "03 · C", parameters=("epochs = 3\nif QUICK:\n    batchSize = 1",))
    tiny_notebook(tmp_path / "04_no_exercises.ipynb", "04 · D", exercises=False)
    tiny_notebook(tmp_path / "05_no_install.ipynb", "05 · E", setup_source=SETUP.replace("%pip", "# pip"))
    tiny_notebook(tmp_path / "06_no_setup.ipynb", "06 · F", setup_source=None)
    tiny_notebook(tmp_path / "07_magic_params.ipynb", "07 · G", parameters=("%env EPOCHS=3",))
    for mode in ([], ["--check"]):
        assert run(tmp_path, *mode) == 1
        out = capsys.readouterr().out
        missing = {line.split()[1]: line for line in out.splitlines() if line.startswith("MISSING")}
        assert "exactly one cell tagged 'parameters' (found 0)" in missing["01_no_params.ipynb"]
        assert "(found 2)" in missing["02_two_params.ipynb"]
        assert "non-UPPER-CASE names ['epochs', 'batchSize']" in missing["03_lower.ipynb"]
        assert "## Exercises" in missing["04_no_exercises.ipynb"]
        assert "lacks the Colab install line" in missing["05_no_install.ipynb"]
        assert "exactly one setup code cell" in missing["06_no_setup.ipynb"]
        assert "not plain Python" in missing["07_magic_params.ipynb"]
    # The fixable parts were still fixed.
    assert nbformat.read(tmp_path / "04_no_exercises.ipynb", as_version=4).cells[0].source.startswith(meta.NAV_MARKER)


def test_repo_url_must_be_a_github_repository():
    assert meta.colab_url("https://github.com/o/r.git", "01_x.ipynb") == "https://colab.research.google.com/github/o/r/blob/main/notebooks/01_x.ipynb"
    with pytest.raises(ValueError, match="helpers/setup.py REPO_URL"):
        meta.colab_url("https://gitlab.com/o/r", "01_x.ipynb")


def test_the_series_points_at_the_one_repo_url_constant(series_reports):
    """The badges the committed notebooks carry are built from helpers.setup.REPO_URL."""
    if not series_reports:
        pytest.skip("no notebooks yet")
    slug = meta.repo_slug(setup.REPO_URL)
    for name in series_reports:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        assert f"colab.research.google.com/github/{slug}/blob/main/notebooks/{name}" in nb.cells[0].source


def test_a_notebook_numbered_nn_and_a_letter_follows_nn_in_the_series_and_the_navigation(tmp_path):
    for name, title in (("08_next.ipynb", "08 · Next"), ("07b_recipe.ipynb", "07b · Recipe"), ("07_torch.ipynb", "07 · Torch")):
        tiny_notebook(tmp_path / name, title, executed=False)
    assert [p.name for p in meta.notebook_paths(tmp_path)] == ["07_torch.ipynb", "07b_recipe.ipynb", "08_next.ipynb"]
    assert [meta.notebook_number(p) for p in meta.notebook_paths(tmp_path)] == ["07", "07b", "08"]
    reports = meta.process(tmp_path, setup.REPO_URL, write=True)
    assert not any(r.needs_author for r in reports)
    nb = nbformat.read(tmp_path / "07b_recipe.ipynb", as_version=4)
    assert "Previous: [07 · Torch](07_torch.ipynb)" in nb.cells[0].source and "Next: [08 · Next](08_next.ipynb)" in nb.cells[0].source

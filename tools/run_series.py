#!/usr/bin/env python
"""Run the whole series, or some of it, in order, each notebook in a kernel of its own.

    python tools/run_series.py                                  # every notebooks/NN_*.ipynb
    python tools/run_series.py --images ~/photos -p EPOCHS 3    # your labelled folder, 3 epochs
    python tools/run_series.py --only 05 07 --quick             # a subset, in quick mode
    make series IMAGES=~/photos EPOCHS=3 ONLY="05 07"           # the same through make

An override (-p NAME VALUE) goes only to the notebooks whose `parameters` cell assigns
NAME. Executed copies go to data/series/<notebook>.ipynb. A failing notebook is named
with its failing cell and the rest still run; the exit status is 1 if any failed. At the
end: a table of this run and the results table of data/results/.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ itself, also when loaded by file path
from notebooks_meta import notebook_number, notebook_paths as series_notebooks, parameter_names  # noqa: E402

# The notebooks come from this checkout; data/ (and so data/series/) follows helpers.setup,
# which CATSDOGS_ROOT can move.
CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass
class Outcome:
    notebook: str
    seconds: float
    output: Path
    parameters: dict
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def notebook_paths(directory: Path, only: list[str] | None = None) -> list[Path]:
    """NN_*.ipynb (and NNx_*.ipynb) in order; `only` selects by number ('05', '07b') or stem ('05_keras_cnn_cpu')."""
    paths = series_notebooks(directory)
    if not only:
        return paths
    wanted = [w.removesuffix(".ipynb") for w in only]
    unknown = [w for w in wanted if not any(p.stem == w or notebook_number(p) == w for p in paths)]
    if unknown:
        raise SystemExit(f"--only {unknown}: no such notebook in {directory} (have: {', '.join(notebook_number(p) for p in paths)})")
    return [p for p in paths if p.stem in wanted or notebook_number(p) in wanted]


def parameters_of(path: Path) -> set[str]:
    """The names the notebook's `parameters` cell assigns (papermill can override only those)."""
    nb = nbformat.read(path, as_version=4)
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            names.update(parameter_names(cell.source))
    return names


def parse_value(text: str):
    """'3' -> 3, '1e-3' -> 0.001, 'True' -> True, anything else stays a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def describe_failure(error: Exception, notebook: Path, output: Path) -> str:
    """'cell 7 of notebooks/X.ipynb (In [5]: its first line): ValueError: message'.

    Cells count from 1 in the notebook as committed (papermill's injected-parameters cell,
    present only in the executed copy, is not counted).
    """
    from papermill.exceptions import PapermillExecutionError

    if not isinstance(error, PapermillExecutionError):
        return f"{type(error).__name__}: {str(error).strip()[:300]} (see {output})"
    index = error.cell_index
    try:
        executed = nbformat.read(output, as_version=4)
        index -= sum("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells[:error.cell_index])
    except (OSError, ValueError):
        pass
    first_line = next((line.strip() for line in error.source.splitlines() if line.strip()), "")
    return (f"cell {index + 1} of {notebook.name} (In [{error.exec_count}]: {first_line[:80]}): "
            f"{error.ename}: {str(error.evalue).strip()[:300]}; traceback in {output}")


def run_one(path: Path, output: Path, parameters: dict, timeout: float | None) -> Outcome:
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    error = None
    try:
        # cwd = notebooks/, as when a learner opens the notebook in JupyterLab.
        papermill.execute_notebook(str(path), str(output), parameters=parameters, kernel_name="python3",
                                   cwd=str(path.parent), progress_bar=False, execution_timeout=timeout)
    except Exception as caught:  # noqa: BLE001 - one failing notebook must not stop the series
        error = describe_failure(caught, path, output)
    return Outcome(path.stem, time.perf_counter() - start, output, parameters, error)


def run_series(paths: list[Path], overrides: dict, output_dir: Path, timeout: float | None = None) -> list[Outcome]:
    params = {path: parameters_of(path) for path in paths}
    unused = sorted(set(overrides) - set().union(*params.values())) if params else sorted(overrides)
    if unused:
        raise SystemExit(f"-p {unused}: no selected notebook's parameters cell assigns that name; "
                         f"they have: {sorted(set().union(*params.values()))}")
    outcomes = []
    for path in paths:
        chosen = {name: value for name, value in overrides.items() if name in params[path]}
        shown = " ".join(f"{k}={v!r}" for k, v in chosen.items())
        print(f"▶ {path.stem} {shown}".rstrip(), flush=True)
        outcome = run_one(path, output_dir / path.name, chosen, timeout)
        print(f"  {path.stem} {'ok' if outcome.ok else 'FAILED'} in {outcome.seconds:.0f} s" + (f": {outcome.error}" if outcome.error else ""), flush=True)
        outcomes.append(outcome)
    return outcomes


def summary_table(outcomes: list[Outcome]) -> str:
    lines = ["| notebook | status | seconds | overrides |", "|---|---|---|---|"]
    for o in outcomes:
        status = "ok" if o.ok else "FAILED: " + o.error.replace("|", "\\|")
        overrides = ", ".join(f"{k}={v!r}" for k, v in o.parameters.items())
        lines.append(f"| {o.notebook} | {status} | {o.seconds:.0f} | {overrides} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from helpers import setup

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--images", type=Path, help="a labelled photo folder (cat/ and dog/, or PetImages/Cat and Dog); sets CATSDOGS_IMAGES")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks (numbers or stems), still in series order")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="override a parameters-cell value, e.g. -p EPOCHS 3")
    parser.add_argument("--quick", action="store_true", help="quick mode (CATSDOGS_QUICK=1): small data, few iterations")
    parser.add_argument("--timeout", type=float, default=None, help="seconds a single cell may run (default: no limit)")
    parser.add_argument("--notebooks", type=Path, default=CHECKOUT / "notebooks", help="default: this checkout's notebooks/")
    parser.add_argument("--output-dir", type=Path, default=setup.DATA_DIR / "series", help="default: data/series/")
    args = parser.parse_args(argv)

    overrides = {}
    for name, value in args.parameter:
        if not name.isidentifier() or name != name.upper():
            parser.error(f"-p {name}: parameter names are UPPER_CASE, like EPOCHS or BATCH_SIZE")
        overrides[name] = parse_value(value)
    if args.images is not None:
        images = args.images.expanduser().resolve()
        if not images.is_dir():
            parser.error(f"--images {args.images}: no such folder; give a folder of labelled photos (cat/ and dog/ inside)")
        os.environ["CATSDOGS_IMAGES"] = str(images)  # the kernels inherit this process's environment
    if args.quick:
        os.environ["CATSDOGS_QUICK"] = "1"

    paths = notebook_paths(args.notebooks, args.only)
    if not paths:
        print(f"no NN_*.ipynb notebooks in {args.notebooks}")
        return 1
    outcomes = run_series(paths, overrides, args.output_dir, args.timeout)

    from helpers.results import results_table

    print("\n## This run\n\n" + summary_table(outcomes))
    print(f"\n## Results (data/results/)\n\n{results_table()}")
    failed = [o.notebook for o in outcomes if not o.ok]
    if failed:
        print(f"\n{len(failed)} of {len(outcomes)} notebooks failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

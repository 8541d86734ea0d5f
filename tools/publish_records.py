#!/usr/bin/env python
"""Publish the measurement records: fill every quoted number, check that none is stale.

Prose quotes a record with a marker that renders as the value alone (HTML comments are
invisible in JupyterLab, Colab and on GitHub):

    test accuracy <!--rec:07_pytorch_cnn/filtered|test_accuracy|.3f-->0.861<!--/rec-->

REF is a record (helpers/records.py), KEY a dotted path into it, optionally scaled
(`train_seconds / 60`), FORMAT a Python format spec (`.3f`, `.1%`, `,.0f`; default: as is).
Markers are read in notebooks/*.ipynb (markdown cells), README.md and docs/ (not docs/runs/). A marker whose record
is not committed yet renders as "not measured yet"; one whose key the record lacks is an error.
The generated parts are rewritten too: README's series table and docs/measurements.md's table of
every record (tools/readme_tables.py) and its benchmark section (benchmarks.table.fill_readme).

    python tools/publish_records.py                      # rewrite every marker's value from the records
    python tools/publish_records.py --check              # change nothing; list stale markers, exit 1 if any
    python tools/publish_records.py promote data/results/07_pytorch_cnn.json 07_pytorch_cnn/filtered --figures

`--figures` also copies the charts that run saved (data/figures/<stem>/, listed in its run.json)
into images/<stem>/: the committed figures are always those of a record's run. Give it for the
record of a notebook's default data only.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from helpers import records  # noqa: E402
import readme_tables  # noqa: E402
from notebooks_meta import SERIES_GLOB  # noqa: E402

NOT_MEASURED = "not measured yet"

MARKER = re.compile(r"<!--rec:(?P<ref>[^|>]+)\|(?P<key>[^|>]+)(?:\|(?P<format>[^>]*?))?-->(?P<value>.*?)<!--/rec-->", re.DOTALL)


def render(ref: str, key: str, format_spec: str | None, cache: dict) -> str:
    if ref not in cache:
        try:
            cache[ref] = records.load_record(ref)
        except records.MissingRecord:
            cache[ref] = None
    if cache[ref] is None:
        return NOT_MEASURED
    value = records.lookup(cache[ref], key)
    return format(value, format_spec) if format_spec else str(value)


def fill_text(text: str, cache: dict | None = None) -> str:
    """`text` with every marker's value rendered from its record."""
    cache = {} if cache is None else cache

    def replace(match):
        value = render(match["ref"].strip(), match["key"].strip(), (match["format"] or "").strip() or None, cache)
        return match.group(0)[: match.start("value") - match.start()] + value + "<!--/rec-->"

    return MARKER.sub(replace, text)


def fill_benchmarks(text: str) -> str:
    """README's performance section from the benchmark records (the bench engineer's benchmarks/table.py)."""
    if not (ROOT / "benchmarks" / "table.py").exists():  # not written yet: the section stays as it is
        return text
    from benchmarks.table import fill_readme

    return fill_readme(text)


def fill_readme(text: str, cache: dict | None = None) -> str:
    """README.md: its markers and the series table."""
    return readme_tables.fill_series_table(fill_text(text, cache))


def fill_measurements(text: str, cache: dict | None = None) -> str:
    """docs/measurements.md: its markers, the table of every record and the benchmark tables."""
    return fill_benchmarks(readme_tables.fill_notebooks_table(fill_text(text, cache), prefix="../"))


GENERATED = {"README.md": fill_readme, "measurements.md": fill_measurements}


def published_files(root: Path = ROOT) -> list[Path]:
    """README, the notebooks and docs/ (not docs/runs/: a rendered run shows its own run's numbers)."""
    docs = sorted(p for p in (root / "docs").rglob("*.md") if "runs" not in p.relative_to(root / "docs").parts)
    return [root / "README.md", *sorted((root / "notebooks").glob(SERIES_GLOB)), *docs]


def fill_file(path: Path, write: bool, cache: dict) -> bool:
    """Fill one file's markers; True when something changed (or would change)."""
    if path.suffix == ".ipynb":
        import nbformat

        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            if cell.cell_type == "markdown" and "<!--rec:" in cell.source:
                new = fill_text(cell.source, cache)
                changed |= new != cell.source
                cell.source = new
        if changed and write:
            nbformat.write(nb, path)
        return changed
    text = path.read_text(encoding="utf-8")
    new = GENERATED.get(path.name, fill_text)(text, cache)
    if new != text and write:
        path.write_text(new, encoding="utf-8")
    return new != text


def stale_files(root: Path = ROOT) -> list[Path]:
    cache: dict = {}
    return [path for path in published_files(root) if fill_file(path, write=False, cache=cache)]


def promote_figures(stem: str, data_dir: Path | None = None, images_dir: Path | None = None) -> list[Path]:
    """Copy the charts of a notebook's latest real run into images/<stem>/; the copies' paths."""
    import shutil

    from helpers import plots, setup

    figures = plots.run_figures(stem, data_dir)
    if not figures:
        raise SystemExit(f"no figures listed in data/figures/{stem}/run.json: run the notebook without CATSDOGS_QUICK first")
    target = Path(images_dir or setup.IMAGES_DIR) / stem
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(figure, target / figure.name)) for figure in figures]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["promote"]:
        parser = argparse.ArgumentParser(prog="tools/publish_records.py promote", description="Turn a real run's results file into a record.")
        parser.add_argument("source", help="data/results/<notebook>.json or data/benchmarks/<name>.json")
        parser.add_argument("ref", help="<notebook-stem or benchmarks>/<label>, e.g. 07_pytorch_cnn/filtered")
        parser.add_argument("--figures", action="store_true",
                            help="copy the run's charts (data/figures/<stem>/run.json) into images/<stem>/")
        args = parser.parse_args(argv[1:])
        try:
            path = records.promote(args.source, args.ref)
        except records.RecordError as error:
            print(f"not promoted: {error}", file=sys.stderr)
            return 2
        print(f"wrote {path.relative_to(ROOT)}; now run `make records` to refresh the published numbers")
        if args.figures:
            for figure in promote_figures(args.ref.split("/")[0]):
                print(f"wrote {figure.relative_to(ROOT)}")
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a published number is stale")
    args = parser.parse_args(argv)
    cache: dict = {}
    changed = [path for path in published_files() if fill_file(path, write=not args.check, cache=cache)]
    for path in changed:
        print(f"{path.relative_to(ROOT)}: {'stale: run `make records`' if args.check else 'updated'}")
    for ref in sorted(ref for ref, record in cache.items() if record is None):  # a typo reads the same: say which
        print(f"quoted but not committed yet (shown as '{NOT_MEASURED}'): record {ref}")
    return 1 if (changed and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())

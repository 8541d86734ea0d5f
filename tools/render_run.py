#!/usr/bin/env python
"""Keep a measured run readable without running it: an executed notebook as a Markdown page.

    python tools/render_run.py data/series/03_numpy_cnn.ipynb --record 03_numpy_cnn/filtered

writes docs/runs/03_numpy_cnn.md and its figures in docs/runs/03_numpy_cnn_files/ (nbconvert's
Markdown exporter, as keras.io's `md/` pages show every output of an example). The page says which
record the run made, from which commit, and when the page was made: the notebook's prose may have
moved on since, the outputs are that run's.

What the page leaves out, and why:
- photos (the outputs of cells that draw them: `photos=True`, `show_images`, `imshow`): they belong
  to their authors, and the repository ships only charts; the page says so where they were;
- the generated navigation cell, and the record markers around quoted numbers (the values stay);
- progress-bar widgets (they have no static form; the run's times are in the record);
- the middle of very long printed logs (the first and last lines stay).
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from notebooks_meta import NAV_MARKER  # noqa: E402  (the generated first cell)
from publish_records import MARKER  # noqa: E402  (a record marker around a quoted number)

RUNS_DIR = ROOT / "docs" / "runs"
PHOTO_CELL = re.compile(r"photos=True|show_images\(|\.imshow\(|plot_mislabeled\(")
STYLE = re.compile(r"<style[^>]*>.*?</style>\s*", re.DOTALL)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
WIDGET = "application/vnd.jupyter.widget-view+json"
KEEP_LINES = 25
PHOTOS_LEFT_OUT = ("*(Photos left out of this page: they belong to their authors, and the repository ships only "
                   "charts. Run the notebook to see them.)*")


def _short_log(text: str) -> str:
    text = ANSI.sub("", text)
    text = re.sub(r"[^\n]*\r(?!\n)", "", text)  # progress lines rewritten in place: keep the last state
    lines = text.splitlines()
    if len(lines) <= 2 * KEEP_LINES:
        return text
    skipped = len(lines) - 2 * KEEP_LINES
    return "\n".join([*lines[:KEEP_LINES], f"... ({skipped} lines left out) ...", *lines[-KEEP_LINES:]]) + "\n"


def prepare(nb) -> tuple[object, int]:
    """The notebook as the page shows it, and how many photo outputs were left out."""
    left_out = 0
    nb.cells = [cell for cell in nb.cells if not cell.source.startswith(NAV_MARKER)]  # its links are relative to notebooks/
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = MARKER.sub(lambda match: match["value"], cell.source)  # the value alone, as rendered
        if cell.cell_type != "code":
            continue
        outputs = []
        photos = bool(PHOTO_CELL.search(cell.source))
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET in data:
                continue
            if photos and any(key.startswith("image/") for key in data):
                left_out += 1
                if not any(o.get("data", {}).get("text/markdown") == PHOTOS_LEFT_OUT for o in outputs):
                    outputs.append(nbformat.v4.new_output("display_data", data={"text/markdown": PHOTOS_LEFT_OUT}))
                continue
            if output.get("output_type") == "stream":
                output["text"] = _short_log(output.get("text", ""))
            elif output.get("output_type") == "error":
                output["traceback"] = [ANSI.sub("", line) for line in output.get("traceback", [])]
            elif "text/html" in data:  # pandas' <style scoped> block shows as text where styles are stripped (GitHub)
                data["text/html"] = STYLE.sub("", data["text/html"] if isinstance(data["text/html"], str) else "".join(data["text/html"]))
            elif "text/plain" in data and isinstance(data["text/plain"], str):
                data["text/plain"] = _short_log(data["text/plain"])
            outputs.append(output)
        cell.outputs = outputs
    return nb, left_out


def commit_of(path: Path) -> str:
    """The commit checked out where the executed notebook lives (its run's code)."""
    try:
        return subprocess.run(["git", "-C", str(path.parent), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def header(stem: str, record_ref: str, record: dict, commit: str, made: str) -> str:
    when = record.get("recorded_at", "an unknown date")
    return (f"# The measured run of `{stem}`\n\n"
            f"Every output of the run that made the record [`{record_ref}`](../../records/{record_ref}.json) "
            f"(recorded {when}; the notebook as of commit `{commit}`). Page made {made} by `tools/render_run.py`. "
            f"The notebook's prose may have changed since; the numbers here are that run's. "
            f"How the series measures: [docs/measurements.md](../measurements.md). "
            f"The notebook itself: [notebooks/{stem}.ipynb](../../notebooks/{stem}.ipynb).\n\n---\n\n")


def render(executed: Path, record_ref: str, out_dir: Path = RUNS_DIR, commit: str | None = None,
           made: str | None = None) -> Path:
    from nbconvert import MarkdownExporter

    from helpers import records

    record = records.load_record(record_ref)
    stem = record_ref.split("/")[0]
    nb, _ = prepare(nbformat.read(executed, as_version=4))
    files_dir = f"{stem}_files"
    body, resources = MarkdownExporter().from_notebook_node(nb, resources={"output_files_dir": files_dir})
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = out_dir / files_dir
    if figures.exists():
        for old in figures.iterdir():
            old.unlink()
    for name, data in resources.get("outputs", {}).items():
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / name).write_bytes(data)
    made = made or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    page = out_dir / f"{stem}.md"
    page.write_text(header(stem, record_ref, record, commit or commit_of(executed), made) + body, encoding="utf-8")
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("executed", type=Path, help="an executed notebook, e.g. data/series/03_numpy_cnn.ipynb")
    parser.add_argument("--record", required=True, help="the record that run made, e.g. 03_numpy_cnn/filtered")
    parser.add_argument("--commit", help="the commit the run's notebook came from (default: HEAD where it lives)")
    args = parser.parse_args(argv)
    if not args.executed.exists():
        print(f"{args.executed} does not exist: run the notebook first (tools/run_series.py writes data/series/)",
              file=sys.stderr)
        return 2
    page = render(args.executed, args.record, commit=args.commit)
    print(f"wrote {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Record markers are invisible: every markdown cell, the README and docs/ render the same with and without them.

A marker `<!--rec:REF|KEY|FMT-->value<!--/rec-->` is an HTML comment around a quoted number. Inside a
line it renders as the value alone; at the start of a line CommonMark opens an HTML block there, the
paragraph splits and the Markdown after it (backticks, emphasis) shows literally. This test renders each
text with markdown-it-py (CommonMark, as JupyterLab, Colab and GitHub do) twice, with the markers and with
only their values, and compares the structure of the two.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt

from helpers import setup

ROOT = setup.PROJECT_ROOT
MARKER = re.compile(r"<!--rec:[^>]*-->(?P<value>.*?)<!--/rec-->", re.DOTALL)
PARSER = MarkdownIt("commonmark").enable("table")


def structure(text: str) -> list[tuple[str, str]]:
    """The block and inline token types of a rendering, with HTML comments (invisible) left out."""
    shape = []
    for token in PARSER.parse(text):
        if token.type != "inline":
            shape.append((token.type, token.tag))
            continue
        for child in token.children or []:
            if child.type == "html_inline" and child.content.startswith("<!--"):
                continue
            if child.type == "text" and shape and shape[-1] == ("inline", "text"):
                continue  # a comment splits one text run into several: the same text to a reader
            shape.append(("inline", child.type))
    return shape


def differences(text: str) -> bool:
    return structure(text) != structure(MARKER.sub(lambda m: m["value"], text))


def published_texts():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown" and "<!--rec:" in cell.source:
                yield f"{path.name} cell {index}", cell.source
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        if "<!--rec:" in text:
            yield str(path.relative_to(ROOT)), text


def test_the_comparison_sees_a_marker_that_starts_a_line():
    inside = "Test accuracy <!--rec:a/b|x|.3f-->0.713<!--/rec--> after `fit`."
    line_start = "Test accuracy\n<!--rec:a/b|x|.3f-->0.713<!--/rec--> after `fit`."
    assert not differences(inside)
    assert differences(line_start)


def test_no_marker_changes_how_a_text_renders():
    broken = [where for where, text in published_texts() if differences(text)]
    assert not broken, f"a record marker starts a line (move it inside the line): {broken}"


def test_the_marker_pattern_is_the_publisher_s():
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import publish_records

    sample = "x <!--rec:03_numpy_cnn/filtered|test_accuracy|.3f-->0.713<!--/rec--> y"
    assert [m["value"] for m in MARKER.finditer(sample)] == [m["value"] for m in publish_records.MARKER.finditer(sample)]

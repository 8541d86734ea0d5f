"""Every relative link in the README, docs/ and the notebooks' markdown leads to a file that exists, and
every #anchor to a heading of that page (GitHub's rule: lower case, punctuation dropped, spaces to hyphens)."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.DOTALL)  # a^{[l](i)} in LaTeX is no link


def markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "\n\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    return path.read_text(encoding="utf-8")


def slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, in_code = set(), False
    for line in markdown_of(path).splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            found.add(slug(line.lstrip("#")))
    return found


def pages() -> list[Path]:
    runs = CHECKOUT / "docs" / "runs"
    return [CHECKOUT / "README.md", *sorted(p for p in (CHECKOUT / "docs").rglob("*.md") if runs not in p.parents),
            *sorted((CHECKOUT / "notebooks").glob("*.ipynb"))]


def broken_links(path: Path) -> list[str]:
    broken = []
    for match in LINK.finditer(MATH.sub("", markdown_of(path))):
        url = match.group(1)
        if re.match(r"[a-z]+:", url):  # http(s), attachment:, mailto:
            continue
        target, _, anchor = url.partition("#")
        resolved = (path.parent / target).resolve() if target else path
        if not resolved.exists():
            broken.append(f"{url} (no such file)")
        elif anchor and resolved.suffix in (".md", ".ipynb") and anchor not in anchors(resolved):
            broken.append(f"{url} (no heading #{anchor} there)")
    return broken


def test_the_slug_follows_github():
    assert slug("05 · Keras CNN, CPU-sized") == "05--keras-cnn-cpu-sized"
    assert slug("How records work") == "how-records-work"


@pytest.mark.parametrize("path", pages(), ids=lambda p: str(p.relative_to(CHECKOUT)))
def test_every_relative_link_leads_somewhere(path):
    assert not broken_links(path), broken_links(path)


def test_a_broken_link_is_seen(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[here](page.md#title) [gone](nope.md) [lost](page.md#nowhere) $a^{[l](i)}$")
    assert broken_links(page) == ["nope.md (no such file)", "page.md#nowhere (no heading #nowhere there)"]

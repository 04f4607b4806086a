"""Consistent terminology: the variants glossary.md rules out appear in no notebook's prose."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def avoided_terms() -> dict[str, str]:
    """``{avoided variant: the glossary's term}`` from the table in glossary.md."""
    avoided = {}
    for line in (ROOT / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("术语", "---"):
            continue
        for variant in filter(None, (v.strip() for v in cells[2].split("、"))):
            avoided[variant] = cells[0]
    return avoided


def test_glossary_lists_avoided_variants():
    terms = avoided_terms()
    assert "包围盒" in terms and terms["包围盒"] == "边界框"
    assert terms["数据增广"] == terms["数据增强"] == "图像增广"   # one term for augmentation
    assert len(terms) >= 10


PAGES = [p for p in sorted(ROOT.glob("*.md")) if p.name not in ("glossary.md", "README.md")]


@pytest.mark.parametrize("path", NOTEBOOKS + PAGES, ids=lambda p: p.name)
def test_book_prose_uses_the_glossary_terms(path):
    if path.suffix == ".md":   # the book's own pages (index, results, api, bibliography)
        prose = path.read_text(encoding="utf-8")
    else:
        nb = json.loads(path.read_text(encoding="utf-8"))
        prose = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    found = {v: t for v, t in avoided_terms().items() if v in prose}
    assert not found, f"{path.name}: use the glossary's terms: " + ", ".join(
        f"{t} instead of {v}" for v, t in found.items())


def test_api_page_documents_every_module():
    import pkgutil

    import d2lhelpers
    page = (ROOT / "api.md").read_text(encoding="utf-8")
    modules = sorted(m.name.removeprefix("d2lhelpers.")
                     for m in pkgutil.walk_packages(d2lhelpers.__path__, "d2lhelpers."))
    missing = [m for m in modules if f"{{automodule}} d2lhelpers.{m}\n" not in page]
    assert not missing, f"api.md lacks an automodule block for: {missing}"

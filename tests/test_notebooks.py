"""Hygiene of the stored notebooks and the table of contents."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import export

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_name_and_kernel(path):
    assert re.fullmatch(r"\d\d-[a-z0-9-]+\.ipynb", path.name), path.name
    nb = load(path)
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_stripped_except_checked_cells(path):
    checked = 0
    for i, cell in enumerate(code_cells(load(path))):
        src = "".join(cell["source"])
        if CHECK_MARKER in src:
            # nbval skips comparing a cell whose execution_count is None ("unrun"), so checked
            # cells keep a count: 1, 2, ... in order
            checked += 1
            assert cell["outputs"], f"{path.name} code cell {i} is checked but has no stored output"
            assert cell["execution_count"] == checked, \
                f"{path.name} code cell {i}: execution_count should be {checked} (make clean-notebooks)"
        else:
            assert cell["execution_count"] is None, f"{path.name} code cell {i} keeps an execution count"
            assert not cell["outputs"], f"{path.name} code cell {i} keeps outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exactly_one_parameters_cell(path):
    cells = [c for c in code_cells(load(path)) if "parameters" in c["metadata"].get("tags", [])]
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged 'parameters'"
    src = "".join(cells[0]["source"])
    assert re.search(r'^mode = "auto"', src, re.M), "the parameters cell must set mode = \"auto\""
    everything = "\n".join("".join(c["source"]) for c in code_cells(load(path)))
    if "choose(" in everything:  # a section with size knobs shows both presets
        assert "PRESETS" in src and '"demo"' in src and '"full"' in src, "presets must be visible"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_results_are_saved_under_the_notebook_name(path):
    src = "\n".join("".join(c["source"]) for c in code_cells(load(path)))
    if not re.search(r"\btrain_(classifier|detector)\(", src):
        pytest.skip("not a training section")
    assert re.search(rf'save_results\(\s*"{re.escape(path.stem)}"', src), \
        f"{path.name} must save its results as {path.stem}"


def test_clean_tool_agrees():
    out = subprocess.run([sys.executable, "-m", "tools.notebooks", "--check", *map(str, NOTEBOOKS)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_toc_lists_exactly_the_notebooks():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    listed = re.findall(r"^\s*- file:\s*(\S+)\s*$", toc, re.M)
    in_toc = sorted(f for f in listed if f.startswith("chapters/"))
    on_disk = sorted(f"chapters/{p.stem}" for p in NOTEBOOKS)
    assert in_toc == on_disk


def test_exports_in_sync():
    # The package's __all__ lists are being brought in line in the d2lhelpers restructuring;
    # until then their drift is left to test_package_all_lists_in_sync (xfail). Afterwards
    # this is `assert export.check(ROOT) == []` and the xfail test goes.
    drift = set(export.all_drift(ROOT))
    assert [line for line in export.check(ROOT) if line not in drift] == []


@pytest.mark.xfail(strict=True, reason="d2lhelpers' __all__ lists are fixed in the package "
                   "restructuring; remove this mark (and the filter above) then")
def test_package_all_lists_in_sync():
    assert export.all_drift(ROOT) == []

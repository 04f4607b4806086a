"""Hygiene of the stored notebooks and the table of contents."""
from __future__ import annotations

import ast
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
    """Export cells equal the package's definitions, and every module's __all__ is exact."""
    assert export.check(ROOT) == []


TRAINERS = {"train_classifier", "train_detector", "train_head"}


def _called(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_training_run_has_a_name(path):
    """``make full`` resumes a training from the checkpoint named after its run_name, so
    every training a notebook starts names itself (a helper that forwards ``**kwargs`` to
    a trainer is a trainer too, and its callers name the run)."""
    trees = []
    for cell in code_cells(load(path)):
        src = "\n".join("" if line.lstrip().startswith("%") else line
                        for line in "".join(cell["source"]).splitlines())
        if not src.startswith("# export:"):   # the package's own definitions are not runs
            trees.append(ast.parse(src))
    trainers, forwarding = set(TRAINERS), set()
    for tree in trees:   # notebook helpers that pass **kwargs on to a trainer
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef):
                for call in ast.walk(fn):
                    if (isinstance(call, ast.Call) and _called(call) in TRAINERS
                            and any(k.arg is None for k in call.keywords)):
                        trainers.add(fn.name)
                        forwarding.add(id(call))
    unnamed = [f"{_called(call)}(...) on line {call.lineno}" for tree in trees
               for call in ast.walk(tree)
               if isinstance(call, ast.Call) and _called(call) in trainers
               and id(call) not in forwarding
               and not any(k.arg == "run_name" for k in call.keywords)]
    assert unnamed == [], f"{path.name}: pass run_name= to {unnamed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_first_output_says_mode_device_and_precision(path):
    """The first code cell that prints anything prints ``d2l.describe_setup``."""
    printing = ["".join(c["source"]) for c in code_cells(load(path))
                if re.search(r"\bprint\(|display\(", "".join(c["source"]))]
    first = printing[0]
    prints = re.findall(r"^print\(.*", first, re.M)
    assert prints and prints[0].startswith("print(d2l.describe_setup(mode"), first

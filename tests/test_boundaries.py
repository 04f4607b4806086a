"""No private name crosses a module or notebook boundary.

What another module, a tool, a benchmark or a notebook needs from ``d2lhelpers`` is public:
importing ``_name`` from one of its modules (``from d2lhelpers.x import _name``,
``from .x import _name``) or reaching into one (``x._name``, ``d2l._name``) is an error.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON_FILES = sorted([*(ROOT / "d2lhelpers").rglob("*.py"), *(ROOT / "tools").rglob("*.py"),
                       *(ROOT / "benchmarks").rglob("*.py"), ROOT / "chapters" / "conftest.py"])
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _ours(node: ast.ImportFrom) -> bool:
    return node.level > 0 or (node.module or "").split(".")[0] == "d2lhelpers"


def private_uses(code: str, origin: str) -> list[str]:
    """Every private name ``code`` takes from a d2lhelpers module, as readable lines."""
    tree = ast.parse(code)
    found, modules = [], set()   # modules: local names bound to d2lhelpers objects
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "d2lhelpers":
                    modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and _ours(node):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{origin} line {node.lineno}: imports {alias.name} from "
                                 f"{'.' * node.level}{node.module or ''}")
                else:  # a module ("from d2lhelpers import demodata") or any other object:
                    modules.add(alias.asname or alias.name)   # its private parts count too
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr)
                and isinstance(node.value, ast.Name) and node.value.id in modules):
            found.append(f"{origin} line {node.lineno}: uses {node.value.id}.{node.attr}")
    return sorted(found, key=lambda line: int(line.split(" line ")[1].split(":")[0]))


def notebook_code(path: Path) -> list[tuple[int, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            src = "".join(cell["source"])
            # IPython magics are not Python: blank them (keeping line numbers)
            cells.append((i, "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                       for line in src.splitlines())))
    return cells


def test_the_checker_finds_each_kind_of_crossing():
    bad = ("from d2lhelpers.data.voc import _header, voc_split\n"
           "from .draw import _SS\n"
           "import d2lhelpers as d2l\n"
           "from d2lhelpers import demodata\n"
           "x = d2l._secret + demodata._tone(1)\n"
           "ok = d2l.__version__ + voc_split.__doc__ + other._private\n"   # dunders: fine
           "y = voc_split._cache\n")
    found = private_uses(bad, "sample")
    assert found == ["sample line 1: imports _header from d2lhelpers.data.voc",
                     "sample line 2: imports _SS from .draw",
                     "sample line 5: uses d2l._secret", "sample line 5: uses demodata._tone",
                     "sample line 7: uses voc_split._cache"]


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_private_name_crosses_a_module_boundary(path):
    assert private_uses(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix()) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_uses_a_private_name_of_the_package(path):
    found = [line for i, code in notebook_code(path)
             for line in private_uses(code, f"{path.name} cell {i}")]
    assert found == []

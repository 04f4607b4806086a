from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import export
from tools.export import check, main, module_definitions, notebook_definitions, write

REPO = Path(__file__).resolve().parents[1]
NB = "chapters/01-basics.ipynb"
NB2 = "chapters/02-more.ipynb"
MOD = "d2lhelpers/tools.py"

ADD = '''def add(a, b):
    """Sum of two numbers."""
    return a + b'''

SCALE = '''@staticmethod_like
def scale(x, k=2):
    return x * k'''

POINT = '''class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def norm(self):
        return (self.x ** 2 + self.y ** 2) ** 0.5'''

MODULE = f'''"""Tools taught in the basics chapter."""
from __future__ import annotations

CONSTANT = 3


def staticmethod_like(f):
    return f


# export: {NB}
{ADD}


# export: {NB}
{SCALE}


def helper():  # not taught anywhere
    return CONSTANT


# export: {NB}
{POINT}
'''


def cell(source: str, kind: str = "code") -> dict:
    lines = source.splitlines(keepends=True)  # nbformat stores a list of lines
    c = {"cell_type": kind, "metadata": {}, "source": lines}
    if kind == "code":
        c.update(execution_count=None, outputs=[])
    return c


def write_notebook(path: Path, cells: list[dict]) -> None:
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def basics_cells(add: str = ADD, scale: str = SCALE, point: str = POINT) -> list[dict]:
    return [
        cell("# Basics\n\nSome text with `# export: d2lhelpers/tools.py` in it.", "markdown"),
        cell(f"# export: {MOD}\n\nA markdown cell that only looks like an export cell.",
             "markdown"),
        cell("import math\nfrom d2lhelpers.tools import staticmethod_like"),
        cell(f"# export: {MOD}\n{add}\n\n\n{scale}\n"),
        cell("def local_only():  # taught but not exported\n    return 1"),
        cell(f"# export: {MOD}\n{point}"),
        cell("print(add(1, 2))"),
    ]


@pytest.fixture
def book(tmp_path) -> Path:
    """A miniature book: one notebook whose export cells match d2lhelpers/tools.py."""
    root = tmp_path / "book"
    write_notebook(root / NB, basics_cells())
    (root / "d2lhelpers").mkdir(parents=True)
    (root / MOD).write_text(MODULE, encoding="utf-8")
    (root / "d2lhelpers" / "__init__.py").write_text('"""pkg"""\n', encoding="utf-8")
    return root


def only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


# ---------------------------------------------------------------- parsing

def test_notebook_definitions_by_module_and_cell(book):
    found = notebook_definitions(book / NB)
    assert list(found) == [MOD]
    assert [(i, d.name) for i, d in found[MOD]] == [(3, "add"), (3, "scale"), (5, "Point")]
    assert found[MOD][1][1].source == SCALE  # decorators included


def test_module_definitions_with_markers(book):
    defs = module_definitions(book / MOD)
    assert {name: marker for name, (_, marker) in defs.items()} == {
        "CONSTANT": None, "staticmethod_like": None, "add": NB, "scale": NB, "helper": None,
        "Point": NB}
    assert defs["Point"][0].source == POINT
    assert defs["CONSTANT"][0].kind == "constant" and defs["Point"][0].kind == "class"


def test_export_cell_defining_nothing_is_an_error(book):
    write_notebook(book / NB, basics_cells() + [cell(f"# export: {MOD}\n# nothing yet\n")])
    assert "cell 7 is marked for export but defines nothing" in only(check(book))
    with pytest.raises(ValueError, match="defines nothing"):
        notebook_definitions(book / NB)


def test_unparsable_export_cell_names_notebook(book):
    write_notebook(book / NB, [cell(f"# export: {MOD}\ndef broken(:\n    pass\n")])
    # the package's definitions marked for this notebook are not reported as orphans: the
    # cell that may define them could not be read
    assert re.match(r"chapters/01-basics\.ipynb cell 0: cannot parse", only(check(book)))
    with pytest.raises(ValueError, match=r"01-basics\.ipynb cell 0: cannot parse"):
        notebook_definitions(book / NB)


def test_misspelt_marker_is_reported_not_skipped(book):
    write_notebook(book / NB, basics_cells()
                   + [cell("# export: d2lhelpers/tools\ndef f():\n    pass\n")])
    line = only(check(book))
    assert "cell 7 line 1" in line and "is not an export marker" in line


# ---------------------------------------------------------------- what an export cell may hold

def test_import_in_export_cell_is_rejected_naming_cell_line_and_kind(book):
    cells = basics_cells()
    cells[3] = cell(f"# export: {MOD}\n{ADD}\nimport math\n\n\n{SCALE}\n")
    write_notebook(book / NB, cells)
    assert only(check(book)) == (
        f"{NB} cell 3 line 5: an import; export cells hold only definitions and constant "
        "assignments, move it to the imports cell")  # add and scale are still checked, in sync
    with pytest.raises(ValueError, match="cell 3 line 5: an import"):
        notebook_definitions(book / NB)


def test_expression_in_export_cell_is_rejected(book):
    cells = basics_cells()
    cells[5] = cell(f"# export: {MOD}\n{POINT}\nPoint(3, 4).norm()\n")
    write_notebook(book / NB, cells)
    line = only(check(book))
    assert line.startswith(f"{NB} cell 5 line 8: a call;")  # POINT is lines 2-7
    assert line.endswith("move it to a cell without the export marker")


@pytest.mark.parametrize("statement, kind", [
    ("from math import pi", "an import"),
    ("'just a string'", "a bare string"),
    ("1 + 1", "an expression"),
    ("for i in range(3):\n    pass", "a for loop"),
    ("if True:\n    x = 1", "an if statement"),
    ("a, b = 1, 2", "an assignment to something other than one name"),
    ("a = b = 1", "an assignment to something other than one name"),
    ("LIMIT += 1", "an augmented assignment"),
    ("LIMIT: int", "an annotation without a value"),
])
def test_each_other_statement_kind_is_rejected(book, statement, kind):
    write_notebook(book / NB, basics_cells()
                   + [cell(f"# export: {MOD}\n\n{statement}\n")])
    line = only(check(book))
    assert line.startswith(f"{NB} cell 7 line 3: {kind}")
    assert "export cells hold only definitions and constant assignments" in line


# ---------------------------------------------------------------- exported constants

CONSTANTS = 'ANCHOR_RATIOS = (1, 2, 0.5)  # as in the textbook\nLIMIT: int = 10'
MARKED_CONSTANTS = (f"# export: {NB}\nANCHOR_RATIOS = (1, 2, 0.5)  # as in the textbook\n\n"
                    f"# export: {NB}\nLIMIT: int = 10\n")


@pytest.fixture
def book_with_constants(book) -> Path:
    write_notebook(book / NB, basics_cells() + [cell(f"# export: {MOD}\n{CONSTANTS}\n")])
    (book / MOD).write_text(MODULE + "\n\n" + MARKED_CONSTANTS, encoding="utf-8")
    assert check(book) == []
    return book


def test_changed_exported_constant_is_reported(book_with_constants):
    book = book_with_constants
    write_notebook(book / NB, basics_cells()
                   + [cell(f"# export: {MOD}\n{CONSTANTS.replace('0.5', '0.25')}\n")])
    line = only(check(book))
    assert line.startswith(f"{NB} cell 7: ANCHOR_RATIOS differs from {MOD}")
    (book / MOD).write_text((MODULE + "\n\n" + MARKED_CONSTANTS).replace("= 10", "= 11"),
                            encoding="utf-8")
    assert len(check(book)) == 2 and "LIMIT differs" in check(book)[1]


def test_constant_compared_with_the_marked_assignment_only(book_with_constants):
    book = book_with_constants
    # the same name bound again, unmarked (e.g. a computed variant): the marked one counts
    (book / MOD).write_text(MODULE + "\n\n" + MARKED_CONSTANTS + "LIMIT = LIMIT * 2\n",
                            encoding="utf-8")
    assert check(book) == []
    (book / MOD).write_text(MODULE + "\n\n" + MARKED_CONSTANTS.replace(
        f"# export: {NB}\nLIMIT", "LIMIT"), encoding="utf-8")
    line = only(check(book))
    assert line.startswith(f"{MOD}: LIMIT needs the line '# export: {NB}'")


def test_constant_missing_from_package_is_reported_and_written(book):
    write_notebook(book / NB, basics_cells() + [cell(f"# export: {MOD}\n{CONSTANTS}\n")])
    problems = check(book)
    assert [p.split(": ", 1)[1] for p in problems] == [
        f"ANCHOR_RATIOS is not in {MOD} (run make sync-exports)",
        f"LIMIT is not in {MOD} (run make sync-exports)"]
    assert write(book) == [f"{MOD}: ANCHOR_RATIOS <- {NB}", f"{MOD}: LIMIT <- {NB}"]
    assert check(book) == []
    text = (book / MOD).read_text(encoding="utf-8")
    assert f"# export: {NB}\nLIMIT: int = 10\n" in text
    ns: dict = {}
    exec(compile(text, MOD, "exec"), ns)
    assert ns["ANCHOR_RATIOS"] == (1, 2, 0.5) and ns["LIMIT"] == 10


def test_package_constant_marked_but_not_exported_is_reported(book):
    (book / MOD).write_text(MODULE + f"\n\n# export: {NB}\nOLD = 1\n", encoding="utf-8")
    line = only(check(book))
    assert line.startswith(f"{MOD}: OLD is marked '# export: {NB}'") and "no export cell" in line


# ---------------------------------------------------------------- __all__ of the package

def test_all_listing_a_missing_name_is_reported(book):
    (book / MOD).write_text(MODULE.replace(
        "CONSTANT = 3", '__all__ = ["add", "scale", "Point", "helper", "CONSTANT",\n'
        '           "staticmethod_like", "subtract"]\n\nCONSTANT = 3'), encoding="utf-8")
    assert only(check(book)) == (
        f"{MOD} line 5: __all__ lists 'subtract', but the module neither defines nor imports "
        "it (define or import it, or take it out of __all__)")


def test_public_function_missing_from_all_is_reported(book):
    (book / MOD).write_text(MODULE.replace(
        "CONSTANT = 3", '__all__ = ["add", "scale", "Point", "staticmethod_like"]\n\n'
        "CONSTANT = 3\n\n\ndef _private():\n    return 0"), encoding="utf-8")
    line = only(check(book))  # _private and the constant need not be listed
    assert line.startswith(f"{MOD} line ") and "helper is a public function but not in __all__" in line
    lineno = int(line.split(" line ")[1].split(":")[0])
    assert (book / MOD).read_text().splitlines()[lineno - 1].startswith("def helper(")


def test_all_may_list_imported_and_conditionally_bound_names(book):
    (book / "d2lhelpers" / "other.py").write_text(
        '"""x"""\nimport os.path\nfrom math import pi as PI, tau\ntry:\n    import numpy as np\n'
        'except ImportError:\n    np = None\nif True:\n    LATER = 1\n\n__all__ = ["os", "PI", "tau",'
        ' "np", "LATER", "Public"]\n__all__ += ["Point2"]\n\n\nclass Public:\n    pass\n\n\n'
        "class Point2:\n    pass\n", encoding="utf-8")
    assert check(book) == []
    with (book / "d2lhelpers" / "other.py").open("a") as f:
        f.write("\n\nclass Point3:\n    pass\n")
    assert "Point3 is a public class but not in __all__" in only(check(book))


def test_package_init_may_list_its_submodules(book):
    (book / "d2lhelpers" / "__init__.py").write_text(
        '"""pkg"""\nfrom .tools import add\n\n__all__ = ["add", "tools", "gone"]\n', encoding="utf-8")
    line = only(check(book))
    assert line.startswith("d2lhelpers/__init__.py line 4: __all__ lists 'gone'")


def test_all_that_is_not_a_literal_list_is_reported(book):
    (book / "d2lhelpers" / "other.py").write_text('__all__ = sorted(["a"])\n', encoding="utf-8")
    assert "__all__ is not a plain list of strings" in only(check(book))


def test_all_drift_is_found_in_subpackages(book):
    sub = book / "d2lhelpers" / "detection"
    sub.mkdir()
    (sub / "__init__.py").write_text('"""sub"""\n__all__ = []\n', encoding="utf-8")
    (sub / "boxes.py").write_text('__all__ = ["iou"]\n\n\ndef area(b):\n    return 0\n',
                                  encoding="utf-8")
    problems = check(book)
    assert problems == [
        "d2lhelpers/detection/boxes.py line 1: __all__ lists 'iou', but the module neither "
        "defines nor imports it (define or import it, or take it out of __all__)",
        "d2lhelpers/detection/boxes.py line 4: area is a public function but not in __all__ "
        "(add it to __all__, or rename it _area if only this module uses it)"]
    assert export.all_drift(book) == problems and export.check_exports(book) == []


# ---------------------------------------------------------------- nested module paths

NESTED = "d2lhelpers/detection/boxes.py"
IOU = "def iou(a, b):\n    return 0.0"


@pytest.fixture
def nested_book(book) -> Path:
    (book / "d2lhelpers" / "detection").mkdir()
    (book / "d2lhelpers" / "detection" / "__init__.py").write_text('"""sub"""\n', encoding="utf-8")
    (book / NESTED).write_text(f'"""Boxes."""\n__all__ = ["iou"]\n\n\n# export: {NB2}\n{IOU}\n',
                               encoding="utf-8")
    write_notebook(book / NB2, [cell("import torch"), cell(f"# export: {NESTED}\n{IOU}\n")])
    assert check(book) == []
    return book


def test_nested_module_path_is_checked(nested_book):
    write_notebook(nested_book / NB2, [cell(f"# export: {NESTED}\n{IOU.replace('0.0', '1.0')}")])
    assert only(check(nested_book)) == (
        f"{NB2} cell 0: iou differs from {NESTED} (edit the notebook if needed, then run make "
        "sync-exports)")


def test_nested_module_path_is_written(nested_book):
    new = IOU.replace("0.0", "1.0")
    write_notebook(nested_book / NB2, [cell(f"# export: {NESTED}\n{new}\n\n\nLIMIT = 3")])
    assert write(nested_book) == [f"{NESTED}: iou <- {NB2}", f"{NESTED}: LIMIT <- {NB2}"]
    assert check(nested_book) == []
    assert f"# export: {NB2}\n{new}\n" in (nested_book / NESTED).read_text(encoding="utf-8")


def test_nested_marker_into_a_missing_folder_is_reported(book):
    write_notebook(book / NB2, [cell("# export: d2lhelpers/segmentation/voc.py\n" + IOU)])
    line = only(check(book))
    assert line.startswith(f"{NB2} cell 0: exports to d2lhelpers/segmentation/voc.py, but the "
                           "folder d2lhelpers/segmentation/ does not exist")
    assert write(book) == [] and not (book / "d2lhelpers" / "segmentation").exists()


# ---------------------------------------------------------------- check

def test_in_sync_no_problems(book):
    assert check(book) == []


def test_source_as_one_string_also_read(book):
    cells = basics_cells()
    for c in cells:
        c["source"] = "".join(c["source"])
    write_notebook(book / NB, cells)
    assert check(book) == []


def test_changed_body_in_notebook_reported(book):
    write_notebook(book / NB, basics_cells(add=ADD.replace("a + b", "b + a")))
    line = only(check(book))
    assert NB in line and "cell 3" in line and "add" in line and "differs" in line
    assert MOD in line


def test_changed_method_in_package_reported(book):
    (book / MOD).write_text(MODULE.replace("** 0.5", "** 0.25"), encoding="utf-8")
    line = only(check(book))
    assert "Point" in line and NB in line and "differs" in line


def test_changed_decorator_reported(book):
    write_notebook(book / NB, basics_cells(scale=SCALE.replace("@staticmethod_like\n", "")))
    assert "scale" in only(check(book))


def test_whitespace_only_change_reported(book):
    write_notebook(book / NB, basics_cells(add=ADD.replace("return a + b", "return a + b ")))
    assert "add" in only(check(book))


def test_package_definition_marked_but_missing_from_notebook(book):
    (book / MOD).write_text(MODULE + f"\n\n# export: {NB}\ndef orphan():\n    return 0\n",
                            encoding="utf-8")
    line = only(check(book))
    assert line.startswith(MOD) and "orphan" in line and NB in line
    assert "no export cell" in line


def test_package_definition_marked_for_another_notebook(book):
    (book / MOD).write_text(MODULE.replace(f"# export: {NB}\n{POINT}",
                                           f"# export: chapters/09-gone.ipynb\n{POINT}"),
                            encoding="utf-8")
    line = only(check(book))  # taught by NB, so only the marker is wrong
    assert line.startswith(MOD) and "Point" in line and "needs the line" in line
    assert f"# export: {NB}" in line and "09-gone.ipynb" in line


def test_package_definition_marked_for_missing_notebook(book):
    (book / MOD).write_text(MODULE + "\n\n# export: chapters/09-gone.ipynb\ndef orphan():\n"
                            "    return 0\n", encoding="utf-8")
    line = only(check(book))
    assert "orphan" in line and "chapters/09-gone.ipynb" in line and "no export cell" in line


def test_notebook_exports_function_package_lacks(book):
    extra = "def brand_new(x):\n    return -x"
    write_notebook(book / NB, basics_cells() + [cell(f"# export: {MOD}\n{extra}\n")])
    line = only(check(book))
    assert NB in line and "cell 7" in line and "brand_new" in line and "is not in" in line
    assert MOD in line


def test_package_definition_without_marker_reported(book):
    (book / MOD).write_text(MODULE.replace(f"# export: {NB}\n{ADD}", ADD), encoding="utf-8")
    line = only(check(book))
    assert "add" in line and f"# export: {NB}" in line and "needs the line" in line


def test_export_to_missing_module_reported(book):
    write_notebook(book / NB, basics_cells()
                   + [cell("# export: d2lhelpers/nowhere.py\ndef f():\n    pass\n")])
    line = only(check(book))
    assert NB in line and "d2lhelpers/nowhere.py" in line and "does not exist" in line


def test_two_notebooks_exporting_to_one_module(book):
    extra = "def more():\n    return 2"
    write_notebook(book / NB2, [cell(f"# export: {MOD}\n{extra}")])
    with (book / MOD).open("a", encoding="utf-8") as f:
        f.write(f"\n\n# export: {NB2}\n{extra}\n")
    assert check(book) == []
    (book / NB2).unlink()
    assert "more" in only(check(book))


# ---------------------------------------------------------------- write

def test_write_in_sync_changes_nothing(book):
    before = (book / MOD).read_text(encoding="utf-8")
    assert write(book) == []
    assert (book / MOD).read_text(encoding="utf-8") == before


def test_write_copies_notebook_versions_into_package(book):
    new_add = ADD.replace("a + b", "b + a")
    new_point = POINT.replace("** 0.5", "** 0.25") + "\n\n    def twice(self):\n        return 2"
    brand_new = "@staticmethod_like\ndef brand_new(x):\n    return -x"
    write_notebook(book / NB, basics_cells(add=new_add, point=new_point)
                   + [cell(f"# export: {MOD}\n{brand_new}\n")])
    (book / MOD).write_text(MODULE.replace(f"# export: {NB}\n{SCALE}", SCALE),  # unmarked
                            encoding="utf-8")
    assert len(check(book)) == 4
    changed = write(book)
    assert sorted(changed) == sorted(f"{MOD}: {name} <- {NB}"
                                     for name in ["add", "scale", "Point", "brand_new"])
    assert check(book) == []
    text = (book / MOD).read_text(encoding="utf-8")
    assert text.count(f"# export: {NB}") == 4
    for src in (new_add, SCALE, new_point, brand_new):
        assert f"# export: {NB}\n{src}\n" in text
    assert ADD not in text and POINT not in text
    # code that is not exported is untouched
    assert 'def helper():  # not taught anywhere\n    return CONSTANT\n' in text
    assert text.startswith('"""Tools taught in the basics chapter."""\nfrom __future__')
    assert "CONSTANT = 3" in text and "def local_only" not in text
    compile(text, MOD, "exec")
    assert write(book) == []  # idempotent
    assert (book / MOD).read_text(encoding="utf-8") == text


def test_write_shrinking_definition_keeps_following_code(book):
    short = "class Point:\n    pass"
    write_notebook(book / NB, basics_cells(point=short, add="def add(a, b):\n    return 0"))
    write(book)
    assert check(book) == []
    text = (book / MOD).read_text(encoding="utf-8")
    assert text == MODULE.replace(POINT, short).replace(ADD, "def add(a, b):\n    return 0")
    ns: dict = {}
    exec(compile(text, MOD, "exec"), ns)
    assert ns["add"](1, 2) == 0 and ns["helper"]() == 3 and ns["scale"](2) == 4


def test_write_moves_marker_to_the_exporting_notebook(book):
    (book / MOD).write_text(MODULE.replace(f"# export: {NB}\n{ADD}",
                                           f"# export: chapters/09-gone.ipynb\n{ADD}"),
                            encoding="utf-8")
    assert write(book) == [f"{MOD}: add <- {NB}"]
    text = (book / MOD).read_text(encoding="utf-8")
    assert "09-gone" not in text and check(book) == []


def test_write_leaves_export_to_missing_module_for_check_to_report(book):
    write_notebook(book / NB, basics_cells()
                   + [cell("# export: d2lhelpers/nowhere.py\ndef f():\n    pass\n")])
    assert write(book) == []
    assert not (book / "d2lhelpers" / "nowhere.py").exists()
    assert "does not exist" in only(check(book))


# ---------------------------------------------------------------- command line

def test_main_exit_status(book, capsys):
    assert main(["--root", str(book)]) == 0
    assert "exports in sync" in capsys.readouterr().out
    write_notebook(book / NB, basics_cells(add=ADD.replace("a + b", "b + a")))
    assert main(["--root", str(book)]) == 1
    err = capsys.readouterr().err
    assert "add differs" in err and NB in err
    assert main(["--root", str(book), "--write"]) == 0
    out = capsys.readouterr().out
    assert f"updated {MOD}: add <- {NB}" in out and "exports in sync" in out
    assert main(["--root", str(book)]) == 0


def test_main_write_with_remaining_problem_still_fails(book, capsys):
    (book / MOD).write_text(MODULE + f"\n\n# export: {NB}\ndef orphan():\n    return 0\n",
                            encoding="utf-8")
    assert main(["--root", str(book), "--write"]) == 1  # --write cannot invent notebook code
    assert "orphan" in capsys.readouterr().err


def test_python_dash_m_exit_status_on_drift(book):
    write_notebook(book / NB, basics_cells(add=ADD.replace("a + b", "b + a")))
    proc = subprocess.run([sys.executable, "-m", "tools.export", "--root", str(book)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "add differs" in proc.stderr and NB in proc.stderr
    assert "exports in sync" not in proc.stdout


def test_default_root_is_the_checkout():
    assert Path(export.__file__).resolve().parents[1] == REPO

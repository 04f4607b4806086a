"""Keep code taught in notebooks and the package in sync (one source of truth).

A notebook code cell whose first line is ``# export: d2lhelpers/<module>.py`` (nested
paths such as ``d2lhelpers/detection/boxes.py`` work too) teaches definitions that live in
that module. Such a cell holds only function and class definitions (decorators included)
and simple constant assignments (``NAME = ...`` / ``NAME: T = ...``); anything else in it
(an import, a call, a loop) is reported, because it would not reach the package. In the
module, each exported definition or constant is preceded by the line
``# export: chapters/<notebook>.ipynb`` and must equal the notebook's text exactly.

The check also reads every module under ``d2lhelpers/`` (subpackages included) that
defines ``__all__``: every name listed must be defined or imported there, and every public
top-level function and class (no leading underscore) must be listed.

Usage (from the repository root)::

    python -m tools.export           # check; exit 1 on any problem (make exports)
    python -m tools.export --write   # copy the notebooks' definitions into the package,
                                     # then check (make sync-exports)
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Definition", "notebook_definitions", "module_definitions", "check", "check_exports",
           "all_drift", "write", "main"]

ROOT = Path(__file__).resolve().parents[1]
NB_MARKER = re.compile(r"^# export: (d2lhelpers/[\w/]+\.py)\s*$")
PKG_MARKER = re.compile(r"^# export: (chapters/[\w.-]+\.ipynb)\s*$")
SYNC_HINT = "run make sync-exports"
DEF_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Definition:
    name: str
    source: str  # exact text, decorators included
    start: int  # 0-based first line (decorators included) in its file or cell
    end: int  # 0-based line after the definition
    kind: str = "function"  # "function", "class" or "constant"


def _parse(code: str, origin: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError as exc:
        raise ValueError(f"{origin}: cannot parse ({exc})") from exc


def _assigned_name(node: ast.stmt) -> str | None:
    """The name of a simple ``NAME = ...`` or ``NAME: T = ...``; None for anything else."""
    if (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def _definition(node: ast.stmt, lines: list[str]) -> Definition | None:
    """``node`` as a Definition when it is a def, a class or a simple assignment."""
    if isinstance(node, DEF_NODES):
        start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        kind = "class" if isinstance(node, ast.ClassDef) else "function"
        name = node.name
    else:
        name = _assigned_name(node)
        if name is None:
            return None
        start, kind = node.lineno - 1, "constant"
    return Definition(name, "\n".join(lines[start:node.end_lineno]), start, node.end_lineno, kind)


def _definitions(code: str, origin: str) -> list[Definition]:
    lines = code.splitlines()
    found = (_definition(node, lines) for node in _parse(code, origin).body)
    return [d for d in found if d is not None]


def _statement_kind(node: ast.stmt) -> str:
    """What a statement is, in words, for the message that rejects it."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "an import"
    if isinstance(node, ast.Expr):
        if isinstance(node.value, ast.Call):
            return "a call"
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return "a bare string"
        return "an expression"
    if isinstance(node, ast.AnnAssign) and node.value is None:
        return "an annotation without a value"
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return "an assignment to something other than one name (such as a, b = ... or obj.x = ...)"
    if isinstance(node, ast.AugAssign):
        return "an augmented assignment (such as x += ...)"
    words = {ast.If: "an if statement", ast.For: "a for loop", ast.AsyncFor: "a for loop",
             ast.While: "a while loop", ast.With: "a with block", ast.AsyncWith: "a with block",
             ast.Try: "a try block", ast.Delete: "a del statement", ast.Assert: "an assert",
             ast.Raise: "a raise", ast.Return: "a return", ast.Pass: "a pass statement"}
    return words.get(type(node), f"a {type(node).__name__} statement")


# ---------------------------------------------------------------- notebooks

@dataclass
class _Scan:
    """What one notebook exports, and what is wrong with its export cells."""
    exports: dict[str, list[tuple[int, Definition]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unparsed: set[str] = field(default_factory=set)  # modules of cells that did not parse


def _cells(nb_path: Path) -> list[dict]:
    try:
        return json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{nb_path} is not a valid notebook ({err}); restore it from git or "
                         "save it again in JupyterLab") from err


def _scan(nb_path: Path, name: str) -> _Scan:
    """Read the export cells of ``nb_path``; problem lines start with ``name``."""
    scan = _Scan()
    try:
        cells = _cells(nb_path)
    except ValueError as err:
        scan.problems.append(str(err))
        return scan
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        src = "".join(cell["source"])
        first = src.splitlines()[0] if src else ""
        match = NB_MARKER.match(first)
        if not match:
            if first.startswith("# export:"):  # a typo would leave the cell unchecked
                scan.problems.append(
                    f"{name} cell {i} line 1: {first.strip()!r} is not an export marker; write "
                    "'# export: d2lhelpers/<module>.py' (letters, digits, _ and / only)")
            continue
        module_rel = match.group(1)
        try:
            tree = _parse(src, f"{name} cell {i}")
        except ValueError as err:
            scan.problems.append(str(err))
            scan.unparsed.add(module_rel)
            continue
        if not tree.body:
            scan.problems.append(f"{name} cell {i} is marked for export but defines nothing "
                                 "(remove the marker line or add the definitions)")
            continue
        lines = src.splitlines()
        for node in tree.body:
            d = _definition(node, lines)
            if d is not None:
                scan.exports.setdefault(module_rel, []).append((i, d))
                continue
            kind = _statement_kind(node)
            where = ("move it to the imports cell" if kind == "an import"
                     else "move it to a cell without the export marker")
            scan.problems.append(f"{name} cell {i} line {node.lineno}: {kind}; export cells "
                                 f"hold only definitions and constant assignments, {where}")
    return scan


def notebook_definitions(nb_path: Path) -> dict[str, list[tuple[int, Definition]]]:
    """Module path -> [(cell index, definition)] for every export cell of a notebook.

    Raises ValueError, naming the cells, when an export cell cannot be parsed, defines
    nothing or holds a statement other than a definition or a constant assignment.
    """
    scan = _scan(nb_path, str(nb_path))
    if scan.problems:
        raise ValueError("\n".join(scan.problems))
    return scan.exports


# ---------------------------------------------------------------- modules

def module_definitions(module_path: Path) -> dict[str, tuple[Definition, str | None]]:
    """Name -> (definition, notebook named by its ``# export:`` line or None).

    Top-level functions, classes and simple assignments. When a name is bound twice, the
    one with an ``# export:`` line wins (else the later one, as in Python).
    """
    code = module_path.read_text(encoding="utf-8")
    lines = code.splitlines()
    out: dict[str, tuple[Definition, str | None]] = {}
    for d in _definitions(code, str(module_path)):
        marker = PKG_MARKER.match(lines[d.start - 1]) if d.start > 0 else None
        notebook = marker.group(1) if marker else None
        if d.name not in out or notebook or not out[d.name][1]:
            out[d.name] = (d, notebook)
    return out


def _package_modules(root: Path) -> list[Path]:
    return [p for p in sorted((root / "d2lhelpers").rglob("*.py"))
            if not any(part.startswith(".") for part in p.relative_to(root).parts)]


def check_exports(root: Path = ROOT) -> list[str]:
    """Every difference between the notebooks' export cells and the package."""
    problems: list[str] = []
    taught: set[tuple[str, str]] = set()
    unparsed: set[tuple[str, str]] = set()  # (module, notebook): a cell we could not read
    modules: dict[str, dict | None] = {}

    def defs_of(module_rel: str) -> dict | None:
        if module_rel not in modules:
            try:
                modules[module_rel] = module_definitions(root / module_rel)
            except ValueError as err:
                problems.append(str(err).replace(str(root) + "/", ""))
                modules[module_rel] = None
        return modules[module_rel]

    for nb_path in sorted((root / "chapters").glob("*.ipynb")):
        nb_rel = nb_path.relative_to(root).as_posix()
        scan = _scan(nb_path, nb_rel)
        problems += scan.problems
        unparsed |= {(m, nb_rel) for m in scan.unparsed}
        for module_rel, defs in scan.exports.items():
            module_path = root / module_rel
            first_cell = defs[0][0]
            if not module_path.exists():
                folder = module_path.parent.relative_to(root).as_posix()
                if not module_path.parent.is_dir():
                    problems.append(f"{nb_rel} cell {first_cell}: exports to {module_rel}, but "
                                    f"the folder {folder}/ does not exist (fix the marker, or "
                                    f"create the subpackage {folder}/ with an __init__.py)")
                else:
                    problems.append(f"{nb_rel} cell {first_cell}: exports to {module_rel}, "
                                    "which does not exist (fix the marker, or create the module)")
                continue
            in_module = defs_of(module_rel)
            if in_module is None:
                continue
            for cell, d in defs:
                taught.add((module_rel, d.name))
                if d.name not in in_module:
                    problems.append(f"{nb_rel} cell {cell}: {d.name} is not in {module_rel} "
                                    f"({SYNC_HINT})")
                    continue
                pkg_def, marker = in_module[d.name]
                if pkg_def.source != d.source:
                    problems.append(f"{nb_rel} cell {cell}: {d.name} differs from {module_rel} "
                                    f"(edit the notebook if needed, then {SYNC_HINT})")
                if marker != nb_rel:
                    problems.append(f"{module_rel}: {d.name} needs the line '# export: {nb_rel}' "
                                    f"above it (found {marker!r}; {SYNC_HINT})")
    for module_path in _package_modules(root):
        module_rel = module_path.relative_to(root).as_posix()
        in_module = defs_of(module_rel)
        for name, (_, marker) in (in_module or {}).items():
            if marker and (module_rel, name) not in taught and (module_rel, marker) not in unparsed:
                problems.append(f"{module_rel}: {name} is marked '# export: {marker}' but that "
                                "notebook has no export cell defining it (add one there, or "
                                "remove the marker line)")
    return problems


# ---------------------------------------------------------------- __all__

def _bound_names(body: list[ast.stmt]) -> tuple[set[str], bool]:
    """Names a module's top level binds (inside if/try/with/for too), and whether it
    does ``from ... import *`` (then any name may be bound)."""
    names: set[str] = set()
    star = False

    def targets(node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    def walk(stmts: list[ast.stmt]) -> None:
        nonlocal star
        for node in stmts:
            if isinstance(node, DEF_NODES):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    targets(target)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets(node.target)
            elif isinstance(node, ast.Import):
                names.update(a.asname or a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                star = star or any(a.name == "*" for a in node.names)
                names.update(a.asname or a.name for a in node.names if a.name != "*")
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                targets(node.target)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars)
            for block in ("body", "orelse", "finalbody"):
                if not isinstance(node, DEF_NODES) and isinstance(getattr(node, block, None), list):
                    walk(getattr(node, block))
            for handler in getattr(node, "handlers", []):
                if handler.name:
                    names.add(handler.name)
                walk(handler.body)

    walk(body)
    return names, star


def _listed(tree: ast.Module, module_rel: str) -> tuple[list[tuple[str, int]] | None, list[str]]:
    """``[(name, line)]`` of the module's ``__all__`` (None when it has none), and problems."""
    listed: list[tuple[str, int]] | None = None
    problems = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            target = node.target
        else:
            continue
        if not (isinstance(target, ast.Name) and target.id == "__all__"):
            continue
        value = getattr(node, "value", None)
        if (isinstance(value, (ast.List, ast.Tuple))
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts)):
            names = [(e.value, e.lineno) for e in value.elts]
            listed = (listed or []) + names if isinstance(node, ast.AugAssign) else names
        else:
            problems.append(f"{module_rel} line {node.lineno}: __all__ is not a plain list of "
                            "strings, so it cannot be checked; write __all__ = [\"name\", ...]")
            listed = listed or []
    return listed, problems


def all_drift(root: Path = ROOT) -> list[str]:
    """``__all__`` drift of every module under ``d2lhelpers/`` that defines ``__all__``:
    names listed but not defined or imported there, and public top-level functions and
    classes that are not listed."""
    problems: list[str] = []
    for module_path in _package_modules(root):
        module_rel = module_path.relative_to(root).as_posix()
        try:
            tree = _parse(module_path.read_text(encoding="utf-8"), module_rel)
        except ValueError as err:
            problems.append(str(err))
            continue
        listed, found = _listed(tree, module_rel)
        problems += found
        if listed is None:
            continue
        bound, star = _bound_names(tree.body)
        if module_path.name == "__init__.py":  # a package's submodules are its attributes too
            bound |= {p.stem for p in module_path.parent.glob("*.py")}
            bound |= {p.name for p in module_path.parent.iterdir() if (p / "__init__.py").exists()}
        if not star and "__getattr__" not in bound:  # else names may come from elsewhere
            for name, line in listed:
                if name not in bound:
                    problems.append(f"{module_rel} line {line}: __all__ lists {name!r}, but the "
                                    "module neither defines nor imports it (define or import "
                                    "it, or take it out of __all__)")
        names = {name for name, _ in listed}
        for node in tree.body:
            if isinstance(node, DEF_NODES) and not node.name.startswith("_") and node.name not in names:
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                problems.append(f"{module_rel} line {node.lineno}: {node.name} is a public {kind} "
                                "but not in __all__ (add it to __all__, or rename it "
                                f"_{node.name} if only this module uses it)")
    return problems


def check(root: Path = ROOT) -> list[str]:
    """Every problem, as readable lines: export cells vs the package, then ``__all__`` drift."""
    # dict.fromkeys: a module that cannot be parsed is reported by both, once is enough
    return list(dict.fromkeys(check_exports(root) + all_drift(root)))


# ---------------------------------------------------------------- --write

def write(root: Path = ROOT) -> list[str]:
    """Copy each exported definition from its notebook into its module; return what changed.

    Only existing modules are edited (a missing one is most likely a typo in the marker,
    which :func:`check` reports); cells with problems are left for :func:`check` to report.
    """
    changed = []
    for nb_path in sorted((root / "chapters").glob("*.ipynb")):
        nb_rel = nb_path.relative_to(root).as_posix()
        for module_rel, defs in _scan(nb_path, nb_rel).exports.items():
            module_path = root / module_rel
            if not module_path.exists():
                continue
            for _, d in defs:
                lines = module_path.read_text(encoding="utf-8").splitlines()
                existing = module_definitions(module_path).get(d.name)
                if existing is None:
                    lines += ["", "", f"# export: {nb_rel}", *d.source.splitlines()]
                elif existing[0].source == d.source and existing[1] == nb_rel:
                    continue
                else:
                    pkg_def, marker = existing
                    start = pkg_def.start - (1 if marker else 0)
                    lines[start:pkg_def.end] = [f"# export: {nb_rel}", *d.source.splitlines()]
                module_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
                changed.append(f"{module_rel}: {d.name} <- {nb_rel}")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.export",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="copy notebook definitions into the package, then check")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the book's checkout (default: this one)")
    args = parser.parse_args(argv)
    if not (args.root / "chapters").is_dir() or not (args.root / "d2lhelpers").is_dir():
        print(f"tools.export: --root {args.root} has no chapters/ and d2lhelpers/ folders; "
              "give the book's checkout", file=sys.stderr)
        return 2
    if args.write:
        for line in write(args.root):
            print("updated", line)
    problems = check(args.root)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); `make sync-exports` copies the notebooks' definitions "
              "into the package, the other problems need an edit by hand", file=sys.stderr)
        return 1
    print("exports in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())

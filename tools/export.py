"""Keep code taught in notebooks and the package in sync (one source of truth).

A notebook code cell whose first line is ``# export: d2lhelpers/<module>.py`` teaches
definitions that live in that module. In the module, each such definition is preceded
by the line ``# export: chapters/<notebook>.ipynb``. ``python -m tools.export``
checks both directions and fails on any difference; ``--write`` copies the notebook's
version of each definition into the package (the notebook is what readers edit).
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Definition", "notebook_definitions", "module_definitions", "check", "write", "main"]

NB_MARKER = re.compile(r"^# export: (d2lhelpers/[\w/]+\.py)\s*$")
PKG_MARKER = re.compile(r"^# export: (chapters/[\w.-]+\.ipynb)\s*$")


@dataclass(frozen=True)
class Definition:
    name: str
    source: str  # exact text, decorators included
    start: int  # 0-based first line (decorators included) in its file or cell
    end: int  # 0-based line after the definition


def _definitions(code: str, origin: str) -> list[Definition]:
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ValueError(f"{origin}: cannot parse ({exc})") from exc
    lines = code.splitlines()
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            out.append(Definition(node.name, "\n".join(lines[start:node.end_lineno]),
                                  start, node.end_lineno))
    return out


def _cells(nb_path: Path) -> list[dict]:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return nb["cells"]


def notebook_definitions(nb_path: Path) -> dict[str, list[tuple[int, Definition]]]:
    """Module path -> [(cell index, definition)] for every export cell of a notebook."""
    found: dict[str, list[tuple[int, Definition]]] = {}
    for i, cell in enumerate(_cells(nb_path)):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        first = src.splitlines()[0] if src else ""
        match = NB_MARKER.match(first)
        if match:
            defs = _definitions(src, f"{nb_path} cell {i}")
            if not defs:
                raise ValueError(f"{nb_path} cell {i} is marked for export but defines nothing")
            found.setdefault(match.group(1), []).extend((i, d) for d in defs)
    return found


def module_definitions(module_path: Path) -> dict[str, tuple[Definition, str | None]]:
    """Name -> (definition, notebook named by its ``# export:`` line or None)."""
    code = module_path.read_text(encoding="utf-8")
    lines = code.splitlines()
    out = {}
    for d in _definitions(code, str(module_path)):
        marker = PKG_MARKER.match(lines[d.start - 1]) if d.start > 0 else None
        out[d.name] = (d, marker.group(1) if marker else None)
    return out


def check(root: Path) -> list[str]:
    """Every difference between export cells and the package, as readable lines."""
    problems = []
    taught: set[tuple[str, str]] = set()
    for nb_path in sorted((root / "chapters").glob("*.ipynb")):
        nb_rel = nb_path.relative_to(root).as_posix()
        for module_rel, defs in notebook_definitions(nb_path).items():
            module_path = root / module_rel
            if not module_path.exists():
                problems.append(f"{nb_rel}: exports to {module_rel}, which does not exist")
                continue
            in_module = module_definitions(module_path)
            for cell, d in defs:
                taught.add((module_rel, d.name))
                if d.name not in in_module:
                    problems.append(f"{nb_rel} cell {cell}: {d.name} is not in {module_rel} "
                                    "(run python -m tools.export --write)")
                    continue
                pkg_def, marker = in_module[d.name]
                if pkg_def.source != d.source:
                    problems.append(f"{nb_rel} cell {cell}: {d.name} differs from {module_rel} "
                                    "(edit one, then python -m tools.export --write)")
                if marker != nb_rel:
                    problems.append(f"{module_rel}: {d.name} needs the line '# export: {nb_rel}' "
                                    f"above it (found {marker!r})")
    for module_path in sorted((root / "d2lhelpers").rglob("*.py")):
        module_rel = module_path.relative_to(root).as_posix()
        for name, (_, marker) in module_definitions(module_path).items():
            if marker and (module_rel, name) not in taught:
                problems.append(f"{module_rel}: {name} is marked '# export: {marker}' but that "
                                "notebook has no export cell defining it")
    return problems


def write(root: Path) -> list[str]:
    """Copy each exported definition from its notebook into its module; return what changed."""
    changed = []
    for nb_path in sorted((root / "chapters").glob("*.ipynb")):
        nb_rel = nb_path.relative_to(root).as_posix()
        for module_rel, defs in notebook_definitions(nb_path).items():
            module_path = root / module_rel
            if not module_path.exists():  # a typo in the marker, most likely: check reports it
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
    parser.add_argument("--write", action="store_true", help="copy notebook definitions into the package")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    if args.write:
        for line in write(args.root):
            print("updated", line)
    problems = check(args.root)
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print("exports in sync")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

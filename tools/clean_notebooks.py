#!/usr/bin/env python3
"""Strip notebooks for git: outputs only in cells marked ``# NBVAL_CHECK_OUTPUT``.

Also clears execution counts and the run-time metadata that nbclient/papermill add, sets
the kernelspec to ``python3``, and puts the Colab setup cell first (``tools/colab.py``). ``--check`` changes nothing and exits 1 when a
notebook is not clean (the test suite runs it).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import colab  # noqa: E402  (tools/colab.py)

CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
CELL_KEYS_DROPPED = ("execution", "papermill", "collapsed", "scrolled", "ExecuteTime")
NB_KEYS_DROPPED = ("papermill", "widgets", "toc", "varInspector")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def clean(nb: dict, repository: tuple[str, str] | None = None) -> dict:
    """Return a cleaned copy of a notebook dict (``repository``: Colab's (url, branch))."""
    nb = colab.apply(json.loads(json.dumps(nb)), *(repository or colab.repository()))
    checked = 0
    for cell in nb["cells"]:
        for key in CELL_KEYS_DROPPED:
            cell.get("metadata", {}).pop(key, None)
        if cell["cell_type"] != "code":
            continue
        if CHECK_MARKER in "".join(cell["source"]):
            # nbval treats a cell without an execution count as never run and refuses to
            # compare it, so checked cells are numbered 1, 2, ... (stable across runs)
            checked += 1
            cell["execution_count"] = checked
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = checked
                out.get("metadata", {}).pop("execution", None)
        else:
            cell["execution_count"] = None
            cell["outputs"] = []
    for key in NB_KEYS_DROPPED:
        nb["metadata"].pop(key, None)
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    nb["metadata"]["language_info"] = {"name": "python"}
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    dirty = []
    repository = colab.repository()
    for path in args.notebooks:
        text = path.read_text(encoding="utf-8")
        cleaned = dumps(clean(json.loads(text), repository))
        if cleaned != text:
            dirty.append(path)
            if not args.check:
                path.write_text(cleaned, encoding="utf-8")
    for path in dirty:
        print(f"{path}: {'not clean (run make clean-notebooks)' if args.check else 'cleaned'}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())

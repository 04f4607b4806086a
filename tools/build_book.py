"""Build the HTML book from notebooks that were already executed, without running them again.

The notebooks in ``chapters/`` are stored without outputs. ``make test`` / ``make book``
execute them once (nbval, demo mode) into ``_build/executed/demo``; ``make full`` executes
them in full mode into ``_build/executed/full``. This script stages the book's sources in
``_build/book-src`` with every chapter replaced by its executed copy, adds the generated
results page, switches Jupyter Book's execution off and builds ``_build/html``.

It refuses an executed notebook that is missing, failed, or stale (its cell sources differ
from the notebook in ``chapters/``), naming the file and the command that makes it.

Usage (from the repository root)::

    .venv/bin/python -m tools.build_book --executed _build/executed/demo
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from d2lhelpers.results import read_timings
from tools import results_page

ROOT = Path(__file__).resolve().parents[1]

# Files and folders of the book besides the chapters (copied as they are).
BOOK_FILES = ["_toc.yml", "references.bib", "_ext", "_static"]


class BookError(SystemExit):
    """A clear, one-paragraph reason the book cannot be built (exit status 2)."""

    def __init__(self, message: str):
        print(f"build_book: {message}", file=sys.stderr)
        super().__init__(2)


def toc_files(toc_path: Path) -> list[str]:
    """Every ``file:`` of the table of contents (root included), in reading order."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def _sources(nb: dict) -> list[tuple[str, str]]:
    return [(c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in nb["cells"]]


def check_executed(source: Path, executed: Path, how: str) -> None:
    """Raise BookError unless ``executed`` is a complete run of ``source``'s cells."""
    if not executed.exists():
        raise BookError(f"{executed} is missing: the book needs every notebook executed "
                        f"first ({how}).")
    nb = json.loads(executed.read_text(encoding="utf-8"))
    if nb.get("metadata", {}).get("d2l", {}).get("failed"):
        raise BookError(f"{executed} records a failed run; fix {source} and execute it again "
                        f"({how}).")
    if nb.get("metadata", {}).get("papermill", {}).get("exception"):
        raise BookError(f"{executed} stopped with an exception; fix {source} and run again.")
    src = [s for s in _sources(json.loads(source.read_text(encoding="utf-8")))]
    # papermill adds an "injected-parameters" cell after the parameters cell: skip it
    got = [s for c, s in zip(nb["cells"], _sources(nb))
           if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    if got != src:
        raise BookError(f"{executed} is stale: its cells differ from {source}; execute the "
                        f"notebook again ({how}).")


def add_run_facts(nb: dict, box: str) -> None:
    """Put the run-facts ``box`` (Markdown) right after the chapter's title cell."""
    titles = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"
              and "".join(c["source"]).lstrip().startswith("# ")]
    at = titles[0] + 1 if titles else 0
    nb["cells"].insert(at, {"cell_type": "markdown", "id": "run-facts",
                            "metadata": {"tags": ["run-facts"]}, "source": box})


def stage(executed_dir: Path, staging: Path, how: str) -> list[str]:
    """Copy the book's sources into ``staging``, chapters replaced by executed copies."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    (staging / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                                         encoding="utf-8")
    for name in BOOK_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, staging / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        elif (ROOT / name).exists():
            shutil.copy2(ROOT / name, staging / name)
    files = toc_files(ROOT / "_toc.yml")
    timings = read_timings(executed_dir)
    for entry in files:
        for suffix in (".md", ".ipynb"):
            src = ROOT / f"{entry}{suffix}"
            if src.exists():
                break
        else:
            raise BookError(f"_toc.yml lists {entry!r} but neither {entry}.md nor {entry}.ipynb exists")
        dest = staging / src.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".ipynb":
            done = executed_dir / src.name
            check_executed(src, done, how)
            nb = json.loads(done.read_text(encoding="utf-8"))
            add_run_facts(nb, results_page.run_facts(src.stem, timings))
            dest.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
        else:
            shutil.copy2(src, dest)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executed", type=Path, required=True,
                        help="folder of executed notebooks (e.g. _build/executed/demo)")
    parser.add_argument("--output", type=Path, default=ROOT,
                        help="the HTML goes to OUTPUT/_build/html (default: the repository)")
    parser.add_argument("--how", default="make notebooks",
                        help="the command that executes the notebooks (for error messages)")
    args = parser.parse_args(argv)
    executed = args.executed.resolve()
    if not executed.is_dir():
        raise BookError(f"--executed {args.executed}: no such folder; execute the notebooks "
                        f"first ({args.how}).")
    staging = ROOT / "_build" / "book-src"
    stage(executed, staging, args.how)
    page = results_page.render(ROOT / "results") + "\n" + results_page.render_timings(executed)
    target = staging / "results.md"
    template = (ROOT / "results.md").read_text(encoding="utf-8")
    target.write_text(results_page.fill(template, page), encoding="utf-8")
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(staging), "--path-output", str(args.output.resolve()),
           "--all", "--warningiserror", "--keep-going"]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    index = args.output.resolve() / "_build" / "html" / "index.html"
    if not index.exists():
        raise BookError(f"jupyter-book finished but {index} is missing")
    print(f"book: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

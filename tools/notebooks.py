"""Keep the stored notebooks clean: outputs stripped, the Colab setup cell first.

Cleaning a notebook for git keeps outputs only in code cells marked ``# NBVAL_CHECK_OUTPUT``
(numbered 1, 2, ... so that nbval compares them), clears the other execution counts and the
run-time metadata that nbclient/papermill add, and sets the kernelspec to ``python3``.

It also puts the Colab setup cell first and asks Colab for a GPU runtime. The repository
URL and branch come from one place, ``repository:`` in ``_config.yml`` (Jupyter Book's
launch buttons use the same keys). Inside Google Colab the setup cell pip-installs the
helper package ``d2lhelpers`` from that repository (Colab's own torch already satisfies the
ranges, so torch is not reinstalled); anywhere else it does nothing. The cell is tagged
``remove-cell``, so the rendered book hides it.

Usage (from the repository root)::

    python -m tools.notebooks chapters/*.ipynb          # clean (make clean-notebooks)
    python -m tools.notebooks --check chapters/*.ipynb  # change nothing, exit 1 if not clean
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
CELL_KEYS_DROPPED = ("execution", "papermill", "collapsed", "scrolled", "ExecuteTime")
NB_KEYS_DROPPED = ("papermill", "widgets", "toc", "varInspector")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

CELL_ID = "colab-setup"
TAGS = ["remove-cell"]
# Colab's notebook metadata for "Runtime > Change runtime type > T4 GPU"
COLAB_METADATA = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}


# ---------------------------------------------------------------- Colab

def repository(config_path: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """``(url, branch)`` from the ``repository`` section of ``_config.yml``."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    repo = config.get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch")
    if not url or not branch:
        raise ValueError(f"{config_path}: set repository.url and repository.branch (the Colab "
                         "setup cell and the launch buttons are built from them)")
    return url.rstrip("/"), branch


def setup_cell_source(url: str, branch: str) -> str:
    """The first cell of every notebook."""
    return f'''# Colab setup (hidden in the book): inside Google Colab, install the book's helper package.
# Outside Colab this cell does nothing. Colab's own torch is kept (it satisfies the ranges).
import sys

if "google.colab" in sys.modules:
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    "d2lhelpers @ git+{url}@{branch}"], check=True)'''


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def add_colab_setup(nb: dict, url: str, branch: str) -> dict:
    """Put the setup cell first (replacing an older one) and the Colab metadata in ``nb``."""
    cells = [c for c in nb["cells"] if c.get("id") != CELL_ID
             and "google.colab" not in "".join(c.get("source", []))]
    cell = {"cell_type": "code", "execution_count": None, "id": CELL_ID,
            "metadata": {"tags": list(TAGS)}, "outputs": [],
            "source": _lines(setup_cell_source(url, branch))}
    nb["cells"] = [cell, *cells]
    nb["metadata"].update({k: (dict(v) if isinstance(v, dict) else v)
                           for k, v in COLAB_METADATA.items()})
    nb["nbformat_minor"] = max(nb.get("nbformat_minor", 0), 5)  # cell ids need 4.5
    return nb


# ---------------------------------------------------------------- cleaning

def clean(nb: dict, repo: tuple[str, str] | None = None) -> dict:
    """Return a cleaned copy of a notebook dict (``repo``: Colab's (url, branch), default
    from ``_config.yml``)."""
    nb = add_colab_setup(json.loads(json.dumps(nb)), *(repo or repository()))
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
    """The notebook as stored in git (one-space indent, UTF-8 kept readable)."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.notebooks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    missing = [p for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"tools.notebooks: no such notebook: {', '.join(map(str, missing))} (give paths "
              "such as chapters/01-image-augmentation.ipynb, from the repository root)",
              file=sys.stderr)
        return 2
    dirty = []
    repo = repository()
    for path in args.notebooks:
        text = path.read_text(encoding="utf-8")
        try:
            nb = json.loads(text)
        except json.JSONDecodeError as err:
            print(f"tools.notebooks: {path} is not valid notebook JSON ({err}); restore it "
                  "from git or save it again in JupyterLab", file=sys.stderr)
            return 2
        cleaned = dumps(clean(nb, repo))
        if cleaned != text:
            dirty.append(path)
            if not args.check:
                path.write_text(cleaned, encoding="utf-8")
    for path in dirty:
        print(f"{path}: {'not clean (run make clean-notebooks)' if args.check else 'cleaned'}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())

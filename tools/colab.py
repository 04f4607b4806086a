"""Colab support for every notebook: a setup cell and the GPU runtime request.

The repository URL and branch come from one place, ``repository:`` in ``_config.yml``
(Jupyter Book's launch buttons use the same keys). Every notebook starts with the cell
:func:`setup_cell_source` writes: inside Google Colab it pip-installs the helper package
``d2lhelpers`` from that repository (its dependencies come along; Colab's own torch already
satisfies the ranges, so torch is not reinstalled); anywhere else it does nothing. The cell
is tagged ``remove-cell``, so the rendered book hides it. The notebook metadata asks Colab
for a GPU runtime. ``tools/clean_notebooks.py`` applies all this (``make clean-notebooks``),
and its ``--check`` (run by the tests) fails on a notebook without it.
"""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "colab-setup"
TAGS = ["remove-cell"]
# Colab's notebook metadata for "Runtime > Change runtime type > T4 GPU"
COLAB_METADATA = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}


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


def apply(nb: dict, url: str, branch: str) -> dict:
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

"""Where data, caches and results live."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_root", "demo_root", "project_root", "results_root"]


def data_root() -> Path:
    """Root folder for datasets and weights: ``$D2L_DATA_DIR`` or ``~/.cache/d2l-cv``."""
    env = os.environ.get("D2L_DATA_DIR")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "d2l-cv"
    root.mkdir(parents=True, exist_ok=True)
    return root


def demo_root(root: str | os.PathLike | None = None) -> Path:
    """Where demo data and demo weights are generated: ``root``, else ``data_root()/"demo"``."""
    return Path(root).expanduser() if root is not None else data_root() / "demo"


def project_root(start: str | os.PathLike | None = None) -> Path | None:
    """The book's checkout (the folder holding ``_toc.yml``) above ``start``, if any."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return None


def results_root() -> Path:
    """``$D2L_RESULTS_DIR``, else ``results/`` in the book's checkout, else ``./results``."""
    env = os.environ.get("D2L_RESULTS_DIR")
    if env:
        return Path(env).expanduser()
    root = project_root()
    return (root if root is not None else Path.cwd()) / "results"

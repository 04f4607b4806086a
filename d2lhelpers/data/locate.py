"""Where each dataset comes from: the one function that finds (or makes) a dataset's folder.

Full mode downloads the real archive once (SHA-1 verified, :mod:`d2lhelpers.download`)
and extracts it once (a marker records a finished extraction); demo mode generates the
synthetic set of the same layout (:mod:`d2lhelpers.demodata`) with the notebook's demo
preset. Both return the same folder of the dataset, so the reader that follows is the
same code in both modes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..demodata import (make_banana_demo, make_cifar10_demo, make_hotdog_demo,
                        make_kaggle_cifar10_demo, make_kaggle_dog_demo, make_voc_demo)
from ..download import download_extract
from ..mode import resolve_mode

__all__ = ["SOURCES", "DataSource", "dataset_folder"]


@dataclass(frozen=True)
class DataSource:
    """How one dataset is found in each mode.

    ``download``: the registry name of its archive (full mode); ``subfolder``: the
    dataset's folder inside the extracted one (e.g. ``VOC2012`` inside ``VOCdevkit``);
    ``demo``: the generator that writes the demo set under a root and returns the same
    folder.
    """

    download: str
    demo: Callable[..., Path]
    subfolder: str | None = None


SOURCES: dict[str, DataSource] = {
    "cifar10": DataSource("cifar10", make_cifar10_demo),                 # cifar-10-batches-py
    "hotdog": DataSource("hotdog", make_hotdog_demo),                    # hotdog/{train,test}
    "banana-detection": DataSource("banana-detection", make_banana_demo),
    "voc2012": DataSource("voc2012", make_voc_demo, subfolder="VOC2012"),
    "kaggle-cifar10": DataSource("cifar10_tiny", make_kaggle_cifar10_demo),
    "kaggle-dog": DataSource("dog_tiny", make_kaggle_dog_demo),
}


def dataset_folder(name: str, mode: str = "auto", root: str | os.PathLike | None = None,
                   **demo: Any) -> Path:
    """The folder of dataset ``name`` (one of :data:`SOURCES`) for ``mode``.

    ``mode`` goes through :func:`~d2lhelpers.mode.resolve_mode` (``"auto"``, ``"demo"``
    or ``"full"``). Full mode: download and extract once under ``root`` (default
    ``data_root()``); without network it raises
    :class:`~d2lhelpers.download.DownloadError` saying what to do. Demo mode: generate
    the synthetic set under ``root`` (default ``demo_root()``) with the keyword
    arguments ``demo`` (the notebook's demo preset, e.g. ``n_train=500``), which full
    mode ignores, so a notebook passes its preset in both modes.
    """
    if name not in SOURCES:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(SOURCES)}")
    source = SOURCES[name]
    root = None if root is None else Path(root).expanduser()
    if resolve_mode(mode) == "demo":
        return source.demo(root, **demo)
    folder = download_extract(source.download, root)
    return folder / source.subfolder if source.subfolder else folder

"""The demo pretraining task: classify the fourteen synthetic shapes.

A network pretrained on it (:func:`~d2lhelpers.pretrained.demo_source_model`) learns
generic shape features that transfer to the demo target tasks, which differ from it.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..fileio import build_once
from ..paths import demo_root
from .draw import write_image_folder
from .objects import SOURCE_CLASSES, render_shape

__all__ = ["make_shapes_source_demo"]

_VERSION = 1     # bump when the drawings change, so that old caches are not reused


def make_shapes_source_demo(root: str | os.PathLike | None = None, n_per_class: int = 150,
                            size: int = 64, seed: int = 0) -> Path:
    """Write ``shapes-source/train/<class>/<i>.png`` (ImageFolder layout, ``size`` x
    ``size``, ``n_per_class`` per class of :data:`SOURCE_CLASSES`) and return the
    ``shapes-source`` folder, under ``<root>/shapes-v<version>-<n_per_class>x<size>-seed<seed>``
    (default root :func:`~d2lhelpers.paths.demo_root`)."""
    target = demo_root(root) / f"shapes-v{_VERSION}-{n_per_class}x{size}-seed{seed}"

    def build(tmp: Path) -> None:
        write_image_folder(tmp / "shapes-source" / "train",
                           {c: n_per_class for c in SOURCE_CLASSES},
                           lambda kind, rng: render_shape(kind, size, rng), [seed])

    return build_once(target, build) / "shapes-source"

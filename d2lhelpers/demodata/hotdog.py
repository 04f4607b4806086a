"""The hot-dog demo set: hot dogs and other foods in the ImageFolder layout of the real set."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..fileio import build_once
from ..paths import demo_root
from .draw import write_image_folder
from .foods import FOOD_KINDS
from .objects import render_shape

__all__ = ["make_hotdog_demo"]

_VERSION = 1     # bump when the drawings change, so that old caches are not reused


def _food_image(name: str, rng: np.random.Generator) -> Image.Image:
    w = int(rng.integers(64, 161))
    h = int(np.clip(round(w * rng.uniform(0.6, 1.7)), 64, 160))
    kind = "hotdog" if name == "hotdog" else FOOD_KINDS[rng.integers(1, len(FOOD_KINDS))]
    return render_shape(kind, (w, h), rng, scale=(0.32, 0.48), shift=0.12)


def make_hotdog_demo(root: str | os.PathLike | None = None, n_train: int = 300,
                     n_test: int = 100, seed: int = 0) -> Path:
    """A hot-dog / not-hot-dog set in the layout of the real one; return its ``hotdog`` folder.

    Writes ``hotdog/{train,test}/{hotdog,not-hotdog}/<i>.png`` with ``n_train`` and
    ``n_test`` images per class (the real set has 1000 and 400), of varied sizes (sides
    64-160 px) and aspect ratios. Hot dogs (a bun with a sausage, often a sauce zigzag)
    and other foods (:data:`~d2lhelpers.demodata.foods.FOOD_KINDS` but ``"hotdog"``)
    share colours, so shape decides. The folder is
    ``<root>/hotdog-v<version>-<n_train>x<n_test>-seed<seed>/hotdog`` under ``root``
    (default :func:`~d2lhelpers.paths.demo_root`).
    """
    target = demo_root(root) / f"hotdog-v{_VERSION}-{n_train}x{n_test}-seed{seed}"

    def build(tmp: Path) -> None:
        for s, (split, n) in enumerate([("train", n_train), ("test", n_test)]):
            write_image_folder(tmp / "hotdog" / split, {"hotdog": n, "not-hotdog": n},
                               _food_image, [seed, s])

    return build_once(target, build) / "hotdog"

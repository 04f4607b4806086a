"""The CIFAR-10 demo set: ten shape classes at 32x32, in CIFAR-10's python layout."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from ..fileio import build_once
from ..paths import demo_root
from .draw import balanced_labels
from .objects import CIFAR10_DEMO_CLASSES, render_shape

__all__ = ["make_cifar10_demo"]

_VERSION = 1     # bump when the drawings change, so that old caches are not reused


def make_cifar10_demo(root: str | os.PathLike | None = None, n_train: int = 5000,
                      n_test: int = 1000, seed: int = 0) -> Path:
    """A 10-class 32x32 shape dataset in the layout of the CIFAR-10 python version.

    Writes ``cifar-10-batches-py/`` with ``data_batch_1`` .. ``data_batch_5`` (the
    training images, balanced over :data:`CIFAR10_DEMO_CLASSES` and split over the five
    batches), ``test_batch`` and ``batches.meta``, pickled like the real files, and
    returns that ``cifar-10-batches-py`` folder, under
    ``<root>/cifar10-v<version>-<n_train>x<n_test>-seed<seed>`` (default root
    :func:`~d2lhelpers.paths.demo_root`).
    """
    if n_train < 5 or n_test < 1:
        raise ValueError(f"need n_train >= 5 (five batches) and n_test >= 1, got {n_train}, {n_test}")
    target = demo_root(root) / f"cifar10-v{_VERSION}-{n_train}x{n_test}-seed{seed}"
    classes = list(CIFAR10_DEMO_CLASSES)

    def batch(rng: np.random.Generator, labels: np.ndarray, label: str, first: int) -> dict:
        data = np.stack([np.asarray(render_shape(classes[y], 32, rng)).transpose(2, 0, 1).ravel()
                         for y in labels])
        names = [f"{classes[y]}_s_{first + i:06d}.png" for i, y in enumerate(labels)]
        return {"batch_label": label, "labels": [int(y) for y in labels], "data": data,
                "filenames": names}

    def build(tmp: Path) -> None:
        folder = tmp / "cifar-10-batches-py"
        folder.mkdir()
        rng = np.random.default_rng([seed, 0])
        parts = np.array_split(balanced_labels(n_train, 10, rng), 5)
        entries = {f"data_batch_{i + 1}": batch(rng, labels, f"training batch {i + 1} of 5",
                                                sum(map(len, parts[:i])))
                   for i, labels in enumerate(parts)}
        rng = np.random.default_rng([seed, 1])
        entries["test_batch"] = batch(rng, balanced_labels(n_test, 10, rng),
                                      "testing batch 1 of 1", n_train)
        entries["batches.meta"] = {"num_cases_per_batch": len(parts[0]), "label_names": classes,
                                   "num_vis": 3072}
        for name, entry in entries.items():
            with open(folder / name, "wb") as f:
                pickle.dump(entry, f, protocol=2)

    return build_once(target, build) / "cifar-10-batches-py"

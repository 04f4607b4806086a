"""CIFAR-10 in its python layout (``cifar-10-batches-py/``), real or demo.

Full mode downloads the real archive from its own site through the book's registry
(SHA-1 and MD5 verified, extracted once); demo mode generates synthetic shapes in the
same layout (:func:`~d2lhelpers.demodata.cifar10.make_cifar10_demo`). Either way
:class:`CIFAR10Pickles` reads them.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torchvision
from PIL import Image

from .locate import dataset_folder

__all__ = ["CIFAR10Pickles", "load_cifar10"]


class CIFAR10Pickles(torchvision.datasets.VisionDataset):
    """CIFAR-10 read from its python layout ``<root>/cifar-10-batches-py/``.

    Items and attributes match :class:`torchvision.datasets.CIFAR10` (``data`` is an
    ``(N, 32, 32, 3)`` uint8 array, ``targets`` a list of ints, items are
    ``(PIL.Image, int)``), but there is no download and no MD5 check, so the synthetic
    demo files (:func:`~d2lhelpers.demodata.cifar10.make_cifar10_demo`) load as well as
    the real ones (which :func:`load_cifar10` verifies before reading them with this class).
    """

    base_folder = "cifar-10-batches-py"
    train_list = [f"data_batch_{i}" for i in range(1, 6)]
    test_list = ["test_batch"]
    meta_file = "batches.meta"

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        super().__init__(Path(root).expanduser(), transform=transform,
                         target_transform=target_transform)
        self.train = train
        data, self.targets = [], []
        for name in self.train_list if train else self.test_list:
            entry = self._load(name)
            array = np.asarray(entry.get("data"))
            if array.ndim != 2 or array.shape[1] != 3 * 32 * 32 or len(entry.get("labels", ())) != len(array):
                raise ValueError(
                    f"{Path(self.root) / self.base_folder / name} is not a CIFAR-10 batch: its "
                    f"'data' must be (images, 3072) (3 x 32 x 32 values per image, one row each) "
                    f"with one label per row, found {array.shape} and "
                    f"{len(entry.get('labels', ()))} labels; download it again")
            data.append(array)
            self.targets.extend(int(y) for y in entry["labels"])
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        self.classes = list(self._load(self.meta_file)["label_names"])
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _load(self, name: str) -> dict[str, Any]:
        path = Path(self.root) / self.base_folder / name
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: {self.root} should hold the CIFAR-10 python layout "
                f"{self.base_folder}/ (data_batch_1..5, test_batch, batches.meta). Use "
                "load_cifar10('full', ...) to download the real set, extract "
                f"cifar-10-python.tar.gz into {self.root}, or use load_cifar10('demo', ...) "
                "for the synthetic demo set.")
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = Image.fromarray(self.data[index]), self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


def load_cifar10(mode: str = "auto", train: bool = True, transform: Callable | None = None,
                 root: str | os.PathLike | None = None, **demo: Any) -> CIFAR10Pickles:
    """The CIFAR-10 training or test set as a :class:`CIFAR10Pickles`.

    The files come from :func:`~d2lhelpers.data.locate.dataset_folder` (``"cifar10"``):
    in full mode the real set, downloaded and verified once under ``root`` (default
    ``data_root()``); in demo mode the synthetic shape set, generated with ``demo``'s
    arguments under ``root`` (default ``demo_root()``).
    """
    folder = dataset_folder("cifar10", mode, root, **demo)   # .../cifar-10-batches-py
    return CIFAR10Pickles(folder.parent, train=train, transform=transform)

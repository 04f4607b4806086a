"""Dataset readers shared by full and demo mode.

Full mode fetches and verifies the real files; demo mode generates synthetic ones in the
same layout (:mod:`d2lhelpers.demodata`). Either way the same reader then loads them.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torchvision
from PIL import Image, UnidentifiedImageError

from .demodata import make_cifar10_demo, make_hotdog_demo
from .mode import resolve_mode
from .paths import data_root

__all__ = ["CIFAR10Pickles", "hotdog_folder", "load_cifar10", "read_rgb"]


def read_rgb(path: str | os.PathLike) -> torch.Tensor:
    """The image at ``path`` as a uint8 RGB tensor ``(3, H, W)`` (banana and VOC readers).

    Decoded with Pillow: torchvision 0.29 deprecates its own image decoders
    (``torchvision.io.decode_image`` warns on every call); the result is the same tensor
    that ``decode_image(path, mode=ImageReadMode.RGB)`` gives. An unreadable file is a
    ValueError naming it.
    """
    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"{path} is not a readable image: {e}") from e
    # HWC -> CHW copied by numpy: torch's multi-threaded copy costs more than it saves
    # on images this small, and a loader worker should use one core anyway
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


class CIFAR10Pickles(torchvision.datasets.VisionDataset):
    """CIFAR-10 read from its python layout ``<root>/cifar-10-batches-py/``.

    Items and attributes match :class:`torchvision.datasets.CIFAR10` (``data`` is an
    ``(N, 32, 32, 3)`` uint8 array, ``targets`` a list of ints, items are
    ``(PIL.Image, int)``), but there is no download and no MD5 check, so the synthetic
    demo files (:func:`~d2lhelpers.demodata.make_cifar10_demo`) load as well as the real
    ones (which :func:`load_cifar10` verifies before reading them with this class).
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
            data.append(entry["data"])
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


def load_cifar10(mode: str, train: bool, transform: Callable | None = None,
                 root: str | os.PathLike | None = None) -> CIFAR10Pickles:
    """The CIFAR-10 training or test set as a :class:`CIFAR10Pickles`.

    ``mode`` goes through :func:`~d2lhelpers.mode.resolve_mode`. Full mode lets
    :class:`torchvision.datasets.CIFAR10` download (once) and MD5-verify the real files
    under ``root`` (default ``data_root()``); demo mode generates the synthetic shape set
    under ``root`` (default ``data_root()/"demo"``). Both are then read the same way.
    """
    if resolve_mode(mode) == "full":
        root = Path(root).expanduser() if root is not None else data_root()
        try:
            torchvision.datasets.CIFAR10(root, train=train, download=True)
        except (OSError, RuntimeError) as e:
            raise RuntimeError(
                f"could not download or verify CIFAR-10 in {root} ({e}). No network? Place "
                f"cifar-10-python.tar.gz (from {torchvision.datasets.CIFAR10.url}) in {root} "
                "and run again, or use demo mode (mode='demo' or D2L_MODE=demo).") from e
    else:
        root = make_cifar10_demo(root)
    return CIFAR10Pickles(root, train=train, transform=transform)


def hotdog_folder(mode: str, root: str | os.PathLike | None = None) -> Path:
    """The ``hotdog`` folder (``train/`` and ``test/`` in ImageFolder layout).

    Full mode downloads and verifies the real set once (under ``root``, default
    ``data_root()``); demo mode generates the synthetic one (default root
    ``data_root()/"demo"``). Read it with ``torchvision.datasets.ImageFolder(folder/"train")``.
    """
    if resolve_mode(mode) == "full":
        from .download import download_extract
        return download_extract("hotdog", None if root is None else Path(root).expanduser())
    return make_hotdog_demo(root)

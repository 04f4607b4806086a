"""The banana detection dataset: one banana per image, one box per banana.

The real set (``banana-detection.zip``) holds 1000 training and 100 validation images of
256 x 256 pixels in ``banana-detection/bananas_{train,val}/``, each folder with
``images/<i>.png`` and a ``label.csv`` of columns ``img_name,label,xmin,ymin,xmax,ymax``
(label 0 = banana, box corners in pixels). Demo mode generates a synthetic set in the same
layout (:func:`~d2lhelpers.demodata.banana.make_banana_demo`); the same reader loads either.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from .images import read_rgb
from .loaders import data_loader
from .locate import dataset_folder

__all__ = ["BANANA_COLUMNS", "BananasDataset", "banana_image", "banana_split_dir",
           "check_banana_images", "load_bananas", "read_banana_labels", "read_bananas"]

BANANA_COLUMNS = ("img_name", "label", "xmin", "ymin", "xmax", "ymax")


def banana_split_dir(data_dir: str | os.PathLike, is_train: bool) -> Path:
    """``bananas_train`` (or ``bananas_val``) inside the ``banana-detection`` folder."""
    return Path(data_dir).expanduser() / ("bananas_train" if is_train else "bananas_val")


def read_banana_labels(csv_file: Path) -> pd.DataFrame:
    """``label.csv`` as a DataFrame, checked: the six columns, numbers, sane boxes."""
    if not csv_file.is_file():
        raise FileNotFoundError(
            f"{csv_file} is missing: a banana-detection split folder holds label.csv "
            f"(columns {','.join(BANANA_COLUMNS)}) and images/. Use dataset_folder("
            "'banana-detection', 'full') to download the real set or dataset_folder("
            "'banana-detection', 'demo') for the synthetic one.")
    try:
        with warnings.catch_warnings():   # rows longer than the header: an error, not a warning
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(csv_file, index_col=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError,
            UnicodeDecodeError) as e:
        raise ValueError(f"{csv_file} is not a readable CSV file: {e}") from e
    if tuple(table.columns) != BANANA_COLUMNS:
        raise ValueError(f"{csv_file} has the columns {','.join(map(str, table.columns))}; "
                         f"expected {','.join(BANANA_COLUMNS)}")
    if table.empty:
        raise ValueError(f"{csv_file} lists no images")
    numbers = table[list(BANANA_COLUMNS[1:])]
    bad = [c for c, t in numbers.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if bad or numbers.isna().any().any():
        bad = bad or [c for c in numbers if numbers[c].isna().any()]
        raise ValueError(f"{csv_file}: the columns {bad} must hold numbers (pixels), "
                         "with no empty cells")
    broken = table[(table.xmin >= table.xmax) | (table.ymin >= table.ymax)
                   | (table[["xmin", "ymin"]] < 0).any(axis=1)]
    if len(broken):
        raise ValueError(f"{csv_file}: rows with xmin >= xmax, ymin >= ymax or negative "
                         f"corners, e.g. image {broken.img_name.iloc[0]!r}")
    return table


def banana_image(folder: Path, name: str) -> torch.Tensor:
    """Decode ``images/<name>`` of a split ``folder`` as uint8 ``(3, H, W)``; a missing
    file is an error naming the ``label.csv`` that lists it."""
    path = folder / "images" / str(name)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {folder / 'label.csv'} lists it as {name!r}")
    return read_rgb(path)


def check_banana_images(folder: Path, table: pd.DataFrame, images: list[torch.Tensor]
                        ) -> tuple[int, int]:
    """``(height, width)`` shared by all ``images`` of the split ``folder``; raise, naming
    the files, when the sizes differ or a box of ``table`` reaches beyond the images."""
    height, width = images[0].shape[1:]
    for name, image in zip(table.img_name, images):
        if image.shape[1:] != images[0].shape[1:]:
            raise ValueError(f"{folder / 'images' / str(name)} is {tuple(image.shape[1:])} "
                             f"(H, W) but {folder / 'images' / str(table.img_name.iloc[0])} is "
                             f"{(height, width)}; all images must have one size")
    too_far = table[(table.xmax > width) | (table.ymax > height)]
    if len(too_far):
        raise ValueError(f"{folder / 'label.csv'}: boxes reach beyond the {width}x{height} "
                         f"images, e.g. image {too_far.img_name.iloc[0]!r}")
    return height, width


# export: chapters/06-banana-dataset.ipynb
def read_bananas(data_dir: str | os.PathLike, is_train: bool = True
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one split of the banana set: ``(images, targets)``.

    ``data_dir`` is the ``banana-detection`` folder (``dataset_folder('banana-detection')``).
    ``images`` is a uint8 tensor ``(N, 3, H, W)`` in the order of ``label.csv``;
    ``targets`` is float32 ``(N, 1, 5)``: per image one object ``[label, xmin, ymin,
    xmax, ymax]`` with x divided by the width and y by the height (both 256 in the real
    set), so corners lie in [0, 1]. A missing or malformed ``label.csv``, a missing image
    or images of different sizes raise an error naming the file.
    """
    folder = banana_split_dir(data_dir, is_train)
    table = read_banana_labels(folder / "label.csv")    # checked: columns, numbers, boxes
    images = [banana_image(folder, name) for name in table.img_name]
    height, width = check_banana_images(folder, table, images)
    values = torch.tensor(table[list(BANANA_COLUMNS[1:])].to_numpy(), dtype=torch.float32)
    # corners in pixels -> fractions of the width (x) and the height (y)
    values[:, 1:] /= torch.tensor([width, height, width, height], dtype=torch.float32)
    return torch.stack(images), values.unsqueeze(1)


# export: chapters/06-banana-dataset.ipynb
class BananasDataset(Dataset):
    """One split of the banana set as a Dataset of ``(image, target)`` pairs.

    As in the textbook, ``image`` is a float32 ``(3, H, W)`` tensor with values 0-255
    (divide by 255 to display it) and ``target`` a float32 ``(1, 5)`` tensor
    ``[[label, xmin, ymin, xmax, ymax]]`` with corners relative to the image size.
    All images are read into memory (uint8) when the dataset is made.
    """

    def __init__(self, data_dir: str | os.PathLike, is_train: bool = True) -> None:
        self.data_dir, self.is_train = Path(data_dir).expanduser(), is_train
        self.features, self.labels = read_bananas(self.data_dir, is_train)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features[idx].float(), self.labels[idx]

    def __len__(self) -> int:
        return len(self.features)

    def __repr__(self) -> str:
        split = "training" if self.is_train else "validation"
        h, w = self.features.shape[2:]
        return f"BananasDataset({len(self)} {split} images of {w}x{h}, from {self.data_dir})"


# export: chapters/06-banana-dataset.ipynb
def load_bananas(mode: str, batch_size: int, root: str | os.PathLike | None = None,
                 **demo: Any) -> tuple[DataLoader, DataLoader]:
    """``(train_iter, val_iter)``: DataLoaders over the training and validation splits.

    The training loader shuffles, the validation loader keeps the file order. Batches are
    ``(images, targets)`` of shapes ``(batch, 3, H, W)`` (float32, 0-255) and
    ``(batch, 1, 5)``; in full mode H = W = 256. ``mode``, ``root`` and ``demo`` are as in
    :func:`~d2lhelpers.data.locate.dataset_folder`.
    """
    folder = dataset_folder("banana-detection", mode, root, **demo)
    train_iter = data_loader(BananasDataset(folder, is_train=True), batch_size, shuffle=True)
    val_iter = data_loader(BananasDataset(folder, is_train=False), batch_size, shuffle=False)
    return train_iter, val_iter

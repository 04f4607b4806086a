"""Pascal VOC2012 semantic segmentation: colour <-> class, a lazy reader and loaders.

The real set (``VOCtrainval_11-May-2012.tar``) extracts to ``VOCdevkit/VOC2012/`` with
``JPEGImages/<name>.jpg`` (RGB photos), ``SegmentationClass/<name>.png`` (the labels, palette
images whose index is the class, 255 = void: :mod:`~d2lhelpers.data.voc_classes`) and
``ImageSets/Segmentation/{train,val}.txt`` (one name per line; 1464 and 1449 names).

:class:`VOCSegDataset` decodes nothing up front: making it reads only the file headers
(sizes, label mode) to drop examples smaller than the crop, and each item decodes one
image and its label, crops both at the same place and normalises the image. Demo mode
generates a synthetic set in the same layout (:func:`~d2lhelpers.demodata.voc.make_voc_demo`),
read by the same code.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from ..checks import check_crop_size
from ..pretrained import IMAGENET_MEAN, IMAGENET_STD
from .images import image_header, read_rgb
from .loaders import data_loader
from .locate import dataset_folder
from .voc_classes import VOC_CLASSES, VOC_COLORMAP, VOC_PALETTE, VOC_VOID_COLOR, VOID_INDEX

__all__ = ["VOCSegDataset", "check_voc_sizes", "label2image", "load_voc", "palette_error",
           "read_voc_example", "read_voc_label", "voc_colormap2label",
           "voc_example_headers", "voc_example_paths", "voc_label_indices",
           "voc_normalize", "voc_split", "voc_split_file", "voc_split_names"]


# ------------------------------------------------------------------- colour <-> class

# export: chapters/09-semantic-segmentation.ipynb
def voc_colormap2label() -> tuple[torch.Tensor, torch.Tensor]:
    """The colour -> class lookup: sorted colour codes and the class of each.

    A colour (r, g, b) is coded as the integer ``(r * 256 + g) * 256 + b``. The 21 class
    colours map to 0-20 and the void colour (224, 224, 192) to 255: 22 entries, where a
    table indexed by every possible code would hold 256**3 int64 values (134 MB).
    """
    colours = torch.tensor(VOC_COLORMAP + [VOC_VOID_COLOR], dtype=torch.int64)
    codes = (colours[:, 0] * 256 + colours[:, 1]) * 256 + colours[:, 2]
    classes = torch.tensor(list(range(len(VOC_COLORMAP))) + [VOID_INDEX])
    order = torch.argsort(codes)
    return codes[order], classes[order]


# export: chapters/09-semantic-segmentation.ipynb
def voc_label_indices(colormap: torch.Tensor,
                      colormap2label: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Class indices ``(H, W)`` (int64) of a label drawn in colours, ``(3, H, W)`` uint8 RGB.

    Every pixel's colour code is looked up in the sorted codes of
    :func:`voc_colormap2label` by binary search (``torch.searchsorted``). A colour that is
    neither a class colour nor the void colour is an error: mapping it to 0 would
    silently turn it into background.
    """
    if colormap.dim() != 3 or colormap.shape[0] != 3:
        raise ValueError(f"colormap must be an RGB image (3, H, W), got {tuple(colormap.shape)}")
    codes, classes = colormap2label
    rgb = colormap.to(torch.int64)
    code = (rgb[0] * 256 + rgb[1]) * 256 + rgb[2]
    pos = torch.searchsorted(codes, code).clamp_(max=len(codes) - 1)
    known = codes[pos] == code
    if not bool(known.all()):
        y, x = (~known).nonzero()[0].tolist()
        raise ValueError(f"pixel (row {y}, column {x}) has the colour "
                         f"{tuple(colormap[:, y, x].tolist())}, which is neither one of the "
                         f"21 VOC class colours nor the void colour {tuple(VOC_VOID_COLOR)}")
    return classes[pos]


# export: chapters/09-semantic-segmentation.ipynb
def label2image(label: torch.Tensor) -> torch.Tensor:
    """Colour a label map: class indices ``(..., H, W)`` -> uint8 RGB ``(..., H, W, 3)``.

    Classes get their :data:`VOC_COLORMAP` colour and void (255) its colour 224, 224, 192.
    """
    return VOC_PALETTE.to(label.device)[label.long()]


# ---------------------------------------------------------------------------- reading

def voc_split_file(voc_dir: Path, is_train: bool) -> Path:
    """``ImageSets/Segmentation/train.txt`` (or ``val.txt``) of ``voc_dir``."""
    return voc_dir / "ImageSets" / "Segmentation" / ("train.txt" if is_train else "val.txt")


def voc_example_paths(voc_dir: Path, name: str) -> tuple[Path, Path]:
    """The photo ``JPEGImages/<name>.jpg`` and label ``SegmentationClass/<name>.png``."""
    return voc_dir / "JPEGImages" / f"{name}.jpg", voc_dir / "SegmentationClass" / f"{name}.png"


def palette_error(path: Path, mode: str) -> ValueError:
    """The error for a label file that is not a palette PNG (mode ``mode``)."""
    return ValueError(
        f"{path} is a {mode!r}-mode image, not a palette ('P') PNG. VOC label PNGs store "
        "the class index of each pixel (255 = void) as a palette index; a label saved in "
        "colours must be converted first (voc_label_indices maps colours to classes).")


# export: chapters/09-semantic-segmentation.ipynb
def read_voc_label(path: str | os.PathLike) -> torch.Tensor:
    """The label PNG at ``path`` as class indices: a uint8 tensor ``(H, W)``, void = 255.

    The palette index of each pixel *is* its class, so no colour is looked at. A label
    that is not a palette image, or that holds an index other than 0-20 and 255, is an
    error naming the file.
    """
    try:
        with Image.open(path) as img:
            if img.mode != "P":
                raise palette_error(Path(path), img.mode)
            label = np.asarray(img)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"{path} is not a readable PNG: {e}") from e
    bad = (label >= len(VOC_CLASSES)) & (label != VOID_INDEX)
    if bad.any():
        y, x = np.argwhere(bad)[0]
        raise ValueError(f"{path}: pixel (row {y}, column {x}) has the index {label[y, x]}; "
                         f"VOC labels hold 0-{len(VOC_CLASSES) - 1} and {VOID_INDEX} (void)")
    return torch.from_numpy(label.copy())


def read_voc_example(voc_dir: str | os.PathLike, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode example ``name``: ``(image (3, H, W) uint8, label (H, W) uint8)``."""
    voc_dir = Path(voc_dir).expanduser()
    image_path, label_path = voc_example_paths(voc_dir, name)
    image, label = read_rgb(image_path), read_voc_label(label_path)
    check_voc_sizes(voc_dir, name, tuple(image.shape[1:]), tuple(label.shape))
    return image, label


def voc_split_names(voc_dir: Path, is_train: bool) -> tuple[Path, list[str]]:
    """The split's list file and the image names it lists (checked: it exists, not empty)."""
    split_file = voc_split_file(voc_dir, is_train)
    if not split_file.is_file():
        raise FileNotFoundError(
            f"{split_file} is missing: {voc_dir} should be a VOCdevkit/VOC2012 folder with "
            "ImageSets/Segmentation/{train,val}.txt, JPEGImages/ and SegmentationClass/. "
            "dataset_folder('voc2012', 'full') downloads the real set, dataset_folder('voc2012', "
            "'demo') makes a synthetic one.")
    names = split_file.read_text(encoding="utf-8").split()
    if not names:
        raise ValueError(f"{split_file} lists no images")
    return split_file, names


def voc_example_headers(voc_dir: Path, name: str, split_file: Path
                        ) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((width, height) of the photo, (width, height) of the label)`` of example ``name``,
    read from the file headers only (:func:`~d2lhelpers.data.images.image_header`).

    Checked on the way: both files exist (``split_file`` is named as the list that asked for
    them), both headers are readable and the label is a palette PNG.
    """
    image_path, label_path = voc_example_paths(voc_dir, name)
    for path in (image_path, label_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: {split_file} lists {name!r}")
    try:
        image_size, _ = image_header(image_path, "JPEG")
        label_size, label_mode = image_header(label_path, "PNG")
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"cannot read the header of {name!r} ({image_path} or "
                         f"{label_path}): {e}") from e
    if label_mode != "P":
        raise palette_error(label_path, label_mode)
    return image_size, label_size


def check_voc_sizes(voc_dir: Path, name: str, image_hw: tuple[int, int],
                    label_hw: tuple[int, int]) -> None:
    """Raise, naming both files, unless example ``name``'s photo and label are both
    ``(height, width)`` = ``image_hw`` = ``label_hw``."""
    if tuple(image_hw) != tuple(label_hw):
        image_path, label_path = voc_example_paths(voc_dir, name)
        raise ValueError(f"{label_path} is {tuple(label_hw)} (H, W) but {image_path} is "
                         f"{tuple(image_hw)}; an image and its label must be the same size")


# export: chapters/09-semantic-segmentation.ipynb
def voc_split(voc_dir: str | os.PathLike, is_train: bool = True
              ) -> tuple[list[str], list[tuple[int, int]]]:
    """Names and ``(height, width)`` sizes of a split, from the file headers only.

    Reads ``ImageSets/Segmentation/{train,val}.txt`` and opens each photo and label just
    far enough to learn its size and mode (no pixel is decoded). A missing file, a label
    that is not a palette PNG or a label whose size differs from its photo's is an error
    naming the file (the checks live in the helpers called here).
    """
    voc_dir = Path(voc_dir).expanduser()
    split_file, names = voc_split_names(voc_dir, is_train)
    sizes = []
    for name in names:
        (width, height), (label_w, label_h) = voc_example_headers(voc_dir, name, split_file)
        check_voc_sizes(voc_dir, name, (height, width), (label_h, label_w))
        sizes.append((height, width))
    return names, sizes


def voc_normalize(image: torch.Tensor) -> torch.Tensor:
    """uint8 RGB ``(..., 3, H, W)`` -> float32 scaled to [0, 1] and normalised per channel."""
    mean = torch.tensor(IMAGENET_MEAN, device=image.device).reshape(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=image.device).reshape(3, 1, 1)
    return (image.float() / 255 - mean) / std


# export: chapters/09-semantic-segmentation.ipynb
class VOCSegDataset(Dataset):
    """One split of VOC2012 segmentation as ``(image, label)`` crops, decoded lazily.

    ``crop_size`` is ``(height, width)``. Making the dataset reads only file headers and
    drops the examples smaller than the crop; each item then decodes one photo and its
    label, crops both at the same place (at random when ``random_crop``, which defaults
    to ``is_train``; else the centre, so evaluation sees the same pixels every time)
    and normalises the photo. Items are a float32 ``(3, h, w)`` image and an int64
    ``(h, w)`` label of class indices in which void stays 255.
    """

    def __init__(self, is_train: bool, crop_size: Sequence[int], voc_dir: str | os.PathLike,
                 random_crop: bool | None = None) -> None:
        self.voc_dir, self.is_train = Path(voc_dir).expanduser(), is_train
        self.crop_size = check_crop_size(crop_size)
        self.random_crop = is_train if random_crop is None else random_crop
        names, sizes = voc_split(self.voc_dir, is_train)
        h, w = self.crop_size
        self.names = [n for n, (height, width) in zip(names, sizes) if height >= h and width >= w]
        if not self.names:
            raise ValueError(
                f"crop_size={self.crop_size} is larger than every image of "
                f"{voc_split_file(self.voc_dir, is_train)} (the largest height is "
                f"{max(s[0] for s in sizes)}, the largest width {max(s[1] for s in sizes)}); "
                "choose a smaller crop_size")
        crop = v2.RandomCrop(self.crop_size) if self.random_crop else v2.CenterCrop(self.crop_size)
        self.transform = v2.Compose([
            crop,  # one crop window for the image and its mask
            v2.ToDtype({tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64},
                       scale=True),  # image / 255; the mask keeps its values
            # normalises images only, never masks; in place, as ToDtype made a new tensor
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD, inplace=True)])

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = read_voc_example(self.voc_dir, self.names[idx])
        image, label = self.transform(tv_tensors.Image(image), tv_tensors.Mask(label))
        return image.as_subclass(torch.Tensor), label.as_subclass(torch.Tensor)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        split = "training" if self.is_train else "validation"
        crop = "random" if self.random_crop else "centre"
        return (f"VOCSegDataset({len(self)} {split} examples, {crop} crops of "
                f"{self.crop_size[0]}x{self.crop_size[1]}, from {self.voc_dir})")


# export: chapters/09-semantic-segmentation.ipynb
def load_voc(mode: str, batch_size: int, crop_size: Sequence[int],
             root: str | os.PathLike | None = None, **demo: Any
             ) -> tuple[DataLoader, DataLoader]:
    """``(train_iter, val_iter)`` over VOC2012 crops of ``crop_size`` = (height, width).

    Training batches are random crops, shuffled, the last incomplete batch dropped;
    validation batches are centre crops in file order, the same on every pass. ``mode``,
    ``root`` and ``demo`` are as in :func:`~d2lhelpers.data.locate.dataset_folder`.
    """
    voc_dir = dataset_folder("voc2012", mode, root, **demo)
    train_iter = data_loader(VOCSegDataset(True, crop_size, voc_dir), batch_size,
                             shuffle=True, drop_last=True)
    val_iter = data_loader(VOCSegDataset(False, crop_size, voc_dir), batch_size,
                           shuffle=False)
    return train_iter, val_iter

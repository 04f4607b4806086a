"""Reading image files into tensors."""
from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

__all__ = ["image_header", "read_rgb"]


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


def image_header(path: str | os.PathLike, fmt: str) -> tuple[tuple[int, int], str]:
    """``((width, height), mode)`` from a file's header, no pixels decoded.

    Telling Pillow the expected format (``"JPEG"``, ``"PNG"``) first makes this about
    three times faster than letting it try every format; a file in another format is
    still read.
    """
    try:
        with Image.open(path, formats=[fmt]) as img:
            return img.size, img.mode
    except UnidentifiedImageError:
        with Image.open(path) as img:
            return img.size, img.mode

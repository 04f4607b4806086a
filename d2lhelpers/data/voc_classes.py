"""Pascal VOC2012's classes and colours: the 21 class names, the colour of each, the
256-entry palette of the label PNGs and the void label.

A label PNG is a *palette* image: each pixel stores an index into a 256-colour palette,
and that index is the class (0 = background, 1-20 the object classes) or 255 for the
void band drawn along object outlines and over ambiguous regions (shown in the RGB
colour 224, 224, 192). Void is neither background nor an object: it is ignored by the
loss and the metrics, and kept as 255 everywhere in this book.
"""
from __future__ import annotations

import torch

__all__ = ["VOC_CLASSES", "VOC_COLORMAP", "VOC_PALETTE", "VOC_VOID_COLOR", "VOID_INDEX",
           "voc_palette"]

VOC_CLASSES = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus",
               "car", "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike",
               "person", "potted plant", "sheep", "sofa", "train", "tv/monitor"]

VOC_COLORMAP = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128],
                [128, 0, 128], [0, 128, 128], [128, 128, 128], [64, 0, 0], [192, 0, 0],
                [64, 128, 0], [192, 128, 0], [64, 0, 128], [192, 0, 128], [64, 128, 128],
                [192, 128, 128], [0, 64, 0], [128, 64, 0], [0, 192, 0], [128, 192, 0],
                [0, 64, 128]]

VOID_INDEX = 255                    # the label of void pixels, ignored by loss and metrics
VOC_VOID_COLOR = [224, 224, 192]    # how void is drawn (palette entry 255)


def voc_palette() -> torch.Tensor:
    """The 256-entry palette of the VOC label PNGs as a uint8 tensor ``(256, 3)``.

    Entry ``i`` spreads the bits of ``i`` over the three channels, most significant
    first (bit 0 -> red, bit 1 -> green, bit 2 -> blue, then the next three bits one
    level lower); entries 0-20 are :data:`VOC_COLORMAP` and entry 255 is the void colour.
    """
    palette = torch.zeros(256, 3, dtype=torch.uint8)
    for i in range(256):
        c, rgb = i, [0, 0, 0]
        for level in range(8):
            for channel in range(3):
                rgb[channel] |= ((c >> channel) & 1) << (7 - level)
            c >>= 3
        palette[i] = torch.tensor(rgb, dtype=torch.uint8)
    return palette


VOC_PALETTE = voc_palette()

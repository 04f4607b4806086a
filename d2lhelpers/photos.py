"""Example photos with known objects, made from scikit-image's bundled photos (no download).

The anchor-box section labels and suppresses boxes around two objects; it shows them on
:func:`astronaut_and_cat`: the astronaut of ``skimage.data.astronaut()`` (a NASA photo, public
domain) and the cat of ``skimage.data.chelsea()`` (CC0), each pasted into its box.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["ASTRONAUT_AND_CAT_BOXES", "astronaut_and_cat"]

# normalised corners (x1, y1, x2, y2): the ground truth of the labelling example
ASTRONAUT_AND_CAT_BOXES = {"astronaut": (0.1, 0.08, 0.52, 0.92), "cat": (0.55, 0.2, 0.9, 0.88)}
# the part of each source photo that holds the object, (left, top, right, bottom) in pixels
_CROPS = {"astronaut": (20, 5, 355, 512), "cat": (150, 0, 350, 300)}


def astronaut_and_cat(width: int = 728, height: int = 561) -> Image.Image:
    """A ``width`` x ``height`` RGB photo of an astronaut and a cat on a plain studio grey:
    each object fills its box of :data:`ASTRONAUT_AND_CAT_BOXES` exactly."""
    from skimage import data

    sources = {"astronaut": data.astronaut(), "cat": data.chelsea()}
    canvas = Image.new("RGB", (width, height), (188, 186, 180))
    for name, (x1, y1, x2, y2) in ASTRONAUT_AND_CAT_BOXES.items():
        box = (round(x1 * width), round(y1 * height), round(x2 * width), round(y2 * height))
        piece = Image.fromarray(np.ascontiguousarray(sources[name])).crop(_CROPS[name])
        canvas.paste(piece.resize((box[2] - box[0], box[3] - box[1]), Image.LANCZOS), box[:2])
    return canvas

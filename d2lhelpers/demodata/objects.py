"""One object on a random background: the picture of every classification demo set.

The object is a geometric shape (:data:`~d2lhelpers.demodata.draw.SHAPE_KINDS`) or a
food (:data:`~d2lhelpers.demodata.foods.FOOD_KINDS`); classes differ by *shape*, while
position, scale, rotation, colours and background are random.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .draw import SHAPE_KINDS, SHAPES, SS, Canvas, Layer, ellipse, gradient_background, luma, placement
from .foods import FOOD_KINDS, FOODS

__all__ = ["CIFAR10_DEMO_CLASSES", "SOURCE_CLASSES", "render_shape"]

CIFAR10_DEMO_CLASSES = SHAPE_KINDS[:10]   # the ten classes of the CIFAR-10 demo sets
SOURCE_CLASSES = SHAPE_KINDS              # the demo pretraining task's classes


def render_shape(kind: str, size: int | tuple[int, int], rng: np.random.Generator, *,
                 scale: tuple[float, float] = (0.3, 0.45), shift: float = 0.2,
                 clutter: bool = True, noise: float = 10.0) -> Image.Image:
    """Draw one object of ``kind`` on a random background; return an RGB image.

    ``kind`` is a geometric shape (drawn in one random colour that contrasts with the
    background) or a food (with its own jittered palette, sometimes on a plate). ``size``
    is ``side`` or ``(width, height)``. The object gets a random rotation, a slight
    stretch, a radius of ``scale`` times the shorter side and a centre shifted by up to
    ``shift`` times the size from the middle; behind it come a gradient, optional
    ``clutter`` and Gaussian noise of up to ``noise`` grey levels.
    """
    w, h = (size, size) if isinstance(size, int) else size
    bg, bg_mean = gradient_background(w, h, rng)
    canvas = Canvas(bg)
    if clutter:
        canvas.clutter(rng)

    if kind in SHAPES:
        colour = rng.uniform(0, 255, 3)
        while abs(luma(colour) - luma(bg_mean)) < 60:
            colour = rng.uniform(0, 255, 3)
        layers: list[Layer] = [(tuple(int(v) for v in colour), SHAPES[kind], 0)]
    elif kind in FOODS:
        layers = FOODS[kind](rng)
        if rng.random() < 0.35:
            plate = tuple(int(v) for v in rng.integers(150, 256, 3))
            layers.insert(0, (plate, ellipse(0, 0, 1.35, rng.uniform(1.0, 1.35)), 0))
    else:
        raise ValueError(f"unknown kind {kind!r}; use one of {SHAPE_KINDS + FOOD_KINDS}")

    radius = SS * min(w, h) * rng.uniform(*scale)
    matrix = placement(radius, rng.uniform(0, 2 * np.pi), np.exp(rng.uniform(-0.15, 0.15)))
    centre = SS * np.array([w, h]) * (0.5 + rng.uniform(-shift, shift, 2))
    canvas.layers(layers, matrix, centre, radius)
    return canvas.finish(rng, noise)

"""The banana detection demo set, in the layout of the real ``banana-detection`` set.

One banana per image: a curved, tapering yellow band with a dark stem and a dark tip,
randomly placed, scaled, rotated and tinted, drawn over a gradient with texture and
clutter (lines, blobs and other shapes, some of them yellow, none of them banana-shaped).
Its box is computed from the drawn outline, so it is tight.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..fileio import build_once
from ..paths import demo_root
from .draw import SHAPES, SS, Canvas, Layer, ellipse, gradient_background, placement, \
    save_png, smooth_noise, tone

__all__ = ["make_banana_demo", "render_banana_scene"]

_VERSION = 1   # bump when the banana scenes change, so that old caches are not reused
_YELLOWS = ((236, 200, 52), (228, 186, 38), (214, 204, 72), (242, 176, 48), (222, 210, 96))
_NOT_BANANA = ("circle", "square", "triangle", "cross", "star", "ring", "diamond",
               "arrow", "heart", "hexagon", "lshape")


def _banana_layers(rng: np.random.Generator) -> list[Layer]:
    """Polygons of one banana in unit coordinates (about 2 wide), in painter's order.

    The body is a band around a circular arc whose half-thickness tapers towards the
    ends; a darker stripe along the inner side, a stem at one end and a dark tip at the
    other, sometimes a few brown speckles. Only filled polygons, so that the outline
    points bound everything drawn.
    """
    span = rng.uniform(1.3, 2.1)                       # arc angle in radians
    r_arc = 1.0 / np.sin(span / 2)                     # the chord is 2 long
    t = np.linspace(-span / 2, span / 2, 40)
    normal = np.stack([np.sin(t), -np.cos(t)], 1)      # outward from the arc's centre
    centre = r_arc * normal + [0, r_arc * np.cos(span / 2)]
    centre -= [0, centre[:, 1].min() / 2]              # centre the shape vertically
    u = t / (span / 2)                                 # -1 (tip) .. 1 (stem)
    half = (rng.uniform(0.17, 0.25) * np.cos(np.pi / 2 * u) ** 0.7 + 0.035) * (1 + 0.12 * u)
    outer, inner = centre + half[:, None] * normal, centre - half[:, None] * normal
    body = np.concatenate([outer, inner[::-1]])
    yellow = tone(rng, _YELLOWS[rng.integers(len(_YELLOWS))], 16)
    shade = tuple(int(v) for v in np.clip(np.multiply(yellow, [0.86, 0.84, 0.7]), 0, 255))
    stripe = np.concatenate([centre - 0.35 * half[:, None] * normal, inner[::-1]])
    layers: list[Layer] = [(yellow, body, 0), (shade, stripe[4:-4], 0)]

    tangent = np.array([np.cos(t[-1]), np.sin(t[-1])])
    n_end, end = normal[-1], centre[-1]
    w, length = rng.uniform(0.045, 0.065), rng.uniform(0.14, 0.24)
    stem = np.stack([end - w * n_end, end + w * n_end,
                     end + length * tangent + 0.75 * w * n_end,
                     end + length * tangent - 0.75 * w * n_end])
    layers.append((tone(rng, (96, 92, 40), 16), stem, 0))
    tip = tone(rng, (70, 50, 25), 12)
    layers.append((tip, ellipse(*centre[0], 0.045, 0.045, 12), 0))
    if rng.random() < 0.4:
        speckle = tone(rng, (120, 80, 30), 12)
        for i in rng.integers(8, 32, rng.integers(2, 7)):
            p = centre[i] + rng.uniform(-0.5, 0.5) * half[i] * normal[i]
            layers.append((speckle, ellipse(*p, 0.025, 0.02, 8), 0))
    return layers


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A gradient plus an optional smooth blotchy texture; backgrounds that are mostly
    banana-coloured are drawn again, so that the banana stays visible."""
    for _ in range(10):
        bg, _ = gradient_background(size, size, rng)
        if rng.random() < 0.5:   # low-frequency colour blotches
            cells = int(rng.integers(3, 9))
            bg += smooth_noise(size, size, cells, rng.uniform(15, 40), rng, channels=3)
        yellowish = np.linalg.norm(bg - _YELLOWS[0], axis=-1) < 70
        if yellowish.mean() < 0.25:
            break
    return bg


def _distractors(canvas: Canvas, size: int, rng: np.random.Generator) -> None:
    """0-4 filled shapes that are not banana-shaped, in random colours (a third yellow)."""
    for _ in range(rng.integers(0, 5)):
        kind = _NOT_BANANA[rng.integers(len(_NOT_BANANA))]
        if rng.random() < 0.33:
            colour = tone(rng, _YELLOWS[rng.integers(len(_YELLOWS))], 16)
        else:
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        radius = SS * size * rng.uniform(0.04, 0.12)
        matrix = placement(radius, rng.uniform(0, 2 * np.pi))
        centre = SS * size * rng.uniform(0, 1, 2)
        canvas.polygon(SHAPES[kind] @ matrix.T + centre, colour)


def render_banana_scene(size: int, rng: np.random.Generator, *, banana: bool = True,
                        scale: tuple[float, float] = (0.085, 0.17), noise: float = 8.0
                        ) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Draw one banana on a cluttered background; return ``(RGB image, box)``.

    ``box`` is ``(xmin, ymin, xmax, ymax)`` in pixels: the edges of the smallest pixel
    rectangle holding every drawn point of the banana (stem and tip included), so the
    banana covers ``image[ymin:ymax, xmin:xmax]``. The banana's half-length is ``scale``
    times ``size`` (a box side of about 0.15-0.4 of the image), its rotation is uniform,
    and it lies wholly inside the image. With ``banana=False`` the same random draws
    give the same scene without the banana (for tests: what the banana changed).
    """
    canvas = Canvas(_background(size, rng))
    canvas.clutter(rng)
    _distractors(canvas, size, rng)

    layers = _banana_layers(rng)
    radius = SS * size * rng.uniform(*scale)
    matrix = placement(radius, rng.uniform(0, 2 * np.pi), np.exp(rng.uniform(-0.1, 0.1)))
    pts = [p @ matrix.T for _, p, _ in layers]
    lo, hi = np.concatenate(pts).min(0), np.concatenate(pts).max(0)
    margin = SS                                        # keep one pixel clear of the border
    offset = rng.uniform(margin - lo, SS * size - margin - hi)
    if banana:
        for (colour, _, _), p in zip(layers, pts):
            canvas.polygon(p + offset, colour)
    xmin, ymin = (np.floor((lo + offset) / SS)).astype(int).tolist()
    xmax, ymax = (np.ceil((hi + offset) / SS)).astype(int).tolist()
    return canvas.finish(rng, noise), (xmin, ymin, xmax, ymax)


def make_banana_demo(root: str | os.PathLike | None = None, n_train: int = 500,
                     n_val: int = 100, size: int = 256, seed: int = 0) -> Path:
    """A banana detection set in the layout of the real one; return its ``banana-detection`` folder.

    Writes ``banana-detection/bananas_{train,val}/label.csv`` and ``images/<i>.png``
    (``size`` x ``size`` RGB, one banana each, :func:`render_banana_scene`), with
    ``label.csv`` holding the columns ``img_name,label,xmin,ymin,xmax,ymax`` (label 0 =
    banana, box in pixels) like the real set (1000 + 100 images of 256 x 256). The folder
    is ``<root>/bananas-v<version>-<n_train>x<n_val>-<size>px-seed<seed>/banana-detection``
    under ``root`` (default :func:`~d2lhelpers.paths.demo_root`).
    """
    if n_train < 1 or n_val < 1 or size < 32:
        raise ValueError(f"need n_train >= 1, n_val >= 1 and size >= 32, got {n_train}, {n_val}, {size}")
    target = demo_root(root) / f"bananas-v{_VERSION}-{n_train}x{n_val}-{size}px-seed{seed}"

    def build(tmp: Path) -> None:
        for s, (split, n) in enumerate([("bananas_train", n_train), ("bananas_val", n_val)]):
            folder = tmp / "banana-detection" / split
            (folder / "images").mkdir(parents=True)
            rng = np.random.default_rng([seed, 100 + s])
            rows = ["img_name,label,xmin,ymin,xmax,ymax"]
            for i in range(n):
                img, (x0, y0, x1, y1) = render_banana_scene(size, rng)
                save_png(img, folder / "images" / f"{i}.png")
                rows.append(f"{i}.png,0,{x0},{y0},{x1},{y1}")
            (folder / "label.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    return build_once(target, build) / "banana-detection"

"""The drawing toolkit every demo generator shares.

Outlines live in unit coordinates (an object fits roughly in the unit disc, y down) and
are placed on a picture by a 2x2 matrix (:func:`placement`: rotation, stretch, radius)
plus a centre. A :class:`Canvas` is drawn at :data:`SS` times its size and downsampled
with LANCZOS when finished, so edges are anti-aliased; coordinates given to a canvas are
in those supersampled pixels. Backgrounds are linear gradients (:func:`linear_gradient`),
optionally with smooth blotches (:func:`smooth_noise`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "SHAPES", "SHAPE_KINDS", "SS", "Canvas", "Layer", "annulus", "balanced_labels", "capsule",
    "crescent", "ellipse", "gradient_background", "heart", "linear_gradient", "luma",
    "placement", "poly", "regular_polygon", "save_png", "smooth_noise", "star", "tone",
    "write_image_folder",
]

SS = 4   # supersampling factor: draw at 4x, then downsample with LANCZOS

Layer = tuple[tuple[int, int, int], np.ndarray, float]   # (colour, points, line width or 0)


# ----------------------------------------------------------------------------- geometry

def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> np.ndarray:
    """``n`` points of an ellipse centred at (cx, cy) with radii rx, ry: ``(n, 2)``."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def annulus(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """One polygon for the region between two closed outlines (joined by a zero-width slit)."""
    return np.concatenate([outer, outer[:1], inner[:1], inner[::-1]])


def regular_polygon(n: int, r: float = 1.0) -> np.ndarray:
    """A regular ``n``-gon of circumradius ``r`` with a vertex at the top."""
    t = -np.pi / 2 + np.linspace(0, 2 * np.pi, n, endpoint=False)
    return r * np.stack([np.cos(t), np.sin(t)], 1)


def star(n: int, r_out: float, r_in: float) -> np.ndarray:
    """An ``n``-pointed star alternating between the radii ``r_out`` and ``r_in``."""
    t = -np.pi / 2 + np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)
    r = np.where(np.arange(2 * n) % 2 == 0, r_out, r_in)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


def capsule(half_len: float, radius: float, n: int = 16) -> np.ndarray:
    """A stadium along x: a rectangle of half-length ``half_len`` with round caps."""
    t = np.linspace(-np.pi / 2, np.pi / 2, n)
    right = np.stack([half_len + radius * np.cos(t), radius * np.sin(t)], 1)
    return np.concatenate([right, -right])


def crescent(d: float = 0.5, r: float = 0.8, n: int = 32) -> np.ndarray:
    """The unit disc minus a disc of radius ``r`` centred at (d, 0)."""
    x = (1 - r * r + d * d) / (2 * d)
    y = np.sqrt(1 - x * x)
    t0, p0 = np.arctan2(y, x), np.arctan2(y, x - d)
    t = np.linspace(t0, 2 * np.pi - t0, n)
    p = np.linspace(2 * np.pi - p0, p0, n)
    return np.concatenate([np.stack([np.cos(t), np.sin(t)], 1),
                           np.stack([d + r * np.cos(p), r * np.sin(p)], 1)]) - [0.2, 0]


def heart(n: int = 64) -> np.ndarray:
    """The classic parametric heart, scaled to about the unit disc."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y + 2.5], 1) / 16


def poly(*xy: float) -> np.ndarray:
    """A polygon from its flat coordinates ``x0, y0, x1, y1, ...``."""
    return np.asarray(xy, dtype=float).reshape(-1, 2)


SHAPES: dict[str, np.ndarray] = {
    "circle": ellipse(0, 0, 0.95, 0.95),
    "square": poly(-0.8, -0.8, 0.8, -0.8, 0.8, 0.8, -0.8, 0.8),
    "triangle": regular_polygon(3, 1.05) + [0, 0.2],
    "cross": poly(-0.28, -1, 0.28, -1, 0.28, -0.28, 1, -0.28, 1, 0.28, 0.28, 0.28,
                  0.28, 1, -0.28, 1, -0.28, 0.28, -1, 0.28, -1, -0.28, -0.28, -0.28),
    "star": star(5, 1.05, 0.42),
    "ring": annulus(ellipse(0, 0, 1, 1), ellipse(0, 0, 0.55, 0.55)),
    "diamond": poly(0, -1.1, 0.6, 0, 0, 1.1, -0.6, 0),
    "crescent": crescent(),
    "arrow": poly(-1, -0.22, 0.15, -0.22, 0.15, -0.65, 1, 0, 0.15, 0.65, 0.15, 0.22, -1, 0.22),
    "heart": heart(),
    "hexagon": regular_polygon(6, 1.0),
    "capsule": capsule(0.6, 0.4),
    "semicircle": np.concatenate([ellipse(0, 0, 1.05, 1.05)[:25], [[0, 0]]]) - [0, 0.45],
    "lshape": poly(-0.7, -1, -0.15, -1, -0.15, 0.45, 0.7, 0.45, 0.7, 1, -0.7, 1),
}
SHAPE_KINDS = tuple(SHAPES)


def placement(radius: float, angle: float, stretch: float = 1.0) -> np.ndarray:
    """The 2x2 matrix that rotates by ``angle``, stretches x by ``stretch`` (y by its
    inverse) and scales unit coordinates to ``radius`` pixels: ``points @ M.T + centre``."""
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * radius
    return rot @ np.diag([stretch, 1 / stretch])


# ------------------------------------------------------------------------------ colours

def tone(rng: np.random.Generator, rgb, spread: float = 28) -> tuple[int, int, int]:
    """``rgb`` jittered: scaled by 0.8-1.15 and shifted by Gaussian noise per channel."""
    c = np.asarray(rgb) * rng.uniform(0.8, 1.15) + rng.normal(0, spread / 2, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


def luma(rgb: np.ndarray) -> float:
    """Perceived brightness (ITU-R 601 weights) of an RGB colour."""
    return float(np.dot(rgb, [0.299, 0.587, 0.114]))


# -------------------------------------------------------------------------- backgrounds

def linear_gradient(w: int, h: int, c0: np.ndarray, c1: np.ndarray, angle: float) -> np.ndarray:
    """A ``(h, w, 3)`` float64 gradient from colour ``c0`` to ``c1`` along ``angle``."""
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    t = xx * np.cos(angle) + yy * np.sin(angle)
    t = (t - t.min()) / (np.ptp(t) + 1e-9)
    return c0 + (c1 - c0) * t[..., None]


def gradient_background(w: int, h: int, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray]:
    """A two-colour linear gradient, sometimes with soft stripes; also its mean colour."""
    c0, c1 = rng.uniform(0, 255, (2, 3))
    bg = linear_gradient(w, h, c0, c1, rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.4:
        yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
        b, f = rng.uniform(0, 2 * np.pi), rng.uniform(2, 6)
        bg += rng.uniform(-40, 40, 3) * np.sin(2 * np.pi * f * (xx * np.cos(b) + yy * np.sin(b)))[..., None]
    return bg, (c0 + c1) / 2


def smooth_noise(w: int, h: int, cells: int, sigma: float, rng: np.random.Generator,
                 channels: int | None = None) -> np.ndarray:
    """Low-frequency blotches: Gaussian noise on a ``cells`` x ``cells`` grid, upsampled
    bicubically to ``(h, w)`` (``(h, w, channels)`` when ``channels`` is given), float32."""
    shape = (cells, cells) if channels is None else (cells, cells, channels)
    coarse = rng.normal(0, sigma, shape).astype(np.float32)

    def up(grid: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(grid).resize((w, h), Image.BICUBIC))
    if channels is None:
        return up(coarse)
    return np.stack([up(coarse[..., c]) for c in range(channels)], -1)


# ------------------------------------------------------------------------------- canvas

class Canvas:
    """An RGB picture of ``background``'s size, drawn at :data:`SS` times that size.

    Coordinates passed to :meth:`polygon`, :meth:`line` and :meth:`layers` are in the
    supersampled pixels; :meth:`finish` downsamples (anti-aliasing) and adds noise.
    """

    def __init__(self, background: np.ndarray):
        h, w = background.shape[:2]
        self.width, self.height = w, h
        self.image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8)).resize(
            (w * SS, h * SS), Image.NEAREST)
        self.draw = ImageDraw.Draw(self.image)

    def polygon(self, points: np.ndarray, colour) -> None:
        self.draw.polygon(np.asarray(points).ravel().tolist(), fill=colour)

    def layers(self, layers: list[Layer], matrix: np.ndarray, centre: np.ndarray,
               radius: float) -> None:
        """Draw ``layers`` in painter's order, placed by ``points @ matrix.T + centre``;
        a layer with a line width draws a polyline ``width * radius`` pixels wide."""
        for colour, pts, width in layers:
            xy = (pts @ matrix.T + centre).ravel().tolist()
            if width:
                self.draw.line(xy, fill=colour, width=max(1, round(width * radius)), joint="curve")
            else:
                self.draw.polygon(xy, fill=colour)

    def clutter(self, rng: np.random.Generator) -> None:
        """A few thin random lines and small blobs in random colours."""
        w, h = self.width, self.height
        s = min(w, h)
        for _ in range(rng.integers(0, 5)):
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            if rng.random() < 0.5:
                xy = (rng.uniform(0, [w, h, w, h]) * SS).tolist()
                self.draw.line(xy, fill=colour, width=max(1, int(SS * s * rng.uniform(0.015, 0.04))))
            else:
                (x, y), r = rng.uniform(0, [w, h]) * SS, SS * s * rng.uniform(0.02, 0.06)
                self.draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)

    def finish(self, rng: np.random.Generator, noise: float) -> Image.Image:
        """Downsample to the final size, add Gaussian noise of up to ``noise`` grey levels."""
        out = np.asarray(self.image.resize((self.width, self.height), Image.LANCZOS,
                                           reducing_gap=2.0), dtype=np.float32)
        out += rng.normal(0, rng.uniform(0, noise), out.shape).astype(np.float32)
        return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


# ---------------------------------------------------------------------------- writing

def balanced_labels(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` class indices, as equal in number as possible, in random order."""
    return rng.permutation(np.arange(n) % n_classes)


def save_png(img: Image.Image, path: Path) -> None:
    """Save fast (compression level 1): demo sets are written often and read a few times."""
    img.save(path, format="PNG", compress_level=1)


def write_image_folder(folder: Path, n_per_class: dict[str, int],
                       draw: Callable[[str, np.random.Generator], Image.Image],
                       seed: list[int]) -> None:
    """Write ``folder/<class>/<i>.png`` for each class, one random stream per class."""
    for c, (name, n) in enumerate(n_per_class.items()):
        (folder / name).mkdir(parents=True)
        rng = np.random.default_rng([*seed, c])
        for i in range(n):
            save_png(draw(name, rng), folder / name / f"{i}.png")

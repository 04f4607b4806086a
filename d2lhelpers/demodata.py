"""Synthetic demo datasets written in the exact on-disk layouts of the real ones.

Demo mode runs every notebook offline on a small CPU. The generators below draw images
whose classes differ by *shape* (position, scale, rotation, colours and background are
random), write them in the layout of the real dataset so that the real loading code
runs, and do so once: a set is built in a hidden folder next to its target and renamed
into place at the end, so an interrupted run never leaves a half-written dataset, and
later calls reuse it. Every set is a deterministic function of its arguments, which are
part of its folder name.
"""
from __future__ import annotations

import os
import pickle
import shutil
import uuid
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from .paths import data_root

__all__ = [
    "CIFAR10_DEMO_CLASSES", "FOOD_KINDS", "SHAPE_KINDS", "SOURCE_CLASSES",
    "make_banana_demo", "make_cifar10_demo", "make_hotdog_demo", "make_shapes_source_demo",
    "render_banana_scene", "render_shape",
]

_VERSION = 1     # bump when the drawings change, so that old caches are not reused
_SS = 4          # supersampling factor: draw at 4x, then downsample with LANCZOS

Layer = tuple[tuple[int, int, int], np.ndarray, float]   # (colour, points, line width or 0)


# ----------------------------------------------------------------------------- geometry
# Outlines live in unit coordinates (an object fits roughly in the unit disc, y down).

def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def _annulus(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """One polygon for the region between two closed outlines (joined by a zero-width slit)."""
    return np.concatenate([outer, outer[:1], inner[:1], inner[::-1]])


def _regular(n: int, r: float = 1.0) -> np.ndarray:
    t = -np.pi / 2 + np.linspace(0, 2 * np.pi, n, endpoint=False)
    return r * np.stack([np.cos(t), np.sin(t)], 1)


def _star(n: int, r_out: float, r_in: float) -> np.ndarray:
    t = -np.pi / 2 + np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)
    r = np.where(np.arange(2 * n) % 2 == 0, r_out, r_in)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


def _capsule(half_len: float, radius: float, n: int = 16) -> np.ndarray:
    """A stadium along x: a rectangle of half-length ``half_len`` with round caps."""
    t = np.linspace(-np.pi / 2, np.pi / 2, n)
    right = np.stack([half_len + radius * np.cos(t), radius * np.sin(t)], 1)
    return np.concatenate([right, -right])


def _crescent(d: float = 0.5, r: float = 0.8, n: int = 32) -> np.ndarray:
    """The unit disc minus a disc of radius ``r`` centred at (d, 0)."""
    x = (1 - r * r + d * d) / (2 * d)
    y = np.sqrt(1 - x * x)
    t0, p0 = np.arctan2(y, x), np.arctan2(y, x - d)
    t = np.linspace(t0, 2 * np.pi - t0, n)
    p = np.linspace(2 * np.pi - p0, p0, n)
    return np.concatenate([np.stack([np.cos(t), np.sin(t)], 1),
                           np.stack([d + r * np.cos(p), r * np.sin(p)], 1)]) - [0.2, 0]


def _heart(n: int = 64) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y + 2.5], 1) / 16


def _poly(*xy: float) -> np.ndarray:
    return np.asarray(xy, dtype=float).reshape(-1, 2)


SHAPES: dict[str, np.ndarray] = {
    "circle": _ellipse(0, 0, 0.95, 0.95),
    "square": _poly(-0.8, -0.8, 0.8, -0.8, 0.8, 0.8, -0.8, 0.8),
    "triangle": _regular(3, 1.05) + [0, 0.2],
    "cross": _poly(-0.28, -1, 0.28, -1, 0.28, -0.28, 1, -0.28, 1, 0.28, 0.28, 0.28,
                   0.28, 1, -0.28, 1, -0.28, 0.28, -1, 0.28, -1, -0.28, -0.28, -0.28),
    "star": _star(5, 1.05, 0.42),
    "ring": _annulus(_ellipse(0, 0, 1, 1), _ellipse(0, 0, 0.55, 0.55)),
    "diamond": _poly(0, -1.1, 0.6, 0, 0, 1.1, -0.6, 0),
    "crescent": _crescent(),
    "arrow": _poly(-1, -0.22, 0.15, -0.22, 0.15, -0.65, 1, 0, 0.15, 0.65, 0.15, 0.22, -1, 0.22),
    "heart": _heart(),
    "hexagon": _regular(6, 1.0),
    "capsule": _capsule(0.6, 0.4),
    "semicircle": np.concatenate([_ellipse(0, 0, 1.05, 1.05)[:25], [[0, 0]]]) - [0, 0.45],
    "lshape": _poly(-0.7, -1, -0.15, -1, -0.15, 0.45, 0.7, 0.45, 0.7, 1, -0.7, 1),
}
SHAPE_KINDS = tuple(SHAPES)
CIFAR10_DEMO_CLASSES = SHAPE_KINDS[:10]
SOURCE_CLASSES = SHAPE_KINDS


# -------------------------------------------------------------------------------- foods
# Each food is a list of layers in painter's order; colours overlap between the foods
# and the hot dog (tan breads, red-browns, yellows, greens), so that shape decides.

def _tone(rng: np.random.Generator, rgb: tuple[int, int, int], spread: float = 28
          ) -> tuple[int, int, int]:
    c = np.asarray(rgb) * rng.uniform(0.8, 1.15) + rng.normal(0, spread / 2, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


_BREAD = (205, 150, 85)
_MEAT = (160, 70, 45)
_YELLOW = (235, 195, 50)
_GREEN = (70, 150, 50)
_RED = (200, 40, 35)
_CREAM = (240, 230, 205)


def _hotdog(rng: np.random.Generator) -> list[Layer]:
    bun = _tone(rng, _BREAD)
    layers = [(bun, _capsule(0.7, rng.uniform(0.28, 0.36)), 0),
              (_tone(rng, _MEAT), _capsule(rng.uniform(0.85, 1.0), rng.uniform(0.13, 0.17)), 0)]
    if rng.random() < 0.75:
        x = np.linspace(-0.75, 0.75, rng.integers(7, 13))
        y = 0.08 * (-1.0) ** np.arange(len(x))
        sauce = _YELLOW if rng.random() < 0.6 else _RED
        layers.append((_tone(rng, sauce), np.stack([x, y], 1), 0.06))
    if rng.random() < 0.3:
        topping = _tone(rng, _GREEN if rng.random() < 0.5 else _CREAM)
        layers += [(topping, _ellipse(x, y, 0.04, 0.04, 8), 0)
                   for x, y in zip(rng.uniform(-0.7, 0.7, 6), rng.uniform(-0.2, 0.2, 6))]
    return layers


def _pizza(rng: np.random.Generator) -> list[Layer]:
    def sector(r: float) -> np.ndarray:
        t = np.linspace(-0.32, 0.32, 12)
        return np.concatenate([[[0, 1.1]], np.stack([r * np.sin(t), 1.1 - r * np.cos(t)], 1)])
    layers = [(_tone(rng, _BREAD), sector(2.05), 0), (_tone(rng, _YELLOW), sector(1.8), 0)]
    meat = _tone(rng, _RED if rng.random() < 0.5 else _MEAT)
    for _ in range(rng.integers(2, 5)):
        y = rng.uniform(-0.5, 0.6)
        x = rng.uniform(-1, 1) * (1.1 - y) * 0.25
        layers.append((meat, _ellipse(x, y, 0.13, 0.13, 16), 0))
    return layers


def _burger(rng: np.random.Generator) -> list[Layer]:
    bun = _tone(rng, _BREAD)
    dome = _ellipse(0, 0, 0.95, 0.7)[24:]
    layers = [(bun, _poly(-0.9, 0.45, 0.9, 0.45, 0.85, 0.75, -0.85, 0.75), 0),
              (_tone(rng, _MEAT), _capsule(0.75, 0.17) + [0, 0.3], 0),
              (_tone(rng, _GREEN), np.stack([np.linspace(-0.95, 0.95, 11),
                                             0.1 + 0.06 * (-1.0) ** np.arange(11)], 1), 0.08),
              (bun, dome, 0)]
    if rng.random() < 0.5:
        layers.insert(2, (_tone(rng, _YELLOW), _poly(-0.8, 0.05, 0.8, 0.05, 0.9, 0.2, -0.9, 0.2), 0))
    seeds = _tone(rng, _CREAM)
    layers += [(seeds, _ellipse(x, y, 0.06, 0.035, 8), 0)
               for x, y in zip(rng.uniform(-0.6, 0.6, 5), rng.uniform(-0.55, -0.2, 5))]
    return layers


def _wavy(r: float, rng: np.random.Generator, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = r * (1 + 0.05 * np.sin(rng.integers(5, 9) * t + rng.uniform(0, 6)))
    return np.stack([rr * np.cos(t), rr * np.sin(t)], 1)


def _donut(rng: np.random.Generator) -> list[Layer]:
    layers = [(_tone(rng, _BREAD), _annulus(_ellipse(0, 0, 1, 1), _ellipse(0, 0, 0.38, 0.38)), 0)]
    if rng.random() < 0.8:
        icing = _tone(rng, [(230, 130, 170), (110, 60, 35), _CREAM, _YELLOW][rng.integers(4)])
        layers.append((icing, _annulus(_wavy(0.88, rng), _wavy(0.48, rng)), 0))
        for colour in [_RED, _GREEN, _YELLOW]:
            for _ in range(3):
                r, t = rng.uniform(0.55, 0.8), rng.uniform(0, 2 * np.pi)
                p = r * np.array([np.cos(t), np.sin(t)])
                d = 0.07 * np.array([np.cos(t + 1.2), np.sin(t + 1.2)])
                layers.append((_tone(rng, colour), np.stack([p - d, p + d]), 0.04))
    return layers


def _sushi(rng: np.random.Generator) -> list[Layer]:
    rice = _tone(rng, _CREAM, 12)
    if rng.random() < 0.5:   # maki, seen from above
        return [((30, 40, 30), _ellipse(0, 0, 0.85, 0.85), 0), (rice, _ellipse(0, 0, 0.7, 0.7), 0),
                (_tone(rng, [(240, 120, 70), _GREEN, _RED][rng.integers(3)]),
                 _ellipse(0, 0, 0.3, 0.3), 0)]
    layers = [(rice, _capsule(0.6, 0.28) + [0, 0.2], 0),
              (_tone(rng, [(240, 120, 70), _RED][rng.integers(2)]), _capsule(0.72, 0.2) + [0, -0.15], 0)]
    if rng.random() < 0.5:
        layers.append(((30, 40, 30), _poly(-0.15, -0.4, 0.15, -0.4, 0.15, 0.5, -0.15, 0.5), 0))
    return layers


def _broccoli(rng: np.random.Generator) -> list[Layer]:
    layers = [(_tone(rng, (150, 190, 90)), _poly(-0.18, 1, 0.18, 1, 0.35, 0.05, -0.35, 0.05), 0)]
    dark = _tone(rng, _GREEN)
    for _ in range(rng.integers(6, 10)):
        r = rng.uniform(0.22, 0.38)
        layers.append((_tone(rng, dark, 12), _ellipse(rng.uniform(-0.6, 0.6), rng.uniform(-0.65, 0),
                                                      r, r, 20), 0))
    return layers


def _fries(rng: np.random.Generator) -> list[Layer]:
    fry = _tone(rng, _YELLOW)
    layers = []
    for x in np.linspace(-0.45, 0.45, rng.integers(5, 9)):
        top, tilt = rng.uniform(-1, -0.45), rng.uniform(-0.15, 0.15)
        layers.append((_tone(rng, fry, 10), _poly(x - 0.07, 0.4, x + 0.07, 0.4,
                                                  x + tilt + 0.07, top, x + tilt - 0.07, top), 0))
    box = _tone(rng, [_RED, _CREAM, _BREAD][rng.integers(3)])
    return layers + [(box, _poly(-0.7, 0.05, 0.7, 0.05, 0.55, 1, -0.55, 1), 0)]


def _cake(rng: np.random.Generator) -> list[Layer]:
    def band(y0: float, y1: float) -> np.ndarray:   # a horizontal band of the wedge
        xh = lambda y: -0.9 + (y + 0.5) / 1.1 * 1.9
        return _poly(-0.9, y0, xh(y0), y0, xh(y1), y1, -0.9, y1)
    sponge = _tone(rng, [_BREAD, (110, 60, 35), _YELLOW][rng.integers(3)])
    cream = _tone(rng, [_CREAM, (230, 130, 170), (110, 60, 35)][rng.integers(3)])
    layers = [(cream, band(-0.5, 0.6), 0)]
    layers += [(sponge, band(y, y + 0.22), 0) for y in (-0.28, 0.08, 0.38)]
    return layers + [(_tone(rng, _RED), _ellipse(-0.7, -0.62, 0.14, 0.14, 16), 0)]


def _cookie(rng: np.random.Generator) -> list[Layer]:
    layers = [(_tone(rng, _BREAD), _wavy(0.95, rng), 0)]
    chip = _tone(rng, (70, 40, 25), 15)
    for _ in range(rng.integers(5, 9)):
        c = rng.uniform(-0.6, 0.6, 2)
        layers.append((chip, c + _regular(5, rng.uniform(0.08, 0.14)), 0))
    return layers


def _egg(rng: np.random.Generator) -> list[Layer]:
    return [(_tone(rng, _CREAM, 10), _wavy(0.95, rng) * [1.0, rng.uniform(0.7, 1)], 0),
            (_tone(rng, _YELLOW), _ellipse(*rng.uniform(-0.2, 0.2, 2), 0.35, 0.35, 24), 0)]


def _banana(rng: np.random.Generator) -> list[Layer]:
    t = np.linspace(np.pi * 0.15, np.pi * 0.85, 20)
    outer = np.stack([1.1 * np.cos(t), 1.1 * np.sin(t) - 0.55], 1)
    inner = np.stack([0.85 * np.cos(t), 0.7 * np.sin(t) - 0.45], 1)
    tip = _tone(rng, (80, 60, 30))
    return [(_tone(rng, _YELLOW), np.concatenate([outer, inner[::-1]]), 0),
            (tip, _ellipse(*outer[0], 0.06, 0.06, 8), 0), (tip, _ellipse(*outer[-1], 0.06, 0.06, 8), 0)]


FOODS: dict[str, Callable[[np.random.Generator], list[Layer]]] = {
    "hotdog": _hotdog, "pizza": _pizza, "burger": _burger, "donut": _donut, "sushi": _sushi,
    "broccoli": _broccoli, "fries": _fries, "cake": _cake, "cookie": _cookie, "egg": _egg,
    "banana": _banana,
}
FOOD_KINDS = tuple(FOODS)


# ----------------------------------------------------------------------------- renderer

def _luma(rgb: np.ndarray) -> float:
    return float(np.dot(rgb, [0.299, 0.587, 0.114]))


def _background(w: int, h: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A two-colour linear gradient, sometimes with soft stripes; also its mean colour."""
    c0, c1 = rng.uniform(0, 255, (2, 3))
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    a = rng.uniform(0, 2 * np.pi)
    t = xx * np.cos(a) + yy * np.sin(a)
    t = (t - t.min()) / (np.ptp(t) + 1e-9)
    bg = c0 + (c1 - c0) * t[..., None]
    if rng.random() < 0.4:
        b, f = rng.uniform(0, 2 * np.pi), rng.uniform(2, 6)
        bg += rng.uniform(-40, 40, 3) * np.sin(2 * np.pi * f * (xx * np.cos(b) + yy * np.sin(b)))[..., None]
    return bg, (c0 + c1) / 2


def _clutter(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    """A few thin random lines and small blobs (drawn on the 4x canvas)."""
    s = min(w, h)
    for _ in range(rng.integers(0, 5)):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            xy = (rng.uniform(0, [w, h, w, h]) * _SS).tolist()
            draw.line(xy, fill=colour, width=max(1, int(_SS * s * rng.uniform(0.015, 0.04))))
        else:
            (x, y), r = rng.uniform(0, [w, h]) * _SS, _SS * s * rng.uniform(0.02, 0.06)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)


def render_shape(kind: str, size: int | tuple[int, int], rng: np.random.Generator, *,
                 scale: tuple[float, float] = (0.3, 0.45), shift: float = 0.2,
                 clutter: bool = True, noise: float = 10.0) -> Image.Image:
    """Draw one object of ``kind`` on a random background; return an RGB image.

    ``kind`` is a geometric shape (:data:`SHAPE_KINDS`, drawn in one random colour that
    contrasts with the background) or a food (:data:`FOOD_KINDS`, with its own jittered
    palette, sometimes on a plate). ``size`` is ``side`` or ``(width, height)``. The object
    gets a random rotation, a slight stretch, a radius of ``scale`` times the shorter side
    and a centre shifted by up to ``shift`` times the size from the middle; behind it come
    a gradient, optional ``clutter`` and Gaussian noise of up to ``noise`` grey levels.
    Drawing happens at 4x resolution and is downsampled with LANCZOS (anti-aliasing).
    """
    w, h = (size, size) if isinstance(size, int) else size
    bg, bg_mean = _background(w, h, rng)
    canvas = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8)).resize(
        (w * _SS, h * _SS), Image.NEAREST)
    draw = ImageDraw.Draw(canvas)
    if clutter:
        _clutter(draw, w, h, rng)

    if kind in SHAPES:
        colour = rng.uniform(0, 255, 3)
        while abs(_luma(colour) - _luma(bg_mean)) < 60:
            colour = rng.uniform(0, 255, 3)
        layers: list[Layer] = [(tuple(int(v) for v in colour), SHAPES[kind], 0)]
    elif kind in FOODS:
        layers = FOODS[kind](rng)
        if rng.random() < 0.35:
            plate = tuple(int(v) for v in rng.integers(150, 256, 3))
            layers.insert(0, (plate, _ellipse(0, 0, 1.35, rng.uniform(1.0, 1.35)), 0))
    else:
        raise ValueError(f"unknown kind {kind!r}; use one of {SHAPE_KINDS + FOOD_KINDS}")

    radius = _SS * min(w, h) * rng.uniform(*scale)
    a, stretch = rng.uniform(0, 2 * np.pi), np.exp(rng.uniform(-0.15, 0.15))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * radius
    rot = rot @ np.diag([stretch, 1 / stretch])
    centre = _SS * np.array([w, h]) * (0.5 + rng.uniform(-shift, shift, 2))
    for colour, pts, width in layers:
        xy = (pts @ rot.T + centre).ravel().tolist()
        if width:
            draw.line(xy, fill=colour, width=max(1, round(width * radius)), joint="curve")
        else:
            draw.polygon(xy, fill=colour)

    out = np.asarray(canvas.resize((w, h), Image.LANCZOS, reducing_gap=2.0), dtype=np.float32)
    out += rng.normal(0, rng.uniform(0, noise), out.shape).astype(np.float32)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


# ------------------------------------------------------------------------------ caching

def _build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Return ``target``, first building it with ``build(tmp)`` unless it already exists.

    ``build`` fills a hidden temporary folder next to ``target``, which is renamed onto
    ``target`` only when it is complete; on any error it is removed.
    """
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.part"
    tmp.mkdir()
    try:
        build(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():   # else a concurrent run finished first: keep its copy
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _demo_root(root: str | os.PathLike | None) -> Path:
    return Path(root).expanduser() if root is not None else data_root() / "demo"


def _balanced_labels(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) % n_classes)


def _save_png(img: Image.Image, path: Path) -> None:
    img.save(path, format="PNG", compress_level=1)


# ---------------------------------------------------------------------------- datasets

def make_cifar10_demo(root: str | os.PathLike | None = None, n_train: int = 5000,
                      n_test: int = 1000, seed: int = 0) -> Path:
    """A 10-class 32x32 shape dataset in the layout of the CIFAR-10 python version.

    Writes ``cifar-10-batches-py/`` with ``data_batch_1`` .. ``data_batch_5`` (the
    training images, balanced over :data:`CIFAR10_DEMO_CLASSES` and split over the five
    batches), ``test_batch`` and ``batches.meta``, pickled like the real files. Returns the
    folder that contains ``cifar-10-batches-py`` (what torchvision calls ``root``):
    ``<root>/cifar10-v<version>-<n_train>x<n_test>-seed<seed>`` under ``root``
    (default ``data_root()/"demo"``).
    """
    if n_train < 5 or n_test < 1:
        raise ValueError(f"need n_train >= 5 (five batches) and n_test >= 1, got {n_train}, {n_test}")
    target = _demo_root(root) / f"cifar10-v{_VERSION}-{n_train}x{n_test}-seed{seed}"
    classes = list(CIFAR10_DEMO_CLASSES)

    def batch(rng: np.random.Generator, labels: np.ndarray, label: str, first: int) -> dict:
        data = np.stack([np.asarray(render_shape(classes[y], 32, rng)).transpose(2, 0, 1).ravel()
                         for y in labels])
        names = [f"{classes[y]}_s_{first + i:06d}.png" for i, y in enumerate(labels)]
        return {"batch_label": label, "labels": [int(y) for y in labels], "data": data,
                "filenames": names}

    def build(tmp: Path) -> None:
        folder = tmp / "cifar-10-batches-py"
        folder.mkdir()
        rng = np.random.default_rng([seed, 0])
        parts = np.array_split(_balanced_labels(n_train, 10, rng), 5)
        entries = {f"data_batch_{i + 1}": batch(rng, labels, f"training batch {i + 1} of 5",
                                                sum(map(len, parts[:i])))
                   for i, labels in enumerate(parts)}
        rng = np.random.default_rng([seed, 1])
        entries["test_batch"] = batch(rng, _balanced_labels(n_test, 10, rng),
                                      "testing batch 1 of 1", n_train)
        entries["batches.meta"] = {"num_cases_per_batch": len(parts[0]), "label_names": classes,
                                   "num_vis": 3072}
        for name, entry in entries.items():
            with open(folder / name, "wb") as f:
                pickle.dump(entry, f, protocol=2)

    return _build_once(target, build)


def _write_image_folder(folder: Path, n_per_class: dict[str, int],
                        draw: Callable[[str, np.random.Generator], Image.Image],
                        seed: list[int]) -> None:
    """Write ``folder/<class>/<i>.png`` for each class, one random stream per class."""
    for c, (name, n) in enumerate(n_per_class.items()):
        (folder / name).mkdir(parents=True)
        rng = np.random.default_rng([*seed, c])
        for i in range(n):
            _save_png(draw(name, rng), folder / name / f"{i}.png")


def _food_image(name: str, rng: np.random.Generator) -> Image.Image:
    w = int(rng.integers(64, 161))
    h = int(np.clip(round(w * rng.uniform(0.6, 1.7)), 64, 160))
    kind = "hotdog" if name == "hotdog" else FOOD_KINDS[rng.integers(1, len(FOOD_KINDS))]
    return render_shape(kind, (w, h), rng, scale=(0.32, 0.48), shift=0.12)


def make_hotdog_demo(root: str | os.PathLike | None = None, n_train: int = 300,
                     n_test: int = 100, seed: int = 0) -> Path:
    """A hot-dog / not-hot-dog set in the layout of the real one; return its ``hotdog`` folder.

    Writes ``hotdog/{train,test}/{hotdog,not-hotdog}/<i>.png`` with ``n_train`` and
    ``n_test`` images per class (the real set has 1000 and 400), of varied sizes (sides
    64-160 px) and aspect ratios. Hot dogs (a bun with a sausage, often a sauce zigzag)
    and other foods (:data:`FOOD_KINDS` but ``"hotdog"``) share colours, so shape decides.
    The folder is ``<root>/hotdog-v<version>-<n_train>x<n_test>-seed<seed>/hotdog`` under
    ``root`` (default ``data_root()/"demo"``).
    """
    target = _demo_root(root) / f"hotdog-v{_VERSION}-{n_train}x{n_test}-seed{seed}"

    def build(tmp: Path) -> None:
        for s, (split, n) in enumerate([("train", n_train), ("test", n_test)]):
            _write_image_folder(tmp / "hotdog" / split, {"hotdog": n, "not-hotdog": n},
                                _food_image, [seed, s])

    return _build_once(target, build) / "hotdog"


def make_shapes_source_demo(root: str | os.PathLike | None = None, n_per_class: int = 150,
                            size: int = 64, seed: int = 0) -> Path:
    """The source task for demo pretraining: classify :data:`SOURCE_CLASSES` shapes.

    Writes ``shapes-source/train/<class>/<i>.png`` (ImageFolder layout, ``size`` x
    ``size``, ``n_per_class`` per class) and returns the ``shapes-source`` folder, under
    ``<root>/shapes-v<version>-<n_per_class>x<size>-seed<seed>`` (default root
    ``data_root()/"demo"``). A network pretrained on it learns generic shape features that
    transfer to the hot-dog demo, a different task.
    """
    target = _demo_root(root) / f"shapes-v{_VERSION}-{n_per_class}x{size}-seed{seed}"

    def build(tmp: Path) -> None:
        _write_image_folder(tmp / "shapes-source" / "train",
                            {c: n_per_class for c in SOURCE_CLASSES},
                            lambda kind, rng: render_shape(kind, size, rng), [seed])

    return _build_once(target, build) / "shapes-source"


# ---------------------------------------------------------------------- banana detection
# One banana per image for the object-detection sections: a curved, tapering yellow band
# with a dark stem and a dark tip, randomly placed, scaled, rotated and tinted, drawn over
# a gradient with texture and clutter (lines, blobs and other shapes, some of them yellow,
# none of them banana-shaped). Its box is computed from the drawn outline, so it is tight.

_BANANA_VERSION = 1   # bump when the banana scenes change (independent of ``_VERSION``)
_BANANA_YELLOWS = ((236, 200, 52), (228, 186, 38), (214, 204, 72), (242, 176, 48),
                   (222, 210, 96))
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
    yellow = _tone(rng, _BANANA_YELLOWS[rng.integers(len(_BANANA_YELLOWS))], 16)
    shade = tuple(int(v) for v in np.clip(np.multiply(yellow, [0.86, 0.84, 0.7]), 0, 255))
    stripe = np.concatenate([centre - 0.35 * half[:, None] * normal, inner[::-1]])
    layers: list[Layer] = [(yellow, body, 0), (shade, stripe[4:-4], 0)]

    tangent = np.array([np.cos(t[-1]), np.sin(t[-1])])
    n_end, end = normal[-1], centre[-1]
    w, length = rng.uniform(0.045, 0.065), rng.uniform(0.14, 0.24)
    stem = np.stack([end - w * n_end, end + w * n_end,
                     end + length * tangent + 0.75 * w * n_end,
                     end + length * tangent - 0.75 * w * n_end])
    layers.append((_tone(rng, (96, 92, 40), 16), stem, 0))
    tip = _tone(rng, (70, 50, 25), 12)
    layers.append((tip, _ellipse(*centre[0], 0.045, 0.045, 12), 0))
    if rng.random() < 0.4:
        speckle = _tone(rng, (120, 80, 30), 12)
        for i in rng.integers(8, 32, rng.integers(2, 7)):
            p = centre[i] + rng.uniform(-0.5, 0.5) * half[i] * normal[i]
            layers.append((speckle, _ellipse(*p, 0.025, 0.02, 8), 0))
    return layers


def _banana_background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A gradient (:func:`_background`) plus an optional smooth blotchy texture.

    Backgrounds that are mostly banana-coloured are drawn again, so that the banana
    stays visible.
    """
    for _ in range(10):
        bg, _ = _background(size, size, rng)
        if rng.random() < 0.5:   # low-frequency blotches, upsampled from a coarse grid
            cells = int(rng.integers(3, 9))
            coarse = rng.normal(0, rng.uniform(15, 40), (cells, cells, 3)).astype(np.float32)
            bg += np.stack([np.asarray(Image.fromarray(coarse[..., c]).resize(
                (size, size), Image.BICUBIC)) for c in range(3)], -1)
        yellowish = np.linalg.norm(bg - _BANANA_YELLOWS[0], axis=-1) < 70
        if yellowish.mean() < 0.25:
            break
    return bg


def _distractors(draw: ImageDraw.ImageDraw, size: int, rng: np.random.Generator) -> None:
    """0-4 filled shapes that are not banana-shaped, in random colours (a third yellow)."""
    for _ in range(rng.integers(0, 5)):
        kind = _NOT_BANANA[rng.integers(len(_NOT_BANANA))]
        if rng.random() < 0.33:
            colour = _tone(rng, _BANANA_YELLOWS[rng.integers(len(_BANANA_YELLOWS))], 16)
        else:
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        radius = _SS * size * rng.uniform(0.04, 0.12)
        a = rng.uniform(0, 2 * np.pi)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * radius
        centre = _SS * size * rng.uniform(0, 1, 2)
        draw.polygon((SHAPES[kind] @ rot.T + centre).ravel().tolist(), fill=colour)


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
    bg = _banana_background(size, rng)
    canvas = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8)).resize(
        (size * _SS, size * _SS), Image.NEAREST)
    draw = ImageDraw.Draw(canvas)
    _clutter(draw, size, size, rng)
    _distractors(draw, size, rng)

    layers = _banana_layers(rng)
    radius = _SS * size * rng.uniform(*scale)
    a, stretch = rng.uniform(0, 2 * np.pi), np.exp(rng.uniform(-0.1, 0.1))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * radius
    rot = rot @ np.diag([stretch, 1 / stretch])
    pts = [p @ rot.T for _, p, _ in layers]
    lo, hi = np.concatenate(pts).min(0), np.concatenate(pts).max(0)
    margin = _SS                                       # keep one pixel clear of the border
    offset = rng.uniform(margin - lo, _SS * size - margin - hi)
    if banana:
        for (colour, _, _), p in zip(layers, pts):
            draw.polygon((p + offset).ravel().tolist(), fill=colour)
    xmin, ymin = (np.floor((lo + offset) / _SS)).astype(int).tolist()
    xmax, ymax = (np.ceil((hi + offset) / _SS)).astype(int).tolist()

    out = np.asarray(canvas.resize((size, size), Image.LANCZOS, reducing_gap=2.0), dtype=np.float32)
    out += rng.normal(0, rng.uniform(0, noise), out.shape).astype(np.float32)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8)), (xmin, ymin, xmax, ymax)


def make_banana_demo(root: str | os.PathLike | None = None, n_train: int = 500,
                     n_val: int = 100, size: int = 256, seed: int = 0) -> Path:
    """A banana detection set in the layout of the real one; return its ``banana-detection`` folder.

    Writes ``banana-detection/bananas_{train,val}/label.csv`` and ``images/<i>.png``
    (``size`` x ``size`` RGB, one banana each, :func:`render_banana_scene`), with
    ``label.csv`` holding the columns ``img_name,label,xmin,ymin,xmax,ymax`` (label 0 =
    banana, box in pixels) like the real set (1000 + 100 images of 256 x 256). The folder
    is ``<root>/bananas-v<version>-<n_train>x<n_val>-<size>px-seed<seed>/banana-detection``
    under ``root`` (default ``data_root()/"demo"``).
    """
    if n_train < 1 or n_val < 1 or size < 32:
        raise ValueError(f"need n_train >= 1, n_val >= 1 and size >= 32, got {n_train}, {n_val}, {size}")
    target = (_demo_root(root)
              / f"bananas-v{_BANANA_VERSION}-{n_train}x{n_val}-{size}px-seed{seed}")

    def build(tmp: Path) -> None:
        for s, (split, n) in enumerate([("bananas_train", n_train), ("bananas_val", n_val)]):
            folder = tmp / "banana-detection" / split
            (folder / "images").mkdir(parents=True)
            rng = np.random.default_rng([seed, 100 + s])
            rows = ["img_name,label,xmin,ymin,xmax,ymax"]
            for i in range(n):
                img, (x0, y0, x1, y1) = render_banana_scene(size, rng)
                _save_png(img, folder / "images" / f"{i}.png")
                rows.append(f"{i}.png,0,{x0},{y0},{x1},{y1}")
            (folder / "label.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    return _build_once(target, build) / "banana-detection"

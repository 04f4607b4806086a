"""The Pascal VOC2012 demo set: synthetic scenes in the ``VOCdevkit/VOC2012`` layout.

Scenes of 1-3 objects over a muted, textured background. Each of the 20 object classes
has its own outline, two colours and a texture (plain, stripes, dots or checks), so a
small network can tell them apart; the colours of an object are jittered, its size,
rotation and place are random, and objects may overlap or be cut off by the border.
Labels get VOC's void band: every pixel within 2 pixels of a class boundary is 255.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..data.voc_classes import VOC_CLASSES, VOC_PALETTE, VOID_INDEX
from ..fileio import build_once
from ..paths import demo_root
from .draw import SHAPES, linear_gradient, placement, smooth_noise

__all__ = ["make_voc_demo", "render_voc_scene"]

_VERSION = 2   # bump when the scenes change, so that old caches are not reused
_VOID_RADIUS = 2

# class -> (outline, main colour, second colour, texture)
_LOOKS: dict[int, tuple[str, tuple[int, int, int], tuple[int, int, int], str]] = {
    1: ("cross", (175, 195, 225), (90, 100, 125), "plain"),          # aeroplane
    2: ("ring", (20, 125, 125), (225, 225, 225), "stripes"),         # bicycle
    3: ("triangle", (250, 140, 20), (125, 60, 10), "plain"),         # bird
    4: ("semicircle", (250, 250, 250), (190, 30, 30), "stripes"),    # boat
    5: ("capsule", (25, 150, 60), (200, 245, 200), "plain"),         # bottle
    6: ("square", (250, 215, 0), (35, 35, 35), "stripes"),           # bus
    7: ("capsule", (215, 20, 40), (70, 0, 10), "checks"),            # car
    8: ("circle", (205, 120, 55), (120, 55, 20), "stripes"),         # cat
    9: ("lshape", (110, 60, 30), (55, 25, 10), "plain"),             # chair
    10: ("circle", (20, 20, 20), (240, 240, 240), "dots"),           # cow
    11: ("square", (195, 155, 100), (140, 100, 60), "stripes"),      # dining table
    12: ("heart", (235, 200, 145), (150, 105, 55), "dots"),          # dog
    13: ("hexagon", (140, 45, 15), (60, 20, 5), "plain"),            # horse
    14: ("ring", (105, 105, 115), (15, 15, 15), "checks"),           # motorbike
    15: ("capsule", (250, 195, 165), (40, 60, 165), "stripes"),      # person
    16: ("star", (40, 205, 40), (15, 85, 15), "dots"),               # potted plant
    17: ("circle", (240, 235, 210), (190, 180, 160), "dots"),        # sheep
    18: ("square", (125, 40, 155), (70, 20, 90), "plain"),           # sofa
    19: ("arrow", (30, 60, 205), (225, 30, 30), "stripes"),          # train
    20: ("diamond", (45, 45, 55), (120, 200, 245), "checks"),        # tv/monitor
}


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A muted two-colour gradient with smooth blotches, float32 ``(h, w, 3)``."""
    grey = rng.uniform(50, 210, 2)
    c0, c1 = (g + rng.normal(0, 14, 3) for g in grey)
    bg = linear_gradient(w, h, c0, c1, rng.uniform(0, 2 * np.pi))
    blotches = smooth_noise(w, h, int(rng.integers(3, 8)), rng.uniform(8, 25), rng)
    return (bg + blotches[..., None]).astype(np.float32)


def _texture(kind: str, u: np.ndarray, v: np.ndarray, period: float) -> np.ndarray:
    """Where the second colour goes, in object coordinates ``u, v`` (pixels)."""
    if kind == "plain":
        return np.zeros(u.shape, bool)
    if kind == "stripes":
        return np.floor(u / period) % 2 == 1
    if kind == "checks":
        return (np.floor(u / period) + np.floor(v / period)) % 2 == 1
    if kind == "dots":
        du, dv = u % period - period / 2, v % period - period / 2
        return du * du + dv * dv < (0.3 * period) ** 2
    raise ValueError(f"unknown texture {kind!r}")


def _jitter(rgb: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    return np.asarray(rgb, np.float32) * rng.uniform(0.85, 1.1) + rng.normal(0, 8, 3)


def _near_a_boundary(label: np.ndarray, radius: int) -> np.ndarray:
    """Pixels whose (2 * radius + 1)-square neighbourhood holds more than one class."""
    padded = np.pad(label, radius, mode="edge")
    h, w = label.shape
    size = 2 * radius + 1
    lo = hi = padded[:, :w]
    for dx in range(1, size):           # along rows, then along columns: a square window
        lo, hi = np.minimum(lo, padded[:, dx:dx + w]), np.maximum(hi, padded[:, dx:dx + w])
    lo2, hi2 = lo[:h], hi[:h]
    for dy in range(1, size):
        lo2, hi2 = np.minimum(lo2, lo[dy:dy + h]), np.maximum(hi2, hi[dy:dy + h])
    return lo2 != hi2


def render_voc_scene(height: int, width: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """One demo scene: ``(RGB uint8 (H, W, 3), label uint8 (H, W))`` with VOC's void band."""
    h, w = height, width
    image = _background(h, w, rng)
    label = np.zeros((h, w), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    n_objects = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
    for _ in range(n_objects):
        cls = int(rng.integers(1, len(VOC_CLASSES)))
        outline, main, second, texture = _LOOKS[cls]
        radius = min(h, w) * rng.uniform(0.22, 0.42)
        a = rng.uniform(0, 2 * np.pi)
        matrix = placement(radius, a, np.exp(rng.uniform(-0.2, 0.2)))
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        pts = SHAPES[outline] @ matrix.T + [cx, cy]
        canvas = Image.new("L", (w, h), 0)   # the object's mask, at the image's own size
        ImageDraw.Draw(canvas).polygon(pts.ravel().tolist(), fill=1)
        mask = np.asarray(canvas, bool)
        if mask.sum() < 16:
            continue
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))   # the object's box
        inside, x, y = mask[box], xx[box], yy[box]
        u = (x - cx) * np.cos(a) + (y - cy) * np.sin(a)
        v = (y - cy) * np.cos(a) - (x - cx) * np.sin(a)
        pattern = _texture(texture, u, v, period=max(3.0, radius * rng.uniform(0.25, 0.35)))
        colours = np.where(pattern[..., None], _jitter(second, rng), _jitter(main, rng))
        shade = 1 + 0.15 * rng.uniform(-1, 1) * (u / radius)   # light from one side
        image[box][inside] = (colours * shade[..., None])[inside]
        label[box][inside] = cls
    label[_near_a_boundary(label, _VOID_RADIUS)] = VOID_INDEX
    image += rng.normal(0, rng.uniform(2, 8), image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), label


def _save_label_png(label: np.ndarray, path: Path) -> None:
    png = Image.fromarray(label)
    png.putpalette(VOC_PALETTE.flatten().tolist())   # mode L -> P, VOC's own palette
    png.save(path, format="PNG", optimize=False)


def make_voc_demo(root: str | os.PathLike | None = None, n_train: int = 1000,
                  n_val: int = 100, height: tuple[int, int] = (56, 136),
                  width: tuple[int, int] = (88, 184), seed: int = 0) -> Path:
    """A synthetic segmentation set in the VOC2012 layout; return its ``VOCdevkit/VOC2012``.

    Writes ``JPEGImages/<name>.jpg`` (RGB, quality 90), ``SegmentationClass/<name>.png``
    (palette PNGs with VOC's palette: the index is the class, 255 the void band around
    every object) and ``ImageSets/Segmentation/{train,val,trainval}.txt``. Image heights
    and widths are drawn uniformly from the closed ranges ``height`` and ``width``, so
    some images are smaller than a given crop, as in the real set. Built once under
    ``root`` (default :func:`~d2lhelpers.paths.demo_root`) in a folder named after the
    arguments.
    """
    if n_train < 1 or n_val < 1:
        raise ValueError(f"need n_train >= 1 and n_val >= 1, got {n_train}, {n_val}")
    for name, (lo, hi) in (("height", height), ("width", width)):
        if not 16 <= lo <= hi:
            raise ValueError(f"{name}={(lo, hi)} must be a range (low, high) with 16 <= low <= high")
    target = (demo_root(root) / f"voc-v{_VERSION}-{n_train}x{n_val}-"
              f"h{height[0]}-{height[1]}-w{width[0]}-{width[1]}-seed{seed}")

    def build(tmp: Path) -> None:
        voc = tmp / "VOCdevkit" / "VOC2012"
        folders = [voc / "JPEGImages", voc / "SegmentationClass", voc / "ImageSets" / "Segmentation"]
        for folder in folders:
            folder.mkdir(parents=True)
        splits: dict[str, list[str]] = {}
        for s, (split, n) in enumerate([("train", n_train), ("val", n_val)]):
            rng = np.random.default_rng([seed, 200 + s])
            first = 0 if split == "train" else n_train
            names = [f"2012_{first + i:06d}" for i in range(n)]
            for name in names:
                h = int(rng.integers(height[0], height[1] + 1))
                w = int(rng.integers(width[0], width[1] + 1))
                image, label = render_voc_scene(h, w, rng)
                Image.fromarray(image).save(folders[0] / f"{name}.jpg", quality=90)
                _save_label_png(label, folders[1] / f"{name}.png")
            splits[split] = names
        splits["trainval"] = splits["train"] + splits["val"]
        for split, names in splits.items():
            (folders[2] / f"{split}.txt").write_text("\n".join(names) + "\n", encoding="utf-8")

    return build_once(target, build) / "VOCdevkit" / "VOC2012"

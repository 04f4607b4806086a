"""Pascal VOC2012 semantic segmentation: classes, colours, a lazy reader and a demo set.

The real set (``VOCtrainval_11-May-2012.tar``) extracts to ``VOCdevkit/VOC2012/`` with
``JPEGImages/<name>.jpg`` (RGB photos), ``SegmentationClass/<name>.png`` (the labels) and
``ImageSets/Segmentation/{train,val}.txt`` (one name per line; 1464 and 1449 names).
A label PNG is a *palette* image: each pixel stores an index into a 256-colour palette,
and that index is the class (0 = background, 1-20 the object classes) or 255 for the
void band drawn along object outlines and over ambiguous regions (shown in the RGB
colour 224, 224, 192). Void is neither background nor an object: it is ignored by the
loss and the metrics, and kept as 255 everywhere here.

:class:`VOCSegDataset` decodes nothing up front: making it reads only the file headers
(sizes, label mode) to drop examples smaller than the crop, and each item decodes one
image and its label, crops both at the same place and normalises the image. Demo mode
generates a synthetic set in the same layout (:func:`make_voc_demo`), read by the same code.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from .datasets import read_rgb
from .demodata import SHAPES, _build_once, _demo_root
from .loaders import data_loader
from .mode import resolve_mode

__all__ = [
    "VOC_CLASSES", "VOC_COLORMAP", "VOC_MEAN", "VOC_PALETTE", "VOC_STD", "VOC_VOID_COLOR",
    "VOID_INDEX", "VOCSegDataset", "label2image", "load_voc", "make_voc_demo",
    "read_voc_example", "read_voc_label", "voc_colormap2label",
    "voc_folder", "voc_label_indices", "voc_normalize", "voc_palette", "voc_split",
]

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
VOC_MEAN = [0.485, 0.456, 0.406]    # ImageNet statistics, as the pretrained backbone expects
VOC_STD = [0.229, 0.224, 0.225]


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

def _split_file(voc_dir: Path, is_train: bool) -> Path:
    return voc_dir / "ImageSets" / "Segmentation" / ("train.txt" if is_train else "val.txt")


def _paths(voc_dir: Path, name: str) -> tuple[Path, Path]:
    return voc_dir / "JPEGImages" / f"{name}.jpg", voc_dir / "SegmentationClass" / f"{name}.png"


def _not_palette(path: Path, mode: str) -> ValueError:
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
                raise _not_palette(Path(path), img.mode)
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
    image_path, label_path = _paths(Path(voc_dir).expanduser(), name)
    image, label = read_rgb(image_path), read_voc_label(label_path)
    if image.shape[1:] != label.shape:
        raise ValueError(f"{label_path} is {tuple(label.shape)} (H, W) but {image_path} is "
                         f"{tuple(image.shape[1:])}; an image and its label must be the same size")
    return image, label


def _header(path: Path, fmt: str) -> tuple[tuple[int, int], str]:
    """``((width, height), mode)`` from a file's header, no pixels decoded.

    Telling Pillow the expected format first makes this about three times faster than
    letting it try every format; a file in another format is still read.
    """
    try:
        with Image.open(path, formats=[fmt]) as img:
            return img.size, img.mode
    except UnidentifiedImageError:
        with Image.open(path) as img:
            return img.size, img.mode


# export: chapters/09-semantic-segmentation.ipynb
def voc_split(voc_dir: str | os.PathLike, is_train: bool = True
              ) -> tuple[list[str], list[tuple[int, int]]]:
    """Names and ``(height, width)`` sizes of a split, from the file headers only.

    Reads ``ImageSets/Segmentation/{train,val}.txt`` and opens each photo and label just
    far enough to learn its size and mode (no pixel is decoded). A missing file, a label
    that is not a palette PNG or a label whose size differs from its photo's is an error
    naming the file.
    """
    voc_dir = Path(voc_dir).expanduser()
    split_file = _split_file(voc_dir, is_train)
    if not split_file.is_file():
        raise FileNotFoundError(
            f"{split_file} is missing: {voc_dir} should be a VOCdevkit/VOC2012 folder with "
            "ImageSets/Segmentation/{train,val}.txt, JPEGImages/ and SegmentationClass/. "
            "voc_folder('full') downloads the real set, voc_folder('demo') makes a synthetic one.")
    names = split_file.read_text(encoding="utf-8").split()
    if not names:
        raise ValueError(f"{split_file} lists no images")
    sizes = []
    for name in names:
        image_path, label_path = _paths(voc_dir, name)
        for path in (image_path, label_path):
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: {split_file} lists {name!r}")
        try:
            (width, height), _ = _header(image_path, "JPEG")
            label_size, label_mode = _header(label_path, "PNG")
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise ValueError(f"cannot read the header of {name!r} ({image_path} or "
                             f"{label_path}): {e}") from e
        if label_mode != "P":
            raise _not_palette(label_path, label_mode)
        if label_size != (width, height):
            raise ValueError(f"{label_path} is {label_size[1]}x{label_size[0]} (HxW) but "
                             f"{image_path} is {height}x{width}; an image and its label "
                             "must be the same size")
        sizes.append((height, width))
    return names, sizes


def _check_crop_size(crop_size: Sequence[int]) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in crop_size)
        ok = (h, w) == tuple(crop_size) and h > 0 and w > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"crop_size={crop_size!r} must be (height, width), two positive "
                         "integers, e.g. (320, 480)")
    return h, w


def voc_normalize(image: torch.Tensor) -> torch.Tensor:
    """uint8 RGB ``(..., 3, H, W)`` -> float32 scaled to [0, 1] and normalised per channel."""
    mean = torch.tensor(VOC_MEAN, device=image.device).reshape(3, 1, 1)
    std = torch.tensor(VOC_STD, device=image.device).reshape(3, 1, 1)
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
        self.crop_size = _check_crop_size(crop_size)
        self.random_crop = is_train if random_crop is None else random_crop
        names, sizes = voc_split(self.voc_dir, is_train)
        h, w = self.crop_size
        self.names = [n for n, (height, width) in zip(names, sizes) if height >= h and width >= w]
        if not self.names:
            raise ValueError(
                f"crop_size={self.crop_size} is larger than every image of "
                f"{_split_file(self.voc_dir, is_train)} (the largest height is "
                f"{max(s[0] for s in sizes)}, the largest width {max(s[1] for s in sizes)}); "
                "choose a smaller crop_size")
        crop = v2.RandomCrop(self.crop_size) if self.random_crop else v2.CenterCrop(self.crop_size)
        self.transform = v2.Compose([
            crop,  # one crop window for the image and its mask
            v2.ToDtype({tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64},
                       scale=True),  # image / 255; the mask keeps its values
            # normalises images only, never masks; in place, as ToDtype made a new tensor
            v2.Normalize(VOC_MEAN, VOC_STD, inplace=True)])

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


def voc_folder(mode: str, root: str | os.PathLike | None = None, **demo: Any) -> Path:
    """The ``VOCdevkit/VOC2012`` folder of the real set (full) or of the demo set (demo).

    Full mode downloads (about 2 GB), SHA-1-verifies and extracts the archive once under
    ``root`` (default ``data_root()``); without network it raises
    :class:`~d2lhelpers.download.DownloadError` saying what to do. Demo mode generates the
    synthetic set; the keyword arguments ``demo`` go to :func:`make_voc_demo` and are
    ignored in full mode, so a notebook can pass its demo preset in both modes.
    """
    if resolve_mode(mode) == "full":
        from .download import download_extract
        return download_extract("voc2012", None if root is None else Path(root).expanduser()
                                ) / "VOC2012"
    return make_voc_demo(root, **demo)


# export: chapters/09-semantic-segmentation.ipynb
def load_voc(mode: str, batch_size: int, crop_size: Sequence[int],
             root: str | os.PathLike | None = None, **demo: Any
             ) -> tuple[DataLoader, DataLoader]:
    """``(train_iter, val_iter)`` over VOC2012 crops of ``crop_size`` = (height, width).

    Training batches are random crops, shuffled, the last incomplete batch dropped;
    validation batches are centre crops in file order, the same on every pass. ``mode``,
    ``root`` and ``demo`` are as in :func:`voc_folder`.
    """
    voc_dir = voc_folder(mode, root, **demo)
    train_iter = data_loader(VOCSegDataset(True, crop_size, voc_dir), batch_size,
                             shuffle=True, drop_last=True)
    val_iter = data_loader(VOCSegDataset(False, crop_size, voc_dir), batch_size,
                           shuffle=False)
    return train_iter, val_iter


# ------------------------------------------------------------------------- demo data
# Scenes of 1-3 objects over a muted, textured background. Each of the 20 object classes
# has its own outline, two colours and a texture (plain, stripes, dots or checks), so a
# small network can tell them apart; the colours of an object are jittered, its size,
# rotation and place are random, and objects may overlap or be cut off by the border.
# Labels get VOC's void band: every pixel within 2 pixels of a class boundary is 255.

_VOC_DEMO_VERSION = 1   # bump when the scenes change, so that old caches are not reused
_VOID_RADIUS = 2

# class -> (outline, main colour, second colour, texture)
_DEMO_LOOKS: dict[int, tuple[str, tuple[int, int, int], tuple[int, int, int], str]] = {
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


def _demo_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A muted two-colour gradient with smooth blotches, float32 ``(h, w, 3)``."""
    grey = rng.uniform(50, 210, 2)
    c0, c1 = (g + rng.normal(0, 14, 3) for g in grey)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    a = rng.uniform(0, 2 * np.pi)
    t = xx * np.cos(a) + yy * np.sin(a)
    t = (t - t.min()) / (np.ptp(t) + 1e-6)
    bg = c0 + (c1 - c0) * t[..., None]
    cells = int(rng.integers(3, 8))
    coarse = rng.normal(0, rng.uniform(8, 25), (cells, cells)).astype(np.float32)
    blotches = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC))
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
    image = _demo_background(h, w, rng)
    label = np.zeros((h, w), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    n_objects = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
    for _ in range(n_objects):
        cls = int(rng.integers(1, len(VOC_CLASSES)))
        outline, main, second, texture = _DEMO_LOOKS[cls]
        radius = min(h, w) * rng.uniform(0.22, 0.42)
        a = rng.uniform(0, 2 * np.pi)
        stretch = np.exp(rng.uniform(-0.2, 0.2))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * radius
        rot = rot @ np.diag([stretch, 1 / stretch])
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        pts = SHAPES[outline] @ rot.T + [cx, cy]
        canvas = Image.new("L", (w, h), 0)
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
    ``root`` (default ``data_root()/"demo"``) in a folder named after the arguments.
    """
    if n_train < 1 or n_val < 1:
        raise ValueError(f"need n_train >= 1 and n_val >= 1, got {n_train}, {n_val}")
    for name, (lo, hi) in (("height", height), ("width", width)):
        if not 16 <= lo <= hi:
            raise ValueError(f"{name}={(lo, hi)} must be a range (low, high) with 16 <= low <= high")
    target = (_demo_root(root) / f"voc-v{_VOC_DEMO_VERSION}-{n_train}x{n_val}-"
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

    return _build_once(target, build) / "VOCdevkit" / "VOC2012"

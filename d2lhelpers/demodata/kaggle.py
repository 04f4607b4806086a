"""The two Kaggle demo competitions, in the layouts Kaggle ships.

CIFAR-10: ``train/<n>.png``, ``test/<n>.png``, ``trainLabels.csv`` and
``sampleSubmission.csv``. Dog breeds: ``train/<hex id>.jpg``, ``test/<hex id>.jpg``,
``labels.csv`` and ``sample_submission.csv``, with cartoon dog heads of six breeds (head
shape, ear style, coat colours and markings tell them apart).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..fileio import build_once
from ..paths import demo_root
from .draw import SS, Canvas, ellipse, gradient_background, placement, save_png, tone
from .objects import CIFAR10_DEMO_CLASSES, render_shape

__all__ = ["DEMO_BREEDS", "make_kaggle_cifar10_demo", "make_kaggle_dog_demo", "render_dog"]

_VERSION = 1   # bump when the pictures change, so that old caches are not reused


def make_kaggle_cifar10_demo(root: str | os.PathLike | None = None, n_train: int = 1000,
                             n_test: int = 300, seed: int = 0) -> Path:
    """A synthetic CIFAR-10 competition folder; return its ``cifar-10`` folder.

    Writes ``train/1.png .. train/<n_train>.png`` and ``test/1.png .. test/<n_test>.png``
    (32 x 32 RGB shapes of the ten :data:`~d2lhelpers.demodata.objects.CIFAR10_DEMO_CLASSES`,
    balanced, in random order), ``trainLabels.csv`` (``id,label``) and
    ``sampleSubmission.csv`` (``id,label``, every test id labelled with the first class,
    as Kaggle's sample labels every row ``cat``). The folder is
    ``<root>/kaggle-cifar10-v<version>-<n_train>x<n_test>-seed<seed>/cifar-10`` (default
    root :func:`~d2lhelpers.paths.demo_root`), built once and atomically.
    """
    if n_train < 10 or n_test < 1:
        raise ValueError(f"need n_train >= 10 and n_test >= 1, got {n_train}, {n_test}")
    classes = list(CIFAR10_DEMO_CLASSES)
    target = demo_root(root) / f"kaggle-cifar10-v{_VERSION}-{n_train}x{n_test}-seed{seed}"

    def build(tmp: Path) -> None:
        folder = tmp / "cifar-10"
        rows = ["id,label"]
        for part, n, stream in (("train", n_train, 0), ("test", n_test, 1)):
            (folder / part).mkdir(parents=True)
            rng = np.random.default_rng([seed, stream])
            labels = rng.permutation(np.arange(n) % len(classes))
            for i, y in enumerate(labels, start=1):
                save_png(render_shape(classes[y], 32, rng), folder / part / f"{i}.png")
                if part == "train":
                    rows.append(f"{i},{classes[y]}")
        (folder / "trainLabels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        sample = ["id,label"] + [f"{i},{classes[0]}" for i in range(1, n_test + 1)]
        (folder / "sampleSubmission.csv").write_text("\n".join(sample) + "\n", encoding="utf-8")

    return build_once(target, build) / "cifar-10"


# Cartoon dog portraits. Each breed: head shape, ear style, coat colours and markings.
DEMO_BREEDS = ("beagle", "chihuahua", "doberman", "pug", "samoyed", "siberian_husky")
_EAR_POLYGONS = {  # the right ear in unit coordinates (mirrored for the left one), y down
    "pointy": [(0.22, -0.62), (0.78, -0.5), (0.62, -1.3)],
    "huge": [(0.18, -0.55), (0.95, -0.25), (1.3, -1.35)],
    "cropped": [(0.25, -0.65), (0.55, -0.6), (0.5, -1.55)],
    "folded": [(0.3, -0.78), (0.85, -0.6), (0.8, -0.2)],
}


def _dog_layers(breed: str, rng: np.random.Generator) -> list:
    """Filled polygons ``(colour, points, 0)`` of one dog head, in painter's order."""
    def jittered(rgb, s=18):
        return tone(rng, rgb, s)

    black, white = jittered((25, 22, 20), 8), jittered((240, 238, 232), 8)
    layers: list = []

    def inner(pts, shrink=0.55):  # a smaller copy of a polygon around its centroid
        pts = np.asarray(pts, float)
        return pts.mean(0) + shrink * (pts - pts.mean(0))

    def both(colour, pts):  # a polygon and its mirror image (ears, eyes, spots)
        pts = np.asarray(pts, float)
        layers.append((colour, pts, 0))
        layers.append((colour, pts * [-1, 1], 0))

    if breed == "beagle":
        coat, ear = jittered((190, 120, 55)), jittered((90, 55, 30))
        layers.append((coat, ellipse(0, 0, 0.72, 0.85), 0))
        layers.append((white, np.array([(-0.1, -0.85), (0.1, -0.85), (0.22, 0.3), (-0.22, 0.3)]), 0))
        layers.append((white, ellipse(0, 0.5, 0.42, 0.35), 0))
        both(ear, ellipse(0.72, 0.2, 0.26, 0.62))
        eyes, eye_colour, nose_y = 0.3, black, 0.38
    elif breed == "chihuahua":
        coat = jittered((215, 175, 120))
        both(coat, _EAR_POLYGONS["huge"])
        both(jittered((235, 170, 160)), inner(_EAR_POLYGONS["huge"]))
        layers.append((coat, ellipse(0, 0, 0.7, 0.68), 0))
        layers.append((jittered((235, 215, 185)), ellipse(0, 0.42, 0.3, 0.24), 0))
        eyes, eye_colour, nose_y = 0.32, black, 0.34
    elif breed == "doberman":
        coat, tan = jittered((30, 25, 25), 8), jittered((165, 90, 40))
        both(coat, _EAR_POLYGONS["cropped"])
        layers.append((coat, ellipse(0, -0.05, 0.55, 0.85), 0))
        layers.append((tan, ellipse(0, 0.5, 0.3, 0.4), 0))
        both(tan, ellipse(0.3, -0.32, 0.09, 0.06, 12))
        eyes, eye_colour, nose_y = 0.28, jittered((80, 50, 25)), 0.72
    elif breed == "pug":
        coat = jittered((205, 170, 115))
        layers.append((coat, ellipse(0, 0, 0.82, 0.8), 0))
        both(black, _EAR_POLYGONS["folded"])
        layers.append((black, ellipse(0, 0.38, 0.45, 0.35), 0))
        for y in (-0.5, -0.38):  # forehead wrinkles
            layers.append((jittered((120, 90, 60)), np.array([(-0.3, y), (0.3, y), (0.3, y + 0.04),
                                                          (-0.3, y + 0.04)]), 0))
        eyes, eye_colour, nose_y = 0.38, black, 0.28
    elif breed == "samoyed":
        t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
        r = 0.85 * (1 + 0.07 * np.sin(14 * t + rng.uniform(0, 6)))
        both(white, _EAR_POLYGONS["pointy"])
        layers.append((white, np.stack([r * np.cos(t), r * np.sin(t)], 1), 0))
        layers.append((jittered((225, 220, 210), 6), ellipse(0, 0.42, 0.32, 0.26), 0))
        eyes, eye_colour, nose_y = 0.3, black, 0.36
    elif breed == "siberian_husky":
        coat = jittered((110, 110, 120))
        both(coat, _EAR_POLYGONS["pointy"])
        both(white, inner(_EAR_POLYGONS["pointy"]))
        layers.append((coat, ellipse(0, 0, 0.78, 0.82), 0))
        layers.append((white, ellipse(0, 0.35, 0.55, 0.45), 0))
        both(white, ellipse(0.3, -0.3, 0.14, 0.1, 12))
        layers.append((white, np.array([(-0.06, -0.75), (0.06, -0.75), (0.1, 0), (-0.1, 0)]), 0))
        eyes, eye_colour, nose_y = 0.3, jittered((90, 160, 230), 12), 0.36
    else:
        raise ValueError(f"unknown breed {breed!r}; demo breeds are {DEMO_BREEDS}")
    both(eye_colour, ellipse(eyes, -0.12, 0.09, 0.09, 16))
    both(black, ellipse(eyes + 0.02, -0.13, 0.04, 0.04, 10))   # pupils
    layers.append((black, ellipse(0, nose_y, 0.13, 0.09, 16), 0))
    if rng.random() < 0.3:                                       # a tongue
        layers.append((jittered((220, 90, 100)), ellipse(0, nose_y + 0.22, 0.09, 0.12, 16), 0))
    return layers


def render_dog(breed: str, size: tuple[int, int], rng: np.random.Generator,
               noise: float = 8.0) -> Image.Image:
    """One cartoon dog head of ``breed`` on a random background; ``size = (width, height)``.

    The head gets a random size, a tilt of up to 25 degrees, a slight stretch and a
    random position; behind it a gradient with clutter, on top Gaussian noise.
    """
    w, h = size
    canvas = Canvas(gradient_background(w, h, rng)[0])
    canvas.clutter(rng)
    radius = SS * min(w, h) * rng.uniform(0.26, 0.36)
    matrix = placement(radius, np.deg2rad(rng.uniform(-25, 25)), np.exp(rng.uniform(-0.1, 0.1)))
    centre = SS * np.array([w, h]) * (0.5 + rng.uniform(-0.12, 0.12, 2)) + [0, 0.12 * radius]
    canvas.layers(_dog_layers(breed, rng), matrix, centre, radius)
    return canvas.finish(rng, noise)


def make_kaggle_dog_demo(root: str | os.PathLike | None = None, n_train: int = 600,
                         n_test: int = 60, seed: int = 0,
                         breeds: tuple[str, ...] = DEMO_BREEDS) -> Path:
    """A synthetic dog-breed competition folder; return its ``dog-breed-identification`` folder.

    Writes ``train/<id>.jpg`` and ``test/<id>.jpg`` (ids are 32 hex digits as on Kaggle;
    cartoon heads of ``breeds``, balanced, 80-160 px sides), ``labels.csv`` (``id,breed``)
    and ``sample_submission.csv`` (``id`` then one column per breed, alphabetical, each
    ``1/len(breeds)``). The folder is ``<root>/kaggle-dog-v<version>-<n_train>x<n_test>-
    <k>breeds-seed<seed>/dog-breed-identification`` (default root :func:`~d2lhelpers.paths.demo_root`).
    """
    breeds = tuple(sorted(breeds))
    if len(breeds) < 2 or n_train < len(breeds) or n_test < 1:
        raise ValueError(f"need at least 2 breeds, n_train >= {len(breeds)} and n_test >= 1")
    for breed in breeds:
        if breed not in DEMO_BREEDS:
            raise ValueError(f"unknown breed {breed!r}; demo breeds are {DEMO_BREEDS}")
    target = (demo_root(root) / f"kaggle-dog-v{_VERSION}-{n_train}x{n_test}-"
              f"{len(breeds)}breeds-seed{seed}")

    def build(tmp: Path) -> None:
        folder = tmp / "dog-breed-identification"
        labels, test_ids = ["id,breed"], []
        for part, n, stream in (("train", n_train, 0), ("test", n_test, 1)):
            (folder / part).mkdir(parents=True)
            rng = np.random.default_rng([seed, stream])
            for y in rng.permutation(np.arange(n) % len(breeds)):
                name = "".join(f"{b:02x}" for b in rng.integers(0, 256, 16))
                width = int(rng.integers(80, 161))
                height = int(np.clip(round(width * rng.uniform(0.75, 1.33)), 80, 160))
                img = render_dog(breeds[y], (width, height), rng)
                img.save(folder / part / f"{name}.jpg", format="JPEG", quality=90)
                if part == "train":
                    labels.append(f"{name},{breeds[y]}")
                else:
                    test_ids.append(name)
        (folder / "labels.csv").write_text("\n".join(labels) + "\n", encoding="utf-8")
        p = 1 / len(breeds)
        sample = [",".join(["id", *breeds])] + [",".join([i, *[f"{p:.6f}"] * len(breeds)])
                                                 for i in test_ids]
        (folder / "sample_submission.csv").write_text("\n".join(sample) + "\n", encoding="utf-8")

    return build_once(target, build) / "dog-breed-identification"

"""Cartoon foods for the hot-dog demo set: a hot dog and ten other foods.

Each food is a function of a random generator returning its layers (colour, outline in
unit coordinates, line width or 0) in painter's order. Colours overlap between the foods
and the hot dog (tan breads, red-browns, yellows, greens), so that shape decides.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .draw import Layer, annulus, capsule, ellipse, poly, regular_polygon, tone

__all__ = ["FOODS", "FOOD_KINDS"]

_BREAD = (205, 150, 85)
_MEAT = (160, 70, 45)
_YELLOW = (235, 195, 50)
_GREEN = (70, 150, 50)
_RED = (200, 40, 35)
_CREAM = (240, 230, 205)


def _hotdog(rng: np.random.Generator) -> list[Layer]:
    bun = tone(rng, _BREAD)
    layers = [(bun, capsule(0.7, rng.uniform(0.28, 0.36)), 0),
              (tone(rng, _MEAT), capsule(rng.uniform(0.85, 1.0), rng.uniform(0.13, 0.17)), 0)]
    if rng.random() < 0.75:
        x = np.linspace(-0.75, 0.75, rng.integers(7, 13))
        y = 0.08 * (-1.0) ** np.arange(len(x))
        sauce = _YELLOW if rng.random() < 0.6 else _RED
        layers.append((tone(rng, sauce), np.stack([x, y], 1), 0.06))
    if rng.random() < 0.3:
        topping = tone(rng, _GREEN if rng.random() < 0.5 else _CREAM)
        layers += [(topping, ellipse(x, y, 0.04, 0.04, 8), 0)
                   for x, y in zip(rng.uniform(-0.7, 0.7, 6), rng.uniform(-0.2, 0.2, 6))]
    return layers


def _pizza(rng: np.random.Generator) -> list[Layer]:
    def sector(r: float) -> np.ndarray:
        t = np.linspace(-0.32, 0.32, 12)
        return np.concatenate([[[0, 1.1]], np.stack([r * np.sin(t), 1.1 - r * np.cos(t)], 1)])
    layers = [(tone(rng, _BREAD), sector(2.05), 0), (tone(rng, _YELLOW), sector(1.8), 0)]
    meat = tone(rng, _RED if rng.random() < 0.5 else _MEAT)
    for _ in range(rng.integers(2, 5)):
        y = rng.uniform(-0.5, 0.6)
        x = rng.uniform(-1, 1) * (1.1 - y) * 0.25
        layers.append((meat, ellipse(x, y, 0.13, 0.13, 16), 0))
    return layers


def _burger(rng: np.random.Generator) -> list[Layer]:
    bun = tone(rng, _BREAD)
    dome = ellipse(0, 0, 0.95, 0.7)[24:]
    layers = [(bun, poly(-0.9, 0.45, 0.9, 0.45, 0.85, 0.75, -0.85, 0.75), 0),
              (tone(rng, _MEAT), capsule(0.75, 0.17) + [0, 0.3], 0),
              (tone(rng, _GREEN), np.stack([np.linspace(-0.95, 0.95, 11),
                                             0.1 + 0.06 * (-1.0) ** np.arange(11)], 1), 0.08),
              (bun, dome, 0)]
    if rng.random() < 0.5:
        layers.insert(2, (tone(rng, _YELLOW), poly(-0.8, 0.05, 0.8, 0.05, 0.9, 0.2, -0.9, 0.2), 0))
    seeds = tone(rng, _CREAM)
    layers += [(seeds, ellipse(x, y, 0.06, 0.035, 8), 0)
               for x, y in zip(rng.uniform(-0.6, 0.6, 5), rng.uniform(-0.55, -0.2, 5))]
    return layers


def _wavy(r: float, rng: np.random.Generator, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = r * (1 + 0.05 * np.sin(rng.integers(5, 9) * t + rng.uniform(0, 6)))
    return np.stack([rr * np.cos(t), rr * np.sin(t)], 1)


def _donut(rng: np.random.Generator) -> list[Layer]:
    layers = [(tone(rng, _BREAD), annulus(ellipse(0, 0, 1, 1), ellipse(0, 0, 0.38, 0.38)), 0)]
    if rng.random() < 0.8:
        icing = tone(rng, [(230, 130, 170), (110, 60, 35), _CREAM, _YELLOW][rng.integers(4)])
        layers.append((icing, annulus(_wavy(0.88, rng), _wavy(0.48, rng)), 0))
        for colour in [_RED, _GREEN, _YELLOW]:
            for _ in range(3):
                r, t = rng.uniform(0.55, 0.8), rng.uniform(0, 2 * np.pi)
                p = r * np.array([np.cos(t), np.sin(t)])
                d = 0.07 * np.array([np.cos(t + 1.2), np.sin(t + 1.2)])
                layers.append((tone(rng, colour), np.stack([p - d, p + d]), 0.04))
    return layers


def _sushi(rng: np.random.Generator) -> list[Layer]:
    rice = tone(rng, _CREAM, 12)
    if rng.random() < 0.5:   # maki, seen from above
        return [((30, 40, 30), ellipse(0, 0, 0.85, 0.85), 0), (rice, ellipse(0, 0, 0.7, 0.7), 0),
                (tone(rng, [(240, 120, 70), _GREEN, _RED][rng.integers(3)]),
                 ellipse(0, 0, 0.3, 0.3), 0)]
    layers = [(rice, capsule(0.6, 0.28) + [0, 0.2], 0),
              (tone(rng, [(240, 120, 70), _RED][rng.integers(2)]), capsule(0.72, 0.2) + [0, -0.15], 0)]
    if rng.random() < 0.5:
        layers.append(((30, 40, 30), poly(-0.15, -0.4, 0.15, -0.4, 0.15, 0.5, -0.15, 0.5), 0))
    return layers


def _broccoli(rng: np.random.Generator) -> list[Layer]:
    layers = [(tone(rng, (150, 190, 90)), poly(-0.18, 1, 0.18, 1, 0.35, 0.05, -0.35, 0.05), 0)]
    dark = tone(rng, _GREEN)
    for _ in range(rng.integers(6, 10)):
        r = rng.uniform(0.22, 0.38)
        layers.append((tone(rng, dark, 12), ellipse(rng.uniform(-0.6, 0.6), rng.uniform(-0.65, 0),
                                                      r, r, 20), 0))
    return layers


def _fries(rng: np.random.Generator) -> list[Layer]:
    fry = tone(rng, _YELLOW)
    layers = []
    for x in np.linspace(-0.45, 0.45, rng.integers(5, 9)):
        top, tilt = rng.uniform(-1, -0.45), rng.uniform(-0.15, 0.15)
        layers.append((tone(rng, fry, 10), poly(x - 0.07, 0.4, x + 0.07, 0.4,
                                                  x + tilt + 0.07, top, x + tilt - 0.07, top), 0))
    box = tone(rng, [_RED, _CREAM, _BREAD][rng.integers(3)])
    return layers + [(box, poly(-0.7, 0.05, 0.7, 0.05, 0.55, 1, -0.55, 1), 0)]


def _cake(rng: np.random.Generator) -> list[Layer]:
    def band(y0: float, y1: float) -> np.ndarray:   # a horizontal band of the wedge
        xh = lambda y: -0.9 + (y + 0.5) / 1.1 * 1.9
        return poly(-0.9, y0, xh(y0), y0, xh(y1), y1, -0.9, y1)
    sponge = tone(rng, [_BREAD, (110, 60, 35), _YELLOW][rng.integers(3)])
    cream = tone(rng, [_CREAM, (230, 130, 170), (110, 60, 35)][rng.integers(3)])
    layers = [(cream, band(-0.5, 0.6), 0)]
    layers += [(sponge, band(y, y + 0.22), 0) for y in (-0.28, 0.08, 0.38)]
    return layers + [(tone(rng, _RED), ellipse(-0.7, -0.62, 0.14, 0.14, 16), 0)]


def _cookie(rng: np.random.Generator) -> list[Layer]:
    layers = [(tone(rng, _BREAD), _wavy(0.95, rng), 0)]
    chip = tone(rng, (70, 40, 25), 15)
    for _ in range(rng.integers(5, 9)):
        c = rng.uniform(-0.6, 0.6, 2)
        layers.append((chip, c + regular_polygon(5, rng.uniform(0.08, 0.14)), 0))
    return layers


def _egg(rng: np.random.Generator) -> list[Layer]:
    return [(tone(rng, _CREAM, 10), _wavy(0.95, rng) * [1.0, rng.uniform(0.7, 1)], 0),
            (tone(rng, _YELLOW), ellipse(*rng.uniform(-0.2, 0.2, 2), 0.35, 0.35, 24), 0)]


def _banana(rng: np.random.Generator) -> list[Layer]:
    t = np.linspace(np.pi * 0.15, np.pi * 0.85, 20)
    outer = np.stack([1.1 * np.cos(t), 1.1 * np.sin(t) - 0.55], 1)
    inner = np.stack([0.85 * np.cos(t), 0.7 * np.sin(t) - 0.45], 1)
    tip = tone(rng, (80, 60, 30))
    return [(tone(rng, _YELLOW), np.concatenate([outer, inner[::-1]]), 0),
            (tip, ellipse(*outer[0], 0.06, 0.06, 8), 0), (tip, ellipse(*outer[-1], 0.06, 0.06, 8), 0)]


FOODS: dict[str, Callable[[np.random.Generator], list[Layer]]] = {
    "hotdog": _hotdog, "pizza": _pizza, "burger": _burger, "donut": _donut, "sushi": _sushi,
    "broccoli": _broccoli, "fries": _fries, "cake": _cake, "cookie": _cookie, "egg": _egg,
    "banana": _banana,
}
FOOD_KINDS = tuple(FOODS)

"""The style-transfer demo's style image: a synthetic painting of swirling brush strokes."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["make_style_painting"]


def make_style_painting(height: int = 300, width: int = 450, seed: int = 0,
                        strokes: int | None = None) -> Image.Image:
    """A synthetic "painting" of swirling brush strokes: the demo's style image.

    Curved strokes follow a smooth random flow field, in night-sky blues with bands of
    yellow and orange, drawn at twice the size and downsampled. Deterministic in ``seed``;
    nothing is downloaded.
    """
    if height < 8 or width < 8:
        raise ValueError(f"height={height} and width={width} must be at least 8 pixels")
    rng = np.random.default_rng(seed)
    ss = 2                                           # supersampling factor
    H, W, side = height * ss, width * ss, max(height, width) * ss
    blues = np.array([(20, 40, 110), (35, 75, 160), (70, 120, 200), (120, 170, 225)], float)
    warm = np.array([(240, 200, 60), (250, 150, 40), (235, 230, 195)], float)
    dark = np.array([(15, 30, 70), (25, 60, 50)], float)
    waves = rng.uniform(1.5, 5, (4, 2)), rng.uniform(0, 2 * np.pi, 4), rng.uniform(0.6, 1.6, 4)
    bands = rng.uniform(0.8, 2.5, (3, 2)), rng.uniform(0, 2 * np.pi, 3)

    def flow(x: float, y: float) -> float:           # stroke direction at (x, y), radians
        k, phase, amp = waves
        return float(sum(a * np.sin(2 * np.pi * (kx * x + ky * y) + p)
                         for (kx, ky), p, a in zip(k, phase, amp)))

    def warmth(x: float, y: float) -> float:         # > 0.3: a warm band
        k, phase = bands
        return float(np.mean([np.sin(2 * np.pi * (kx * x + ky * y) + p)
                              for (kx, ky), p in zip(k, phase)]))

    canvas = Image.new("RGB", (W, H), tuple(int(c) for c in blues[1]))
    draw = ImageDraw.Draw(canvas)
    for _ in range(strokes or height * width // 50):
        x, y = rng.uniform(0, W), rng.uniform(0, H)
        v = warmth(x / side, y / side)
        palette = warm if v > 0.3 else dark if v < -0.55 else blues
        colour = np.clip(palette[rng.integers(len(palette))] + rng.normal(0, 12, 3), 0, 255)
        points, step = [(x, y)], ss * rng.uniform(2, 4)
        for _ in range(rng.integers(6, 16)):
            angle = flow(x / side, y / side)
            x, y = x + step * np.cos(angle), y + step * np.sin(angle)
            points.append((x, y))
        draw.line(points, fill=tuple(int(c) for c in colour),
                  width=max(1, int(ss * rng.uniform(2, 5))), joint="curve")
    return canvas.resize((width, height), Image.LANCZOS)

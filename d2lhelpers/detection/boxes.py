"""Bounding boxes: corner/centre conversions, IoU and drawing boxes with matplotlib.

Boxes are tensors whose last dimension holds 4 numbers: corner form
``(x1, y1, x2, y2)`` (upper-left and lower-right corners) or centre form
``(cx, cy, w, h)``. Leading dimensions are free, so one function serves a list of
boxes ``(n, 4)`` and a batch of them ``(b, n, 4)``.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from matplotlib import patches

from ..checks import check_corner_boxes, check_last_dim

__all__ = ["box_corner_to_center", "box_center_to_corner", "box_iou", "bbox_to_rect",
           "show_bboxes"]


# export: chapters/03-bounding-boxes.ipynb
def box_corner_to_center(boxes: torch.Tensor) -> torch.Tensor:
    """Convert ``(x1, y1, x2, y2)`` boxes to ``(cx, cy, w, h)``; shape ``(..., 4)`` kept."""
    check_corner_boxes(boxes)
    x1, y1, x2, y2 = boxes.unbind(-1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    w, h = x2 - x1, y2 - y1
    return torch.stack((cx, cy, w, h), dim=-1)


# export: chapters/03-bounding-boxes.ipynb
def box_center_to_corner(boxes: torch.Tensor) -> torch.Tensor:
    """Convert ``(cx, cy, w, h)`` boxes to ``(x1, y1, x2, y2)``; shape ``(..., 4)`` kept."""
    check_last_dim(boxes, "boxes")
    cx, cy, w, h = boxes.unbind(-1)
    x1, y1 = cx - 0.5 * w, cy - 0.5 * h
    x2, y2 = cx + 0.5 * w, cy + 0.5 * h
    return torch.stack((x1, y1, x2, y2), dim=-1)


# export: chapters/04-anchor-boxes.ipynb
def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Intersection over union of every box in ``boxes1`` with every box in ``boxes2``.

    ``boxes1``: ``(..., n, 4)``, ``boxes2``: ``(..., m, 4)`` in corner form; returns
    ``(..., n, m)`` with entry ``[i, j] = IoU(boxes1[i], boxes2[j])``. Leading (batch)
    dimensions broadcast, so ``(b, a, 4)`` anchors vs ``(b, m, 4)`` boxes works in one call.
    """
    check_corner_boxes(boxes1, "boxes1")
    check_corner_boxes(boxes2, "boxes2")
    if boxes1.dim() < 2 or boxes2.dim() < 2:
        raise ValueError(f"boxes1 and boxes2 must be (..., n, 4) and (..., m, 4), got "
                         f"{tuple(boxes1.shape)} and {tuple(boxes2.shape)}")

    def area(boxes):
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])

    # Box i of boxes1 against box j of boxes2: broadcast (..., n, 1) against (..., 1, m).
    # Their intersection spans from the larger upper-left corner to the smaller
    # lower-right corner (one coordinate at a time: faster than pairs of coordinates).
    b1, b2 = boxes1[..., :, None, :], boxes2[..., None, :, :]
    x1 = torch.maximum(b1[..., 0], b2[..., 0])  # (..., n, m)
    y1 = torch.maximum(b1[..., 1], b2[..., 1])
    x2 = torch.minimum(b1[..., 2], b2[..., 2])
    y2 = torch.minimum(b1[..., 3], b2[..., 3])
    inter = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)  # no overlap: 0
    del x1, y1, x2, y2  # large for many anchors: free them early
    union = area(boxes1)[..., :, None] + area(boxes2)[..., None, :] - inter
    return inter / union


# export: chapters/03-bounding-boxes.ipynb
def bbox_to_rect(bbox: Sequence[float] | torch.Tensor, color: Any) -> patches.Rectangle:
    """A matplotlib rectangle (outline only) for one corner-form box ``(x1, y1, x2, y2)``."""
    x1, y1, x2, y2 = (float(v) for v in bbox)
    return patches.Rectangle(xy=(x1, y1), width=x2 - x1, height=y2 - y1,
                             fill=False, edgecolor=color, linewidth=2)


def show_bboxes(axes, bboxes: torch.Tensor | Sequence[Sequence[float]],
                labels: str | Sequence[str] | None = None,
                colors: Any | Sequence[Any] | None = None) -> None:
    """Draw corner-form boxes (in the image's pixel coordinates) on matplotlib ``axes``.

    ``labels`` (one string or one per box) are written at each box's upper-left
    corner; ``colors`` cycle when there are fewer colours than boxes.
    """
    def as_list(obj, default=None):
        if obj is None:
            return default
        return list(obj) if isinstance(obj, (list, tuple)) else [obj]

    labels = as_list(labels, [])
    colors = as_list(colors, ["b", "g", "r", "m", "c"])
    if isinstance(bboxes, torch.Tensor):
        bboxes = bboxes.detach().cpu().reshape(-1, 4).tolist()
    for i, bbox in enumerate(bboxes):
        color = colors[i % len(colors)]
        rect = bbox_to_rect(bbox, color)
        axes.add_patch(rect)
        if i < len(labels):
            text_color = "k" if color == "w" else "w"  # readable on a white label box
            axes.text(rect.xy[0], rect.xy[1], labels[i], va="center", ha="center",
                      fontsize=9, color=text_color, bbox=dict(facecolor=color, lw=0))

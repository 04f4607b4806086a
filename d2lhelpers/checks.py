"""Input checks shared by the package and the notebooks.

Each check raises an error that names the argument, shows what it got and says what is
expected, so that a beginner's mistake (centre-form boxes where corners are expected, a
missing batch dimension, a crop size in the wrong order) stops at the call that made it
rather than as a shape error three functions later. Value checks on tensors run on the
CPU only: on a GPU they would make the host wait for the device.
"""
from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["anchor_list", "check_box_labels", "check_corner_boxes", "check_crop_size",
           "check_detection_inputs", "check_last_dim", "check_matrix", "positive_list"]


def check_last_dim(boxes: torch.Tensor, name: str = "boxes") -> None:
    """Raise unless ``boxes`` is a tensor whose last dimension holds 4 numbers."""
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} must be a tensor of shape (..., 4), got {type(boxes).__name__}")
    if boxes.dim() == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., 4) (x1, y1, x2, y2 per box), "
                         f"got {tuple(boxes.shape)}")


def check_corner_boxes(boxes: torch.Tensor, name: str = "boxes") -> None:
    """Raise ValueError unless ``boxes`` is ``(..., 4)`` with ``x2 >= x1`` and ``y2 >= y1``.

    Vectorised: one comparison over all boxes; the message names the first bad row.
    The value check runs on CPU tensors only: on a GPU it would make the host wait for
    the device (a sync per training batch); data readers check boxes when loading.
    """
    check_last_dim(boxes, name)
    if boxes.device.type != "cpu":
        return
    bad = (boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])
    if bad.any():
        row = tuple(int(i) for i in bad.nonzero()[0])  # the first offending box
        where = f"{name}[{', '.join(map(str, row))}]" if row else name
        raise ValueError(
            f"{where} (box {boxes[row].tolist()}) has x2 < x1 or y2 < y1; boxes must be "
            "in corner form (x1, y1, x2, y2) with the lower-right corner last "
            "(convert centre-form boxes with box_center_to_corner first)")


def positive_list(values: Sequence[float], name: str) -> list[float]:
    """``values`` as a non-empty list of positive floats (anchor sizes, ratios)."""
    try:
        values = [float(v) for v in values]
    except TypeError:
        raise TypeError(f"{name} must be a list of numbers, got {values!r}") from None
    if not values:
        raise ValueError(f"{name} is empty; give at least one value, e.g. {name}=[0.5]")
    bad = [v for v in values if not v > 0]  # also catches NaN
    if bad:
        raise ValueError(f"{name}={values} must all be positive, got {bad}")
    return values


def anchor_list(anchors: torch.Tensor, name: str = "anchors") -> torch.Tensor:
    """``(1, a, 4)`` (as ``multibox_prior`` returns them) or ``(a, 4)`` -> ``(a, 4)``."""
    check_last_dim(anchors, name)
    if anchors.dim() == 3 and anchors.shape[0] == 1:
        anchors = anchors[0]
    if anchors.dim() != 2:
        raise ValueError(f"{name} must have shape (1, a, 4) or (a, 4), "
                         f"got {tuple(anchors.shape)}")
    return anchors


def check_box_labels(labels: torch.Tensor) -> None:
    """Raise unless ``labels`` is a batch of box labels ``(b, m, 5)``: rows (class, x1, y1, x2, y2)."""
    if not isinstance(labels, torch.Tensor) or labels.dim() != 3 or labels.shape[-1] != 5:
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels)
        raise ValueError(
            "labels must have shape (batch, boxes per image, 5) with rows "
            f"(class, x1, y1, x2, y2), got {shape}; for one box per image use "
            "labels[:, None, :] (a batch of the banana data is (b, 1, 5))")


def check_crop_size(crop_size: Sequence[int], name: str = "crop_size") -> tuple[int, int]:
    """``crop_size`` as ``(height, width)``: two positive integers."""
    try:
        h, w = (int(v) for v in crop_size)
        ok = (h, w) == tuple(crop_size) and h > 0 and w > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name}={crop_size!r} must be (height, width), two positive "
                         "integers, e.g. (320, 480)")
    return h, w


def check_matrix(t: torch.Tensor, name: str) -> None:
    """Raise unless ``t`` is a 2-D tensor (height, width): an input or kernel of the
    hand-written convolutions."""
    if not isinstance(t, torch.Tensor) or t.dim() != 2:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"{name} must be a 2-D tensor (height, width), got {shape}")


def check_detection_inputs(cls_probs: torch.Tensor, offset_preds: torch.Tensor,
                           anchors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Check :func:`~d2lhelpers.detection.anchors.multibox_detection`'s inputs against each
    other; return the anchors as ``(a, 4)`` and the offsets as ``(b, a, 4)``. A mismatch is
    an error showing the shapes."""
    anchors = anchor_list(anchors)
    if not isinstance(cls_probs, torch.Tensor) or cls_probs.dim() != 3 \
            or cls_probs.shape[1] < 2:
        raise ValueError("cls_probs must have shape (batch, 1 + classes, anchors) with the "
                         f"background first, got {getattr(cls_probs, 'shape', None)}")
    batch_size, _, num_anchors = cls_probs.shape
    if num_anchors != anchors.shape[0]:
        raise ValueError(f"cls_probs has {num_anchors} anchors (its last dimension) but "
                         f"anchors has {anchors.shape[0]}")
    if offset_preds.numel() != batch_size * num_anchors * 4:
        raise ValueError(f"offset_preds must have shape (batch, 4 * anchors) = "
                         f"({batch_size}, {4 * num_anchors}), got {tuple(offset_preds.shape)}")
    return anchors, offset_preds.reshape(batch_size, num_anchors, 4)

"""Mean average precision (mAP) for object detection, following the COCO protocol.

For every class and IoU threshold the detections of all images are sorted by score
(descending, stable), each is greedily matched to the unmatched ground truth box of the
same image and class with the highest IoU (at least the threshold), and the precision
of the resulting precision/recall curve, made monotone (running maximum from the right),
is averaged at the 101 recall points ``linspace(0, 1, 101)``.

Like ``pycocotools`` (area range "all", ``maxDets=100``) except: no crowd boxes, and the
precision has no ``eps`` in its denominator (a perfect AP is exactly 1.0, not 1 - 2e-16).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torchvision.ops import box_iou

__all__ = ["mean_average_precision", "detections_to_preds", "labels_to_targets",
           "COCO_IOU_THRESHOLDS"]

COCO_IOU_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
_RECALL_THRESHOLDS = torch.from_numpy(np.linspace(0.0, 1.0, 101))  # exactly COCO's recThrs


def _boxes(d: dict, key: str, i: int) -> torch.Tensor:
    if "boxes" not in d:
        raise KeyError(f"{key}[{i}] has no 'boxes'")
    b = torch.as_tensor(d["boxes"]).detach().cpu().to(torch.float64)
    if b.numel() == 0:
        return b.reshape(0, 4)
    if b.dim() != 2 or b.shape[1] != 4:
        raise ValueError(f"{key}[{i}]['boxes'] must be (k, 4) xyxy, got {tuple(b.shape)}")
    return b


def _vector(d: dict, name: str, key: str, i: int, k: int, dtype: torch.dtype) -> torch.Tensor:
    if name not in d:
        raise KeyError(f"{key}[{i}] has no '{name}'")
    v = torch.as_tensor(d[name]).detach().cpu().reshape(-1)
    if len(v) != k:
        raise ValueError(f"{key}[{i}]['{name}'] has {len(v)} entries for {k} boxes")
    if dtype == torch.int64:
        if v.is_floating_point() and not torch.equal(v, v.round()):
            raise ValueError(f"{key}[{i}]['labels'] must be integers, got {v.tolist()}")
        v = v.to(torch.int64)
        if (v < 0).any():
            raise ValueError(f"{key}[{i}]['labels'] must be >= 0 (drop background rows "
                             f"first, e.g. with detections_to_preds), got {v.tolist()}")
    return v.to(dtype)


def _match(ious: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """Greedy COCO matching of score-sorted detections (rows of the ``(d, g)`` ``ious``)
    at every threshold at once; returns a ``(T, d)`` bool tensor: true positive or not."""
    n_t, (n_d, n_g) = len(thresholds), ious.shape
    tp = torch.zeros(n_t, n_d, dtype=torch.bool)
    if n_g == 0:
        return tp
    taken = torch.zeros(n_t, n_g, dtype=torch.bool)
    rows = torch.arange(n_t)
    for j in range(n_d):
        ok = (ious[j] >= thresholds[:, None]) & ~taken                    # (T, g)
        cand = torch.where(ok, ious[j].expand(n_t, n_g), torch.tensor(-1.0, dtype=ious.dtype))
        best = n_g - 1 - cand.flip(1).argmax(1)      # ties: the last gt, as pycocotools
        hit = ok[rows, best]
        taken[rows[hit], best[hit]] = True
        tp[:, j] = hit
    return tp


def _average_precision(tp: torch.Tensor, n_gt: int) -> torch.Tensor:
    """101-point interpolated AP per row of ``tp`` (``(T, d)``, detections sorted by score)."""
    n_t, n_d = tp.shape
    if n_d == 0:
        return torch.zeros(n_t, dtype=torch.float64)
    tps = tp.to(torch.float64).cumsum(1)
    recall = tps / n_gt
    precision = tps / torch.arange(1, n_d + 1, dtype=torch.float64)
    precision = precision.flip(1).cummax(1).values.flip(1)  # running max from the right
    ap = torch.empty(n_t, dtype=torch.float64)
    for t in range(n_t):
        idx = torch.searchsorted(recall[t].contiguous(), _RECALL_THRESHOLDS, side="left")
        reached = idx < n_d                                   # recall never reached: 0
        ap[t] = precision[t][idx[reached]].sum() / len(_RECALL_THRESHOLDS)
    return ap


def mean_average_precision(preds: Sequence[dict], targets: Sequence[dict],
                           iou_thresholds: Sequence[float] | None = None,
                           num_classes: int | None = None,
                           max_detections: int | None = 100) -> dict:
    """COCO-style mAP of ``preds`` against ``targets`` (one dict per image each).

    ``preds[i]``: ``boxes`` ``(k, 4)`` xyxy (any unit, consistent with the targets),
    ``scores`` ``(k,)``, ``labels`` ``(k,)`` ints >= 0; ``targets[i]``: ``boxes``,
    ``labels``. An image without predictions may have empty tensors. ``iou_thresholds``
    defaults to COCO's 0.50:0.05:0.95; ``max_detections`` keeps the top-scoring
    detections per image and class (COCO: 100; ``None`` keeps all).

    Returns ``map`` (mean over the thresholds and the classes that have ground truth),
    ``map_50``, ``map_75`` (always at IoU 0.5 / 0.75), ``per_class`` (``(C,)`` AP over
    the thresholds, indexed by label), ``ap`` (``(T, C)``), ``iou_thresholds`` and
    ``classes`` (labels with ground truth). A class without ground truth gets -1 and is
    left out of every mean (as in pycocotools); with none at all the means are -1 too.
    """
    if len(preds) != len(targets):
        raise ValueError(f"preds has {len(preds)} images but targets has {len(targets)}")
    thr = list(COCO_IOU_THRESHOLDS if iou_thresholds is None else iou_thresholds)
    if not thr or not all(0.0 <= float(t) <= 1.0 for t in thr):
        raise ValueError(f"iou_thresholds must be a non-empty list in [0, 1], got {thr}")
    if max_detections is not None and max_detections < 1:
        raise ValueError(f"max_detections={max_detections} must be at least 1 (or None)")
    all_thr = sorted({float(t) for t in thr} | {0.5, 0.75})
    thresholds = torch.tensor(all_thr, dtype=torch.float64)

    images = []  # (pred boxes, scores, labels, gt boxes, gt labels)
    top = -1
    for i, (p, g) in enumerate(zip(preds, targets)):
        pb, gb = _boxes(p, "preds", i), _boxes(g, "targets", i)
        ps = _vector(p, "scores", "preds", i, len(pb), torch.float64)
        pl = _vector(p, "labels", "preds", i, len(pb), torch.int64)
        gl = _vector(g, "labels", "targets", i, len(gb), torch.int64)
        images.append((pb, ps, pl, gb, gl))
        top = max([top] + [int(v.max()) for v in (pl, gl) if len(v)])
    if num_classes is None:
        num_classes = top + 1
    elif num_classes < 0 or top >= num_classes:
        raise ValueError(f"num_classes={num_classes} but a label is {top}")

    ap = torch.full((len(all_thr), num_classes), -1.0, dtype=torch.float64)
    for c in range(num_classes):
        n_gt, scores, hits = 0, [], []
        for pb, ps, pl, gb, gl in images:
            d, g = pb[pl == c], gb[gl == c]
            s = ps[pl == c]
            order = torch.sort(s, descending=True, stable=True).indices[:max_detections]
            d, s = d[order], s[order]
            n_gt += len(g)
            scores.append(s)
            hits.append(_match(box_iou(d, g), thresholds))
        if n_gt == 0:
            continue  # no ground truth: AP undefined (-1), excluded from the means
        scores_c, hits_c = torch.cat(scores), torch.cat(hits, 1)
        order = torch.sort(scores_c, descending=True, stable=True).indices
        ap[:, c] = _average_precision(hits_c[:, order], n_gt)

    has_gt = ap[0] >= 0
    user = torch.tensor([all_thr.index(float(t)) for t in thr])

    def mean(rows: torch.Tensor) -> float:
        return float(rows[:, has_gt].mean()) if has_gt.any() else -1.0

    per_class = torch.where(has_gt, ap[user].mean(0), torch.tensor(-1.0, dtype=torch.float64))
    return {"map": mean(ap[user]), "map_50": mean(ap[[all_thr.index(0.5)]]),
            "map_75": mean(ap[[all_thr.index(0.75)]]), "per_class": per_class,
            "ap": ap[user], "iou_thresholds": [float(t) for t in thr],
            "classes": has_gt.nonzero().flatten().tolist()}


def detections_to_preds(output: torch.Tensor) -> list[dict]:
    """``multibox_detection`` output ``(b, a, 6)``, rows ``(class, confidence, x1, y1,
    x2, y2)``, to ``preds`` dicts for :func:`mean_average_precision`; rows with class -1
    (background or suppressed by NMS) are dropped."""
    output = torch.as_tensor(output)
    if output.dim() != 3 or output.shape[-1] != 6:
        raise ValueError(f"output must be (batch, anchors, 6), got {tuple(output.shape)}")
    preds = []
    for rows in output.detach():
        rows = rows[rows[:, 0] >= 0]
        preds.append({"boxes": rows[:, 2:6], "scores": rows[:, 1],
                      "labels": rows[:, 0].round().to(torch.int64)})
    return preds


def labels_to_targets(labels: torch.Tensor) -> list[dict]:
    """Textbook labels ``(b, m, 5)``, rows ``(class, x1, y1, x2, y2)`` with class -1 as
    padding, to ``targets`` dicts for :func:`mean_average_precision`."""
    labels = torch.as_tensor(labels)
    if labels.dim() != 3 or labels.shape[-1] != 5:
        raise ValueError(f"labels must be (batch, objects, 5), got {tuple(labels.shape)}")
    return [{"boxes": rows[rows[:, 0] >= 0][:, 1:5],
             "labels": rows[rows[:, 0] >= 0][:, 0].round().to(torch.int64)}
            for rows in labels.detach()]

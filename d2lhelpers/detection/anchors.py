"""Anchor boxes: generating them, labelling them for training, and turning predictions
into detections (offsets, non-maximum suppression).

Coordinates are normalised to [0, 1] (divide pixel coordinates by the image width and
height) and boxes are in corner form ``(x1, y1, x2, y2)``. Where the textbook loops in
Python, this module has two versions: a ``*_loop`` function that reads like the textbook
(for teaching and as a reference in the tests) and a vectorised or batched one that the
later sections use.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torchvision

from ..checks import (anchor_list, check_box_labels, check_corner_boxes, check_detection_inputs,
                      check_last_dim, positive_list)
from .boxes import box_iou

__all__ = ["multibox_prior", "greedy_assign", "assign_anchor_to_bbox",
           "assign_anchor_to_bbox_loop", "offset_boxes", "offset_inverse", "multibox_target",
           "multibox_target_loop", "nms", "nms_loop", "multibox_detection"]


# ---------------------------------------------------------------- generating anchors

# export: chapters/04-anchor-boxes.ipynb
def multibox_prior(data: torch.Tensor, sizes: Sequence[float],
                   ratios: Sequence[float]) -> torch.Tensor:
    """Anchor boxes centred on every pixel of ``data`` (a tensor ``(..., h, w)``).

    With n sizes s and m ratios r each pixel gets n + m - 1 anchors: (s_1, r_1), ...,
    (s_n, r_1) and (s_1, r_2), ..., (s_1, r_m). Returns ``(1, h * w * (n + m - 1), 4)``
    normalised corner coordinates, the anchors of one pixel next to each other.
    """
    if not isinstance(data, torch.Tensor) or data.dim() < 2:
        raise ValueError("data must be a tensor (..., height, width), e.g. a feature map "
                         f"(b, c, h, w); got {getattr(data, 'shape', type(data))}")
    sizes, ratios = positive_list(sizes, "sizes"), positive_list(ratios, "ratios")
    in_height, in_width = data.shape[-2:]
    if in_height == 0 or in_width == 0:
        raise ValueError(f"data has height {in_height} and width {in_width}; both must be > 0")
    device = data.device
    size_tensor = torch.tensor(sizes, device=device)
    ratio_tensor = torch.tensor(ratios, device=device)

    # Centre of pixel (i, j), normalised: ((j + 0.5) / w, (i + 0.5) / h)
    center_h = (torch.arange(in_height, device=device) + 0.5) * (1.0 / in_height)
    center_w = (torch.arange(in_width, device=device) + 0.5) * (1.0 / in_width)
    shift_y, shift_x = torch.meshgrid(center_h, center_w, indexing="ij")  # (h, w) each

    # Width and height of the n + m - 1 anchors. A size s and ratio r give w = s * sqrt(r),
    # h = s / sqrt(r) in units of the image height; multiplying w by h / w converts it to
    # units of the image width, so that ratio 1 gives anchors that are square in pixels.
    w = torch.cat((size_tensor * torch.sqrt(ratio_tensor[0]),
                   sizes[0] * torch.sqrt(ratio_tensor[1:]))) * in_height / in_width
    h = torch.cat((size_tensor / torch.sqrt(ratio_tensor[0]),
                   sizes[0] / torch.sqrt(ratio_tensor[1:])))
    half_extent = torch.stack((-w, -h, w, h), dim=1) / 2  # (k, 4), k = n + m - 1

    centers = torch.stack((shift_x, shift_y, shift_x, shift_y), dim=-1)  # (h, w, 4)
    anchors = centers[:, :, None, :] + half_extent  # (h, w, k, 4)
    return anchors.reshape(1, -1, 4)


# ---------------------------------------------------------------- labelling anchors

# export: chapters/04-anchor-boxes.ipynb
def greedy_assign(iou: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Assign boxes (columns) to anchors (rows) of a batch of IoU matrices ``(b, a, m)``.

    Entries of -1 mark columns that are no box (padding). Returns ``(b, a)`` box indices,
    -1 where an anchor gets none. One round per box, each round vectorised over the batch.
    """
    b, num_anchors, num_boxes = iou.shape
    if num_boxes == 0:
        return torch.full((b, num_anchors), -1, dtype=torch.long, device=iou.device)
    # Step 2 of the algorithm only reads the original IoUs, so do it first: every anchor
    # whose best IoU reaches the threshold gets that box. Step 1 below overrides it.
    max_ious, best_box = iou.max(dim=2)
    anchors_bbox_map = torch.where(max_ious >= iou_threshold, best_box, -1)

    # Step 1: repeatedly take the largest IoU left, assign that box to that anchor and
    # discard the anchor's row and the box's column (set to -1, below any real IoU).
    iou = iou.clone()
    batch = torch.arange(b, device=iou.device)
    for _ in range(min(num_anchors, num_boxes)):
        best, flat_idx = iou.reshape(b, -1).max(dim=1)  # ties: the first (lowest) index
        # Integer division. A float division, (flat_idx / num_boxes).long(), is off by one
        # anchor once the matrix has more than 2**24 entries (float32's exact integers).
        anc_idx = flat_idx // num_boxes
        box_idx = flat_idx % num_boxes
        found = best >= 0  # False once an image has no box left
        current = anchors_bbox_map[batch, anc_idx]
        anchors_bbox_map[batch, anc_idx] = torch.where(found, box_idx, current)
        iou[batch, :, box_idx] = -1
        iou[batch, anc_idx, :] = -1
    return anchors_bbox_map


# export: chapters/04-anchor-boxes.ipynb
def assign_anchor_to_bbox(ground_truth: torch.Tensor, anchors: torch.Tensor,
                          device: torch.device | str | None = None,
                          iou_threshold: float = 0.5) -> torch.Tensor:
    """Index of the ground-truth box assigned to each anchor, -1 for none.

    ``ground_truth``: ``(m, 4)`` boxes (or a batch ``(b, m, 4)``); ``anchors``: ``(a, 4)``
    (or ``(1, a, 4)``). Greedy: take the largest IoU of the whole matrix, assign, drop its
    row and column, repeat m times; then every other anchor whose best IoU is at least
    ``iou_threshold`` gets that box. Returns ``(a,)`` (or ``(b, a)``) int64 on ``device``.
    """
    anchors = anchor_list(anchors)
    check_corner_boxes(anchors, "anchors")
    check_corner_boxes(ground_truth, "ground_truth")
    if ground_truth.dim() not in (2, 3):
        raise ValueError("ground_truth must have shape (m, 4) or (b, m, 4), "
                         f"got {tuple(ground_truth.shape)}")
    single = ground_truth.dim() == 2
    gt = ground_truth[None] if single else ground_truth
    iou = box_iou(anchors.to(gt.dtype)[None], gt)  # (b, a, m)
    result = greedy_assign(iou, iou_threshold)
    result = result[0] if single else result
    return result.to(device) if device is not None else result


# export: chapters/04-anchor-boxes.ipynb
def assign_anchor_to_bbox_loop(ground_truth: torch.Tensor, anchors: torch.Tensor,
                               device: torch.device | str | None = None,
                               iou_threshold: float = 0.5) -> torch.Tensor:
    """The textbook's version of ``assign_anchor_to_bbox`` for one image (teaching).

    ``ground_truth``: ``(m, 4)``, ``anchors``: ``(a, 4)``; returns ``(a,)`` int64.
    """
    anchors = anchor_list(anchors)
    num_anchors, num_gt_boxes = anchors.shape[0], ground_truth.shape[0]
    device = device if device is not None else anchors.device
    jaccard = box_iou(anchors, ground_truth)  # (num_anchors, num_gt_boxes)
    anchors_bbox_map = torch.full((num_anchors,), -1, dtype=torch.long, device=device)
    if num_gt_boxes == 0:  # an image without objects: every anchor is background
        return anchors_bbox_map
    # Every anchor whose best IoU reaches the threshold gets that box ...
    max_ious, indices = torch.max(jaccard, dim=1)
    anc_i = torch.nonzero(max_ious >= iou_threshold).reshape(-1)
    box_j = indices[max_ious >= iou_threshold]
    anchors_bbox_map[anc_i] = box_j.to(device)
    # ... then, greedily, the largest IoU left pairs its anchor and box; both are
    # discarded (their row and column set to -1) before the next round
    for _ in range(num_gt_boxes):
        max_idx = torch.argmax(jaccard)  # an index into the flattened matrix
        if jaccard.reshape(-1)[max_idx] < 0:  # fewer anchors than boxes: none left
            break
        box_idx = max_idx % num_gt_boxes
        anc_idx = max_idx // num_gt_boxes  # integer division, see greedy_assign
        anchors_bbox_map[anc_idx] = box_idx
        jaccard[:, box_idx] = -1
        jaccard[anc_idx, :] = -1
    return anchors_bbox_map


# export: chapters/04-anchor-boxes.ipynb
def offset_boxes(anchors: torch.Tensor, assigned_bb: torch.Tensor,
                 eps: float = 1e-6) -> torch.Tensor:
    """Offsets of boxes relative to anchors, the regression target of a detector.

    For anchor centre (x_a, y_a), size (w_a, h_a) and box (x_b, y_b, w_b, h_b):
    ``(10 (x_b - x_a) / w_a, 10 (y_b - y_a) / h_a, 5 log(eps + w_b / w_a),
    5 log(eps + h_b / h_a))``, i.e. standard deviations (0.1, 0.1, 0.2, 0.2). Both inputs
    are corner-form ``(..., 4)`` and broadcast.
    """
    check_corner_boxes(anchors, "anchors")
    check_corner_boxes(assigned_bb, "assigned_bb")
    # checked above: torchvision's conversion (the same formula as box_corner_to_center)
    c_anc = torchvision.ops.box_convert(anchors, "xyxy", "cxcywh")
    c_bb = torchvision.ops.box_convert(assigned_bb, "xyxy", "cxcywh")
    offset_xy = 10 * (c_bb[..., :2] - c_anc[..., :2]) / c_anc[..., 2:]
    offset_wh = 5 * torch.log(eps + c_bb[..., 2:] / c_anc[..., 2:])
    return torch.cat((offset_xy, offset_wh), dim=-1)


# export: chapters/04-anchor-boxes.ipynb
def offset_inverse(anchors: torch.Tensor, offset_preds: torch.Tensor) -> torch.Tensor:
    """Boxes (corner form) from anchors and predicted offsets: the inverse of
    ``offset_boxes`` (up to its ``eps``). Shapes ``(..., 4)``, broadcast."""
    check_corner_boxes(anchors, "anchors")
    check_last_dim(offset_preds, "offset_preds")
    anc = torchvision.ops.box_convert(anchors, "xyxy", "cxcywh")
    pred_xy = offset_preds[..., :2] * anc[..., 2:] / 10 + anc[..., :2]
    pred_wh = torch.exp(offset_preds[..., 2:] / 5) * anc[..., 2:]
    return torchvision.ops.box_convert(torch.cat((pred_xy, pred_wh), dim=-1), "cxcywh", "xyxy")


# export: chapters/04-anchor-boxes.ipynb
def multibox_target(anchors: torch.Tensor, labels: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training targets of a batch: offsets, offset mask and class of every anchor.

    ``anchors``: ``(1, a, 4)`` or ``(a, 4)``; ``labels``: ``(b, m, 5)`` rows
    ``(class, x1, y1, x2, y2)``, where rows with a negative class (-1) are padding and
    ignored. Returns ``bbox_offset (b, 4a)``, ``bbox_mask (b, 4a)`` (1 for anchors that
    got a box, else 0) and ``class_labels (b, a)`` (0 background, class + 1 otherwise).
    The whole batch is labelled at once (see ``multibox_target_loop`` for the textbook's
    per-image loop).
    """
    anchors = anchor_list(anchors)
    check_box_labels(labels)
    check_corner_boxes(anchors, "anchors")
    if labels.shape[1] == 0:  # no boxes at all: one padding row keeps the indexing simple
        labels = labels.new_tensor([-1, 0, 0, 0, 0]).expand(labels.shape[0], 1, 5)
    valid = labels[..., 0] >= 0  # (b, m): False for padding rows
    gt_boxes = torch.where(valid[..., None], labels[..., 1:], 0)  # padding rows: empty boxes
    check_corner_boxes(gt_boxes, "labels")
    batch_size, num_anchors = labels.shape[0], anchors.shape[0]

    iou = box_iou(anchors[None], gt_boxes)  # (b, a, m)
    iou = iou.masked_fill(~valid[:, None, :], -1)  # padding boxes can never be chosen
    anchors_bbox_map = greedy_assign(iou, iou_threshold=0.5)  # (b, a)

    assigned = anchors_bbox_map >= 0
    box_idx = anchors_bbox_map.clamp(min=0)  # any valid index; masked out below
    gt_class = labels[..., 0].long().gather(1, box_idx)
    class_labels = torch.where(assigned, gt_class + 1, 0)
    gt_assigned = gt_boxes.gather(1, box_idx[..., None].expand(-1, -1, 4))
    assigned_bb = torch.where(assigned[..., None], gt_assigned, 0)
    bbox_mask = assigned[..., None].expand(-1, -1, 4).to(anchors.dtype)
    offset = offset_boxes(anchors, assigned_bb) * bbox_mask
    return (offset.reshape(batch_size, 4 * num_anchors),
            bbox_mask.reshape(batch_size, 4 * num_anchors), class_labels)


# export: chapters/04-anchor-boxes.ipynb
def multibox_target_loop(anchors: torch.Tensor, labels: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The textbook's ``multibox_target``: a loop over the images of the batch, each
    labelled with ``assign_anchor_to_bbox_loop``. Same inputs and outputs as
    ``multibox_target`` (teaching version and test reference)."""
    anchors = anchor_list(anchors)
    check_box_labels(labels)
    device, num_anchors = anchors.device, anchors.shape[0]
    batch_offset, batch_mask, batch_class_labels = [], [], []
    for i in range(labels.shape[0]):
        label = labels[i][labels[i, :, 0] >= 0]  # drop padding rows (class -1)
        anchors_bbox_map = assign_anchor_to_bbox_loop(label[:, 1:], anchors, device)
        bbox_mask = (anchors_bbox_map >= 0).to(anchors.dtype).unsqueeze(-1).repeat(1, 4)
        class_labels = torch.zeros(num_anchors, dtype=torch.long, device=device)
        assigned_bb = torch.zeros((num_anchors, 4), dtype=anchors.dtype, device=device)
        indices_true = torch.nonzero(anchors_bbox_map >= 0).reshape(-1)
        bb_idx = anchors_bbox_map[indices_true]
        class_labels[indices_true] = label[bb_idx, 0].long() + 1
        assigned_bb[indices_true] = label[bb_idx, 1:].to(anchors.dtype)
        offset = offset_boxes(anchors, assigned_bb) * bbox_mask
        batch_offset.append(offset.reshape(-1))
        batch_mask.append(bbox_mask.reshape(-1))
        batch_class_labels.append(class_labels)
    return torch.stack(batch_offset), torch.stack(batch_mask), torch.stack(batch_class_labels)


# ---------------------------------------------------------------- predicting boxes

# export: chapters/04-anchor-boxes.ipynb
def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Non-maximum suppression (torchvision's compiled kernel): indices of the kept
    ``(n, 4)`` boxes, by decreasing score. The version every later section uses."""
    return torchvision.ops.nms(boxes, scores, iou_threshold)


# export: chapters/04-anchor-boxes.ipynb
def nms_loop(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Non-maximum suppression as a Python loop (the textbook's, for teaching).

    Repeatedly keep the highest-scoring box left and drop every remaining box whose IoU
    with it exceeds ``iou_threshold``. Returns the kept indices by decreasing score, like
    ``nms``. Tied scores are visited in index order (a stable sort); torchvision's CPU
    kernel does the same in practice, but does not promise it (on CUDA tied boxes may be
    visited in another order, which can change which of them is kept).
    """
    check_corner_boxes(boxes, "boxes")
    if boxes.dim() != 2 or scores.shape != boxes.shape[:1]:
        raise ValueError(f"boxes must be (n, 4) and scores (n,), got {tuple(boxes.shape)} "
                         f"and {tuple(scores.shape)}")
    order = torch.sort(scores, descending=True, stable=True).indices
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        # the boxes were checked once above: torchvision's IoU (box_iou's formula) skips
        # checking them again in every round
        iou = torchvision.ops.box_iou(boxes[i][None], boxes[rest])[0]
        # Compare in float64 as torchvision does (a float32 IoU that rounds to 0.3 is
        # above the float64 0.3), and use "not >" rather than "<=": a NaN IoU (boxes of
        # zero area) keeps the box, again as torchvision does.
        order = rest[~(iou.double() > iou_threshold)]
    return torch.tensor(keep, dtype=torch.long, device=boxes.device)


# export: chapters/04-anchor-boxes.ipynb
def multibox_detection(cls_probs: torch.Tensor, offset_preds: torch.Tensor,
                       anchors: torch.Tensor, nms_threshold: float = 0.5,
                       pos_threshold: float = 0.009999999) -> torch.Tensor:
    """Detections of a batch from class probabilities and offsets of every anchor.

    ``cls_probs``: ``(b, 1 + classes, a)`` with background first; ``offset_preds``:
    ``(b, 4a)``; ``anchors``: ``(1, a, 4)`` or ``(a, 4)``. Each anchor predicts its best
    non-background class; NMS over each image's predicted boxes (all classes together)
    keeps some. Returns ``(b, a, 6)`` rows ``(class, confidence, x1, y1, x2, y2)``: kept
    rows first by decreasing confidence, then the suppressed ones (class -1) likewise;
    a confidence below ``pos_threshold`` makes a row background (class -1, confidence
    1 - confidence).
    """
    anchors, offset_preds = check_detection_inputs(cls_probs, offset_preds, anchors)
    batch_size, num_anchors = offset_preds.shape[:2]

    conf, class_id = cls_probs[:, 1:].max(dim=1)  # (b, a): best non-background class
    boxes = offset_inverse(anchors, offset_preds)  # (b, a, 4)
    keep = torch.zeros(batch_size, num_anchors, dtype=torch.bool, device=conf.device)
    for i in range(batch_size):  # one compiled NMS per image (classes together)
        keep[i, nms(boxes[i], conf[i], nms_threshold)] = True
    class_id = torch.where(keep, class_id, -1)

    # Row order: kept first, then suppressed; each by decreasing confidence. Two stable
    # sorts: by confidence, then (keeping that order within groups) by "suppressed".
    by_conf = torch.sort(conf, dim=1, descending=True, stable=True).indices
    suppressed = (~keep).gather(1, by_conf).to(torch.int8)
    order = by_conf.gather(1, torch.sort(suppressed, dim=1, stable=True).indices)
    class_id, conf = class_id.gather(1, order), conf.gather(1, order)
    boxes = boxes.gather(1, order[..., None].expand(-1, -1, 4))

    below = conf < pos_threshold  # too unsure: call it background
    class_id = torch.where(below, -1, class_id)
    conf = torch.where(below, 1 - conf, conf)
    return torch.cat((class_id[..., None].to(conf.dtype), conf[..., None], boxes), dim=-1)

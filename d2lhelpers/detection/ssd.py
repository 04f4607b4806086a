"""Single-shot multibox detection (SSD): the TinySSD of the SSD section, its loss and metrics.

Training runs through :func:`d2lhelpers.train.train_classifier` (the model returns a
tuple; :func:`ssd_loss` and :func:`anchor_accuracy` unpack it), so it shares the
training engine's device-side metrics, mixed precision, checkpoints and examples/s timing.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..runtime import Limited
from ..train import DeviceSums, eval_mode
from .anchors import multibox_detection, multibox_prior, multibox_target
from .metrics import detections_to_preds, labels_to_targets, mean_average_precision

__all__ = ["SIZES", "RATIOS", "cls_predictor", "bbox_predictor", "flatten_pred", "concat_preds",
           "down_sample_blk", "base_net", "get_blk", "blk_forward", "TinySSD", "ssd_loss",
           "anchor_accuracy", "ssd_errors", "detect", "evaluate_map"]

# five scales; at each the anchors use two sizes and three ratios (4 anchors per pixel)
SIZES = [[0.2, 0.272], [0.37, 0.447], [0.54, 0.619], [0.71, 0.79], [0.88, 0.961]]
RATIOS = [[1, 2, 0.5]] * 5


# export: chapters/07-ssd.ipynb
def cls_predictor(num_inputs, num_anchors, num_classes):
    """A 3x3 conv predicting (num_classes + 1) scores for each anchor at each position."""
    return nn.Conv2d(num_inputs, num_anchors * (num_classes + 1), kernel_size=3, padding=1)


# export: chapters/07-ssd.ipynb
def bbox_predictor(num_inputs, num_anchors):
    """A 3x3 conv predicting 4 offsets for each anchor at each position."""
    return nn.Conv2d(num_inputs, num_anchors * 4, kernel_size=3, padding=1)


# export: chapters/07-ssd.ipynb
def flatten_pred(pred):
    """(batch, channels, h, w) -> (batch, h * w * channels), channels varying fastest."""
    return torch.flatten(pred.permute(0, 2, 3, 1), start_dim=1)


# export: chapters/07-ssd.ipynb
def concat_preds(preds):
    """Concatenate the flattened predictions of several scales along dim 1."""
    return torch.cat([flatten_pred(p) for p in preds], dim=1)


# export: chapters/07-ssd.ipynb
def down_sample_blk(in_channels, out_channels):
    """Two 3x3 conv-BN-ReLU layers, then a 2x2 max-pool that halves height and width."""
    blk = []
    for _ in range(2):
        blk.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        blk.append(nn.BatchNorm2d(out_channels))
        blk.append(nn.ReLU())
        in_channels = out_channels
    blk.append(nn.MaxPool2d(2))
    return nn.Sequential(*blk)


# export: chapters/07-ssd.ipynb
def base_net():
    """Three down-sampling blocks (3 -> 16 -> 32 -> 64 channels): 256x256 -> 32x32."""
    blk = []
    num_filters = [3, 16, 32, 64]
    for i in range(len(num_filters) - 1):
        blk.append(down_sample_blk(num_filters[i], num_filters[i + 1]))
    return nn.Sequential(*blk)


# export: chapters/07-ssd.ipynb
def get_blk(i):
    """Block i of TinySSD: base net, three down-sampling blocks, global max-pool."""
    if i == 0:
        blk = base_net()
    elif i == 1:
        blk = down_sample_blk(64, 128)
    elif i == 4:
        blk = nn.AdaptiveMaxPool2d((1, 1))
    else:
        blk = down_sample_blk(128, 128)
    return blk


# export: chapters/07-ssd.ipynb
def blk_forward(X, blk, size, ratio, cls_predictor, bbox_predictor):
    """One scale: the block's feature map Y, its anchors and the class/box predictions."""
    Y = blk(X)
    anchors = multibox_prior(Y, sizes=size, ratios=ratio)
    cls_preds = cls_predictor(Y)
    bbox_preds = bbox_predictor(Y)
    return (Y, anchors, cls_preds, bbox_preds)


# export: chapters/07-ssd.ipynb
class TinySSD(nn.Module):
    """A five-scale SSD; returns (anchors, class predictions, box offset predictions)."""

    def __init__(self, num_classes, sizes=SIZES, ratios=RATIOS, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.sizes, self.ratios = num_classes, sizes, ratios
        num_anchors = len(sizes[0]) + len(ratios[0]) - 1
        idx_to_in_channels = [64, 128, 128, 128, 128]
        for i in range(5):
            # setattr registers the blocks, so net.blk_0 etc. are its submodules
            setattr(self, f"blk_{i}", get_blk(i))
            setattr(self, f"cls_{i}", cls_predictor(idx_to_in_channels[i], num_anchors,
                                                     num_classes))
            setattr(self, f"bbox_{i}", bbox_predictor(idx_to_in_channels[i], num_anchors))

    def forward(self, X):
        anchors, cls_preds, bbox_preds = [None] * 5, [None] * 5, [None] * 5
        for i in range(5):
            X, anchors[i], cls_preds[i], bbox_preds[i] = blk_forward(
                X, getattr(self, f"blk_{i}"), self.sizes[i], self.ratios[i],
                getattr(self, f"cls_{i}"), getattr(self, f"bbox_{i}"))
        anchors = torch.cat(anchors, dim=1)
        cls_preds = concat_preds(cls_preds)
        cls_preds = cls_preds.reshape(cls_preds.shape[0], -1, self.num_classes + 1)
        bbox_preds = concat_preds(bbox_preds)
        return anchors, cls_preds, bbox_preds


# export: chapters/07-ssd.ipynb
def ssd_loss(outputs, labels):
    """Per-image loss: cross-entropy over anchors plus L1 over the positive anchors' offsets."""
    anchors, cls_preds, bbox_preds = outputs
    bbox_labels, bbox_masks, cls_labels = multibox_target(anchors, labels)
    batch_size, num_classes = cls_preds.shape[0], cls_preds.shape[2]
    cls = F.cross_entropy(cls_preds.reshape(-1, num_classes), cls_labels.reshape(-1),
                          reduction="none").reshape(batch_size, -1).mean(dim=1)
    bbox = F.l1_loss(bbox_preds * bbox_masks, bbox_labels * bbox_masks,
                     reduction="none").mean(dim=1)
    return cls + bbox


def anchor_accuracy(outputs, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """(anchors classified right, anchors) as device tensors: the trainer's metric for SSD."""
    anchors, cls_preds, _ = outputs
    _, _, cls_labels = multibox_target(anchors, labels)
    return (cls_preds.argmax(dim=-1) == cls_labels).sum(), torch.full(
        (), cls_labels.numel(), device=cls_labels.device)


def ssd_errors(net: nn.Module, data_iter: Iterable) -> tuple[float, float]:
    """The textbook's two training figures over a data set: class error per anchor and
    mean absolute error of the positive anchors' offsets (per offset entry)."""
    device = next(net.parameters()).device
    sums = DeviceSums(4, device)   # wrong classes, anchors, absolute error, offset entries
    with eval_mode(net):
        for X, Y in Limited(data_iter):
            X, Y = X.to(device), Y.to(device)
            anchors, cls_preds, bbox_preds = net(X)
            bbox_labels, bbox_masks, cls_labels = multibox_target(anchors, Y)
            sums.add((cls_preds.argmax(dim=-1) != cls_labels).sum(), cls_labels.numel(),
                     ((bbox_labels - bbox_preds) * bbox_masks).abs().sum(), bbox_labels.numel())
    wrong, n_cls, abs_err, n_bbox = sums.read()
    return wrong / n_cls, abs_err / n_bbox


def detect(net: nn.Module, X: torch.Tensor, nms_threshold: float = 0.5) -> torch.Tensor:
    """Detections (batch, anchors, 6): rows (class, confidence, x1, y1, x2, y2), class -1
    for background or suppressed; coordinates normalised to [0, 1]."""
    with eval_mode(net):
        anchors, cls_preds, bbox_preds = net(X.to(next(net.parameters()).device))
        cls_probs = F.softmax(cls_preds.float(), dim=2).permute(0, 2, 1)
        return multibox_detection(cls_probs, bbox_preds.float(), anchors,
                                  nms_threshold=nms_threshold)


def evaluate_map(net: nn.Module, data_iter: Iterable,
                 iou_thresholds: Sequence[float] | None = None) -> dict:
    """COCO-style mean average precision of ``net`` on a labelled data set.

    ``data_iter`` yields (images, labels (batch, m, 5)) with class -1 marking padding rows.
    Returns :func:`mean_average_precision`'s dict (``map``, ``map_50``, ``map_75``, ...).
    """
    preds, targets = [], []
    for X, Y in Limited(data_iter):
        preds += detections_to_preds(detect(net, X).cpu())
        targets += labels_to_targets(Y)
    return mean_average_precision(preds, targets, iou_thresholds=iou_thresholds)

"""Fully convolutional networks (FCN) for semantic segmentation, and their metrics.

The network is a ResNet-18 without its global pooling and ``fc`` layer, a 1x1
convolution to one channel per class and a transposed convolution (kernel 64, stride 32,
padding 16) initialised to bilinear upsampling, which brings the stride-32 scores back
to the input's height and width. The loss is a per-pixel cross-entropy in which void
pixels (255) are ignored; the metrics (pixel accuracy, IoU per class, mIoU) come from a
confusion matrix that void pixels never enter. Whole images of any size are predicted
by tiling them with crops and averaging the scores where crops overlap.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_crop_size
from ..data.voc import VOC_CLASSES, VOID_INDEX, read_voc_example, voc_normalize
from ..runtime import Limited
from ..train import accuracy_counts, eval_mode

__all__ = ["bilinear_kernel", "confusion_matrix", "evaluate_segmentation", "fcn_resnet18",
           "predict_tiles", "resnet_body", "segmentation_accuracy", "segmentation_loss",
           "segmentation_scores", "tile_starts"]


# export: chapters/11-fcn.ipynb
def resnet_body(net: nn.Module) -> nn.Sequential:
    """The layers of a ResNet up to its last stage: no global pooling, no ``fc``.

    Works for torchvision's ``resnet18`` and the book's ``ResNet18`` alike (they share
    the layer names; the layers, and so their weights, are the same objects).
    """
    return nn.Sequential(OrderedDict([
        ("conv1", net.conv1), ("bn1", net.bn1), ("relu", nn.ReLU(inplace=True)),
        ("maxpool", net.maxpool), ("layer1", net.layer1), ("layer2", net.layer2),
        ("layer3", net.layer3), ("layer4", net.layer4)]))


# export: chapters/11-fcn.ipynb
def bilinear_kernel(in_channels: int, out_channels: int, kernel_size: int) -> torch.Tensor:
    """Weights ``(in, out, k, k)`` that make a transposed convolution upsample bilinearly.

    Channel ``i`` feeds channel ``i`` only, through a "tent" filter that falls linearly
    from its centre; with ``kernel_size = 2 * s``, stride ``s`` and padding ``s / 2`` the
    transposed convolution enlarges its input ``s`` times, as bilinear interpolation does.
    """
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float32)
    tent = 1 - torch.abs(og - center) / factor
    filt = tent.reshape(-1, 1) * tent.reshape(1, -1)
    weight = torch.zeros((in_channels, out_channels, kernel_size, kernel_size))
    channels = torch.arange(min(in_channels, out_channels))
    weight[channels, channels, :, :] = filt
    return weight


# export: chapters/11-fcn.ipynb
def fcn_resnet18(pretrained_net: nn.Module, num_classes: int = 21) -> nn.Sequential:
    """An FCN on the body of ``pretrained_net`` (a ResNet-18, any width).

    A 1x1 convolution turns the last stage's channels into ``num_classes`` score maps
    (Xavier init) and a transposed convolution (kernel 64, padding 16, stride 32, with a
    bilinear kernel and zero bias) enlarges them 32-fold: for an input whose height and
    width are multiples of 32 the output has the input's height and width.
    """
    net = resnet_body(pretrained_net)
    net.add_module("final_conv", nn.Conv2d(pretrained_net.fc.in_features, num_classes,
                                           kernel_size=1))
    net.add_module("transpose_conv", nn.ConvTranspose2d(num_classes, num_classes,
                                                        kernel_size=64, padding=16, stride=32))
    nn.init.xavier_uniform_(net.final_conv.weight)
    nn.init.zeros_(net.final_conv.bias)
    with torch.no_grad():
        net.transpose_conv.weight.copy_(bilinear_kernel(num_classes, num_classes, 64))
        net.transpose_conv.bias.zero_()
    return net


# export: chapters/11-fcn.ipynb
def segmentation_loss(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-image loss, shape ``(batch,)``: mean cross-entropy over the non-void pixels.

    ``ignore_index`` gives void pixels (255) a loss of 0, and they are left out of the
    count too, so an image's loss is the average over its labelled pixels only.
    """
    losses = F.cross_entropy(inputs, targets, reduction="none", ignore_index=VOID_INDEX)
    counted = (targets != VOID_INDEX).sum(dim=(1, 2)).clamp(min=1)
    return losses.sum(dim=(1, 2)) / counted


# export: chapters/11-fcn.ipynb
def segmentation_accuracy(outputs: torch.Tensor, targets: torch.Tensor
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """(correct, counted) pixels for the trainer, void pixels not counted at all."""
    return accuracy_counts(outputs, targets, ignore_index=VOID_INDEX)


# export: chapters/11-fcn.ipynb
def confusion_matrix(pred: torch.Tensor, target: torch.Tensor,
                     num_classes: int = len(VOC_CLASSES)) -> torch.Tensor:
    """``(num_classes, num_classes)`` pixel counts: row = true class, column = prediction.

    Pixels whose target is void (255) are skipped, whatever was predicted there.
    """
    keep = target != VOID_INDEX
    t, p = target[keep].long(), pred[keep].long()
    if t.numel() and (int(t.max()) >= num_classes or int(t.min()) < 0):
        raise ValueError(f"targets hold classes outside 0-{num_classes - 1} (and void {VOID_INDEX})")
    return torch.bincount(t * num_classes + p, minlength=num_classes ** 2
                          ).reshape(num_classes, num_classes)


# export: chapters/11-fcn.ipynb
def segmentation_scores(confusion: torch.Tensor) -> dict:
    """Pixel accuracy, IoU per class and mIoU from a confusion matrix.

    IoU of class c = pixels correctly called c / pixels that are c or were called c.
    A class that is neither in the labels nor in the predictions has no IoU (NaN) and
    is left out of the mean (mIoU).
    """
    c = confusion.double()
    tp, truth, called = c.diag(), c.sum(dim=1), c.sum(dim=0)
    union = truth + called - tp
    iou = torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))
    return {"pixel_acc": float(tp.sum() / c.sum().clamp(min=1)), "iou": iou,
            "miou": float(iou.nanmean())}


# export: chapters/11-fcn.ipynb
def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Offsets of tiles of size ``tile`` every ``stride`` pixels, the last one flush with the end."""
    if length <= tile:
        return [0]
    return list(range(0, length - tile, stride)) + [length - tile]


# export: chapters/11-fcn.ipynb
@torch.no_grad()
def predict_tiles(net: nn.Module, image: torch.Tensor, crop_size: Sequence[int],
                  stride: Sequence[int] | None = None, batch_size: int = 16) -> torch.Tensor:
    """Class scores ``(num_classes, H, W)`` for a whole uint8 image ``(3, H, W)``.

    The image is normalised, padded at the bottom and right if it is smaller than the
    crop, and cut into crops of ``crop_size`` every ``stride`` pixels (default: half a
    crop, the last crops flush with the edges); the network scores all crops, and each
    pixel gets the average of the scores of the crops that hold it. Call it with the
    network in eval mode.
    """
    h, w = check_crop_size(crop_size)
    sh, sw = (h // 2, w // 2) if stride is None else check_crop_size(stride, "stride")
    device = next(net.parameters()).device
    X = voc_normalize(image.to(device))
    H, W = X.shape[1:]
    X = F.pad(X, (0, max(0, w - W), 0, max(0, h - H)))
    corners = [(y, x) for y in tile_starts(X.shape[1], h, sh) for x in tile_starts(X.shape[2], w, sw)]
    tiles = torch.stack([X[:, y:y + h, x:x + w] for y, x in corners])
    scores = counts = None
    for i in range(0, len(tiles), batch_size):
        out = net(tiles[i:i + batch_size]).float()
        if out.shape[-2:] != (h, w):
            raise ValueError(f"the network turns a {h}x{w} crop into {tuple(out.shape[-2:])} "
                             "scores; choose a crop_size it maps to itself (for the FCN, "
                             "multiples of 32)")
        if scores is None:
            scores = torch.zeros((out.shape[1], *X.shape[1:]), device=device)
            counts = torch.zeros((1, *X.shape[1:]), device=device)
        for (y, x), s in zip(corners[i:i + batch_size], out):
            scores[:, y:y + h, x:x + w] += s
            counts[:, y:y + h, x:x + w] += 1
    return (scores / counts)[:, :H, :W]


# export: chapters/11-fcn.ipynb
def evaluate_segmentation(net: nn.Module, voc_dir: str | os.PathLike, names: Iterable[str],
                          crop_size: Sequence[int], num_classes: int = len(VOC_CLASSES)
                          ) -> torch.Tensor:
    """The confusion matrix of ``net`` over the whole images ``names`` (tiled prediction;
    a bounded run, :mod:`d2lhelpers.runtime`, stops early)."""
    confusion = torch.zeros((num_classes, num_classes), dtype=torch.int64)
    with eval_mode(net):
        for name in Limited(list(names)):
            image, label = read_voc_example(voc_dir, name)
            pred = predict_tiles(net, image, crop_size).argmax(dim=0).cpu()
            confusion += confusion_matrix(pred, label, num_classes)
    return confusion

"""FCN: bilinear initialisation, the network, void-aware loss and metrics, tiled prediction."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from d2lhelpers.data.voc import read_voc_label, voc_normalize, voc_split
from d2lhelpers.data.voc_classes import VOID_INDEX
from d2lhelpers.demodata.voc import make_voc_demo
from d2lhelpers.models import ResNet18
from d2lhelpers.segmentation.fcn import (bilinear_kernel, confusion_matrix, evaluate_segmentation,
                                         fcn_resnet18, predict_tiles, resnet_body,
                                         segmentation_accuracy, segmentation_loss,
                                         segmentation_scores, tile_starts)


# ---------------------------------------------------------------------- bilinear kernel

@pytest.mark.parametrize("scale", [2, 4, 32])
def test_bilinear_kernel_upsamples_like_interpolate_away_from_the_borders(scale: int) -> None:
    channels = 3
    up = nn.ConvTranspose2d(channels, channels, kernel_size=2 * scale, padding=scale // 2,
                            stride=scale, bias=False)
    up.weight.data.copy_(bilinear_kernel(channels, channels, 2 * scale))
    x = torch.randn(2, channels, 5, 7, generator=torch.Generator().manual_seed(scale))
    with torch.no_grad():
        ours = up(x)
    ref = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    assert ours.shape == ref.shape == (2, channels, 5 * scale, 7 * scale)
    m = scale  # within one input pixel of the border, interpolate clamps and the kernel fades
    assert torch.allclose(ours[..., m:-m, m:-m], ref[..., m:-m, m:-m], atol=1e-5)
    assert not torch.allclose(ours, ref, atol=1e-3)      # ... and there they do differ


def test_bilinear_kernel_keeps_channels_apart() -> None:
    w = bilinear_kernel(4, 4, 6)
    off_diagonal = w.sum(dim=(2, 3)) * (1 - torch.eye(4))
    assert off_diagonal.abs().max() == 0
    assert torch.allclose(w[0, 0], w[3, 3]) and w[0, 0].max() < 1 and w[0, 0].min() > 0
    odd = bilinear_kernel(1, 1, 3)[0, 0]
    assert torch.allclose(odd, torch.tensor([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]))


# ----------------------------------------------------------------------------- network

def test_resnet_body_is_the_resnet_before_pooling() -> None:
    torch.manual_seed(0)
    ours = ResNet18(10, width=8, stem="imagenet").eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        assert torch.allclose(resnet_body(ours)(x), ours.features(x), atol=1e-6)
    tv = torchvision.models.resnet18().eval()       # untrained, full width: no download
    x = torch.randn(1, 3, 320, 480)
    with torch.no_grad():
        y = resnet_body(tv)(x)
        ref = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))
    assert y.shape == (1, 512, 10, 15) and torch.allclose(y, ref, atol=1e-6)
    assert resnet_body(tv).layer4 is tv.layer4      # shared, so the pretrained weights are used


def test_fcn_output_has_the_input_size_and_bilinear_init() -> None:
    torch.manual_seed(0)
    net = fcn_resnet18(ResNet18(10, width=4, stem="imagenet"), num_classes=21)
    assert [name for name, _ in net.named_children()][-2:] == ["final_conv", "transpose_conv"]
    assert net.final_conv.in_channels == 32 and net.final_conv.out_channels == 21
    tc = net.transpose_conv
    assert (tc.kernel_size, tc.stride, tc.padding) == ((64, 64), (32, 32), (16, 16))
    assert torch.equal(tc.weight, bilinear_kernel(21, 21, 64)) and not tc.bias.any()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 64, 96)).shape == (2, 21, 64, 96)


# ------------------------------------------------------------------- void is never background

def void_example():
    """Logits and targets with void pixels where the logits say 'background' loudly."""
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 4, (2, 6, 8), generator=g)
    target[:, :, :2] = VOID_INDEX                         # 24 of 96 pixels are void
    logits = torch.randn(2, 4, 6, 8, generator=g)
    logits[:, 0][target == VOID_INDEX] = 20.0             # predicted background at void
    return logits, target


def test_loss_ignores_void() -> None:
    logits, target = void_example()
    losses = segmentation_loss(logits, target)
    assert losses.shape == (2,)
    keep = target != VOID_INDEX
    for i in range(2):   # the mean cross-entropy over the labelled pixels only
        expected = F.cross_entropy(logits[i].permute(1, 2, 0)[keep[i]], target[i][keep[i]])
        assert torch.allclose(losses[i], expected, atol=1e-6)
    shuffled = logits.clone()
    shuffled[:, :, :, :2] = torch.randn(2, 4, 6, 2)       # whatever is predicted at void ...
    assert torch.allclose(segmentation_loss(shuffled, target), losses)   # ... costs nothing
    as_background = torch.where(target == VOID_INDEX, 0, target)         # the textbook's bug
    assert not torch.allclose(segmentation_loss(logits, as_background), losses)
    all_void = torch.full_like(target, VOID_INDEX)
    assert torch.equal(segmentation_loss(logits, all_void), torch.zeros(2))   # no NaN


def test_accuracy_ignores_void() -> None:
    logits, target = void_example()
    correct, counted = segmentation_accuracy(logits, target)
    keep = target != VOID_INDEX
    assert int(counted) == int(keep.sum()) == 2 * 6 * 6
    assert int(correct) == int((logits.argmax(1) == target)[keep].sum())
    as_background = torch.where(target == VOID_INDEX, 0, target)
    assert int(segmentation_accuracy(logits, as_background)[0]) > int(correct)


def test_confusion_matrix_and_miou_ignore_void() -> None:
    logits, target = void_example()
    pred = logits.argmax(1)
    conf = confusion_matrix(pred, target, num_classes=4)
    assert conf.sum() == (target != VOID_INDEX).sum()
    keep = target != VOID_INDEX
    for t in range(4):
        for p in range(4):
            assert conf[t, p] == ((target == t) & (pred == p) & keep).sum()
    other_pred = torch.where(target == VOID_INDEX, 3, pred)   # change predictions at void only
    assert torch.equal(confusion_matrix(other_pred, target, 4), conf)
    as_background = torch.where(target == VOID_INDEX, 0, target)
    buggy = segmentation_scores(confusion_matrix(pred, as_background, 4))
    assert buggy["miou"] != pytest.approx(segmentation_scores(conf)["miou"])


def test_segmentation_scores_known_answer() -> None:
    # rows: true class, columns: predicted; class 1 was called 5 times, 3 rightly, and is
    # truly 5 pixels: IoU 3 / (5 + 5 - 3)
    conf = torch.tensor([[5, 1, 0, 0], [2, 3, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]])
    s = segmentation_scores(conf)
    assert s["pixel_acc"] == pytest.approx(8 / 12)
    assert torch.allclose(s["iou"][:2], torch.tensor([5 / 8, 3 / 7], dtype=torch.float64))
    assert math.isnan(s["iou"][2])                      # absent everywhere: left out
    assert s["iou"][3] == 0                             # present in the labels, never found
    assert s["miou"] == pytest.approx((5 / 8 + 3 / 7 + 0) / 3)


def test_confusion_matrix_rejects_unknown_classes() -> None:
    with pytest.raises(ValueError, match="outside 0-3"):
        confusion_matrix(torch.zeros(2, 2), torch.tensor([[0, 4], [1, VOID_INDEX]]), 4)


# ----------------------------------------------------------------------- tiled prediction

@pytest.mark.parametrize("length, tile, stride", [(100, 32, 16), (64, 64, 32), (20, 32, 16),
                                                  (97, 32, 32)])
def test_tiles_cover_everything_and_stay_inside(length, tile, stride) -> None:
    starts = tile_starts(length, tile, stride)
    covered = torch.zeros(max(length, tile), dtype=torch.bool)
    for s in starts:
        covered[s:s + tile] = True
    assert covered[:length].all() and starts[0] == 0
    assert max(starts) == max(0, length - tile) and starts == sorted(set(starts))


class Recorder(nn.Module):
    """A per-pixel 'network' (1x1 conv), so tiles must reproduce the whole-image output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, kernel_size=1)
        self.batches = []

    def forward(self, x):
        self.batches.append(tuple(x.shape))
        return self.conv(x)


@pytest.mark.parametrize("height, width", [(70, 100), (32, 64), (20, 30), (40, 200)])
def test_tiled_prediction_equals_whole_image_prediction(height: int, width: int) -> None:
    torch.manual_seed(0)
    net = Recorder()
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
    scores = predict_tiles(net, image, (32, 64), batch_size=4)
    with torch.no_grad():
        expected = net.conv(voc_normalize(image)[None])[0]
    assert scores.shape == (5, height, width)
    assert torch.allclose(scores, expected, atol=1e-5)
    assert all(b[1:] == (3, 32, 64) and b[0] <= 4 for b in net.batches)


def test_tiled_prediction_refuses_a_crop_the_network_does_not_keep() -> None:
    net = nn.Conv2d(3, 5, kernel_size=3, stride=2, padding=1)
    with pytest.raises(ValueError, match="crop_size.*multiples of 32"):
        predict_tiles(net, torch.zeros(3, 50, 50, dtype=torch.uint8), (32, 32))
    with pytest.raises(ValueError, match="crop_size"):
        predict_tiles(net, torch.zeros(3, 50, 50, dtype=torch.uint8), (0, 32))


def test_evaluate_segmentation_counts_labelled_pixels_and_restores_mode(tmp_path: Path) -> None:
    voc_dir = make_voc_demo(tmp_path, n_train=2, n_val=4, height=(40, 70), width=(50, 90))
    names, _ = voc_split(voc_dir, False)

    class AlwaysBackground(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

        def forward(self, x):
            out = torch.zeros(x.shape[0], 21, *x.shape[2:])
            out[:, 0] = self.scale
            return out

    net = AlwaysBackground().train()
    conf = evaluate_segmentation(net, voc_dir, names, (32, 32))
    assert net.training
    labels = [read_voc_label(voc_dir / "SegmentationClass" / f"{n}.png") for n in names]
    truth = torch.bincount(torch.cat([y[y != VOID_INDEX].long() for y in labels]), minlength=21)
    assert torch.equal(conf[:, 0], truth) and conf[:, 1:].sum() == 0
    s = segmentation_scores(conf)
    assert s["pixel_acc"] == pytest.approx(float(truth[0] / truth.sum()))
    assert s["miou"] == pytest.approx(float(truth[0] / truth.sum()) / int((truth > 0).sum()))

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from d2lhelpers.detection.anchors import multibox_prior, multibox_target, offset_boxes
from d2lhelpers.data.banana import load_bananas
from d2lhelpers.detection.ssd import (SIZES, RATIOS, TinySSD, anchor_accuracy, bbox_predictor,
                            cls_predictor, concat_preds, detect, down_sample_blk, evaluate_map, flatten_pred, ssd_errors, ssd_loss)
from d2lhelpers.train import train_classifier

CPU = [torch.device("cpu")]

# Four anchors tiling the image in quarters: (top-left, top-right, bottom-left, bottom-right)
QUARTERS = torch.tensor([[[0.0, 0.0, 0.5, 0.5], [0.5, 0.0, 1.0, 0.5],
                          [0.0, 0.5, 0.5, 1.0], [0.5, 0.5, 1.0, 1.0]]])


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- shapes

def test_tinyssd_output_shapes_at_256px():
    torch.manual_seed(0)
    net = TinySSD(num_classes=1).eval()
    with torch.no_grad():
        anchors, cls_preds, bbox_preds = net(torch.rand(32, 3, 256, 256) * 255)
    assert anchors.shape == (1, 5444, 4)
    assert cls_preds.shape == (32, 5444, 2)
    assert bbox_preds.shape == (32, 21776)
    # the anchors of the five scales (feature maps 32, 16, 8, 4, 1), in that order
    expected = torch.cat([multibox_prior(torch.zeros(1, 1, s, s), SIZES[i], RATIOS[i])
                          for i, s in enumerate([32, 16, 8, 4, 1])], dim=1)
    torch.testing.assert_close(anchors, expected)


def test_tinyssd_classes_set_score_width():
    with torch.no_grad():
        anchors, cls_preds, bbox_preds = TinySSD(num_classes=3).eval()(torch.rand(2, 3, 64, 64))
    # 64 px: feature maps 8, 4, 2, 1, 1 with 4 anchors per position
    a = 4 * (64 + 16 + 4 + 1 + 1)
    assert anchors.shape == (1, a, 4)
    assert cls_preds.shape == (2, a, 4)
    assert bbox_preds.shape == (2, 4 * a)


def test_down_sample_blk_halves_height_and_width():
    blk = down_sample_blk(3, 10)
    assert blk(torch.zeros(2, 3, 20, 20)).shape == (2, 10, 10, 10)
    assert blk(torch.zeros(1, 3, 64, 32)).shape == (1, 10, 32, 16)


def test_flatten_and_concat_preds():
    # the textbook's example: class predictions of two scales (5 and 3 anchors, 10 classes)
    torch.manual_seed(0)
    Y1 = cls_predictor(8, 5, 10)(torch.zeros(2, 8, 20, 20))
    Y2 = cls_predictor(16, 3, 10)(torch.zeros(2, 16, 10, 10))
    assert Y1.shape == (2, 55, 20, 20) and Y2.shape == (2, 33, 10, 10)
    assert concat_preds([Y1, Y2]).shape == (2, 25300)
    assert bbox_predictor(8, 5)(torch.zeros(2, 8, 20, 20)).shape == (2, 20, 20, 20)
    Y = torch.randn(2, 8, 20, 20, generator=gen(0))
    flat = flatten_pred(Y)
    assert flat.shape == (2, 3200)
    # channels vary fastest: entry (b, (i * w + j) * c + k) is Y[b, k, i, j]
    b, k, i, j = 1, 5, 3, 7
    assert flat[b, (i * 20 + j) * 8 + k] == Y[b, k, i, j]
    Z = torch.randn(2, 16, 10, 10, generator=gen(1))
    torch.testing.assert_close(concat_preds([Y, Z]), torch.cat([flat, flatten_pred(Z)], 1))


# ---------------------------------------------------------------- loss and metrics

def _targets(anchors: torch.Tensor, labels: torch.Tensor):
    return multibox_target(anchors, labels)


def _batch():
    """TinySSD anchors of a 64 px image and labels of three images (one with a padding row)."""
    with torch.no_grad():
        anchors = TinySSD(num_classes=1).eval()(torch.zeros(1, 3, 64, 64))[0]
    labels = torch.tensor([[[0, 0.10, 0.20, 0.45, 0.60], [-1, 0, 0, 0, 0]],
                           [[0, 0.50, 0.50, 0.90, 0.95], [-1, 0, 0, 0, 0]],
                           [[0, 0.05, 0.55, 0.30, 0.90], [0, 0.60, 0.10, 0.95, 0.40]]])
    return anchors, labels


def test_ssd_loss_one_value_per_image_and_near_zero_when_perfect():
    anchors, labels = _batch()
    bbox_labels, bbox_masks, cls_labels = _targets(anchors, labels)
    a = anchors.shape[1]
    assert (bbox_masks.sum(1) > 0).all()  # every image has positive anchors
    # perfect: the targets' offsets and a large logit on the right class
    cls_preds = torch.nn.functional.one_hot(cls_labels, 2).float() * 30
    loss = ssd_loss((anchors, cls_preds, bbox_labels.clone()), labels)
    assert loss.shape == (3,)
    assert loss.max() < 1e-6
    # the same boxes with uniform class scores: log 2 per anchor, nothing from the boxes
    torch.testing.assert_close(ssd_loss((anchors, torch.zeros(3, a, 2), bbox_labels), labels),
                               torch.full((3,), math.log(2)))
    # zero offsets: the mean absolute target offset (over all 4a entries) is added
    loss = ssd_loss((anchors, cls_preds, torch.zeros(3, 4 * a)), labels)
    torch.testing.assert_close(loss, bbox_labels.abs().mean(dim=1), atol=1e-6, rtol=1e-5)
    assert (loss > 1e-3).all()
    # the loss of an image depends on that image only
    cls_preds[1] = -cls_preds[1]
    loss = ssd_loss((anchors, cls_preds, bbox_labels), labels)
    assert loss[0] < 1e-6 and loss[2] < 1e-6 and loss[1] > 10


def test_ssd_loss_box_term_ignores_negative_anchors():
    anchors, labels = _batch()
    bbox_labels, bbox_masks, cls_labels = _targets(anchors, labels)
    cls_preds = torch.randn(3, anchors.shape[1], 2, generator=gen(0))
    bbox_preds = torch.randn(bbox_labels.shape, generator=gen(1))
    base = ssd_loss((anchors, cls_preds, bbox_preds), labels)
    junk = torch.randn(bbox_labels.shape, generator=gen(2)) * 100
    at_negatives = torch.where(bbox_masks > 0, bbox_preds, junk)
    torch.testing.assert_close(ssd_loss((anchors, cls_preds, at_negatives), labels), base)
    at_positives = torch.where(bbox_masks > 0, junk, bbox_preds)
    assert (ssd_loss((anchors, cls_preds, at_positives), labels) > base + 0.1).all()


def test_anchor_accuracy_counts():
    anchors, labels = _batch()
    _, _, cls_labels = _targets(anchors, labels)
    a = anchors.shape[1]
    cls_preds = torch.nn.functional.one_hot(cls_labels, 2).float()
    cls_preds[0, :10] = cls_preds[0, :10].flip(-1)  # ten wrong in image 0
    cls_preds[2, -3:] = cls_preds[2, -3:].flip(-1)  # three wrong in image 2
    correct, count = anchor_accuracy((anchors, cls_preds, torch.zeros(3, 4 * a)), labels)
    assert isinstance(correct, torch.Tensor) and isinstance(count, torch.Tensor)
    assert (correct.item(), count.item()) == (3 * a - 13, 3 * a)


class Stub(nn.Module):
    """A network with fixed outputs: image ``X[b, 0, 0, 0]`` gets row ``X[b, 0, 0, 0]`` of
    the class and box tables; anchors are ``QUARTERS``."""

    def __init__(self, cls_table: torch.Tensor, bbox_table: torch.Tensor) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))  # a device to find, a mode to switch
        self.cls_table, self.bbox_table = cls_table, bbox_table
        self.modes: list[bool] = []

    def forward(self, X):
        self.modes.append(self.training)
        ids = X[:, 0, 0, 0].long()
        return QUARTERS, self.cls_table[ids], self.bbox_table[ids]


def test_ssd_errors_matches_hand_computation():
    # image 0: box a little right of the top-left quarter -> that anchor positive, offsets
    # (1, 0, 0, 0); image 1: exactly the bottom-right quarter -> offsets (0, 0, 0, 0)
    labels = torch.tensor([[[0, 0.05, 0.0, 0.55, 0.5]], [[0, 0.5, 0.5, 1.0, 1.0]]])
    bg, fg = [5.0, 0.0], [0.0, 5.0]
    cls_table = torch.tensor([[fg, fg, bg, bg],   # anchor 1 wrong: 1 of 4
                              [bg, bg, fg, bg]])  # anchors 2 and 3 wrong: 2 of 4
    bbox_table = torch.full((2, 16), 7.0)         # junk at the negative anchors
    bbox_table[0, :4] = 0.0                       # |1| + 0 + 0 + 0 = 1
    bbox_table[1, 12:] = torch.tensor([0.5, -1.0, 0.0, 0.0])  # 0.5 + 1 = 1.5
    net = Stub(cls_table, bbox_table)
    data = [(torch.full((1, 3, 4, 4), float(i)), labels[i:i + 1]) for i in range(2)]
    class_err, bbox_mae = ssd_errors(net, data)
    assert class_err == pytest.approx(3 / 8)
    assert bbox_mae == pytest.approx(2.5 / 32, abs=1e-5)  # offset_boxes' eps: ~1e-5
    assert net.modes == [False, False] and net.training  # eval mode inside, restored


# ---------------------------------------------------------------- detection and mAP

def test_detect_returns_rows_per_anchor():
    torch.manual_seed(0)
    net = TinySSD(num_classes=1)
    out = detect(net, torch.rand(2, 3, 64, 64) * 255)
    a = 4 * (64 + 16 + 4 + 1 + 1)
    assert out.shape == (2, a, 6)
    assert set(out[..., 0].unique().tolist()) <= {-1.0, 0.0}
    assert ((out[..., 1] >= 0) & (out[..., 1] <= 1)).all()
    assert net.training  # restored after the eval-mode forward pass


def box_images(boxes: torch.Tensor, size: int = 32, ids: torch.Tensor | None = None):
    """Images that are 255 inside ``boxes`` (normalised, on the pixel grid), 0 elsewhere;
    channel 1 holds the image's id."""
    X = torch.zeros(len(boxes), 3, size, size)
    for n, (x1, y1, x2, y2) in enumerate((boxes * size).round().long().tolist()):
        X[n, 0, y1:y2, x1:x2] = 255
    X[:, 1] = (torch.arange(len(boxes)) if ids is None else ids)[:, None, None].float()
    return X


class OracleDetector(nn.Module):
    """Finds the box drawn in channel 0 and predicts it exactly: fixed anchors
    (``QUARTERS`` plus the whole image), the whole-image anchor gets the offsets of the
    found box and a high score, every other anchor a high background score. Images whose
    id (channel 1) is in ``misplace`` get the box shifted right by its width (IoU 0) and
    a lower score."""

    anchors = torch.cat([QUARTERS, torch.tensor([[[0.0, 0.0, 1.0, 1.0]]])], dim=1)

    def __init__(self, misplace: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))
        self.misplace = misplace

    def forward(self, X):
        b, _, h, w = X.shape
        inside = X[:, 0] > 0
        cols, rows = inside.any(1).float(), inside.any(2).float()
        idx_w, idx_h = torch.arange(w).float(), torch.arange(h).float()
        x1 = torch.where(cols > 0, idx_w, float(w)).amin(1) / w
        x2 = (torch.where(cols > 0, idx_w, -1.0).amax(1) + 1) / w
        y1 = torch.where(rows > 0, idx_h, float(h)).amin(1) / h
        y2 = (torch.where(rows > 0, idx_h, -1.0).amax(1) + 1) / h
        boxes = torch.stack([x1, y1, x2, y2], dim=1)
        wrong = torch.isin(X[:, 1, 0, 0].long(), torch.tensor(self.misplace, dtype=torch.long))
        shift = torch.where(wrong, x2 - x1, 0.0)
        boxes = boxes + torch.stack([shift, 0 * shift, shift, 0 * shift], dim=1)
        a = self.anchors.shape[1]
        offsets = torch.zeros(b, a, 4)
        offsets[:, -1] = offset_boxes(self.anchors[0, -1], boxes)
        cls_preds = torch.tensor([10.0, -10.0]).repeat(b, a, 1)
        cls_preds[:, -1] = torch.where(wrong[:, None], torch.tensor([0.0, 2.0]),
                                       torch.tensor([-10.0, 10.0]))
        return self.anchors, cls_preds, offsets.reshape(b, 4 * a)


def _box_data(n_batches: int = 2, per_batch: int = 4):
    g = gen(0)
    xy = torch.randint(0, 16, (n_batches * per_batch, 2), generator=g)
    wh = torch.randint(4, 16, (n_batches * per_batch, 2), generator=g)
    boxes = torch.cat([xy, xy + wh], dim=1).clamp(max=32) / 32
    X = box_images(boxes)
    pad = torch.tensor([[-1.0, 0, 0, 0, 0]]).expand(len(boxes), 1, 5)
    Y = torch.cat([torch.cat([torch.zeros(len(boxes), 1), boxes], dim=1)[:, None], pad], dim=1)
    batches = [(X[i:i + per_batch], Y[i:i + per_batch])
               for i in range(0, len(boxes), per_batch)]
    return boxes, batches


def test_oracle_detector_is_exact():
    boxes, batches = _box_data()
    out = detect(OracleDetector(), batches[0][0])
    assert out.shape == (4, 5, 6)
    torch.testing.assert_close(out[:, 0, 2:], boxes[:4], atol=1e-5, rtol=0)
    assert (out[:, 0, 0] == 0).all() and (out[:, 0, 1] > 0.99).all()
    assert (out[:, 1:, 0] == -1).all()  # the quarter anchors: background


def test_evaluate_map_is_one_for_a_perfect_detector():
    _, batches = _box_data()
    result = evaluate_map(OracleDetector(), batches)
    assert result["map_50"] == 1.0
    assert result["map"] > 0.999  # exact boxes up to offset_boxes' eps: IoU ~ 1


def test_evaluate_map_counts_every_batch():
    _, batches = _box_data()
    # the second batch's boxes are all misplaced (scored lower): half the recall at
    # precision 1, so recall thresholds 0, 0.01, ..., 0.5 hit -> 51 / 101
    result = evaluate_map(OracleDetector(misplace=(4, 5, 6, 7)), batches)
    assert result["map_50"] == pytest.approx(51 / 101)
    assert evaluate_map(OracleDetector(misplace=tuple(range(8))), batches)["map_50"] == 0.0


# ---------------------------------------------------------------- training

def test_short_training_run_on_banana_demo(tmp_path):
    torch.manual_seed(0)
    train_iter, val_iter = load_bananas("demo", 16, root=tmp_path, n_train=64, n_val=16,
                                        size=64, seed=0)
    net = TinySSD(num_classes=1)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    history = train_classifier(net, train_iter, val_iter, ssd_loss, optimizer, 3, devices=CPU,
                               metric=anchor_accuracy, loss_reduction="mean", plot=False,
                               progress=False, verbose=False)
    losses = history["train_loss"].tolist()
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
    assert 0 <= history["train_acc"].iloc[-1] <= 1 and 0 <= history["test_acc"].iloc[-1] <= 1
    class_err, bbox_mae = ssd_errors(net, val_iter)
    assert 0 <= class_err <= 1 and bbox_mae >= 0
    assert 0 <= evaluate_map(net, val_iter)["map_50"] <= 1

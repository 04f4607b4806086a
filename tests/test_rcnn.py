"""The R-CNN section's helpers: teaching RoI pooling, target conversion, the detector trainer."""
from __future__ import annotations

import math
import urllib.error

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from d2lhelpers.download import DownloadError
from d2lhelpers.detection.rcnn import (LOSS_NAMES, TrainingDiverged, evaluate_detector,
                                      fasterrcnn_banana, predict_detector, resnet_fpn_backbone,
                                      roi_pool, rpn_proposals, to_detection_targets,
                                      train_detector)
from d2lhelpers.models import ResNet18

COLUMNS = ["epoch", "train_loss", *LOSS_NAMES, "examples_per_sec", "epoch_seconds"]
QUIET = dict(device="cpu", plot=False, verbose=False)


# ---------------------------------------------------------------- roi_pool

def test_roi_pool_reproduces_the_textbook_example():
    X = torch.arange(16.).reshape(1, 1, 4, 4)
    rois = torch.Tensor([[0, 0, 0, 20, 20], [0, 0, 10, 30, 30]])
    expected = torch.tensor([[[[5., 6.], [9., 10.]]], [[[9., 11.], [13., 15.]]]])
    assert torch.equal(roi_pool(X, rois, (2, 2), spatial_scale=0.1), expected)
    assert torch.equal(torchvision.ops.roi_pool(X, rois, (2, 2), spatial_scale=0.1), expected)


def random_rois(g, n, k, h, w, scale):
    """RoIs inside, across and outside the map, some inverted (x2 < x1), some on halves."""
    corners = (torch.rand(k, 4, generator=g) * torch.tensor([w, h, w, h]) * 1.4 - 2) / scale
    corners[::4] = corners[::4].round()  # whole pixels: on the half-cell boundary when scaled
    corners[1::4] = (corners[1::4] * 2 * scale).round() / (2 * scale)  # exact .5 feature cells
    index = torch.randint(0, n, (k, 1), generator=g).float()
    return torch.cat([index, corners], 1)


@pytest.mark.parametrize("output_size", [(2, 2), (7, 7), (3, 5), 4])
def test_roi_pool_equals_torchvision_on_random_inputs(output_size):
    g = torch.Generator().manual_seed(0)
    for trial in range(40):
        n, c = 2, 3
        h, w = (int(v) for v in torch.randint(2, 16, (2,), generator=g))
        scale = [1.0, 0.5, 0.25, 1 / 16, 0.1][trial % 5]
        X = torch.randn(n, c, h, w, generator=g)
        rois = random_rois(g, n, 12, h, w, scale)
        expected = torchvision.ops.roi_pool(X, rois, output_size, scale)
        assert torch.equal(roi_pool(X, rois, output_size, scale), expected), (trial, rois)


def test_roi_pool_rounds_halves_away_from_zero_like_torchvision():
    # x1 = 5 * 0.5 = 2.5: C's round gives 3, torch.round (half to even) would give 2
    X = torch.arange(36.).reshape(1, 1, 6, 6)
    X[0, 0, :, 2] = 100.0  # column 2 is only inside the region if x1 were rounded to 2
    rois = torch.tensor([[0.0, 5.0, 0.0, 10.0, 10.0]])
    mine = roi_pool(X, rois, (1, 1), spatial_scale=0.5)
    assert torch.equal(mine, torchvision.ops.roi_pool(X, rois, (1, 1), spatial_scale=0.5))
    assert mine.item() == 35.0


# ---------------------------------------------------------------- to_detection_targets

def test_to_detection_targets_pixels_labels_and_padding():
    labels = torch.tensor([
        [[0, 0.1, 0.2, 0.5, 0.6], [-1, 0, 0, 0, 0], [2, 0.0, 0.0, 1.0, 1.0]],
        [[-1, 0, 0, 0, 0], [-1, 0.3, 0.3, 0.4, 0.4], [1, 0.25, 0.5, 0.75, 1.0]],
        [[-1, 0, 0, 0, 0], [-1, 0, 0, 0, 0], [-1, 0, 0, 0, 0]],
    ])
    targets = to_detection_targets(labels, (100, 200))  # height 100, width 200
    assert len(targets) == 3
    assert torch.allclose(targets[0]["boxes"], torch.tensor([[20., 20., 100., 60.],
                                                             [0., 0., 200., 100.]]))
    assert targets[0]["labels"].tolist() == [1, 3]  # class + 1: 0 is the background
    assert torch.allclose(targets[1]["boxes"], torch.tensor([[50., 50., 150., 100.]]))
    assert targets[1]["labels"].tolist() == [2]
    assert targets[2]["boxes"].shape == (0, 4) and targets[2]["labels"].shape == (0,)
    for t in targets:
        assert t["boxes"].dtype == torch.float32 and t["labels"].dtype == torch.int64


def test_to_detection_targets_square_size_and_bad_shape():
    labels = torch.tensor([[[0, 0.5, 0.25, 1.0, 0.75]]])
    assert to_detection_targets(labels, 256)[0]["boxes"].tolist() == [[128., 64., 256., 192.]]
    with pytest.raises(ValueError, match="batch, objects, 5"):
        to_detection_targets(labels[0], 256)


# ---------------------------------------------------------------- a stand-in detector

class StubDetector(nn.Module):
    """The torchvision detection interface without the work: training mode returns the
    four losses (each ``weight_i * mean image value``), eval mode returns ``outputs``."""

    def __init__(self, outputs=None, nan_at=None):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        self.outputs, self.nan_at, self.calls, self.seen = outputs or [], nan_at, 0, []

    def forward(self, images, targets=None):
        self.seen.append(torch.stack([img.max() for img in images]))
        if not self.training:
            out, self.outputs = self.outputs[:len(images)], self.outputs[len(images):]
            return out
        assert all(t["labels"].dtype == torch.int64 for t in targets)
        self.calls += 1
        value = torch.stack([img.mean() for img in images]).mean()
        if self.nan_at is not None and self.calls == self.nan_at:
            value = value * float("nan")
        return {name: self.weight[i] * value for i, name in enumerate(LOSS_NAMES)}


def batches(values, sizes, hw=(8, 8)):
    """Constant images (value * 255) with one box each, in batches of the given sizes."""
    out = []
    for v, n in zip(values, sizes):
        X = torch.full((n, 3, *hw), 255.0 * v)
        y = torch.tensor([[[0, 0.1, 0.1, 0.6, 0.7]]]).repeat(n, 1, 1)
        out.append((X, y))
    return out


def test_train_detector_history_weights_batches_by_size():
    model = StubDetector()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # losses stay as constructed
    history = train_detector(model, batches([0.2, 0.6], [3, 1]), opt, 2, **QUIET)
    assert list(history.columns) == COLUMNS
    assert history["epoch"].tolist() == [1, 2]
    # images are divided by 255; the short last batch counts for 1 image, not half
    mean = (3 * 0.2 + 1 * 0.6) / 4
    for i, name in enumerate(LOSS_NAMES):
        assert history[name].tolist() == pytest.approx([(i + 1) * mean] * 2)
    assert history["train_loss"].tolist() == pytest.approx([10 * mean] * 2)
    assert (history["examples_per_sec"] > 0).all() and (history["epoch_seconds"] > 0).all()
    assert float(torch.cat(model.seen).max()) == pytest.approx(0.6)


def test_train_detector_learns_and_warms_up():
    model = StubDetector()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    data = batches([0.5] * 4, [2] * 4)
    history = train_detector(model, data, opt, 3, warmup_iters=6, **QUIET)
    assert history["train_loss"].is_monotonic_decreasing
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)  # warm-up over: back at the base lr


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_train_detector_raises_on_nan_or_inf(bad):
    model = StubDetector(nan_at=3)
    if bad == float("inf"):
        model.weight.data[1] = float("inf")
        model.nan_at = None
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        train_detector(model, batches([0.5] * 4, [2] * 4), opt, 2, **QUIET)


def test_train_detector_rejects_empty_data_and_negative_epochs():
    model = StubDetector()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no batches"):
        train_detector(model, [], opt, 1, **QUIET)
    with pytest.raises(ValueError, match="num_epochs"):
        train_detector(model, [], opt, -1, **QUIET)


def _count_syncs(count_host_syncs, n_batches: int, epochs: int = 2) -> int:
    model = StubDetector()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    data = batches([0.5] * n_batches, [2] * n_batches)
    return count_host_syncs(train_detector, model, data, opt, epochs, **QUIET)


def test_train_detector_no_host_sync_per_batch(count_host_syncs):
    few = _count_syncs(count_host_syncs, n_batches=3)
    many = _count_syncs(count_host_syncs, n_batches=30)
    assert 1 <= few <= 2 * 2  # a read-back or two per epoch
    assert many == few  # independent of the number of batches


# ---------------------------------------------------------------- predict / evaluate

def test_predict_detector_scales_pixels_and_restores_mode():
    boxes = torch.tensor([[1.0, 1.0, 5.0, 5.0]])
    out = [{"boxes": boxes, "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}] * 2
    model = StubDetector(outputs=list(out))
    model.train()
    preds = predict_detector(model, torch.full((2, 3, 8, 8), 255.0))
    assert model.training  # put back
    assert float(model.seen[-1].max()) == pytest.approx(1.0)
    assert [p["boxes"].tolist() for p in preds] == [boxes.tolist()] * 2


def test_evaluate_detector_perfect_predictions_give_map_one():
    data = batches([0.5, 0.5], [2, 1], hw=(10, 20))  # box (0.1,0.1,0.6,0.7) of a 20x10 image
    truth = torch.tensor([[2.0, 1.0, 12.0, 7.0]])  # in pixels: what the model must output
    perfect = {"boxes": truth, "scores": torch.tensor([0.8]), "labels": torch.tensor([1])}
    wrong_class = {"boxes": truth, "scores": torch.tensor([0.8]), "labels": torch.tensor([2])}
    metrics = evaluate_detector(StubDetector(outputs=[perfect] * 3), data)
    assert metrics["map_50"] == pytest.approx(1.0) and metrics["map"] == pytest.approx(1.0)
    metrics = evaluate_detector(StubDetector(outputs=[perfect, perfect, wrong_class]), data)
    assert metrics["map_50"] < 1.0


# ---------------------------------------------------------------- the real Faster R-CNN

TINY = dict(image_size=64, representation_size=32, box_batch_size_per_image=16,
            rpn_batch_size_per_image=32, rpn_pre_nms_top_n_train=50,
            rpn_post_nms_top_n_train=50, rpn_pre_nms_top_n_test=50,
            rpn_post_nms_top_n_test=50)


def small_resnet() -> ResNet18:
    """An untrained narrow ImageNet-stem ResNet-18 standing in for the cached demo source model
    (which would be trained on first use)."""
    return ResNet18(14, width=8, stem="imagenet")


def test_demo_model_is_built_offline_for_two_classes(fake_hub):
    calls = fake_hub(urllib.error.URLError("no network in tests"))
    model = fasterrcnn_banana("demo", source_net=small_resnet(), **TINY)
    assert calls == []
    head = model.roi_heads
    assert head.box_predictor.cls_score.out_features == 2
    assert head.box_predictor.bbox_pred.out_features == 8
    assert head.box_predictor.cls_score.in_features == 32  # matches the narrower head
    assert head.box_head.fc6.out_features == 32 and head.box_head.fc7.out_features == 32
    assert model.transform.min_size == (64,) and model.transform.max_size == 64
    assert not any(isinstance(m, torchvision.ops.FrozenBatchNorm2d) for m in model.modules())


def test_demo_backbone_is_the_demo_source_model_by_default(monkeypatch):
    import d2lhelpers.pretrained as pretrained
    net = small_resnet()
    monkeypatch.setattr(pretrained, "demo_source_model", lambda: (net, {"task": "stand-in"}))
    model = fasterrcnn_banana("demo", **TINY)
    shared = {id(p) for p in net.parameters() if p.dim() > 0}
    body = {id(p) for p in model.backbone.body.parameters()}
    assert shared - {id(p) for p in net.fc.parameters()} == body  # shared, not copied
    assert all(p.requires_grad for p in model.parameters())
    sizes = model.rpn.anchor_generator.sizes
    assert len(sizes) == 4 and model.rpn.anchor_generator.num_anchors_per_location() == [3] * 4


def test_resnet_fpn_backbone_levels_follow_the_network():
    torch.manual_seed(0)
    net = small_resnet().eval()
    backbone = resnet_fpn_backbone(net, fpn_channels=16).eval()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        features = backbone(x)
        last = net.features(x)  # the network's own forward up to layer4
        body = backbone.body(x)
    assert list(features) == ["0", "1", "2", "pool"]
    assert [tuple(f.shape[-2:]) for f in features.values()] == [(8, 12), (4, 6), (2, 3), (1, 2)]
    assert all(f.shape[:2] == (2, 16) for f in features.values()) and backbone.out_channels == 16
    # the children run in the order they are registered: the body computes the same layer4
    assert torch.allclose(body["2"], last, atol=1e-6)


def test_full_model_rejects_a_demo_backbone():
    with pytest.raises(ValueError, match="source_net"):
        fasterrcnn_banana("full", source_net=small_resnet())


def test_full_model_offline_raises_download_error(monkeypatch, tmp_path, fake_hub):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    calls = fake_hub(urllib.error.URLError("no network in tests"))
    weights = torchvision.models.detection.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.DEFAULT
    with pytest.raises(DownloadError) as caught:
        fasterrcnn_banana("full")
    assert calls == [weights.url]
    message = str(caught.value)
    assert weights.url in message and "no network in tests" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message


def test_full_model_loads_coco_weights_and_gets_a_new_predictor(fake_hub):
    torch.manual_seed(1)
    coco = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=91).state_dict()
    coco = {k: v for k, v in coco.items() if not k.endswith("num_batches_tracked")}  # frozen BN
    calls = fake_hub(coco)
    model = fasterrcnn_banana("full")
    weights = torchvision.models.detection.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.DEFAULT
    assert set(calls) == {weights.url}
    state = model.state_dict()
    kept = [k for k in coco if not k.startswith("roi_heads.box_predictor")]
    assert all(torch.equal(state[k], coco[k]) for k in kept)
    assert model.roi_heads.box_predictor.cls_score.out_features == 2
    assert any(isinstance(m, torchvision.ops.FrozenBatchNorm2d) for m in model.modules())


def tiny_scenes(n, size=48, seed=0):
    """Dark images with one bright square each, and their labels in the book's format."""
    g = torch.Generator().manual_seed(seed)
    X = torch.full((n, 3, size, size), 20.0)
    y = torch.zeros(n, 1, 5)
    for i in range(n):
        s = int(torch.randint(12, 24, (1,), generator=g))
        x0, y0 = (int(v) for v in torch.randint(0, size - s, (2,), generator=g))
        X[i, :, y0:y0 + s, x0:x0 + s] = torch.tensor([230.0, 200.0, 40.0])[:, None, None]
        y[i, 0] = torch.tensor([0, x0 / size, y0 / size, (x0 + s) / size, (y0 + s) / size])
    return X, y


def test_faster_rcnn_trains_on_a_tiny_batch():
    torch.manual_seed(0)
    model = fasterrcnn_banana("demo", source_net=small_resnet(), **TINY)
    X, y = tiny_scenes(8)
    data = [(X[:4], y[:4]), (X[4:], y[4:])]
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01,
                          momentum=0.9)
    history = train_detector(model, data, opt, 4, **QUIET)
    assert list(history.columns) == COLUMNS
    assert history[["train_loss", *LOSS_NAMES]].map(math.isfinite).all().all()
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    preds = predict_detector(model, X[:2])
    assert len(preds) == 2 and set(preds[0]) == {"boxes", "scores", "labels"}
    assert model.training  # predict_detector put it back


def test_rpn_proposals_are_in_input_image_pixels():
    torch.manual_seed(0)
    model = fasterrcnn_banana("demo", source_net=small_resnet(), **TINY).eval()
    X = torch.rand(2, 3, 32, 48) * 255  # not the model's 64x64: the transform resizes
    proposals = rpn_proposals(model, X)
    assert len(proposals) == 2 and all(p.shape[1] == 4 and len(p) > 0 for p in proposals)
    # by hand: the RPN on the resized images (longer side 64: 42x64), then scaled back
    with torch.no_grad():
        resized, _ = model.transform([x / 255 for x in X])
        assert resized.image_sizes == [(42, 64)] * 2
        raw, _ = model.rpn(resized, model.backbone(resized.tensors))
    back = torch.tensor([48 / 64, 32 / 42, 48 / 64, 32 / 42])
    for p, r in zip(proposals, raw):
        assert torch.allclose(p, r * back, atol=1e-4)
        assert p.min() >= 0 and p[:, 0::2].max() <= 48 + 1e-4 and p[:, 1::2].max() <= 32 + 1e-4


def test_train_detector_checkpoint_resumes_after_the_last_epoch(tmp_path):
    ckpt = tmp_path / "det.pt"
    data = batches([0.5, 0.25], [2, 2])
    torch.manual_seed(0)
    straight = StubDetector()
    opt = torch.optim.SGD(straight.parameters(), lr=0.1, momentum=0.9)
    full = train_detector(straight, data, opt, 3, **QUIET)

    model = StubDetector()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train_detector(model, data, opt, 2, checkpoint=ckpt, **QUIET)  # stops after epoch 2
    model = StubDetector()  # a new kernel: fresh objects, the checkpoint restores them
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    resumed = train_detector(model, data, opt, 3, checkpoint=ckpt, **QUIET)
    assert resumed["epoch"].tolist() == [1, 2, 3]
    assert torch.allclose(model.weight, straight.weight)
    cols = ["train_loss", *LOSS_NAMES]
    assert np.allclose(resumed[cols].to_numpy(), full[cols].to_numpy())


def test_train_detector_checkpoints_itself_under_make_full(tmp_path, monkeypatch):
    monkeypatch.setenv("D2L_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    monkeypatch.setenv("D2L_NOTEBOOK", "08-rcnn")
    model = StubDetector()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    train_detector(model, batches([0.5], [2]), opt, 1, run_name="fasterrcnn", **QUIET)
    assert (tmp_path / "ckpt" / "08-rcnn" / "fasterrcnn.pt").exists()

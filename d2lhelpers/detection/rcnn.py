"""The R-CNN family: a teaching RoI pooling and a runnable Faster R-CNN on the banana data.

:func:`roi_pool` writes out RoI max pooling as torchvision computes it (the notebook
compares the two). The rest wraps torchvision's Faster R-CNN for the banana set:
:func:`fasterrcnn_banana` builds it for a mode (COCO-pretrained MobileNetV3-Large FPN with
a new 2-class box predictor in full mode; in demo mode the shapes-pretrained demo ResNet-18
with an FPN, :func:`resnet_fpn_backbone`),
:func:`to_detection_targets` turns the book's ``(b, m, 5)`` labels into torchvision's
target dicts, :func:`train_detector` trains (loss sums kept on the device, read back once
per epoch; the mixed precision of :class:`~d2lhelpers.train.Precision`), and
:func:`predict_detector`, :func:`rpn_proposals` and :func:`evaluate_detector` look at what
it learnt.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd
import torch
from torch import nn

from ..mode import default_device, resolve_mode
from ..checkpoints import Checkpoint, checkpoint_file
from ..runtime import Limited, log_run, reset_peak_memory
from ..train import DeviceSums, DeviceTimer, Precision, TrainingDiverged, check_finite, eval_mode
from .metrics import mean_average_precision

__all__ = ["LOSS_NAMES", "roi_pool", "to_detection_targets", "resnet_fpn_backbone",
           "fasterrcnn_banana",
           "train_detector", "predict_detector", "rpn_proposals", "evaluate_detector",
           "TrainingDiverged"]

# the four losses a torchvision Faster R-CNN returns in training mode
LOSS_NAMES = ("loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg")


# export: chapters/08-rcnn.ipynb
def roi_pool(X, rois, output_size, spatial_scale=1.0):
    """RoI max pooling written out with loops; the same numbers as torchvision.ops.roi_pool.

    X: feature maps (n, c, h, w); rois: (k, 5) rows (batch index, x1, y1, x2, y2) in
    input-image coordinates; spatial_scale maps them onto the feature map. Returns
    (k, c, out_h, out_w).
    """
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size
    height, width = X.shape[-2:]
    Y = X.new_zeros((len(rois), X.shape[1], out_h, out_w))

    def round_half_away(v):  # C's round(): 2.5 -> 3 (torch.round would give 2)
        return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)

    for k, roi in enumerate(rois):
        # 1. quantise the corners: scale onto the feature map, round to whole cells
        x1, y1, x2, y2 = (round_half_away(float(v)) for v in roi[1:] * spatial_scale)
        roi_w, roi_h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)  # corners count as inside
        # 2. split the region into out_h x out_w bins: bin edges rounded outwards, so
        #    neighbouring bins may share a row or column when the sizes do not divide
        for i in range(out_h):
            top = min(max(y1 + math.floor(i * roi_h / out_h), 0), height)
            bottom = min(max(y1 + math.ceil((i + 1) * roi_h / out_h), 0), height)
            for j in range(out_w):
                left = min(max(x1 + math.floor(j * roi_w / out_w), 0), width)
                right = min(max(x1 + math.ceil((j + 1) * roi_w / out_w), 0), width)
                # 3. max over the bin (an empty bin, outside the map, gives 0)
                if bottom > top and right > left:
                    cells = X[int(roi[0]), :, top:bottom, left:right]
                    Y[k, :, i, j] = cells.amax(dim=(1, 2))
    return Y


def to_detection_targets(labels: torch.Tensor, image_size: int | Sequence[int]
                         ) -> list[dict[str, torch.Tensor]]:
    """The book's labels ``(b, m, 5)`` as torchvision detection targets, one dict per image.

    A label row is ``(class, x1, y1, x2, y2)`` with corners relative to the image size and
    class -1 for padding rows; ``image_size`` is ``(height, width)`` in pixels (or one int
    for square images). Each dict holds ``boxes`` (float32 ``(k, 4)`` xyxy in pixels) and
    ``labels`` (int64 ``(k,)``, class + 1: torchvision reserves 0 for the background).
    Padding rows are dropped. Call it on CPU labels (as a DataLoader yields them): the
    boolean selection would make a GPU wait.
    """
    labels = torch.as_tensor(labels)
    if labels.dim() != 3 or labels.shape[-1] != 5:
        raise ValueError(f"labels must be (batch, objects, 5) rows (class, x1, y1, x2, y2), "
                         f"got {tuple(labels.shape)}")
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
    scale = torch.tensor([width, height, width, height], dtype=torch.float32,
                         device=labels.device)
    targets = []
    for rows in labels.detach():
        rows = rows[rows[:, 0] >= 0]
        targets.append({"boxes": rows[:, 1:5].float() * scale,
                        "labels": rows[:, 0].round().to(torch.int64) + 1})
    return targets


def _builder_kwargs(image_size: int | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    if image_size is not None:  # the detector's own resize: shorter and longer side
        kwargs = {"min_size": image_size, "max_size": image_size, **kwargs}
    return kwargs


# the demo backbone: stages 2-4 of the source ResNet (strides 8, 16, 32) feed the FPN,
# which adds a max-pooled level (stride 64); one anchor size per level, three ratios
DEMO_RETURN_LAYERS = {"layer2": "0", "layer3": "1", "layer4": "2"}
DEMO_ANCHOR_SIZES = ((64,), (128,), (256,), (512,))
DEMO_FPN_CHANNELS = 64


def resnet_fpn_backbone(net: nn.Module, fpn_channels: int = DEMO_FPN_CHANNELS) -> nn.Module:
    """A detection backbone from a ResNet with the book's (and torchvision's) layer names.

    Stages ``layer2``-``layer4`` of ``net`` (its stem and ``layer1`` run in front of them)
    feed torchvision's ``FeaturePyramidNetwork`` with ``fpn_channels`` channels per level
    plus a max-pooled top level: an ``OrderedDict`` of 4 feature maps named ``'0'``,
    ``'1'``, ``'2'``, ``'pool'``. ``net``'s parameters are shared, not copied, and all stay
    trainable (with ordinary batch norm).
    """
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    in_channels = [getattr(net, name)[-1].conv2.out_channels for name in DEMO_RETURN_LAYERS]
    return BackboneWithFPN(net, DEMO_RETURN_LAYERS, in_channels, fpn_channels,
                           extra_blocks=LastLevelMaxPool())


def fasterrcnn_banana(mode: str, image_size: int | None = None,
                      representation_size: int | None = None,
                      source_net: nn.Module | None = None, **kwargs: Any) -> nn.Module:
    """Faster R-CNN with an FPN backbone for 2 classes (0 background, 1 banana).

    ``mode`` goes through :func:`resolve_mode`.

    * full: torchvision's ``fasterrcnn_mobilenet_v3_large_320_fpn`` with its COCO weights
      (``FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.DEFAULT``, frozen batch norm and the
      first backbone stages frozen, as torchvision sets it up), downloaded through
      :func:`~d2lhelpers.download.pretrained_state_dict` (so an offline machine gets a
      :class:`~d2lhelpers.download.DownloadError` saying what to do), with the 91-class box
      predictor replaced by a new 2-class ``FastRCNNPredictor``.
    * demo: torchvision's ``FasterRCNN`` on :func:`resnet_fpn_backbone` of ``source_net``,
      by default the quarter-width ResNet-18 pretrained on the synthetic shapes
      (:func:`~d2lhelpers.pretrained.demo_source_model`, cached on disk; the fine-tuning
      section's "pretrained" model), with one anchor size per FPN level
      (:data:`DEMO_ANCHOR_SIZES`). The RPN and the RoI head start from random values.

    ``image_size`` sets the detector's internal resize (``min_size = max_size``; the full
    model's default is 320, FasterRCNN's 800); ``representation_size`` replaces the box
    head's two fully connected layers (1024 wide) by narrower ones; other keyword arguments
    go to torchvision's ``FasterRCNN`` (e.g. ``box_batch_size_per_image``,
    ``rpn_post_nms_top_n_train``).
    """
    from torchvision.models.detection import (FasterRCNN,
                                              FasterRCNN_MobileNet_V3_Large_320_FPN_Weights,
                                              fasterrcnn_mobilenet_v3_large_320_fpn)
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead

    kwargs = _builder_kwargs(image_size, kwargs)
    if resolve_mode(mode) == "full":
        if source_net is not None:
            raise ValueError("source_net is the demo backbone; full mode uses the COCO model")
        from ..download import pretrained_state_dict
        weights = FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.DEFAULT
        # Download (or find in the torch.hub cache) first: offline this raises the book's
        # DownloadError. The builder then reads the cached file and sets up frozen BN.
        pretrained_state_dict(weights)
        model = fasterrcnn_mobilenet_v3_large_320_fpn(weights=weights, **kwargs)
    else:
        if source_net is None:
            from ..pretrained import demo_source_model
            source_net = demo_source_model()[0]
        anchors = AnchorGenerator(DEMO_ANCHOR_SIZES, ((0.5, 1.0, 2.0),) * len(DEMO_ANCHOR_SIZES))
        model = FasterRCNN(resnet_fpn_backbone(source_net.train()), num_classes=2,
                           rpn_anchor_generator=anchors, **kwargs)
    head = model.roi_heads
    if representation_size is not None:
        resolution = head.box_roi_pool.output_size[0]
        channels = model.backbone.out_channels
        head.box_head = TwoMLPHead(channels * resolution ** 2, representation_size)
    in_features = head.box_head.fc7.out_features
    head.box_predictor = FastRCNNPredictor(in_features, 2)  # background + banana
    return model


def _targets_to_device(targets: list[dict], device: torch.device) -> list[dict]:
    return [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]


def _images(X: torch.Tensor | Sequence[torch.Tensor], device: torch.device,
            pixel_max: float) -> list[torch.Tensor]:
    """A batch of 0..pixel_max images as the list of 0..1 images torchvision detectors take."""
    if isinstance(X, torch.Tensor):  # one copy to the device for the whole batch
        X = X.unsqueeze(0) if X.dim() == 3 else X
        return list((X.to(device, non_blocking=True).float() / pixel_max).unbind(0))
    return [x.to(device, non_blocking=True).float() / pixel_max for x in X]


def train_detector(model: nn.Module, train_iter: Iterable, optimizer: torch.optim.Optimizer,
                   num_epochs: int, device: torch.device | str | None = None,
                   scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                   warmup_iters: int = 0, pixel_max: float = 255.0, plot: bool = True,
                   verbose: bool = True, checkpoint: str | Path | None = None,
                   run_name: str | None = None) -> pd.DataFrame:
    """Train a torchvision detector on batches ``(images, labels)`` of the banana loader.

    ``images`` are ``(b, 3, H, W)`` with values 0..``pixel_max`` (divided by it here),
    ``labels`` the book's ``(b, m, 5)`` (converted by :func:`to_detection_targets`). In
    training mode the model returns a dict of losses; their sum is minimised. The losses
    are summed on the device and read back once per epoch (no host sync per batch from
    this loop; torchvision's detector itself still syncs inside, e.g. to sample RoIs).
    The forward pass runs under the device's mixed precision
    (:class:`~d2lhelpers.train.Precision`). ``scheduler`` steps once per epoch;
    ``warmup_iters`` > 0 ramps the learning rate up linearly from 1/1000 over the first
    iterations (as torchvision's detection recipe does). Examples per second are timed
    over each whole epoch with the device synchronised at its ends. A NaN or infinite
    loss raises :class:`~d2lhelpers.train.TrainingDiverged`. ``checkpoint`` and
    ``run_name`` work as in :func:`~d2lhelpers.train.train_classifier`.

    Returns one row per epoch: ``epoch``, ``train_loss`` (the summed loss, averaged over
    images), the four parts in :data:`LOSS_NAMES`, ``examples_per_sec`` and
    ``epoch_seconds``.
    """
    if num_epochs < 0:
        raise ValueError(f"num_epochs={num_epochs} must be >= 0")
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    precision = Precision(device)
    warmup = (torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1e-3,
                                                total_iters=warmup_iters)
              if warmup_iters > 0 and num_epochs > 0 else None)
    from ..plotting import LivePlot
    live = LivePlot(xlabel="epoch", legend=["train loss", "RPN loss", "RoI head loss"],
                    xlim=(1, max(num_epochs, 1))) if plot else None
    ckpt = Checkpoint(checkpoint_file(checkpoint, run_name), model, optimizer, scheduler,
                      precision)
    rows, start_epoch = ckpt.resume(verbose)
    started = time.perf_counter()   # a rehearsal's limits (runtime.Limited) count from here
    batches = Limited(train_iter, start=started)
    reset_peak_memory(device)
    step = start_epoch * len(batches) if hasattr(train_iter, "__len__") else 0

    def plotted(row: dict) -> list[float]:  # the total, then the two stages: RPN and RoI head
        return [row["train_loss"], row["loss_objectness"] + row["loss_rpn_box_reg"],
                row["loss_classifier"] + row["loss_box_reg"]]

    for row in rows:
        if live:
            live.add(row["epoch"], plotted(row))
    for epoch in Limited(range(start_epoch, num_epochs), start=started):
        model.train()
        sums = DeviceSums(1 + len(LOSS_NAMES), device)   # the loss and its parts
        timer = DeviceTimer(device)
        examples, batch = 0, -1
        for batch, (X, y) in enumerate(batches):
            targets = _targets_to_device(to_detection_targets(y, X.shape[-2:]), device)
            images = _images(X, device, pixel_max)
            with precision.autocast():
                loss_dict = model(images, targets)
            parts = torch.stack([loss_dict[name].float() for name in LOSS_NAMES])
            loss = parts.sum()
            optimizer.zero_grad(set_to_none=True)
            precision.backward_step(loss, optimizer)
            if warmup is not None and step < warmup_iters:
                warmup.step()
            step += 1
            # weighted by the batch size, so a short last batch counts for less
            sums.add_vector(torch.cat([loss.reshape(1), parts]).double() * len(images))
            examples += len(images)
        seconds = timer.seconds()
        if batch < 0:
            raise ValueError("train_iter yielded no batches; is the dataset empty?")
        means = [v / examples for v in sums.read()]   # the epoch's one read-back
        check_finite(means[0], epoch + 1, ckpt.path, parts=dict(zip(LOSS_NAMES, means[1:])),
                     advice="lower the learning rate, add warm-up or check the boxes for NaN/inf")
        if scheduler is not None:
            scheduler.step()
        rows.append({"epoch": epoch + 1, "train_loss": means[0],
                     **dict(zip(LOSS_NAMES, means[1:])),
                     "examples_per_sec": examples / seconds, "epoch_seconds": seconds})
        ckpt.save(rows, epoch + 1)
        if live:
            live.add(epoch + 1, plotted(rows[-1]))
    if live:
        live.close()
    history = pd.DataFrame(rows, columns=["epoch", "train_loss", *LOSS_NAMES,
                                          "examples_per_sec", "epoch_seconds"])
    log_run("train_detector", run_name, device, precision, rows,
            finite=all(math.isfinite(row["train_loss"]) for row in rows))
    if verbose and len(history):
        last = history.iloc[-1]
        print(f"epoch {int(last['epoch'])}: loss {last['train_loss']:.3f} ("
              + ", ".join(f"{n[5:]} {last[n]:.3f}" for n in LOSS_NAMES) + ")")
        print(f"{history['examples_per_sec'].mean():.1f} examples/sec on {device}")
    return history


def predict_detector(model: nn.Module, images: torch.Tensor | Sequence[torch.Tensor],
                     pixel_max: float = 255.0, device: torch.device | str | None = None
                     ) -> list[dict[str, torch.Tensor]]:
    """Detections for a batch of images (values 0..``pixel_max``), one dict per image.

    Each dict holds ``boxes`` (xyxy in the input images' pixels), ``scores`` and ``labels``
    (1 = banana), on the CPU, sorted by score. The model runs in eval mode without
    gradients (and is put back into training mode if it was in it), in float32 even on a
    GPU: under bf16 autocast torchvision decodes boxes in bf16, whose 8-bit mantissa rounds
    coordinates around 300 pixels to steps of 2.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    with eval_mode(model):
        out = model(_images(images, device, pixel_max))
    return [{k: v.float().cpu() if v.is_floating_point() else v.cpu() for k, v in d.items()}
            for d in out]


def rpn_proposals(model: nn.Module, images: torch.Tensor | Sequence[torch.Tensor],
                  pixel_max: float = 255.0) -> list[torch.Tensor]:
    """The region proposal network's boxes for each image (best objectness first).

    Runs the first half of the detector in eval mode: ``model.transform`` (normalise and
    resize), ``model.backbone`` and ``model.rpn``, which returns its post-NMS proposals in
    the resized images' coordinates; ``model.transform.postprocess`` maps them back onto
    the input images. Returns one ``(k, 4)`` CPU tensor of xyxy pixel boxes per image.
    Runs in float32, like :func:`predict_detector`.
    """
    device = next(model.parameters()).device
    with eval_mode(model):
        batch = _images(images, device, pixel_max)
        original_sizes = [tuple(x.shape[-2:]) for x in batch]
        resized, _ = model.transform(batch)
        features = model.backbone(resized.tensors)
        proposals, _ = model.rpn(resized, features)
        boxes = model.transform.postprocess([{"boxes": p} for p in proposals],
                                            resized.image_sizes, original_sizes)
    return [b["boxes"].float().cpu() for b in boxes]


def evaluate_detector(model: nn.Module, data_iter: Iterable, pixel_max: float = 255.0,
                      iou_thresholds: Sequence[float] | None = None) -> dict[str, Any]:
    """mAP of ``model`` on ``data_iter`` (batches of images and the book's labels).

    Returns what :func:`~d2lhelpers.detection_metrics.mean_average_precision` returns
    (``map`` over COCO's IoU thresholds 0.50:0.95 by default, ``map_50``, ``map_75``, ...).
    """
    preds, targets = [], []
    for X, y in Limited(data_iter):
        preds += predict_detector(model, X, pixel_max)
        targets += to_detection_targets(y, X.shape[-2:])
    return mean_average_precision(preds, targets, iou_thresholds=iou_thresholds)

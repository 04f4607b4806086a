"""The two Kaggle projects beyond their data: the frozen-feature model, its training
loop, predictions paired with their ids, and checked submission files.

The data side (competition layouts, labels, reorganisation) is in
:mod:`d2lhelpers.data.kaggle`.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data.kaggle import sort_ids
from .fileio import atomic_write_text
from .plotting import LivePlot
from .checkpoints import Checkpoint, checkpoint_file
from .runtime import Limited, log_run, reset_peak_memory
from .train import (DeviceSums, DeviceTimer, Precision, check_finite, eval_mode, place_model,
                    to_device)

__all__ = ["FrozenFeaturesNet", "check_submission", "evaluate_loss", "label_submission",
           "predict", "probability_submission", "train_head", "write_submission"]


# export: chapters/13-kaggle-cifar10.ipynb
def predict(net: nn.Module, data_iter, device: torch.device) -> tuple[list[str], torch.Tensor]:
    """``(ids, outputs)`` of ``net`` over batches of ``(images, ids)``, in eval mode and
    without gradients; each output row belongs to the id at the same position."""
    ids, outputs = [], []
    with eval_mode(net):
        for X, batch_ids in data_iter:
            outputs.append(net(to_device(X, device)).float())   # stays on the device
            ids.extend(batch_ids)
    return ids, torch.cat(outputs).cpu()   # one copy back, after the last batch


# export: chapters/13-kaggle-cifar10.ipynb
def label_submission(ids: list[str], outputs: torch.Tensor,
                     classes: list[str]) -> pd.DataFrame:
    """A CIFAR-10 submission: columns ``id,label``, the label of the highest score,
    rows sorted by id."""
    labels = [classes[i] for i in outputs.argmax(dim=1).tolist()]
    table = pd.DataFrame({"id": ids, "label": labels})
    return table.set_index("id").loc[sort_ids(ids)].reset_index()


# export: chapters/14-kaggle-dog.ipynb
def probability_submission(ids: list[str], outputs: torch.Tensor, classes: list[str],
                           columns: list[str] | None = None) -> pd.DataFrame:
    """A dog-breed submission: ``id`` then one probability column per class (softmax
    over the classes, dim=1, so every row sums to 1); rows sorted by id. ``columns``
    orders the class columns (e.g. as in the sample submission)."""
    probs = torch.softmax(outputs.float(), dim=1)
    table = pd.DataFrame(probs.numpy().astype(np.float64), columns=classes)
    table.insert(0, "id", ids)
    table = table.set_index("id").loc[sort_ids(ids)].reset_index()
    return table[["id", *(columns or classes)]]


def write_submission(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` as CSV (no index) to ``path`` atomically and return the path."""
    return atomic_write_text(path, table.to_csv(index=False))


def check_submission(submission: pd.DataFrame | str | os.PathLike,
                     sample_file: str | os.PathLike, test_ids: Iterable[str],
                     classes: Iterable[str], probabilities: bool = False) -> dict[str, Any]:
    """Check a submission against the sample submission and the test images.

    Errors (ValueError): columns other than the sample's, repeated ids, ids that are not
    test images or not in the sample, test images without a prediction, labels outside
    ``classes`` or, with ``probabilities``, class columns other than ``classes``, values
    outside [0, 1] or rows not summing to 1. Returns counts, including how many of the
    sample's ids have no test image here (a tiny sample ships only a few test images).
    """
    table = submission if isinstance(submission, pd.DataFrame) else pd.read_csv(
        submission, dtype={"id": str})
    sample = pd.read_csv(sample_file, dtype={"id": str})
    classes, test_ids = list(classes), set(test_ids)
    if list(table.columns) != list(sample.columns):
        raise ValueError(f"the submission's columns {list(table.columns)[:5]}... differ from "
                         f"those of {sample_file}: {list(sample.columns)[:5]}...")
    ids = table["id"].astype(str)
    if ids.duplicated().any():
        raise ValueError(f"ids repeated in the submission, e.g. {ids[ids.duplicated()].iloc[0]!r}")
    unknown = set(ids) - test_ids
    if unknown:
        raise ValueError(f"{len(unknown)} submission id(s) are not test images, "
                         f"e.g. {sort_ids(unknown)[:3]}")
    not_sampled = set(ids) - set(sample["id"].astype(str))
    if not_sampled:
        raise ValueError(f"{len(not_sampled)} submission id(s) are not in {sample_file}, "
                         f"e.g. {sort_ids(not_sampled)[:3]}")
    unpredicted = test_ids - set(ids)
    if unpredicted:
        raise ValueError(f"{len(unpredicted)} test image(s) have no prediction, "
                         f"e.g. {sort_ids(unpredicted)[:3]}")
    if probabilities:
        if set(table.columns[1:]) != set(classes):
            raise ValueError("the probability columns are not the training classes: "
                             f"{sorted(set(table.columns[1:]) ^ set(classes))[:5]} differ")
        values = table[table.columns[1:]].to_numpy(dtype=np.float64)
        if (values < 0).any() or (values > 1).any():
            raise ValueError("probabilities must lie in [0, 1]")
        sums = values.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=1e-5):
            row = int(np.argmax(np.abs(sums - 1)))
            raise ValueError(f"the row of id {ids.iloc[row]!r} sums to {sums[row]:.6f}, not 1")
    else:
        outside = set(table["label"]) - set(classes)
        if outside:
            raise ValueError(f"labels outside the classes: {sorted(outside)[:5]}")
    return {"rows": len(table), "sample_rows": len(sample),
            "sample_ids_without_test_image": len(set(sample["id"].astype(str)) - set(ids))}


# ------------------------------------------------------------ dog breeds: model, training

# export: chapters/14-kaggle-dog.ipynb
class FrozenFeaturesNet(nn.Module):
    """A frozen pretrained network (``features``) and a small trainable head
    (``output_new``): Linear(num_features, 256) - ReLU - Linear(256, num_classes)."""

    def __init__(self, features: nn.Module, num_features: int, num_classes: int,
                 hidden: int = 256):
        super().__init__()
        self.features = features.requires_grad_(False)
        self.output_new = nn.Sequential(nn.Linear(num_features, hidden), nn.ReLU(),
                                        nn.Linear(hidden, num_classes))

    def train(self, mode: bool = True) -> "FrozenFeaturesNet":
        super().train(mode)
        self.features.eval()  # frozen: batch norm keeps its pretrained statistics
        return self

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.output_new(self.features(X))


# export: chapters/14-kaggle-dog.ipynb
def evaluate_loss(net: nn.Module, data_iter, loss, device: torch.device) -> tuple[float, float]:
    """``(mean loss, accuracy)`` over *all* examples of ``data_iter`` (every batch
    counts, weighted by its size), in eval mode and without gradients."""
    sums = DeviceSums(3, device)  # loss sum, correct, examples
    with eval_mode(net), Precision(device).autocast():
        for X, y in Limited(data_iter):   # all of it, unless a rehearsal bounds the loop
            X, y = to_device(X, device), to_device(y, device)
            outputs = net(X).float()
            sums.add(loss(outputs, y), (outputs.argmax(dim=1) == y).sum(), y.numel())
    loss_sum, correct, count = sums.read()
    if count == 0:
        raise ValueError("data_iter yielded no examples; is the validation folder empty?")
    return loss_sum / count, correct / count


# export: chapters/14-kaggle-dog.ipynb
def train_head(net, train_iter, valid_iter, optimizer, scheduler, num_epochs, device,
               plot=True, checkpoint=None, run_name=None):
    """Train ``net`` (only parameters that require gradients change); one row per epoch
    with the training loss, and the validation loss and accuracy when ``valid_iter``.
    Mixed precision, the NaN stop, checkpoints (``checkpoint``, or ``run_name`` under
    make full) and a rehearsal's bounds come from the training engine."""
    loss = nn.CrossEntropyLoss(reduction="none")
    net, device = place_model(net, [device])
    precision = Precision(device)
    ckpt = Checkpoint(checkpoint_file(checkpoint, run_name), net, optimizer, scheduler, precision)
    rows, start_epoch = ckpt.resume()
    started = time.perf_counter()   # a rehearsal's limits (runtime.Limited) count from here
    reset_peak_memory(device)
    live = LivePlot("epoch", ["train loss", "valid loss"], xlim=(1, num_epochs)) if plot else None
    for row in rows:
        if live:
            live.add(row["epoch"], [row["train_loss"], row["valid_loss"]])
    for epoch in Limited(range(start_epoch, num_epochs), start=started):
        net.train()
        sums = DeviceSums(2, device)  # loss sum, examples
        timer = DeviceTimer(device)
        for X, y in Limited(train_iter, start=started):
            X, y = to_device(X, device), to_device(y, device)
            optimizer.zero_grad(set_to_none=True)
            with precision.autocast():
                l = loss(net(X).float(), y)
            precision.backward_step(l.sum(), optimizer)
            sums.add(l, y.numel())
        seconds = timer.seconds()
        loss_sum, examples = sums.read()
        if examples == 0:
            raise ValueError("train_iter yielded no examples; is the training folder empty?")
        check_finite(loss_sum, epoch + 1, ckpt.path)
        scheduler.step()
        row = {"epoch": epoch + 1, "train_loss": loss_sum / examples, "valid_loss": None,
               "valid_acc": None, "examples_per_sec": examples / seconds, "epoch_seconds": seconds}
        if valid_iter is not None:
            row["valid_loss"], row["valid_acc"] = evaluate_loss(net, valid_iter, loss, device)
        rows.append(row)
        ckpt.save(rows, epoch + 1)
        if live:
            live.add(epoch + 1, [row["train_loss"], row["valid_loss"]])
    if live:
        live.close()
    log_run("train_head", run_name, device, precision, rows,
            finite=all(math.isfinite(row["train_loss"]) for row in rows))
    return pd.DataFrame(rows)

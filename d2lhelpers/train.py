"""A compact trainer for classification (and, through its hooks, segmentation).

Performance notes: metrics are summed on the device and read back only every
``log_every`` batches and at the end of an epoch (no host sync per batch); on CUDA the
model and images use channels_last and the forward pass runs under bf16 autocast; with
several GPUs the model is wrapped in ``nn.DataParallel``. Examples per second are timed
over the whole training part of each epoch, with CUDA synchronised at its boundaries.
"""
from __future__ import annotations

import itertools
import math
import os
import random
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .fileio import atomic_path
from .mode import devices as visible_devices

__all__ = ["accuracy_counts", "evaluate", "train_classifier", "TrainingDiverged"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite."""


def accuracy_counts(logits: torch.Tensor, y: torch.Tensor, ignore_index: int | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(number correct, number counted) as device tensors; class scores on dim 1.

    Works for image labels ``(N,)`` and per-pixel labels ``(N, H, W)``; targets equal to
    ``ignore_index`` (e.g. VOC's void 255) are not counted at all.
    """
    pred = logits.argmax(dim=1)
    if ignore_index is None:
        # torch.full, not torch.tensor: no host-to-device copy (a CUDA sync) per batch
        return (pred == y).sum(), torch.full((), y.numel(), device=y.device)
    keep = y != ignore_index
    return ((pred == y) & keep).sum(), keep.sum()


def _unwrap(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, nn.DataParallel) else net


def _to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type == "cuda" and x.dim() == 4 and x.is_floating_point():
        return x.to(device, non_blocking=True, memory_format=torch.channels_last)
    return x.to(device, non_blocking=True)


def _autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def evaluate(net: nn.Module, data_iter: Iterable, device: torch.device | None = None,
             metric: MetricFn = accuracy_counts) -> float:
    """Accuracy of ``net`` on ``data_iter`` in eval mode without gradients (one host sync)."""
    device = device or next(net.parameters()).device
    was_training = net.training
    net.eval()
    totals = torch.zeros(2, dtype=torch.float64, device=device)
    try:
        with torch.no_grad(), _autocast(device):
            for X, y in data_iter:
                X, y = _to_device(X, device), _to_device(y, device)
                correct, count = metric(net(X), y)
                totals += torch.stack([correct.double(), count.double()])
    finally:
        net.train(was_training)
    correct, count = totals.tolist()
    return correct / max(count, 1.0)


def _map_tensors(fn: Callable[[torch.Tensor], torch.Tensor], out):
    """Apply ``fn`` to a model output: a tensor or a tuple/list of them (e.g. SSD's)."""
    if isinstance(out, (tuple, list)):
        return type(out)(_map_tensors(fn, o) for o in out)
    return fn(out)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


_training_runs = itertools.count(1)


def auto_checkpoint() -> Path | None:
    """The checkpoint of this training run when a ``make full`` run asked for them, else None.

    ``tools/run_full.py`` sets ``D2L_CHECKPOINT_DIR`` and ``D2L_NOTEBOOK`` for each notebook;
    the k-th training run in the notebook's kernel then checkpoints to
    ``$D2L_CHECKPOINT_DIR/<notebook>/run-<k>.pt``. A notebook runs its trainings in the
    same order every time, so launching the run again resumes each one where it stopped
    (finished ones are loaded, not retrained).
    """
    root, notebook = os.environ.get("D2L_CHECKPOINT_DIR"), os.environ.get("D2L_NOTEBOOK")
    if not root or not notebook:
        return None
    return Path(root) / notebook / f"run-{next(_training_runs)}.pt"


def _check_finite(loss_sum: float, epoch: int, batch: int, checkpoint: Path | None) -> None:
    if not math.isfinite(loss_sum):
        where = (f"the last good checkpoint is {checkpoint}" if checkpoint and checkpoint.exists()
                 else "no checkpoint was written")
        raise TrainingDiverged(
            f"training loss became {loss_sum} in epoch {epoch + 1} (by batch {batch + 1}); "
            f"lower the learning rate or check the data for NaN/inf values ({where})")


def train_classifier(net: nn.Module, train_iter: Iterable, test_iter: Iterable | None,
                     loss: LossFn, optimizer: torch.optim.Optimizer, num_epochs: int,
                     devices: Sequence[torch.device] | None = None,
                     scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                     metric: MetricFn = accuracy_counts, checkpoint: str | Path | None = None,
                     log_every: int = 50, plot: bool = True, progress: bool = True,
                     verbose: bool = True, loss_reduction: str = "sum",
                     legend: Sequence[str] = ("train loss", "train acc", "test acc")
                     ) -> pd.DataFrame:
    """Train ``net`` and return one row of metrics per epoch.

    ``loss(outputs, y)`` must return one loss per example (``reduction="none"``); the
    trainer back-propagates their sum, as the textbook does. ``metric(outputs, y)``
    returns (correct, counted) device tensors. ``outputs`` may be a tuple of tensors
    (a detector's anchors, class and box predictions): loss and metric receive it whole.
    ``loss_reduction="mean"`` back-propagates the batch mean instead (SSD's convention);
    ``legend`` names the three plotted curves. With ``checkpoint`` set, model, optimizer,
    scheduler, random state and history are saved atomically after every epoch, and a
    later call with the same path resumes after the last finished epoch; without it, a
    ``make full`` run picks one (:func:`auto_checkpoint`).
    """
    if num_epochs < 0:
        raise ValueError(f"num_epochs={num_epochs} must be >= 0")
    if loss_reduction not in ("sum", "mean"):
        raise ValueError(f"loss_reduction={loss_reduction!r} must be 'sum' or 'mean'")
    devices = list(devices) if devices else visible_devices()
    device = torch.device(devices[0])
    net.to(device)
    if device.type == "cuda":
        net.to(memory_format=torch.channels_last)
    model = nn.DataParallel(net, device_ids=devices) if len(devices) > 1 else net

    checkpoint = Path(checkpoint) if checkpoint else auto_checkpoint()
    rows: list[dict] = []
    start_epoch = 0
    if checkpoint is not None and checkpoint.exists():
        rows, start_epoch = _load_checkpoint(checkpoint, net, optimizer, scheduler, verbose)

    from .plotting import LivePlot  # matplotlib is only needed when plotting
    live = LivePlot(xlabel="epoch", xlim=(1, max(num_epochs, 1)),
                    legend=list(legend)) if plot else None
    for row in rows:
        if live:
            live.add(row["epoch"], [row["train_loss"], row["train_acc"], row.get("test_acc")])

    for epoch in range(start_epoch, num_epochs):
        model.train()
        # loss sum, correct, counted, examples -- summed on the device, read rarely
        totals = torch.zeros(4, dtype=torch.float64, device=device)
        bar = _progress(train_iter, epoch, num_epochs, progress)
        _sync(device)
        tic = time.perf_counter()
        batch = -1
        for batch, (X, y) in enumerate(bar):
            X, y = _to_device(X, device), _to_device(y, device)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device):
                out = model(X)
            losses = loss(_map_tensors(lambda t: t.float(), out), y)  # loss in float32
            if losses.dim() != 1 or losses.shape[0] != y.shape[0]:
                raise ValueError(
                    f"loss returned shape {tuple(losses.shape)}; it must give one value per "
                    f"example, shape ({y.shape[0]},): use reduction='none'")
            (losses.sum() if loss_reduction == "sum" else losses.mean()).backward()
            optimizer.step()
            correct, count = metric(_map_tensors(torch.Tensor.detach, out), y)
            totals += torch.stack([losses.detach().sum().double(), correct.double(),
                                   count.double(), torch.full((), float(y.shape[0]), device=device,
                                                              dtype=torch.float64)])
            if (batch + 1) % log_every == 0:  # the only per-epoch host syncs
                loss_sum, c, n, m = totals.tolist()
                _check_finite(loss_sum, epoch, batch, checkpoint)
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{loss_sum / m:.3f}", acc=f"{c / max(n, 1):.3f}")
        _sync(device)
        seconds = time.perf_counter() - tic
        if batch < 0:
            raise ValueError("train_iter yielded no batches; is the dataset empty?")
        loss_sum, correct, count, examples = totals.tolist()
        _check_finite(loss_sum, epoch, batch, checkpoint)
        if scheduler is not None:
            scheduler.step()
        row = {"epoch": epoch + 1, "train_loss": loss_sum / examples,
               "train_acc": correct / max(count, 1.0),
               "test_acc": evaluate(model, test_iter, device, metric) if test_iter is not None else None,
               "examples_per_sec": examples / seconds, "epoch_seconds": seconds}
        rows.append(row)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, net, optimizer, scheduler, rows, epoch + 1)
        if live:
            live.add(row["epoch"], [row["train_loss"], row["train_acc"], row["test_acc"]])

    history = pd.DataFrame(rows, columns=["epoch", "train_loss", "train_acc", "test_acc",
                                          "examples_per_sec", "epoch_seconds"])
    if live:
        live.close()
    if verbose and len(history):
        last = history.iloc[-1]
        test = "" if last["test_acc"] is None or pd.isna(last["test_acc"]) else \
            f", test acc {last['test_acc']:.3f}"
        speed = history["examples_per_sec"].mean()
        print(f"loss {last['train_loss']:.3f}, train acc {last['train_acc']:.3f}{test}")
        print(f"{speed:.1f} examples/sec on {', '.join(str(d) for d in devices)}")
    return history


def _progress(train_iter: Iterable, epoch: int, num_epochs: int, enabled: bool):
    # tqdm.notebook ignores the TQDM_DISABLE variable (it sets disable=False itself), so
    # honour it here: `make test`/`make book` set it to keep progress bars out of outputs.
    if not enabled or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes"):
        return train_iter
    from tqdm.auto import tqdm
    total = len(train_iter) if hasattr(train_iter, "__len__") else None
    return tqdm(train_iter, total=total, desc=f"epoch {epoch + 1}/{num_epochs}", leave=False)


def _load_checkpoint(path: Path, net: nn.Module, optimizer, scheduler, verbose: bool
                     ) -> tuple[list[dict], int]:
    """Restore what :func:`_save_checkpoint` wrote; returns (history rows, finished epochs)."""
    # CPU: RNG states must stay CPU ByteTensors; load_state_dict moves the rest
    state = torch.load(path, map_location="cpu", weights_only=False)
    _unwrap(net).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"])
    if verbose:
        print(f"resumed from {path} after epoch {state['epoch']}")
    return state["history"], state["epoch"]


def _save_checkpoint(path: Path, net: nn.Module, optimizer, scheduler, rows, epoch) -> None:
    state = {"model": _unwrap(net).state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict() if scheduler is not None else None,
             "rng": _rng_state(), "history": rows, "epoch": epoch}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)

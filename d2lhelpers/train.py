"""The training engine, and the classifier trainer built on it.

Every training loop of the book (:func:`train_classifier` here, which also trains SSD
and the FCN; ``detection.rcnn.train_detector``; ``kaggle.train_head``;
``style_transfer.synthesize``) is made of the same pieces, each defined once below:

* **placement**: :func:`place_model` (device, channels_last on CUDA, DataParallel over
  several GPUs) and :func:`to_device` for batches;
* **precision**: :func:`autocast_dtype` decides the mixed precision for a device (the one
  place to change that decision) and :class:`Precision` applies it: autocast for the
  forward pass and, for float16, a gradient scaler in the backward pass;
* **metrics without host syncs**: :class:`DeviceSums` keeps per-batch sums on the device
  and reads them back only when asked (once per epoch, or every ``log_every`` batches);
* **timing**: :class:`DeviceTimer` measures wall time with the device synchronised at
  both ends, so examples per second cover the whole epoch;
* **divergence**: :func:`check_finite` stops with :class:`TrainingDiverged` on NaN/inf;
* **checkpoints** (in :mod:`d2lhelpers.checkpoints`): :class:`Checkpoint` saves model,
  optimizer, scheduler, gradient scaler, random state and history after each epoch and
  resumes from them; :func:`checkpoint_file` names a run's file under ``make full``
  (notebook + run name);
* **evaluation**: :func:`eval_mode` (eval mode and no gradients, the previous mode
  restored afterwards, even after an error).
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import pandas as pd
import torch
from torch import nn

from .checkpoints import Checkpoint, checkpoint_file
from .mode import devices as visible_devices
from .runtime import Limited, log_run, rehearsal, reset_peak_memory

__all__ = ["PRECISIONS", "DeviceSums", "DeviceTimer", "Precision", "TrainingDiverged",
           "accuracy_counts", "autocast_dtype", "check_finite", "describe_setup", "eval_mode",
           "evaluate", "place_model", "progress_bar", "sync", "to_device", "train_classifier",
           "unwrap"]

LossFn = Callable[[Any, torch.Tensor], torch.Tensor]
MetricFn = Callable[[Any, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


# ----------------------------------------------------------------- device placement

def place_model(net: nn.Module, devices: Sequence[torch.device | str] | None = None
                ) -> tuple[nn.Module, torch.device]:
    """Move ``net`` to the first of ``devices`` (default: every visible GPU, else the
    CPU) and return ``(model, device)``: ``model`` is ``net`` itself, or an
    ``nn.DataParallel`` over several GPUs. On CUDA the weights use channels_last."""
    devices = [torch.device(d) for d in devices] if devices else visible_devices()
    device = devices[0]
    net.to(device)
    if device.type == "cuda":
        net.to(memory_format=torch.channels_last)
    model = nn.DataParallel(net, device_ids=devices) if len(devices) > 1 else net
    return model, device


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside an ``nn.DataParallel`` (or ``model`` itself)."""
    return model.module if isinstance(model, nn.DataParallel) else model


def to_device(x: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """Copy a batch to ``device`` without waiting (pinned memory makes it asynchronous);
    image batches ``(N, C, H, W)`` go channels_last on CUDA, where convolutions prefer it."""
    device = torch.device(device)
    if device.type == "cuda" and x.dim() == 4 and x.is_floating_point():
        return x.to(device, non_blocking=True, memory_format=torch.channels_last)
    return x.to(device, non_blocking=True)


def sync(device: torch.device) -> None:
    """Wait for the device to finish its queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------------ precision

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype training uses on ``device``: the book's one mixed-precision
    decision.

    None (float32) on the CPU. On CUDA it follows the GPU's compute capability: bfloat16
    from 8.0 (Ampere and later have bf16 tensor cores), float16 with a gradient scaler
    below it (a T4 is 7.5, a V100 7.0: no bf16 hardware, so bf16 would run emulated and
    cuDNN has no bf16 convolutions there). ``D2L_PRECISION`` (``fp32``, ``bf16`` or
    ``fp16``) overrides the choice on CUDA, e.g. to rehearse a T4's fp16 on a newer GPU.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return None
    forced = os.environ.get("D2L_PRECISION", "").strip().lower()
    if forced:
        if forced not in PRECISIONS:
            raise ValueError(f"the environment variable D2L_PRECISION={forced!r} must be one of "
                             f"{sorted(PRECISIONS)}, or unset (chosen by the GPU)")
        return PRECISIONS[forced]
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


class Precision:
    """The mixed-precision policy of :func:`autocast_dtype` for one device.

    :meth:`autocast` wraps forward passes; :meth:`backward_step` back-propagates and
    steps the optimizer, through a gradient scaler when the dtype is float16 (whose
    small range would let small gradients underflow to zero); the scaler's state is
    part of every checkpoint (:meth:`state_dict`).
    """

    def __init__(self, device: torch.device | str, dtype: torch.dtype | None | str = "auto"):
        self.device = torch.device(device)
        self.dtype = autocast_dtype(self.device) if dtype == "auto" else dtype
        self.scaler = torch.amp.GradScaler(self.device.type,
                                           enabled=self.dtype == torch.float16)

    @property
    def name(self) -> str:
        return {None: "float32", torch.bfloat16: "bfloat16 autocast",
                torch.float16: "float16 autocast + gradient scaling"}[self.dtype]

    def __repr__(self) -> str:
        return f"Precision({self.device}: {self.name})"

    def autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast(self.device.type, dtype=self.dtype or torch.bfloat16,
                              enabled=self.dtype is not None)

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """``loss.backward()`` and ``optimizer.step()`` (both scaled for float16)."""
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict:
        return self.scaler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.scaler.load_state_dict(state)


# ------------------------------------------------------------- metrics and timing

class DeviceSums:
    """``n`` running sums kept on the device in float64.

    :meth:`add` queues an addition on the device (no host sync, so the GPU never waits
    for Python); :meth:`read` copies the sums back, the one sync.
    """

    def __init__(self, n: int, device: torch.device):
        self.device = torch.device(device)
        self.totals = torch.zeros(n, dtype=torch.float64, device=self.device)

    def add(self, *values: torch.Tensor | float) -> None:
        """Add one value per sum: device tensors (summed if not scalars) or Python numbers."""
        # torch.full, not torch.tensor, for numbers: no host-to-device copy per batch
        self.totals += torch.stack([
            v.detach().sum().double() if isinstance(v, torch.Tensor)
            else torch.full((), float(v), dtype=torch.float64, device=self.device)
            for v in values])

    def add_vector(self, values: torch.Tensor) -> None:
        """Add a 1-D device tensor holding one value per sum."""
        self.totals += values.detach().double()

    def read(self) -> list[float]:
        return self.totals.tolist()


class DeviceTimer:
    """Wall time since creation, with the device synchronised at both ends."""

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        sync(self.device)
        self.tic = time.perf_counter()

    def seconds(self) -> float:
        sync(self.device)
        return time.perf_counter() - self.tic


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite."""


def check_finite(loss: float, epoch: int, checkpoint: Path | None, *, batch: int | None = None,
                 parts: dict[str, float] | None = None,
                 advice: str = "lower the learning rate or check the data for NaN/inf values"
                 ) -> None:
    """Raise :class:`TrainingDiverged` unless ``loss`` (and every value in ``parts``) is
    finite; the message names the epoch (1-based), the batch and the last checkpoint."""
    if math.isfinite(loss) and all(math.isfinite(v) for v in (parts or {}).values()):
        return
    where = f"epoch {epoch}" + (f" (by batch {batch})" if batch is not None else "")
    detail = (" (parts: " + ", ".join(f"{k} {v:.4g}" for k, v in parts.items()) + ")"
              if parts else "")
    saved = (f"the last good checkpoint is {checkpoint}" if checkpoint and checkpoint.exists()
             else "no checkpoint was written")
    raise TrainingDiverged(f"the training loss became {loss} in {where}{detail}; {advice} "
                           f"({saved})")


def progress_bar(batches: Iterable, epoch: int, num_epochs: int, enabled: bool = True) -> Iterable:
    """``batches`` with a tqdm progress bar, unless disabled or ``TQDM_DISABLE`` is set."""
    # tqdm.notebook ignores the TQDM_DISABLE variable (it sets disable=False itself), so
    # honour it here: `make test`/`make book` set it to keep progress bars out of outputs.
    if not enabled or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes"):
        return batches
    from tqdm.auto import tqdm
    total = len(batches) if hasattr(batches, "__len__") else None
    return tqdm(batches, total=total, desc=f"epoch {epoch + 1}/{num_epochs}", leave=False)


@contextlib.contextmanager
def eval_mode(net: nn.Module) -> Iterator[nn.Module]:
    """``with eval_mode(net):`` evaluation mode and no gradients; afterwards (even after
    an error) the network is back in the mode it was in."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            yield net
    finally:
        net.train(was_training)


# ------------------------------------------------------------------ classification

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


def evaluate(net: nn.Module, data_iter: Iterable, device: torch.device | None = None,
             metric: MetricFn = accuracy_counts) -> float:
    """Accuracy of ``net`` on ``data_iter`` in eval mode without gradients (one host sync)."""
    device = device or next(net.parameters()).device
    precision = Precision(device)
    sums = DeviceSums(2, device)
    with eval_mode(net), precision.autocast():
        for X, y in Limited(data_iter):
            X, y = to_device(X, device), to_device(y, device)
            sums.add(*metric(net(X), y))
    correct, count = sums.read()
    return correct / max(count, 1.0)


def _map_tensors(fn: Callable[[torch.Tensor], torch.Tensor], out):
    """Apply ``fn`` to a model output: a tensor or a tuple/list of them (e.g. SSD's)."""
    if isinstance(out, (tuple, list)):
        return type(out)(_map_tensors(fn, o) for o in out)
    return fn(out)


def train_classifier(net: nn.Module, train_iter: Iterable, test_iter: Iterable | None,
                     loss: LossFn, optimizer: torch.optim.Optimizer, num_epochs: int,
                     devices: Sequence[torch.device] | None = None,
                     scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                     metric: MetricFn = accuracy_counts, checkpoint: str | Path | None = None,
                     run_name: str | None = None, log_every: int = 50, plot: bool = True,
                     progress: bool = True, verbose: bool = True, loss_reduction: str = "sum",
                     legend: Sequence[str] = ("train loss", "train acc", "test acc")
                     ) -> pd.DataFrame:
    """Train ``net`` and return one row of metrics per epoch.

    ``loss(outputs, y)`` must return one loss per example (``reduction="none"``); the
    trainer back-propagates their sum, as the textbook does. ``metric(outputs, y)``
    returns (correct, counted) device tensors. ``outputs`` may be a tuple of tensors
    (a detector's anchors, class and box predictions): loss and metric receive it whole.
    ``loss_reduction="mean"`` back-propagates the batch mean instead (SSD's convention);
    ``legend`` names the three plotted curves. With ``checkpoint`` (a file) the run is
    saved after every epoch and a later call with the same file resumes after the last
    finished epoch; under ``make full`` the file comes from ``run_name``
    (:func:`checkpoint_file`). Columns: ``epoch, train_loss, train_acc, test_acc,
    examples_per_sec, epoch_seconds``.
    """
    if num_epochs < 0:
        raise ValueError(f"num_epochs={num_epochs} must be >= 0")
    if loss_reduction not in ("sum", "mean"):
        raise ValueError(f"loss_reduction={loss_reduction!r} must be 'sum' or 'mean'")
    model, device = place_model(net, devices)
    precision = Precision(device)
    ckpt = Checkpoint(checkpoint_file(checkpoint, run_name), net, optimizer, scheduler, precision)
    rows, start_epoch = ckpt.resume(verbose)
    started = time.perf_counter()   # a rehearsal's limits (runtime.Limited) count from here
    batches = Limited(train_iter, start=started)
    reset_peak_memory(device)

    from .plotting import LivePlot  # matplotlib is only needed when plotting
    live = LivePlot(xlabel="epoch", xlim=(1, max(num_epochs, 1)),
                    legend=list(legend)) if plot else None
    for row in rows:
        if live:
            live.add(row["epoch"], [row["train_loss"], row["train_acc"], row.get("test_acc")])

    for epoch in Limited(range(start_epoch, num_epochs), start=started):
        model.train()
        sums = DeviceSums(4, device)   # loss sum, correct, counted, examples
        bar = progress_bar(batches, epoch, num_epochs, progress)
        timer = DeviceTimer(device)
        batch = -1
        for batch, (X, y) in enumerate(bar):
            X, y = to_device(X, device), to_device(y, device)
            optimizer.zero_grad(set_to_none=True)
            with precision.autocast():
                out = model(X)
            losses = loss(_map_tensors(lambda t: t.float(), out), y)  # loss in float32
            if losses.dim() != 1 or losses.shape[0] != y.shape[0]:
                raise ValueError(
                    f"loss returned shape {tuple(losses.shape)}; it must give one value per "
                    f"example, shape ({y.shape[0]},): use reduction='none'")
            precision.backward_step(losses.sum() if loss_reduction == "sum" else losses.mean(),
                                    optimizer)
            correct, count = metric(_map_tensors(torch.Tensor.detach, out), y)
            sums.add(losses, correct, count, y.shape[0])
            if (batch + 1) % log_every == 0:  # the only per-epoch host syncs
                loss_sum, c, n, m = sums.read()
                check_finite(loss_sum, epoch + 1, ckpt.path, batch=batch + 1)
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{loss_sum / m:.3f}", acc=f"{c / max(n, 1):.3f}")
        seconds = timer.seconds()
        if batch < 0:
            raise ValueError("train_iter yielded no batches; is the dataset empty (or smaller "
                             "than one batch, with drop_last=True)?")
        loss_sum, correct, count, examples = sums.read()
        check_finite(loss_sum, epoch + 1, ckpt.path, batch=batch + 1)
        if scheduler is not None:
            scheduler.step()
        row = {"epoch": epoch + 1, "train_loss": loss_sum / examples,
               "train_acc": correct / max(count, 1.0),
               "test_acc": evaluate(model, test_iter, device, metric) if test_iter is not None else None,
               "examples_per_sec": examples / seconds, "epoch_seconds": seconds}
        rows.append(row)
        ckpt.save(rows, epoch + 1)
        if live:
            live.add(row["epoch"], [row["train_loss"], row["train_acc"], row["test_acc"]])

    history = pd.DataFrame(rows, columns=["epoch", "train_loss", "train_acc", "test_acc",
                                          "examples_per_sec", "epoch_seconds"])
    log_run("train_classifier", run_name, device, precision, rows,
            finite=all(math.isfinite(row["train_loss"]) for row in rows))
    if live:
        live.close()
    if verbose and len(history):
        last = history.iloc[-1]
        test = "" if last["test_acc"] is None or pd.isna(last["test_acc"]) else \
            f", test acc {last['test_acc']:.3f}"
        speed = history["examples_per_sec"].mean()
        print(f"loss {last['train_loss']:.3f}, train acc {last['train_acc']:.3f}{test}")
        print(f"{speed:.1f} examples/sec on {', '.join(str(d) for d in _devices_of(model, device))}")
    return history


def describe_setup(mode: str, device: torch.device | str | None = None) -> str:
    """One line for the top of a notebook: mode, device, precision, and any run limit.

    ``mode`` is the resolved mode; ``device`` defaults to the first GPU or the CPU.
    """
    from .results import device_name
    device = torch.device(device) if device is not None else visible_devices()[0]
    limits = rehearsal()
    return (f"mode {mode} | device {device_name(device)} | precision {Precision(device).name}"
            + (f" | rehearsal: {limits} (bounded loops, outcome checks skipped)" if limits else ""))


def _devices_of(model: nn.Module, device: torch.device) -> list[torch.device]:
    if isinstance(model, nn.DataParallel):
        return [torch.device(f"cuda:{i}") for i in model.device_ids]
    return [device]

"""Knobs that bound a run without changing its code path, and the run log.

* ``D2L_FAST_DEV_RUN=N``: every loop whose length a preset sets stops after ``N`` steps:
  the batches of every training and evaluation loop, the epochs of every training, the
  style-transfer iterations. The CI rehearsal of full mode.
* ``D2L_TIME_LIMIT=S``: every training run stops after ``S`` seconds (at a batch
  boundary, then starts no further epoch), and every evaluation loop after ``S`` seconds
  too: the GPU check, which measures speed at full size without waiting for whole
  trainings.
* ``D2L_RUN_LOG=path``: every training run appends one JSON line to ``path``: its
  trainer, run name, device, precision, per-epoch seconds and examples/s, peak GPU
  memory and whether its losses stayed finite (the GPU check reads them).

Under either limit a run is a *rehearsal* (:func:`rehearsal`): its results are saved as
mode ``rehearsal`` and the notebooks skip (visibly) their checks of learning outcomes,
which a bounded run on stand-in data cannot meet. Nothing else changes.
"""
from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import torch

__all__ = ["Limited", "expect", "fast_dev_run", "log_run", "rehearsal", "reset_peak_memory",
           "time_limit"]


def _positive(name: str, parse: type) -> Any:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        number = parse(value)
    except ValueError:
        number = None
    if number is None or not number > 0:
        kind = "a positive integer" if parse is int else "a positive number of seconds"
        raise ValueError(f"the environment variable {name}={value!r} must be {kind}, or unset")
    return number


def fast_dev_run() -> int | None:
    """``D2L_FAST_DEV_RUN`` as a number of batches, or None when it is not set."""
    return _positive("D2L_FAST_DEV_RUN", int)


def time_limit() -> float | None:
    """``D2L_TIME_LIMIT`` in seconds, or None when it is not set."""
    return _positive("D2L_TIME_LIMIT", float)


def rehearsal() -> str | None:
    """What bounds this run ("D2L_FAST_DEV_RUN=2", ...), or None for a real run."""
    knobs = [f"D2L_FAST_DEV_RUN={fast_dev_run()}" if fast_dev_run() else "",
             f"D2L_TIME_LIMIT={time_limit():g}" if time_limit() else ""]
    return ", ".join(k for k in knobs if k) or None


def expect(condition: bool, what: str) -> None:
    """Assert a learning outcome (``what``), or say that a rehearsal skips the check."""
    if rehearsal():
        print(f"[{rehearsal()}] not checked on a bounded run: {what}")
    elif not condition:
        raise AssertionError(f"expected: {what}")


class Limited:
    """``batches`` cut after ``D2L_FAST_DEV_RUN`` items and at the ``D2L_TIME_LIMIT``.

    ``start`` is when the clock started (``time.perf_counter()``; default: when the
    first item is asked for), so a trainer can give all its epochs one time budget.
    Without either knob it yields ``batches`` unchanged. ``len()`` is the number of
    batches it will yield at most.
    """

    def __init__(self, batches: Iterable, start: float | None = None):
        self.batches, self.start = batches, start
        self.n, self.seconds = fast_dev_run(), time_limit()

    def __len__(self) -> int:
        n = len(self.batches)  # type: ignore[arg-type]
        return n if self.n is None else min(n, self.n)

    def expired(self) -> bool:
        """True once the time limit has passed (never without one)."""
        return (self.seconds is not None and self.start is not None
                and time.perf_counter() - self.start > self.seconds)

    def __iter__(self) -> Iterator:
        if self.start is None:
            self.start = time.perf_counter()
        batches = iter(self.batches) if self.n is None else itertools.islice(self.batches, self.n)
        for batch in batches:
            yield batch
            if self.expired():   # checked after each batch: no host sync, only the clock
                return


def reset_peak_memory(device: torch.device) -> None:
    """Start counting the peak GPU memory of a run anew (when the run log is on)."""
    if os.environ.get("D2L_RUN_LOG") and torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def log_run(trainer: str, run_name: str | None, device: torch.device, precision: Any,
            rows: list[dict[str, Any]], finite: bool, **extra: Any) -> None:
    """Append one run's record to ``$D2L_RUN_LOG`` (a no-op when it is not set).

    ``rows``: the trainer's history, one dict per epoch with ``epoch_seconds`` and
    ``examples_per_sec`` (a loop without epochs passes one such row); ``finite``: the
    losses stayed finite. ``precision`` is a :class:`~d2lhelpers.train.Precision`.
    """
    path = os.environ.get("D2L_RUN_LOG")
    if not path:
        return
    device = torch.device(device)
    epochs = [{"seconds": float(r["epoch_seconds"]), "examples_per_sec": float(r["examples_per_sec"])}
              for r in rows]
    record = {"notebook": os.environ.get("D2L_NOTEBOOK"), "trainer": trainer, "run": run_name,
              "device": str(device), "precision": getattr(precision, "name", str(precision)),
              "epochs": epochs, "finite": finite, "rehearsal": rehearsal(),
              "peak_memory_bytes": (torch.cuda.max_memory_allocated(device)
                                    if device.type == "cuda" else None), **extra}
    with open(Path(path), "a", encoding="utf-8") as f:   # one line per run, appended whole
        f.write(json.dumps(record) + "\n")

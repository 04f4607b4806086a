"""Checkpoints of training runs: saved after every epoch, resumed from on a relaunch.

A checkpoint is a plain dict saved with ``torch.save`` (atomically): model, optimizer,
scheduler, gradient scaler, random state (torch, CUDA, numpy, Python), the history rows
and the number of finished epochs. Every trainer of the book resumes through
:class:`Checkpoint`, bit for bit. Under ``make full`` a run's file is named after the
notebook and the run (:func:`checkpoint_file`), never after the order of the calls.
"""
from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .fileio import atomic_path

__all__ = ["Checkpoint", "checkpoint_file"]


_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def checkpoint_file(checkpoint: str | os.PathLike | None = None,
                    run_name: str | None = None) -> Path | None:
    """The checkpoint a training run uses: ``checkpoint`` when given, else, in a
    ``make full`` run (``D2L_CHECKPOINT_DIR`` and ``D2L_NOTEBOOK`` set by
    ``tools/run_full.py``), ``$D2L_CHECKPOINT_DIR/<notebook>/<run_name>.pt``, else None.

    The run's name says what it is ("finetune", "scratch"), so a relaunched notebook
    finds each training's own file however many other trainings ran, or were skipped
    (a cache hit), before it. A run without a name is not checkpointed.
    """
    if checkpoint:
        return Path(checkpoint)
    root, notebook = os.environ.get("D2L_CHECKPOINT_DIR"), os.environ.get("D2L_NOTEBOOK")
    if not root or not notebook:
        return None
    if run_name is None:   # e.g. a cached pretraining: it keeps its own file
        return None
    if not _RUN_NAME.fullmatch(run_name):
        raise ValueError(f"run_name={run_name!r} must be a file name such as 'finetune' "
                         "(letters, digits, '.', '_', '-')")
    return Path(root) / notebook / f"{run_name}.pt"


class Checkpoint:
    """One training run's checkpoint file (``path`` None: checkpointing is off).

    ``model`` is the network itself (not an ``nn.DataParallel`` around it), so the saved
    weights load into a plain network.

    :meth:`save` writes model, optimizer, scheduler, gradient scaler (``precision``: an
    object with ``state_dict``/``load_state_dict``, the trainers'
    :class:`~d2lhelpers.train.Precision`), random state, history and finished epochs
    atomically; :meth:`resume` restores them all, so a run continues bit for bit where
    it stopped.
    """

    def __init__(self, path: Path | None, model: nn.Module, optimizer: torch.optim.Optimizer,
                 scheduler: Any = None, precision: Any = None):
        self.path, self.model, self.optimizer = path, model, optimizer
        self.scheduler, self.precision = scheduler, precision

    def resume(self, verbose: bool = True) -> tuple[list[dict], int]:
        """``(history rows, finished epochs)``: ``([], 0)`` when there is nothing to resume."""
        if self.path is None or not self.path.exists():
            return [], 0
        # CPU: RNG states must stay CPU ByteTensors; load_state_dict moves the rest
        state = torch.load(self.path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.precision is not None:
            self.precision.load_state_dict(state.get("scaler"))
        _set_rng_state(state["rng"])
        if verbose:
            print(f"resumed from {self.path} after epoch {state['epoch']}")
        return state["history"], state["epoch"]

    def save(self, history: list[dict], epoch: int) -> None:
        if self.path is None:
            return
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                 "scaler": self.precision.state_dict() if self.precision is not None else None,
                 "rng": _rng_state(), "history": history, "epoch": epoch}
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)


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

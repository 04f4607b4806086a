"""Demo/full mode resolution and device selection.

The one mode rule: every function of the book that takes a ``mode`` accepts ``"auto"``,
``"demo"`` and ``"full"`` and resolves it with :func:`resolve_mode`.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, TypeVar

import torch

__all__ = ["MODES", "resolve_mode", "choose", "devices", "default_device"]

MODES = ("demo", "full")
T = TypeVar("T")


def resolve_mode(mode: str = "auto") -> str:
    """Return ``"demo"`` or ``"full"``.

    An explicit ``"demo"``/``"full"`` wins (that is what a papermill parameter sets).
    ``"auto"`` takes the environment variable ``D2L_MODE`` when it is set, otherwise
    ``"full"`` when a CUDA GPU is visible and ``"demo"`` when not.
    """
    mode = str(mode).strip().lower()
    if mode in MODES:
        return mode
    if mode != "auto":
        raise ValueError(f"mode={mode!r} is not one of 'auto', 'demo', 'full'")
    env = os.environ.get("D2L_MODE", "").strip().lower()
    if env:
        if env not in MODES:
            raise ValueError(
                f"environment variable D2L_MODE={env!r} is not 'demo' or 'full'; "
                "unset it to choose automatically")
        return env
    return "full" if torch.cuda.is_available() else "demo"


def choose(mode: str, presets: Mapping[str, Mapping[str, Any]],
           overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The preset of ``mode`` (resolved by :func:`resolve_mode`) with ``overrides`` applied.

    Unknown override keys are an error, so a typo cannot be silently ignored.
    """
    missing = [m for m in MODES if m not in presets]
    if missing:
        raise KeyError(f"presets lack the {missing} preset(s)")
    mode = resolve_mode(mode)
    config = dict(presets[mode])
    unknown = sorted(set(overrides or {}) - set(config))
    if unknown:
        raise KeyError(f"overrides {unknown} are not knobs of this notebook; "
                       f"known: {sorted(config)}")
    config.update(overrides or {})
    return config


def devices() -> list[torch.device]:
    """All visible CUDA GPUs, or ``[cpu]`` when there are none."""
    n = torch.cuda.device_count()
    return [torch.device(f"cuda:{i}") for i in range(n)] or [torch.device("cpu")]


def default_device() -> torch.device:
    """The first GPU when there is one, else the CPU."""
    return devices()[0]

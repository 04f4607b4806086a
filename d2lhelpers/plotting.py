"""Plotting: image grids and a live training curve.

Figure text is English so that no CJK font is needed anywhere the book runs.
"""
from __future__ import annotations

from typing import Any, Sequence

import matplotlib
import numpy as np
import torch
from matplotlib import pyplot as plt

__all__ = ["to_hwc_array", "show_images", "LivePlot", "in_notebook"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where figures are shown with ``display``)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def to_hwc_array(img: Any) -> np.ndarray:
    """A PIL image, a CHW/HWC tensor or array, or an HW array as an array ``imshow`` accepts.

    Tensors follow torch's CHW convention when the first axis has 1 or 3 entries; arrays
    are HWC unless the first axis has 1 or 3 entries and the last does not (then CHW).
    """
    if hasattr(img, "convert") and hasattr(img, "size"):  # PIL image
        if img.mode not in ("L", "RGB", "RGBA", "I", "I;16", "F"):  # palette, CMYK, 1-bit, ...
            img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info
                              else "RGB")
        return np.asarray(img)
    if isinstance(img, torch.Tensor):
        t = img.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16):  # numpy has no bfloat16
            t = t.float()
        if t.dim() == 3 and t.shape[0] in (1, 3):
            t = t.permute(1, 2, 0)  # CHW -> HWC (an ambiguous tiny image counts as CHW too)
        arr = t.numpy()
    else:
        arr = np.asarray(img)
        if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3, 4):
            arr = arr.transpose(1, 2, 0)  # a CHW array -> HWC
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"cannot show an image of shape {tuple(arr.shape)}; "
                         "expected HW, HWC or CHW with 1, 3 or 4 channels")
    if arr.dtype.kind == "f":
        arr = np.clip(arr, 0.0, 1.0)
    return arr


def show_images(imgs: Sequence[Any], num_rows: int, num_cols: int,
                titles: Sequence[str] | None = None, scale: float = 1.5):
    """Show images in a ``num_rows`` x ``num_cols`` grid; returns the flat array of axes."""
    if len(imgs) > num_rows * num_cols:
        raise ValueError(f"{len(imgs)} images do not fit a {num_rows}x{num_cols} grid")
    if titles is not None and len(titles) > num_rows * num_cols:
        raise ValueError(f"{len(titles)} titles do not fit a {num_rows}x{num_cols} grid")
    figsize = (num_cols * scale, num_rows * scale)
    _, axes = plt.subplots(num_rows, num_cols, figsize=figsize, squeeze=False)
    axes = axes.flatten()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= len(imgs):
            continue
        arr = to_hwc_array(imgs[i])
        ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None)
        if titles is not None and i < len(titles):
            ax.set_title(str(titles[i]))
    return axes


class LivePlot:
    """Curves that grow while training.

    In a notebook the figure is shown once through a display handle and updated in place,
    so JupyterLab and Colab show it live while an executed notebook keeps one final
    figure. Outside a notebook nothing is drawn.
    """

    def __init__(self, xlabel: str, legend: Sequence[str], xlim: tuple[float, float] | None = None,
                 ylim: tuple[float, float] | None = None, figsize: tuple[float, float] = (4.5, 3.0)):
        self.xlabel, self.legend, self.xlim, self.ylim = xlabel, list(legend), xlim, ylim
        self.xs: list[float] = []
        self.ys: list[list[float | None]] = [[] for _ in legend]
        self.enabled = in_notebook()
        self.fig = self.ax = self.handle = None
        if self.enabled:
            self.fig, self.ax = plt.subplots(figsize=figsize)
            plt.close(self.fig)  # shown through the display handle only

    def add(self, x: float, ys: Sequence[float | None]) -> None:
        """Append one point per curve (``None`` leaves a gap) and redraw."""
        if len(ys) != len(self.ys):  # a short list would misalign the curves with ``xs``
            raise ValueError(f"got {len(ys)} values for {len(self.ys)} curves {self.legend}")
        self.xs.append(x)
        for series, y in zip(self.ys, ys):
            series.append(np.nan if y is None else float(y))
        if not self.enabled:
            return
        ax = self.ax
        ax.cla()
        for series, label, style in zip(self.ys, self.legend, ("-", "m--", "g-.", "r:")):
            if not all(np.isnan(series)):
                ax.plot(self.xs, series, style, label=label)
        ax.set_xlabel(self.xlabel)
        if self.xlim:
            ax.set_xlim(*self.xlim)
        if self.ylim:
            ax.set_ylim(*self.ylim)
        ax.grid(True)
        ax.legend()
        self.fig.tight_layout()
        from IPython.display import display
        if self.handle is None:
            self.handle = display(self.fig, display_id=True)
        else:
            self.handle.update(self.fig)

    def close(self) -> None:
        if self.fig is not None:
            plt.close(self.fig)

"""Batched image augmentation on the device (the fast path of the augmentation section)."""
from __future__ import annotations

from typing import Callable, Iterator

import torch
from torch.nn import functional as F

__all__ = ["batch_flip_crop", "DeviceBatches"]


# export: chapters/01-image-augmentation.ipynb
def batch_flip_crop(images: torch.Tensor, padding: int = 4,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Random horizontal flip, then a random crop of the zero-padded image, for a whole
    ``(N, C, H, W)`` batch at once with no Python loop over the images."""
    n, c, h, w = images.shape
    dev = images.device
    flip = torch.rand(n, device=dev, generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    padded = F.pad(images, (padding, padding, padding, padding))
    top = torch.randint(0, 2 * padding + 1, (n, 1), device=dev, generator=generator)
    left = torch.randint(0, 2 * padding + 1, (n, 1), device=dev, generator=generator)
    rows = (top + torch.arange(h, device=dev))[:, None, :, None]  # (n, 1, h, 1)
    cols = (left + torch.arange(w, device=dev))[:, None, None, :]  # (n, 1, 1, w)
    batch = torch.arange(n, device=dev)[:, None, None, None]
    channel = torch.arange(c, device=dev)[None, :, None, None]
    return padded[batch, channel, rows, cols]


class DeviceBatches:
    """Mini-batches of a uint8 image tensor kept on the device, augmented per batch.

    ``images``: ``(N, H, W, C)`` or ``(N, C, H, W)`` uint8; ``labels``: ``(N,)``. Each
    epoch shuffles (when ``shuffle``), scales to [0, 1] and applies ``augment`` to the
    whole batch, so no worker process or per-image Python code is involved.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 shuffle: bool, augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 device: torch.device | str = "cpu", channels_last_input: bool = True):
        images, labels = torch.as_tensor(images), torch.as_tensor(labels)  # numpy works too
        if images.dtype != torch.uint8:
            raise TypeError(f"images must be uint8, got {images.dtype}")
        if images.dim() != 4:
            layout = "(N, H, W, C)" if channels_last_input else "(N, C, H, W)"
            raise ValueError(f"images must be {layout}, got shape {tuple(images.shape)}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be at least 1")
        if channels_last_input:
            images = images.permute(0, 3, 1, 2)
        self.images = images.contiguous().to(device)
        self.labels = labels.to(device)
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment

    def __len__(self) -> int:
        return (len(self.images) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.images)
        order = (torch.randperm(n).to(self.images.device) if self.shuffle
                 else torch.arange(n, device=self.images.device))
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            x = self.images[idx].float().div_(255)
            yield (self.augment(x) if self.augment else x), self.labels[idx]

"""DataLoader construction with the settings that keep a GPU busy."""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["data_loader", "default_workers", "first_batch"]


def default_workers() -> int:
    """Loader worker processes: several with a GPU, none on a CPU-only machine.

    On a CPU-only machine the training itself uses every core, and extra worker processes
    only compete with it for them.
    """
    if not torch.cuda.is_available():
        return 0
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def data_loader(dataset: Dataset, batch_size: int, shuffle: bool, *,
                num_workers: int | None = None, drop_last: bool = False,
                collate_fn: Callable | None = None) -> DataLoader:
    """A DataLoader with pinned memory and persistent workers on CUDA machines."""
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be at least 1")
    workers = default_workers() if num_workers is None else num_workers
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
                      pin_memory=torch.cuda.is_available(), persistent_workers=workers > 0,
                      drop_last=drop_last, collate_fn=collate_fn)


def first_batch(loader: Iterable) -> Any:
    """The first batch of ``loader``. An empty loader is an error that says why (its
    dataset's size, the batch size, ``drop_last``) instead of a ``StopIteration``."""
    for batch in loader:
        return batch
    dataset, size = getattr(loader, "dataset", None), getattr(loader, "batch_size", None)
    n = len(dataset) if dataset is not None and hasattr(dataset, "__len__") else "an unknown number of"
    dropped = (f"; drop_last=True drops a last batch smaller than {size}"
               if getattr(loader, "drop_last", False) else "")
    raise ValueError(f"the loader yielded no batches: its dataset has {n} examples and the "
                     f"batch size is {size}{dropped}. Use a smaller batch size, or check that the "
                     "dataset is not empty (e.g. every image smaller than the crop size)")

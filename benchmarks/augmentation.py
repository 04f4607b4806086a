"""Per-image vs batched augmentation: how fast is one epoch of augmented CIFAR batches?

Measures, in one run and on one device, the time to produce every mini-batch of one
epoch of the CIFAR-10 training set (or its demo stand-in) with random crop (padding 4)
and horizontal flip, two ways:

* per-image: ``load_cifar10(..., transform=v2.Compose([...]))`` through
  ``d2lhelpers.data_loader`` (PIL image -> transforms -> collate, in the loader's workers
  on a GPU machine, in the main process on a CPU-only one), each batch moved to the device;
* batched: ``d2lhelpers.DeviceBatches`` with ``batch_flip_crop``, the uint8 images kept on
  the device and augmented a whole batch at a time.

Only data production is timed, no training. Each path gets one warm-up epoch, then the
median of ``--repeats`` timed epochs is reported, with CUDA synchronised at the timing
boundaries. The table is printed and written to ``results/bench/augmentation-<mode>.json``
(under ``$D2L_RESULTS_DIR`` when set). On a CPU that other busy processes share,
``--threads 1`` keeps the batched path's multi-threaded ops from stalling.

Usage (from the repository root)::

    make bench                                           # demo mode, as `make test` runs
    D2L_MODE=demo .venv/bin/python benchmarks/augmentation.py --repeats 5
    .venv/bin/python benchmarks/augmentation.py --mode full --batch-size 256 --device cuda
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torchvision.transforms import v2

from d2lhelpers import (DeviceBatches, batch_flip_crop, data_loader, default_device, load_cifar10,
                        resolve_mode)
from d2lhelpers.results import device_name, save_benchmark


def get_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", default="auto", help="auto, demo or full (default: auto)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", "--epochs", type=int, default=3,
                        help="timed epochs per path, after one warm-up; the median is reported")
    parser.add_argument("--device", default=None, help="default: the first GPU, else cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's choice)")
    return parser.parse_args()


def time_epoch(batches, device: torch.device) -> float:
    """Seconds to produce (and move to ``device``) every batch of one epoch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    tic = time.perf_counter()
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - tic


def main() -> None:
    args = get_args()
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    mode = resolve_mode(args.mode)
    device = torch.device(args.device) if args.device else default_device()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    augs = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(),
                       v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    dataset = load_cifar10(mode, train=True, transform=augs)
    n = len(dataset)
    paths = {
        "per-image (DataLoader)": data_loader(dataset, args.batch_size, shuffle=True),
        "batched (DeviceBatches)": DeviceBatches(
            torch.from_numpy(dataset.data), torch.tensor(dataset.targets), args.batch_size,
            shuffle=True, augment=batch_flip_crop, device=device),
    }

    rows = {}
    for name, batches in paths.items():
        time_epoch(batches, device)  # warm-up: worker start-up, allocator, kernels
        times = [time_epoch(batches, device) for _ in range(args.repeats)]
        median = statistics.median(times)
        rows[name] = {"median_s": median, "images_per_s": n / median, "epoch_s": times}
    per_image, batched = (r["median_s"] for r in rows.values())
    speedup = per_image / batched

    print(f"{n} images ({mode} mode), batch size {args.batch_size}, "
          f"median of {args.repeats} epochs on {device_name(device)}")
    print(f"{'path':<26}{'images/s':>12}{'median s':>11}")
    for name, r in rows.items():
        print(f"{name:<26}{r['images_per_s']:>12,.0f}{r['median_s']:>11.3f}")
    print(f"speed-up (batched / per-image): {speedup:.1f}x")

    record = {
        "benchmark": "augmentation", "mode": mode, "images": n, "batch_size": args.batch_size,
        "repeats": args.repeats, "num_workers": paths["per-image (DataLoader)"].num_workers,
        "paths": rows, "speedup": speedup,
    }
    path = save_benchmark(f"augmentation-{mode}", record, device=device)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

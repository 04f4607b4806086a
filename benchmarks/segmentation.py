"""Lazy vs read-everything-first: how soon does the first VOC training batch arrive, at what memory?

Measures, in one run and on the same demo set in the VOC2012 layout (by default as many
images as VOC2012's segmentation splits, 1464 training and 1449 validation, of about
VOC's size, generated once under the data folder), two ways of making the training and
validation sets of 320x480 crops, as ``load_voc`` does, and drawing the first training batch:

* lazy: ``d2lhelpers.voc.VOCSegDataset``, which reads only the file headers when it is
  made (sizes, to drop images smaller than the crop) and decodes an image and its label
  when an item is asked for;
* eager: the textbook's way, every image and label of a split decoded into memory when
  its dataset is made, the small ones dropped afterwards; items are then cropped from
  memory with the very same transform.

Each measurement runs in a fresh Python process (after the imports, with the files already
in the operating system's cache), so that one reader's memory cannot hide in the other's.
"First batch" is the wall time from making the two datasets to holding the first batch of
the training DataLoader (no worker processes); "datasets" is the growth of the process's
resident memory once both datasets are made (what the reader keeps), "peak" the growth of
its peak resident memory up to the first batch (the batch itself, about 100 MB of float32
images and int64 labels for 32 crops of 320x480, plus the copy that stacking makes, is
the same for both). The median of ``--repeats`` runs is reported with the ratios; the
goal is a first batch at least 10 times sooner with at most a tenth of the memory. The
table is printed and written to ``results/bench/segmentation-demo.json`` (under
``$D2L_RESULTS_DIR`` when set).

Usage (from the repository root)::

    make bench
    .venv/bin/python benchmarks/segmentation.py --train 600 --val 600 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path


def get_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=1464,
                        help="training images in the demo set (VOC2012: 1464)")
    parser.add_argument("--val", type=int, default=1449,
                        help="validation images in the demo set (VOC2012: 1449)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--crop", default="320x480", help="crop height x width")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh processes per reader; the median is reported")
    parser.add_argument("--root", default=None,
                        help="where the demo set is generated (default: the data folder)")
    parser.add_argument("--child", choices=["lazy", "eager"], help=argparse.SUPPRESS)
    parser.add_argument("--voc-dir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def crop_size(text: str) -> tuple[int, int]:
    h, w = text.lower().split("x")
    return int(h), int(w)


# ------------------------------------------------------------------- inside a child process

def _proc_status_bytes(field: str) -> int | None:
    """A memory figure of this process from /proc/self/status (None where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # the file gives kB
    except OSError:
        pass
    return None


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far (VmHWM; ru_maxrss where there is no /proc)."""
    peak = _proc_status_bytes("VmHWM")
    if peak is not None:
        return peak
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def rss_bytes() -> int:
    """The process's resident set size now (VmRSS; the peak where there is no /proc)."""
    rss = _proc_status_bytes("VmRSS")
    return rss if rss is not None else peak_rss_bytes()


def reset_peak_rss() -> bool:
    """Let VmHWM restart from the current RSS (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(args: argparse.Namespace) -> None:
    import torch
    from torch.utils.data import Dataset
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    from d2lhelpers import VOCSegDataset, data_loader
    from d2lhelpers import IMAGENET_MEAN, IMAGENET_STD, read_voc_example

    class EagerVOCSegDataset(Dataset):
        """The textbook's dataset: decode every example first, then drop the small ones."""

        def __init__(self, is_train, crop, voc_dir):
            split = voc_dir / "ImageSets" / "Segmentation" / ("train.txt" if is_train else "val.txt")
            names = split.read_text(encoding="utf-8").split()
            examples = [read_voc_example(voc_dir, name) for name in names]   # all of them
            self.examples = [(im, lab) for im, lab in examples
                             if lab.shape[0] >= crop[0] and lab.shape[1] >= crop[1]]
            self.transform = v2.Compose([   # the same as VOCSegDataset's training transform
                v2.RandomCrop(crop),
                v2.ToDtype({tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64},
                           scale=True),
                v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

        def __getitem__(self, idx):
            image, label = self.examples[idx]
            image, label = self.transform(tv_tensors.Image(image), tv_tensors.Mask(label))
            return image.as_subclass(torch.Tensor), label.as_subclass(torch.Tensor)

        def __len__(self):
            return len(self.examples)

    torch.set_num_threads(1)
    torch.manual_seed(0)
    crop, voc_dir = crop_size(args.crop), Path(args.voc_dir)
    make = VOCSegDataset if args.child == "lazy" else EagerVOCSegDataset
    exact = reset_peak_rss()
    start_rss = rss_bytes()
    tic = time.perf_counter()
    train, val = make(True, crop, voc_dir), make(False, crop, voc_dir)   # as load_voc does
    held = rss_bytes() - start_rss
    X, Y = next(iter(data_loader(train, args.batch_size, shuffle=True, num_workers=0)))
    seconds = time.perf_counter() - tic
    peak = peak_rss_bytes() - start_rss
    print(json.dumps({"seconds": seconds, "datasets_bytes": held, "peak_bytes": peak,
                      "examples": [len(train), len(val)],
                      "batch": [list(X.shape), list(Y.shape)], "exact_peak": exact}))


# -------------------------------------------------------------------------- the parent

def measure(reader: str, voc_dir: Path, args: argparse.Namespace) -> dict:
    runs = []
    for _ in range(args.repeats):
        out = subprocess.run([sys.executable, __file__, "--child", reader, "--voc-dir", str(voc_dir),
                              "--crop", args.crop, "--batch-size", str(args.batch_size)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"the {reader} run failed:\n{out.stderr}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "datasets_mb": statistics.median(r["datasets_bytes"] for r in runs) / 2 ** 20,
            "peak_mb": statistics.median(r["peak_bytes"] for r in runs) / 2 ** 20,
            "examples": runs[0]["examples"], "batch": runs[0]["batch"], "runs": runs}


def main() -> None:
    args = get_args()
    if args.child:
        child(args)
        return
    if args.train < 1 or args.val < 1 or args.train + args.val < 500:
        raise SystemExit("--train and --val must be positive and hold at least 500 images together")
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    from d2lhelpers.results import save_benchmark
    from d2lhelpers import voc_split
    from d2lhelpers.demodata import make_voc_demo

    print("finding or generating the demo set (generating takes a minute or two, once)")
    tic = time.perf_counter()
    voc_dir = make_voc_demo(args.root, n_train=args.train, n_val=args.val, height=(320, 375),
                            width=(470, 500), seed=0)
    made = time.perf_counter() - tic
    names, sizes = [], []
    for is_train in (True, False):
        split_names, split_sizes = voc_split(voc_dir, is_train)
        names += split_names
        sizes += split_sizes
    files = [p for n in names for p in (voc_dir / "JPEGImages" / f"{n}.jpg",
                                        voc_dir / "SegmentationClass" / f"{n}.png")]
    on_disk = sum(p.stat().st_size for p in files)
    for p in files:   # into the OS file cache, so both readers find the files warm
        p.read_bytes()
    pixels = sum(h * w for h, w in sizes)
    print(f"demo set: {args.train} + {args.val} images, {pixels / len(names):,.0f} pixels on "
          f"average, {on_disk / 2 ** 20:.0f} MB on disk ({made:.1f} s to make or find), {voc_dir}")

    rows = {reader: measure(reader, voc_dir, args) for reader in ("eager", "lazy")}
    eager, lazy = rows["eager"], rows["lazy"]
    speedup = eager["seconds"] / lazy["seconds"]
    datasets_ratio = max(lazy["datasets_mb"], 0.0) / max(eager["datasets_mb"], 1e-9)
    peak_ratio = lazy["peak_mb"] / max(eager["peak_mb"], 1e-9)
    print(f"\nmaking the training and validation sets, then the first batch of {args.batch_size} "
          f"random {args.crop} crops; median of {args.repeats} fresh processes each "
          f"(one torch thread), on {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"{'reader':<8}{'first batch s':>15}{'datasets MB':>13}{'peak MB':>10}"
          f"{'examples (train, val)':>24}")
    for reader, r in rows.items():
        print(f"{reader:<8}{r['seconds']:>15.3f}{r['datasets_mb']:>13.1f}{r['peak_mb']:>10.1f}"
              f"{str(tuple(r['examples'])):>24}")
    print(f"\nlazy vs eager: first batch {speedup:.1f}x sooner (goal >= 10x); memory kept by the "
          f"datasets {datasets_ratio:.4f} of eager's (goal <= 0.1); peak memory including the "
          f"first batch {peak_ratio:.3f} of eager's")

    record = {
        "benchmark": "segmentation", "torch_threads": 1,
        "images": {"train": args.train, "val": args.val}, "batch_size": args.batch_size,
        "crop": args.crop, "repeats": args.repeats, "on_disk_mb": on_disk / 2 ** 20,
        "readers": rows, "first_batch_speedup": speedup, "datasets_memory_ratio": datasets_ratio,
        "peak_memory_ratio": peak_ratio,
        "goals_met": bool(speedup >= 10 and datasets_ratio <= 0.1),
    }
    path = save_benchmark("segmentation-demo", record, device="cpu")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

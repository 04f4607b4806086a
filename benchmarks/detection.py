"""Loop vs vectorised detection code: labelling anchors and non-maximum suppression.

Times, in one run and on one device:

* labelling: ``multibox_target`` (the whole batch at once) vs ``multibox_target_loop``
  (the textbook's loop over the images, each labelled with ``assign_anchor_to_bbox_loop``)
  on a batch of 32 images with TinySSD's 5444 anchors (five scales of a 256x256 input)
  and 1-4 boxes per image, padded to 4 rows with class -1;
* NMS: ``nms`` (torchvision's compiled kernel) vs ``nms_loop`` (the textbook's Python
  loop) on 10,000 boxes clustered around 200 objects, so that many overlap.

Each path gets one warm-up call, then the median of ``--repeats`` timed calls is
reported, with CUDA synchronised at the timing boundaries. The two versions must give
the same results (checked here, too). The table is printed and written to
``results/bench/detection-demo.json`` on a CPU (``detection-<device type>.json``
otherwise), under ``$D2L_RESULTS_DIR`` when set. On a CPU that other busy processes
share, ``--threads 1`` keeps multi-threaded ops from stalling (the loops suffer most).

Usage (from the repository root)::

    .venv/bin/python benchmarks/detection.py
    .venv/bin/python benchmarks/detection.py --repeats 7 --device cuda
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from d2lhelpers import (default_device, multibox_prior, multibox_target, multibox_target_loop, nms,
                        nms_loop)
from d2lhelpers.results import device_name, save_benchmark

# TinySSD on a 256x256 input: feature maps 32, 16, 8, 4, 1 with these sizes, ratios [1, 2, 0.5]
SSD_SCALES = [(32, [0.2, 0.272]), (16, [0.37, 0.447]), (8, [0.54, 0.619]),
              (4, [0.71, 0.79]), (1, [0.88, 0.961])]


def get_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed calls per path, after one warm-up; the median is reported")
    parser.add_argument("--device", default=None, help="default: the first GPU, else cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's choice)")
    return parser.parse_args()


def ssd_anchors(device: torch.device) -> torch.Tensor:
    """TinySSD's (1, 5444, 4) anchors."""
    return torch.cat([multibox_prior(torch.zeros(1, 1, n, n, device=device), sizes,
                                     [1, 2, 0.5]) for n, sizes in SSD_SCALES], dim=1)


def random_labels(batch: int, max_boxes: int, g: torch.Generator) -> torch.Tensor:
    """(batch, max_boxes, 5) labels, 1 to max_boxes real boxes per image, rest class -1."""
    xy = torch.rand(batch, max_boxes, 2, generator=g) * 0.7
    wh = 0.05 + torch.rand(batch, max_boxes, 2, generator=g) * 0.25
    cls = torch.randint(0, 3, (batch, max_boxes, 1), generator=g).float()
    count = torch.randint(1, max_boxes + 1, (batch, 1, 1), generator=g)
    cls = torch.where(torch.arange(max_boxes)[None, :, None] < count, cls, -1.0)
    return torch.cat((cls, xy, xy + wh), dim=-1)


def clustered_boxes(n: int, clusters: int, g: torch.Generator
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """n boxes jittered around ``clusters`` objects (as a detector's raw output), scores."""
    centre = torch.rand(clusters, 2, generator=g)
    size = 0.02 + 0.1 * torch.rand(clusters, 2, generator=g)
    which = torch.randint(0, clusters, (n,), generator=g)
    c = centre[which] + 0.1 * size[which] * torch.randn(n, 2, generator=g)
    s = size[which] * (1 + 0.1 * torch.randn(n, 2, generator=g)).clamp(min=0.5)
    return torch.cat((c - s / 2, c + s / 2), dim=1), torch.rand(n, generator=g)


def median_seconds(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after one warm-up call."""
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    times = []
    for _ in range(repeats):
        sync()
        tic = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def main() -> None:
    args = get_args()
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    device = torch.device(args.device) if args.device else default_device()
    if args.threads:
        torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)

    anchors = ssd_anchors(device)
    labels = random_labels(32, 4, g).to(device)
    boxes, scores = (t.to(device) for t in clustered_boxes(10_000, 200, g))
    threshold = 0.5

    # The versions must agree before their times mean anything.
    vec, loop = multibox_target(anchors, labels), multibox_target_loop(anchors, labels)
    target_agree = (torch.equal(vec[1], loop[1]) and torch.equal(vec[2], loop[2])
                    and torch.allclose(vec[0], loop[0], atol=1e-5))
    kept = nms(boxes, scores, threshold)
    nms_agree = torch.equal(kept.cpu(), nms_loop(boxes, scores, threshold).cpu())

    tasks = {
        "multibox_target": (f"32 images x {anchors.shape[1]} anchors, 1-4 boxes each",
                            lambda: multibox_target_loop(anchors, labels),
                            lambda: multibox_target(anchors, labels), target_agree),
        "nms": (f"{len(boxes)} clustered boxes, IoU {threshold}, {len(kept)} kept",
                lambda: nms_loop(boxes, scores, threshold),
                lambda: nms(boxes, scores, threshold), nms_agree),
    }
    rows = {}
    for name, (what, slow, fast, agree) in tasks.items():
        loop_s = median_seconds(slow, args.repeats, device)
        fast_s = median_seconds(fast, args.repeats, device)
        rows[name] = {"workload": what, "loop_s": loop_s, "vectorised_s": fast_s,
                      "speedup": loop_s / fast_s, "same_result": bool(agree)}

    print(f"median of {args.repeats} calls after a warm-up, on {device_name(device)}")
    print(f"{'task':<17}{'loop s':>10}{'vectorised s':>14}{'speed-up':>10}  same  workload")
    for name, r in rows.items():
        print(f"{name:<17}{r['loop_s']:>10.4f}{r['vectorised_s']:>14.5f}"
              f"{r['speedup']:>9.1f}x  {'yes' if r['same_result'] else 'NO!':<4}  "
              f"{r['workload']}")

    record = {"benchmark": "detection", "threads": torch.get_num_threads(),
              "repeats": args.repeats, "tasks": rows}
    tag = "demo" if device.type == "cpu" else device.type
    path = save_benchmark(f"detection-{tag}", record, device=device)
    print(f"wrote {path}")
    if not all(r["same_result"] for r in rows.values()):
        raise SystemExit("the loop and vectorised versions disagree (see 'same' above)")


if __name__ == "__main__":
    main()

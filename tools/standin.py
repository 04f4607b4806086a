"""Stand-in data and weights for rehearsing full mode without the real downloads.

``python -m tools.standin DIR [--workers N]`` writes, once:

* ``DIR/data`` (use it as ``D2L_DATA_DIR``): every dataset of the download registry at
  its real counts and sizes, in the layout a finished download leaves: the extracted
  folder next to its extraction marker (which holds the registered SHA-1), so
  ``dataset_folder(name, "full")`` finds it and touches no network. CIFAR-10 50,000 +
  10,000 at 32x32; hotdog 2,000 + 800 of varied sizes; bananas 1,000 + 100 at 256x256;
  VOC2012 1,464 + 1,449 at VOC's sizes (500 pixels on the long side); the two Kaggle
  tiny samples' layouts.
* ``DIR/torch`` (use it as ``TORCH_HOME``): randomly initialised ResNet-18, ResNet-34,
  VGG-19 and Faster R-CNN (MobileNetV3-Large 320 FPN) weights under torch hub's own file
  names for the weights the book loads.

The pictures are cheap, not learnable: a colour gradient with a few flat rectangles (so
PNGs stay small), with labels and boxes that match what is drawn. Keep this folder apart
from a reader's real cache (``~/.cache/d2l-cv``, ``~/.cache/torch``): a stand-in must never
be mistaken for the real files. Generation uses ``--workers`` processes (default: every
core) and is recorded in ``DIR/standin.json``; a later call finds it and returns at once.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import pickle
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

VERSION = 2   # bump when the stand-ins change: an older folder is rebuilt
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck"]
COUNTS = {"cifar10": (50000, 10000), "hotdog": (1000, 400), "banana-detection": (1000, 100),
          "voc2012": (1464, 1449), "cifar10_tiny": (1000, 5), "dog_tiny": (1000, 10)}


# ------------------------------------------------------------------------ pictures

def picture(rng: np.random.Generator, height: int, width: int, shapes: int = 2
            ) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """``(uint8 (H, W, 3) image, rectangles (x0, y0, x1, y1))``: a gradient and flat boxes."""
    c0, c1 = rng.uniform(0, 255, (2, 3))
    t = np.linspace(0, 1, width)[None, :, None] * 0.6 + np.linspace(0, 1, height)[:, None, None] * 0.4
    image = (c0 + (c1 - c0) * t).astype(np.uint8)   # (H, W, 3)
    boxes = []
    for _ in range(shapes):
        w, h = (int(rng.integers(max(4, s // 6), max(5, s // 2))) for s in (width, height))
        x0, y0 = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        image[y0:y0 + h, x0:x0 + w] = rng.integers(0, 256, 3)
        boxes.append((x0, y0, x0 + w, y0 + h))
    return image, boxes


def save_png(array: np.ndarray, path: Path) -> None:
    Image.fromarray(array).save(path, format="PNG", compress_level=1)


# ---------------------------------------------------------------------- the datasets

def make_cifar10(root: Path, seed: int) -> None:
    """``cifar-10-batches-py``: five training batches of 10,000 and a test batch."""
    rng = np.random.default_rng([seed, 0])
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    n_train, n_test = COUNTS["cifar10"]
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for b, name in enumerate(names):
        n = n_test if name == "test_batch" else n_train // 5
        labels = rng.permutation(np.arange(n) % 10)
        base = rng.uniform(0, 255, (n, 1, 1, 3)) + labels[:, None, None, None] * 8
        grad = np.linspace(-40, 40, 32)[None, :, None, None] + np.zeros((1, 1, 32, 1))
        images = np.clip(base + grad, 0, 255).astype(np.uint8)   # (n, 32, 32, 3)
        images[:, 8:24, 8:24] = rng.integers(0, 256, (n, 1, 1, 3))   # a square in the middle
        entry = {"batch_label": name, "labels": labels.tolist(),
                 "data": images.transpose(0, 3, 1, 2).reshape(n, -1),   # rows of CHW, as CIFAR
                 "filenames": [f"standin_{b}_{i}.png" for i in range(n)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"num_cases_per_batch": n_train // 5, "label_names": CIFAR_CLASSES,
                     "num_vis": 3072}, f, protocol=2)


def make_hotdog(root: Path, seed: int, part: int, parts: int) -> None:
    """``hotdog/{train,test}/{hotdog,not-hotdog}/<i>.png``, sides 100-500 pixels (one
    ``part`` of ``parts``, so that several workers share the job)."""
    n_train, n_test = COUNTS["hotdog"]
    for split, n in (("train", n_train), ("test", n_test)):
        for c, cls in enumerate(("hotdog", "not-hotdog")):
            folder = root / "hotdog" / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(part, n, parts):
                rng = np.random.default_rng([seed, 1, c, i, int(split == "test")])
                h, w = (int(v) for v in rng.integers(100, 501, 2))
                save_png(picture(rng, h, w)[0], folder / f"{i}.png")


def make_bananas(root: Path, seed: int) -> None:
    """``banana-detection/bananas_{train,val}/{label.csv, images/<i>.png}``, 256x256."""
    for split, n in zip(("bananas_train", "bananas_val"), COUNTS["banana-detection"]):
        folder = root / "banana-detection" / split
        (folder / "images").mkdir(parents=True)
        rng = np.random.default_rng([seed, 2, int(split == "bananas_val")])
        rows = ["img_name,label,xmin,ymin,xmax,ymax"]
        for i in range(n):
            image, boxes = picture(rng, 256, 256, shapes=1)
            save_png(image, folder / "images" / f"{i}.png")
            rows.append(f"{i}.png,0," + ",".join(map(str, boxes[0])))
        (folder / "label.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def voc_names() -> dict[str, list[str]]:
    train, val = COUNTS["voc2012"]
    return {"train": [f"2007_{i:06d}" for i in range(train)],
            "val": [f"2008_{i:06d}" for i in range(val)]}


def make_voc(root: Path, seed: int, part: int, parts: int) -> None:
    """``VOCdevkit/VOC2012``: JPEG photos and palette-PNG labels (the class index, 255 on a
    3-pixel void band around each object), 500 pixels on the long side, 300-500 on the
    other, three in ten upright."""
    from d2lhelpers.data.voc_classes import VOC_PALETTE, VOID_INDEX
    voc = root / "VOCdevkit" / "VOC2012"
    images, labels = voc / "JPEGImages", voc / "SegmentationClass"
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    palette = VOC_PALETTE.flatten().tolist()
    everything = voc_names()["train"] + voc_names()["val"]
    for i in range(part, len(everything), parts):
        rng = np.random.default_rng([seed, 3, i])
        short = int(rng.integers(300, 501))
        h, w = (500, short) if rng.random() < 0.3 else (short, 500)
        image, boxes = picture(rng, h, w, shapes=int(rng.integers(1, 4)))
        label = np.zeros((h, w), np.uint8)
        for x0, y0, x1, y1 in boxes:
            label[max(0, y0 - 3):y1 + 3, max(0, x0 - 3):x1 + 3] = VOID_INDEX
            label[y0:y1, x0:x1] = rng.integers(1, 21)
        Image.fromarray(image).save(images / f"{everything[i]}.jpg", quality=90)
        png = Image.fromarray(label)
        png.putpalette(palette)
        png.save(labels / f"{everything[i]}.png")
    if part == 0:
        sets = voc / "ImageSets" / "Segmentation"
        sets.mkdir(parents=True, exist_ok=True)
        names = voc_names()
        names["trainval"] = names["train"] + names["val"]
        for split, rows in names.items():
            (sets / f"{split}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")


def make_kaggle_cifar10(root: Path, seed: int) -> None:
    """``kaggle_cifar10_tiny``: the textbook's sample layout, the first 1,000 training
    images and 5 test images, with the competition's 300,000-row sample submission."""
    rng = np.random.default_rng([seed, 4])
    folder = root / "kaggle_cifar10_tiny"
    n_train, n_test = COUNTS["cifar10_tiny"]
    rows = ["id,label"]
    for split, n in (("train", n_train), ("test", n_test)):
        (folder / split).mkdir(parents=True)
        for i in range(1, n + 1):
            save_png(picture(rng, 32, 32, shapes=1)[0], folder / split / f"{i}.png")
            if split == "train":
                rows.append(f"{i},{CIFAR_CLASSES[(i - 1) % 10]}")
    (folder / "trainLabels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    sample = "id,label\n" + "".join(f"{i},cat\n" for i in range(1, 300001))
    (folder / "sampleSubmission.csv").write_text(sample, encoding="utf-8")


def make_kaggle_dog(root: Path, seed: int) -> None:
    """``kaggle_dog_tiny``: the competition's ``labels.csv`` (10,222 ids of 120 breeds) with
    1,000 of their images (at least 3 per breed) and 10 test images; the 10,357-row sample
    submission."""
    rng = np.random.default_rng([seed, 5])
    folder = root / "kaggle_dog_tiny"
    breeds = [f"breed_{b:03d}" for b in range(120)]

    def new_id() -> str:
        return "".join(f"{v:02x}" for v in rng.integers(0, 256, 16))

    ids = [new_id() for _ in range(10222)]
    label_of = {name: breeds[i % 120] for i, name in enumerate(ids)}
    present = ids[:360] + list(rng.choice(ids[360:], COUNTS["dog_tiny"][0] - 360, replace=False))
    test = [new_id() for _ in range(10357)]   # the sample submission's ids; 10 have images
    for split, names in (("train", present), ("test", test[:COUNTS["dog_tiny"][1]])):
        (folder / split).mkdir(parents=True)
        for name in names:
            h, w = (int(v) for v in rng.integers(200, 501, 2))
            Image.fromarray(picture(rng, h, w)[0]).save(folder / split / f"{name}.jpg", quality=85)
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("id", "breed"), *label_of.items()])
    p = f"{1 / 120:.6f}"
    with open(folder / "sample_submission.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", *breeds])
        writer.writerows([name, *[p] * 120] for name in test)


def make_weights(torch_home: Path, which: str) -> None:
    """Randomly initialised weights under torch hub's file name for ``which``."""
    import torch
    import torchvision
    from torchvision.models import detection

    torch.manual_seed(0)
    builders = {
        "resnet18": (torchvision.models.resnet18, torchvision.models.ResNet18_Weights.IMAGENET1K_V1),
        "resnet34": (torchvision.models.resnet34, torchvision.models.ResNet34_Weights.IMAGENET1K_V1),
        "vgg19": (torchvision.models.vgg19, torchvision.models.VGG19_Weights.IMAGENET1K_V1),
        "fasterrcnn": (lambda: detection.fasterrcnn_mobilenet_v3_large_320_fpn(
            weights=None, weights_backbone=None, num_classes=91),
            detection.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.DEFAULT),
    }
    build, weights = builders[which]
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(build().state_dict(), folder / os.path.basename(weights.url))


# ----------------------------------------------------------------------- assembling

def _job(args: tuple) -> str:
    name, fn, folder, extra = args
    tic = time.perf_counter()
    fn(folder, *extra)
    return f"{name} {time.perf_counter() - tic:.1f} s"


def build(target: Path, workers: int, seed: int = 0) -> None:
    """Write everything into ``target`` (a new folder), in ``workers`` processes."""
    data, torch_home = target / "data", target / "torch"
    parts = max(1, workers)
    jobs = [("cifar10", make_cifar10, data, (seed,)), ("bananas", make_bananas, data, (seed,)),
            ("kaggle cifar10", make_kaggle_cifar10, data, (seed,)),
            ("kaggle dog", make_kaggle_dog, data, (seed,))]
    jobs += [(f"hotdog {p + 1}/{parts}", make_hotdog, data, (seed, p, parts)) for p in range(parts)]
    jobs += [(f"voc {p + 1}/{parts}", make_voc, data, (seed, p, parts)) for p in range(parts)]
    jobs += [(f"weights {w}", make_weights, torch_home, (w,))
             for w in ("vgg19", "fasterrcnn", "resnet34", "resnet18")]
    jobs.sort(key=lambda j: not j[0].startswith(("weights vgg", "cifar10")))   # long ones first
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done in pool.map(_job, jobs):
            print(f"  {done}", flush=True)
    from d2lhelpers.download import DATASETS
    for info in DATASETS.values():   # the markers of finished extractions
        if not (data / info.folder).is_dir():
            raise RuntimeError(f"the stand-in of {info.name!r} has no folder {info.folder}")
        (data / f".{info.file}.extracted").write_text(info.sha1 + "\n", encoding="utf-8")
    (target / "standin.json").write_text(json.dumps(
        {"version": VERSION, "seed": seed, "counts": COUNTS}, indent=1) + "\n", encoding="utf-8")


def ensure(target: Path, workers: int | None = None) -> Path:
    """``target`` holding the stand-ins (made now unless already complete); returns it."""
    target = Path(target).resolve()
    record = target / "standin.json"
    if record.is_file() and json.loads(record.read_text(encoding="utf-8")).get("version") == VERSION:
        return target
    if target.exists():
        if not record.is_file() and any(target.iterdir()):
            raise FileExistsError(f"{target} exists and is not a stand-in folder (no standin.json); "
                                  "choose an empty or new folder")
        shutil.rmtree(target)   # an older version, or an interrupted one: start over
    partial = target.with_name(f".{target.name}.part")
    shutil.rmtree(partial, ignore_errors=True)
    workers = workers or os.cpu_count() or 1
    print(f"writing stand-in data and weights into {target} ({workers} processes) ...", flush=True)
    tic = time.perf_counter()
    build(partial, workers)
    os.replace(partial, target)
    print(f"stand-ins ready in {time.perf_counter() - tic:.0f} s", flush=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args(argv)
    target = ensure(args.folder, args.workers)
    print(f"D2L_DATA_DIR={target / 'data'}\nTORCH_HOME={target / 'torch'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

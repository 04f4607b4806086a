"""Kaggle image-classification competitions: CIFAR-10 and dog breeds (ImageNet Dogs).

Both competitions ship a folder of the same shape::

    train/<id>.<png|jpg>   training images, the id is the file name without extension
    test/<id>.<png|jpg>    test images (no labels)
    <labels>.csv           id,<label>   (cifar-10: trainLabels.csv, dogs: labels.csv)
    <sample>.csv           a sample submission (cifar-10: id,label; dogs: id,<breed>,...)

The helpers read the labels, reorganise the images once into
``train_valid_test/{train,valid,train_valid}/<label>/`` and ``test/unknown/`` (the
layout ``torchvision.datasets.ImageFolder`` reads), predict the test set and write the
submission with every prediction paired to the id of its own file. Demo mode generates
synthetic data in exactly these layouts (:func:`make_kaggle_cifar10_demo`,
:func:`make_kaggle_dog_demo`); full mode uses the competition files when the user has
placed them (:func:`kaggle_folder`), else the textbook's tiny samples.
"""
from __future__ import annotations

import collections
import csv
import hashlib
import json
import math
import os
import random
import shutil
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import torch
import torchvision
from PIL import Image, ImageDraw
from torch import nn

from .demodata import (CIFAR10_DEMO_CLASSES, _background, _build_once, _clutter, _demo_root,
                       _ellipse, _save_png, _tone, render_shape)
from .fileio import atomic_write_text
from .mode import resolve_mode
from .paths import data_root
from .plotting import LivePlot

__all__ = [
    "COMPETITIONS", "DEMO_BREEDS", "FrozenFeaturesNet", "IdImageFolder", "check_submission",
    "evaluate_loss", "image_files", "kaggle_folder", "label_submission", "link_or_copy",
    "make_kaggle_cifar10_demo", "make_kaggle_dog_demo", "predict", "pretrained_backbone",
    "probability_submission", "read_csv_labels", "render_dog", "reorg_kaggle_data",
    "reorg_test", "reorg_train_valid", "sort_ids", "split_train_valid", "train_head",
    "write_submission",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
REORG_VERSION = 1
# name -> (folder name, labels file, sample submission, Kaggle competition, tiny sample)
COMPETITIONS = {
    "cifar10": ("cifar-10", "trainLabels.csv", "sampleSubmission.csv", "cifar-10",
                "cifar10_tiny"),
    "dog": ("dog-breed-identification", "labels.csv", "sample_submission.csv",
            "dog-breed-identification", "dog_tiny"),
}


def _id_key(name: str) -> tuple:
    """Sort key: numeric ids by value (1, 2, 10), others (hex strings) as text."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def sort_ids(ids: Iterable[str]) -> list[str]:
    """``ids`` in the order a submission lists them: numbers by value, text as text."""
    return sorted(ids, key=_id_key)


# --------------------------------------------------------------------------- reading

# export: chapters/13-kaggle-cifar10.ipynb
def read_csv_labels(fname: str | os.PathLike) -> dict[str, str]:
    """Map each training image's id (file name without extension) to its label.

    The file has a header of two columns, ``id`` and the label's name (``id,label`` for
    CIFAR-10, ``id,breed`` for the dogs), then one row per image. A missing file, a
    malformed row, an empty cell or a repeated id raises an error naming the file.
    """
    fname = Path(fname)
    if not fname.is_file():
        raise FileNotFoundError(
            f"{fname} is missing: a Kaggle data folder holds this labels file next to its "
            "train/ and test/ folders. Download the competition data (see the notebook) "
            "or run in demo mode, which generates data in the same layout.")
    with open(fname, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or len(rows[0]) != 2 or rows[0][0].strip() != "id":
        raise ValueError(f"{fname}: the header must have two columns 'id,<label>', "
                         f"found {rows[0] if rows else 'an empty file'}")
    labels: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue  # a blank line
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise ValueError(f"{fname}, line {line}: expected 'id,label', found {row}")
        name, label = row[0].strip(), row[1].strip()
        if name in labels:
            raise ValueError(f"{fname}, line {line}: the id {name!r} appears twice")
        labels[name] = label
    if not labels:
        raise ValueError(f"{fname} lists no images")
    return labels


def image_files(folder: str | os.PathLike) -> dict[str, Path]:
    """``id -> path`` for every image (.png/.jpg/.jpeg) in ``folder``; hidden files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is missing: a Kaggle data folder holds train/ and "
                                "test/ folders of images named <id>.png or <id>.jpg")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if path.stem in files:
            raise ValueError(f"{path} and {files[path.stem]} have the same id {path.stem!r}")
        files[path.stem] = path
    return files


# ---------------------------------------------------------------------- reorganising

# export: chapters/13-kaggle-cifar10.ipynb
def split_train_valid(labels: dict[str, str], valid_ratio: float,
                      seed: int = 0) -> tuple[dict[str, str], int]:
    """Put each id in ``"train"`` or ``"valid"``; return the split and the per-class count.

    Every class gives the same number of images to the validation set:
    ``n_valid = max(1, floor(n * valid_ratio))`` with ``n`` the size of the rarest class,
    chosen at random (seeded, so the split is the same on every run). A class with no
    image left for training is an error.
    """
    if not 0 < valid_ratio < 1:
        raise ValueError(f"valid_ratio={valid_ratio} must lie strictly between 0 and 1")
    counts = collections.Counter(labels.values())
    n = min(counts.values())
    n_valid = max(1, math.floor(n * valid_ratio))
    for label, count in sorted(counts.items()):
        if count <= n_valid:
            raise ValueError(
                f"class {label!r} has only {count} image(s): valid_ratio={valid_ratio} puts "
                f"max(1, floor({n} * {valid_ratio})) = {n_valid} image(s) of every class in "
                f"the validation set, which leaves none of {label!r} for training. Give each "
                f"class at least {n_valid + 1} images.")
    by_class = collections.defaultdict(list)
    for name in sort_ids(labels):
        by_class[labels[name]].append(name)
    rng = random.Random(seed)
    split = {}
    for label in sorted(by_class):
        valid = set(rng.sample(by_class[label], n_valid))
        for name in by_class[label]:
            split[name] = "valid" if name in valid else "train"
    return split, n_valid


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (no extra disk space), or copy where links fail."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


# export: chapters/13-kaggle-cifar10.ipynb
def reorg_train_valid(train_files: dict[str, Path], labels: dict[str, str],
                      split: dict[str, str], out_dir: Path) -> None:
    """Place each training image in ``train_valid/<label>/`` and in ``train/<label>/`` or
    ``valid/<label>/`` under ``out_dir``, as ImageFolder expects."""
    for name, part in split.items():
        src = train_files[name]
        for folder in ("train_valid", part):
            link_or_copy(src, out_dir / folder / labels[name] / src.name)


# export: chapters/13-kaggle-cifar10.ipynb
def reorg_test(test_files: dict[str, Path], out_dir: Path) -> None:
    """Place every test image in ``test/unknown/`` under ``out_dir`` (one dummy class)."""
    for src in test_files.values():
        link_or_copy(src, out_dir / "test" / "unknown" / src.name)


def _digest(items: Iterable[str]) -> str:
    h = hashlib.sha1()
    for item in items:
        h.update(item.encode("utf-8") + b"\n")
    return h.hexdigest()


def reorg_kaggle_data(data_dir: str | os.PathLike, labels_file: str, valid_ratio: float,
                      seed: int = 0, missing_images: str = "error") -> Path:
    """Reorganise a Kaggle data folder once; return ``data_dir/"train_valid_test"``.

    Reads ``data_dir/labels_file`` (:func:`read_csv_labels`) and the images in
    ``data_dir/train`` and ``data_dir/test``, splits the labelled images with
    :func:`split_train_valid` and places them with :func:`reorg_train_valid` and
    :func:`reorg_test` (hard links where possible, else copies).

    Idempotent and atomic: the folders are built in a hidden temporary folder that is
    renamed into place when complete, together with a record of what they were built
    from (labels, file lists, ``valid_ratio``, ``seed``). A later call with the same
    inputs returns at once; with different inputs the folders are rebuilt from scratch,
    so a second run never adds duplicates or leaves stale files.

    Bad input: an image without a label raises ValueError naming the file. An id in the
    labels without an image raises FileNotFoundError naming both, unless
    ``missing_images="skip"``, which leaves such ids out (with a warning) -- for partial
    samples of a competition. A class too small for the validation split raises
    ValueError (see :func:`split_train_valid`).
    """
    if missing_images not in ("error", "skip"):
        raise ValueError(f"missing_images={missing_images!r} must be 'error' or 'skip'")
    data_dir = Path(data_dir).expanduser()
    labels_path = data_dir / labels_file
    labels = read_csv_labels(labels_path)
    train_files = image_files(data_dir / "train")
    test_files = image_files(data_dir / "test")
    unlabelled = sort_ids(set(train_files) - set(labels))
    if unlabelled:
        raise ValueError(f"{train_files[unlabelled[0]]} has no label in {labels_path} "
                         f"({len(unlabelled)} training image(s) are not listed there)")
    missing = sort_ids(set(labels) - set(train_files))
    if missing and missing_images == "error":
        raise FileNotFoundError(
            f"{labels_path} lists {len(missing)} id(s) with no image in {data_dir / 'train'}, "
            f"e.g. {missing[:5]}. Was the training archive fully extracted? Pass "
            "missing_images='skip' to use only the images that are there.")
    if missing:
        warnings.warn(f"{labels_path}: skipping {len(missing)} id(s) that have no image in "
                      f"{data_dir / 'train'} (e.g. {missing[:3]})", stacklevel=2)
        labels = {name: label for name, label in labels.items() if name in train_files}
    try:
        split, n_valid = split_train_valid(labels, valid_ratio, seed)
    except ValueError as e:
        raise ValueError(f"{labels_path}: {e}") from e

    out = data_dir / "train_valid_test"
    record = {"version": REORG_VERSION, "valid_ratio": valid_ratio, "seed": seed,
              "labels": _digest(f"{k},{labels[k]}" for k in sort_ids(labels)),
              "train": _digest(p.name for p in train_files.values()),
              "test": _digest(p.name for p in test_files.values()),
              "n_valid_per_label": n_valid}
    marker = out / ".complete.json"
    if marker.is_file():
        try:
            if json.loads(marker.read_text(encoding="utf-8")) == record:
                return out
        except (OSError, ValueError):
            pass  # unreadable: rebuild
    tmp = data_dir / f".train_valid_test.{uuid.uuid4().hex[:8]}.part"
    old = data_dir / f".train_valid_test.{uuid.uuid4().hex[:8]}.old"
    try:
        tmp.mkdir()
        reorg_train_valid(train_files, labels, split, tmp)
        reorg_test(test_files, tmp)
        atomic_write_text(tmp / ".complete.json", json.dumps(record, indent=1))
        if out.exists():
            os.rename(out, old)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return out


# --------------------------------------------------------------------- where data lives

def kaggle_folder(competition: str, mode: str, data_dir: str | os.PathLike | None = None,
                  root: str | os.PathLike | None = None, **demo: Any) -> tuple[Path, str]:
    """``(folder, source)``: the competition's data folder and where it came from.

    ``competition`` is ``"cifar10"`` or ``"dog"``; ``mode`` goes through
    :func:`~d2lhelpers.mode.resolve_mode`. Demo mode generates synthetic data in
    the competition's layout (keyword arguments ``demo`` go to the generator; default
    root ``data_root()/"demo"``); ``source`` is ``"demo"``. Full mode uses, in order:
    ``data_dir`` when given; ``<data root>/kaggle/<folder>`` when it holds the labels
    file (the place to put the files downloaded from Kaggle); else the textbook's tiny
    sample from the download registry (``source`` ``"tiny sample"``).
    """
    if competition not in COMPETITIONS:
        raise ValueError(f"competition={competition!r} must be one of {sorted(COMPETITIONS)}")
    folder_name, labels_file, _, _, tiny = COMPETITIONS[competition]
    mode = resolve_mode(mode)
    if mode == "demo":
        make = make_kaggle_cifar10_demo if competition == "cifar10" else make_kaggle_dog_demo
        return make(root, **demo), "demo"
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not (folder / labels_file).is_file():
            raise FileNotFoundError(f"{folder / labels_file} is missing: data_dir should be the "
                                    f"folder holding {labels_file}, train/ and test/")
        return folder, "competition"
    placed = (Path(root).expanduser() if root is not None else data_root()) / "kaggle" / folder_name
    if (placed / labels_file).is_file():
        return placed, "competition"
    from .download import download_extract
    return download_extract(tiny, None if root is None else Path(root).expanduser()), "tiny sample"


# --------------------------------------------------------------------- prediction

# export: chapters/13-kaggle-cifar10.ipynb
class IdImageFolder(torchvision.datasets.ImageFolder):
    """An ImageFolder whose items are ``(image, id)``, the id being the file's name
    without extension, so that every prediction can travel with its own id."""

    def __getitem__(self, index: int) -> tuple[Any, str]:
        image, _ = super().__getitem__(index)
        return image, Path(self.samples[index][0]).stem


# export: chapters/13-kaggle-cifar10.ipynb
def predict(net: nn.Module, data_iter, device: torch.device) -> tuple[list[str], torch.Tensor]:
    """``(ids, outputs)`` of ``net`` over batches of ``(images, ids)``, in eval mode and
    without gradients; each output row belongs to the id at the same position."""
    was_training = net.training
    net.eval()
    ids, outputs = [], []
    try:
        with torch.no_grad():
            for X, batch_ids in data_iter:
                outputs.append(net(X.to(device)).float().cpu())
                ids.extend(batch_ids)
    finally:
        net.train(was_training)
    return ids, torch.cat(outputs)


# export: chapters/13-kaggle-cifar10.ipynb
def label_submission(ids: list[str], outputs: torch.Tensor,
                     classes: list[str]) -> pd.DataFrame:
    """A CIFAR-10 submission: columns ``id,label``, the label of the highest score,
    rows sorted by id."""
    labels = [classes[i] for i in outputs.argmax(dim=1).tolist()]
    table = pd.DataFrame({"id": ids, "label": labels})
    return table.set_index("id").loc[sort_ids(ids)].reset_index()


# export: chapters/14-kaggle-dog.ipynb
def probability_submission(ids: list[str], outputs: torch.Tensor, classes: list[str],
                           columns: list[str] | None = None) -> pd.DataFrame:
    """A dog-breed submission: ``id`` then one probability column per class (softmax
    over the classes, dim=1, so every row sums to 1); rows sorted by id. ``columns``
    orders the class columns (e.g. as in the sample submission)."""
    probs = torch.softmax(outputs.float(), dim=1)
    table = pd.DataFrame(probs.numpy().astype(np.float64), columns=classes)
    table.insert(0, "id", ids)
    table = table.set_index("id").loc[sort_ids(ids)].reset_index()
    return table[["id", *(columns or classes)]]


def write_submission(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` as CSV (no index) to ``path`` atomically and return the path."""
    return atomic_write_text(path, table.to_csv(index=False))


def check_submission(submission: pd.DataFrame | str | os.PathLike,
                     sample_file: str | os.PathLike, test_ids: Iterable[str],
                     classes: Iterable[str], probabilities: bool = False) -> dict[str, Any]:
    """Check a submission against the sample submission and the test images.

    Errors (ValueError): columns other than the sample's, repeated ids, ids that are not
    test images or not in the sample, test images without a prediction, labels outside
    ``classes`` or, with ``probabilities``, class columns other than ``classes``, values
    outside [0, 1] or rows not summing to 1. Returns counts, including how many of the
    sample's ids have no test image here (a tiny sample ships only a few test images).
    """
    table = submission if isinstance(submission, pd.DataFrame) else pd.read_csv(
        submission, dtype={"id": str})
    sample = pd.read_csv(sample_file, dtype={"id": str})
    classes, test_ids = list(classes), set(test_ids)
    if list(table.columns) != list(sample.columns):
        raise ValueError(f"the submission's columns {list(table.columns)[:5]}... differ from "
                         f"those of {sample_file}: {list(sample.columns)[:5]}...")
    ids = table["id"].astype(str)
    if ids.duplicated().any():
        raise ValueError(f"ids repeated in the submission, e.g. {ids[ids.duplicated()].iloc[0]!r}")
    unknown = set(ids) - test_ids
    if unknown:
        raise ValueError(f"{len(unknown)} submission id(s) are not test images, "
                         f"e.g. {sort_ids(unknown)[:3]}")
    not_sampled = set(ids) - set(sample["id"].astype(str))
    if not_sampled:
        raise ValueError(f"{len(not_sampled)} submission id(s) are not in {sample_file}, "
                         f"e.g. {sort_ids(not_sampled)[:3]}")
    unpredicted = test_ids - set(ids)
    if unpredicted:
        raise ValueError(f"{len(unpredicted)} test image(s) have no prediction, "
                         f"e.g. {sort_ids(unpredicted)[:3]}")
    if probabilities:
        if set(table.columns[1:]) != set(classes):
            raise ValueError("the probability columns are not the training classes: "
                             f"{sorted(set(table.columns[1:]) ^ set(classes))[:5]} differ")
        values = table[table.columns[1:]].to_numpy(dtype=np.float64)
        if (values < 0).any() or (values > 1).any():
            raise ValueError("probabilities must lie in [0, 1]")
        sums = values.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=1e-5):
            row = int(np.argmax(np.abs(sums - 1)))
            raise ValueError(f"the row of id {ids.iloc[row]!r} sums to {sums[row]:.6f}, not 1")
    else:
        outside = set(table["label"]) - set(classes)
        if outside:
            raise ValueError(f"labels outside the classes: {sorted(outside)[:5]}")
    return {"rows": len(table), "sample_rows": len(sample),
            "sample_ids_without_test_image": len(set(sample["id"].astype(str)) - set(ids))}


# ------------------------------------------------------------ dog breeds: model, training

def pretrained_backbone(mode: str) -> tuple[nn.Module, int]:
    """``(network, number of outputs)`` for the dog-breed features.

    Full mode: torchvision's ResNet-34 with ImageNet weights (``IMAGENET1K_V1``), whole,
    so its 1000 class scores are the features, as in the textbook. Demo mode: the
    quarter-width ResNet-18 pretrained on synthetic shapes
    (:func:`~d2lhelpers.pretrained.demo_source_model`), whole, with its shape scores.
    """
    if mode == "full":
        from .download import pretrained_state_dict
        net = torchvision.models.resnet34()
        net.load_state_dict(pretrained_state_dict(torchvision.models.ResNet34_Weights.IMAGENET1K_V1))
        return net, net.fc.out_features
    if mode != "demo":
        raise ValueError(f"mode={mode!r} must be 'demo' or 'full'")
    from .pretrained import demo_source_model
    net = demo_source_model()[0]
    return net, net.fc.out_features


# export: chapters/14-kaggle-dog.ipynb
class FrozenFeaturesNet(nn.Module):
    """A frozen pretrained network (``features``) and a small trainable head
    (``output_new``): Linear(num_features, 256) - ReLU - Linear(256, num_classes)."""

    def __init__(self, features: nn.Module, num_features: int, num_classes: int,
                 hidden: int = 256):
        super().__init__()
        self.features = features.requires_grad_(False)
        self.output_new = nn.Sequential(nn.Linear(num_features, hidden), nn.ReLU(),
                                        nn.Linear(hidden, num_classes))

    def train(self, mode: bool = True) -> "FrozenFeaturesNet":
        super().train(mode)
        self.features.eval()  # frozen: batch norm keeps its pretrained statistics
        return self

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.output_new(self.features(X))


# export: chapters/14-kaggle-dog.ipynb
def evaluate_loss(net: nn.Module, data_iter, loss, device: torch.device) -> tuple[float, float]:
    """``(mean loss, accuracy)`` over *all* examples of ``data_iter`` (every batch
    counts, weighted by its size), in eval mode and without gradients."""
    was_training = net.training
    net.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, count
    try:
        with torch.no_grad():
            for X, y in data_iter:
                X, y = X.to(device), y.to(device)
                outputs = net(X)
                totals += torch.stack([loss(outputs, y).sum().double(),
                                       (outputs.argmax(dim=1) == y).sum().double(),
                                       torch.full((), float(y.numel()), dtype=torch.float64,
                                                  device=device)])
    finally:
        net.train(was_training)
    loss_sum, correct, count = totals.tolist()
    return loss_sum / count, correct / count


# export: chapters/14-kaggle-dog.ipynb
def train_head(net, train_iter, valid_iter, optimizer, scheduler, num_epochs, device,
               plot=True):
    """Train ``net`` (only parameters that require gradients change); one row per epoch
    with the training loss, and the validation loss and accuracy when ``valid_iter``."""
    loss = nn.CrossEntropyLoss(reduction="none")
    net.to(device)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    live = LivePlot("epoch", ["train loss", "valid loss"], xlim=(1, num_epochs)) if plot else None
    rows = []
    for epoch in range(num_epochs):
        net.train()
        totals = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, examples
        sync()
        tic = time.perf_counter()
        for X, y in train_iter:
            X, y = X.to(device), y.to(device)
            optimizer.zero_grad()
            l = loss(net(X), y)
            l.sum().backward()
            optimizer.step()
            totals += torch.stack([l.detach().sum().double(),
                                   torch.full((), float(y.numel()), dtype=torch.float64,
                                              device=device)])
        sync()
        seconds = time.perf_counter() - tic
        scheduler.step()
        loss_sum, examples = totals.tolist()
        if examples == 0:
            raise ValueError("train_iter yielded no examples; is the training folder empty?")
        row = {"epoch": epoch + 1, "train_loss": loss_sum / examples,
               "valid_loss": None, "valid_acc": None, "examples_per_sec": examples / seconds}
        if valid_iter is not None:
            row["valid_loss"], row["valid_acc"] = evaluate_loss(net, valid_iter, loss, device)
        rows.append(row)
        if live:
            live.add(epoch + 1, [row["train_loss"], row["valid_loss"]])
    if live:
        live.close()
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ demo data

_KAGGLE_VERSION = 1


def make_kaggle_cifar10_demo(root: str | os.PathLike | None = None, n_train: int = 1000,
                             n_test: int = 300, seed: int = 0) -> Path:
    """A synthetic CIFAR-10 competition folder; return its ``cifar-10`` folder.

    Writes ``train/1.png .. train/<n_train>.png`` and ``test/1.png .. test/<n_test>.png``
    (32 x 32 RGB shapes of the ten :data:`~d2lhelpers.demodata.CIFAR10_DEMO_CLASSES`,
    balanced, in random order), ``trainLabels.csv`` (``id,label``) and
    ``sampleSubmission.csv`` (``id,label``, every test id labelled with the first class,
    as Kaggle's sample labels every row ``cat``). The folder is
    ``<root>/kaggle-cifar10-v<version>-<n_train>x<n_test>-seed<seed>/cifar-10`` (default
    root ``data_root()/"demo"``), built once and atomically.
    """
    if n_train < 10 or n_test < 1:
        raise ValueError(f"need n_train >= 10 and n_test >= 1, got {n_train}, {n_test}")
    classes = list(CIFAR10_DEMO_CLASSES)
    target = _demo_root(root) / f"kaggle-cifar10-v{_KAGGLE_VERSION}-{n_train}x{n_test}-seed{seed}"

    def build(tmp: Path) -> None:
        folder = tmp / "cifar-10"
        rows = ["id,label"]
        for part, n, stream in (("train", n_train, 0), ("test", n_test, 1)):
            (folder / part).mkdir(parents=True)
            rng = np.random.default_rng([seed, stream])
            labels = rng.permutation(np.arange(n) % len(classes))
            for i, y in enumerate(labels, start=1):
                _save_png(render_shape(classes[y], 32, rng), folder / part / f"{i}.png")
                if part == "train":
                    rows.append(f"{i},{classes[y]}")
        (folder / "trainLabels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        sample = ["id,label"] + [f"{i},{classes[0]}" for i in range(1, n_test + 1)]
        (folder / "sampleSubmission.csv").write_text("\n".join(sample) + "\n", encoding="utf-8")

    return _build_once(target, build) / "cifar-10"


# Cartoon dog portraits. Each breed: head shape, ear style, coat colours and markings.
DEMO_BREEDS = ("beagle", "chihuahua", "doberman", "pug", "samoyed", "siberian_husky")
_EAR_POLYGONS = {  # the right ear in unit coordinates (mirrored for the left one), y down
    "pointy": [(0.22, -0.62), (0.78, -0.5), (0.62, -1.3)],
    "huge": [(0.18, -0.55), (0.95, -0.25), (1.3, -1.35)],
    "cropped": [(0.25, -0.65), (0.55, -0.6), (0.5, -1.55)],
    "folded": [(0.3, -0.78), (0.85, -0.6), (0.8, -0.2)],
}


def _dog_layers(breed: str, rng: np.random.Generator) -> list:
    """Filled polygons ``(colour, points, 0)`` of one dog head, in painter's order."""
    tone = lambda rgb, s=18: _tone(rng, rgb, s)  # noqa: E731
    black, white = tone((25, 22, 20), 8), tone((240, 238, 232), 8)
    layers: list = []

    def inner(pts, shrink=0.55):  # a smaller copy of a polygon around its centroid
        pts = np.asarray(pts, float)
        return pts.mean(0) + shrink * (pts - pts.mean(0))

    def both(colour, pts):  # a polygon and its mirror image (ears, eyes, spots)
        pts = np.asarray(pts, float)
        layers.append((colour, pts, 0))
        layers.append((colour, pts * [-1, 1], 0))

    if breed == "beagle":
        coat, ear = tone((190, 120, 55)), tone((90, 55, 30))
        layers.append((coat, _ellipse(0, 0, 0.72, 0.85), 0))
        layers.append((white, np.array([(-0.1, -0.85), (0.1, -0.85), (0.22, 0.3), (-0.22, 0.3)]), 0))
        layers.append((white, _ellipse(0, 0.5, 0.42, 0.35), 0))
        both(ear, _ellipse(0.72, 0.2, 0.26, 0.62))
        eyes, eye_colour, nose_y = 0.3, black, 0.38
    elif breed == "chihuahua":
        coat = tone((215, 175, 120))
        both(coat, _EAR_POLYGONS["huge"])
        both(tone((235, 170, 160)), inner(_EAR_POLYGONS["huge"]))
        layers.append((coat, _ellipse(0, 0, 0.7, 0.68), 0))
        layers.append((tone((235, 215, 185)), _ellipse(0, 0.42, 0.3, 0.24), 0))
        eyes, eye_colour, nose_y = 0.32, black, 0.34
    elif breed == "doberman":
        coat, tan = tone((30, 25, 25), 8), tone((165, 90, 40))
        both(coat, _EAR_POLYGONS["cropped"])
        layers.append((coat, _ellipse(0, -0.05, 0.55, 0.85), 0))
        layers.append((tan, _ellipse(0, 0.5, 0.3, 0.4), 0))
        both(tan, _ellipse(0.3, -0.32, 0.09, 0.06, 12))
        eyes, eye_colour, nose_y = 0.28, tone((80, 50, 25)), 0.72
    elif breed == "pug":
        coat = tone((205, 170, 115))
        layers.append((coat, _ellipse(0, 0, 0.82, 0.8), 0))
        both(black, _EAR_POLYGONS["folded"])
        layers.append((black, _ellipse(0, 0.38, 0.45, 0.35), 0))
        for y in (-0.5, -0.38):  # forehead wrinkles
            layers.append((tone((120, 90, 60)), np.array([(-0.3, y), (0.3, y), (0.3, y + 0.04),
                                                          (-0.3, y + 0.04)]), 0))
        eyes, eye_colour, nose_y = 0.38, black, 0.28
    elif breed == "samoyed":
        t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
        r = 0.85 * (1 + 0.07 * np.sin(14 * t + rng.uniform(0, 6)))
        both(white, _EAR_POLYGONS["pointy"])
        layers.append((white, np.stack([r * np.cos(t), r * np.sin(t)], 1), 0))
        layers.append((tone((225, 220, 210), 6), _ellipse(0, 0.42, 0.32, 0.26), 0))
        eyes, eye_colour, nose_y = 0.3, black, 0.36
    elif breed == "siberian_husky":
        coat = tone((110, 110, 120))
        both(coat, _EAR_POLYGONS["pointy"])
        both(white, inner(_EAR_POLYGONS["pointy"]))
        layers.append((coat, _ellipse(0, 0, 0.78, 0.82), 0))
        layers.append((white, _ellipse(0, 0.35, 0.55, 0.45), 0))
        both(white, _ellipse(0.3, -0.3, 0.14, 0.1, 12))
        layers.append((white, np.array([(-0.06, -0.75), (0.06, -0.75), (0.1, 0), (-0.1, 0)]), 0))
        eyes, eye_colour, nose_y = 0.3, tone((90, 160, 230), 12), 0.36
    else:
        raise ValueError(f"unknown breed {breed!r}; demo breeds are {DEMO_BREEDS}")
    both(eye_colour, _ellipse(eyes, -0.12, 0.09, 0.09, 16))
    both(black, _ellipse(eyes + 0.02, -0.13, 0.04, 0.04, 10))   # pupils
    layers.append((black, _ellipse(0, nose_y, 0.13, 0.09, 16), 0))
    if rng.random() < 0.3:                                       # a tongue
        layers.append((tone((220, 90, 100)), _ellipse(0, nose_y + 0.22, 0.09, 0.12, 16), 0))
    return layers


def render_dog(breed: str, size: tuple[int, int], rng: np.random.Generator,
               noise: float = 8.0) -> Image.Image:
    """One cartoon dog head of ``breed`` on a random background; ``size = (width, height)``.

    The head gets a random size, a tilt of up to 25 degrees, a slight stretch and a
    random position; behind it a gradient with clutter, on top Gaussian noise.
    """
    from .demodata import _SS
    w, h = size
    bg, _ = _background(w, h, rng)
    canvas = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8)).resize(
        (w * _SS, h * _SS), Image.NEAREST)
    draw = ImageDraw.Draw(canvas)
    _clutter(draw, w, h, rng)
    radius = _SS * min(w, h) * rng.uniform(0.26, 0.36)
    a, stretch = np.deg2rad(rng.uniform(-25, 25)), np.exp(rng.uniform(-0.1, 0.1))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * radius
    rot = rot @ np.diag([stretch, 1 / stretch])
    centre = _SS * np.array([w, h]) * (0.5 + rng.uniform(-0.12, 0.12, 2)) + [0, 0.12 * radius]
    for colour, pts, _ in _dog_layers(breed, rng):
        draw.polygon((pts @ rot.T + centre).ravel().tolist(), fill=colour)
    out = np.asarray(canvas.resize((w, h), Image.LANCZOS, reducing_gap=2.0), dtype=np.float32)
    out += rng.normal(0, rng.uniform(0, noise), out.shape).astype(np.float32)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def make_kaggle_dog_demo(root: str | os.PathLike | None = None, n_train: int = 600,
                         n_test: int = 60, seed: int = 0,
                         breeds: tuple[str, ...] = DEMO_BREEDS) -> Path:
    """A synthetic dog-breed competition folder; return its ``dog-breed-identification`` folder.

    Writes ``train/<id>.jpg`` and ``test/<id>.jpg`` (ids are 32 hex digits as on Kaggle;
    cartoon heads of ``breeds``, balanced, 80-160 px sides), ``labels.csv`` (``id,breed``)
    and ``sample_submission.csv`` (``id`` then one column per breed, alphabetical, each
    ``1/len(breeds)``). The folder is ``<root>/kaggle-dog-v<version>-<n_train>x<n_test>-
    <k>breeds-seed<seed>/dog-breed-identification`` (default root ``data_root()/"demo"``).
    """
    breeds = tuple(sorted(breeds))
    if len(breeds) < 2 or n_train < len(breeds) or n_test < 1:
        raise ValueError(f"need at least 2 breeds, n_train >= {len(breeds)} and n_test >= 1")
    for breed in breeds:
        if breed not in DEMO_BREEDS:
            raise ValueError(f"unknown breed {breed!r}; demo breeds are {DEMO_BREEDS}")
    target = (_demo_root(root) / f"kaggle-dog-v{_KAGGLE_VERSION}-{n_train}x{n_test}-"
              f"{len(breeds)}breeds-seed{seed}")

    def build(tmp: Path) -> None:
        folder = tmp / "dog-breed-identification"
        labels, test_ids = ["id,breed"], []
        for part, n, stream in (("train", n_train, 0), ("test", n_test, 1)):
            (folder / part).mkdir(parents=True)
            rng = np.random.default_rng([seed, stream])
            for y in rng.permutation(np.arange(n) % len(breeds)):
                name = "".join(f"{b:02x}" for b in rng.integers(0, 256, 16))
                width = int(rng.integers(80, 161))
                height = int(np.clip(round(width * rng.uniform(0.75, 1.33)), 80, 160))
                img = render_dog(breeds[y], (width, height), rng)
                img.save(folder / part / f"{name}.jpg", format="JPEG", quality=90)
                if part == "train":
                    labels.append(f"{name},{breeds[y]}")
                else:
                    test_ids.append(name)
        (folder / "labels.csv").write_text("\n".join(labels) + "\n", encoding="utf-8")
        p = 1 / len(breeds)
        sample = [",".join(["id", *breeds])] + [",".join([i, *[f"{p:.6f}"] * len(breeds)])
                                                 for i in test_ids]
        (folder / "sample_submission.csv").write_text("\n".join(sample) + "\n", encoding="utf-8")

    return _build_once(target, build) / "dog-breed-identification"

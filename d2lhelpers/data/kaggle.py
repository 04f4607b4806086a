"""Kaggle image-classification competitions: CIFAR-10 and dog breeds (ImageNet Dogs).

Both competitions ship a folder of the same shape::

    train/<id>.<png|jpg>   training images, the id is the file name without extension
    test/<id>.<png|jpg>    test images (no labels)
    <labels>.csv           id,<label>   (cifar-10: trainLabels.csv, dogs: labels.csv)
    <sample>.csv           a sample submission (cifar-10: id,label; dogs: id,<breed>,...)

This module finds that folder (:func:`kaggle_folder`: the competition files when the
user has placed them, else the textbook's tiny sample, or the demo data), reads the
labels and reorganises the images once into ``train_valid_test/{train,valid,train_valid}/<label>/``
and ``test/unknown/`` (the layout ``torchvision.datasets.ImageFolder`` reads);
:class:`IdImageFolder` keeps each test image's id with it. Predictions and submission
files are in :mod:`d2lhelpers.kaggle`.
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
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterable

import torchvision

from ..fileio import atomic_write_text
from ..mode import resolve_mode
from ..paths import data_root
from .locate import dataset_folder

__all__ = [
    "COMPETITIONS", "IMAGE_SUFFIXES", "IdImageFolder", "check_label_rows", "check_labels_file",
    "image_files", "kaggle_folder", "link_or_copy", "read_csv_labels", "reorg_kaggle_data",
    "reorg_test", "reorg_train_valid",
    "sort_ids", "split_train_valid",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
REORG_VERSION = 1
# name -> (folder name, labels file, sample submission, Kaggle competition, data source)
COMPETITIONS = {
    "cifar10": ("cifar-10", "trainLabels.csv", "sampleSubmission.csv", "cifar-10",
                "kaggle-cifar10"),
    "dog": ("dog-breed-identification", "labels.csv", "sample_submission.csv",
            "dog-breed-identification", "kaggle-dog"),
}


def _id_key(name: str) -> tuple:
    """Sort key: numeric ids by value (1, 2, 10), others (hex strings) as text."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def sort_ids(ids: Iterable[str]) -> list[str]:
    """``ids`` in the order a submission lists them: numbers by value, text as text."""
    return sorted(ids, key=_id_key)


# --------------------------------------------------------------------------- reading

def check_labels_file(fname: str | os.PathLike) -> Path:
    """``fname`` as a Path, or an error saying where a Kaggle labels file comes from."""
    fname = Path(fname)
    if not fname.is_file():
        raise FileNotFoundError(
            f"{fname} is missing: a Kaggle data folder holds this labels file next to its "
            "train/ and test/ folders. Download the competition data (see the notebook) "
            "or run in demo mode, which generates data in the same layout.")
    return fname


def check_label_rows(fname: Path, rows: list[list[str]]) -> None:
    """Raise, naming ``fname`` and the line, unless ``rows`` (the file's CSV rows, header
    first) have the header ``id,<label>``, then rows of two non-empty cells (blank lines
    allowed), no id twice and at least one row."""
    if not rows or len(rows[0]) != 2 or rows[0][0].strip() != "id":
        raise ValueError(f"{fname}: the header must have two columns 'id,<label>', "
                         f"found {rows[0] if rows else 'an empty file'}")
    seen = set()
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue  # a blank line
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise ValueError(f"{fname}, line {line}: expected 'id,label', found {row}")
        name = row[0].strip()
        if name in seen:
            raise ValueError(f"{fname}, line {line}: the id {name!r} appears twice")
        seen.add(name)
    if not seen:
        raise ValueError(f"{fname} lists no images")


# export: chapters/13-kaggle-cifar10.ipynb
def read_csv_labels(fname: str | os.PathLike) -> dict[str, str]:
    """Map each training image's id (file name without extension) to its label.

    The file has a header of two columns, ``id`` and the label's name (``id,label`` for
    CIFAR-10, ``id,breed`` for the dogs), then one row per image. A missing file, a
    malformed row, an empty cell or a repeated id is an error naming the file (the checks
    are the two ``check_*`` helpers).
    """
    fname = check_labels_file(fname)
    with open(fname, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    check_label_rows(fname, rows)
    return {row[0].strip(): row[1].strip() for row in rows[1:] if row}  # skip the header


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
    root ``demo_root()``); ``source`` is ``"demo"``. Full mode uses, in order:
    ``data_dir`` when given; ``<data root>/kaggle/<folder>`` when it holds the labels
    file (the place to put the files downloaded from Kaggle); else the textbook's tiny
    sample from the download registry (``source`` ``"tiny sample"``). The demo data and
    the tiny sample come from :func:`~d2lhelpers.data.locate.dataset_folder`.
    """
    if competition not in COMPETITIONS:
        raise ValueError(f"competition={competition!r} must be one of {sorted(COMPETITIONS)}")
    folder_name, labels_file, _, _, source = COMPETITIONS[competition]
    mode = resolve_mode(mode)
    if mode == "demo":
        return dataset_folder(source, mode, root, **demo), "demo"
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not (folder / labels_file).is_file():
            raise FileNotFoundError(f"{folder / labels_file} is missing: data_dir should be the "
                                    f"folder holding {labels_file}, train/ and test/")
        return folder, "competition"
    placed = (Path(root).expanduser() if root is not None else data_root()) / "kaggle" / folder_name
    if (placed / labels_file).is_file():
        return placed, "competition"
    return dataset_folder(source, mode, root), "tiny sample"


# export: chapters/13-kaggle-cifar10.ipynb
class IdImageFolder(torchvision.datasets.ImageFolder):
    """An ImageFolder whose items are ``(image, id)``, the id being the file's name
    without extension, so that every prediction can travel with its own id."""

    def __getitem__(self, index: int) -> tuple[Any, str]:
        image, _ = super().__getitem__(index)
        return image, Path(self.samples[index][0]).stem

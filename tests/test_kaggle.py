"""Kaggle projects: demo layouts, labels, the train/valid split, reorganisation (idempotent,
atomic, bad input), prediction paired by file name, submissions, the frozen-feature model."""
from __future__ import annotations

import hashlib
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms import v2

import d2lhelpers.data.locate as locate
import d2lhelpers.data.kaggle as data_kaggle
import d2lhelpers.demodata.kaggle as demo_kaggle
from d2lhelpers import pretrained
from d2lhelpers.data.kaggle import (IdImageFolder, image_files, kaggle_folder, read_csv_labels,
                                    reorg_kaggle_data, sort_ids, split_train_valid)
from d2lhelpers.demodata import CIFAR10_DEMO_CLASSES
from d2lhelpers.demodata.kaggle import DEMO_BREEDS, make_kaggle_cifar10_demo, make_kaggle_dog_demo
from d2lhelpers.kaggle import (FrozenFeaturesNet, check_submission, evaluate_loss,
                               label_submission, predict, probability_submission, train_head,
                               write_submission)


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> MD5 of every file below ``folder`` (hidden files included)."""
    return {p.relative_to(folder).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cifar(tmp_path_factory) -> Path:
    return make_kaggle_cifar10_demo(tmp_path_factory.mktemp("cifar"), n_train=40, n_test=12)


@pytest.fixture(scope="module")
def dogs(tmp_path_factory) -> Path:
    return make_kaggle_dog_demo(tmp_path_factory.mktemp("dogs"), n_train=18, n_test=5)


def copy_of(folder: Path, tmp_path: Path) -> Path:
    """A private, writable copy of a demo competition folder."""
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def write_competition(root: Path, labels: dict[str, str], n_test: int = 3,
                      labels_file: str = "trainLabels.csv", files: list[str] | None = None) -> Path:
    """A tiny competition folder: one 8x8 PNG per id (or per name in ``files``)."""
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    for name in files if files is not None else labels:
        Image.new("RGB", (8, 8), (int(name) % 256 if name.isdigit() else 0, 0, 0)).save(
            root / "train" / f"{name}.png")
    for i in range(1, n_test + 1):
        Image.new("RGB", (8, 8)).save(root / "test" / f"{i}.png")
    rows = ["id,label"] + [f"{k},{v}" for k, v in labels.items()]
    (root / labels_file).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


# ---------------------------------------------------------------------------- demo layouts

def test_cifar_demo_has_the_competition_layout(cifar):
    assert cifar.name == "cifar-10"
    assert sorted(p.name for p in cifar.iterdir()) == ["sampleSubmission.csv", "test", "train",
                                                       "trainLabels.csv"]
    assert sorted(p.name for p in (cifar / "train").iterdir()) == sorted(f"{i}.png" for i in range(1, 41))
    assert sorted(p.name for p in (cifar / "test").iterdir()) == sorted(f"{i}.png" for i in range(1, 13))
    lines = (cifar / "trainLabels.csv").read_text().splitlines()
    assert lines[0] == "id,label" and [r.split(",")[0] for r in lines[1:]] == [str(i) for i in range(1, 41)]
    labels = read_csv_labels(cifar / "trainLabels.csv")
    assert sorted(set(labels.values())) == sorted(CIFAR10_DEMO_CLASSES)
    assert set(pd.Series(labels).value_counts()) == {4}           # balanced
    sample = pd.read_csv(cifar / "sampleSubmission.csv", dtype=str)
    assert list(sample.columns) == ["id", "label"] and sample["id"].tolist() == [str(i) for i in range(1, 13)]
    with Image.open(cifar / "train" / "7.png") as img:
        assert img.format == "PNG" and img.size == (32, 32) and img.mode == "RGB"


def test_demo_sets_are_deterministic_and_built_once(cifar, tmp_path):
    again = make_kaggle_cifar10_demo(tmp_path, n_train=40, n_test=12)
    assert tree(again) == tree(cifar)
    stamp = (again / "train" / "1.png").stat().st_mtime_ns
    assert make_kaggle_cifar10_demo(tmp_path, n_train=40, n_test=12) == again
    assert (again / "train" / "1.png").stat().st_mtime_ns == stamp
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_dog_demo_has_the_competition_layout(dogs):
    assert dogs.name == "dog-breed-identification"
    labels = read_csv_labels(dogs / "labels.csv")
    assert (dogs / "labels.csv").read_text().splitlines()[0] == "id,breed"
    assert len(labels) == 18 and set(labels.values()) == set(DEMO_BREEDS)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in labels)
    train = image_files(dogs / "train")
    assert set(train) == set(labels) and all(p.suffix == ".jpg" for p in train.values())
    sizes = set()
    for path in list(train.values())[:6]:
        with Image.open(path) as img:
            assert img.format == "JPEG" and 80 <= min(img.size) and max(img.size) <= 160
            sizes.add(img.size)
    assert len(sizes) > 1                                           # sizes vary, as on Kaggle
    sample = pd.read_csv(dogs / "sample_submission.csv", dtype={"id": str})
    assert list(sample.columns) == ["id", *sorted(DEMO_BREEDS)]
    assert set(sample["id"]) == set(image_files(dogs / "test"))
    assert np.allclose(sample.iloc[:, 1:].to_numpy(), 1 / len(DEMO_BREEDS), atol=1e-6)


def test_dog_breeds_look_different():
    """The cartoon breeds differ in colour and outline (a frozen shape model can tell them)."""
    means = {}
    for breed in DEMO_BREEDS:
        img = demo_kaggle.render_dog(breed, (96, 96), np.random.default_rng(0), noise=0)
        means[breed] = np.asarray(img, dtype=float)[32:64, 32:64].mean((0, 1))
    assert np.linalg.norm(means["samoyed"] - means["doberman"]) > 150
    with pytest.raises(ValueError, match="unknown breed"):
        demo_kaggle.render_dog("poodle", (50, 50), np.random.default_rng(0))


# ---------------------------------------------------------------------------------- labels

def test_read_csv_labels(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_text("id,breed\nabc,pug\n\n7,beagle\n", encoding="utf-8")
    assert read_csv_labels(f) == {"abc": "pug", "7": "beagle"}


@pytest.mark.parametrize("text, message", [
    ("name,label\n1,cat\n", "header"),
    ("id,label,extra\n1,cat,x\n", "header"),
    ("id,label\n1,cat\n1,dog\n", "line 3: the id '1' appears twice"),
    ("id,label\n1,\n", "line 2"),
    ("id,label\n1,cat,dog\n", "line 2"),
    ("id,label\n", "lists no images"),
    ("", "empty file"),
])
def test_read_csv_labels_rejects_malformed_files(tmp_path, text, message):
    f = tmp_path / "trainLabels.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        read_csv_labels(f)
    assert "trainLabels.csv" in str(info.value)


def test_missing_labels_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"trainLabels\.csv is missing") as info:
        read_csv_labels(tmp_path / "trainLabels.csv")
    assert "demo mode" in str(info.value)
    with pytest.raises(FileNotFoundError, match="trainLabels.csv"):
        reorg_kaggle_data(tmp_path, "trainLabels.csv", 0.1)


# ------------------------------------------------------------------------------ the split

def test_split_takes_the_same_number_from_every_class():
    labels = {str(i): c for i, c in enumerate(["a"] * 10 + ["b"] * 20 + ["c"] * 7)}
    split, n_valid = split_train_valid(labels, 0.3)
    assert n_valid == math.floor(7 * 0.3) == 2
    for c in "abc":
        parts = [split[i] for i, label in labels.items() if label == c]
        assert parts.count("valid") == 2 and parts.count("train") == len(parts) - 2
    assert split == split_train_valid(labels, 0.3)[0]                 # deterministic
    assert split != split_train_valid(labels, 0.3, seed=1)[0]         # the seed matters
    assert split_train_valid(labels, 0.01)[1] == 1                    # at least one


def test_a_class_with_a_single_image_cannot_be_split():
    labels = {"1": "cat", "2": "cat", "3": "cat", "4": "dog"}
    with pytest.raises(ValueError, match=r"class 'dog' has only 1 image.*at least 2 images"):
        split_train_valid(labels, 0.1)


@pytest.mark.parametrize("ratio", [0, 1, -0.1, 1.5])
def test_valid_ratio_must_be_a_fraction(ratio):
    with pytest.raises(ValueError, match="valid_ratio"):
        split_train_valid({"1": "a", "2": "a"}, ratio)


def test_ids_sort_numerically_when_numeric():
    assert sort_ids(["10", "2", "1", "100"]) == ["1", "2", "10", "100"]
    assert sort_ids(["b1", "a2", "10"]) == ["10", "a2", "b1"]


# --------------------------------------------------------------------------- reorganising

def test_reorganised_folders(cifar, tmp_path):
    data = copy_of(cifar, tmp_path)
    out = reorg_kaggle_data(data, "trainLabels.csv", 0.25)
    labels = read_csv_labels(data / "trainLabels.csv")
    assert out == data / "train_valid_test"
    classes = sorted(set(labels.values()))
    for part in ("train", "valid", "train_valid"):
        assert sorted(p.name for p in (out / part).iterdir()) == classes
    for c in classes:
        train = {p.name for p in (out / "train" / c).iterdir()}
        valid = {p.name for p in (out / "valid" / c).iterdir()}
        both = {p.name for p in (out / "train_valid" / c).iterdir()}
        assert len(valid) == 1 and not train & valid and train | valid == both  # floor(4*0.25)=1
        assert all(labels[Path(n).stem] == c for n in both)
    assert sorted(p.name for p in (out / "test" / "unknown").iterdir()) == \
        sorted(p.name for p in (data / "test").iterdir())
    same = (out / "train_valid" / labels["1"] / "1.png").read_bytes()
    assert same == (data / "train" / "1.png").read_bytes()
    ds = torchvision.datasets.ImageFolder(out / "train_valid")
    assert len(ds) == 40 and ds.classes == classes


def test_reorganising_twice_gives_the_same_folders(cifar, tmp_path):
    data = copy_of(cifar, tmp_path)
    out = reorg_kaggle_data(data, "trainLabels.csv", 0.25)
    before = tree(out)
    stamp = (out / ".complete.json").stat().st_mtime_ns
    assert reorg_kaggle_data(data, "trainLabels.csv", 0.25) == out
    assert tree(out) == before and (out / ".complete.json").stat().st_mtime_ns == stamp
    # new inputs: rebuilt from scratch, nothing stale left behind
    reorg_kaggle_data(data, "trainLabels.csv", 0.5)
    valid = [p for p in (out / "valid").rglob("*.png")]
    assert len(valid) == 10 * 2 and len(list((out / "train_valid").rglob("*.png"))) == 40
    assert len(list((out / "train").rglob("*.png"))) == 40 - 20
    assert not [p for p in data.iterdir() if p.name.startswith(".train_valid_test")]
    # a folder damaged by hand (no record) is rebuilt too
    (out / ".complete.json").unlink()
    (out / "valid" / "junk.png").write_bytes(b"x")
    reorg_kaggle_data(data, "trainLabels.csv", 0.25)
    assert tree(out) == before


def test_an_interrupted_reorganisation_leaves_nothing(cifar, tmp_path, monkeypatch):
    data = copy_of(cifar, tmp_path)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(data_kaggle, "reorg_test", crash)
    with pytest.raises(KeyboardInterrupt):
        reorg_kaggle_data(data, "trainLabels.csv", 0.25)
    assert sorted(p.name for p in data.iterdir()) == ["sampleSubmission.csv", "test", "train",
                                                      "trainLabels.csv"]


def test_an_id_without_an_image_is_an_error_or_skipped(tmp_path):
    labels = {str(i): "cat" if i % 2 else "dog" for i in range(1, 9)}
    data = write_competition(tmp_path / "c", labels, files=[str(i) for i in range(1, 8)])
    with pytest.raises(FileNotFoundError, match=r"trainLabels\.csv lists 1 id\(s\) with no image") as info:
        reorg_kaggle_data(data, "trainLabels.csv", 0.25)
    assert "'8'" in str(info.value) and str(data / "train") in str(info.value)
    assert not (data / "train_valid_test").exists()
    with pytest.warns(UserWarning, match="skipping 1 id"):
        out = reorg_kaggle_data(data, "trainLabels.csv", 0.25, missing_images="skip")
    assert len(list((out / "train_valid").rglob("*.png"))) == 7
    with pytest.raises(ValueError, match="missing_images"):
        reorg_kaggle_data(data, "trainLabels.csv", 0.25, missing_images="ignore")


def test_an_image_without_a_label_is_an_error(tmp_path):
    labels = {str(i): "cat" if i % 2 else "dog" for i in range(1, 7)}
    data = write_competition(tmp_path / "c", labels, files=[str(i) for i in range(1, 8)])
    with pytest.raises(ValueError, match=r"7\.png has no label in .*trainLabels\.csv"):
        reorg_kaggle_data(data, "trainLabels.csv", 0.25)


def test_a_single_image_class_names_the_labels_file(tmp_path):
    data = write_competition(tmp_path / "c", {"1": "cat", "2": "cat", "3": "cat", "4": "dog"})
    with pytest.raises(ValueError, match=r"trainLabels\.csv: class 'dog' has only 1 image"):
        reorg_kaggle_data(data, "trainLabels.csv", 0.1)
    assert not (data / "train_valid_test").exists()


def test_missing_image_folders_are_named(tmp_path):
    data = write_competition(tmp_path / "c", {"1": "a", "2": "a"})
    shutil.rmtree(data / "test")
    with pytest.raises(FileNotFoundError, match=re.escape(str(data / "test"))):
        reorg_kaggle_data(data, "trainLabels.csv", 0.4)


# ------------------------------------------------------------------ prediction and pairing

class RedToClass(nn.Module):
    """A stand-in classifier: class = (red value of the top-left pixel) mod 10."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))
        self.modes, self.grad_modes = [], []

    def forward(self, X):
        self.modes.append(self.training)
        self.grad_modes.append(torch.is_grad_enabled())
        red = torch.round(X[:, 0, 0, 0] * 255).long()
        return nn.functional.one_hot(red % 10, 10).float() + 0 * self.dummy


def test_predictions_keep_their_ids_in_any_loader_order(tmp_path):
    data = write_competition(tmp_path / "c", {str(i): "a" if i % 2 else "b" for i in range(1, 5)},
                             n_test=0)
    for i in range(1, 121):   # test image i is red i: the "right answer" for id i is i % 10
        Image.new("RGB", (4, 4), (i, 0, 0)).save(data / "test" / f"{i}.png")
    out = reorg_kaggle_data(data, "trainLabels.csv", 0.4)
    test_ds = IdImageFolder(out / "test", transform=v2.Compose([v2.ToImage(),
                                                                v2.ToDtype(torch.float32, scale=True)]))
    listed = [Path(p).stem for p, _ in test_ds.samples]
    assert listed[:4] == ["1", "10", "100", "101"]      # lexicographic, not numeric
    classes = [f"class{k}" for k in range(10)]
    net = RedToClass().train()
    torch.manual_seed(0)
    for shuffle in (False, True):
        ids, outputs = predict(net, DataLoader(test_ds, batch_size=7, shuffle=shuffle), "cpu")
        submission = label_submission(ids, outputs, classes)
        assert submission["id"].tolist() == [str(i) for i in range(1, 121)]
        assert submission["label"].tolist() == [f"class{i % 10}" for i in range(1, 121)]
    assert not any(net.modes) and not any(net.grad_modes) and net.training  # eval, no grad, restored
    # pairing by position (assuming the loader goes 1, 2, 3, ...) mislabels most rows
    naive = [classes[k] for k in outputs.argmax(1).tolist()]
    right = dict(zip(submission["id"], submission["label"]))
    wrong = sum(label != right[i] for i, label in zip(sort_ids(ids), naive))
    assert wrong > 60


def test_submission_checks(cifar, tmp_path):
    data = copy_of(cifar, tmp_path)
    classes = sorted(CIFAR10_DEMO_CLASSES)
    test_ids = list(image_files(data / "test"))
    outputs = torch.randn(len(test_ids), 10, generator=torch.Generator().manual_seed(0))
    submission = label_submission(test_ids, outputs, classes)
    path = write_submission(submission, data / "submission.csv")
    report = check_submission(path, data / "sampleSubmission.csv", test_ids, classes)
    assert report == {"rows": 12, "sample_rows": 12, "sample_ids_without_test_image": 0}
    assert pd.read_csv(path, dtype=str)["id"].tolist() == [str(i) for i in range(1, 13)]
    sample = data / "sampleSubmission.csv"
    bad = {
        "differ from those": submission.rename(columns={"label": "class"}),
        "repeated": pd.concat([submission, submission.iloc[:1]]),
        "have no prediction": submission.iloc[1:],
        "labels outside": submission.assign(label="airplane"),
        "not test images": submission.assign(id=submission["id"].replace("3", "999")),
    }
    for message, table in bad.items():
        with pytest.raises(ValueError, match=message):
            check_submission(table, sample, test_ids, classes)
    # a sample listing more ids than the test folder holds (a partial sample) is reported
    (data / "big.csv").write_text("id,label\n" + "".join(f"{i},circle\n" for i in range(1, 31)))
    assert check_submission(submission, data / "big.csv", test_ids, classes)[
        "sample_ids_without_test_image"] == 18
    (data / "small.csv").write_text("id,label\n" + "".join(f"{i},circle\n" for i in range(1, 6)))
    with pytest.raises(ValueError, match="not in"):
        check_submission(submission, data / "small.csv", test_ids, classes)


def test_probability_submission_rows_sum_to_one(dogs, tmp_path):
    data = copy_of(dogs, tmp_path)
    classes = sorted(DEMO_BREEDS)
    test_ids = list(image_files(data / "test"))
    outputs = 5 * torch.randn(len(test_ids), len(classes), generator=torch.Generator().manual_seed(1))
    columns = classes[::-1]
    table = probability_submission(test_ids, outputs, classes, columns=columns)
    assert list(table.columns) == ["id", *columns] and table["id"].tolist() == sort_ids(test_ids)
    values = table[classes].to_numpy()
    assert np.allclose(values.sum(axis=1), 1.0) and (values >= 0).all()
    by_id = dict(zip(test_ids, torch.softmax(outputs, dim=1).numpy()))
    for _, row in table.iterrows():
        assert np.allclose(row[classes].to_numpy(dtype=float), by_id[row["id"]])
    sample = data / "sample_submission.csv"
    ordered = probability_submission(test_ids, outputs, classes)
    path = write_submission(ordered, data / "submission.csv")
    assert check_submission(path, sample, test_ids, classes, probabilities=True)["rows"] == 5
    # softmax over the wrong dimension: rows no longer sum to 1, and the check says so
    wrong = ordered.copy()
    wrong[classes] = torch.softmax(outputs, dim=0).numpy()[[test_ids.index(i) for i in wrong["id"]]]
    with pytest.raises(ValueError, match="sums to"):
        check_submission(wrong, sample, test_ids, classes, probabilities=True)
    with pytest.raises(ValueError, match="not the training classes"):
        check_submission(ordered, sample, test_ids,
                         [c if c != "pug" else "poodle" for c in classes], probabilities=True)


# ------------------------------------------------------------- frozen features, training

def small_backbone() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))


def test_frozen_features_stay_frozen_in_training_mode():
    net = FrozenFeaturesNet(small_backbone(), 5, 3)
    assert [n for n, p in net.named_parameters() if p.requires_grad] == [
        "output_new.0.weight", "output_new.0.bias", "output_new.2.weight", "output_new.2.bias"]
    assert net.output_new[0].in_features == 5 and net.output_new[0].out_features == 256
    net.train()
    assert net.training and net.output_new.training and not net.features.training
    before = {k: v.clone() for k, v in net.features.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    X, y = torch.randn(8, 3, 6, 6), torch.randint(0, 3, (8,))
    nn.functional.cross_entropy(net(X), y).backward()
    optimizer.step()
    after = net.features.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())  # incl. BN statistics


def test_evaluate_loss_averages_over_all_batches_in_eval_mode():
    torch.manual_seed(0)
    X, y = torch.randn(10, 3), torch.randint(0, 4, (10,))
    net = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5)).train()
    loss = nn.CrossEntropyLoss(reduction="none")
    mean_loss, acc = evaluate_loss(net, DataLoader(TensorDataset(X, y), batch_size=4), loss, "cpu")
    with torch.no_grad():
        logits = net.eval()(X)
    assert mean_loss == pytest.approx(loss(logits, y).mean().item(), rel=1e-6)  # 4 + 4 + 2
    assert acc == pytest.approx((logits.argmax(1) == y).float().mean().item())
    last_batch_only = loss(logits[8:], y[8:]).mean().item()
    assert mean_loss != pytest.approx(last_batch_only)
    net.train()
    evaluate_loss(net, DataLoader(TensorDataset(X, y), batch_size=4), loss, "cpu")
    assert net.training                                       # the mode is restored


def test_train_head_reports_validation_loss_and_keeps_the_backbone():
    torch.manual_seed(0)
    X = torch.randn(24, 3, 6, 6)
    y = (X[:, 0].mean((1, 2)) > 0).long()
    loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)
    valid = DataLoader(TensorDataset(X, y), batch_size=5)
    net = FrozenFeaturesNet(small_backbone(), 5, 2)
    before = {k: v.clone() for k, v in net.features.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.05,
                                momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2, 0.9)
    history = train_head(net, loader, valid, optimizer, scheduler, 3, torch.device("cpu"),
                         plot=False)
    assert history["epoch"].tolist() == [1, 2, 3]
    assert list(history.columns) == ["epoch", "train_loss", "valid_loss", "valid_acc",
                                     "examples_per_sec", "epoch_seconds"]
    loss = nn.CrossEntropyLoss(reduction="none")
    assert history["valid_loss"].iloc[-1] == pytest.approx(evaluate_loss(net, valid, loss, "cpu")[0])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05 * 0.9)
    assert all(torch.equal(v, net.features.state_dict()[k]) for k, v in before.items())
    no_valid = train_head(net, loader, None, optimizer, scheduler, 1, torch.device("cpu"), plot=False)
    assert no_valid["valid_loss"].isna().all()


def test_pretrained_backbones(monkeypatch):
    stand_in = nn.Linear(3, 14)
    stand_in.fc = stand_in
    monkeypatch.setattr(pretrained, "demo_source_model", lambda: (stand_in, {}))
    assert pretrained.pretrained_backbone("demo") == (stand_in, 14)
    monkeypatch.setenv("D2L_MODE", "demo")
    assert pretrained.pretrained_backbone("auto") == (stand_in, 14)   # the one mode rule
    asked = []

    def fake_state_dict(weights):
        asked.append(weights)
        return torchvision.models.resnet34().state_dict()
    monkeypatch.setattr(pretrained, "pretrained_state_dict", fake_state_dict)
    net, n = pretrained.pretrained_backbone("full")
    assert asked == [torchvision.models.ResNet34_Weights.IMAGENET1K_V1]
    assert isinstance(net, torchvision.models.ResNet) and n == 1000
    with pytest.raises(ValueError, match="mode="):
        pretrained.pretrained_backbone("ful")


# --------------------------------------------------------------------- where the data is

def test_kaggle_folder_prefers_placed_competition_files(tmp_path, monkeypatch):
    fetched = []
    monkeypatch.setattr(locate, "download_extract",
                        lambda name, root=None: fetched.append(name) or tmp_path / "tiny")
    assert kaggle_folder("cifar10", "full", root=tmp_path) == (tmp_path / "tiny", "tiny sample")
    assert kaggle_folder("dog", "full", root=tmp_path)[1] == "tiny sample"
    assert fetched == ["cifar10_tiny", "dog_tiny"]
    placed = write_competition(tmp_path / "kaggle" / "cifar-10", {"1": "a", "2": "a"})
    assert kaggle_folder("cifar10", "full", root=tmp_path) == (placed, "competition")
    mine = write_competition(tmp_path / "mine", {"1": "a"}, labels_file="labels.csv")
    assert kaggle_folder("dog", "full", data_dir=mine) == (mine, "competition")
    with pytest.raises(FileNotFoundError, match=r"labels\.csv is missing"):
        kaggle_folder("dog", "full", data_dir=tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="competition"):
        kaggle_folder("mnist", "demo")
    assert len(fetched) == 2


def test_kaggle_folder_demo_generates_the_layout(tmp_path):
    folder, source = kaggle_folder("cifar10", "demo", root=tmp_path, n_train=20, n_test=3)
    assert source == "demo" and (folder / "trainLabels.csv").is_file()
    assert folder.parent.parent == tmp_path

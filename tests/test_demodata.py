"""Demo datasets: deterministic, generated once, atomic, and readable by the real loaders."""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn
from torch.nn import functional as F

import d2lhelpers.demodata.cifar10 as demo_cifar10
import d2lhelpers.demodata.hotdog as demo_hotdog
import d2lhelpers.demodata.source as demo_source
from d2lhelpers.data.cifar10 import CIFAR10Pickles, load_cifar10
from d2lhelpers.demodata import (CIFAR10_DEMO_CLASSES, SOURCE_CLASSES, make_cifar10_demo,
                                 make_hotdog_demo, make_shapes_source_demo, render_shape)
from d2lhelpers.demodata.draw import SHAPE_KINDS
from d2lhelpers.demodata.foods import FOOD_KINDS

CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): md5(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def patch_render_shape(monkeypatch: pytest.MonkeyPatch, fn) -> None:
    """Replace render_shape in every generator that draws with it."""
    for module in (demo_cifar10, demo_hotdog, demo_source):
        monkeypatch.setattr(module, "render_shape", fn)


def cifar_demo(root: Path, **kwargs) -> Path:
    """The folder holding ``cifar-10-batches-py`` (what torchvision calls ``root``)."""
    folder = make_cifar10_demo(root, **kwargs)
    assert folder.name == "cifar-10-batches-py"
    return folder.parent


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cifar_demo(tmp_path_factory.mktemp("cifar"), n_train=100, n_test=30)


@pytest.fixture(scope="module")
def hotdog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_hotdog_demo(tmp_path_factory.mktemp("hotdog"), n_train=12, n_test=5)


def test_render_shape_is_deterministic_and_sized() -> None:
    for kind in SHAPE_KINDS + FOOD_KINDS:
        a = render_shape(kind, (40, 24), np.random.default_rng(3))
        b = render_shape(kind, (40, 24), np.random.default_rng(3))
        assert a.mode == "RGB" and a.size == (40, 24)
        assert a.tobytes() == b.tobytes()
    with pytest.raises(ValueError, match="unknown kind"):
        render_shape("teapot", 32, np.random.default_rng(0))


def test_cifar_layout_and_balance(cifar_root: Path) -> None:
    assert sorted(p.name for p in (cifar_root / "cifar-10-batches-py").iterdir()) == sorted(CIFAR_FILES)
    train, test = CIFAR10Pickles(cifar_root), CIFAR10Pickles(cifar_root, train=False)
    assert len(train) == 100 and len(test) == 30
    assert train.data.shape == (100, 32, 32, 3) and train.data.dtype == np.uint8
    assert train.classes == list(CIFAR10_DEMO_CLASSES)
    assert train.class_to_idx["heart"] == 9
    assert Counter(train.targets) == {c: 10 for c in range(10)}
    assert Counter(test.targets) == {c: 3 for c in range(10)}
    img, label = train[0]
    assert isinstance(img, Image.Image) and img.size == (32, 32) and isinstance(label, int)
    assert len({train.data[i].tobytes() for i in range(len(train))}) == len(train)


def test_torchvision_cifar10_reads_the_demo_files(cifar_root: Path) -> None:
    folder = cifar_root / "cifar-10-batches-py"

    class DemoCIFAR10(torchvision.datasets.CIFAR10):
        train_list = [[f"data_batch_{i}", md5(folder / f"data_batch_{i}")] for i in range(1, 6)]
        test_list = [["test_batch", md5(folder / "test_batch")]]
        meta = {**torchvision.datasets.CIFAR10.meta, "md5": md5(folder / "batches.meta")}

    for train in (True, False):
        ref, ours = DemoCIFAR10(cifar_root, train=train), CIFAR10Pickles(cifar_root, train=train)
        assert ref.classes == ours.classes and ref.class_to_idx == ours.class_to_idx
        assert ref.targets == ours.targets
        np.testing.assert_array_equal(ref.data, ours.data)
        for i in (0, len(ref) - 1):
            (a, ya), (b, yb) = ref[i], ours[i]
            assert ya == yb and a.tobytes() == b.tobytes()
    # The real class checks MD5s, so the demo set cannot pose as real CIFAR-10.
    with pytest.raises(RuntimeError):
        torchvision.datasets.CIFAR10(cifar_root)


def test_same_seed_same_bytes_other_seed_or_counts_other_set(tmp_path: Path, cifar_root: Path) -> None:
    again = cifar_demo(tmp_path, n_train=100, n_test=30)
    assert again != cifar_root
    assert tree_digest(again) == tree_digest(cifar_root)
    other = cifar_demo(tmp_path, n_train=100, n_test=30, seed=1)
    assert other != again
    assert md5(other / "cifar-10-batches-py" / "data_batch_1") != md5(again / "cifar-10-batches-py" / "data_batch_1")
    assert cifar_demo(tmp_path, n_train=50, n_test=30) not in (again, other)

    a = make_hotdog_demo(tmp_path / "a", n_train=3, n_test=2)
    b = make_hotdog_demo(tmp_path / "b", n_train=3, n_test=2)
    c = make_hotdog_demo(tmp_path / "c", n_train=3, n_test=2, seed=5)
    assert tree_digest(a) == tree_digest(b) != tree_digest(c)


def test_generated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    makers = [lambda: make_cifar10_demo(tmp_path, n_train=20, n_test=10),
              lambda: make_hotdog_demo(tmp_path, n_train=2, n_test=1),
              lambda: make_shapes_source_demo(tmp_path, n_per_class=1, size=32)]
    first = [make() for make in makers]
    stamps = [{p: p.stat().st_mtime_ns for p in f.rglob("*")} for f in first]

    def boom(*args, **kwargs):
        raise AssertionError("regenerated")

    patch_render_shape(monkeypatch, boom)
    assert [make() for make in makers] == first
    assert [{p: p.stat().st_mtime_ns for p in f.rglob("*")} for f in first] == stamps


def test_interrupted_generation_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real, calls = render_shape, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    patch_render_shape(monkeypatch, flaky)
    for make in (lambda: make_hotdog_demo(tmp_path, n_train=4, n_test=2),
                 lambda: make_cifar10_demo(tmp_path, n_train=20, n_test=10)):
        calls.clear()
        with pytest.raises(KeyboardInterrupt):
            make()
        assert list(tmp_path.iterdir()) == []
    patch_render_shape(monkeypatch, real)
    assert len(list(make_hotdog_demo(tmp_path, n_train=4, n_test=2).rglob("*.png"))) == 12


def test_hotdog_layout_read_by_image_folder(hotdog: Path) -> None:
    assert hotdog.name == "hotdog"
    sizes = set()
    for split, n in (("train", 12), ("test", 5)):
        ds = torchvision.datasets.ImageFolder(hotdog / split)
        assert ds.classes == ["hotdog", "not-hotdog"]
        assert Counter(ds.targets) == {0: n, 1: n}
        assert sorted(p.name for p in (hotdog / split / "hotdog").iterdir()) == sorted(f"{i}.png" for i in range(n))
        for img, _ in ds:
            assert img.mode == "RGB" and all(64 <= s <= 160 for s in img.size)
            sizes.add(img.size)
    assert len(sizes) > 10


def test_shapes_source_layout(tmp_path: Path) -> None:
    folder = make_shapes_source_demo(tmp_path, n_per_class=3, size=48)
    assert folder.name == "shapes-source"
    ds = torchvision.datasets.ImageFolder(folder / "train")
    assert ds.classes == sorted(SOURCE_CLASSES) and len(SOURCE_CLASSES) > 10
    assert set(CIFAR10_DEMO_CLASSES) < set(SOURCE_CLASSES)
    assert Counter(ds.targets) == {i: 3 for i in range(len(SOURCE_CLASSES))}
    assert ds[0][0].size == (48, 48)


def test_load_cifar10_demo_and_missing_layout(tmp_path: Path) -> None:
    ds = load_cifar10("demo", train=False, transform=np.asarray, root=tmp_path, n_train=20,
                      n_test=10)
    img, label = ds[0]
    assert len(ds) == 10 and img.shape == (32, 32, 3) and 0 <= label < 10
    with pytest.raises(FileNotFoundError, match=r"data_batch_1 is missing.*load_cifar10"):
        CIFAR10Pickles(tmp_path / "nowhere")


# ----------------------------------------------------------------------- learnability
# The demo set must be learnable, and by shape: colours and backgrounds are random, so a
# model that sees only colour should learn nothing. Test accuracies measured with the
# settings below (torch seeds 0-2, 300 test images, chance 0.10): small CNN on RGB
# 0.41-0.57, on grayscale 0.70-0.77; MLP on the mean colour 0.10-0.11. The thresholds
# leave a margin on both sides; with shuffled training labels the CNNs score 0.08-0.13.

@pytest.fixture(scope="module")
def learn_split(tmp_path_factory: pytest.TempPathFactory):
    root = cifar_demo(tmp_path_factory.mktemp("learn"), n_train=1000, n_test=300)

    def tensors(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        ds = CIFAR10Pickles(root, train=train)
        return torch.from_numpy(ds.data).permute(0, 3, 1, 2).float().div(255), torch.tensor(ds.targets)

    return tensors(True), tensors(False)


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread, and do not fight other processes for cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def standardise(x: torch.Tensor) -> torch.Tensor:
    """Per-image zero mean and unit variance (brightness and contrast are random)."""
    return (x - x.mean((1, 2, 3), keepdim=True)) / (x.std((1, 2, 3), keepdim=True) + 1e-3)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    return (x * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(1, keepdim=True)


def small_cnn(channels: int, width: int = 16) -> nn.Module:
    def block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*block(channels, width), nn.MaxPool2d(2), *block(width, 2 * width),
                         nn.MaxPool2d(2), *block(2 * width, 4 * width), nn.AdaptiveMaxPool2d(1),
                         nn.Flatten(), nn.Linear(4 * width, 10))


def fit_and_score(model: nn.Module, features, split, epochs: int, lr: float,
                  batch_size: int = 64, flip: bool = False) -> float:
    """Train ``model`` on ``features(train images)`` with Adam (one-cycle); test accuracy."""
    (x, y), (x_test, y_test) = split
    x, x_test = features(x), features(x_test)
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * -(-len(x) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(batch_size):
            xb = x[idx]
            if flip:
                xb = torch.where(torch.rand(len(xb))[:, None, None, None] < 0.5, xb.flip(-1), xb)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        return (model(x_test).argmax(1) == y_test).float().mean().item()


def test_demo_cifar_is_learnable(learn_split, one_thread) -> None:
    torch.manual_seed(0)
    acc = fit_and_score(small_cnn(3), standardise, learn_split, epochs=12, lr=3e-3, flip=True)
    assert acc > 0.3, f"a small CNN reaches only {acc:.3f} test accuracy (chance 0.10)"


def test_demo_cifar_classes_differ_by_shape_not_colour(learn_split, one_thread) -> None:
    torch.manual_seed(0)
    gray = fit_and_score(small_cnn(1), lambda x: standardise(grayscale(x)), learn_split,
                         epochs=12, lr=3e-3, flip=True)
    assert gray > 0.4, f"on grayscale images a small CNN reaches only {gray:.3f} (chance 0.10)"
    torch.manual_seed(0)
    colour_only = nn.Sequential(nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, 10))
    colour = fit_and_score(colour_only, lambda x: x.mean((2, 3)), learn_split,
                           epochs=100, lr=1e-2, batch_size=100)
    assert colour < 0.2, f"the mean colour alone predicts the class ({colour:.3f}, chance 0.10)"

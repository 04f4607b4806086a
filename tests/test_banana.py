"""Banana detection: the demo set's layout and boxes, the reader, the loaders, the errors."""
from __future__ import annotations

import hashlib
import importlib
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import d2lhelpers.demodata.banana as demo_banana
from d2lhelpers.data.banana import BananasDataset, load_bananas, read_bananas
from d2lhelpers.demodata import make_banana_demo, render_banana_scene
from d2lhelpers.download import DownloadError

dl = importlib.import_module("d2lhelpers.download")  # the module, not the re-exported function

HEADER = "img_name,label,xmin,ymin,xmax,ymax"
SPLITS = {"bananas_train": 12, "bananas_val": 5}
SIZE = 64


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def make_small(root: Path, **kwargs) -> Path:
    return make_banana_demo(root, **{"n_train": 12, "n_val": 5, "size": SIZE, **kwargs})


@pytest.fixture(scope="module")
def bananas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small(tmp_path_factory.mktemp("bananas"))


def rows(folder: Path, split: str) -> list[list[str]]:
    lines = (folder / split / "label.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == HEADER
    return [line.split(",") for line in lines[1:]]


# ---------------------------------------------------------------------------- the demo set

def test_demo_layout_is_the_real_one(bananas: Path) -> None:
    assert bananas.name == "banana-detection"
    assert sorted(p.name for p in bananas.iterdir()) == sorted(SPLITS)
    for split, n in SPLITS.items():
        assert sorted(p.name for p in (bananas / split).iterdir()) == ["images", "label.csv"]
        names = [f"{i}.png" for i in range(n)]
        assert sorted(p.name for p in (bananas / split / "images").iterdir()) == sorted(names)
        table = rows(bananas, split)
        assert [r[0] for r in table] == names
        assert all(len(r) == 6 and r[1] == "0" for r in table)
        for name in names:
            with Image.open(bananas / split / "images" / name) as img:
                assert img.format == "PNG" and img.mode == "RGB" and img.size == (SIZE, SIZE)


def test_boxes_are_inside_the_image_and_vary(bananas: Path) -> None:
    boxes = np.array([[int(v) for v in r[2:]] for split in SPLITS for r in rows(bananas, split)])
    x0, y0, x1, y1 = boxes.T
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= SIZE).all() and (y1 <= SIZE).all()
    assert (x1 - x0 >= 4).all() and (y1 - y0 >= 4).all()
    assert (np.maximum(x1 - x0, y1 - y0) <= 0.6 * SIZE).all()
    assert len({tuple(b) for b in boxes}) == len(boxes)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    assert centres.std(0).min() > 0.1 * SIZE        # placed all over, not always mid-image


@pytest.mark.parametrize("size, n", [(64, 30), (256, 8)])
def test_boxes_are_tight_around_the_banana(size: int, n: int) -> None:
    """What the banana changes in a scene lies inside its box and reaches every side."""
    gaps = []
    for i in range(n):
        with_banana, box = render_banana_scene(size, np.random.default_rng([3, i]))
        without, same_box = render_banana_scene(size, np.random.default_rng([3, i]), banana=False)
        assert same_box == box
        diff = np.abs(np.asarray(with_banana, int) - np.asarray(without, int)).max(-1)
        ys, xs = np.nonzero(diff > 20)
        assert len(xs) > 0.02 * size * size / 4, "the banana is hardly visible"
        x0, y0, x1, y1 = box
        # LANCZOS smears an edge by a pixel or so: inside up to 1 px, and clearly reaching
        # each side of the box (within 3 px).
        assert (xs >= x0 - 1).all() and (xs < x1 + 1).all()
        assert (ys >= y0 - 1).all() and (ys < y1 + 1).all()
        gaps.append([xs.min() - x0, ys.min() - y0, x1 - 1 - xs.max(), y1 - 1 - ys.max()])
        assert max(gaps[-1]) <= 3, f"scene {i}: box {box} is loose, gaps {gaps[-1]}"
    assert np.mean(gaps) < 0.5


def test_label_csv_boxes_hold_the_yellow_banana(bananas: Path) -> None:
    """In each stored image, banana-yellow pixels crowd into the box that label.csv gives."""
    densities = []
    for r in rows(bananas, "bananas_train") + rows(bananas, "bananas_val"):
        split = "bananas_train" if len(densities) < SPLITS["bananas_train"] else "bananas_val"
        img = np.asarray(Image.open(bananas / split / "images" / r[0]), dtype=float)
        x0, y0, x1, y1 = map(int, r[2:])
        red, green, blue = img[..., 0], img[..., 1], img[..., 2]
        yellow = (red > 150) & (green > 120) & (red - blue > 80) & (green - blue > 60)
        inside = np.zeros_like(yellow)
        inside[y0:y1, x0:x1] = True
        densities.append((yellow[inside].mean(), yellow[~inside].mean()))
        assert yellow[inside].sum() >= 10, f"{r[0]}: the box {r[2:]} holds hardly any yellow"
    inside, outside = np.array(densities).T
    assert np.median(inside) > 0.25 and np.median(inside) > 10 * np.median(outside), densities


def test_same_seed_same_bytes_other_seed_other_set(tmp_path: Path, bananas: Path) -> None:
    again = make_small(tmp_path / "a")
    assert again != bananas and tree_digest(again) == tree_digest(bananas)
    other = make_small(tmp_path / "a", seed=1)
    assert other != again
    a, b = tree_digest(again), tree_digest(other)
    assert a.keys() == b.keys()
    assert sum(a[k] != b[k] for k in a) == len(a)   # every image and both label files differ
    assert make_small(tmp_path / "a", size=48) not in (again, other)


def test_generated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_small(tmp_path)
    stamps = {p: p.stat().st_mtime_ns for p in first.parent.rglob("*")}

    def boom(*args, **kwargs):
        raise AssertionError("regenerated")

    monkeypatch.setattr(demo_banana, "render_banana_scene", boom)
    assert make_small(tmp_path) == first
    assert {p: p.stat().st_mtime_ns for p in first.parent.rglob("*")} == stamps
    with pytest.raises(AssertionError, match="regenerated"):   # a new set would be drawn
        make_small(tmp_path, seed=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.parent.name]   # no leftovers


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_train"):
        make_banana_demo(n_train=0)


# ------------------------------------------------------------------------------ reading

def test_read_bananas_shapes_and_normalised_targets(bananas: Path) -> None:
    for is_train, (split, n) in zip((True, False), SPLITS.items()):
        images, targets = read_bananas(bananas, is_train)
        assert images.shape == (n, 3, SIZE, SIZE) and images.dtype == torch.uint8
        assert targets.shape == (n, 1, 5) and targets.dtype == torch.float32
        labels, boxes = targets[:, 0, 0], targets[:, 0, 1:]
        assert (labels == 0).all()
        assert (boxes >= 0).all() and (boxes <= 1).all()
        assert (boxes[:, 0] < boxes[:, 2]).all() and (boxes[:, 1] < boxes[:, 3]).all()
        pixels = torch.tensor([[float(v) for v in r[2:]] for r in rows(bananas, split)])
        torch.testing.assert_close(boxes * SIZE, pixels)
        first = np.array(Image.open(bananas / split / "images" / "0.png"))
        assert torch.equal(images[0], torch.from_numpy(first).permute(2, 0, 1))


def test_boxes_divide_x_by_width_and_y_by_height(tmp_path: Path, bananas: Path) -> None:
    folder = tmp_path / "banana-detection"
    shutil.copytree(bananas, folder)
    images = folder / "bananas_val" / "images"
    for p in images.iterdir():
        Image.open(p).crop((0, 0, SIZE, SIZE // 2)).save(p)
    (folder / "bananas_val" / "label.csv").write_text(
        HEADER + "\n" + "".join(f"{i}.png,0,8,4,40,16\n" for i in range(5)), encoding="utf-8")
    _, targets = read_bananas(folder, is_train=False)
    torch.testing.assert_close(targets[0, 0], torch.tensor([0, 8 / SIZE, 8 / SIZE,
                                                            40 / SIZE, 32 / SIZE]))


def test_dataset_items_follow_the_textbook(bananas: Path) -> None:
    ds = BananasDataset(bananas, is_train=True)
    assert len(ds) == 12
    image, target = ds[3]
    assert image.shape == (3, SIZE, SIZE) and image.dtype == torch.float32
    assert image.max() > 1 and image.max() <= 255       # 0-255 floats, as in the textbook
    assert target.shape == (1, 5)
    assert "12 training images of 64x64" in repr(ds)


def test_load_bananas_batches(bananas: Path) -> None:
    demo = {"n_train": 12, "n_val": 5, "size": SIZE}
    train_iter, val_iter = load_bananas("demo", 4, bananas.parent.parent, **demo)
    assert train_iter.dataset.data_dir == bananas
    x, y = next(iter(train_iter))
    assert x.shape == (4, 3, SIZE, SIZE) and x.dtype == torch.float32 and y.shape == (4, 1, 5)
    assert sum(len(b[0]) for b in train_iter) == 12
    # the training loader shuffles, the validation loader keeps the file order
    torch.manual_seed(0)
    orders = {tuple(torch.cat([b[1] for b in train_iter])[:, 0, 1].tolist()) for _ in range(3)}
    assert len(orders) > 1
    val_targets = torch.cat([b[1] for b in val_iter])
    assert torch.equal(val_targets, read_bananas(bananas, is_train=False)[1])


def test_load_bananas_full_size_batches(tmp_path: Path) -> None:
    """The spec's shapes: batches (32, 3, 256, 256) and (32, 1, 5) (a demo set at 256 px)."""
    train_iter, val_iter = load_bananas("demo", 32, tmp_path, n_train=32, n_val=2)
    x, y = next(iter(train_iter))
    assert x.shape == (32, 3, 256, 256) and y.shape == (32, 1, 5)
    assert next(iter(val_iter))[0].shape == (2, 3, 256, 256)


# ------------------------------------------------------------------------------- errors

@pytest.fixture
def copy(tmp_path: Path, bananas: Path) -> Path:
    folder = tmp_path / "banana-detection"
    shutil.copytree(bananas, folder)
    return folder


@pytest.mark.parametrize("content, message", [
    ("img_name,label,x0,y0,x1,y1\n0.png,0,1,2,3,4\n", r"has the columns .*expected img_name,label"),
    (HEADER + "\n", r"lists no images"),
    (HEADER + "\n0.png,0,1,2,,4\n", r"must hold numbers"),
    (HEADER + "\n0.png,0,1,2,a,4\n", r"must hold numbers"),
    (HEADER + "\n0.png,0,9,2,3,4\n", r"xmin >= xmax.*'0.png'"),
    (HEADER + "\n0.png,0,1,2,3,4,5\n", r"not a readable CSV|has the columns"),
    ("", r"not a readable CSV"),
    (HEADER + f"\n0.png,0,1,2,{SIZE + 1},4\n", r"beyond the 64x64 images"),
])
def test_malformed_label_csv_is_named(copy: Path, content: str, message: str) -> None:
    csv_file = copy / "bananas_train" / "label.csv"
    csv_file.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as caught:
        read_bananas(copy, is_train=True)
    assert str(csv_file) in str(caught.value)


def test_missing_label_csv_is_named(copy: Path) -> None:
    csv_file = copy / "bananas_val" / "label.csv"
    csv_file.unlink()
    with pytest.raises(FileNotFoundError) as caught:
        BananasDataset(copy, is_train=False)
    assert str(csv_file) in str(caught.value) and "dataset_folder" in str(caught.value)


def test_missing_or_broken_image_is_named(copy: Path) -> None:
    image = copy / "bananas_train" / "images" / "7.png"
    image.unlink()
    with pytest.raises(FileNotFoundError) as caught:
        read_bananas(copy, is_train=True)
    assert str(image) in str(caught.value) and "label.csv" in str(caught.value)
    image.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="not a readable image") as caught:
        read_bananas(copy, is_train=True)
    assert str(image) in str(caught.value)
    Image.new("RGB", (SIZE, SIZE + 1)).save(image)
    with pytest.raises(ValueError, match="one size") as caught:
        read_bananas(copy, is_train=True)
    assert str(image) in str(caught.value)


# ----------------------------------------------------------------------------- the modes

def test_full_mode_without_network_explains_ways_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(dl.urllib.request, "urlopen", offline)
    monkeypatch.delenv("D2L_DATA_URL", raising=False)
    with pytest.raises(DownloadError) as caught:
        load_bananas("full", 32, tmp_path)
    message = str(caught.value)
    for needle in ("banana-detection.zip", str(tmp_path / "banana-detection.zip"),
                   "5de26c8fce5ccdea9f91267273464dc968d20d72", "D2L_DATA_URL", "D2L_MODE=demo"):
        assert needle in message
    assert list(tmp_path.rglob("*")) == []      # no partial download, nothing extracted

"""VOC2012 segmentation: the demo set's layout and labels, the reader, the dataset, the errors."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

import d2lhelpers.demodata.voc as demo_voc
from d2lhelpers.data import voc
from d2lhelpers.data.voc import (VOCSegDataset, label2image, load_voc, read_voc_example,
                                 read_voc_label, voc_colormap2label, voc_label_indices, voc_split)
from d2lhelpers.data.voc_classes import (VOC_CLASSES, VOC_COLORMAP, VOC_PALETTE, VOC_VOID_COLOR,
                                         VOID_INDEX)
from d2lhelpers.demodata.voc import make_voc_demo
from d2lhelpers.pretrained import IMAGENET_MEAN, IMAGENET_STD

N_TRAIN, N_VAL = 24, 8
HEIGHT, WIDTH = (40, 80), (48, 96)
CROP = (48, 64)


def make_small(root: Path, **kwargs) -> Path:
    args = {"n_train": N_TRAIN, "n_val": N_VAL, "height": HEIGHT, "width": WIDTH, **kwargs}
    return make_voc_demo(root, **args)


@pytest.fixture(scope="module")
def voc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small(tmp_path_factory.mktemp("voc"))


@pytest.fixture
def copy_dir(voc_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo set that a test may damage."""
    target = tmp_path / "VOC2012"
    shutil.copytree(voc_dir, target)
    return target


def names(voc_dir: Path, split: str) -> list[str]:
    return (voc_dir / "ImageSets" / "Segmentation" / f"{split}.txt").read_text().split()


def label_path(voc_dir: Path, name: str) -> Path:
    return voc_dir / "SegmentationClass" / f"{name}.png"


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------ palette, colours

def test_palette_is_voc_colormap_plus_void() -> None:
    assert VOC_PALETTE.shape == (256, 3) and VOC_PALETTE.dtype == torch.uint8
    assert VOC_PALETTE[:21].tolist() == VOC_COLORMAP
    assert VOC_PALETTE[VOID_INDEX].tolist() == VOC_VOID_COLOR
    assert len({tuple(c) for c in VOC_PALETTE.tolist()}) == 256   # every index its own colour
    assert len(VOC_CLASSES) == len(VOC_COLORMAP) == 21


def test_colormap2label_is_a_small_sorted_lookup() -> None:
    codes, classes = voc_colormap2label()
    assert len(codes) == len(classes) == 22
    assert torch.all(codes[1:] > codes[:-1])
    void_code = (224 * 256 + 224) * 256 + 192
    assert classes[codes == void_code].tolist() == [VOID_INDEX]
    assert sorted(classes.tolist()) == list(range(21)) + [VOID_INDEX]


def test_colour_mapping_gives_every_class_and_void() -> None:
    label = torch.tensor(list(range(21)) + [VOID_INDEX] * 3, dtype=torch.uint8).reshape(4, 6)
    colours = label2image(label).permute(2, 0, 1)         # (3, H, W) RGB
    assert torch.equal(voc_label_indices(colours, voc_colormap2label()), label.long())


def test_colour_mapping_equals_palette_indices_on_rendered_labels(voc_dir: Path) -> None:
    """Reading a label PNG as RGB (as the textbook does) and mapping colours back gives
    exactly the palette indices, void included."""
    lookup = voc_colormap2label()
    void_seen = 0
    for name in names(voc_dir, "train")[:12]:
        path = label_path(voc_dir, name)
        with Image.open(path) as img:
            rgb = torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1)
        indices = read_voc_label(path)
        assert torch.equal(voc_label_indices(rgb, lookup), indices.long()), name
        void_seen += int((indices == VOID_INDEX).sum())
    assert void_seen > 0


def test_unknown_colour_is_an_error_not_background() -> None:
    colours = label2image(torch.zeros(5, 4, dtype=torch.uint8)).permute(2, 0, 1).clone()
    colours[:, 1, 2] = torch.tensor([10, 20, 30])
    with pytest.raises(ValueError, match=r"row 1, column 2.*\(10, 20, 30\)"):
        voc_label_indices(colours, voc_colormap2label())
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        voc_label_indices(colours.permute(1, 2, 0), voc_colormap2label())


# ------------------------------------------------------------------------------ demo set

def test_demo_layout_is_the_real_one(voc_dir: Path) -> None:
    assert voc_dir.name == "VOC2012" and voc_dir.parent.name == "VOCdevkit"
    train, val = names(voc_dir, "train"), names(voc_dir, "val")
    assert len(train) == N_TRAIN and len(val) == N_VAL and not set(train) & set(val)
    assert names(voc_dir, "trainval") == train + val
    assert sorted(p.stem for p in (voc_dir / "JPEGImages").iterdir()) == sorted(train + val)
    assert sorted(p.stem for p in (voc_dir / "SegmentationClass").iterdir()) == sorted(train + val)
    for name in train + val:
        with Image.open(voc_dir / "JPEGImages" / f"{name}.jpg") as img, \
                Image.open(label_path(voc_dir, name)) as lab:
            assert img.format == "JPEG" and img.mode == "RGB"
            assert lab.format == "PNG" and lab.mode == "P" and lab.size == img.size
            assert HEIGHT[0] <= img.size[1] <= HEIGHT[1] and WIDTH[0] <= img.size[0] <= WIDTH[1]
            palette = np.array(lab.getpalette()).reshape(-1, 3)
            assert (palette == VOC_PALETTE.numpy()).all()


def test_demo_labels_have_objects_and_void_bands(voc_dir: Path) -> None:
    classes, sizes, void = set(), set(), []
    for name in names(voc_dir, "train") + names(voc_dir, "val"):
        y = read_voc_label(label_path(voc_dir, name)).numpy()
        sizes.add(y.shape)
        present = set(np.unique(y).tolist())
        assert 0 in present and VOID_INDEX in present and present - {0, VOID_INDEX}, name
        classes |= present
        # two different classes never touch: the void band (2 px) lies between them
        for a, b in ((y[1:], y[:-1]), (y[:, 1:], y[:, :-1])):
            touching = (a != b) & (a != VOID_INDEX) & (b != VOID_INDEX)
            assert not touching.any(), f"{name}: classes meet without void between them"
        void.append((y == VOID_INDEX).mean())
    assert 0.03 < np.mean(void) < 0.2 and max(void) < 0.5     # a band, not a blanket
    assert len(classes - {0, VOID_INDEX}) >= 12 and len(sizes) > 20


def test_demo_objects_look_like_their_class() -> None:
    """Each class keeps its colours: the median colour of a class's pixels lies near
    one of its two colours, far from the muted background."""
    rng = np.random.default_rng(0)
    for _ in range(30):
        image, label = demo_voc.render_voc_scene(80, 120, rng)
        for c in set(np.unique(label).tolist()) - {0, VOID_INDEX}:
            pixels = image[label == c].astype(float)
            if len(pixels) < 30:
                continue
            _, main, second, _ = demo_voc._LOOKS[c]
            dist = np.linalg.norm(pixels[:, None, :] - np.array([main, second], float), axis=-1)
            assert np.median(dist.min(axis=1)) < 60, VOC_CLASSES[c]


def test_same_seed_same_bytes_and_generated_once(tmp_path: Path, voc_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    again = make_small(tmp_path)
    assert tree_digest(again) == tree_digest(voc_dir)
    other = make_small(tmp_path, seed=1)
    assert other != again and tree_digest(other) != tree_digest(again)

    def boom(*args, **kwargs):
        raise AssertionError("regenerated")

    monkeypatch.setattr(demo_voc, "render_voc_scene", boom)
    assert make_small(tmp_path) == again            # cached: nothing is drawn again
    with pytest.raises(AssertionError, match="regenerated"):
        make_small(tmp_path, seed=2)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no half-built set


def test_demo_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="n_train"):
        make_voc_demo(n_train=0)
    with pytest.raises(ValueError, match="height"):
        make_voc_demo(height=(80, 40))


# ------------------------------------------------------------------------------ reading

def test_read_voc_label_keeps_void_and_indices(voc_dir: Path) -> None:
    name = names(voc_dir, "train")[0]
    y = read_voc_label(label_path(voc_dir, name))
    assert y.dtype == torch.uint8
    with Image.open(label_path(voc_dir, name)) as img:
        assert np.array_equal(y.numpy(), np.asarray(img))
    assert (y == VOID_INDEX).any()


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_label_that_is_not_a_palette_png_names_the_file(copy_dir: Path, mode: str) -> None:
    name = names(copy_dir, "train")[3]
    path = label_path(copy_dir, name)
    with Image.open(path) as img:
        img.convert(mode).save(path)
    with pytest.raises(ValueError, match=rf"{name}\.png is a '{mode}'-mode image, not a palette"):
        read_voc_label(path)
    with pytest.raises(ValueError, match=rf"{name}\.png is a '{mode}'-mode image"):
        VOCSegDataset(True, CROP, copy_dir)     # found from the header, before training


def test_label_index_outside_the_classes_names_the_file(copy_dir: Path) -> None:
    name = names(copy_dir, "val")[0]
    path = label_path(copy_dir, name)
    y = read_voc_label(path).numpy().copy()
    y[2, 3] = 42
    png = Image.fromarray(y)
    png.putpalette(VOC_PALETTE.flatten().tolist())
    png.save(path)
    with pytest.raises(ValueError, match=rf"{name}\.png: pixel \(row 2, column 3\) has the index 42"):
        read_voc_label(path)


def test_size_mismatch_names_the_files(copy_dir: Path) -> None:
    name = names(copy_dir, "train")[5]
    path = label_path(copy_dir, name)
    with Image.open(path) as img:
        img.crop((0, 0, img.width - 3, img.height)).save(path)   # stays a palette PNG
    with pytest.raises(ValueError, match=rf"{name}\.png is .* but .*{name}\.jpg is"):
        voc_split(copy_dir, True)
    with pytest.raises(ValueError, match=rf"{name}\.png is .* but .*{name}\.jpg is"):
        read_voc_example(copy_dir, name)


def test_missing_files_are_named(copy_dir: Path) -> None:
    name = names(copy_dir, "val")[1]
    (copy_dir / "JPEGImages" / f"{name}.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=rf"{name}\.jpg is missing: .*val\.txt lists"):
        voc_split(copy_dir, False)
    (copy_dir / "ImageSets" / "Segmentation" / "train.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"train\.txt is missing.*dataset_folder"):
        VOCSegDataset(True, CROP, copy_dir)


# ------------------------------------------------------------------------------ dataset

def decoded_sizes(voc_dir: Path, split: str) -> list[tuple[int, int]]:
    return [tuple(read_voc_label(label_path(voc_dir, n)).shape) for n in names(voc_dir, split)]


def test_filter_keeps_exactly_the_images_at_least_as_large_as_the_crop(voc_dir: Path) -> None:
    for is_train, split in ((True, "train"), (False, "val")):
        ds = VOCSegDataset(is_train, CROP, voc_dir)
        keep = [n for n, (h, w) in zip(names(voc_dir, split), decoded_sizes(voc_dir, split))
                if h >= CROP[0] and w >= CROP[1]]
        assert ds.names == keep
        assert 0 < len(ds) < len(names(voc_dir, split))   # some are filtered out
        assert f"{len(ds)} " in repr(ds)


def test_crop_larger_than_every_image_names_the_argument(voc_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"crop_size=\(81, 64\) is larger than every image.*"
                                         r"train\.txt.*largest height is \d+"):
        VOCSegDataset(True, (HEIGHT[1] + 1, 64), voc_dir)
    with pytest.raises(ValueError, match="crop_size"):
        load_voc("demo", 4, (200, 300), root=voc_dir.parents[2], n_train=N_TRAIN, n_val=N_VAL,
                 height=HEIGHT, width=WIDTH)


@pytest.mark.parametrize("bad", [(0, 10), (10,), (10, 10, 3), "ab", (10.5, 12), None])
def test_bad_crop_size_is_named(voc_dir: Path, bad) -> None:
    with pytest.raises(ValueError, match="crop_size"):
        VOCSegDataset(True, bad, voc_dir)


def test_making_the_dataset_decodes_no_pixels(voc_dir: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    loads = []
    original = ImageFile.ImageFile.load

    def counting_load(self):
        loads.append(self.filename)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    ds = VOCSegDataset(True, CROP, voc_dir)
    assert loads == []                      # sizes and modes came from the headers only
    ds[2]
    assert {Path(p).name for p in loads} == {f"{ds.names[2]}.jpg", f"{ds.names[2]}.png"}


def fake_example(height: int, width: int):
    """An image whose red/green channels are its row/column and a label computed from them."""
    rows = torch.arange(height).reshape(-1, 1).expand(height, width)
    cols = torch.arange(width).reshape(1, -1).expand(height, width)
    image = torch.stack([rows, cols, torch.zeros_like(rows)]).to(torch.uint8)
    label = ((rows * 7 + cols) % 22).to(torch.uint8)
    label[label == 21] = VOID_INDEX
    return image, label


def unnormalise(X: torch.Tensor) -> torch.Tensor:
    mean, std = torch.tensor(IMAGENET_MEAN).reshape(3, 1, 1), torch.tensor(IMAGENET_STD).reshape(3, 1, 1)
    return ((X * std + mean) * 255).round().long()


def test_random_crops_cut_image_and_label_at_the_same_place(voc_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voc, "read_voc_example", lambda d, name: fake_example(90, 120))
    ds = VOCSegDataset(True, (32, 48), voc_dir)
    torch.manual_seed(0)
    corners = set()
    for i in range(20):
        X, Y = ds[i % len(ds)]
        assert X.shape == (3, 32, 48) and X.dtype == torch.float32
        assert Y.shape == (32, 48) and Y.dtype == torch.int64
        assert type(X) is torch.Tensor and type(Y) is torch.Tensor   # no tv_tensors leak out
        rows, cols = unnormalise(X)[:2]
        expected = (rows * 7 + cols) % 22
        expected[expected == 21] = VOID_INDEX
        assert torch.equal(Y, expected)     # the label belongs to the image pixels it sits under
        corners.add((int(rows[0, 0]), int(cols[0, 0])))
    assert len(corners) > 10                # and the crops do move


def test_evaluation_crops_are_the_centre_every_time(voc_dir: Path) -> None:
    ds = VOCSegDataset(False, CROP, voc_dir)
    assert not ds.random_crop
    for i in range(len(ds)):
        image, label = read_voc_example(voc_dir, ds.names[i])
        h, w = label.shape
        top, left = int(round((h - CROP[0]) / 2.0)), int(round((w - CROP[1]) / 2.0))
        X, Y = ds[i]
        assert torch.equal(Y, label[top:top + CROP[0], left:left + CROP[1]].long())
        expected = voc.voc_normalize(image[:, top:top + CROP[0], left:left + CROP[1]])
        assert torch.allclose(X, expected, atol=1e-5)
        assert torch.equal(ds[i][0], X)
    assert VOCSegDataset(True, CROP, voc_dir, random_crop=False)[0][1].shape == CROP


def test_void_stays_void_in_items(voc_dir: Path) -> None:
    ds = VOCSegDataset(False, CROP, voc_dir)
    labels = torch.stack([ds[i][1] for i in range(len(ds))])
    values = set(torch.unique(labels).tolist())
    assert VOID_INDEX in values and values <= set(range(21)) | {VOID_INDEX}


def test_load_voc_batches_and_deterministic_validation(voc_dir: Path) -> None:
    root = voc_dir.parents[2]
    demo = {"n_train": N_TRAIN, "n_val": N_VAL, "height": HEIGHT, "width": WIDTH}
    train_iter, val_iter = load_voc("demo", 4, CROP, root=root, **demo)
    assert train_iter.dataset.voc_dir == voc_dir
    X, Y = next(iter(train_iter))
    assert X.shape == (4, 3, *CROP) and Y.shape == (4, *CROP) and Y.dtype == torch.int64
    assert len(train_iter) == len(train_iter.dataset) // 4          # last partial batch dropped
    first = [(x.clone(), y.clone()) for x, y in val_iter]
    second = list(val_iter)
    assert len(first) == -(-len(val_iter.dataset) // 4)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, second))

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from torchvision.transforms import v2

from d2lhelpers.augment import DeviceBatches, batch_flip_crop


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def distinct_images(n: int, c: int = 3, h: int = 8, w: int = 8, seed: int = 0) -> torch.Tensor:
    """Images whose pixels are all different (and non-zero), so every window is unique."""
    return torch.rand(n, c, h, w, generator=gen(seed)) + 0.5


def candidate_windows(img: torch.Tensor, padding: int, size: tuple[int, int]):
    """Every (flip, top, left) crop of the zero-padded, possibly flipped image."""
    h, w = size
    keys, wins = [], []
    for flip in (False, True):
        padded = F.pad(img.flip(-1) if flip else img, (padding,) * 4)
        for top in range(padded.shape[-2] - h + 1):
            for left in range(padded.shape[-1] - w + 1):
                keys.append((flip, top, left))
                wins.append(padded[:, top:top + h, left:left + w])
    return keys, torch.stack(wins)


def identify(outputs: torch.Tensor, img: torch.Tensor, padding: int) -> list[tuple]:
    """For each output (all made from ``img``), the one (flip, top, left) window it equals."""
    keys, wins = candidate_windows(img, padding, tuple(outputs.shape[-2:]))
    match = (outputs[:, None] == wins[None]).flatten(2).all(-1)  # (N, windows)
    counts = match.sum(1)
    assert (counts >= 1).all(), "an output is no window of the padded (flipped) input"
    return [keys[int(j)] for j in match.float().argmax(1)]


# ---------------------------------------------------------------- batch_flip_crop

@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_shape_dtype_device_kept(dtype):
    x = (torch.rand(5, 3, 12, 10, generator=gen()) * 255).to(dtype)
    out = batch_flip_crop(x, padding=3, generator=gen())
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device


def test_padding_zero_flips_forced_off_and_on(monkeypatch):
    x = distinct_images(6, h=5, w=7)
    real_rand = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.ones_like(real_rand(*a, **k)))
    assert torch.equal(batch_flip_crop(x, padding=0), x)  # rand = 1: never < 0.5
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.zeros_like(real_rand(*a, **k)))
    assert torch.equal(batch_flip_crop(x, padding=0), x.flip(-1))  # rand = 0: always


def test_padding_zero_each_image_is_itself_or_its_mirror():
    x = distinct_images(64)
    out = batch_flip_crop(x, padding=0, generator=gen(1))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert (same ^ mirrored).all()
    assert same.any() and mirrored.any()


def test_crop_offsets_move_the_image_the_right_way(monkeypatch):
    x = distinct_images(2, h=6, w=6)
    p = 2
    real_rand = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.ones_like(real_rand(*a, **k)))

    def fixed_randint(offset):
        return lambda low, high, size, **k: torch.full(size, offset, dtype=torch.long)

    monkeypatch.setattr(torch, "randint", fixed_randint(p))  # centre crop: the image itself
    assert torch.equal(batch_flip_crop(x, padding=p), x)
    monkeypatch.setattr(torch, "randint", fixed_randint(0))  # top-left: shifted down-right
    out = batch_flip_crop(x, padding=p)
    assert torch.equal(out[..., p:, p:], x[..., :-p, :-p])
    assert (out[..., :p, :] == 0).all() and (out[..., :, :p] == 0).all()
    monkeypatch.setattr(torch, "randint", fixed_randint(2 * p))  # bottom-right
    out = batch_flip_crop(x, padding=p)
    assert torch.equal(out[..., :-p, :-p], x[..., p:, p:])
    assert (out[..., -p:, :] == 0).all() and (out[..., :, -p:] == 0).all()


def test_every_output_is_a_window_of_its_padded_possibly_flipped_input():
    x = distinct_images(24, c=2, h=6, w=9, seed=3)
    out = batch_flip_crop(x, padding=3, generator=gen(2))
    for i in range(len(x)):  # brute force, image by image
        identify(out[i:i + 1], x[i], padding=3)


def test_same_support_as_torchvision_random_crop_and_flip():
    img = distinct_images(1, h=32, w=32, seed=4)[0]
    n = 200
    ours = batch_flip_crop(img.expand(n, -1, -1, -1).contiguous(), padding=4, generator=gen(5))
    torch.manual_seed(0)
    tv = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()])
    theirs = torch.stack([tv(img) for _ in range(n)])
    ours_keys, theirs_keys = identify(ours, img, 4), identify(theirs, img, 4)
    for keys in (ours_keys, theirs_keys):  # both spread over the same 2 x 9 x 9 windows
        assert {f for f, _, _ in keys} == {False, True}
        assert len({t for _, t, _ in keys}) >= 7 and len({l for _, _, l in keys}) >= 7


def test_both_flips_and_every_offset_occur_over_a_large_batch():
    img = distinct_images(1, c=1, h=5, w=5, seed=6)[0]
    n, p = 2000, 2
    out = batch_flip_crop(img.expand(n, -1, -1, -1).contiguous(), padding=p, generator=gen(7))
    keys = identify(out, img, p)
    assert set(keys) == {(f, t, l) for f in (False, True) for t in range(5) for l in range(5)}
    flips = sum(f for f, _, _ in keys)
    assert 0.4 * n < flips < 0.6 * n  # about half flipped


def test_seeded_generator_reproducible_and_seed_matters():
    x = distinct_images(32)
    a = batch_flip_crop(x, padding=4, generator=gen(11))
    b = batch_flip_crop(x, padding=4, generator=gen(11))
    c = batch_flip_crop(x, padding=4, generator=gen(12))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_input_not_modified():
    x = distinct_images(4)
    before = x.clone()
    batch_flip_crop(x, padding=2, generator=gen())
    assert torch.equal(x, before)


# ---------------------------------------------------------------- DeviceBatches

def indexed(n: int, h: int = 4, w: int = 3, c: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """HWC uint8 images whose every pixel is the image's index; labels are the indices."""
    images = torch.arange(n, dtype=torch.uint8)[:, None, None, None].expand(n, h, w, c)
    return images.contiguous(), torch.arange(n)


@pytest.mark.parametrize("n,batch,expected", [(10, 4, 3), (8, 4, 2), (1, 4, 1), (5, 1, 5)])
def test_len(n, batch, expected):
    images, labels = indexed(n)
    batches = DeviceBatches(images, labels, batch, shuffle=True)
    assert len(batches) == expected
    assert len(list(batches)) == expected


def test_shuffled_epoch_covers_every_example_once_and_keeps_pairs():
    torch.manual_seed(0)
    images, labels = indexed(50)
    batches = DeviceBatches(images, labels, 8, shuffle=True)
    orders = []
    for _ in range(2):
        seen = []
        sizes = []
        for X, y in batches:
            sizes.append(len(y))
            assert X.shape[1:] == (3, 4, 3) and X.dtype == torch.float32
            # each image still goes with its own label
            assert torch.equal(X[:, 0, 0, 0], y.float() / 255)
            seen += y.tolist()
        assert sorted(seen) == list(range(50))
        assert sizes == [8] * 6 + [2]
        orders.append(seen)
    assert orders[0] != list(range(50)) and orders[0] != orders[1]  # really shuffled


def test_unshuffled_in_order():
    images, labels = indexed(7)
    got = torch.cat([y for _, y in DeviceBatches(images, labels, 3, shuffle=False)])
    assert got.tolist() == list(range(7))


def test_values_scaled_to_unit_range_and_hwc_becomes_chw():
    hwc = torch.randint(0, 256, (6, 5, 4, 3), dtype=torch.uint8, generator=gen())
    hwc[0, 0, 0, 0], hwc[0, 0, 0, 1] = 0, 255
    X, y = next(iter(DeviceBatches(hwc, torch.zeros(6, dtype=torch.long), 6, shuffle=False)))
    assert X.shape == (6, 3, 5, 4) and X.dtype == torch.float32
    assert X.min() == 0.0 and X.max() == 1.0
    torch.testing.assert_close(X, hwc.permute(0, 3, 1, 2).float() / 255)


def test_chw_input():
    chw = torch.randint(0, 256, (6, 3, 5, 4), dtype=torch.uint8, generator=gen())
    batches = DeviceBatches(chw, torch.zeros(6), 4, shuffle=False, channels_last_input=False)
    X = torch.cat([x for x, _ in batches])
    assert X.shape == (6, 3, 5, 4)
    torch.testing.assert_close(X, chw.float() / 255)


def test_numpy_uint8_input_accepted():
    hwc = np.random.default_rng(0).integers(0, 256, (4, 5, 5, 3), dtype=np.uint8)
    batches = DeviceBatches(hwc, np.arange(4), 4, shuffle=False)
    X, y = next(iter(batches))
    torch.testing.assert_close(X, torch.from_numpy(hwc).permute(0, 3, 1, 2).float() / 255)
    assert y.tolist() == [0, 1, 2, 3]


def test_stored_images_not_changed_by_iteration_or_augment():
    images, labels = indexed(6)

    def augment(x):
        return x.mul_(0)  # a careless in-place augmentation

    batches = DeviceBatches(images, labels, 3, shuffle=False, augment=augment)
    before = batches.images.clone()
    for X, _ in batches:
        assert (X == 0).all()
    assert torch.equal(batches.images, before) and batches.images.dtype == torch.uint8


def test_augment_applied_to_each_scaled_batch():
    images, labels = indexed(10)
    calls = []

    def augment(x):
        calls.append((x.shape, x.dtype, float(x.max())))
        return x.flip(-1) + 1

    batches = DeviceBatches(images, labels, 4, shuffle=False, augment=augment)
    outs = [X for X, _ in batches]
    assert [shape[0] for shape, _, _ in calls] == [4, 4, 2]
    assert all(dtype == torch.float32 and mx <= 1.0 for _, dtype, mx in calls)
    assert torch.equal(outs[0][:, 0, 0, 0], torch.arange(4) / 255 + 1)


def test_with_batch_flip_crop():
    images = torch.randint(0, 256, (16, 8, 8, 3), dtype=torch.uint8, generator=gen())
    labels = torch.arange(16)
    batches = DeviceBatches(images, labels, 16, shuffle=False,
                            augment=lambda x: batch_flip_crop(x, 2, generator=gen(3)))
    X, y = next(iter(batches))
    assert X.shape == (16, 3, 8, 8)
    chw = images.permute(0, 3, 1, 2).float() / 255
    for i in range(16):
        identify(X[i:i + 1], chw[i], 2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_rejects_non_uint8(dtype):
    with pytest.raises(TypeError, match="uint8") as caught:
        DeviceBatches(torch.zeros(4, 5, 5, 3, dtype=dtype), torch.zeros(4), 2, shuffle=False)
    assert str(dtype) in str(caught.value)


def test_rejects_non_uint8_numpy():
    with pytest.raises(TypeError, match="uint8"):
        DeviceBatches(np.zeros((4, 5, 5, 3), np.float32), np.zeros(4), 2, shuffle=False)


def test_rejects_length_mismatch():
    images, _ = indexed(5)
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        DeviceBatches(images, torch.arange(4), 2, shuffle=False)


@pytest.mark.parametrize("shape", [(4, 5, 5), (4, 1, 5, 5, 3)])
def test_rejects_wrong_number_of_dimensions(shape):
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)") as caught:
        DeviceBatches(torch.zeros(shape, dtype=torch.uint8), torch.zeros(4), 2, shuffle=False)
    assert str(shape) in str(caught.value)


def test_rejects_bad_batch_size():
    images, labels = indexed(4)
    with pytest.raises(ValueError, match="batch_size"):
        DeviceBatches(images, labels, 0, shuffle=False)

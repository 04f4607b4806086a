from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no window, no display needed

import numpy as np
import pytest
import torch
from PIL import Image

from d2lhelpers import plotting
from d2lhelpers.plotting import LivePlot, in_notebook, show_images, to_hwc_array

H, W = 5, 7


def rgb_uint8() -> np.ndarray:
    return np.arange(H * W * 3, dtype=np.uint8).reshape(H, W, 3)


# ---------------------------------------------------------------- to_hwc_array

def test_pil_rgb_and_grayscale():
    hwc = rgb_uint8()
    out = to_hwc_array(Image.fromarray(hwc))
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, hwc)
    gray = to_hwc_array(Image.fromarray(hwc[..., 0]))
    assert gray.shape == (H, W)
    np.testing.assert_array_equal(gray, hwc[..., 0])


def test_pil_palette_image_is_shown_in_colour_not_as_indices():
    rgb = Image.fromarray(rgb_uint8())
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    out = to_hwc_array(pal)
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.asarray(pal.convert("RGB")))


@pytest.mark.parametrize("make", [torch.from_numpy, np.asarray], ids=["tensor", "array"])
def test_chw_becomes_hwc(make):
    hwc = rgb_uint8()
    out = to_hwc_array(make(np.ascontiguousarray(hwc.transpose(2, 0, 1))))
    assert isinstance(out, np.ndarray) and out.shape == (H, W, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, hwc)


@pytest.mark.parametrize("make", [torch.from_numpy, np.asarray], ids=["tensor", "array"])
def test_hwc_stays_hwc(make):
    hwc = rgb_uint8()
    out = to_hwc_array(make(hwc.copy()))
    assert out.shape == (H, W, 3)
    np.testing.assert_array_equal(out, hwc)


def test_rgba_array_kept():
    rgba = np.zeros((H, W, 4), np.uint8)
    assert to_hwc_array(rgba).shape == (H, W, 4)


@pytest.mark.parametrize("shape", [(H, W), (1, H, W), (H, W, 1)])
@pytest.mark.parametrize("make", [torch.from_numpy, np.asarray], ids=["tensor", "array"])
def test_grayscale_becomes_hw(make, shape):
    base = np.arange(H * W, dtype=np.uint8).reshape(H, W)
    out = to_hwc_array(make(base.reshape(shape).copy()))
    assert out.shape == (H, W)
    np.testing.assert_array_equal(out, base)


def test_float_images_clipped_to_unit_range():
    t = torch.linspace(-1, 2, 3 * H * W).reshape(3, H, W)
    out = to_hwc_array(t)
    assert out.shape == (H, W, 3) and out.dtype.kind == "f"
    assert out.min() == 0.0 and out.max() == 1.0
    inside = (t.permute(1, 2, 0).numpy() >= 0) & (t.permute(1, 2, 0).numpy() <= 1)
    np.testing.assert_allclose(out[inside], t.permute(1, 2, 0).numpy()[inside])
    arr = np.full((H, W, 3), 0.25, np.float64)
    np.testing.assert_array_equal(to_hwc_array(arr), arr)  # in range: unchanged


def test_uint8_not_clipped_or_rescaled():
    hwc = np.full((H, W, 3), 200, np.uint8)
    out = to_hwc_array(hwc)
    assert out.dtype == np.uint8 and (out == 200).all()


def test_tensor_with_grad_and_half_precision():
    t = torch.rand(3, H, W, requires_grad=True)
    assert to_hwc_array(t).shape == (H, W, 3)
    out = to_hwc_array(torch.rand(3, H, W).to(torch.bfloat16))
    assert out.shape == (H, W, 3) and out.dtype.kind == "f"


@pytest.mark.parametrize("shape", [(H,), (2, 3, H, W), (H, W, 2), (5, H, W), (4, H, W)])
@pytest.mark.parametrize("make", [torch.zeros, np.zeros], ids=["tensor", "array"])
def test_bad_shapes_raise_value_error_naming_the_shape(make, shape):
    with pytest.raises(ValueError) as caught:
        to_hwc_array(make(shape))
    assert str(tuple(shape)) in str(caught.value)


# ---------------------------------------------------------------- show_images

def test_show_images_returns_flat_axes_with_titles():
    imgs = [torch.rand(3, 8, 8), np.zeros((8, 8), np.uint8), Image.new("RGB", (8, 8))]
    axes = show_images(imgs, 2, 2, titles=["a", "b", 3])
    assert isinstance(axes, np.ndarray) and axes.shape == (4,)
    assert [ax.get_title() for ax in axes] == ["a", "b", "3", ""]
    assert [len(ax.get_images()) for ax in axes] == [1, 1, 1, 0]  # the spare cell stays empty
    assert all(not ax.axison for ax in axes)
    assert axes[1].get_images()[0].get_cmap().name == "gray"  # a 2-D image is grayscale
    assert axes[0].get_images()[0].get_array().shape == (8, 8, 3)


def test_show_images_without_titles_and_single_cell():
    axes = show_images([np.zeros((4, 4, 3))], 1, 1)
    assert axes.shape == (1,) and axes[0].get_title() == ""
    assert axes[0].figure.get_size_inches() == pytest.approx([1.5, 1.5])


def test_show_images_fewer_titles_than_images():
    axes = show_images([np.zeros((4, 4))] * 3, 1, 3, titles=["only"])
    assert [ax.get_title() for ax in axes] == ["only", "", ""]


def test_show_images_rejects_more_images_than_cells():
    with pytest.raises(ValueError, match="5 images"):
        show_images([np.zeros((4, 4))] * 5, 2, 2)


def test_show_images_rejects_more_titles_than_cells():
    with pytest.raises(ValueError, match="3 titles"):
        show_images([np.zeros((4, 4))] * 2, 1, 2, titles=["a", "b", "c"])


# ---------------------------------------------------------------- in_notebook / LivePlot

def test_in_notebook_false_under_pytest():
    assert in_notebook() is False


def test_liveplot_outside_notebook_records_but_draws_nothing():
    live = LivePlot("epoch", ["loss", "acc"])
    assert not live.enabled and live.fig is None
    live.add(1, [0.5, None])
    live.add(2, [np.float32(0.25), torch.tensor(0.75)])
    assert live.xs == [1, 2]
    assert live.ys[0] == [0.5, 0.25]
    assert np.isnan(live.ys[1][0]) and live.ys[1][1] == 0.75
    live.close()


def test_liveplot_rejects_wrong_number_of_values():
    live = LivePlot("epoch", ["a", "b", "c"])
    with pytest.raises(ValueError, match="2 values for 3 curves"):
        live.add(1, [0.1, 0.2])
    with pytest.raises(ValueError):
        live.add(1, [0.1, 0.2, 0.3, 0.4])
    assert live.xs == [] and live.ys == [[], [], []]  # nothing half-recorded


class FakeHandle:
    def __init__(self, log: list) -> None:
        self.log = log

    def update(self, fig) -> None:
        self.log.append(("update", fig))


def test_liveplot_in_notebook_draws_and_updates_one_display(monkeypatch):
    import IPython.display

    log: list = []

    def fake_display(obj, display_id=False):
        log.append(("display", obj))
        return FakeHandle(log) if display_id else None

    monkeypatch.setattr(plotting, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", fake_display)
    live = LivePlot("epoch", ["train loss", "train acc", "test acc"], xlim=(1, 3), ylim=(0, 2))
    assert live.enabled and live.fig is not None
    live.add(1, [1.0, 0.4, None])
    live.add(2, [0.8, 0.6, None])
    live.add(3, [0.6, 0.7, 0.65])
    assert [kind for kind, _ in log] == ["display", "update", "update"]
    assert all(fig is live.fig for _, fig in log)
    ax = live.ax
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"train loss", "train acc", "test acc"}
    np.testing.assert_array_equal(lines["train loss"].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines["train acc"].get_ydata(), [0.4, 0.6, 0.7])
    test_y = np.asarray(lines["test acc"].get_ydata(), float)
    assert np.isnan(test_y[:2]).all() and test_y[2] == 0.65  # gaps, then the point
    assert ax.get_xlabel() == "epoch"
    assert ax.get_xlim() == (1, 3) and ax.get_ylim() == (0, 2)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train loss", "train acc",
                                                                   "test acc"]
    live.close()


def test_liveplot_in_notebook_skips_all_missing_curve(monkeypatch):
    import IPython.display

    monkeypatch.setattr(plotting, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display",
                        lambda obj, display_id=False: FakeHandle([]))
    live = LivePlot("epoch", ["train loss", "test acc"])
    live.add(1, [1.0, None])
    live.add(2, [0.5, None])
    assert [line.get_label() for line in live.ax.get_lines()] == ["train loss"]
    live.close()

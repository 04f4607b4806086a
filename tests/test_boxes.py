from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no window, no display needed

import pytest
import torch
import torchvision
from matplotlib import pyplot as plt

from d2lhelpers.detection.boxes import (bbox_to_rect, box_center_to_corner, box_corner_to_center,
                              box_iou, check_corner_boxes, show_bboxes)

DOG, CAT = [60.0, 45.0, 378.0, 516.0], [400.0, 112.0, 655.0, 493.0]  # the spec's photo


def random_boxes(n: int, seed: int, batch: tuple[int, ...] = ()) -> torch.Tensor:
    """Corner-form boxes in [0, 1.5]^2, including some of zero width or height."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(*batch, n, 2, generator=g)
    wh = torch.rand(*batch, n, 2, generator=g) * 0.5
    wh[..., ::7, 0] = 0  # degenerate boxes must work as well
    return torch.cat((xy, xy + wh), dim=-1)


# ---------------------------------------------------------------- conversions

def test_spec_boxes_round_trip_exactly():
    boxes = torch.tensor([DOG, CAT])
    center = box_corner_to_center(boxes)
    assert center.tolist() == [[219.0, 280.5, 318.0, 471.0], [527.5, 302.5, 255.0, 381.0]]
    assert torch.equal(box_center_to_corner(center), boxes)


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_conversions_match_torchvision_box_convert(batch):
    boxes = random_boxes(50, seed=1, batch=batch)
    center = box_corner_to_center(boxes)
    assert center.shape == boxes.shape
    flat = boxes.reshape(-1, 4)
    expected = torchvision.ops.box_convert(flat, "xyxy", "cxcywh")
    torch.testing.assert_close(center.reshape(-1, 4), expected, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(box_center_to_corner(expected),
                               torchvision.ops.box_convert(expected, "cxcywh", "xyxy"),
                               rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(box_center_to_corner(center), boxes, rtol=1e-6, atol=1e-6)


def test_conversion_rejects_wrong_last_dim_and_inverted_boxes():
    with pytest.raises(ValueError, match=r"boxes must have shape \(\.\.\., 4\).*\(3, 5\)"):
        box_corner_to_center(torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        box_center_to_corner(torch.zeros(2, 3))
    boxes = torch.tensor([DOG, CAT, [10.0, 10.0, 5.0, 20.0]])  # row 2: x2 < x1
    with pytest.raises(ValueError, match=r"boxes\[2\] .*x2 < x1 or y2 < y1"):
        box_corner_to_center(boxes)
    batched = torch.tensor([[DOG, CAT], [CAT, [0.0, 9.0, 1.0, 8.0]]])  # y2 < y1 at [1, 1]
    with pytest.raises(ValueError, match=r"boxes\[1, 1\]"):
        box_corner_to_center(batched)


def test_check_corner_boxes_accepts_degenerate_and_names_argument():
    check_corner_boxes(torch.tensor([[1.0, 1.0, 1.0, 1.0]]))  # a point is a valid box
    check_corner_boxes(torch.zeros(0, 4))
    with pytest.raises(ValueError, match=r"gt\[0\]"):
        check_corner_boxes(torch.tensor([[0.0, 0.0, -1.0, 1.0]]), "gt")
    with pytest.raises(TypeError, match="gt must be a tensor"):
        check_corner_boxes([[0, 0, 1, 1]], "gt")


# ---------------------------------------------------------------- IoU

@pytest.mark.parametrize("seed", range(5))
def test_box_iou_matches_torchvision(seed):
    boxes1, boxes2 = random_boxes(120, seed), random_boxes(80, seed + 100)
    boxes2[1:5] = boxes1[1:5]  # identical boxes (row 0 has zero width): IoU 1
    boxes2[5] = torch.tensor([5.0, 5.0, 6.0, 6.0])  # far from everything: IoU 0
    ours = box_iou(boxes1, boxes2)
    assert ours.shape == (120, 80)
    expected = torchvision.ops.box_iou(boxes1, boxes2)
    # zero-area boxes make 0 / 0 = NaN in both
    torch.testing.assert_close(ours, expected, rtol=1e-6, atol=1e-7, equal_nan=True)
    assert torch.all(ours.diagonal()[1:5] == 1) and torch.all(ours[:, 5] == 0)


def test_box_iou_known_values_and_batch_dims():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 1.0, 2.0], [2.0, 0.0, 3.0, 1.0]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1 / 7, 0.5, 0.0]]))
    boxes1, boxes2 = random_boxes(30, 7, batch=(4,)), random_boxes(6, 8, batch=(4,))
    batched = box_iou(boxes1, boxes2)
    assert batched.shape == (4, 30, 6)
    for i in range(4):
        torch.testing.assert_close(batched[i], box_iou(boxes1[i], boxes2[i]), equal_nan=True)


def test_box_iou_rejects_bad_boxes_naming_argument_and_row():
    good = random_boxes(4, 0)
    bad = good.clone()
    bad[3] = torch.tensor([0.5, 0.5, 0.4, 0.9])
    with pytest.raises(ValueError, match=r"boxes2\[3\]"):
        box_iou(good, bad)
    with pytest.raises(ValueError, match=r"boxes1\[3\]"):
        box_iou(bad, good)
    with pytest.raises(ValueError, match=r"boxes1 must have shape \(\.\.\., 4\)"):
        box_iou(torch.zeros(4, 5), good)
    with pytest.raises(ValueError, match=r"\(\.\.\., n, 4\)"):
        box_iou(good[0], good)


# ---------------------------------------------------------------- drawing

def test_bbox_to_rect_is_outline_from_corners():
    rect = bbox_to_rect(torch.tensor(DOG), "blue")
    assert rect.get_xy() == (60.0, 45.0)
    assert (rect.get_width(), rect.get_height()) == (318.0, 471.0)
    assert not rect.get_fill()
    assert rect.get_edgecolor() == matplotlib.colors.to_rgba("blue")


def test_show_bboxes_draws_boxes_labels_and_cycles_colors():
    fig, ax = plt.subplots()
    boxes = torch.tensor([DOG, CAT, [10.0, 20.0, 30.0, 40.0]])
    show_bboxes(ax, boxes, labels=["dog", "cat"], colors=["w", "r"])
    assert len(ax.patches) == 3
    assert [p.get_xy() for p in ax.patches] == [(60, 45), (400, 112), (10, 20)]
    edge = [p.get_edgecolor() for p in ax.patches]
    assert edge == [matplotlib.colors.to_rgba(c) for c in ("w", "r", "w")]  # colours cycle
    texts = ax.texts
    assert [t.get_text() for t in texts] == ["dog", "cat"]  # no label for the third box
    assert [t.get_position() for t in texts] == [(60, 45), (400, 112)]
    assert texts[0].get_color() == "k" and texts[1].get_color() == "w"  # readable on white

    fig, ax = plt.subplots()
    show_bboxes(ax, [DOG], labels="dog", colors="g")  # single label and colour
    assert len(ax.patches) == 1 and ax.texts[0].get_text() == "dog"
    assert ax.patches[0].get_edgecolor() == matplotlib.colors.to_rgba("g")


def test_value_check_skipped_off_cpu_no_host_sync():
    # On an accelerator the x2 >= x1 check would force a host sync per training batch; it
    # only runs on CPU tensors. A "meta" tensor has no values: any read-back would raise.
    bad = torch.tensor([[1.0, 1.0, 0.0, 0.0]], device="meta")
    check_corner_boxes(bad)
    with pytest.raises(ValueError, match="x2 < x1"):
        check_corner_boxes(torch.tensor([[1.0, 1.0, 0.0, 0.0]]))

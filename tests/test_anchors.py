from __future__ import annotations

import pytest
import torch
import torchvision

from d2lhelpers.detection.anchors import (assign_anchor_to_bbox, assign_anchor_to_bbox_loop,
                                multibox_detection, multibox_prior, multibox_target,
                                multibox_target_loop, nms, nms_loop, offset_boxes,
                                offset_inverse)

# The spec's labelling example
GROUND_TRUTH = torch.tensor([[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88]])
LABEL_ANCHORS = torch.tensor([[0, 0.1, 0.2, 0.3], [0.15, 0.2, 0.4, 0.4],
                              [0.63, 0.05, 0.88, 0.98], [0.66, 0.45, 0.8, 0.8],
                              [0.57, 0.3, 0.92, 0.9]])
# The spec's NMS example
NMS_ANCHORS = torch.tensor([[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95],
                            [0.15, 0.3, 0.62, 0.91], [0.55, 0.2, 0.9, 0.88]])
NMS_PROBS = torch.tensor([[0.0] * 4, [0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.9]])


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def grid_boxes(n: int, g: torch.Generator, batch: tuple[int, ...] = ()) -> torch.Tensor:
    """Boxes with corners on a 1/8 grid: many exactly equal IoUs (ties) and duplicates."""
    xy = torch.randint(0, 7, (*batch, n, 2), generator=g) / 8
    wh = torch.randint(1, 5, (*batch, n, 2), generator=g) / 8
    return torch.cat((xy, xy + wh), dim=-1)


def random_labels(b: int, m: int, g: torch.Generator, num_classes: int = 3,
                  pad_prob: float = 0.3) -> torch.Tensor:
    """(b, m, 5) labels; some rows are padding (class -1) with junk, even inverted, boxes."""
    boxes = grid_boxes(m, g, (b,))
    cls = torch.randint(0, num_classes, (b, m, 1), generator=g).float()
    pad = torch.rand(b, m, 1, generator=g) < pad_prob
    cls = torch.where(pad, -1.0, cls)
    boxes = torch.where(pad, torch.tensor([0.9, 0.8, 0.1, 0.2]), boxes)  # x2 < x1: ignored
    return torch.cat((cls, boxes), dim=-1)


# ---------------------------------------------------------------- multibox_prior

def test_multibox_prior_spec_example():
    X = torch.rand(1, 3, 561, 728)
    Y = multibox_prior(X, sizes=[0.75, 0.5, 0.25], ratios=[1, 2, 0.5])
    assert Y.shape == (1, 2042040, 4)
    boxes = Y.reshape(561, 728, 5, 4)
    assert [round(v, 2) for v in boxes[250, 250, 0].tolist()] == [0.06, 0.07, 0.63, 0.82]


def test_multibox_prior_centres_sizes_and_square_pixels():
    h, w, sizes, ratios = 6, 10, [0.5, 0.25], [1, 4, 0.25]
    Y = multibox_prior(torch.zeros(2, 3, h, w), sizes, ratios)
    k = len(sizes) + len(ratios) - 1
    assert Y.shape == (1, h * w * k, 4) and Y.dtype == torch.float32
    boxes = Y.reshape(h, w, k, 4)
    centre_x, centre_y = (boxes[..., 0] + boxes[..., 2]) / 2, (boxes[..., 1] + boxes[..., 3]) / 2
    expected_x = ((torch.arange(w) + 0.5) / w)[None, :, None].expand(h, w, k)
    expected_y = ((torch.arange(h) + 0.5) / h)[:, None, None].expand(h, w, k)
    torch.testing.assert_close(centre_x, expected_x)
    torch.testing.assert_close(centre_y, expected_y)
    # sizes and ratios in pixels: (s_i, r_1) for every size, then (s_1, r_j) for j > 1
    width_px = (boxes[..., 2] - boxes[..., 0]) * w
    height_px = (boxes[..., 3] - boxes[..., 1]) * h
    pairs = [(0.5, 1), (0.25, 1), (0.5, 4), (0.5, 0.25)]
    for i, (s, r) in enumerate(pairs):
        torch.testing.assert_close(width_px[..., i], torch.full((h, w), s * h * r ** 0.5))
        torch.testing.assert_close(height_px[..., i], torch.full((h, w), s * h / r ** 0.5))
    # ratio 1: square in pixels although the image is not square
    torch.testing.assert_close(width_px[..., :2], height_px[..., :2])


@pytest.mark.parametrize("sizes, ratios, name", [
    ([], [1], "sizes"), ([0.5], [], "ratios"), ([0.5, 0.0], [1], "sizes"),
    ([0.5], [1, -2], "ratios"), ([float("nan")], [1], "sizes")])
def test_multibox_prior_rejects_bad_sizes_and_ratios(sizes, ratios, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        multibox_prior(torch.zeros(1, 3, 4, 4), sizes, ratios)


def test_multibox_prior_rejects_data_without_height_and_width():
    with pytest.raises(ValueError, match="data must be a tensor"):
        multibox_prior(torch.zeros(5), [0.5], [1])
    with pytest.raises(ValueError, match="data has height 0"):
        multibox_prior(torch.zeros(1, 3, 0, 4), [0.5], [1])


# ---------------------------------------------------------------- assigning boxes

def test_labelling_spec_example():
    bbox_offset, bbox_mask, class_labels = multibox_target(LABEL_ANCHORS[None],
                                                           GROUND_TRUTH[None])
    assert class_labels.tolist() == [[0, 1, 2, 0, 2]]
    assert bbox_mask.tolist() == [[0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0,
                                   1, 1, 1, 1]]
    expected = torch.tensor([[0, 0, 0, 0, 1.4, 10, 2.594, 7.1754, -1.2, 0.26882, 1.6824,
                              -1.5655, 0, 0, 0, 0, -0.57143, -1, 4.1723e-6, 0.62582]])
    torch.testing.assert_close(bbox_offset, expected, rtol=1e-4, atol=1e-4)
    assert assign_anchor_to_bbox(GROUND_TRUTH[:, 1:], LABEL_ANCHORS).tolist() \
        == [-1, 0, 1, -1, 1]


@pytest.mark.parametrize("seed", range(40))
def test_assign_vectorised_equals_loop_on_random_inputs(seed):
    g = gen(seed)
    num_anchors = int(torch.randint(1, 60, (1,), generator=g))
    m = int(torch.randint(1, 12, (1,), generator=g))
    anchors, gt = grid_boxes(num_anchors, g), grid_boxes(m, g)
    if seed % 4 == 0:  # duplicate anchors and boxes: exact ties everywhere
        anchors[num_anchors // 2:] = anchors[: num_anchors - num_anchors // 2].clone()
        gt[m // 2:] = gt[: m - m // 2].clone()
    threshold = [0.5, 0.3, 0.7][seed % 3]
    loop = assign_anchor_to_bbox_loop(gt, anchors, iou_threshold=threshold)
    vec = assign_anchor_to_bbox(gt, anchors, iou_threshold=threshold)
    assert vec.dtype == torch.long and torch.equal(vec, loop)
    # every box got an anchor of its own when there are enough anchors
    assert len(set(vec[vec >= 0].tolist())) == min(m, num_anchors)


def test_assign_batched_equals_per_image():
    g = gen(3)
    anchors, gt = grid_boxes(40, g), grid_boxes(5, g, (6,))
    batched = assign_anchor_to_bbox(gt, anchors[None])
    assert batched.shape == (6, 40)
    for i in range(6):
        assert torch.equal(batched[i], assign_anchor_to_bbox_loop(gt[i], anchors))


def test_assign_with_fewer_anchors_than_boxes_and_no_boxes():
    anchors = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]])
    gt = torch.tensor([[0.0, 0.0, 0.4, 0.4], [0.6, 0.6, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5]])
    # two anchors, three boxes: each anchor gets its best box, none is reassigned
    assert assign_anchor_to_bbox(gt, anchors).tolist() == [2, 1]
    assert assign_anchor_to_bbox_loop(gt, anchors).tolist() == [2, 1]
    assert assign_anchor_to_bbox(torch.zeros(0, 4), anchors).tolist() == [-1, -1]
    assert assign_anchor_to_bbox_loop(torch.zeros(0, 4), anchors).tolist() == [-1, -1]


def test_assign_anchor_index_uses_integer_division():
    """More than 2**24 IoU entries: a float32 division of the flat argmax index
    ((idx / num_boxes).long()) picks the wrong anchor for some indices; ``//`` does not."""
    num_anchors, m = 2 ** 21, 9

    def float_division_fails(row: int, col: int) -> bool:
        return int((torch.tensor(row * m + col) / m).long()) != row

    rows = {k: 1000 + k for k in range(1, 8)}  # boxes 1-7: small, harmless indices
    # boxes 0 and 8: rows whose flat index float32 division gets wrong (it rounds the
    # index to an even number, then the quotient to the neighbouring anchor)
    rows[0] = next(r for r in range(1_900_000, num_anchors - 1) if float_division_fails(r, 0))
    rows[8] = next(r for r in range(2_000_000, num_anchors - 1) if float_division_fails(r, 8))
    gt = torch.tensor([[0.05 * k, 0.0, 0.05 * k + 0.04, 0.04] for k in range(m)])
    anchors = torch.tensor([0.9, 0.9, 0.95, 0.95]).repeat(num_anchors, 1)  # IoU 0 with all
    expected = torch.full((num_anchors,), -1)
    for k, r in rows.items():
        anchors[r] = gt[k]  # IoU 1 with box k
        expected[r] = k
    result = assign_anchor_to_bbox(gt, anchors)
    wrong = (result != expected).nonzero().flatten().tolist()
    assert not wrong, f"anchors {wrong} got {result[wrong].tolist()}"
    result = assign_anchor_to_bbox_loop(gt, anchors)
    assert torch.equal(result, expected)


# ---------------------------------------------------------------- offsets

def test_offsets_round_trip_and_known_values():
    g = gen(0)
    anchors, boxes = grid_boxes(200, g, (2,)), grid_boxes(200, g, (2,))
    offsets = offset_boxes(anchors, boxes)
    torch.testing.assert_close(offset_inverse(anchors, offsets), boxes, rtol=0, atol=1e-5)
    anchor = torch.tensor([[0.0, 0.0, 0.2, 0.4]])
    box = torch.tensor([[0.1, 0.1, 0.3, 0.3]])  # centre moved by (0.1, 0), height halved
    expected = torch.tensor([[10 * 0.1 / 0.2, 0.0, 5 * torch.log(torch.tensor(1 + 1e-6)),
                              5 * torch.log(torch.tensor(0.5 + 1e-6))]])
    torch.testing.assert_close(offset_boxes(anchor, box), expected)
    with pytest.raises(ValueError, match=r"assigned_bb\[0\]"):
        offset_boxes(anchor, box.flip(-1))


# ---------------------------------------------------------------- multibox_target

@pytest.mark.parametrize("seed", range(6))
def test_multibox_target_batched_equals_per_image_loop(seed):
    g = gen(seed)
    anchors = multibox_prior(torch.zeros(1, 3, 6, 6), [0.3, 0.6], [1, 2, 0.5])
    labels = random_labels(b=5, m=4, g=g)
    labels[0, :, 0] = -1  # an image with padding only: all background
    offset, mask, cls = multibox_target(anchors, labels)
    a = anchors.shape[1]
    assert offset.shape == mask.shape == (5, 4 * a) and cls.shape == (5, a)
    assert cls.dtype == torch.long
    loop_offset, loop_mask, loop_cls = multibox_target_loop(anchors, labels)
    assert torch.equal(cls, loop_cls) and torch.equal(mask, loop_mask)
    torch.testing.assert_close(offset, loop_offset)
    assert not cls[0].any() and not mask[0].any() and not offset[0].any()
    # background anchors have no offsets, every assigned class is a real class + 1
    assert torch.equal(mask.reshape(5, a, 4)[..., 0] == 1, cls > 0)
    assert torch.all(offset[mask == 0] == 0)
    assert set(cls.unique().tolist()) <= {0, 1, 2, 3}


def test_multibox_target_ignores_padding_rows():
    anchors = LABEL_ANCHORS[None]
    # padding that would win anchor 0 (an exact copy) and a padding row with junk coordinates
    padding = torch.tensor([[-1, 0, 0.1, 0.2, 0.3], [-1, 5.0, 5.0, -5.0, -5.0]])
    padded = torch.cat((GROUND_TRUTH[:1], padding, GROUND_TRUTH[1:]))[None]
    plain = multibox_target(anchors, GROUND_TRUTH[None])
    for ours, expected in zip(multibox_target(anchors, padded), plain):
        assert torch.equal(ours, expected)
    for ours, expected in zip(multibox_target_loop(anchors, padded), plain):
        torch.testing.assert_close(ours, expected)


def test_multibox_target_without_any_boxes_is_all_background():
    labels = torch.zeros(2, 0, 5)  # a batch with no objects at all
    for offset, mask, cls in (multibox_target(LABEL_ANCHORS, labels),
                              multibox_target_loop(LABEL_ANCHORS, labels)):
        assert offset.shape == mask.shape == (2, 20) and cls.shape == (2, 5)
        assert not offset.any() and not mask.any() and not cls.any()


def test_multibox_target_rejects_bad_labels():
    anchors = LABEL_ANCHORS[None]
    with pytest.raises(ValueError, match=r"labels must have shape \(batch, boxes per image, 5\)"
                                         r".*\(1, 5\)"):
        multibox_target(anchors, GROUND_TRUTH[:1])  # (b, 5): the box dimension is missing
    with pytest.raises(ValueError, match=r"labels must have shape.*\(1, 2, 4\)"):
        multibox_target(anchors, GROUND_TRUTH[None, :, 1:])
    with pytest.raises(ValueError, match=r"labels must have shape"):
        multibox_target_loop(anchors, GROUND_TRUTH[:1])
    inverted = GROUND_TRUTH.clone()
    inverted[1, 1:] = torch.tensor([0.9, 0.88, 0.55, 0.2])
    with pytest.raises(ValueError, match=r"labels\[0, 1\] .*x2 < x1"):
        multibox_target(anchors, inverted[None])
    with pytest.raises(ValueError, match=r"anchors must have shape \(1, a, 4\) or \(a, 4\)"):
        multibox_target(LABEL_ANCHORS.expand(2, 5, 4), GROUND_TRUTH[None])


# ---------------------------------------------------------------- NMS

def nms_cases():
    """(boxes, scores): random, clustered with tied scores, identical boxes, empty."""
    for seed in range(12):
        g = gen(seed)
        n = int(torch.randint(1, 300, (1,), generator=g))
        boxes = grid_boxes(n, g)  # many exact IoU values such as 1/3 and 0.5
        scores = torch.randint(0, 5, (n,), generator=g) / 5  # ties everywhere
        yield boxes, scores
        xy = torch.rand(n, 2, generator=g)
        boxes = torch.cat((xy, xy + 0.2 * torch.rand(n, 2, generator=g)), 1)
        yield boxes, torch.rand(n, generator=g)  # continuous values: no ties
    same = torch.tensor([[0.1, 0.1, 0.5, 0.6]]).repeat(10, 1)
    yield same, torch.full((10,), 0.7)  # all identical, all tied: the first one is kept
    yield same, torch.arange(10.0)  # all identical: the best one is kept
    yield torch.zeros(0, 4), torch.zeros(0)


@pytest.mark.parametrize("threshold", [0.3, 1 / 3, 0.5, 0.7])
def test_nms_loop_equals_torchvision(threshold):
    for boxes, scores in nms_cases():
        expected = torchvision.ops.nms(boxes, scores, threshold)
        assert torch.equal(nms(boxes, scores, threshold), expected)
        ours = nms_loop(boxes, scores, threshold)
        assert ours.dtype == torch.long
        assert torch.equal(ours, expected), (len(boxes), ours.tolist(), expected.tolist())


def test_nms_ties_keep_the_lower_index():
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0],
                          [0.0, 0.0, 1.0, 1.0]])
    scores = torch.tensor([0.5, 0.9, 0.5, 0.9])
    assert nms_loop(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms_loop(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []
    with pytest.raises(ValueError, match=r"scores \(n,\)"):
        nms_loop(boxes, scores[:3], 0.5)


# ---------------------------------------------------------------- multibox_detection

def test_detection_spec_example():
    offset_preds = torch.zeros(NMS_ANCHORS.numel())
    out = multibox_detection(NMS_PROBS[None], offset_preds[None], NMS_ANCHORS[None],
                             nms_threshold=0.5)
    assert out.shape == (1, 4, 6)
    expected = [[0, 0.90, 0.10, 0.08, 0.52, 0.92], [1, 0.90, 0.55, 0.20, 0.90, 0.88],
                [-1, 0.80, 0.08, 0.20, 0.56, 0.95], [-1, 0.70, 0.15, 0.30, 0.62, 0.91]]
    torch.testing.assert_close(out[0], torch.tensor(expected))


def reference_detection(cls_probs, offset_preds, anchors, nms_threshold, pos_threshold):
    """One image at a time with nms_loop; rows ordered as the spec says."""
    out = []
    for probs, offsets in zip(cls_probs, offset_preds):
        conf, class_id = torch.max(probs[1:], 0)
        boxes = offset_inverse(anchors, offsets.reshape(-1, 4))
        keep = nms_loop(boxes, conf, nms_threshold).tolist()
        by_conf = torch.sort(conf, descending=True, stable=True).indices.tolist()
        rows = []
        for i in keep + [i for i in by_conf if i not in keep]:
            c = int(class_id[i]) if i in keep else -1
            p = float(conf[i])
            if p < pos_threshold:
                c, p = -1, 1 - p
            rows.append([c, p, *boxes[i].tolist()])
        out.append(rows)
    return torch.tensor(out)


@pytest.mark.parametrize("seed", range(4))
def test_detection_batched_equals_per_image_reference(seed):
    g = gen(seed)
    anchors = multibox_prior(torch.zeros(1, 3, 5, 5), [0.3, 0.5], [1, 2, 0.5])[0]
    b, a, classes = 3, anchors.shape[0], 4
    cls_probs = torch.softmax(3 * torch.randn(b, classes + 1, a, generator=g), dim=1)
    cls_probs[:, :, ::3] = cls_probs[:, :, ::3].round(decimals=1)  # tied confidences
    offset_preds = 0.5 * torch.randn(b, 4 * a, generator=g)
    pos = 0.3
    out = multibox_detection(cls_probs, offset_preds, anchors, 0.4, pos)
    assert out.shape == (b, a, 6)
    torch.testing.assert_close(out, reference_detection(cls_probs, offset_preds, anchors,
                                                        0.4, pos))
    for i in range(b):
        one = multibox_detection(cls_probs[i:i + 1], offset_preds[i:i + 1], anchors[None],
                                 0.4, pos)
        assert torch.equal(out[i:i + 1], one)
    assert (out[..., 0] == -1).any() and (out[..., 0] >= 0).any()


def test_detection_orders_suppressed_rows_by_confidence_and_thresholds():
    # anchors 0 (conf 0.3) and 1 (conf 0.6) are suppressed by anchor 2 (0.9, class 1);
    # anchor 3 is kept (it overlaps nothing) but too unsure: background, 1 - 0.003
    anchors = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.1, 0.1, 0.52, 0.5],
                            [0.1, 0.1, 0.5, 0.52], [0.6, 0.6, 0.9, 0.9]])
    probs = torch.tensor([[0.5, 0.2, 0.05, 0.995],  # background
                          [0.3, 0.6, 0.05, 0.003],  # class 0
                          [0.2, 0.2, 0.9, 0.002]])[None]  # class 1
    out = multibox_detection(probs, torch.zeros(1, 16), anchors)[0]
    # kept rows (2, 3) by confidence, then the suppressed ones (1, 0) by confidence
    assert out[:, 0].tolist() == [1, -1, -1, -1]
    torch.testing.assert_close(out[:, 1], torch.tensor([0.9, 1 - 0.003, 0.6, 0.3]))
    torch.testing.assert_close(out[:, 2:], anchors[[2, 3, 1, 0]])


def test_detection_rejects_mismatched_shapes():
    probs, anchors = NMS_PROBS[None], NMS_ANCHORS[None]
    with pytest.raises(ValueError, match="cls_probs has 4 anchors .* anchors has 3"):
        multibox_detection(probs, torch.zeros(1, 12), anchors[:, :3])
    with pytest.raises(ValueError, match=r"offset_preds must have shape \(batch, 4 \* anchors\)"):
        multibox_detection(probs, torch.zeros(1, 15), anchors)
    with pytest.raises(ValueError, match="cls_probs must have shape"):
        multibox_detection(NMS_PROBS, torch.zeros(1, 16), anchors)

"""Known-answer tests of the COCO-style mAP (hand-computed values in the comments)."""
from __future__ import annotations

import math

import pytest
import torch

from d2lhelpers.detection.metrics import (COCO_IOU_THRESHOLDS, detections_to_preds,
                                          labels_to_targets, mean_average_precision)

A, B, C = [0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0], [40.0, 0.0, 50.0, 10.0]
FAR = [100.0, 100.0, 110.0, 110.0]  # IoU 0 with every ground truth


def pred(boxes, scores, labels=None) -> dict:
    labels = [0] * len(boxes) if labels is None else labels
    return {"boxes": torch.tensor(boxes).reshape(-1, 4), "scores": torch.tensor(scores),
            "labels": torch.tensor(labels, dtype=torch.int64)}


def target(boxes, labels=None) -> dict:
    labels = [0] * len(boxes) if labels is None else labels
    return {"boxes": torch.tensor(boxes).reshape(-1, 4),
            "labels": torch.tensor(labels, dtype=torch.int64)}


def test_perfect_predictions_score_one():
    targets = [target([A, B], [0, 1]), target([C], [2])]
    preds = [pred([A, B], [0.9, 0.8], [0, 1]), pred([C], [0.7], [2])]
    r = mean_average_precision(preds, targets)
    assert (r["map"], r["map_50"], r["map_75"]) == (1.0, 1.0, 1.0)
    assert r["per_class"].tolist() == [1.0, 1.0, 1.0]
    assert r["classes"] == [0, 1, 2]


def test_no_predictions_score_zero():
    targets = [target([A]), target([B], [1])]
    r = mean_average_precision([pred([], []), pred([], [])], targets)
    assert (r["map"], r["map_50"], r["map_75"]) == (0.0, 0.0, 0.0)
    assert r["per_class"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("shift, iou", [(2.0, 80 / 120), (1.0, 90 / 110), (4.0, 60 / 140)])
def test_shifted_box_counts_thresholds_below_its_iou(shift, iou):
    # A 10x10 box shifted by s px horizontally overlaps 10(10 - s) of a 10(10 + s) union:
    # s=2 -> 80/120 = 0.667 (thresholds 0.50, 0.55, 0.60, 0.65 pass: map = 4/10 = 0.4),
    # s=1 -> 90/110 = 0.818 (0.50 ... 0.80 pass: 7/10), s=4 -> 60/140 = 0.43 (none).
    moved = [A[0] + shift, A[1], A[2] + shift, A[3]]
    r = mean_average_precision([pred([moved], [0.9])], [target([A])])
    assert r["map_50"] == (1.0 if iou >= 0.5 else 0.0)
    assert r["map_75"] == (1.0 if iou >= 0.75 else 0.0)
    passed = sum(t <= iou for t in COCO_IOU_THRESHOLDS)
    assert passed == {2.0: 4, 1.0: 7, 4.0: 0}[shift]
    assert r["map"] == pytest.approx(passed / 10, abs=1e-12)
    assert r["ap"][:, 0].tolist() == [float(t <= iou) for t in COCO_IOU_THRESHOLDS]


def test_iou_exactly_at_threshold_matches():
    # A 2 px shift gives IoU 80/120 (computed in float64, the same double as 80 / 120):
    # IoU >= threshold matches, so a threshold equal to the IoU counts as a hit.
    moved = [2.0, 0.0, 12.0, 10.0]
    r = mean_average_precision([pred([moved], [0.9])], [target([A])],
                               iou_thresholds=[80 / 120, 0.7])
    assert r["ap"][:, 0].tolist() == [1.0, 0.0]
    assert r["map"] == 0.5 and r["iou_thresholds"] == [80 / 120, 0.7]


def test_false_positive_above_true_positive_101_point_ap():
    # One class, 3 ground truths; detections by score: FP, TP, TP, FP, TP.
    #   cumulative TP 0 1 2 2 3, precision 0 1/2 2/3 1/2 3/5, recall 0 1/3 2/3 2/3 1.
    #   Monotone precision (max from the right): 2/3 2/3 2/3 3/5 3/5.
    #   Recall points r = 0.00 ... 0.66 (67 points) first reach recall >= r at a
    #   detection with precision 2/3; r = 0.67 ... 1.00 (34 points) at the last (3/5).
    #   AP = (67 * 2/3 + 34 * 3/5) / 101 = 0.644224... (all-point AP would be 0.6444...)
    targets = [target([A, B, C])]
    preds = [pred([FAR, A, B, [60.0, 60.0, 70.0, 70.0], C], [0.95, 0.9, 0.8, 0.7, 0.6])]
    r = mean_average_precision(preds, targets)
    expected = (67 * 2 / 3 + 34 * 3 / 5) / 101
    assert r["map"] == pytest.approx(expected, abs=1e-12)
    assert r["map_50"] == pytest.approx(expected, abs=1e-12)
    # The simplest case: FP (0.9) above the only TP (0.8): precision 0, 1/2 -> 1/2, 1/2.
    r = mean_average_precision([pred([FAR, A], [0.9, 0.8])], [target([A])])
    assert r["map"] == pytest.approx(0.5, abs=1e-12)


def test_duplicate_detections_count_once():
    # Ground truths A, B; detections A (0.9), A again (0.8), B (0.7): TP, FP, TP.
    # Precision 1, 1/2, 2/3 -> monotone 1, 2/3, 2/3; recall 1/2, 1/2, 1.
    # r = 0.00 ... 0.50 (51 points) -> 1, r = 0.51 ... 1.00 (50 points) -> 2/3.
    expected = (51 + 50 * 2 / 3) / 101  # 0.83498...; counting A twice would give 1.0
    r = mean_average_precision([pred([A, A, B], [0.9, 0.8, 0.7])], [target([A, B])])
    assert r["map"] == pytest.approx(expected, abs=1e-12)


def test_detection_matches_best_iou_ground_truth():
    # D1 overlaps G1 = A with IoU 70/130 and G2 with IoU 90/110: it takes G2 (best IoU,
    # not the first), so D2 = A still finds G1 unmatched; both are TPs at IoU 0.5.
    g2, d1 = [4.0, 0.0, 14.0, 10.0], [3.0, 0.0, 13.0, 10.0]
    r = mean_average_precision([pred([d1, A], [0.9, 0.8])], [target([A, g2])],
                               iou_thresholds=[0.5])
    assert r["map"] == 1.0


def test_wrong_label_is_a_false_positive():
    # Class 0: gt A, detections A (0.8) -> AP 1. Class 1: gt B, detections A labelled 1
    # (0.9, FP for class 1) then B (0.7): precision 0, 1/2 -> AP 1/2. mAP = 3/4.
    targets = [target([A, B], [0, 1])]
    preds = [pred([A, A, B], [0.9, 0.8, 0.7], [1, 0, 1])]
    r = mean_average_precision(preds, targets)
    assert r["per_class"].tolist() == pytest.approx([1.0, 0.5], abs=1e-12)
    assert r["map"] == pytest.approx(0.75, abs=1e-12)
    # Only a wrong label: class 0 is missed (0), class 1 has no gt (-1, left out).
    r = mean_average_precision([pred([A], [0.9], [1])], [target([A], [0])])
    assert r["map"] == 0.0 and r["per_class"].tolist() == [0.0, -1.0]
    assert r["classes"] == [0]


def test_multiple_images_do_not_share_ground_truth():
    # Image 0: gt A; image 1: gt B. Detections by score: B in image 0 (0.9, FP: B is
    # image 1's object), B in image 1 (0.8, TP), A in image 0 (0.7, TP); 2 gts in all.
    # Precision 0, 1/2, 2/3 -> monotone 2/3 everywhere: AP = 2/3 (pooled images: 1).
    targets = [target([A]), target([B])]
    preds = [pred([B, A], [0.9, 0.7]), pred([B], [0.8])]
    r = mean_average_precision(preds, targets)
    assert r["map"] == pytest.approx(2 / 3, abs=1e-12)


def test_image_without_predictions_lowers_recall():
    # Two images with one gt each, only image 0 predicted: recall stops at 1/2, so the
    # 51 recall points 0.00 ... 0.50 get precision 1 and the other 50 get 0.
    r = mean_average_precision([pred([A], [0.9]), {"boxes": torch.zeros(0, 4),
                                "scores": torch.zeros(0), "labels": torch.zeros(0)}],
                               [target([A]), target([B])])
    assert r["map"] == pytest.approx(51 / 101, abs=1e-12)


def test_classes_without_ground_truth_and_empty_inputs():
    r = mean_average_precision([], [])
    assert (r["map"], r["map_50"], r["map_75"]) == (-1.0, -1.0, -1.0)
    assert r["per_class"].numel() == 0
    # Detections but no ground truth at all: every class is -1, so are the means.
    r = mean_average_precision([pred([A], [0.9])], [target([])], num_classes=3)
    assert r["map"] == -1.0 and r["per_class"].tolist() == [-1.0] * 3
    # An image with neither gt nor detections changes nothing.
    one = mean_average_precision([pred([FAR, A], [0.9, 0.8])], [target([A])])
    two = mean_average_precision([pred([FAR, A], [0.9, 0.8]), pred([], [])],
                                 [target([A]), target([])])
    assert one["map"] == two["map"]


def test_max_detections_keeps_top_scores_per_image_and_class():
    # Three FPs above the TP: with max_detections=3 the TP is cut off (AP 0).
    preds = [pred([FAR, FAR, FAR, A], [0.9, 0.8, 0.7, 0.6])]
    assert mean_average_precision(preds, [target([A])], max_detections=3)["map"] == 0.0
    # Kept: precision 1/4 at recall 1 everywhere.
    assert mean_average_precision(preds, [target([A])])["map"] == pytest.approx(0.25)


def test_order_of_equal_scores_is_stable():
    # Tie at 0.9: the FP listed first ranks first (precision 0, 1/2 -> AP 1/2); listed
    # second, the TP ranks first (AP 1).
    assert mean_average_precision([pred([FAR, A], [0.9, 0.9])],
                                  [target([A])])["map"] == pytest.approx(0.5)
    assert mean_average_precision([pred([A, FAR], [0.9, 0.9])],
                                  [target([A])])["map"] == 1.0


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="preds has 1 images but targets has 0"):
        mean_average_precision([pred([A], [0.9])], [])
    with pytest.raises(ValueError, match=r"preds\[0\]\['boxes'\] must be \(k, 4\)"):
        mean_average_precision([{"boxes": torch.zeros(2, 3), "scores": torch.zeros(2),
                                 "labels": torch.zeros(2)}], [target([A])])
    with pytest.raises(ValueError, match=r"preds\[0\]\['scores'\] has 2 entries"):
        mean_average_precision([pred([A], [0.9, 0.8])], [target([A])])
    with pytest.raises(ValueError, match=r"targets\[0\]\['labels'\] must be >= 0"):
        mean_average_precision([pred([A], [0.9])], [target([A], [-1])])
    with pytest.raises(ValueError, match="num_classes=1 but a label is 2"):
        mean_average_precision([pred([A], [0.9])], [target([A], [2])], num_classes=1)
    with pytest.raises(ValueError, match="iou_thresholds"):
        mean_average_precision([pred([A], [0.9])], [target([A])], iou_thresholds=[1.5])
    with pytest.raises(KeyError, match="has no 'scores'"):
        mean_average_precision([{"boxes": torch.zeros(0, 4), "labels": []}], [target([])])


def test_detections_to_preds_drops_background_rows():
    out = torch.tensor([[[0, 0.9, *A], [-1, 0.8, *B], [1, 0.7, *B]],
                        [[-1, 0.5, *A], [-1, 0.4, *B], [-1, 0.3, *C]]])
    preds = detections_to_preds(out)
    assert len(preds) == 2
    assert preds[0]["labels"].tolist() == [0, 1] and preds[0]["labels"].dtype == torch.int64
    assert preds[0]["scores"].tolist() == pytest.approx([0.9, 0.7])
    assert preds[0]["boxes"].tolist() == [A, B]
    assert preds[1]["boxes"].shape == (0, 4) and preds[1]["labels"].numel() == 0
    targets = labels_to_targets(torch.tensor([[[0, *A], [-1, 0, 0, 0, 0]],
                                              [[1, *B], [0, *C]]]))
    assert targets[0]["labels"].tolist() == [0] and targets[1]["boxes"].tolist() == [B, C]
    r = mean_average_precision(preds, targets)
    # Class 0: gts A (img 0), C (img 1); only A found -> 51/101. Class 1: gt B (img 1),
    # the only detection is B in image 0 -> 0.
    assert r["per_class"].tolist() == pytest.approx([51 / 101, 0.0])
    assert math.isclose(r["map"], 51 / 202)
    with pytest.raises(ValueError, match=r"output must be \(batch, anchors, 6\)"):
        detections_to_preds(torch.zeros(3, 6))
    with pytest.raises(ValueError, match=r"labels must be \(batch, objects, 5\)"):
        labels_to_targets(torch.zeros(3, 5))

"""Run limits (D2L_FAST_DEV_RUN, D2L_TIME_LIMIT) in every loop, and the run log."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from d2lhelpers import runtime
from d2lhelpers.kaggle import FrozenFeaturesNet, evaluate_loss, train_head
from d2lhelpers.runtime import Limited, expect, fast_dev_run, rehearsal, time_limit
from d2lhelpers.train import evaluate, train_classifier

QUIET = dict(devices=[torch.device("cpu")], plot=False, progress=False, verbose=False)


@pytest.fixture(autouse=True)
def _no_knobs(monkeypatch):
    for name in ("D2L_FAST_DEV_RUN", "D2L_TIME_LIMIT", "D2L_RUN_LOG"):
        monkeypatch.delenv(name, raising=False)


class Counting:
    """Batches of a linear problem; counts how many were taken."""

    def __init__(self, n: int, batch: int = 8):
        torch.manual_seed(0)
        self.X, self.taken, self.n, self.batch = torch.randn(n * batch, 2), 0, n, batch

    def __len__(self):
        return self.n

    def __iter__(self):
        for i in range(self.n):
            self.taken += 1
            xb = self.X[i * self.batch:(i + 1) * self.batch]
            yield xb, (xb[:, 0] > 0).long()


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", " "])
def test_bad_knob_values_name_the_variable(monkeypatch, value):
    monkeypatch.setenv("D2L_FAST_DEV_RUN", value)
    if value.strip():
        with pytest.raises(ValueError, match=r"D2L_FAST_DEV_RUN=.* must be a positive integer"):
            fast_dev_run()
    else:
        assert fast_dev_run() is None       # blank: unset
    monkeypatch.setenv("D2L_TIME_LIMIT", "soon")
    with pytest.raises(ValueError, match="D2L_TIME_LIMIT='soon' must be a positive number"):
        time_limit()


def test_limited_is_a_no_op_without_knobs():
    data = Counting(5)
    assert len(Limited(data)) == 5 and len(list(Limited(data))) == 5
    assert rehearsal() is None


def test_fast_dev_run_cuts_every_loop(monkeypatch):
    monkeypatch.setenv("D2L_FAST_DEV_RUN", "2")
    assert rehearsal() == "D2L_FAST_DEV_RUN=2"
    train, test = Counting(10), Counting(10)
    net = nn.Linear(2, 2)
    history = train_classifier(net, train, test, nn.CrossEntropyLoss(reduction="none"),
                               torch.optim.SGD(net.parameters(), lr=0.1), 3, **QUIET)
    assert history["epoch"].tolist() == [1, 2]           # 2 of 3 epochs, each of 2 batches
    assert train.taken == 2 * 2 and test.taken == 2 * 2
    assert 0 <= evaluate(net, Counting(10)) <= 1


def test_fast_dev_run_cuts_the_kaggle_head_and_its_evaluation(monkeypatch):
    monkeypatch.setenv("D2L_FAST_DEV_RUN", "1")
    torch.manual_seed(0)
    net = FrozenFeaturesNet(nn.Linear(2, 3), 3, 2)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    train, valid = Counting(6), Counting(6)
    history = train_head(net, train, valid, opt, torch.optim.lr_scheduler.StepLR(opt, 1), 2,
                         torch.device("cpu"), plot=False)
    assert len(history) == 1 and train.taken == 1 and valid.taken == 1
    assert evaluate_loss(net, Counting(4), nn.CrossEntropyLoss(reduction="none"), "cpu")[1] >= 0


def test_a_time_limit_stops_the_training_at_a_batch_boundary(monkeypatch):
    monkeypatch.setenv("D2L_TIME_LIMIT", "0.05")

    class Slow(Counting):
        def __iter__(self):
            for batch in super().__iter__():
                time.sleep(0.02)
                yield batch

    train = Slow(20)
    net = nn.Linear(2, 2)
    history = train_classifier(net, train, None, nn.CrossEntropyLoss(reduction="none"),
                               torch.optim.SGD(net.parameters(), lr=0.1), 5, **QUIET)
    assert len(history) == 1 and 2 <= train.taken <= 5   # one short epoch, then no more


def test_style_transfer_iterations_are_bounded(monkeypatch):
    from d2lhelpers.style_transfer import demo_vgg19_features, extract_features, feature_net, preprocess, synthesize
    monkeypatch.setenv("D2L_FAST_DEV_RUN", "3")
    net = feature_net(demo_vgg19_features(width=4), [0, 5, 25])
    X = preprocess(Image.fromarray(np.full((32, 48, 3), 128, np.uint8)), (32, 48))
    contents, _ = extract_features(X, net, [25], [0, 5])
    _, styles = extract_features(X.flip(-1), net, [25], [0, 5])
    result = synthesize(X, contents, styles, net, 0.1, 500, 50, [25], [0, 5], snapshot_every=100)
    assert len(result.history) == 3 and result.history["epoch"].tolist() == [1, 2, 3]


def test_expect_asserts_unless_rehearsing(monkeypatch, capsys):
    expect(True, "fine")
    with pytest.raises(AssertionError, match="expected: the loss falls"):
        expect(False, "the loss falls")
    monkeypatch.setenv("D2L_FAST_DEV_RUN", "1")
    expect(False, "the loss falls")                     # skipped, and it says so
    assert "not checked on a bounded run: the loss falls" in capsys.readouterr().out


def test_the_run_log_gets_one_line_per_training(tmp_path, monkeypatch):
    log = tmp_path / "runs.jsonl"
    monkeypatch.setenv("D2L_RUN_LOG", str(log))
    monkeypatch.setenv("D2L_NOTEBOOK", "01-image-augmentation")
    for name in ("flip", "none"):
        net = nn.Linear(2, 2)
        train_classifier(net, Counting(4), None, nn.CrossEntropyLoss(reduction="none"),
                         torch.optim.SGD(net.parameters(), lr=0.1), 2, run_name=name, **QUIET)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["run"] for r in records] == ["flip", "none"]
    first = records[0]
    assert first["notebook"] == "01-image-augmentation" and first["trainer"] == "train_classifier"
    assert first["precision"] == "float32" and first["device"] == "cpu" and first["finite"]
    assert len(first["epochs"]) == 2 and all(e["examples_per_sec"] > 0 for e in first["epochs"])
    assert first["peak_memory_bytes"] is None and first["rehearsal"] is None


def test_no_run_log_without_the_variable(tmp_path):
    runtime.log_run("x", None, torch.device("cpu"), None, [], True)   # a no-op
    assert list(tmp_path.iterdir()) == []

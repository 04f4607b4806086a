from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from d2lhelpers.data import loaders
from d2lhelpers.train import (TrainingDiverged, accuracy_counts, checkpoint_file, evaluate,
                              train_classifier)

CPU = [torch.device("cpu")]
COLUMNS = ["epoch", "train_loss", "train_acc", "test_acc", "examples_per_sec", "epoch_seconds"]
QUIET = dict(devices=CPU, plot=False, progress=False, verbose=False)


def separable(n: int, seed: int = 0) -> TensorDataset:
    """Two classes on either side of a line through the origin, with a margin."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(4 * n, 2, generator=g)
    score = X @ torch.tensor([1.5, -1.0])
    keep = score.abs() > 0.3
    X, score = X[keep][:n], score[keep][:n]
    return TensorDataset(X, (score > 0).long())


def ce():
    return nn.CrossEntropyLoss(reduction="none")


# ---------------------------------------------------------------- accuracy_counts

def test_accuracy_counts_image_labels():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]])
    y = torch.tensor([0, 2, 2, 1])
    correct, count = accuracy_counts(logits, y)
    assert isinstance(correct, torch.Tensor) and isinstance(count, torch.Tensor)
    assert (correct.item(), count.item()) == (2, 4)


def test_accuracy_counts_ignores_index_per_pixel():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 5, 6)
    pred = logits.argmax(1)
    y = torch.randint(0, 4, (3, 5, 6))
    y[:, :2] = pred[:, :2]  # some right answers for sure
    y[0, 0, :3] = 255  # void pixels, a few of them on right answers' places
    y[2, 4, :] = 255
    correct, count = accuracy_counts(logits, y, ignore_index=255)
    valid = y != 255
    exp_correct = sum(int(pred[n, i, j] == y[n, i, j]) for n in range(3) for i in range(5)
                      for j in range(6) if y[n, i, j] != 255)
    assert count.item() == int(valid.sum()) == 3 * 5 * 6 - 3 - 6
    assert correct.item() == exp_correct
    assert accuracy_counts(logits, y)[1].item() == 3 * 5 * 6  # without ignore_index all count


# ---------------------------------------------------------------- train_classifier

def test_learns_separable_problem_and_returns_history():
    torch.manual_seed(0)
    train = DataLoader(separable(512), batch_size=32, shuffle=True)
    test = DataLoader(separable(256, seed=1), batch_size=64)
    net = nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    history = train_classifier(net, train, test, ce(), opt, 4, **QUIET)
    assert list(history.columns) == COLUMNS
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert history["test_acc"].iloc[-1] > 0.95
    assert history["train_acc"].iloc[-1] > 0.95
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert (history["examples_per_sec"] > 0).all() and (history["epoch_seconds"] > 0).all()
    assert evaluate(net, test) == pytest.approx(history["test_acc"].iloc[-1])


def test_verbose_summary_and_no_test_iter(capsys):
    torch.manual_seed(0)
    net = nn.Linear(2, 2)
    history = train_classifier(net, DataLoader(separable(64), batch_size=16), None, ce(),
                               torch.optim.SGD(net.parameters(), lr=0.1), 2, devices=CPU,
                               plot=True, progress=False, verbose=True)
    assert len(history) == 2 and history["test_acc"].isna().all()
    out = capsys.readouterr().out
    assert "train acc" in out and "examples/sec on cpu" in out


def test_mean_loss_is_rejected_clearly():
    net = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="reduction='none'"):
        train_classifier(net, DataLoader(separable(32), batch_size=8), None,
                         nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=0.1), 1,
                         **QUIET)


@pytest.mark.parametrize("empty", [[], DataLoader(TensorDataset(torch.zeros(0, 2)), batch_size=4)])
def test_no_batches_is_an_error(empty):
    net = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="no batches"):
        train_classifier(net, empty, None, ce(), torch.optim.SGD(net.parameters(), lr=0.1), 1,
                         **QUIET)


def test_negative_epochs_rejected():
    net = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="num_epochs"):
        train_classifier(net, [], None, ce(), torch.optim.SGD(net.parameters(), lr=0.1), -1,
                         **QUIET)


class NaNFromEpoch:
    """Clean batches until epoch ``bad_epoch`` (1-based), then a batch with a NaN."""

    def __init__(self, data: TensorDataset, bad_epoch: int):
        self.data, self.bad_epoch, self.epoch = data, bad_epoch, 0

    def __len__(self):
        return 4

    def __iter__(self):
        self.epoch += 1
        X, y = self.data.tensors
        for i in range(4):
            xb = X[i * 8:(i + 1) * 8].clone()
            if self.epoch >= self.bad_epoch and i == 2:
                xb[3, 0] = float("nan")
            yield xb, y[i * 8:(i + 1) * 8]


@pytest.mark.parametrize("log_every", [1, 50])
def test_nan_loss_raises_training_diverged_naming_epoch(tmp_path, log_every):
    torch.manual_seed(0)
    net = nn.Linear(2, 2)
    ckpt = tmp_path / "ck.pt"
    with pytest.raises(TrainingDiverged, match="epoch 3") as info:
        train_classifier(net, NaNFromEpoch(separable(32), bad_epoch=3), None, ce(),
                         torch.optim.SGD(net.parameters(), lr=0.1), 5, checkpoint=ckpt,
                         log_every=log_every, **QUIET)
    assert isinstance(info.value, FloatingPointError)
    assert str(ckpt) in str(info.value)  # points at the last good checkpoint
    assert torch.load(ckpt, weights_only=False)["epoch"] == 2


@pytest.mark.parametrize("lr,diverges", [(0.01, False), (10.0, True)])
def test_huge_learning_rate_diverges(lr, diverges):
    torch.manual_seed(0)
    net = nn.Linear(2, 2)
    X = torch.randn(64, 2)
    data = DataLoader(TensorDataset(X, (X[:, 0] > 0).long()), batch_size=8)

    def squared(out, y):
        return (out - nn.functional.one_hot(y, 2).float()).pow(2).sum(1)

    def run():
        return train_classifier(net, data, None, squared, torch.optim.SGD(net.parameters(), lr=lr),
                                3, **QUIET)
    if diverges:  # gradient descent on a quadratic with too large a step explodes
        with pytest.raises(TrainingDiverged, match=r"epoch 2 .*no checkpoint"):
            run()
    else:
        assert run()["train_loss"].iloc[-1] < 0.5


# ---------------------------------------------------------------- resume

class NoisyData(Dataset):
    """A random augmentation from torch's global RNG, and an optional one-time interruption."""

    def __init__(self, base: TensorDataset, fail_at_call: int | None = None):
        self.base, self.fail_at_call, self.calls = base, fail_at_call, 0

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        self.calls += 1
        if self.fail_at_call is not None and self.calls == self.fail_at_call:
            self.fail_at_call = None  # only on the first attempt
            raise RuntimeError("simulated interruption")
        X, y = self.base[i]
        return X + 0.3 * torch.randn(2), y


def _make_run(seed: int, data: NoisyData):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2),
                        nn.Linear(16, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    train = DataLoader(data, batch_size=16, shuffle=True)  # shuffling uses the global RNG
    test = DataLoader(separable(48, seed=2), batch_size=16)
    return net, opt, sched, train, test


EPOCHS, N, BS = 4, 128, 16


def test_resume_after_interruption_is_bit_identical(tmp_path, capsys):
    base = separable(N)
    net_a, opt_a, sched_a, train_a, test_a = _make_run(0, NoisyData(base))
    hist_a = train_classifier(net_a, train_a, test_a, ce(), opt_a, EPOCHS, scheduler=sched_a,
                              **QUIET)

    ckpt = tmp_path / "run" / "ck.pt"
    fail_at = 2 * N + 5 * BS + 3  # the middle of epoch 3
    data_b = NoisyData(base, fail_at_call=fail_at)
    net_b, opt_b, sched_b, train_b, test_b = _make_run(0, data_b)
    with pytest.raises(RuntimeError, match="simulated interruption"):
        train_classifier(net_b, train_b, test_b, ce(), opt_b, EPOCHS, scheduler=sched_b,
                         checkpoint=ckpt, **QUIET)
    assert data_b.calls == fail_at
    assert torch.load(ckpt, weights_only=False)["epoch"] == 2
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["ck.pt"]  # no temp files

    # "a new kernel": fresh objects and a different RNG state; the checkpoint restores it all
    net_c, opt_c, sched_c, train_c, test_c = _make_run(123, data_b)
    hist_c = train_classifier(net_c, train_c, test_c, ce(), opt_c, EPOCHS, scheduler=sched_c,
                              checkpoint=ckpt, devices=CPU, plot=False, progress=False,
                              verbose=True)
    assert "resumed from" in capsys.readouterr().out
    sd_a, sd_c = net_a.state_dict(), net_c.state_dict()
    assert sd_a.keys() == sd_c.keys()
    for k in sd_a:
        assert torch.equal(sd_a[k], sd_c[k]), k
    assert hist_c["epoch"].tolist() == list(range(1, EPOCHS + 1))
    for col in ["train_loss", "train_acc", "test_acc"]:
        assert hist_c[col].tolist() == hist_a[col].tolist(), col
    assert sched_c.last_epoch == sched_a.last_epoch == EPOCHS
    assert opt_c.param_groups[0]["lr"] == opt_a.param_groups[0]["lr"]
    for pa, pc in zip(net_a.parameters(), net_c.parameters()):
        assert torch.equal(opt_a.state[pa]["momentum_buffer"], opt_c.state[pc]["momentum_buffer"])
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["ck.pt"]

    # a finished run called again trains nothing and returns the stored history
    net_d, opt_d, sched_d, train_d, _ = _make_run(7, NoisyData(base))
    hist_d = train_classifier(net_d, train_d, None, ce(), opt_d, EPOCHS, scheduler=sched_d,
                              checkpoint=ckpt, **QUIET)
    assert hist_d["train_loss"].tolist() == hist_a["train_loss"].tolist()
    assert all(torch.equal(a, d) for a, d in zip(sd_a.values(), net_d.state_dict().values()))


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    torch.manual_seed(0)
    net = nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    train = DataLoader(separable(32), batch_size=8)
    ckpt = tmp_path / "ck.pt"
    train_classifier(net, train, None, ce(), opt, 1, checkpoint=ckpt, **QUIET)
    good = ckpt.read_bytes()
    real_save = torch.save

    def crashing_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        with open(f, "ab") as fh:
            fh.write(b"garbage")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(OSError, match="disk full"):
        train_classifier(net, train, None, ce(), opt, 2, checkpoint=ckpt, **QUIET)
    assert ckpt.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]
    assert torch.load(ckpt, weights_only=False)["epoch"] == 1


# ---------------------------------------------------------------- evaluate

class ModeProbe(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return self.lin(x)


@pytest.mark.parametrize("training", [True, False])
def test_evaluate_restores_mode_and_uses_eval_no_grad(training):
    net = ModeProbe().train(training)
    data = DataLoader(separable(20), batch_size=8)
    acc = evaluate(net, data)
    assert 0.0 <= acc <= 1.0
    assert net.seen == [(False, False)] * 3
    assert net.training is training


def test_evaluate_restores_mode_after_an_error():
    net = ModeProbe().train()

    def broken():
        yield torch.zeros(2, 2), torch.zeros(2, dtype=torch.long)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate(net, broken())
    assert net.training


def test_evaluate_accuracy_value():
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        net.bias.zero_()
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0], [5.0, 4.0]])
    y = torch.tensor([0, 1, 1, 1, 1])  # predictions 0,1,0,1,0 -> 3 of 5 right
    assert evaluate(net, DataLoader(TensorDataset(X, y), batch_size=2)) == pytest.approx(0.6)


# ---------------------------------------------------------------- host syncs

def _count_syncs(count_host_syncs, n_batches: int, log_every: int, epochs: int = 2) -> int:
    torch.manual_seed(0)
    net = nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    X = torch.randn(8 * n_batches, 2)
    train = [(X[i:i + 8], (X[i:i + 8, 0] > 0).long()) for i in range(0, len(X), 8)]
    test = [(X[:8], (X[:8, 0] > 0).long())]
    return count_host_syncs(train_classifier, net, train, test, ce(), opt, epochs,
                            log_every=log_every, **QUIET)


def test_no_host_sync_per_batch(count_host_syncs):
    few = _count_syncs(count_host_syncs, n_batches=4, log_every=1000)
    many = _count_syncs(count_host_syncs, n_batches=40, log_every=1000)
    assert 1 <= few <= 2 * 3  # a couple of read-backs per epoch (epoch end, evaluation)
    assert many == few  # independent of the number of batches
    logged = _count_syncs(count_host_syncs, n_batches=40, log_every=10)
    assert logged - many == 2 * (40 // 10)  # plus one per log_every batches


# ---------------------------------------------------------------- loaders

def test_data_loader_on_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    ds = separable(50)
    dl = loaders.data_loader(ds, 16, shuffle=False)
    assert dl.num_workers == 0 and dl.pin_memory is False and dl.persistent_workers is False
    assert [len(b[0]) for b in dl] == [16, 16, 16, 2]
    assert len(loaders.data_loader(ds, 16, shuffle=True, drop_last=True)) == 3
    assert loaders.default_workers() == 0


@pytest.mark.parametrize("bs", [0, -3])
def test_data_loader_rejects_bad_batch_size(bs):
    with pytest.raises(ValueError, match="batch_size"):
        loaders.data_loader(separable(8), bs, shuffle=False)


@pytest.mark.parametrize("cpus,expected", [(16, 8), (4, 3), (2, 1), (1, 1), (None, 1)])
def test_default_workers_with_cuda(monkeypatch, cpus, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(loaders.os, "cpu_count", lambda: cpus)
    assert loaders.default_workers() == expected


# ---------------------------------------------------------------- tuple outputs (detectors)

class TwoHeads(nn.Module):
    """A model returning a tuple, as SSD does: (constant extra, logits)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        return torch.zeros(1), self.lin(x)


def test_tuple_outputs_reach_loss_and_metric_whole():
    torch.manual_seed(0)
    net = TwoHeads()
    seen = []

    def loss(out, y):
        seen.append(type(out))
        return nn.functional.cross_entropy(out[1], y, reduction="none")

    def metric(out, y):
        return accuracy_counts(out[1], y)

    data = DataLoader(separable(200), batch_size=20, shuffle=True)
    history = train_classifier(net, data, data, loss, torch.optim.SGD(net.parameters(), lr=0.5),
                               5, metric=metric, **QUIET)
    assert set(seen) == {tuple}
    assert history["test_acc"].iloc[-1] > 0.95


def test_mean_reduction_scales_the_gradient_by_the_batch_size():
    def one_step(reduction):
        torch.manual_seed(0)
        net = nn.Linear(2, 2)
        X = torch.randn(16, 2)
        y = (X[:, 0] > 0).long()
        train_classifier(net, [(X, y)], None, ce(), torch.optim.SGD(net.parameters(), lr=0.1), 1,
                         loss_reduction=reduction, **QUIET)
        return net.weight.detach().clone(), nn.Linear(2, 2)

    torch.manual_seed(0)
    w0 = nn.Linear(2, 2).weight.detach().clone()
    w_sum, _ = one_step("sum")
    w_mean, _ = one_step("mean")
    assert torch.allclose(w_sum - w0, 16 * (w_mean - w0), atol=1e-6)
    with pytest.raises(ValueError, match="loss_reduction"):
        train_classifier(nn.Linear(2, 2), [], None, ce(), None, 1, loss_reduction="avg", **QUIET)


def _tiny_data():
    torch.manual_seed(0)
    X = torch.randn(32, 2)
    return [(X[i:i + 8], (X[i:i + 8, 0] > 0).long()) for i in range(0, 32, 8)]


def _fit(net, data, epochs, **kwargs):
    return train_classifier(net, data, None, ce(), torch.optim.SGD(net.parameters(), lr=0.1),
                            epochs, **kwargs, **QUIET)


def test_make_full_checkpoints_are_named_by_run_and_resume(tmp_path, monkeypatch):
    monkeypatch.delenv("D2L_CHECKPOINT_DIR", raising=False)
    assert checkpoint_file(run_name="finetune") is None  # not under make full: no checkpoints
    assert checkpoint_file(tmp_path / "x.pt", "finetune") == tmp_path / "x.pt"  # explicit wins
    monkeypatch.setenv("D2L_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("D2L_NOTEBOOK", "02-fine-tuning")
    assert checkpoint_file(run_name=None) is None        # an unnamed run is not checkpointed
    with pytest.raises(ValueError, match="run_name='a/b'"):
        checkpoint_file(run_name="a/b")
    data = _tiny_data()
    _fit(nn.Linear(2, 2), data, 2, run_name="finetune")
    _fit(nn.Linear(2, 2), data, 1, run_name="scratch")
    _fit(nn.Linear(2, 2), data, 1)                      # unnamed: no file
    runs = sorted(p.name for p in (tmp_path / "02-fine-tuning").iterdir())
    assert runs == ["finetune.pt", "scratch.pt"]
    # a relaunched notebook finds the finished run by its name and does not retrain
    again = nn.Linear(2, 2)
    history = _fit(again, data, 2, run_name="finetune")
    assert history["epoch"].tolist() == [1, 2]
    assert torch.equal(again.weight, torch.load(tmp_path / "02-fine-tuning" / "finetune.pt",
                                                weights_only=False)["model"]["weight"])


def test_a_skipped_training_does_not_shift_the_next_runs_checkpoint(tmp_path, monkeypatch):
    """The hazard of numbering runs by call order: in the first launch a cached pretraining
    is missing and trains, in the relaunch it is a cache hit and does not. The fine-tuning
    that follows must find its own checkpoint both times, never the pretraining's."""
    monkeypatch.setenv("D2L_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    monkeypatch.setenv("D2L_NOTEBOOK", "02-fine-tuning")
    data = _tiny_data()
    cache = tmp_path / "pretrained.pt"

    def pretrained() -> nn.Module:   # trains only on a cache miss, like demo_source_model
        net = nn.Linear(2, 2)
        if cache.exists():
            net.load_state_dict(torch.load(cache, weights_only=True))
        else:
            _fit(net, data, 3)    # a training of its own, cached by its own file
            torch.save(net.state_dict(), cache)
        return net

    class Interrupt(Exception):
        pass

    def interrupting(batches, stop_in_epoch):
        for epoch in range(10):
            for i, batch in enumerate(batches):
                if epoch + 1 == stop_in_epoch and i == 1:
                    raise Interrupt
                yield batch

    # first launch: the pretraining trains, the fine-tuning stops in its third epoch
    net = pretrained()
    with pytest.raises(Interrupt):
        train_classifier(net, _Epochs(interrupting(data, 3), len(data)), None, ce(),
                         torch.optim.SGD(net.parameters(), lr=0.1), 4, run_name="finetune",
                         **QUIET)
    saved = torch.load(tmp_path / "ckpt" / "02-fine-tuning" / "finetune.pt", weights_only=False)
    assert saved["epoch"] == 2 and len(saved["history"]) == 2

    # relaunch: a cache hit trains nothing, and the fine-tuning resumes from its own file
    net = pretrained()
    history = _fit(net, data, 4, run_name="finetune")
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert history["train_loss"].tolist()[:2] == [r["train_loss"] for r in saved["history"]]
    assert sorted(p.name for p in (tmp_path / "ckpt" / "02-fine-tuning").iterdir()) == \
        ["finetune.pt"]


class _Epochs:
    """Re-iterable batches from one generator: each pass takes ``n`` batches of it."""

    def __init__(self, batches, n: int):
        self.batches, self.n = batches, n

    def __len__(self):
        return self.n

    def __iter__(self):
        for _ in range(self.n):
            yield next(self.batches)


def test_first_batch_explains_an_empty_loader():
    ds = separable(10)
    assert loaders.first_batch(loaders.data_loader(ds, 4, shuffle=False))[0].shape == (4, 2)
    with pytest.raises(ValueError, match=r"dataset has 10 examples and the batch size is 16; "
                                         r"drop_last=True drops"):
        loaders.first_batch(loaders.data_loader(ds, 16, shuffle=False, drop_last=True))

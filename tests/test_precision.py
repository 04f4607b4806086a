"""The precision policy (one decision, by compute capability) and its gradient scaler."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import d2lhelpers.train as train
from d2lhelpers.checkpoints import Checkpoint
from d2lhelpers.train import Precision, autocast_dtype, describe_setup, train_classifier


@pytest.fixture
def gpu(monkeypatch):
    """``gpu(major, minor)``: pretend every CUDA device has that compute capability."""
    def install(major: int, minor: int) -> None:
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, minor))
    monkeypatch.delenv("D2L_PRECISION", raising=False)
    return install


@pytest.mark.parametrize("capability,expected", [
    ((7, 0), torch.float16),    # V100: no bf16 hardware
    ((7, 5), torch.float16),    # T4, Colab's free GPU
    ((8, 0), torch.bfloat16),   # A100
    ((9, 0), torch.bfloat16),   # H100
])
def test_autocast_dtype_follows_the_compute_capability(gpu, capability, expected):
    gpu(*capability)
    assert autocast_dtype("cuda") is expected
    assert autocast_dtype(torch.device("cuda", 0)) is expected


def test_the_cpu_trains_in_float32(gpu):
    gpu(9, 0)
    assert autocast_dtype("cpu") is None
    assert Precision("cpu").dtype is None and not Precision("cpu").scaler.is_enabled()


@pytest.mark.parametrize("forced,expected", [("fp16", torch.float16), ("bf16", torch.bfloat16),
                                             ("FP32", None)])
def test_d2l_precision_forces_a_choice_on_cuda(gpu, monkeypatch, forced, expected):
    gpu(9, 0)
    monkeypatch.setenv("D2L_PRECISION", forced)
    assert autocast_dtype("cuda") is expected
    assert autocast_dtype("cpu") is None   # the CPU stays float32


def test_a_bad_d2l_precision_names_the_variable(gpu, monkeypatch):
    gpu(8, 6)
    monkeypatch.setenv("D2L_PRECISION", "half")
    with pytest.raises(ValueError, match=r"D2L_PRECISION='half' must be one of \['bf16', 'fp16', 'fp32'\]"):
        autocast_dtype("cuda")


def test_float16_gets_a_gradient_scaler_and_trains():
    precision = Precision("cpu", dtype=torch.float16)   # CPU autocast can run float16 too
    assert precision.scaler.is_enabled() and "gradient scaling" in precision.name
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    X, y = torch.randn(64, 4), (torch.randn(64) > 0).long()
    losses = []
    for _ in range(20):
        opt.zero_grad()
        with precision.autocast():
            out = net(X)
        assert out.dtype == torch.float16
        loss = nn.functional.cross_entropy(out.float(), y)
        precision.backward_step(loss, opt)
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert precision.state_dict()["scale"] == 65536.0   # the scaler took part


def test_the_scaler_state_is_checkpointed_and_restored(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "autocast_dtype", lambda device: torch.float16)
    torch.manual_seed(0)
    data = [(torch.randn(8, 2), torch.randint(0, 2, (8,))) for _ in range(3)]
    net = nn.Linear(2, 2)
    ckpt = tmp_path / "fp16.pt"
    train_classifier(net, data, None, nn.CrossEntropyLoss(reduction="none"),
                     torch.optim.SGD(net.parameters(), lr=0.1), 2, checkpoint=ckpt,
                     devices=[torch.device("cpu")], plot=False, progress=False, verbose=False)
    saved = torch.load(ckpt, weights_only=False)["scaler"]
    fresh = Precision("cpu", dtype=torch.float16).state_dict()
    assert saved.keys() == fresh.keys() and saved != fresh   # six steps moved it on

    precision = Precision("cpu", dtype=torch.float16)   # a fresh scaler: resume replaces it
    Checkpoint(ckpt, nn.Linear(2, 2), torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1),
               precision=precision).resume(verbose=False)
    assert precision.state_dict() == saved


def test_describe_setup_names_mode_device_and_precision(monkeypatch):
    monkeypatch.delenv("D2L_FAST_DEV_RUN", raising=False)
    monkeypatch.delenv("D2L_TIME_LIMIT", raising=False)
    line = describe_setup("demo", "cpu")
    assert line.startswith("mode demo | device cpu (") and line.endswith("precision float32")
    monkeypatch.setenv("D2L_FAST_DEV_RUN", "2")
    assert "rehearsal: D2L_FAST_DEV_RUN=2" in describe_setup("full", "cpu")

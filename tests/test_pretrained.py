from __future__ import annotations

import functools
import json
import urllib.error

import pytest
import torch
import torchvision
from torch import nn

import d2lhelpers.demodata as demodata
import d2lhelpers.train as train
from d2lhelpers import pretrained
from d2lhelpers.download import DownloadError
from d2lhelpers.models import ResNet18
from d2lhelpers.pretrained import (DEMO_WIDTH, demo_source_model, pretrained_resnet18,
                                   untrained_resnet18)

SOURCE_CLASSES = len(demodata.SOURCE_CLASSES)


def count_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ---------------------------------------------------------------- untrained_resnet18

def test_untrained_demo_is_quarter_width_resnet18_with_given_outputs():
    torch.manual_seed(0)
    net = untrained_resnet18("demo", 2)
    assert isinstance(net, ResNet18)
    assert net.conv1.out_channels == DEMO_WIDTH == 16
    assert net.conv1.kernel_size == (7, 7) and isinstance(net.maxpool, nn.MaxPool2d)
    assert [net.layer1[0].conv1.out_channels, net.layer2[0].conv1.out_channels,
            net.layer3[0].conv1.out_channels, net.layer4[1].conv2.out_channels] == [16, 32, 64, 128]
    assert net.fc.in_features == 128 and net.fc.out_features == 2
    # the same architecture and parameter names as torchvision's, at a quarter of the width
    full = torchvision.models.resnet18(num_classes=2)
    assert net.state_dict().keys() == full.state_dict().keys()
    assert count_params(net) < count_params(full) / 10
    with torch.no_grad():
        assert net.eval()(torch.randn(3, 3, 64, 64)).shape == (3, 2)


def test_untrained_full_is_torchvision_resnet18():
    net = untrained_resnet18("full", 5)
    assert type(net) is torchvision.models.ResNet
    assert net.conv1.out_channels == 64 and net.fc.out_features == 5


@pytest.mark.parametrize("mode", ["bogus", ""])
def test_untrained_rejects_unknown_mode(mode):
    with pytest.raises(ValueError, match="mode="):
        untrained_resnet18(mode, 2)


def test_untrained_follows_the_mode_rule(monkeypatch):
    monkeypatch.setenv("D2L_MODE", "full")
    assert type(untrained_resnet18("auto", 2)) is torchvision.models.ResNet
    assert isinstance(untrained_resnet18("Demo", 2), ResNet18)   # case and spaces forgiven


# ---------------------------------------------------------------- pretrained_resnet18

@pytest.mark.parametrize("mode", ["bogus", "", "fulll"])
def test_pretrained_rejects_unknown_mode(mode, monkeypatch):
    monkeypatch.setattr(pretrained, "demo_source_model",
                        lambda *a, **k: pytest.fail("must not train for a bad mode"))
    with pytest.raises(ValueError, match="mode="):
        pretrained_resnet18(mode)


def test_pretrained_full_without_network_raises_download_error(monkeypatch, tmp_path, fake_hub):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    calls = fake_hub(urllib.error.URLError("no network in tests"))
    with pytest.raises(DownloadError) as caught:
        pretrained_resnet18("full")
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    assert calls == [url]
    message = str(caught.value)
    assert url in message and "no network in tests" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message


def test_pretrained_full_loads_the_imagenet_state_dict(fake_hub):
    torch.manual_seed(1)
    state = torchvision.models.resnet18().state_dict()
    calls = fake_hub(state)
    net = pretrained_resnet18("full")
    assert calls == [torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url]
    assert type(net) is torchvision.models.ResNet and net.fc.out_features == 1000
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())


def test_pretrained_demo_is_the_demo_source_model(monkeypatch):
    source = ResNet18(SOURCE_CLASSES, width=DEMO_WIDTH, stem="imagenet")
    monkeypatch.setattr(pretrained, "demo_source_model", lambda: (source, {"task": "x"}))
    assert pretrained_resnet18("demo") is source


# ---------------------------------------------------------------- demo_source_model

@pytest.fixture
def tiny_source(monkeypatch):
    """A few images per class, so that pretraining takes a second instead of half a minute."""
    calls = []
    real = demodata.make_shapes_source_demo

    def small(root=None, **kwargs):
        calls.append(root)
        return real(root, n_per_class=2, size=32)

    monkeypatch.setattr(pretrained, "make_shapes_source_demo", small)
    return calls


@pytest.fixture
def counted_training(monkeypatch):
    calls = []
    real = train.train_classifier

    @functools.wraps(real)
    def counting(*args, **kwargs):
        calls.append(args[5])  # num_epochs
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "train_classifier", counting)
    return calls


def test_demo_source_model_trains_once_then_loads_the_cache(tmp_path, tiny_source,
                                                            counted_training):
    root = tmp_path / "demo-root"
    net, info = demo_source_model(num_epochs=1, root=root)
    assert counted_training == [1]
    assert isinstance(net, ResNet18) and net.conv1.out_channels == DEMO_WIDTH
    assert net.fc.out_features == SOURCE_CLASSES
    assert not net.training  # ready to use
    assert info["task"] == f"{SOURCE_CLASSES}-class synthetic shapes"
    assert info["classes"] == sorted(demodata.SOURCE_CLASSES)  # ImageFolder order
    assert info["images"] == 2 * SOURCE_CLASSES and info["epochs"] == 1
    assert isinstance(info["train_acc"], float) and 0.0 <= info["train_acc"] <= 1.0

    # everything lives under root: the source images and the cached weights
    assert len(tiny_source) == 1
    assert any(root.glob("shapes-v*/shapes-source/train"))
    assert not list((tmp_path / "data").glob("**/shapes-v*"))  # nothing in D2L_DATA_DIR
    stem = f"resnet18-w{DEMO_WIDTH}-shapes-e1-s0"
    cached = sorted(p.name for p in (root / "pretrained").iterdir())
    assert cached == [f"{stem}.json", f"{stem}.pt"]  # no temporary files left
    assert json.loads((root / "pretrained" / f"{stem}.json").read_text()) == info

    net2, info2 = demo_source_model(num_epochs=1, root=root)
    assert counted_training == [1]  # loaded, not trained again
    assert net2 is not net and same_weights(net, net2)
    assert info2 == info and not net2.training
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(net(x), net2(x))  # the same model, in the same (eval) mode


def test_demo_source_model_default_root_is_the_data_dir(tmp_path, tiny_source,
                                                        counted_training):
    demo_source_model(num_epochs=1)
    demo = tmp_path / "data" / "demo"  # under conftest's D2L_DATA_DIR
    assert any(demo.glob("shapes-v*/shapes-source/train"))
    assert (demo / "pretrained" / f"resnet18-w{DEMO_WIDTH}-shapes-e1-s0.pt").is_file()
    demo_source_model(num_epochs=1, root=demo)
    assert counted_training == [1]  # the explicit root is the same cache
    demo_source_model(num_epochs=1, seed=1)
    assert counted_training == [1, 1]  # another seed is another model


def test_demo_source_model_leaves_the_callers_random_stream_alone(tmp_path, tiny_source):
    torch.manual_seed(123)
    expected = torch.rand(4)
    for _ in range(2):  # first call trains, second loads the cache: the same either way
        torch.manual_seed(123)
        demo_source_model(num_epochs=1, root=tmp_path / "r")
        assert torch.equal(torch.rand(4), expected)


def test_demo_source_model_is_seeded(tmp_path, tiny_source):
    torch.manual_seed(1)
    a, _ = demo_source_model(num_epochs=1, root=tmp_path / "a")
    torch.manual_seed(2)  # the caller's state does not matter, only ``seed``
    b, _ = demo_source_model(num_epochs=1, root=tmp_path / "b")  # trained again, same seed
    assert same_weights(a, b)
    c, _ = demo_source_model(num_epochs=1, seed=1, root=tmp_path / "c")
    assert not same_weights(a, c)

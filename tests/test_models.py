from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from d2lhelpers.models import Residual, ResNet18, resnet18_cifar, xavier_init_


def test_imagenet_stem_loads_torchvision_resnet18_strictly_and_matches():
    torch.manual_seed(0)
    tv = torchvision.models.resnet18()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so eval mode really uses them
        for m in tv.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    ours = ResNet18(1000, stem="imagenet")
    result = ours.load_state_dict(tv.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    tv.eval(), ours.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = tv(x), ours(x)
    assert got.shape == (2, 1000)
    assert torch.equal(got, expected)


def test_imagenet_stem_downsamples_by_32():
    net = ResNet18(5, width=8, stem="imagenet").eval()
    with torch.no_grad():
        assert net.features(torch.randn(1, 3, 64, 64)).shape == (1, 64, 2, 2)


@pytest.mark.parametrize("width,channels", [(64, 512), (16, 128)])
def test_cifar_stem_keeps_32x32_and_features_are_4x4(width, channels):
    net = resnet18_cifar(10, width=width).eval()
    assert isinstance(net, ResNet18)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        stem = net.maxpool(F.relu(net.bn1(net.conv1(x))))
        assert stem.shape == (2, width, 32, 32)
        assert net.features(x).shape == (2, channels, 4, 4)
        assert net(x).shape == (2, 10)


def test_cifar_in_channels():
    net = resnet18_cifar(3, width=4, in_channels=1).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 1, 32, 32)).shape == (2, 3)


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
@pytest.mark.parametrize("kwargs", [{"stem": "mnist"}, {"width": 0}, {"num_classes": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        ResNet18(**kwargs)


def test_residual_shortcut():
    assert Residual(8, 8).downsample is None
    block = Residual(8, 16, stride=2).eval()
    assert block.downsample is not None
    with torch.no_grad():
        assert block(torch.randn(1, 8, 10, 10)).shape == (1, 16, 5, 5)


def _fans(weight: torch.Tensor) -> tuple[int, int]:
    receptive = weight[0][0].numel() if weight.dim() > 2 else 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def test_xavier_init_changes_every_weight_zeroes_biases_and_has_xavier_std():
    torch.manual_seed(0)
    net = nn.Sequential(resnet18_cifar(10, width=16), nn.Conv2d(10, 12, 3, bias=True),
                        nn.Linear(12, 7))
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) > 20
    with torch.no_grad():
        for m in layers:
            if m.bias is not None:
                m.bias.fill_(0.3)
    before = [m.weight.detach().clone() for m in layers]
    bn_before = net[0].bn1.weight.detach().clone()
    assert xavier_init_(net) is net
    n_biases = 0
    for m, old in zip(layers, before):
        assert not torch.equal(m.weight, old), m
        if m.bias is not None:
            n_biases += 1
            assert torch.count_nonzero(m.bias) == 0
        fan_in, fan_out = _fans(m.weight)
        expected = math.sqrt(2.0 / (fan_in + fan_out))
        bound = math.sqrt(3.0) * expected  # xavier *uniform*: U(-bound, bound)
        assert m.weight.abs().max() <= bound + 1e-6
        if m.weight.numel() >= 200:  # enough samples for a 15% check of the std
            assert m.weight.std().item() == pytest.approx(expected, rel=0.15), m
    assert n_biases == 3  # fc of the ResNet, the extra conv and linear
    assert torch.equal(net[0].bn1.weight, bn_before)  # BatchNorm is not touched


def test_freeze_fixes_weights_and_batch_norm_statistics_but_not_the_kept_layer():
    import torchvision

    from d2lhelpers.models import freeze
    torch.manual_seed(0)
    net = ResNet18(num_classes=3, width=4, stem="imagenet")
    net.train()
    net(torch.randn(4, 3, 32, 32))          # move the BN statistics away from their init
    before = {k: v.clone() for k, v in net.state_dict().items()}
    freeze(net, keep=("fc",))
    assert [n for n, p in net.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert any(isinstance(m, torchvision.ops.FrozenBatchNorm2d) for m in net.modules())
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.5)
    net.train()
    for _ in range(3):
        opt.zero_grad()
        net(torch.randn(4, 3, 32, 32)).sum().backward()
        opt.step()
    after = net.state_dict()
    frozen = [k for k in after if not k.startswith("fc.")]
    assert len(frozen) > 60 and all(torch.equal(before[k], after[k]) for k in frozen)  # + stats
    assert not torch.equal(before["fc.weight"], after["fc.weight"])   # the kept layer learns

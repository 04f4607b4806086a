"""ResNet-18 in the two flavours the book uses, and weight initialisation.

``ResNet18(stem="cifar")`` is the CIFAR-style network of the augmentation section (3x3
stem, stride 1, no max-pool). ``ResNet18(stem="imagenet")`` has torchvision's layout and
parameter names, so torchvision's pretrained ``resnet18`` weights load into it; a smaller
``width`` gives the same architecture with fewer channels for demo runs on a CPU.
"""
from __future__ import annotations

import torch
import torchvision
from torch import nn
from torch.nn import functional as F

__all__ = ["Residual", "ResNet18", "freeze", "resnet18_cifar", "xavier_init_"]


# export: chapters/01-image-augmentation.ipynb
class Residual(nn.Module):
    """The basic residual block of ResNet-18: two 3x3 convolutions and a shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:  # 1x1 conv to match the shape
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + shortcut)


# export: chapters/01-image-augmentation.ipynb
class ResNet18(nn.Module):
    """ResNet-18: a stem, four stages of two residual blocks, global pooling, ``fc``.

    ``stem="cifar"``: 3x3 convolution with stride 1 and no max-pool (for 32x32 inputs);
    ``stem="imagenet"``: 7x7 convolution with stride 2 and a 3x3 max-pool, with the
    parameter names of ``torchvision.models.resnet18``. Stage widths are
    ``width * (1, 2, 4, 8)`` (64/128/256/512 by default).
    """

    def __init__(self, num_classes: int = 10, width: int = 64, stem: str = "cifar",
                 in_channels: int = 3):
        super().__init__()
        if stem not in ("cifar", "imagenet"):
            raise ValueError(f"stem={stem!r}: use 'cifar' or 'imagenet'")
        if width < 1 or num_classes < 1:
            raise ValueError(f"width={width} and num_classes={num_classes} must be positive")
        # registered in the order they run, as in torchvision's resnet18, so tools that
        # walk the children in order (e.g. torchvision's IntermediateLayerGetter) work
        if stem == "cifar":
            self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if stem == "cifar" else nn.MaxPool2d(3, 2, 1)
        widths = [width, 2 * width, 4 * width, 8 * width]
        self.layer1 = nn.Sequential(Residual(width, widths[0]), Residual(widths[0], widths[0]))
        self.layer2 = nn.Sequential(Residual(widths[0], widths[1], 2), Residual(widths[1], widths[1]))
        self.layer3 = nn.Sequential(Residual(widths[1], widths[2], 2), Residual(widths[2], widths[2]))
        self.layer4 = nn.Sequential(Residual(widths[2], widths[3], 2), Residual(widths[3], widths[3]))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[3], num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps of the last stage, before pooling."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


# export: chapters/01-image-augmentation.ipynb
def resnet18_cifar(num_classes: int = 10, width: int = 64, in_channels: int = 3) -> ResNet18:
    """The CIFAR-style ResNet-18 of the augmentation section (``width=16``: a quarter)."""
    return ResNet18(num_classes, width, stem="cifar", in_channels=in_channels)


# export: chapters/01-image-augmentation.ipynb
def xavier_init_(net: nn.Module) -> nn.Module:
    """Xavier-uniform init of every Conv2d and Linear weight (biases to zero), in place.

    All layers exist when this runs (no lazy layers), so none keeps its default init.
    """
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def freeze(module: nn.Module, keep: tuple[str, ...] = ()) -> nn.Module:
    """Freeze ``module`` in place except its children named in ``keep`` (e.g. ``("fc",)``).

    Frozen parameters get no gradients, and every ``BatchNorm2d`` becomes torchvision's
    ``FrozenBatchNorm2d`` with the same statistics and affine parameters: in training
    mode an ordinary batch-norm layer would still update its running mean and variance.
    """
    for name, child in module.named_children():
        if name in keep:
            continue
        if isinstance(child, nn.BatchNorm2d):
            device = next(iter(child.state_dict().values())).device
            frozen = torchvision.ops.FrozenBatchNorm2d(child.num_features, eps=child.eps).to(device)
            with torch.no_grad():
                if child.affine:
                    frozen.weight.copy_(child.weight)
                    frozen.bias.copy_(child.bias)
                if child.track_running_stats:
                    frozen.running_mean.copy_(child.running_mean)
                    frozen.running_var.copy_(child.running_var)
            setattr(module, name, frozen)
        else:
            freeze(child)
            child.requires_grad_(False)
    return module

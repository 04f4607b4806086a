"""Pretrained networks, real or demo: ResNet-18 (fine-tuning, FCN) and ResNet-34 (dogs).

Full mode loads torchvision's ImageNet weights. Demo mode cannot download them, so it
uses a quarter-width ResNet-18 of the same architecture that was pretrained briefly on
a *different* synthetic task (generic shapes) and cached; fine-tuning it on a demo set is
then a real, miniature transfer-learning experiment.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.transforms import v2

from .data.loaders import data_loader
from .demodata.source import make_shapes_source_demo
from .download import pretrained_state_dict
from .fileio import atomic_path, atomic_write_text
from .mode import resolve_mode
from .models import ResNet18
from .paths import demo_root

__all__ = ["DEMO_SOURCE_SIZE", "DEMO_WIDTH", "IMAGENET_MEAN", "IMAGENET_STD",
           "demo_source_model", "pretrained_backbone", "pretrained_resnet18",
           "untrained_resnet18"]

# The channel statistics of ImageNet, which every ImageNet-pretrained network expects
# its inputs normalised with (and the demo models, trained the same way, too).
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
DEMO_WIDTH = 16  # a quarter of ResNet-18's channels
DEMO_SOURCE_SIZE = 64


def untrained_resnet18(mode: str, num_classes: int) -> nn.Module:
    """A randomly initialised ResNet-18 (ImageNet layout) for training from scratch."""
    if resolve_mode(mode) == "full":
        return torchvision.models.resnet18(num_classes=num_classes)
    return ResNet18(num_classes, width=DEMO_WIDTH, stem="imagenet")


def pretrained_resnet18(mode: str) -> nn.Module:
    """ResNet-18 with pretrained weights: ImageNet (full) or the demo source model (demo)."""
    if resolve_mode(mode) == "full":
        net = torchvision.models.resnet18()
        net.load_state_dict(pretrained_state_dict(torchvision.models.ResNet18_Weights.IMAGENET1K_V1))
        return net
    return demo_source_model()[0]


def pretrained_backbone(mode: str) -> tuple[nn.Module, int]:
    """``(network, number of outputs)`` for the dog-breed features.

    Full mode: torchvision's ResNet-34 with ImageNet weights (``IMAGENET1K_V1``), whole,
    so its 1000 class scores are the features, as in the textbook. Demo mode: the
    quarter-width ResNet-18 pretrained on synthetic shapes (:func:`demo_source_model`),
    whole, with its shape scores.
    """
    if resolve_mode(mode) == "full":
        net = torchvision.models.resnet34()
        net.load_state_dict(pretrained_state_dict(torchvision.models.ResNet34_Weights.IMAGENET1K_V1))
    else:
        net = demo_source_model()[0]
    return net, net.fc.out_features


def demo_source_model(num_epochs: int = 14, seed: int = 0, root: str | os.PathLike | None = None
                      ) -> tuple[nn.Module, dict]:
    """The demo's "pretrained" model and facts about its pretraining (cached on disk).

    Trains a quarter-width ResNet-18 on the synthetic shapes source task the first time
    and caches the weights under ``<root>/pretrained`` (default root ``demo_root()``,
    which also holds the source images); later calls load them. The model is returned in
    eval mode either way, and the caller's random number stream is left untouched, so a
    notebook gives the same numbers whether or not the cache existed.
    """
    from .train import train_classifier

    root = demo_root(root)
    folder = root / "pretrained"
    stem = f"resnet18-w{DEMO_WIDTH}-shapes-e{num_epochs}-s{seed}"
    weights_path, info_path = folder / f"{stem}.pt", folder / f"{stem}.json"
    source = torchvision.datasets.ImageFolder(
        make_shapes_source_demo(root) / "train",
        transform=v2.Compose([v2.RandomResizedCrop(DEMO_SOURCE_SIZE, scale=(0.5, 1)),
                              v2.RandomHorizontalFlip(), v2.ToImage(),
                              v2.ToDtype(torch.float32, scale=True),
                              v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]))
    if weights_path.exists() and info_path.exists():
        with torch.random.fork_rng(devices=[]):  # building the net must not draw from it
            net = ResNet18(len(source.classes), width=DEMO_WIDTH, stem="imagenet")
        net.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        return net.eval(), json.loads(info_path.read_text(encoding="utf-8"))
    with torch.random.fork_rng(devices=[]):  # seeded CPU training; caller's stream untouched
        torch.default_generator.manual_seed(seed)
        net = ResNet18(len(source.classes), width=DEMO_WIDTH, stem="imagenet")  # seeded init
        loader = data_loader(source, 64, shuffle=True)
        optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
        # no run_name: this training is cached by its own file above, not checkpointed
        history = train_classifier(net, loader, None, nn.CrossEntropyLoss(reduction="none"),
                                   optimizer, num_epochs, devices=[torch.device("cpu")],
                                   plot=False, progress=False, verbose=False)
    net.eval()
    info = {"task": f"{len(source.classes)}-class synthetic shapes", "classes": source.classes,
            "images": len(source), "epochs": num_epochs,
            "train_acc": float(history["train_acc"].iloc[-1])}
    with atomic_path(weights_path) as tmp:
        torch.save(net.state_dict(), tmp)
    atomic_write_text(info_path, json.dumps(info, indent=2))
    return net, info

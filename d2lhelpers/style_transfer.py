"""Neural style transfer (Gatys et al.): features, losses and the synthesis loop.

The synthesised image is the only parameter; a frozen VGG-19 supplies the features. Full
mode uses torchvision's ImageNet VGG-19. Demo mode cannot download those weights (and a
full-width VGG-19 is too slow on a small CPU), so it uses the same 37-layer VGG-19 layout
at a quarter of the channels with *fixed random* weights, each convolution rescaled so
that its outputs have unit variance on a few sample photos (see :func:`demo_vgg19_features`).
Random convolutional features still capture colour and texture statistics through their
Gram matrices, which is what style transfer needs; they lack ImageNet's learned edges and
object parts, so the demo's pictures are rougher than the full mode's.

Known pitfall handled here: torchvision's VGG uses ``ReLU(inplace=True)``, which would
overwrite a stored convolution output; :func:`feature_net` rebuilds the layers with
out-of-place ReLUs so that every stored feature stays what the layer produced.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torchvision
from PIL import Image, UnidentifiedImageError
from torch import nn
from torchvision.transforms import v2

from .download import pretrained_state_dict
from .mode import resolve_mode
from .pretrained import IMAGENET_MEAN, IMAGENET_STD
from .runtime import Limited, log_run, reset_peak_memory
from .train import DeviceTimer, Precision, check_finite

__all__ = [
    "CONTENT_LAYERS", "CONTENT_WEIGHT", "DEMO_VGG_WIDTH", "STYLE_LAYERS", "STYLE_WEIGHT",
    "SynthesisResult", "SynthesizedImage", "TV_WEIGHT", "VGG19_CONFIG", "compute_loss",
    "content_loss", "demo_vgg19_features", "extract_features", "feature_net", "get_inits",
    "gram", "layer_names", "load_image", "postprocess", "preprocess", "style_loss",
    "synthesize", "tv_loss", "vgg19_features",
]

STYLE_LAYERS = [0, 5, 10, 19, 28]    # conv1_1, conv2_1, conv3_1, conv4_1, conv5_1
CONTENT_LAYERS = [25]                # conv4_4, the last convolution of the fourth block
CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT = 1, 1e4, 10
# torchvision's configuration "E" (VGG-19): channels of each 3x3 conv, "M" = 2x2 max-pool
VGG19_CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
DEMO_VGG_WIDTH = 16                  # a quarter of VGG-19's 64 first-stage channels


# ------------------------------------------------------------------------------- images

def load_image(path: str | os.PathLike) -> Image.Image:
    """The image at ``path`` as an RGB PIL image, with a clear error when it is unusable."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (check content_path / style_path "
                                "in the parameters cell; None uses the built-in images)")
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"{path} is not a readable image: {e}") from e


# export: chapters/12-style-transfer.ipynb
def preprocess(img: Image.Image, image_shape: tuple[int, int]) -> torch.Tensor:
    """A PIL image -> a normalised ``(1, 3, h, w)`` tensor, ``image_shape = (h, w)``."""
    transforms = v2.Compose([v2.Resize(image_shape, antialias=True), v2.ToImage(),
                             v2.ToDtype(torch.float32, scale=True),
                             v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    return transforms(img).unsqueeze(0)


# export: chapters/12-style-transfer.ipynb
def postprocess(img: torch.Tensor) -> Image.Image:
    """A normalised ``(1, 3, h, w)`` tensor -> a PIL image (values clipped to [0, 1])."""
    img = img[0].detach().float().cpu()
    mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    img = torch.clamp(img * std[:, None, None] + mean[:, None, None], 0, 1)
    return v2.functional.to_pil_image(img)


# ------------------------------------------------------------------------------ networks

def layer_names(features: nn.Sequential) -> list[str]:
    """VGG names of the layers: ``conv1_1, relu1_1, conv1_2, ..., pool1, conv2_1, ...``."""
    names, stage, index = [], 1, 0
    for layer in features:
        if isinstance(layer, nn.Conv2d):
            index += 1
            names.append(f"conv{stage}_{index}")
        elif isinstance(layer, nn.ReLU):
            names.append(f"relu{stage}_{index}")
        elif isinstance(layer, nn.MaxPool2d):
            names.append(f"pool{stage}")
            stage, index = stage + 1, 0
        else:
            names.append(type(layer).__name__)
    return names


def _vgg_layers(width: int) -> nn.Sequential:
    """VGG-19's ``features`` layout (37 layers, in-place ReLUs as in torchvision), with
    ``width * (1, 2, 4, 8, 8)`` channels in its five stages."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in VGG19_CONFIG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            out_channels = int(v) * width // 64
            layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                       nn.ReLU(inplace=True)]
            in_channels = out_channels
    return nn.Sequential(*layers)


def _calibration_images(image_shape: tuple[int, int] = (128, 192)) -> torch.Tensor:
    """Four of scikit-image's bundled photos (no download), preprocessed, as one batch."""
    from skimage import data as skdata
    photos = [skdata.astronaut(), skdata.coffee(), skdata.rocket(), skdata.immunohistochemistry()]
    return torch.cat([preprocess(Image.fromarray(p), image_shape) for p in photos])


def demo_vgg19_features(width: int = DEMO_VGG_WIDTH, seed: int = 0) -> nn.Sequential:
    """The demo's stand-in for VGG-19's features: same layout, fixed random weights.

    Every convolution gets He-normal weights (zero bias) from a generator seeded with
    ``seed`` (the caller's random stream is untouched), then each output channel is
    divided by its standard deviation on four bundled photos, layer by layer, so that all
    layers speak at a similar volume and the style layers' Gram matrices have comparable
    sizes. Returned frozen, in eval mode.
    """
    if width < 1:
        raise ValueError(f"width={width} must be positive")
    with torch.random.fork_rng(devices=[]):  # building layers must not draw from it
        features = _vgg_layers(width)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in features:
            if isinstance(layer, nn.Conv2d):
                fan_in = layer.in_channels * 9
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator)
                                   * math.sqrt(2.0 / fan_in))
                layer.bias.zero_()
        X = _calibration_images()
        for layer in features:
            Y = layer(X) if not isinstance(layer, nn.ReLU) else torch.relu(X)
            if isinstance(layer, nn.Conv2d):
                scale = Y.std(dim=(0, 2, 3)).clamp_min(1e-6)
                layer.weight /= scale[:, None, None, None]
                Y = Y / scale[None, :, None, None]       # the bias is zero
            X = Y
    return features.requires_grad_(False).eval()


def vgg19_features(mode: str) -> nn.Sequential:
    """VGG-19's ``features`` (convolutions, ReLUs, max-pools), frozen, in eval mode.

    Full mode: torchvision's ImageNet weights (``VGG19_Weights.IMAGENET1K_V1``, about
    550 MB, downloaded once; without network a :class:`~d2lhelpers.download.DownloadError`
    says where to put the file). Demo mode: :func:`demo_vgg19_features`.
    """
    if resolve_mode(mode) == "full":
        net = torchvision.models.vgg19()
        net.load_state_dict(pretrained_state_dict(torchvision.models.VGG19_Weights.IMAGENET1K_V1))
        return net.features.requires_grad_(False).eval()
    return demo_vgg19_features()


# export: chapters/12-style-transfer.ipynb
def feature_net(pretrained: nn.Sequential, layers: list[int]) -> nn.Sequential:
    """The layers of ``pretrained`` up to the highest index in ``layers``, frozen.

    Every ReLU is replaced by an out-of-place one: torchvision's ``ReLU(inplace=True)``
    would overwrite the output of the convolution before it, which we may have stored.
    """
    net = nn.Sequential(*[nn.ReLU() if isinstance(layer, nn.ReLU) else layer
                          for layer in list(pretrained)[:max(layers) + 1]])
    return net.requires_grad_(False).eval()


# export: chapters/12-style-transfer.ipynb
def extract_features(X: torch.Tensor, net: nn.Sequential, content_layers: list[int],
                     style_layers: list[int]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Run ``X`` through ``net`` layer by layer; keep the outputs of the chosen layers."""
    contents, styles = [], []
    for i, layer in enumerate(net):
        X = layer(X)
        if i in style_layers:
            styles.append(X)
        if i in content_layers:
            contents.append(X)
    return contents, styles


# ---------------------------------------------------------------------------------- losses

# export: chapters/12-style-transfer.ipynb
def content_loss(Y_hat: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of two feature maps (``Y`` is a fixed target)."""
    return torch.square(Y_hat - Y.detach()).mean()


# export: chapters/12-style-transfer.ipynb
def gram(X: torch.Tensor) -> torch.Tensor:
    """The Gram matrix of a ``(1, c, h, w)`` feature map, divided by ``c * h * w``."""
    num_channels, n = X.shape[1], X.numel() // X.shape[1]
    X = X.reshape((num_channels, n))
    return torch.matmul(X, X.T) / (num_channels * n)


# export: chapters/12-style-transfer.ipynb
def style_loss(Y_hat: torch.Tensor, gram_Y: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the Gram matrix of ``Y_hat`` and a fixed one."""
    return torch.square(gram(Y_hat) - gram_Y.detach()).mean()


# export: chapters/12-style-transfer.ipynb
def tv_loss(Y_hat: torch.Tensor) -> torch.Tensor:
    """Total variation: mean absolute difference of vertical and horizontal neighbours."""
    return 0.5 * (torch.abs(Y_hat[:, :, 1:, :] - Y_hat[:, :, :-1, :]).mean() +
                  torch.abs(Y_hat[:, :, :, 1:] - Y_hat[:, :, :, :-1]).mean())


# export: chapters/12-style-transfer.ipynb
def compute_loss(X, contents_Y_hat, styles_Y_hat, contents_Y, styles_Y_gram,
                 weights=(CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT)):
    """Weighted content, style and total-variation losses, and their sum."""
    content_weight, style_weight, tv_weight = weights
    contents_l = [content_loss(Y_hat, Y) * content_weight
                  for Y_hat, Y in zip(contents_Y_hat, contents_Y)]
    styles_l = [style_loss(Y_hat, Y) * style_weight
                for Y_hat, Y in zip(styles_Y_hat, styles_Y_gram)]
    tv_l = tv_loss(X) * tv_weight
    l = sum(contents_l) + sum(styles_l) + tv_l
    return contents_l, styles_l, tv_l, l


# ------------------------------------------------------------------------------- training

# export: chapters/12-style-transfer.ipynb
class SynthesizedImage(nn.Module):
    """The image being synthesised: its pixels are the model's only parameter."""

    def __init__(self, img_shape: tuple[int, ...]):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(*img_shape))

    def forward(self) -> torch.Tensor:
        return self.weight


# export: chapters/12-style-transfer.ipynb
def get_inits(X: torch.Tensor, lr: float, styles_Y: list[torch.Tensor]):
    """Start from ``X`` (the content image); precompute the style Gram matrices."""
    gen_img = SynthesizedImage(X.shape).to(X.device)
    with torch.no_grad():
        gen_img.weight.copy_(X)
    trainer = torch.optim.Adam(gen_img.parameters(), lr=lr)
    styles_Y_gram = [gram(Y) for Y in styles_Y]
    return gen_img, styles_Y_gram, trainer


@dataclass
class SynthesisResult:
    """What :func:`synthesize` returns."""

    image: torch.Tensor                 # the synthesised image, (1, 3, h, w), normalised
    history: pd.DataFrame               # per iteration: content, style, tv, total loss, lr
    snapshots: list[tuple[int, Image.Image]] = field(default_factory=list)
    seconds_per_iteration: float = float("nan")


# export: chapters/12-style-transfer.ipynb
def synthesize(X, contents_Y, styles_Y, net, lr, num_epochs, lr_decay_epoch,
               content_layers, style_layers, snapshot_every=50):
    """Optimise the pixels of an image that starts as ``X``; return a SynthesisResult
    (with a snapshot every ``snapshot_every`` iterations and one of the last).

    Adam on the image only, learning rate times 0.8 every ``lr_decay_epoch`` iterations.
    Losses stay on the device until the end (no host sync per iteration); the loop is
    timed with the device synchronised at both ends, and a NaN or infinite loss stops
    it with ``TrainingDiverged``. On a GPU the network runs under the device's mixed
    precision (the losses in float32).
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs={num_epochs} must be at least 1")
    gen_img, styles_Y_gram, trainer = get_inits(X, lr, styles_Y)
    scheduler = torch.optim.lr_scheduler.StepLR(trainer, lr_decay_epoch, 0.8)
    precision = Precision(X.device)
    losses, lrs, snapshots = [], [], []
    reset_peak_memory(X.device)
    timer = DeviceTimer(X.device)
    for epoch in Limited(range(num_epochs)):   # all of them, unless a rehearsal bounds it
        trainer.zero_grad()
        with precision.autocast():   # the frozen network in mixed precision on a GPU
            contents_Y_hat, styles_Y_hat = extract_features(gen_img(), net, content_layers,
                                                            style_layers)
        # the losses in float32: a Gram matrix sums many products
        contents_l, styles_l, tv_l, l = compute_loss(
            gen_img(), [Y.float() for Y in contents_Y_hat], [Y.float() for Y in styles_Y_hat],
            contents_Y, styles_Y_gram)
        precision.backward_step(l, trainer)
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.step()
        losses.append(torch.stack([sum(contents_l), sum(styles_l), tv_l, l]).detach())
        if (epoch + 1) % snapshot_every == 0:
            snapshots.append((epoch + 1, postprocess(gen_img())))
    seconds = timer.seconds()
    if not snapshots or snapshots[-1][0] != len(losses):   # and always the last iteration
        snapshots.append((len(losses), postprocess(gen_img())))
    history = pd.DataFrame(torch.stack(losses).cpu().numpy(),
                           columns=["content", "style", "tv", "total"])
    steps = len(history)
    log_run("synthesize", None, X.device, precision,
            [{"epoch_seconds": seconds, "examples_per_sec": steps / seconds}],
            finite=bool(history["total"].map(math.isfinite).all()))
    check_finite(float(history["total"].iloc[-1]), steps, None,
                 advice="lower the learning rate (lr) or the style weight")
    history.insert(0, "epoch", range(1, steps + 1))
    history["lr"] = lrs
    return SynthesisResult(gen_img().detach(), history, snapshots, seconds / steps)

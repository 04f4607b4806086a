"""Style transfer: stored features, losses, the synthesis loop, the networks and the images."""
from __future__ import annotations


import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn

from d2lhelpers import style_transfer as st
from d2lhelpers.demodata import make_style_painting
from d2lhelpers.style_transfer import (CONTENT_LAYERS, STYLE_LAYERS, compute_loss, content_loss,
                                       demo_vgg19_features, extract_features, feature_net, gram,
                                       layer_names, postprocess, preprocess, style_loss,
                                       synthesize, tv_loss, vgg19_features)

LAYERS = CONTENT_LAYERS + STYLE_LAYERS


@pytest.fixture(scope="module")
def vgg() -> nn.Sequential:
    """A narrow demo VGG-19 (width 4): the real layout, fast enough for tests."""
    return demo_vgg19_features(width=4)


def random_image(h: int = 32, w: int = 48, seed: int = 0) -> torch.Tensor:
    return torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------ stored features

def test_stored_features_equal_a_fresh_out_of_place_forward(vgg):
    """Every stored feature is exactly what its layer produced, as a fresh forward shows."""
    X = random_image()
    net = feature_net(vgg, LAYERS)
    with torch.no_grad():
        contents, styles = extract_features(X, net, CONTENT_LAYERS, STYLE_LAYERS)
    fresh_net = nn.Sequential(*[nn.ReLU() if isinstance(m, nn.ReLU) else m for m in vgg])
    assert len(styles) == len(STYLE_LAYERS) and len(contents) == len(CONTENT_LAYERS)
    for i, stored in zip(STYLE_LAYERS + CONTENT_LAYERS, styles + contents):
        with torch.no_grad():
            expected = fresh_net[:i + 1](X)
        assert torch.equal(stored, expected), f"layer {i} was changed after it was stored"
        assert isinstance(vgg[i], nn.Conv2d) and stored.min() < 0  # a raw conv output


def test_in_place_relu_would_overwrite_stored_features(vgg):
    """The pitfall itself: torchvision-style layers overwrite the stored conv output."""
    assert isinstance(vgg[1], nn.ReLU) and vgg[1].inplace  # like torchvision's VGG
    X = random_image()
    with torch.no_grad():
        fresh = vgg[0](X)
        stored, Y = None, X
        for i, layer in enumerate(vgg[:2]):
            Y = layer(Y)
            if i == 0:
                stored = Y
    assert not torch.equal(stored, fresh) and stored.min() == 0
    assert torch.equal(stored, torch.relu(fresh))


def test_feature_net_is_frozen_out_of_place_and_leaves_the_original_alone(vgg):
    net = feature_net(vgg, LAYERS)
    assert len(net) == max(LAYERS) + 1 == 29
    assert all(not m.inplace for m in net if isinstance(m, nn.ReLU))
    assert all(m.inplace for m in vgg if isinstance(m, nn.ReLU))  # the original is untouched
    assert not any(p.requires_grad for p in net.parameters()) and not net.training
    assert net[0] is vgg[0]  # the same (pretrained) convolutions, not copies


def test_gradients_flow_to_the_image_only(vgg):
    net = feature_net(vgg, LAYERS)
    X = random_image().requires_grad_()
    contents, styles = extract_features(X, net, CONTENT_LAYERS, STYLE_LAYERS)
    (sum(c.sum() for c in contents) + sum(gram(s).sum() for s in styles)).backward()
    assert X.grad is not None and X.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


# --------------------------------------------------------------------------------- losses

def test_gram_is_normalised_by_c_h_w():
    X = torch.arange(24, dtype=torch.float32).reshape(1, 2, 3, 4)
    flat = X.reshape(2, 12)
    assert torch.allclose(gram(X), flat @ flat.T / 24)
    # doubling the image size (same statistics) keeps the Gram matrix the same
    Y = torch.randn(1, 5, 6, 7)
    assert torch.allclose(gram(Y.repeat(1, 1, 2, 1)), gram(Y), atol=1e-6)


def test_losses_on_known_inputs():
    Y = torch.randn(1, 4, 5, 6)
    assert content_loss(Y, Y) == 0
    assert torch.isclose(content_loss(Y + 2, Y), torch.tensor(4.0))
    assert style_loss(Y, gram(Y)) == 0
    assert tv_loss(torch.full((1, 3, 8, 8), 0.7)) == 0
    stripes = torch.zeros(1, 1, 4, 4)
    stripes[..., ::2] = 1  # vertical stripes: every horizontal neighbour differs by 1
    assert torch.isclose(tv_loss(stripes), torch.tensor(0.5))
    # the style target is detached: no gradient reaches it
    target = gram(Y).requires_grad_()
    Y_hat = torch.randn(1, 4, 5, 6, requires_grad=True)
    style_loss(Y_hat, target).backward()
    assert target.grad is None and Y_hat.grad is not None


def test_compute_loss_uses_the_weights_1_1e4_10():
    assert (st.CONTENT_WEIGHT, st.STYLE_WEIGHT, st.TV_WEIGHT) == (1, 1e4, 10)
    X = torch.randn(1, 3, 8, 8)
    c_hat, c = [torch.randn(1, 4, 2, 2)], [torch.randn(1, 4, 2, 2)]
    s_hat, s = [torch.randn(1, 4, 2, 2), torch.randn(1, 8, 1, 1)], [torch.randn(1, 4, 2, 2),
                                                                     torch.randn(1, 8, 1, 1)]
    s_gram = [gram(y) for y in s]
    contents_l, styles_l, tv_l, total = compute_loss(X, c_hat, s_hat, c, s_gram)
    assert torch.isclose(contents_l[0], content_loss(c_hat[0], c[0]))
    for got, y_hat, g in zip(styles_l, s_hat, s_gram):
        assert torch.isclose(got, 1e4 * style_loss(y_hat, g))
    assert torch.isclose(tv_l, 10 * tv_loss(X))
    assert torch.isclose(total, contents_l[0] + sum(styles_l) + tv_l)


# ---------------------------------------------------------------------------- synthesis

def test_synthesize_updates_only_the_image_and_follows_the_schedule(vgg):
    net = feature_net(vgg, LAYERS)
    content, style = random_image(seed=1), random_image(seed=2)
    with torch.no_grad():
        contents_Y, _ = extract_features(content, net, CONTENT_LAYERS, STYLE_LAYERS)
        _, styles_Y = extract_features(style, net, CONTENT_LAYERS, STYLE_LAYERS)
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    result = synthesize(content, contents_Y, styles_Y, net, lr=0.3, num_epochs=12,
                        lr_decay_epoch=5, content_layers=CONTENT_LAYERS,
                        style_layers=STYLE_LAYERS, snapshot_every=4)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in weights.items())
    assert result.image.shape == content.shape and not result.image.requires_grad
    assert not torch.equal(result.image, content)
    h = result.history
    assert list(h.columns) == ["epoch", "content", "style", "tv", "total", "lr"]
    assert h["epoch"].tolist() == list(range(1, 13))
    assert h["lr"].tolist() == pytest.approx([0.3] * 5 + [0.24] * 5 + [0.192] * 2)
    assert h["content"].iloc[0] == 0  # the image starts as the content image
    assert h["style"].iloc[-1] < h["style"].iloc[0]
    assert np.allclose(h["total"], h["content"] + h["style"] + h["tv"], rtol=1e-5)
    assert [e for e, _ in result.snapshots] == [4, 8, 12]
    assert all(isinstance(img, Image.Image) and img.size == (48, 32) for _, img in result.snapshots)
    assert 0 < result.seconds_per_iteration < 10
    with pytest.raises(ValueError, match="num_epochs"):
        synthesize(content, contents_Y, styles_Y, net, 0.3, 0, 5, CONTENT_LAYERS, STYLE_LAYERS)


# ------------------------------------------------------------------------------ networks

def test_demo_vgg_has_vgg19_layout_at_a_quarter_width():
    demo = demo_vgg19_features()
    real = torchvision.models.vgg19().features
    assert [type(m) for m in demo] == [type(m) for m in real] and len(demo) == 37
    for d, r in zip(demo, real):
        if isinstance(r, nn.Conv2d):
            assert d.out_channels * 4 == r.out_channels and d.kernel_size == r.kernel_size
    names = layer_names(demo)
    assert names == layer_names(real)
    assert [names[i] for i in STYLE_LAYERS] == ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    assert [names[i] for i in CONTENT_LAYERS] == ["conv4_4"]
    assert not demo.training and not any(p.requires_grad for p in demo.parameters())


def test_demo_vgg_is_deterministic_calibrated_and_leaves_the_rng_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = demo_vgg19_features(width=4)
    assert torch.equal(torch.get_rng_state(), state)
    b = demo_vgg19_features(width=4)
    c = demo_vgg19_features(width=4, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a[0].weight, c[0].weight)
    # calibrated: every convolution's channels have unit std on the calibration photos
    X = st._calibration_images()
    with torch.no_grad():
        for layer in feature_net(a, [34]):
            X = layer(X)
            if isinstance(layer, nn.Conv2d):
                assert torch.allclose(X.std(dim=(0, 2, 3)), torch.ones(layer.out_channels),
                                      atol=1e-3)


def test_full_mode_loads_torchvision_vgg19_weights(monkeypatch):
    asked = []

    class FakeVGG(nn.Module):  # avoids building (and downloading) the 550 MB network
        def __init__(self):
            super().__init__()
            self.features = st._vgg_layers(4)

    def fake_state_dict(weights):
        asked.append(weights)
        return {"loaded": True}

    monkeypatch.setattr(torchvision.models, "vgg19", FakeVGG)
    monkeypatch.setattr(FakeVGG, "load_state_dict", lambda self, sd: asked.append(sd), raising=False)
    monkeypatch.setattr(st, "pretrained_state_dict", fake_state_dict)
    features = vgg19_features("full")
    assert asked == [torchvision.models.VGG19_Weights.IMAGENET1K_V1, {"loaded": True}]
    assert len(features) == 37 and not features.training
    assert not any(p.requires_grad for p in features.parameters())


def test_vgg19_features_follows_the_mode_rule(monkeypatch):
    with pytest.raises(ValueError, match="mode="):
        vgg19_features("bogus")
    monkeypatch.setenv("D2L_MODE", "demo")
    assert len(vgg19_features("auto")) == 37   # "auto" resolves like everywhere else


# -------------------------------------------------------------------------------- images

def test_preprocess_postprocess_round_trip():
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (30, 45, 3), dtype=np.uint8))
    X = preprocess(img, (30, 45))
    assert X.shape == (1, 3, 30, 45) and X.dtype == torch.float32
    assert abs(X.mean().item()) < 1.5  # normalised, roughly centred
    back = np.asarray(postprocess(X), dtype=int)
    assert np.abs(back - np.asarray(img, dtype=int)).max() <= 1
    assert preprocess(img, (20, 10)).shape == (1, 3, 20, 10)
    # values outside the displayable range are clipped, not wrapped
    assert np.asarray(postprocess(torch.full((1, 3, 4, 4), 100.0))).min() == 255


def test_style_painting_is_deterministic_and_sized():
    a, b = make_style_painting(60, 90), make_style_painting(60, 90)
    assert a.size == (90, 60) and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(make_style_painting(60, 90, seed=1)))
    assert np.asarray(a).std() > 20  # strokes, not a flat canvas
    with pytest.raises(ValueError):
        make_style_painting(4, 90)


def test_load_image_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        st.load_image(missing)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.png"):
        st.load_image(broken)
    good = tmp_path / "grey.png"
    Image.new("L", (5, 4), 128).save(good)
    assert st.load_image(good).mode == "RGB"

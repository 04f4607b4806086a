"""Transposed convolution by hand, against torch, and as the transpose of the conv matrix."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from d2lhelpers.segmentation.transposed_conv import corr2d, kernel2matrix, trans_conv

X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])


def test_the_books_examples() -> None:
    assert torch.equal(trans_conv(X, K), torch.tensor([[0.0, 0, 1], [0, 4, 6], [4, 12, 9]]))
    assert torch.equal(trans_conv(X, K, padding=1), torch.tensor([[4.0]]))
    assert torch.equal(trans_conv(X, K, stride=2), torch.tensor(
        [[0.0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]]))


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)])
def test_trans_conv_equals_conv_transpose2d(stride: int, padding: int) -> None:
    g = torch.Generator().manual_seed(stride * 10 + padding)
    Xr, Kr = torch.randn(4, 3, generator=g), torch.randn(3, 5, generator=g)
    ours = trans_conv(Xr, Kr, stride=stride, padding=padding)
    layer = nn.ConvTranspose2d(1, 1, kernel_size=(3, 5), stride=stride, padding=padding, bias=False)
    layer.weight.data = Kr[None, None]
    with torch.no_grad():
        theirs = layer(Xr[None, None])[0, 0]
    assert ours.shape == theirs.shape == ((4 - 1) * stride + 3 - 2 * padding,
                                          (3 - 1) * stride + 5 - 2 * padding)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_corr2d_equals_conv2d() -> None:
    g = torch.Generator().manual_seed(0)
    Xr, Kr = torch.randn(6, 7, generator=g), torch.randn(2, 3, generator=g)
    assert torch.allclose(corr2d(Xr, Kr), F.conv2d(Xr[None, None], Kr[None, None])[0, 0], atol=1e-5)


def test_kernel2matrix_is_the_books_4x9_matrix() -> None:
    W = kernel2matrix(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert torch.equal(W, torch.tensor([[1.0, 2, 0, 3, 4, 0, 0, 0, 0],
                                        [0, 1, 2, 0, 3, 4, 0, 0, 0],
                                        [0, 0, 0, 1, 2, 0, 3, 4, 0],
                                        [0, 0, 0, 0, 1, 2, 0, 3, 4]]))


@pytest.mark.parametrize("in_shape, k_shape", [((3, 3), (2, 2)), ((4, 6), (3, 2)), ((5, 5), (1, 4))])
def test_matrix_times_input_is_the_convolution_and_its_transpose_the_transposed_one(
        in_shape, k_shape) -> None:
    g = torch.Generator().manual_seed(sum(in_shape) + sum(k_shape))
    Kr = torch.randn(k_shape, generator=g)
    W = kernel2matrix(Kr, in_shape)
    out_shape = (in_shape[0] - k_shape[0] + 1, in_shape[1] - k_shape[1] + 1)
    assert W.shape == (out_shape[0] * out_shape[1], in_shape[0] * in_shape[1])
    Xr = torch.randn(in_shape, generator=g)
    assert torch.allclose((W @ Xr.reshape(-1)).reshape(out_shape), corr2d(Xr, Kr), atol=1e-5)
    Yr = torch.randn(out_shape, generator=g)
    assert torch.allclose((W.T @ Yr.reshape(-1)).reshape(in_shape), trans_conv(Yr, Kr), atol=1e-5)


def test_book_matrix_example_exactly() -> None:
    Xi, Ki = torch.arange(9.0).reshape(3, 3), torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    W, Y = kernel2matrix(Ki), corr2d(Xi, Ki)
    assert torch.equal(Y, torch.tensor([[27.0, 37.0], [57.0, 67.0]]))
    assert torch.equal(Y, (W @ Xi.reshape(-1)).reshape(2, 2))
    assert torch.equal(trans_conv(Y, Ki), (W.T @ Y.reshape(-1)).reshape(3, 3))


def test_shape_round_trip() -> None:
    x = torch.rand(1, 10, 16, 16)
    conv = nn.Conv2d(10, 20, kernel_size=5, padding=2, stride=3)
    tconv = nn.ConvTranspose2d(20, 10, kernel_size=5, padding=2, stride=3)
    with torch.no_grad():
        assert conv(x).shape == (1, 20, 6, 6)
        assert tconv(conv(x)).shape == x.shape


def test_inputs_must_be_matrices() -> None:
    with pytest.raises(ValueError, match=r"X must be a 2-D tensor.*\(1, 2, 2\)"):
        trans_conv(X[None], K)
    with pytest.raises(ValueError, match="K must be a 2-D tensor"):
        kernel2matrix(torch.ones(2))
    with pytest.raises(ValueError, match="X must be a 2-D tensor"):
        corr2d([[1.0]], K)

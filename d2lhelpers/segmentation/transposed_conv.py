"""Transposed convolution, written out by hand, and convolution as a matrix product.

``corr2d`` is the 2-D cross-correlation that deep-learning "convolution" layers compute;
``trans_conv`` is its transpose: every input element scales the kernel and adds it into
the output at the place the element maps to. ``kernel2matrix`` writes a convolution as
a matrix ``W``: the convolution is ``W @ x`` and the transposed convolution ``W.T @ y``.
These loops are for teaching and testing; networks use ``nn.ConvTranspose2d``.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..checks import check_matrix

__all__ = ["corr2d", "kernel2matrix", "trans_conv"]


# export: chapters/10-transposed-conv.ipynb
def corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """2-D cross-correlation of ``X`` with the kernel ``K`` (no padding, stride 1)."""
    check_matrix(X, "X")
    check_matrix(K, "K")
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


# export: chapters/10-transposed-conv.ipynb
def trans_conv(X: torch.Tensor, K: torch.Tensor, stride: int = 1, padding: int = 0
               ) -> torch.Tensor:
    """Transposed convolution of ``X`` with the kernel ``K``, by hand.

    Element ``X[i, j]`` adds ``X[i, j] * K`` into the output window whose top-left corner
    is ``(i * stride, j * stride)``; ``padding`` then removes that many rows and columns
    from each border of the result (a transposed convolution's padding shrinks it).
    The output is ``(n - 1) * stride + k - 2 * padding`` along each axis.
    """
    check_matrix(X, "X")
    check_matrix(K, "K")
    h, w = K.shape
    Y = torch.zeros(((X.shape[0] - 1) * stride + h, (X.shape[1] - 1) * stride + w))
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            Y[i * stride:i * stride + h, j * stride:j * stride + w] += X[i, j] * K
    return Y[padding:Y.shape[0] - padding, padding:Y.shape[1] - padding]


# export: chapters/10-transposed-conv.ipynb
def kernel2matrix(K: torch.Tensor, input_shape: Sequence[int] = (3, 3)) -> torch.Tensor:
    """The matrix ``W`` of the convolution with ``K`` on inputs of ``input_shape``.

    ``W`` has one row per output element and one column per input element, so that
    ``W @ X.reshape(-1)`` equals ``corr2d(X, K).reshape(-1)`` (both in row-major order).
    A 2x2 kernel on a 3x3 input gives a 4x9 matrix.
    """
    check_matrix(K, "K")
    kh, kw = K.shape
    in_h, in_w = input_shape
    out_h, out_w = in_h - kh + 1, in_w - kw + 1
    W = torch.zeros((out_h * out_w, in_h * in_w))
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):  # kernel row a touches input row i + a, columns j .. j + kw - 1
                start = (i + a) * in_w + j
                W[i * out_w + j, start:start + kw] = K[a]
    return W

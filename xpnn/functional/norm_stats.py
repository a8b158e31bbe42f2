"""The plumbing shared by the normalizations of norm.py and norm_layer.py: statistics over
some axes and the standardized backward, in raw arrays and in recorded ops (create_graph);
batch norm's (C, M) per-channel layout; the checks and gradients of the optional affine
weight and bias.

Xhat = (X - mean) / sqrt(var + eps) with the biased variance. With dXhat = dL/dXhat and M
values per statistic, the chain rule through mean and var gives (Ioffe & Szegedy 2015, eq.
after 3)

    dX = inv * (dXhat - mean(dXhat) - Xhat * mean(dXhat * Xhat)),   inv = 1/sqrt(var + eps).
"""
from __future__ import annotations

import math

from ..autograd import as_tensor
from .._errors import DtypeError, ShapeError
from .first_order import link


def _stats(xp, X, axes, eps):
    """(X - mean, biased variance, 1 / sqrt(var + eps)) over ``axes`` (the variance as the
    mean of squares: xp.var warns on torch when there are no values, an empty batch)."""
    C = X - xp.mean(X, axis=axes, keepdims=True)
    var = xp.mean(C * C, axis=axes, keepdims=True)
    return C, var, 1 / xp.sqrt(var + eps)


def _standardized_backward(xp, dXhat, Xhat, inv, axes):
    """dX from dXhat for Xhat standardized over ``axes`` (the formula in the module doc)."""
    m1 = xp.mean(dXhat, axis=axes, keepdims=True)
    m2 = xp.mean(dXhat * Xhat, axis=axes, keepdims=True)
    return _standardized_dx(dXhat, Xhat, inv, m1, m2)


def _standardized_dx(dXhat, Xhat, inv, m1, m2):
    """dX = -inv (Xhat m2 + m1 - dXhat) from the means m1 = mean(dXhat) and m2 =
    mean(dXhat Xhat) (broadcast over the normalized axes), built in place in one array
    instead of four (2048 x 128 float32: 0.61 -> 0.50 ms on NumPy)."""
    dX = Xhat * m2
    dX += m1
    dX -= dXhat
    dX *= -inv
    return dX


def _stats_graph(X, axes, eps):
    """:func:`_stats` of a Tensor in recorded ops (create_graph): (Xhat, inv)."""
    C = X - X.mean(dim=axes, keepdim=True)
    inv = ((C * C).mean(dim=axes, keepdim=True) + eps).rsqrt()
    return C * inv, inv


def _standardized_backward_graph(dXhat, Xhat, inv, axes):
    """:func:`_standardized_backward` of Tensors, recorded."""
    m1 = dXhat.mean(dim=axes, keepdim=True)
    m2 = (dXhat * Xhat).mean(dim=axes, keepdim=True)
    return inv * (dXhat - m1 - Xhat * m2)


def _affine_grads_graph(needs, affine, dY, Xhat, axes, tie=()):
    """The weight and bias gradients, recorded: sums of dY * Xhat and dY over ``axes``.

    tie: the node's inputs its bias gradient is linked to (no derivative in them): PyTorch's
    native_batch_norm_backward / native_layer_norm_backward outputs it, so it requires grad
    where X does, and differentiating it gives None."""
    def total(t):
        return t.sum(dim=axes) if axes else t
    bias = total(dY) if "bias" in affine else None
    grads = {"weight": total(dY * Xhat) if "weight" in affine else None,
             "bias": link(bias, *tie, zeros=False) if tie and bias is not None else bias}
    return _affine_grads(needs, affine, grads)


def _channel_shape(ndim):
    return (1, -1) + (1,) * (ndim - 2)


def per_channel(xp, A):
    """(N, C, *S) -> (C, prod(S)*N): channels first, the batch last. Free (a view) when A
    lies in (C, *S, N) memory, as conv outputs do (see conv.py); a copy otherwise."""
    nd = len(A.shape)
    return xp.reshape(xp.permute_dims(A, tuple(range(1, nd)) + (0,)),
                      (A.shape[1], math.prod(A.shape) // max(A.shape[1], 1)))


def from_per_channel(xp, Am, shape):
    """Inverse of :func:`per_channel`: (C, M) -> an (N, C, *S) view."""
    nd = len(shape)
    A = xp.reshape(Am, (shape[1],) + tuple(shape[2:]) + (shape[0],))
    return xp.permute_dims(A, (nd - 1,) + tuple(range(nd - 1)))


def _affine_grads(needs, names, grads):
    """The gradients of the optional affine inputs, in the order they were passed."""
    return tuple(grads[name] if need else None for name, need in zip(names, needs[1:]))


def _trailing(op, x, normalized_shape):
    """``normalized_shape`` as a tuple that ends ``x``'s shape, or a ValueError."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ShapeError(f"{op}: input of shape {x.shape} does not end with normalized_shape "
                         f"{shape}")
    return shape


def _affine(op, x, weight, bias, shape):
    """(the Tensors to pass: x, then weight and bias if given, checked against ``shape``;
    the names of the affine ones passed)."""
    args, names = [x], []
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is None:
            continue
        names.append(name)
        if tuple(t.shape) != tuple(shape):
            raise ShapeError(f"{op}: {name} of shape {tuple(t.shape)}, expected {tuple(shape)}"
                             f" for input of shape {x.shape}")
        if t.dtype != x.dtype:
            raise DtypeError(f"{op}: input dtype {x.dtype} differs from {name} dtype {t.dtype}")
        args.append(as_tensor(t, like=x, op=op))
    return args, tuple(names)

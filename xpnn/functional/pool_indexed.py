"""Pooling by index: adaptive max pooling (which keeps the index of each maximum) and max
unpooling (which puts values back at such indices), as PyTorch's.

Both are one node over flattened (sample, channel) planes: the forward gathers (``take``)
or scatter-adds (:func:`index_add`, native where the backend has one) at flat positions,
and the backward does the other. Split from pool.py, which holds the sliding-window pools.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, raw
from .conv import ntuple
from .._errors import IndexRangeError
from .first_order import link
from .indexing import index_add
from .pool import _batched, _output_size, _unbatch
from .pool_graph import scatter_to_positions, take_positions
from .shape import reshape


def _plane_offsets(xp, flat_idx, size, device):
    """(M, k) per-plane positions -> 1-D positions in the flattened (M * size) array."""
    M = flat_idx.shape[0]
    offsets = xp.reshape(xp.arange(M, dtype=flat_idx.dtype, device=device) * size, (M, 1))
    return xp.reshape(flat_idx + offsets, (-1,))


def _adaptive_bounds(n, o):
    """Window i of o over n positions: floor(i n / o) .. ceil((i + 1) n / o) - 1."""
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def _window_argmax(be, win):
    """The position along the last axis of each window's first maximum (the standard's
    argmax), or of its last NaN where it holds one, as PyTorch's kernels pick."""
    xp = be.xp
    a = xp.argmax(win, axis=-1)
    if not be.is_floating(win.dtype):
        return a
    nan = xp.astype(xp.isnan(win), xp.int8)
    last_nan = win.shape[-1] - 1 - xp.argmax(xp.flip(nan, axis=-1), axis=-1)
    return xp.where(xp.max(nan, axis=-1) > 0, last_nan, a)


class AdaptiveMaxPool(Function):
    """Y[n, c, i, j] = max of X[n, c] over the adaptive window (i, j); the gradient goes to
    the first maximum in row-major window order, or the last NaN (the saved index), as
    PyTorch's."""

    saved_inputs = ()

    def forward(self, X, out=None, indices=False):
        xp, dev = self.xp, self.be.device
        N, C, H, W = X.shape
        picks = []
        for r0, r1 in _adaptive_bounds(H, out[0]):
            for c0, c1 in _adaptive_bounds(W, out[1]):
                win = xp.reshape(X[:, :, r0:r1, c0:c1], (N, C, (r1 - r0) * (c1 - c0)))
                a = _window_argmax(self.be, win)
                picks.append((a // (c1 - c0) + r0) * W + (a % (c1 - c0) + c0))
        idx = xp.reshape(xp.stack(picks, axis=2), (N, C) + tuple(out))
        self.flat = _plane_offsets(xp, xp.reshape(idx, (N * C, -1)), H * W, dev)
        self.shape = X.shape
        Y = xp.reshape(xp.take(xp.reshape(X, (-1,)), self.flat), idx.shape)
        return (Y, idx) if indices else Y

    def backward(self, dY, dI=None):
        xp = self.xp
        dX = xp.zeros((math.prod(self.shape),), dtype=dY.dtype, device=self.be.device)
        dX = index_add(self.be, dX, 0, self.flat, xp.reshape(dY, (-1,)))
        return xp.reshape(dX, self.shape)

    def backward_graph(self, dY, dI=None):  # linked: adaptive_max_pool2d_backward's zeros
        return link(scatter_to_positions(dY, self.flat, self.shape), self.inputs[0])


class MaxUnpool(Function):
    """Y (N, C, *out) zero but for Y[n, c, indices[n, c, i]] = X[n, c, i]; dX = dY gathered
    at the indices (PyTorch's gradient). An index that appears twice (overlapping pooling
    windows that share a maximum, so the same value) gets the mean of its values."""

    saved_inputs = ()

    def forward(self, X, indices=None, out=None):
        xp, be = self.xp, self.be
        N, C = X.shape[:2]
        size = math.prod(out)
        self.flat = _plane_offsets(xp, xp.reshape(indices, (N * C, -1)), size, be.device)
        self.shape = X.shape
        src = xp.reshape(X, (-1,))
        zeros = xp.zeros((N * C * size,), dtype=X.dtype, device=be.device)
        total = index_add(be, zeros, 0, self.flat, src)
        count = index_add(be, xp.zeros_like(zeros), 0, self.flat, xp.ones_like(src))
        Y = total / xp.where(count > 1, count, 1.0)
        return xp.reshape(Y, (N, C) + tuple(out))

    def backward(self, dY):
        xp = self.xp
        return xp.reshape(xp.take(xp.reshape(dY, (-1,)), self.flat), self.shape)

    def backward_graph(self, dY):
        return take_positions(dY, self.flat, self.shape)


# -- public functions ----------------------------------------------------------------------


def _adaptive_max(op, nd, input, output_size, return_indices):
    x, unbatched = _batched(op, input, nd, floating=True)
    out = _output_size(op, output_size, x.shape[2:])
    if 0 in out:  # an empty output (PyTorch takes output_size 0): no window to search
        N, C = x.shape[:2]
        vals = reshape(reshape(x, (N, C, -1))[:, :, :0], (N, C) + out)
        idx = vals._result(x.xp.zeros(tuple(vals.shape), dtype=x.xp.int64,
                                      device=x._be.device), x._be)
        return _unbatch((vals, idx) if return_indices else vals, unbatched)
    if nd == 1:
        N, C, L = x.shape
        res = AdaptiveMaxPool.apply(reshape(x, (N, C, 1, L)), out=(1,) + out,
                                    indices=bool(return_indices))
        res = tuple(reshape(r, (N, C, out[0])) for r in res) if return_indices else \
            reshape(res, (N, C, out[0]))
    else:
        res = AdaptiveMaxPool.apply(x, out=out, indices=bool(return_indices))
    return _unbatch(res, unbatched)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size, as ``torch.nn.functional.adaptive_max_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: int or (oh, ow) (None keeps that input size); window i covers rows
            floor(i*H/oh) .. ceil((i+1)*H/oh) - 1.
        return_indices: also return the int64 flat index (row * W + col) of each maximum.
    Returns:
        (N, C, oh, ow) (and the indices); the gradient goes to the first maximum.
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) or (C, L) to length ``output_size``; as
    :func:`adaptive_max_pool2d`."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def _unpool_size(op, x, nd, kernel, stride, padding, output_size):
    """The spatial output size: (n - 1) * stride - 2 * padding + kernel, or ``output_size``
    (optionally with the leading (N, C) or (C,) dims) within one stride of it."""
    default = tuple((n - 1) * s - 2 * p + k for n, k, s, p in
                    zip(x.shape[2:], kernel, stride, padding))
    if output_size is None:
        size = default
    else:
        size = tuple(output_size)
        if len(size) in (nd + 1, nd + 2):
            size = size[len(size) - nd:]
        if len(size) != nd or any(isinstance(v, bool) or not isinstance(v, int)
                                  for v in size):
            raise ValueError(f"{op}: output_size must be {nd} ints (optionally after the "
                             f"batch and channel sizes), got {output_size!r}")
        for v, d, s in zip(size, default, stride):
            if not d - s < v < d + s:
                raise ValueError(f"{op}: output_size {tuple(output_size)} must lie strictly "
                                 f"within one stride {stride} of the default size {default} "
                                 f"for input of shape {x.shape}")
    if any(v < 1 for v in size):
        raise ValueError(f"{op}: the output size {size} for input of shape {x.shape} is empty")
    return size


def _max_unpool(op, nd, input, indices, kernel_size, stride, padding, output_size):
    x, unbatched = _batched(op, input, nd, floating=True)
    idx = raw(indices, x, op, "indices")
    want = tuple(x.shape[1:]) if unbatched else tuple(x.shape)
    if tuple(idx.shape) != want:
        raise ValueError(f"{op}: indices of shape {tuple(idx.shape)} must have the input's "
                         f"shape {want}")
    xp = x.xp
    if not xp.isdtype(idx.dtype, "integral"):
        raise TypeError(f"{op}: indices must be integers (from max_pool with "
                        f"return_indices=True), got {B.dtype_name(idx.dtype)}")
    kernel = ntuple(op, "kernel_size", kernel_size, nd, 1)
    stride = kernel if stride is None else ntuple(op, "stride", stride, nd, 1)
    padding = ntuple(op, "padding", padding, nd, 0)
    size = _unpool_size(op, x, nd, kernel, stride, padding, output_size)
    idx = xp.reshape(xp.astype(idx, xp.int64), x.shape)
    if x._be.on_host and idx.size and (bool(xp.any(idx < 0)) or
                                       bool(xp.any(idx >= math.prod(size)))):
        # an index past its plane would land in the next channel's plane (torch raises)
        raise IndexRangeError(f"{op}: indices must lie in [0, {math.prod(size)}) for output "
                              f"planes of size {size}, got values from {int(xp.min(idx))} to "
                              f"{int(xp.max(idx))} (is output_size right?)")
    return _unbatch(MaxUnpool.apply(x, indices=idx, out=size), unbatched)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of :func:`max_pool2d`, as ``torch.nn.functional.max_unpool2d``:
    each value goes back to the position its index names, every other position is zero.

    Args:
        input: (N, C, H, W) or (C, H, W), the pooled values.
        indices: int, the input's shape: flat positions (row * Wout + col) in each output
            plane, as max_pool2d(return_indices=True) gives. Checked where the arrays live
            in host memory (IndexError, also a RuntimeError, as torch's); on a device an index
            out of range is not checked.
        kernel_size, stride (default kernel_size), padding: those of the pooling.
        output_size: (Hout, Wout) (or with N, C first) when the pooled input's size was
            ambiguous; default (H - 1) * stride - 2 * padding + kernel_size.
    Returns:
        (N, C, Hout, Wout); the gradient of input is the output gradient at the indices.
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of :func:`max_pool1d` over (N, C, L) or (C, L); arguments as
    :func:`max_unpool2d`."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of :func:`max_pool3d` over (N, C, D, H, W) or (C, D, H, W), flat
    indices d * H * W + h * W + w; arguments as :func:`max_unpool2d`, (d, h, w) triples."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)

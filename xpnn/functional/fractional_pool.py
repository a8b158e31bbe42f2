"""Fractional max pooling (Graham, "Fractional Max-Pooling", 2014,
https://arxiv.org/abs/1412.6071), as PyTorch's ``fractional_max_pool2d``/``3d``.

Each (sample, channel) plane draws one number u in [0, 1) per spatial dim; window i of that
dim starts at ``floor((i + u) * alpha) - floor(u * alpha)`` with
``alpha = (n_in - k) / (n_out - 1)`` (in the input's dtype), and the last window at
``n_in - k``. Given the same ``_random_samples`` the windows, values and indices are
PyTorch's. One node: the forward keeps, per output, the first maximum over the k taps (a NaN
wins, as PyTorch's CPU loop has it); the backward scatter-adds into those positions.
"""
from __future__ import annotations

import itertools
import math

from .. import backend as B
from ..autograd import Function, as_tensor, raw
from .conv import ntuple
from .indexing import index_add
from .pool_indexed import _plane_offsets
from .shape import reshape


def _starts(xp, u, n_in, n_out, k):
    """(M, n_out) int64 window starts of one spatial dim from the samples u (M,)."""
    if n_out == 1:
        return xp.full((u.shape[0], 1), n_in - k, dtype=xp.int64, device=u.device)
    alpha = xp.asarray(float(n_in - k), dtype=u.dtype, device=u.device) / \
        xp.asarray(float(n_out - 1), dtype=u.dtype, device=u.device)
    i = xp.arange(n_out - 1, dtype=u.dtype, device=u.device)[None, :]
    first = xp.astype(xp.floor((i + u[:, None]) * alpha), xp.int64)
    shift = xp.astype(xp.floor(u * alpha), xp.int64)[:, None]
    last = xp.full((u.shape[0], 1), n_in - k, dtype=xp.int64, device=u.device)
    return xp.concat([first - shift, last], axis=1)


class FractionalMaxPool(Function):
    """Y[m, o] = max of the plane X[m] over the window starting at starts[m, o] (per dim),
    kernel ``kernel``; I the flat index of that maximum in the plane. dX: dY added at I."""

    saved_inputs = ()

    def forward(self, X, samples=None, kernel=None, out=None, indices=False):
        xp, dev = self.xp, self.be.device
        N, C = X.shape[:2]
        spatial, nd, M = X.shape[2:], len(kernel), N * C
        u = xp.reshape(xp.astype(samples, X.dtype), (M, nd))
        # starts of each dim, broadcast to (M, *out): dim d varies along axis d + 1
        starts = []
        for d in range(nd):
            s = _starts(xp, u[:, d], spatial[d], out[d], kernel[d])
            starts.append(xp.reshape(s, (M,) + tuple(out[d] if e == d else 1
                                                     for e in range(nd))))
        strides = [math.prod(spatial[d + 1:]) for d in range(nd)]
        base = sum(s * st for s, st in zip(starts, strides))  # (M, *out) window corners
        flat_x = xp.reshape(X, (-1,))
        plane = math.prod(spatial)
        best = idx = None
        for tap in itertools.product(*(range(k) for k in kernel)):
            pos = base + sum(t * st for t, st in zip(tap, strides))
            pos = xp.reshape(xp.broadcast_to(pos, (M,) + tuple(out)), (M, -1))
            v = xp.reshape(xp.take(flat_x, _plane_offsets(xp, pos, plane, dev)), pos.shape)
            if best is None:
                best, idx = v, pos
                continue
            win = (v > best) | xp.isnan(v)
            best, idx = xp.where(win, v, best), xp.where(win, pos, idx)
        self.flat = _plane_offsets(xp, idx, plane, dev)
        self.shape = X.shape
        Y = xp.reshape(best, (N, C) + tuple(out))
        return (Y, xp.reshape(idx, (N, C) + tuple(out))) if indices else Y

    def backward(self, dY, dI=None):
        xp = self.xp
        dX = xp.zeros((math.prod(self.shape),), dtype=dY.dtype, device=self.be.device)
        dX = index_add(self.be, dX, 0, self.flat, xp.reshape(dY, (-1,)))
        return xp.reshape(dX, self.shape)


def _fractional(op, nd, input, kernel_size, output_size, output_ratio, return_indices,
                _random_samples):
    x = as_tensor(input, op=op)
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 2}-D (batched) or {nd + 1}-D input, got "
                         f"shape {tuple(x.shape)}")
    if not x._be.is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating tensor, got {B.dtype_name(x.dtype)}")
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = reshape(x, (1,) + tuple(x.shape))
    N, C, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    kernel = ntuple(op, "kernel_size", kernel_size, nd, 1)
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{op} requires specifying either an output_size or an "
                             "output_ratio")
        ratio = (output_ratio,) * nd if isinstance(output_ratio, (int, float)) else \
            tuple(output_ratio)
        if len(ratio) != nd:
            raise ValueError(f"{op}: output_ratio must be a number or {nd} numbers, got "
                             f"{output_ratio!r}")
        out = tuple(int(n * r) for n, r in zip(spatial, ratio))
    else:
        out = ntuple(op, "output_size", output_size, nd, 1)
    for d in range(nd):
        if out[d] + kernel[d] - 1 > spatial[d]:
            raise ValueError(f"{op}: kernel size {kernel[d]} too large for output size "
                             f"{out[d]} over input size {spatial[d]} (dim {d}): need "
                             "output + kernel - 1 <= input")
    if _random_samples is None:
        samples = x._be.uniform((N, C, nd), x.dtype, None)
    else:
        samples = raw(_random_samples, x, op, "_random_samples")
        if tuple(samples.shape) != (N, C, nd):
            raise ValueError(f"{op}: _random_samples must have shape {(N, C, nd)} for input "
                             f"{tuple(input.shape)}, got {tuple(samples.shape)}")
        if nd == 2:  # PyTorch's 2-D kernel reads sample 0 for the width, 1 for the height
            samples = x.xp.flip(samples, axis=-1)
    res = FractionalMaxPool.apply(x, samples=samples, kernel=kernel, out=out,
                                  indices=bool(return_indices))
    if unbatched:
        res = tuple(reshape(r, tuple(r.shape[1:])) for r in res) if return_indices else \
            reshape(res, tuple(res.shape[1:]))
    return res


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling over (N, C, H, W) or (C, H, W), as PyTorch's.

    Args:
        kernel_size: int or (kh, kw).
        output_size: int or (oh, ow); or output_ratio: a number or pair, out = int(in * r).
        return_indices: also return the int64 flat index (h * W + w) of each maximum.
        _random_samples: (N, C, 2) floats in [0, 1) (W's sample first, then H's, PyTorch's
            order); drawn from the backend's generator when None.
    Returns:
        (N, C, oh, ow) (and the indices).
    """
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling over (N, C, T, H, W) or (C, T, H, W), as PyTorch's;
    arguments as :func:`fractional_max_pool2d` with three sizes and (N, C, 3) samples in
    (T, H, W) order. Indices are flat: t * H * W + h * W + w."""
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """:func:`fractional_max_pool2d` returning ``(values, indices)``."""
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """:func:`fractional_max_pool3d` returning ``(values, indices)``."""
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)

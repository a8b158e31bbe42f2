"""Resampling: ``interpolate`` (nearest, nearest-exact, linear/bilinear/trilinear, bicubic,
area) and ``pixel_shuffle`` / ``pixel_unshuffle``, with PyTorch's index and weight rules.

Interpolation is separable: each spatial dim is resampled on its own. Nearest modes gather
one input position per output position (:class:`Take`); linear modes blend two neighbours
(:class:`Lerp`), bicubic four (:class:`Blend`). Source positions are computed on the device
in PyTorch's arithmetic (float32 for nearest, the input's dtype for linear and bicubic), so
rounding at the borders matches PyTorch's.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, as_tensor
from .._errors import NotIntError, ShapeError, UnsupportedError
from .indexing import Take, index_add
from .shape import permute, reshape
from .upsampling_aa import antialiased

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area", "bicubic",
         "lanczos")
_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_DIMS = dict(_LINEAR, bicubic=2, lanczos=2)  # modes that need a given number of spatial dims
_ANTIALIAS = ("bilinear", "bicubic", "lanczos")  # the modes with antialias=True (4-D input)


class _ModeDimError(ValueError, NotImplementedError):
    """A mode given an input of the wrong rank (torch: NotImplementedError)."""


class Lerp(Function):
    """Y = X[i0] * w0 + X[i1] * w1 along ``axis`` (index arrays i0, i1 and weights w0, w1
    of the output's length along it)."""

    saved_inputs = ()

    def forward(self, X, i0=None, i1=None, w0=None, w1=None, axis=0):
        xp = self.xp
        shape = (-1,) + (1,) * (X.ndim - axis - 1)  # weights broadcast along the axis
        w0, w1 = xp.reshape(w0, shape), xp.reshape(w1, shape)
        self.shape, self.axis, self.i0, self.i1, self.w0, self.w1 = X.shape, axis, i0, i1, \
            w0, w1
        return xp.take(X, i0, axis=axis) * w0 + xp.take(X, i1, axis=axis) * w1

    def backward(self, dY):
        be = self.be
        dX = be.xp.zeros(self.shape, dtype=dY.dtype, device=dY.device)
        dX = index_add(be, dX, self.axis, self.i0, dY * self.w0)
        return index_add(be, dX, self.axis, self.i1, dY * self.w1)

    def backward_graph(self, dY):
        from .graph_misc import taps_graph
        return taps_graph(self, dY, ((self.i0, self.w0), (self.i1, self.w1)))


class Blend(Function):
    """Y = sum_j X[idx[j]] * w[j] along ``axis`` (lists of index arrays and weights, each of
    the output's length along it): bicubic's four taps."""

    saved_inputs = ()

    def forward(self, X, idx=(), w=(), axis=0):
        xp = self.xp
        shape = (-1,) + (1,) * (X.ndim - axis - 1)  # weights broadcast along the axis
        self.shape, self.axis, self.idx = X.shape, axis, idx
        self.w = [xp.reshape(wj, shape) for wj in w]
        Y = None
        for ij, wj in zip(idx, self.w):
            part = xp.take(X, ij, axis=axis) * wj
            Y = part if Y is None else Y + part
        return Y

    def backward(self, dY):
        be = self.be
        dX = be.xp.zeros(self.shape, dtype=dY.dtype, device=dY.device)
        for ij, wj in zip(self.idx, self.w):
            dX = index_add(be, dX, self.axis, ij, dY * wj)
        return dX

    def backward_graph(self, dY):
        from .graph_misc import taps_graph
        return taps_graph(self, dY, zip(self.idx, self.w))


def _cubic_weights(be, dtype, n_in, n_out, scale, align_corners):
    """(indices, weights) of the four taps of each output position: Keys' cubic
    convolution with a = -0.75 (PyTorch's and OpenCV's choice), taps clamped to the edge."""
    xp = be.xp
    s = xp.asarray(_scale(n_in, n_out, scale, align_corners), dtype=dtype, device=be.device)
    dst = xp.arange(n_out, dtype=dtype, device=be.device)
    src = s * dst if align_corners else s * (dst + 0.5) - 0.5  # not clamped at 0
    base = xp.floor(src)
    t = src - base
    base = xp.astype(base, xp.int64)
    a = -0.75

    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    w = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    idx = [xp.clip(base + (j - 1), 0, n_in - 1) for j in range(4)]
    return idx, w


def _scale(n_in, n_out, scale, align_corners):
    """PyTorch's area_pixel_compute_scale: input steps per output step."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _nearest_index(be, n_in, n_out, scale, exact):
    """Source index per output index: floor((dst [+ 0.5]) * scale) in float32, clipped."""
    xp = be.xp
    s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    dst = xp.arange(n_out, dtype=xp.float32, device=be.device)
    if exact:
        dst = dst + 0.5
    src = xp.floor(dst * xp.asarray(s, dtype=xp.float32, device=be.device))
    return xp.minimum(xp.astype(src, xp.int64), n_in - 1)


def _linear_weights(be, dtype, n_in, n_out, scale, align_corners):
    """(i0, i1, w0, w1): the two neighbours of each output position and their weights."""
    xp = be.xp
    s = xp.asarray(_scale(n_in, n_out, scale, align_corners), dtype=dtype, device=be.device)
    dst = xp.arange(n_out, dtype=dtype, device=be.device)
    if align_corners:
        src = s * dst
    else:  # pixel centres: (dst + 0.5) * scale - 0.5, at least 0
        src = xp.maximum(s * (dst + 0.5) - 0.5, 0.0)
    i0 = xp.minimum(xp.astype(xp.floor(src), xp.int64), n_in - 1)
    w1 = xp.clip(src - xp.astype(i0, dtype), 0.0, 1.0)
    i1 = xp.where(i0 < n_in - 1, i0 + 1, i0)
    return i0, i1, 1 - w1, w1


def _sizes(x, size, scale_factor, recompute):
    """(output sizes, scale factors or Nones) per spatial dim, as PyTorch reads them."""
    nd = x.ndim - 2
    spatial = x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor must be given, got "
                         f"size={size!r}, scale_factor={scale_factor!r}")
    if size is not None:
        if recompute:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size")
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * nd
        # torch: a wrong count is a ValueError, a non-int a TypeError, a size < 1 (after
        # the types passed) a RuntimeError; each class here is also the ValueError xpnn raised
        kind = ValueError if len(sizes) != nd else NotIntError if any(
            isinstance(s, bool) or not isinstance(s, (int, B.np.integer)) for s in sizes) \
            else ShapeError if any(s < 1 for s in sizes) else None
        if kind is not None:
            raise kind(f"interpolate: size must be a positive int or {nd} of them for "
                       f"an input with spatial shape {spatial}, got {size!r}")
        return tuple(int(s) for s in sizes), (None,) * nd
    scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else \
        (scale_factor,) * nd
    kind = ValueError if len(scales) != nd else NotIntError if any(
        isinstance(s, bool) or not isinstance(s, (int, float, B.np.number)) for s in scales) \
        else ShapeError if any(s <= 0 for s in scales) else None
    if kind is not None:
        raise kind(f"interpolate: scale_factor must be a positive number or {nd} of "
                   f"them for an input with spatial shape {spatial}, got {scale_factor!r}")
    sizes = tuple(int(math.floor(n * float(s))) for n, s in zip(spatial, scales))
    if any(s < 1 for s in sizes):  # torch: RuntimeError "output sizes should be > 0"
        raise ShapeError(f"interpolate: scale_factor {scale_factor!r} leaves an empty output "
                         f"of sizes {sizes} for spatial shape {spatial}")
    return sizes, ((None,) * nd if recompute else tuple(float(s) for s in scales))


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) input.

    Args:
        size: output spatial size (an int or one per dim); or
        scale_factor: multiplier(s) of the input size (the output size is floored).
        mode: "nearest" (PyTorch's legacy floor rule), "nearest-exact" (pixel centres),
            "linear" (3-D input), "bilinear" (4-D), "trilinear" (5-D), "bicubic" (4-D),
            "area" (adaptive average pooling, 3-D and 4-D) or "lanczos" (4-D, with
            antialias only).
        align_corners: linear and bicubic modes only: map corner pixels' centres onto each
            other (True) or pixel edges (False, the default).
        recompute_scale_factor: compute the index scale from the output size instead of
            using ``scale_factor`` as given.
        antialias: bilinear, bicubic and lanczos on 4-D input: when shrinking, average
            every input pixel under the filter stretched to the output's pixel size, as
            PyTorch and PIL do (upsampling_aa.py), instead of sampling a few.
    Returns:
        (N, C, *size), input's dtype; differentiable.
    """
    x = as_tensor(input, op="interpolate")
    if mode not in MODES:
        raise UnsupportedError(f"interpolate: mode must be one of {MODES}, got {mode!r}")
    if antialias and (mode not in _ANTIALIAS or x.ndim != 4):
        raise ValueError(f"interpolate: antialias=True is restricted to the modes "
                         f"{', '.join(_ANTIALIAS)} and needs a 4-D input, got mode={mode!r} "
                         f"and shape {tuple(x.shape)}")
    if mode == "lanczos" and not antialias:
        raise ValueError("interpolate: mode 'lanczos' needs antialias=True")
    if mode == "lanczos" and align_corners:
        raise ValueError("interpolate: mode 'lanczos' does not support align_corners=True")
    if align_corners is not None and mode not in _DIMS:
        raise ValueError("interpolate: align_corners can only be set with the interpolating "
                         f"modes linear | bilinear | bicubic | trilinear, got mode={mode!r}")
    if x.ndim not in (3, 4, 5):
        raise UnsupportedError(f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, ...), got "
                               f"shape {x.shape}")
    nd = x.ndim - 2
    if mode in _DIMS and _DIMS[mode] != nd:
        raise _ModeDimError(f"interpolate: mode {mode!r} needs a {_DIMS[mode] + 2}-D input, "
                            f"got shape {x.shape}")
    if not x._be.is_floating(x.dtype):
        raise TypeError(f"interpolate: expected a floating input, got "
                        f"{B.dtype_name(x.dtype)}")
    sizes, scales = _sizes(x, size, scale_factor, bool(recompute_scale_factor) or (
        mode == "area" and size is None))
    if mode == "area":
        from . import pool
        if nd == 3:
            raise NotImplementedError("interpolate: mode 'area' on 5-D input needs "
                                      "adaptive_avg_pool3d, which xpnn lacks")
        return (pool.adaptive_avg_pool1d if nd == 1 else pool.adaptive_avg_pool2d)(
            x, sizes[0] if nd == 1 else sizes)
    if antialias:  # upsampling_aa.py: every input pixel under the stretched filter
        return antialiased(x, mode, sizes, [_scale(n, m, s, bool(align_corners)) for n, m, s
                                            in zip(x.shape[2:], sizes, scales)])
    be = x._be
    for k in range(nd):
        axis, n_in, n_out = 2 + k, x.shape[2 + k], sizes[k]
        if n_in == n_out and (mode in _LINEAR or scales[k] is None):
            continue  # a copy (PyTorch's nearest kernels still apply a given scale)
        if mode == "bicubic":
            if n_in == n_out and sizes == tuple(x.shape[2:]):
                continue  # PyTorch copies when no size changes, whatever the scale
            idx, w = _cubic_weights(be, x.dtype, n_in, n_out, scales[k], bool(align_corners))
            x = Blend.apply(x, idx=idx, w=w, axis=axis)
        elif mode in _LINEAR:
            i0, i1, w0, w1 = _linear_weights(be, x.dtype, n_in, n_out, scales[k],
                                             bool(align_corners))
            x = Lerp.apply(x, i0=i0, i1=i1, w0=w0, w1=w1, axis=axis)
        else:
            idx = _nearest_index(be, n_in, n_out, scales[k], mode == "nearest-exact")
            x = Take.apply(x, indices=idx, axis=axis)
    return x


def _shuffle_check(op, x, r, name):
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise ValueError(f"{op}: {name} must be an int >= 1, got {r!r}")
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input with at least 3 dims (*, C, H, W), got "
                         f"shape {x.shape}")


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): channels rearranged into r x r blocks (Shi et
    al. 2016)."""
    x = as_tensor(input, op="pixel_shuffle")
    r = upscale_factor
    _shuffle_check("pixel_shuffle", x, r, "upscale_factor")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle: channels {c} of the input of shape {x.shape} are not "
                         f"divisible by upscale_factor^2 = {r * r}")
    lead, n = tuple(lead), len(lead)
    y = reshape(x, lead + (c // (r * r), r, r, h, w))
    y = permute(y, tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    return reshape(y, lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of :func:`pixel_shuffle`."""
    x = as_tensor(input, op="pixel_unshuffle")
    r = downscale_factor
    _shuffle_check("pixel_unshuffle", x, r, "downscale_factor")
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(f"pixel_unshuffle: height {h} and width {w} of the input of shape "
                         f"{x.shape} must be divisible by downscale_factor {r}")
    lead, n = tuple(lead), len(lead)
    y = reshape(x, lead + (c, h // r, r, w // r, r))
    y = permute(y, tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return reshape(y, lead + (c * r * r, h // r, w // r))

"""3-D pooling (max, average, adaptive average and max) and power-average (LP) pooling, built
from the 1-D/2-D pools of pool.py and pool_indexed.py rather than copied from them.

A 3-D window is a box, the product of one interval per axis, so each 3-D pool is a 2-D pool
over (H, W) of every depth slice followed by a 1-D pool over D of every output position:
max(box) = max over d of max over (h, w); the box's mean is the mean over d of the means
over (h, w), each axis dividing by its own count (PyTorch's divisor, padding counted or
not, is that product too). The first maximum of the second pass lies in the first slice
holding the box's maximum, at that slice's first maximum: the first in (d, h, w) order, as
PyTorch picks it. Backward is the two pools' backwards, composed by autograd.
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError, ShapeError
from ..autograd import as_tensor
from .activation import relu
from .conv import ntuple
from .elementwise import abs, mul, neg, pow, sign
from .gather import gather
from .pool import (_avg_pool, _max_pool, _pool_geometry, adaptive_avg_pool1d,
                   adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d)
from .pool_indexed import _adaptive_max
from .shape import permute, reshape, squeeze, unsqueeze


def _batched(op, x, floating=False):
    """(x as (N, C, D, H, W), whether it was an unbatched (C, D, H, W) input)."""
    x = as_tensor(x, op=op)
    if x.ndim not in (4, 5):
        raise ShapeError(f"{op}: expected a 5-D input (N, C, D, H, W) or a 4-D unbatched "
                         f"input (C, D, H, W), got shape {x.shape}")
    if floating and not x._be.is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating tensor, got {B.dtype_name(x.dtype)}")
    return (unsqueeze(x, 0), True) if x.ndim == 4 else (x, False)


def _planes(x):
    """(N, C, D, H, W) -> (N, C * D, H, W): every depth slice a plane of its own."""
    N, C, D, H, W = x.shape
    return reshape(x, (N, C * D, H, W))


def _rows(y, C, D):
    """(N, C * D, Ho, Wo) -> (N, C * Ho * Wo, D): the depth axis last, for a 1-D pool."""
    N, _, Ho, Wo = y.shape
    return reshape(permute(reshape(y, (N, C, D, Ho, Wo)), (0, 1, 3, 4, 2)), (N, -1, D))


def _volume(z, C, Ho, Wo):
    """(N, C * Ho * Wo, Do) -> (N, C, Do, Ho, Wo)."""
    N, _, Do = z.shape
    return permute(reshape(z, (N, C, Ho, Wo, Do)), (0, 1, 4, 2, 3))


def _indices(i2, i1, C, D, H, W):
    """PyTorch's flat index d * H * W + h * W + w of each maximum, from the depth picked by
    the 1-D pass (``i1``, (N, C * Ho * Wo, Do)) and the plane index h * W + w of every
    slice's maximum from the 2-D pass (``i2``, (N, C * D, Ho, Wo))."""
    N, _, Ho, Wo = i2.shape
    depth = _volume(i1, C, Ho, Wo)
    plane = gather(reshape(i2, (N, C, D, Ho, Wo)), 2, depth)
    return depth * (H * W) + plane


def _separable(x, unbatched, pool2, pool1, indices):
    """pool2 over (H, W) of each depth slice, then pool1 over D; with ``indices``, each
    returns (values, indices) and the result carries PyTorch's 3-D flat indices."""
    N, C, D, H, W = x.shape
    y = pool2(_planes(x))
    y2, i2 = y if indices else (y, None)
    Ho, Wo = y2.shape[2:]
    z = pool1(_rows(y2, C, D))
    z1, i1 = z if indices else (z, None)
    out = _volume(z1, C, Ho, Wo)
    if indices:
        out = (out, _indices(i2, i1, C, D, H, W))
    if not unbatched:
        return out
    return tuple(squeeze(t, 0) for t in out) if indices else squeeze(out, 0)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling, as ``torch.nn.functional.max_pool3d``.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        kernel_size: int or (kd, kh, kw); stride: default kernel_size; padding (with -inf)
            at most half the kernel; dilation: spacing of the taps; ceil_mode: keep a last
            partial window.
        return_indices: also return the flat index (d * H * W + h * W + w) of each window's
            maximum in its input volume.
    Returns:
        (N, C, Do, Ho, Wo) (and the int64 indices). The gradient goes to the first maximum
        of each window in (d, h, w) order.
    """
    op = "max_pool3d"
    x, unbatched = _batched(op, input)
    k, s, p, d, _, _ = _pool_geometry(op, x.shape[2:], kernel_size, stride, padding, dilation,
                                      ceil_mode, 3)
    flag = bool(return_indices)
    return _separable(
        x, unbatched,
        lambda v: _max_pool(op, 2, v, k[1:], s[1:], p[1:], d[1:], ceil_mode, flag),
        lambda v: _max_pool(op, 1, v, k[0], s[0], p[0], d[0], ceil_mode, flag), flag)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling, as ``torch.nn.functional.avg_pool3d``.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        kernel_size, stride, padding, ceil_mode: as :func:`max_pool3d` (zero padding).
        count_include_pad: divide by the window size including padding (PyTorch default).
        divisor_override: a fixed non-zero int divisor instead.
    Returns:
        (N, C, Do, Ho, Wo); integer inputs give the int64 mean truncated toward zero.
    """
    op = "avg_pool3d"
    x, unbatched = _batched(op, input)
    k, s, p, _, _, _ = _pool_geometry(op, x.shape[2:], kernel_size, stride, padding, 1,
                                      ceil_mode, 3)
    if divisor_override is not None and (isinstance(divisor_override, bool) or not isinstance(
            divisor_override, int) or divisor_override == 0):
        raise ArgumentError(f"{op}: divisor_override must be a non-zero int, got "
                            f"{divisor_override!r}")
    integral = not x._be.is_floating(x.dtype)
    if integral:  # pooled in the default float dtype, truncated once at the end
        x = x._result(x.xp.astype(x.array, x._be.dtype(B.get_default_dtype())), x._be)
    div = None if divisor_override is None else 1  # sums, divided once below
    y = _separable(
        x, unbatched,
        lambda v: _avg_pool(op, 2, v, k[1:], s[1:], p[1:], ceil_mode, count_include_pad, div),
        lambda v: _avg_pool(op, 1, v, k[0], s[0], p[0], ceil_mode, count_include_pad, div),
        False)
    if divisor_override is not None:
        y = y / divisor_override
    if integral:
        y = y._result(y.xp.astype(y.xp.trunc(y.array), y.xp.int64), y._be)
    return y


def _adaptive_size(op, output_size, spatial):
    """output_size as a (d, h, w) triple, None entries keeping the input's size."""
    vals = (output_size,) * 3 if output_size is None or isinstance(output_size, int) \
        else tuple(output_size)
    if len(vals) != 3:
        raise ArgumentError(f"{op}: output_size must be an int or a tuple of 3, got "
                            f"{output_size!r}")
    if 0 in spatial:
        raise ShapeError(f"{op}: input of spatial size {tuple(spatial)} has nothing to pool "
                         f"(every size must be >= 1)")
    return ntuple(op, "output_size", tuple(n if v is None else v
                                          for v, n in zip(vals, spatial)), 3, 1)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool3d``.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W), floating.
        output_size: int or (od, oh, ow) (None keeps that input size); window i along an
            axis of n covers floor(i*n/o) .. ceil((i+1)*n/o) - 1.
    Returns:
        (N, C, od, oh, ow).
    """
    op = "adaptive_avg_pool3d"
    x, unbatched = _batched(op, input, floating=True)
    od, oh, ow = _adaptive_size(op, output_size, x.shape[2:])
    return _separable(x, unbatched, lambda v: adaptive_avg_pool2d(v, (oh, ow)),
                      lambda v: adaptive_avg_pool1d(v, od), False)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size, as ``torch.nn.functional.adaptive_max_pool3d``.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W), floating.
        output_size: as :func:`adaptive_avg_pool3d`.
        return_indices: also return the int64 flat index (d * H * W + h * W + w) of each
            maximum.
    Returns:
        (N, C, od, oh, ow) (and the indices); the gradient goes to the first maximum.
    """
    op = "adaptive_max_pool3d"
    x, unbatched = _batched(op, input, floating=True)
    od, oh, ow = _adaptive_size(op, output_size, x.shape[2:])
    flag = bool(return_indices)
    return _separable(x, unbatched, lambda v: _adaptive_max(op, 2, v, (oh, ow), flag),
                      lambda v: _adaptive_max(op, 1, v, od, flag), flag)


# -- power-average pooling ------------------------------------------------------------------


def _lp_pool(op, nd, input, norm_type, kernel_size, stride, ceil_mode):
    """(sum over the window of x^p)^(1/p), as PyTorch computes it: the average of x^p times
    the full window size (also for ceil_mode's partial windows), its sign kept through
    relu(|.|) so that the gradient is zero where the sum is. p = inf is the max of |x| over
    the window, p = -inf the min, as PyTorch's limits."""
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or \
            norm_type == 0:
        raise ArgumentError(f"{op}: norm_type must be a non-zero number, got {norm_type!r}")
    x = as_tensor(input, op=op)
    kernel = ntuple(op, "kernel_size", kernel_size, nd, 1)
    if math.isinf(norm_type):
        peak = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}[nd]
        if norm_type > 0:
            return peak(abs(x), kernel, stride, 0, 1, ceil_mode)
        return neg(peak(neg(abs(x)), kernel, stride, 0, 1, ceil_mode))
    count = math.prod(kernel)
    pool = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}[nd]
    out = pool(pow(x, norm_type), kernel, stride, 0, ceil_mode)
    return pow(mul(sign(out) * relu(abs(out)), count), 1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling, as ``torch.nn.functional.lp_pool2d``: (sum of x^p over each
    window)^(1/p); p = 1 is sum pooling, p = inf max pooling of |x| (-inf: its min).

    Args:
        input: (N, C, H, W) or (C, H, W).
        norm_type: p, a non-zero number.
        kernel_size: int or (kh, kw); stride: default kernel_size; ceil_mode: keep a last
            partial window.
    Returns:
        (N, C, Ho, Wo).
    """
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, L) or (C, L); arguments as :func:`lp_pool2d`."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, D, H, W) or (C, D, H, W); arguments as
    :func:`lp_pool2d`."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)

"""Pixel coordinates for grid sampling (grid.py's bilinear and nearest, grid_bicubic.py's
bicubic): folding a coordinate back by the padding mode, integer indices that cannot
overflow, and a neighbour's flat row index in the gathered input.
"""
from __future__ import annotations


def unnormalize(c, size, align_corners):
    """(pixel coordinate of the normalized coordinate ``c`` along a dim of ``size``, its
    slope d(pixel)/dc), before any padding fold (PyTorch's grid_sampler_unnormalize)."""
    scale = (size - 1) / 2 if align_corners else size / 2
    p = (c + 1) * scale
    return (p if align_corners else p - 0.5), scale


def _clamp(xp, p, hi):
    """min(max(p, 0), hi) as PyTorch's vector kernel: NaN becomes 0, +inf becomes hi."""
    return xp.where(p > 0, xp.where(p < hi, p, float(hi)), 0.0)


def fold(xp, p, size, padding_mode, align_corners, dp=None):
    """The pixel coordinate ``p`` folded back by the padding mode (PyTorch's
    compute_coordinates), and its slope ``dp`` with it (None: none asked)."""
    grad = dp is not None
    if padding_mode == "reflection":
        # mirror at -0.5 and size - 0.5 (pixel edges) or 0 and size - 1 (corner centres):
        # the distance from the low edge modulo one period, folded into the span
        low, period = (0.0, 2.0 * (size - 1)) if align_corners else (-0.5, 2.0 * size)
        if period == 0:
            return xp.zeros_like(p), xp.zeros_like(p) if grad else None
        a = p - low
        negative = a < 0
        a = xp.abs(a)
        extra = a - xp.floor(a / period) * period
        back = period - extra
        flipped = extra > back
        p = xp.where(flipped, back, extra) + low
        if grad:
            dp = xp.where(flipped != negative, -dp, dp)
    if padding_mode != "zeros":
        # the borders count as outside for the gradient (PyTorch: clip_coordinates_set_grad)
        inside = (p > 0) & (p < size - 1)
        p = _clamp(xp, p, size - 1)
        if grad:
            dp = xp.where(inside, dp, 0.0)
    return p, dp


def _index(xp, f, size):
    """An integer index from a float one; positions far outside are clamped to just outside
    first, so the cast cannot overflow (NaN too: it reads as outside)."""
    safe = xp.where(f > -2, xp.where(f < size + 1, f, float(size + 1)), -2.0)
    return xp.astype(safe, xp.int64)


def _corner(xp, base, strides, ids, spatial, w):
    """(flat row index, inside, weight) of one neighbour; outside ones point at row 0."""
    inside = None
    flat = base
    for i, size, stride in zip(ids, spatial, strides):
        ok = (i >= 0) & (i < size)
        inside = ok if inside is None else inside & ok
        flat = flat + i * stride
    return xp.where(inside, flat, 0), inside, w

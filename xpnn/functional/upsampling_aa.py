"""Antialiased resampling (``interpolate(..., antialias=True)``: bilinear, bicubic and
lanczos on (N, C, H, W) input), as PyTorch (and PIL) resample.

Each output position i along an axis takes a weighted sum of the inputs around its centre
``scale * (i + 0.5)`` (in input pixels; ``scale`` = input steps per output step, PyTorch's
area_pixel_compute_scale). When shrinking (scale > 1) the filter is stretched by ``scale``,
so every input pixel contributes and none is skipped (no aliasing); when growing it is the
plain filter. The weights of a row are normalised to sum to 1. Filters: the triangle
(bilinear), Keys' cubic with a = -0.5 (bicubic: PIL's choice, where the plain bicubic mode
uses -0.75), and Lanczos with 3 lobes, sinc(x) sinc(x / 3).

The weights are a small (n_out, n_in) matrix per axis, made on the host in float64 and cast
to the input's dtype; resampling is one matrix product per axis, so the gradient is the
products' (the transposed weights).
"""
from __future__ import annotations

import math

from ..autograd import as_tensor
from .linalg import matmul

_TAPS = {"bilinear": 2, "bicubic": 4, "lanczos": 6}  # the filter's width at scale 1


def _filter(mode, x):
    x = abs(x)
    if mode == "bilinear":
        return 1.0 - x if x < 1.0 else 0.0
    if mode == "bicubic":
        a = -0.5
        if x < 1.0:
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a if x < 2.0 else 0.0
    if x >= 3.0:  # lanczos, 3 lobes
        return 0.0
    if x == 0.0:
        return 1.0
    px = math.pi * x
    return 3.0 * math.sin(px) * math.sin(px / 3.0) / (px * px)


def aa_weights(mode, n_in, n_out, scale):
    """The (n_out, n_in) weights, as nested lists of floats, for ``scale`` input steps per
    output step."""
    half = _TAPS[mode] * 0.5 * (scale if scale >= 1.0 else 1.0)  # the stretched support
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    rows = []
    for i in range(n_out):
        centre = scale * (i + 0.5)
        lo, hi = max(int(centre - half + 0.5), 0), min(int(centre + half + 0.5), n_in)
        taps = [_filter(mode, (j - centre + 0.5) * inv) for j in range(lo, hi)]
        total = sum(taps)
        row = [0.0] * n_in
        for j, w in zip(range(lo, hi), taps):
            row[j] = w / total if total else 0.0
        rows.append(row)
    return rows


def antialiased(x, mode, sizes, scales):
    """(N, C, H, W) ``x`` resampled to ``sizes`` (2 ints) with ``scales`` (input steps per
    output step, per axis); an axis whose size and scale stay is left alone."""
    be = x._be
    for axis, (n_out, scale) in enumerate(zip(sizes, scales)):
        n_in = x.shape[2 + axis]
        if n_in == n_out and scale == 1.0:
            continue
        w = be.xp.asarray(aa_weights(mode, n_in, n_out, scale), dtype=x.dtype,
                          device=be.device)
        w = as_tensor(w, like=x, op="interpolate")
        x = matmul(w, x) if axis == 0 else matmul(x, w.mT)  # rows, then columns
    return x

"""Spatial transformers (Jaderberg et al. 2015): ``affine_grid`` and ``grid_sample``, with
PyTorch's coordinate rules.

A grid holds normalized positions (x, y[, z]) in [-1, 1], one per output pixel, and
``grid_sample`` reads the input there. A position becomes a pixel coordinate (with
``align_corners`` -1 and 1 are the centres of the corner pixels, else their outer edges),
the padding mode folds it back (border: clamp; reflection: mirror at the edges, then clamp),
then "bilinear" blends the 2^d neighbours and "nearest" takes the closest one (half to even,
as PyTorch's nearbyint); "bicubic" (4-D only) is grid_bicubic.py's. Neighbours outside the
input read as zeros. The input is gathered as rows of an (N * H * W, C) view with ``take``;
the backward adds into it with :func:`indexing.index_add` (the coordinate helpers are in
grid_coords.py). The arithmetic follows PyTorch's CPU kernel step by step, so ties and
out-of-range positions land where PyTorch's do.
"""
from __future__ import annotations

import itertools
import math
import warnings

from .. import backend as B
from ..autograd import Function, as_tensor
from .elementwise import quiet
from .grid_bicubic import GridSampleBicubic
from .grid_coords import _corner, _index, fold, unnormalize
from .indexing import index_add
from .linalg import matmul
from .shape import reshape, transpose

MODES = ("bilinear", "nearest")
PADDING_MODES = ("zeros", "border", "reflection")
_DEFAULT_CHANGED = ("Default grid_sample and affine_grid behavior has changed to "
                    "align_corners=False since 1.3.0. Please specify align_corners=True if "
                    "the old behavior is desired. See the documentation of grid_sample for "
                    "details.")


def _corners_flag(align_corners):
    """None means False, with PyTorch's warning (it still warns in 2.13)."""
    if align_corners is None:
        warnings.warn(_DEFAULT_CHANGED, UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _source(xp, c, size, padding_mode, align_corners, grad):
    """Pixel coordinate of the normalized coordinate ``c`` along a dim of ``size`` after
    padding (PyTorch's grid_sampler_compute_source_index), and d(pixel)/dc when ``grad``."""
    p, scale = unnormalize(c, size, align_corners)
    return fold(xp, p, size, padding_mode, align_corners,
                xp.full_like(p, scale) if grad else None)


@quiet  # inf - inf of non-finite positions is NaN without a warning, as in PyTorch
class GridSample(Function):
    """Y[n, c, o] = sum over corners k of w_k[n, o] * X[n, c, i_k[n, o]] (zero where i_k is
    outside the input). dX adds dY * w_k back at i_k; dG sums dY * X[i_k] * dw_k/dG over the
    channels and corners."""

    saved_inputs = ()

    def forward(self, X, G, mode="bilinear", padding_mode="zeros", align_corners=False):
        xp = self.xp
        n, c, *spatial = X.shape
        nd = len(spatial)
        rows = xp.reshape(xp.moveaxis(X, 1, -1), (n * math.prod(spatial), c))
        # the first row of each output position's image
        batch = xp.arange(n, dtype=xp.int64, device=X.device) * math.prod(spatial)
        base = xp.reshape(xp.broadcast_to(xp.reshape(batch, (n, 1)),
                                          (n, math.prod(G.shape[1:-1]))), (-1,))
        strides = [math.prod(spatial[d + 1:]) for d in range(nd)]
        grad_g = self.needs[1] and mode == "bilinear"
        coords, slopes = [], []
        for d, size in enumerate(spatial):  # grid component nd-1-d addresses spatial dim d
            p, dp = _source(xp, xp.reshape(G[..., nd - 1 - d], (-1,)), size, padding_mode,
                            align_corners, grad_g)
            coords.append(p)
            slopes.append(dp)
        corners = []  # (flat row index, inside, weight or None)
        if mode == "nearest":
            ids = [_index(xp, xp.round(p), size) for p, size in zip(coords, spatial)]
            corners.append(_corner(xp, base, strides, ids, spatial, None))
            weights = None
        else:
            floors = [xp.floor(p) for p in coords]
            ids = [_index(xp, f, size) for f, size in zip(floors, spatial)]
            # per dim: (weight of the lower neighbour, of the upper one), as PyTorch forms them
            weights = [(f + 1 - p, p - f) for f, p in zip(floors, coords)]
            for sides in itertools.product((0, 1), repeat=nd):
                w = None
                for d, s in enumerate(sides):
                    w = weights[d][s] if w is None else w * weights[d][s]
                corners.append(_corner(xp, base, strides, [i + s for i, s in zip(ids, sides)],
                                       spatial, w))
        Y = None
        for idx, inside, w in corners:
            v = xp.where(inside[:, None], xp.take(rows, idx, axis=0), 0.0)
            term = v if w is None else w[:, None] * v
            Y = term if Y is None else Y + term
        if self.record:
            self.x_shape, self.corners, self.nd = X.shape, corners, nd
            self.weights, self.slopes, self.g_shape = weights, slopes, G.shape
            self.padding_mode, self.align_corners = padding_mode, align_corners
            if grad_g:
                self.rows, self.saved_inputs = rows, (0,)
        Y = xp.reshape(Y, tuple(G.shape[:-1]) + (c,))
        return xp.moveaxis(Y, -1, 1)

    def backward(self, dY):
        xp, be = self.xp, self.be
        c = self.x_shape[1]
        dYr = xp.reshape(xp.moveaxis(dY, 1, -1), (math.prod(self.g_shape[:-1]), c))
        dX = dG = None
        if self.needs[0]:
            idx = xp.concat([k for k, _, _ in self.corners])
            src = xp.concat([xp.where(inside[:, None], dYr if w is None else w[:, None] * dYr,
                                      0.0) for _, inside, w in self.corners])
            shape = (self.x_shape[0],) + tuple(self.x_shape[2:]) + (c,)
            rows = xp.zeros((math.prod(shape[:-1]), c), dtype=dY.dtype, device=dY.device)
            rows = index_add(be, rows, 0, idx, src)
            dX = xp.moveaxis(xp.reshape(rows, shape), -1, 1)
        if self.needs[1]:
            dG = self._grid_grad(xp, dYr) if self.weights is not None else \
                xp.zeros(self.g_shape, dtype=dY.dtype, device=dY.device)
        return dX, dG

    def _grid_grad(self, xp, dYr):
        """d out / d coordinate along dim d, per corner: the product of the other dims'
        weights, signed by the side of dim d (-1 lower, +1 upper); times d(pixel)/d(grid)."""
        nd = self.nd
        per_dim = [None] * nd
        for (idx, inside, _), sides in zip(self.corners,
                                           itertools.product((0, 1), repeat=nd)):
            v = xp.where(inside[:, None], xp.take(self.rows, idx, axis=0), 0.0)
            s = xp.sum(v * dYr, axis=1)  # dY . X[i_k] over the channels
            for d in range(nd):
                term = s if sides[d] else -s
                for e in range(nd):
                    if e != d:
                        term = term * self.weights[e][sides[e]]
                per_dim[d] = term if per_dim[d] is None else per_dim[d] + term
        comps = [per_dim[nd - 1 - j] * self.slopes[nd - 1 - j] for j in range(nd)]
        return xp.reshape(xp.stack(comps, axis=-1), self.g_shape)

    def backward_graph(self, dY):
        from .graph_more import grid_sample_graph
        return grid_sample_graph(self, dY)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` at the normalized positions of ``grid`` (torch's grid_sample).

    Args:
        input: (N, C, H_in, W_in), or (N, C, D_in, H_in, W_in); floating.
        grid: (N, H_out, W_out, 2) positions (x, y), or (N, D_out, H_out, W_out, 3)
            positions (x, y, z); -1 and 1 are the input's edges; input's dtype.
        mode: "bilinear" (trilinear on 5-D input), "nearest" (half to even) or "bicubic"
            (4-D input only; PyTorch's cubic convolution with A = -0.75 over 4x4 neighbours,
            each read through the padding mode).
        padding_mode: what positions outside read: "zeros", "border" (the nearest edge
            value) or "reflection" (mirrored at the edges).
        align_corners: -1 and 1 are the centres of the corner pixels (True) or their outer
            edges (False; None means False with PyTorch's warning).
    Returns:
        (N, C, H_out, W_out) (or (N, C, D_out, H_out, W_out)), input's dtype; differentiable
        in input and grid ("nearest" gives grid a zero gradient, as PyTorch; "bicubic" has
        no create_graph backward).
    """
    x = as_tensor(input, op="grid_sample")
    g = as_tensor(grid, like=x, op="grid_sample")
    if mode not in MODES + ("bicubic",):
        raise ValueError("grid_sample: expected mode to be 'bilinear', 'nearest' or "
                         f"'bicubic', but got: {mode!r}")
    if padding_mode not in PADDING_MODES:
        raise ValueError("grid_sample: expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: {padding_mode!r}")
    align_corners = _corners_flag(align_corners)
    if x.ndim not in (4, 5) or g.ndim != x.ndim:
        raise RuntimeError("grid_sample: expected 4-D or 5-D input and a grid with the same "
                           f"number of dims, got input of shape {x.shape} and grid of shape "
                           f"{g.shape}")
    if g.shape[0] != x.shape[0]:
        raise RuntimeError("grid_sample: expected grid and input to have the same batch size, "
                           f"got input of shape {x.shape} and grid of shape {g.shape}")
    nd = x.ndim - 2
    if g.shape[-1] != nd:
        raise RuntimeError(f"grid_sample: expected grid to have size {nd} in its last dim for "
                           f"a {x.ndim}-D input, got grid of shape {g.shape}")
    for d in range(2, x.ndim):
        if x.shape[d] == 0:
            raise RuntimeError("grid_sample: expected input to have non-empty spatial dims, "
                               f"but input has shape {x.shape} with dim {d} empty")
    if not x._be.is_floating(x.dtype):
        raise TypeError(f"grid_sample: expected a floating input, got {B.dtype_name(x.dtype)}")
    if g.dtype != x.dtype:
        raise RuntimeError(f"grid_sample: expected input and grid to have the same dtype, got "
                           f"input {B.dtype_name(x.dtype)} and grid {B.dtype_name(g.dtype)}")
    if mode == "bicubic":
        if x.ndim != 4:
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
        return GridSampleBicubic.apply(x, g, padding_mode=padding_mode,
                                       align_corners=align_corners)
    return GridSample.apply(x, g, mode=mode, padding_mode=padding_mode,
                            align_corners=align_corners)


def _fma(xp, s, k, c):
    """c + s * k rounded once, as a fused multiply-add (float64 arrays; k integral, below
    2^26): Veltkamp's split makes s * k an exact sum of two doubles, Knuth's two-sum adds c."""
    t = s * 134217729.0  # 2^27 + 1
    s_hi = t - (t - s)
    p_hi, p_lo = s_hi * k, (s - s_hi) * k  # both exact
    total = c + p_hi
    back = total - c
    err = (c - (total - back)) + (p_hi - back)
    return total + (err + p_lo)


def _linspace(be, dtype, n, align_corners):
    """PyTorch's linspace_from_neg_one: -1..1 in n steps, each half from its own end with a
    fused multiply-add as torch.linspace's CPU kernel (so ties in "nearest" fall the same
    way), scaled by (n - 1) / n onto pixel centres without align_corners. The few values are
    formed in float64 and rounded to ``dtype`` once."""
    xp = be.xp
    if n <= 1:
        return xp.zeros((n,), dtype=dtype, device=be.device)
    f64 = xp.float64
    i = xp.arange(n, dtype=f64, device=be.device)
    step = xp.astype(xp.asarray(2.0, dtype=dtype, device=be.device) / (n - 1), f64)
    r = xp.where(i < n // 2, _fma(xp, step, i, -1.0), _fma(xp, -step, n - 1 - i, 1.0))
    r = xp.astype(r, dtype)
    return r if align_corners else r * (n - 1) / n


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of a batch of affine maps, for :func:`grid_sample`.

    Args:
        theta: (N, 2, 3) maps for a 4-D ``size``, or (N, 3, 4) for a 5-D one; floating.
        size: the output size (N, C, H, W) or (N, C, D, H, W).
        align_corners: as in :func:`grid_sample` (None means False, with PyTorch's warning).
    Returns:
        (N, H, W, 2) (or (N, D, H, W, 3)) normalized positions theta @ (x, y[, z], 1), theta's
        dtype; differentiable in theta.
    """
    t = as_tensor(theta, op="affine_grid")
    align_corners = _corners_flag(align_corners)
    if not t._be.is_floating(t.dtype):
        raise ValueError(f"affine_grid: expected theta to have a floating dtype, got "
                         f"{B.dtype_name(t.dtype)}")
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise NotImplementedError("affine_grid: only 4-D and 5-D sizes are supported (2-D "
                                  f"and 3-D affine maps), got size {size}")
    nd = len(size) - 2
    if t.ndim != 3 or t.shape[1:] != (nd, nd + 1):
        raise ValueError(f"affine_grid: expected theta of shape (N, {nd}, {nd + 1}) for size "
                         f"{size}, got {t.shape}")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      UserWarning, stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"affine_grid: expected a positive output size, got {size}")
    if t.shape[0] != size[0]:
        raise RuntimeError(f"affine_grid: theta holds {t.shape[0]} maps for a batch of "
                         f"{size[0]} in size {size}")
    be, xp = t._be, t.xp
    # base positions (x, y[, z], 1) per output pixel, x along the last dim
    axes = [_linspace(be, t.dtype, n, align_corners) for n in spatial]
    cols = []
    for d in reversed(range(nd)):
        shape = [1] * nd
        shape[d] = spatial[d]
        cols.append(xp.broadcast_to(xp.reshape(axes[d], tuple(shape)), spatial))
    cols.append(xp.ones(spatial, dtype=t.dtype, device=be.device))
    base = as_tensor(xp.reshape(xp.stack(cols, axis=-1), (-1, nd + 1)), like=t)
    grid = matmul(base, transpose(t, 1, 2))  # (N, prod(spatial), nd)
    return reshape(grid, (size[0],) + spatial + (nd,))

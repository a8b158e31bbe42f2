"""Recorded backwards (``backward_graph``, for create_graph) of scatter_reduce, logcumsumexp
and grid_sample (setitem's is in indexing.py), whose first-order backwards are written on arrays.

scatter_reduce's "sum", "mean", "amax" and "amin" have gradients linear in the output
gradient with coefficients fixed by the forward (positions, counts, which entries
won): those are written here as recorded ops of dY with the coefficients as constants, so
their second derivatives in the inputs are zero, as in PyTorch. "prod", logcumsumexp and
grid_sample's gradients depend on the inputs again: "prod" and logcumsumexp are written with
the op itself on Tensors (so any order follows), grid_sample's forward is recomputed from
recorded ops and differentiated (:func:`.recurrent_graph.recomputed_grads`). Imported by the
op files inside their ``backward_graph``; nothing here runs in a first-order step.
"""
from __future__ import annotations

import itertools
import math

from .compare import where
from .first_order import NoDerivative, link
from .graph_misc import constant
from .indexing import Take, TakeGrad, index_add
from .recurrent_graph import recomputed_grads


# -- scatter_reduce --------------------------------------------------------------------------
def scatter_reduce_graph(node, dY):
    """ScatterReduce: the node's gradients (see its doc) as recorded ops of dY; for "prod"
    also of X and S, through the product recomputed with the op itself."""
    xp, be, P = node.xp, node.be, node.P
    X, S = node.inputs
    g = dY.reshape(-1)
    hit = node.cnt > 0
    own = hit & (not node.include)  # entries X lost to the sources

    def take(t):
        return Take.apply(t, indices=P, axis=0)

    if node.reduce == "sum":
        dX, dS = g, take(g)
    elif node.reduce == "mean":
        N = xp.astype(xp.where(hit, node.cnt + (1 if node.include else 0),
                               xp.ones_like(node.cnt)), g.dtype)
        dX = g / constant(g, N)
        dS = take(dX)
    elif node.reduce == "prod":
        return _prod_graph(node, dY, X, S, own)
    else:  # amax / amin: dY shared evenly among the entries equal to the result
        self_is = xp.astype((node.X == node.Y) & ~own, g.dtype)
        src_is = xp.astype(xp.take(node.Y, P, axis=0) == node.S, g.dtype)
        N = index_add(be, xp.asarray(self_is, copy=True), 0, P, src_is)
        share = g / constant(g, xp.where(N == 0, xp.ones_like(N), N))
        dX = share * constant(g, self_is)
        dS = take(share) * constant(g, src_is)
    dX = where(own, 0.0, dX).reshape(node.shape) if node.needs[0] else None
    dS = _into(node, dS.reshape(node.index_shape)) if node.needs[1] else None
    return dX, dS


def _into(node, dS):
    """dS of the index's shape placed into zeros of the source's shape (the source entries
    past the index's extent get no gradient), recorded."""
    src, idx = tuple(node.src_shape), tuple(node.index_shape)
    if src == idx:
        return dS
    xp = node.xp
    grid = xp.reshape(xp.arange(math.prod(src), dtype=xp.int64, device=node.be.device), src)
    pos = xp.reshape(grid[tuple(slice(0, k) for k in idx)], (-1,))
    flat = TakeGrad.apply(dS.reshape(-1), shape=(math.prod(src),), indices=pos, axis=0)
    return flat.reshape(src)


def _prod_graph(node, dY, X, S, own):
    """"prod": the product of the other entries of each target, from the op itself on
    Tensors, so that it stays a function of X and S:

    dX = dY R / M, M = X with its zeros as 1, R = the product with X replaced by M (for an
    entry of 0, R is the product of the others; elsewhere R / M is);
    dS_j = dY Y / S_j for S_j != 0, dY times the product with S_j as 1 where S_j is its
    target's only zero source. Where two or more zero sources meet (the product of the
    others of each is 0, whose derivative is not), the gradient of S is first-order only,
    as PyTorch's (differentiating it again raises)."""
    xp, P, be = node.xp, node.P, node.be
    apply, idx_shape = type(node).apply, tuple(node.index_shape)
    pos = xp.reshape(P, idx_shape)
    Si = S if tuple(S.shape) == idx_shape else S[tuple(slice(0, k) for k in idx_shape)]
    kw = dict(pos=pos, reduce="prod", include_self=node.include)
    dX = dS = None
    if node.needs[0]:
        zero_x = (X == 0).array
        M = where(zero_x, 1.0, X)
        R = apply(M, Si, **kw)
        dX = where(xp.reshape(own, node.shape), 0.0, dY * R / M)
    if node.needs[1]:
        Sf = node.S
        zero_s = Sf == 0
        zeros = index_add(be, xp.zeros(node.cnt.shape, dtype=xp.int64, device=be.device), 0,
                          P, xp.astype(zero_s, xp.int64))
        at = xp.take(zeros, P, axis=0)
        single = xp.reshape(zero_s & (at == 1), idx_shape)
        g = dY.reshape(-1)
        Y = apply(X, Si, **kw).reshape(-1)
        A = apply(X, where(single, 1.0, Si), **kw).reshape(-1)
        Ms = where(xp.reshape(zero_s, idx_shape), 1.0, Si).reshape(-1)
        part = Take.apply(g * Y, indices=P, axis=0) / Ms
        lone = Take.apply(g * A, indices=P, axis=0)
        dS = where(xp.reshape(single, (-1,)), lone, part).reshape(idx_shape)
        dS = _into(node, dS)
        if bool(xp.any(zero_s & (at > 1))):  # read on the host, as PyTorch's check
            dS = NoDerivative.apply(dY, X, S, grad=dS.array, op="scatter_reduce (prod with "
                                    "two or more zero sources at one position)")
    return dX, dS


# -- logcumsumexp ----------------------------------------------------------------------------
def logcumsumexp_graph(node, dY):
    """LogCumSumExp: dX_j = sum_{i >= j} dY_i exp(X_j - Y_i), in log space with the positive
    and negative parts of dY apart (as backward), Y recomputed and the suffix sums taken as
    a logcumsumexp of the flipped sequence, all recorded. An empty part's log is the
    lowest finite number rather than -inf (whose differences would be NaN). The entries
    where dY is 0 belong to neither part, yet dX depends on them (linearly): a third term,
    spread(log(1 + dY0)) - spread(0) with dY0 = dY there and 0 elsewhere, is exactly 0 and
    carries that derivative (autograd.functional.hvp differentiates at dY = 0, where
    PyTorch's formula gives NaN)."""
    xp = node.xp
    X, a = node.inputs[0], node.axis
    apply = type(node).apply
    Y = apply(X, axis=a)
    low = xp.finfo(dY.dtype).min

    def spread(logG):  # exp(X_j + log sum_{i >= j} G_i exp(-Y_i))
        return (X + apply((logG - Y).flip(a), axis=a).flip(a)).exp()

    def part(mask, G):
        return spread(where(mask, where(mask, G, 1.0).log(), low))
    zero = (dY == 0).array
    dY0 = where(zero, dY, 0.0)
    none = constant(dY, xp.zeros(dY.shape, dtype=dY.dtype, device=node.be.device))
    return (part((dY > 0).array, dY) - part((dY < 0).array, -dY)
            + (spread((dY0 + 1.0).log()) - spread(none)))


# -- grid_sample -----------------------------------------------------------------------------
def grid_sample_graph(node, dY):
    """GridSample: its forward recomputed from recorded ops (the corners and whether they
    are inside as the forward found them, the weights and coordinates as functions of the
    grid), differentiated with create_graph."""
    nearest = node.weights is None  # the grid only picks the corner: nothing to recompute
    dX, dG = (None, None) if nearest and not node.needs[0] else \
        recomputed_grads(node, _grid_sample, (dY,))
    if dG is None and node.needs[1]:  # "nearest": a zero gradient in dY's graph, as torch
        dG = constant(dY, node.xp.zeros(node.g_shape, dtype=dY.dtype, device=node.be.device))
        dG = dG + dY.sum() * 0.0
    if nearest:  # linked as outputs of PyTorch's backward node of
        X, G = node.inputs[0], node.inputs[1]  # (dY, X, grid): zeros in the grid for dX
        dX = None if dX is None else link(link(dX, G), X, zeros=False)
        dG = None if dG is None else link(dG, X, G, zeros=False)
    return dX, dG


def _source(xp, c, size, padding_mode, align_corners):
    """grid.py's ``_source`` on a Tensor: the pixel coordinate of grid component ``c``, its
    slope (0 outside and on the borders for border/reflection, as PyTorch) carried by
    recorded ops, the folds and clamps constants."""
    scale = (size - 1) / 2 if align_corners else size / 2
    p = (c + 1) * scale
    if not align_corners:
        p = p - 0.5
    if padding_mode == "reflection":
        low, period = (0.0, 2.0 * (size - 1)) if align_corners else (-0.5, 2.0 * size)
        if period == 0:
            return p * 0.0
        a = (p - low).abs()
        extra = a - constant(a, xp.floor(a.array / period) * period)
        flipped = (extra > period - extra).array
        p = where(flipped, period - extra, extra) + low
    if padding_mode != "zeros":
        inside = ((p > 0) & (p < size - 1)).array
        clamped = xp.where(p.array > 0, xp.where(p.array < size - 1, p.array,
                                                 float(size - 1)), 0.0)
        p = where(inside, p, constant(p, clamped))
    return p


def _grid_sample(node, X, G):
    """Y = sum over corners of w_k * X[i_k] (zero outside), on Tensors."""
    xp = node.xp
    n, c, *spatial = node.x_shape
    nd = node.nd
    rows = X.movedim(1, -1).reshape(n * math.prod(spatial), c)
    Y = None
    if node.weights is None:  # nearest: one corner, no weight (grid gets no gradient)
        (idx, inside, _), = node.corners
        Y = where(inside[:, None], Take.apply(rows, indices=idx, axis=0), 0.0)
    else:
        weights = []
        for d, size in enumerate(spatial):
            p = _source(xp, G[..., nd - 1 - d].reshape(-1), size, node.padding_mode,
                        node.align_corners)
            f = constant(p, xp.floor(p.array))
            weights.append((f + 1 - p, p - f))
        for (idx, inside, _), sides in zip(node.corners, itertools.product((0, 1), repeat=nd)):
            w = None
            for d, s in enumerate(sides):
                w = weights[d][s] if w is None else w * weights[d][s]
            v = where(inside[:, None], Take.apply(rows, indices=idx, axis=0), 0.0)
            term = w[:, None] * v
            Y = term if Y is None else Y + term
    Y = Y.reshape(tuple(node.g_shape[:-1]) + (c,))
    return Y.movedim(-1, 1)

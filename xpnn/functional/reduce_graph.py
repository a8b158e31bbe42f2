"""Recorded backwards (``backward_graph``, for create_graph) of the reductions and scans
whose first-order backward is written on arrays: amax/amin, max/min along a dim, prod,
cumsum, cumprod and p-norms.

Products are taken without dividing by an entry that may be zero: the product of the other
entries of a slice is (exclusive product from the left) * (exclusive product from the
right), each a cumulative product written as a log-step scan of recorded multiplies
(Hillis-Steele: ceil(log2 n) steps), so every derivative order stays exact at zeros.
Imported by the reduction files inside their ``backward_graph`` (reduce_basic.py sits
below elementwise.py and shape.py in the import order).
"""
from __future__ import annotations

import math

from .compare import where
from .shape import cat, movedim, reshape


def constant(like, array):
    """``array`` as a Tensor of ``like``'s backend that needs no gradient."""
    return like._result(array, like._be)


def cumprod_last(x):
    """Inclusive cumulative product along the last dim, recorded (log-step scan)."""
    n = x.shape[-1]
    s = 1
    while s < n:
        x = cat([x[..., :s], x[..., s:] * x[..., :n - s]], -1)
        s *= 2
    return x


def _ones(x, n):
    xp = x.xp
    return constant(x, xp.ones(tuple(x.shape[:-1]) + (n,), dtype=x.dtype,
                               device=x._be.device))


def others_product_last(x):
    """prod over j != i of x[..., j], for each i along the last dim, recorded."""
    n = x.shape[-1]
    if n == 1:
        return _ones(x, 1)
    one = _ones(x, 1)
    left = cat([one, cumprod_last(x[..., :n - 1])], -1)
    right = cumprod_last(x[..., 1:].flip(-1)).flip(-1)
    return left * cat([right, one], -1)


def prod_graph(node, dY):
    """Prod: dX = g * prod of the other entries of each reduced slice."""
    X = node.inputs[0]
    axes = tuple(node.axes)
    g = dY if node.keep else _expand(dY, axes, X.ndim)
    if not axes:
        return g * 1.0
    rest = [a for a in range(X.ndim) if a not in axes]
    moved = movedim(X, axes, tuple(range(X.ndim - len(axes), X.ndim)))
    kept = tuple(moved.shape[:len(rest)])
    flat = reshape(moved, kept + (math.prod(X.shape[a] for a in axes),))
    d = reshape(others_product_last(flat), tuple(moved.shape))
    return g * movedim(d, tuple(range(X.ndim - len(axes), X.ndim)), axes)


def cumprod_graph(node, dY):
    """CumProd: dX_m = sum over i >= m of dY_i prod_{j <= i, j != m} X_j, through an
    (n, n) table per slice: row m is the cumulative product of X with X_m set to 1
    (O(n^2) memory per slice)."""
    X, axis = node.inputs[0], node.axis
    xp = X.xp
    x, g = movedim(X, axis, -1), movedim(dY, axis, -1)
    n = x.shape[-1]
    dev = X._be.device
    r = xp.reshape(xp.arange(n, device=dev), (n, 1))
    c = xp.reshape(xp.arange(n, device=dev), (1, n))
    table = where(r == c, 1.0, x.unsqueeze(-2).expand(*(tuple(x.shape[:-1]) + (n, n))))
    C = cumprod_last(table)  # [..., m, i] = prod_{j <= i, j != m} x_j
    C = where(c >= r, C, 0.0)
    dX = (C * g.unsqueeze(-2)).sum(-1)
    return movedim(dX, -1, axis)


def _expand(g, axes, ndim):
    """g with the reduced ``axes`` (of an ndim input) put back as size 1."""
    shape = list(g.shape)
    for a in sorted(axes):
        shape.insert(a, 1)
    return reshape(g, tuple(shape)) if tuple(shape) != tuple(g.shape) else g


def amax_graph(node, dY):
    """Max (amax/amin): g times the constant tie weights, recorded (the weights do not
    depend on x anywhere the max is differentiable, as in PyTorch)."""
    g = dY if node.keep else _expand(dY, node.axes, len(node.shape))
    return g * constant(dY, node.weights)


def max_dim_graph(node, dV):
    """MaxDim: g at the index returned along the dim, 0 elsewhere, recorded."""
    xp = node.xp
    g = dV if node.keep else dV.unsqueeze(node.dim)
    n, nd = node.shape[node.dim], len(node.shape)
    pos = xp.reshape(xp.arange(n, device=node.be.device),
                     (1,) * node.dim + (n,) + (1,) * (nd - node.dim - 1))
    return where(pos == node.idx, g, 0.0)


def cumsum_graph(node, dY):
    """CumSum: the reversed cumulative sum of dY, recorded."""
    a = node.axis
    return type(node).apply(dY.flip(a), axis=a).flip(a)


def pnorm_graph(node, dY):
    """PNorm: g sign(x) (|x| / N)^(p - 1), 0 where x or N is 0 (as backward), recorded."""
    X, p = node.inputs[0], node.p
    xp = node.xp
    g = dY if node.keep else _expand(dY, node.axes, X.ndim)
    N = type(node).apply(X, axes=node.axes, keepdims=True, p=p)
    off = ((node.X == 0) | (node.N == 0))
    Xs = where(off, 1.0, X)
    Ns = where(xp.broadcast_to(node.N == 0, tuple(N.shape)), 1.0, N)
    with node.be.quiet():
        dX = g * constant(X, xp.sign(node.X)) * (Xs.abs() / Ns) ** (p - 1)
    return where(off, 0.0, dX)

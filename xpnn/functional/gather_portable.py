"""Scatter along one dim where the backend has no native scatter-add: gather.py's portable
path (array-api-strict, any other Array API library).

gather.py turns an index along ``dim`` into flat positions, and a backend without a native
scatter-add then writes them with indexing.index_add_portable, a one-hot product over the
whole flat array: (entries written) x (input size) work, quadratic in the batch (a top-k
of 6 out of 128 features for 128 rows took 2 s per call). Along one dim the one-hot only
needs to span that dim, within each slice: (entries written) x (size of the dim). This file
does that, in chunks of the index's dim to bound the memory, with ``where`` in place of a
product so that an infinite value does not make 0 * inf = NaN elsewhere.
"""
from __future__ import annotations

import math

from .indexing import _ONEHOT_BUDGET


def supports(be, X, add=False):
    """Whether :func:`add_along` (``add``) / :func:`set_along` take this array: real floats
    and integers of at least one dim, and bools to write (complex goes the flat way)."""
    kinds = ("real floating", "integral") if add else ("real floating", "integral", "bool")
    return X.ndim >= 1 and be.xp.isdtype(X.dtype, kinds)


def add_along(be, X, dim, index, S):
    """``X`` with ``S`` added at ``index`` along ``dim`` (index and S of one shape, at most
    X's in the other dims); repeated positions add up, +inf meeting -inf gives NaN.

    Args:
        be: the arrays' Backend.
        X: the array added into (not modified).
        dim: the dim ``index`` indexes (>= 0).
        index: int64 positions along ``dim``, non-negative.
        S: the values, index's shape, X's dtype.
    Returns:
        a new array of X's shape and dtype.
    """
    with be.quiet():  # inf + -inf is NaN without a warning, as in PyTorch
        return _along(be, X, dim, index, S, mean=False)


def set_along(be, X, dim, index, S):
    """``X`` with ``S`` written at ``index`` along ``dim``; a position named more than once
    gets the mean of its values (floor of it for integers, any of them for bools), as
    indexing.assign's portable path (PyTorch leaves the choice undefined)."""
    with be.quiet():
        return _along(be, X, dim, index, S, mean=True)


def _along(be, X, dim, index, S, mean):
    xp = be.xp
    n = X.shape[dim]
    Xm = xp.moveaxis(X, dim, -1)
    I = xp.moveaxis(index, dim, -1)  # (..., k), its leading dims a corner of Xm's
    V = xp.moveaxis(S, dim, -1)
    lead, k = tuple(I.shape[:-1]), I.shape[-1]
    classes = xp.arange(n, dtype=I.dtype, device=I.device)
    zero = xp.zeros((), dtype=V.dtype, device=V.device)
    boolean = xp.isdtype(V.dtype, "bool")
    step = max(1, _ONEHOT_BUDGET // max(1, math.prod(lead) * n))
    total = count = None
    for start in range(0, k, step):
        stop = min(k, start + step)
        onehot = I[..., start:stop, None] == classes  # (..., c, n)
        picked = xp.where(onehot, V[..., start:stop, None], zero)
        if boolean:
            part = xp.any(picked, axis=-2)
            total = part if total is None else total | part
        else:
            part = xp.sum(picked, axis=-2, dtype=V.dtype)
            total = part if total is None else total + part
        if mean:
            hits = xp.sum(xp.astype(onehot, xp.int64), axis=-2)
            count = hits if count is None else count + hits
    corner = tuple(slice(0, m) for m in lead) + (slice(None),)
    out = xp.asarray(Xm, copy=True)
    if total is None:
        return xp.moveaxis(out, -1, dim)
    old = out[corner]
    if mean:
        written = count > 0
        if boolean:
            out[corner] = xp.where(written, total, old)
            return xp.moveaxis(out, -1, dim)
        divisor = xp.astype(xp.where(written, count, xp.ones_like(count)), V.dtype)
        value = total / divisor if xp.isdtype(V.dtype, "real floating") else total // divisor
        new = xp.where(written, value, old)
    else:
        new = old + total
    out[corner] = new
    return xp.moveaxis(out, -1, dim)

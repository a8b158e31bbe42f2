"""``scatter_reduce``: sources reduced into the positions an index names along a dim, by
"sum", "prod", "mean", "amax" or "amin", as ``torch.scatter_reduce``, with its gradients.

"amax"/"amin" sort the sources by target once and find each target's run with a binary
search: portable, and without the one-hot product, whose 0 * inf would turn an infinite
source into NaN elsewhere. "prod" is native where the backend has a multiply-at, else a
segmented product in log2(run length) rounds.
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError
from ..autograd import Function, as_tensor
from .gather import _index, _into, _src, flat_positions, scatter as _scatter
from .indexing import index_add as _scatter_add
from .indexops import _int64
from .shape import reshape
from .sorting import argsort_array

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _runs(xp, P, S, n):
    """Sources S at flat targets P, sorted by (target, value): (sorted S, start and stop of
    each target's run in it, the number of sources per target), each for targets 0..n-1."""
    order = argsort_array(xp, S, 0)
    order = xp.take(order, argsort_array(xp, xp.take(P, order, axis=0), 0), axis=0)
    Ps, Ss = xp.take(P, order, axis=0), xp.take(S, order, axis=0)
    targets = xp.arange(n, dtype=Ps.dtype, device=Ps.device)
    lo = _int64(xp, xp.searchsorted(Ps, targets, side="left"))
    hi = _int64(xp, xp.searchsorted(Ps, targets, side="right"))
    return Ss, lo, hi, hi - lo


class ScatterReduce(Function):
    """Y = X with the sources S reduced into their flat positions ``pos`` ("sum", "prod",
    "mean", "amax", "amin"), counting X's own entry where ``include_self``. The gradients
    are PyTorch's: "sum" passes dY through; "mean" divides it by the count; "amax"/"amin"
    share it evenly among the entries equal to the result; "prod" is Y / entry, with the
    zeros handled by the product of the others."""

    def forward(self, X, S, pos=None, reduce="sum", include_self=True):
        xp, be = self.xp, self.be
        self.shape, self.reduce, self.include = X.shape, reduce, include_self
        n = math.prod(X.shape)
        P = xp.reshape(pos, (-1,))
        Sf = xp.reshape(S[tuple(slice(0, k) for k in pos.shape)], (-1,))
        Xf = xp.reshape(X, (-1,))
        self.P, self.index_shape, self.src_shape = P, tuple(pos.shape), S.shape
        self.X, self.S = Xf, Sf
        if reduce in ("amax", "amin") and not P.shape[0]:
            cnt, pick = xp.zeros((n,), dtype=xp.int64, device=be.device), Xf
        elif reduce in ("amax", "amin"):
            Ss, lo, hi, cnt = _runs(xp, P, Sf, n)
            k = Sf.shape[0]
            last = xp.take(Ss, xp.clip(hi - 1, 0, k - 1), axis=0)
            if reduce == "amax":  # NaN sorts last: a run holding one ends in it
                pick = last
            else:
                first = xp.take(Ss, xp.clip(lo, 0, k - 1), axis=0)
                pick = xp.where(last != last, last, first)
            if include_self:
                pick = (xp.maximum if reduce == "amax" else xp.minimum)(Xf, pick)
        else:
            cnt = _scatter_add(be, xp.zeros((n,), dtype=xp.int64, device=be.device), 0, P,
                               xp.ones(P.shape, dtype=xp.int64, device=be.device))
            unit = (xp.ones_like if reduce == "prod" else xp.zeros_like)(Xf)
            base = xp.asarray(Xf if include_self else xp.where(cnt > 0, unit, Xf), copy=True)
            pick = _scatter_prod(be, base, P, Sf) if reduce == "prod" else \
                _scatter_add(be, base, 0, P, Sf)
            if reduce == "mean":
                N = cnt + (1 if include_self else 0)
                N = xp.astype(xp.where(cnt > 0, N, xp.ones_like(N)), Xf.dtype)
                pick = pick / N if be.is_floating(Xf.dtype) else xp.floor_divide(pick, N)
        self.cnt = cnt
        self.Y = xp.where(cnt > 0, pick, Xf)
        return xp.reshape(self.Y, X.shape)

    def backward(self, dY):
        xp, be, P = self.xp, self.be, self.P
        g = xp.reshape(dY, (-1,))
        hit = self.cnt > 0
        own = hit if not self.include else xp.zeros_like(hit)  # entries X lost
        zero = xp.zeros((), dtype=g.dtype, device=g.device)
        if self.reduce == "sum":
            dX, dS = g, xp.take(g, P, axis=0)
        elif self.reduce == "mean":
            N = xp.astype(xp.where(hit, self.cnt + (1 if self.include else 0),
                                   xp.ones_like(self.cnt)), g.dtype)
            dX = g / N
            dS = xp.take(dX, P, axis=0)
        elif self.reduce == "prod":
            dX, dS = self._prod_grads(g)
        else:
            self_is = xp.astype((self.X == self.Y) & ~own, g.dtype)
            src_is = xp.astype(xp.take(self.Y, P, axis=0) == self.S, g.dtype)
            N = _scatter_add(be, xp.asarray(self_is, copy=True), 0, P, src_is)
            share = g / xp.where(N == 0, xp.ones_like(N), N)
            dX = share * self_is
            dS = xp.take(share, P, axis=0) * src_is
        dX = xp.where(own, zero, dX)
        dS = _into(xp, xp.reshape(dS, self.index_shape), self.src_shape)
        return xp.reshape(dX, self.shape), dS

    def backward_graph(self, dY):
        from .graph_more import scatter_reduce_graph
        return scatter_reduce_graph(self, dY)

    def _prod_grads(self, g):
        """d prod / d entry = the product of the others (not Y / entry, which fails at 0)."""
        xp, be, P = self.xp, self.be, self.P
        X, S, Y = self.X, self.S, self.Y
        one = xp.ones((), dtype=X.dtype, device=X.device)
        Xin = X if self.include else xp.where(self.cnt > 0, one, X)
        zeros = _scatter_add(be, xp.astype(Xin == 0, xp.int64), 0, P,
                             xp.astype(S == 0, xp.int64))
        # the product of the nonzero entries of each target (for its single zero's gradient)
        nonzero = _scatter_prod(be, xp.where(Xin == 0, one, Xin), P,
                                xp.where(S == 0, one, S))
        dX = g * _others(xp, Xin, zeros, nonzero, Y)
        at = (xp.take(A, P, axis=0) for A in (zeros, nonzero, Y))
        return dX, xp.take(g, P, axis=0) * _others(xp, S, *at)


def _others(xp, V, Z, NZ, Y):
    """The product of the other entries of V's product Y: Y / V where the product has no
    zero (Z counts them), the product NZ of its nonzero entries where V is its only zero,
    else 0."""
    one = xp.ones((), dtype=V.dtype, device=V.device)
    return xp.where(Z == 0, Y / xp.where(V == 0, one, V),
                    xp.where((Z == 1) & (V == 0), NZ, xp.zeros_like(V)))


def _scatter_prod_portable(be, dst, P, S):
    """dst[P[i]] *= S[i] from Array API functions: the sources sorted by target, then each
    target's run multiplied in log2(longest run) rounds of pairwise products."""
    xp = be.xp
    n, k = dst.shape[0], S.shape[0]
    if k == 0:
        return dst
    order = argsort_array(xp, P, 0)
    Ps, V = xp.take(P, order, axis=0), xp.take(S, order, axis=0)
    pos = xp.arange(k, dtype=xp.int64, device=dst.device)
    lo = _int64(xp, xp.searchsorted(Ps, Ps, side="left"))  # each run's start
    hi = _int64(xp, xp.searchsorted(Ps, xp.arange(n, dtype=Ps.dtype, device=dst.device),
                                    side="right"))
    step = 1
    one = xp.ones((), dtype=V.dtype, device=V.device)
    while step < k:  # V[i] becomes the product of its run from its start up to i
        back = xp.take(V, xp.clip(pos - step, 0, k - 1), axis=0)
        V = V * xp.where(pos - step >= lo, back, one)
        step *= 2
    has = hi > xp.concat([xp.zeros((1,), dtype=xp.int64, device=dst.device), hi[:-1]])
    total = xp.take(V, xp.clip(hi - 1, 0, k - 1), axis=0)
    return dst * xp.where(has, total, one)


def _scatter_prod_numpy(be, dst, P, S):
    be.lib.multiply.at(dst, P, S)
    return dst


def _scatter_prod_torch(be, dst, P, S):
    return dst.scatter_reduce_(0, P, S, "prod")


# Native kernels by backend name; every other backend (CuPy too) takes the portable one.
SCATTER_PROD = {"numpy": _scatter_prod_numpy, "torch": _scatter_prod_torch}


def _scatter_prod(be, dst, P, S):
    return SCATTER_PROD.get(be.name, _scatter_prod_portable)(be, dst, P, S)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """A copy of ``input`` with each ``src[i][j]`` reduced into
    ``out[index[i][j]][j]`` (for dim 0), as ``torch.scatter_reduce``.

    Args:
        reduce: "sum", "prod", "mean" (integers: floor division), "amax" or "amin".
        include_self: whether input's own entries at the scattered positions take part.
    Returns:
        input's shape and dtype; differentiable in input and src (see ScatterReduce).
    """
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # torch's quiet aliases
    if reduce not in REDUCTIONS:
        raise ArgumentError(f"scatter_reduce: reduce argument must be one of {REDUCTIONS}, "
                            f"got {reduce!r}")
    x = as_tensor(input, op="scatter_reduce")
    s = as_tensor(src, like=x, op="scatter_reduce")
    if s.dtype != x.dtype:
        raise TypeError(f"scatter_reduce: expected self and src to have the same dtype, got "
                        f"{B.dtype_name(x.dtype)} and {B.dtype_name(s.dtype)}")
    d, idx = _index("scatter_reduce", x, dim, index, s.shape if s.ndim == x.ndim else None)
    if x.ndim == 0:
        x1, s1 = reshape(x, (1,)), reshape(s, (1,)) if s.ndim == 0 else s
        out = ScatterReduce.apply(x1, s1, pos=x.xp.reshape(idx, (-1,)), reduce=reduce,
                                  include_self=include_self)
        return reshape(out, ())
    pos = flat_positions(x.xp, x.shape, d, idx)
    return ScatterReduce.apply(x, s, pos=pos, reduce=reduce, include_self=include_self)


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """``torch.scatter``: gather.scatter, plus PyTorch's older ``reduce="multiply"``
    (scatter_reduce's "prod" with the input's own entries). Differentiable in input and
    src."""
    if reduce == "multiply":
        x = as_tensor(input, op="scatter")
        return scatter_reduce(x, dim, index, _src("scatter", x, src, value), "prod")
    return _scatter(input, dim, index, src, value, reduce=reduce)

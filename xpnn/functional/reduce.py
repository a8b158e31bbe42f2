"""Reductions: sum, mean, max/min, var/std, logsumexp."""
from __future__ import annotations

from ..autograd import Function


def _axes(axis, nd):
    if axis is None:
        return tuple(range(nd))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % nd for a in axis))


def _expand(xp, g, shape, axes):
    """Reinsert reduced axes as size 1 so ``g`` broadcasts against the input."""
    kept = list(g.shape)
    for a in axes:
        kept.insert(a, 1)
    return xp.reshape(g, tuple(kept)) if tuple(kept) != tuple(g.shape) else g


class Sum(Function):
    def forward(self, X, axis=None, keepdims=False):
        self.shape, self.axes, self.keep = X.shape, _axes(axis, X.ndim), keepdims
        return self.xp.sum(X, axis=self.axes, keepdims=keepdims)

    def backward(self, dY):
        g = dY if self.keep else _expand(self.xp, dY, self.shape, self.axes)
        return self.xp.broadcast_to(g, self.shape)


class Mean(Function):
    def forward(self, X, axis=None, keepdims=False):
        self.shape, self.axes, self.keep = X.shape, _axes(axis, X.ndim), keepdims
        self.n = 1
        for a in self.axes:
            self.n *= X.shape[a]
        return self.xp.mean(X, axis=self.axes, keepdims=keepdims)

    def backward(self, dY):
        g = dY if self.keep else _expand(self.xp, dY, self.shape, self.axes)
        return self.xp.broadcast_to(g / self.n, self.shape)


class Max(Function):
    """max over axes; the gradient is shared equally by tied maxima (like torch.amax)."""

    def forward(self, X, axis=None, keepdims=False, sign=1):
        xp = self.xp
        self.shape, self.axes, self.keep = X.shape, _axes(axis, X.ndim), keepdims
        Y = xp.max(X, axis=self.axes, keepdims=True) if sign > 0 else \
            xp.min(X, axis=self.axes, keepdims=True)
        mask = xp.astype(X == Y, X.dtype)
        self.weights = mask / xp.sum(mask, axis=self.axes, keepdims=True)
        return Y if keepdims else xp.reshape(Y, tuple(
            d for i, d in enumerate(X.shape) if i not in self.axes))

    def backward(self, dY):
        g = dY if self.keep else _expand(self.xp, dY, self.shape, self.axes)
        return g * self.weights


class Var(Function):
    def forward(self, X, axis=None, keepdims=False, correction=0):
        xp = self.xp
        self.shape, self.axes, self.keep = X.shape, _axes(axis, X.ndim), keepdims
        n = 1
        for a in self.axes:
            n *= X.shape[a]
        self.denom = n - correction
        self.centered = X - xp.mean(X, axis=self.axes, keepdims=True)
        return xp.sum(self.centered * self.centered, axis=self.axes,
                      keepdims=keepdims) / self.denom

    def backward(self, dY):
        # d var / dx_i = 2 (x_i - mean) / (n - correction)
        g = dY if self.keep else _expand(self.xp, dY, self.shape, self.axes)
        return g * self.centered * (2 / self.denom)


class LogSumExp(Function):
    def forward(self, X, axis=-1, keepdims=False):
        xp = self.xp
        self.shape, self.axes, self.keep = X.shape, _axes(axis, X.ndim), keepdims
        m = xp.max(X, axis=self.axes, keepdims=True)
        E = xp.exp(X - m)
        S = xp.sum(E, axis=self.axes, keepdims=True)
        self.P = E / S  # softmax: the gradient of logsumexp
        Y = xp.log(S) + m
        return Y if keepdims else xp.reshape(Y, tuple(
            d for i, d in enumerate(X.shape) if i not in self.axes))

    def backward(self, dY):
        g = dY if self.keep else _expand(self.xp, dY, self.shape, self.axes)
        return g * self.P


def sum(x, axis=None, keepdims=False):
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return Max.apply(x, axis=axis, keepdims=keepdims, sign=1)


def min(x, axis=None, keepdims=False):
    return Max.apply(x, axis=axis, keepdims=keepdims, sign=-1)


def var(x, axis=None, keepdims=False, correction=0):
    """Variance; ``correction=0`` is the population variance (the Array API default)."""
    return Var.apply(x, axis=axis, keepdims=keepdims, correction=correction)


def std(x, axis=None, keepdims=False, correction=0):
    from .elementwise import sqrt
    return sqrt(var(x, axis, keepdims, correction))


def logsumexp(x, axis=-1, keepdims=False):
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)

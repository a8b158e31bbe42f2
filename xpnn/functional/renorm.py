"""renorm: cap the p-norm of each slice along a dim (torch.renorm).

    y = x * f(n),  n = ||x_i||_p over the slice x_i = x.select(dim, i),
    f(n) = maxnorm / (n + 1e-7) where n > maxnorm, else 1

The 1e-7 is PyTorch's: a slice over the cap comes out with a norm just under maxnorm.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, as_tensor
from .shape import _axis

_EPS = 1e-7


class _ArgError(ValueError, RuntimeError):
    """A bad argument: PyTorch raises a RuntimeError, xpnn's kind is a ValueError."""


class _DtypeError(TypeError, RuntimeError):
    """A non-floating input: PyTorch's RuntimeError, xpnn's TypeError."""


def _pnorm(xp, X, A, p, axes):
    """||X||_p over ``axes`` (kept), from A = |X|."""
    if p == math.inf:
        return xp.max(A, axis=axes, keepdims=True)
    if p == 1:
        return xp.sum(A, axis=axes, keepdims=True)
    if p == 2:
        return xp.sqrt(xp.sum(X * X, axis=axes, keepdims=True))
    return xp.sum(A ** p, axis=axes, keepdims=True) ** (1.0 / p)


class Renorm(Function):
    def forward(self, X, p=2.0, axes=(), maxnorm=1.0):
        xp = self.xp
        A = xp.abs(X)
        N = _pnorm(xp, X, A, p, axes)
        over = N > maxnorm
        ones = xp.ones_like(N)
        Fac = xp.where(over, maxnorm / (N + _EPS), ones)
        if self.record:
            self.X, self.A, self.N, self.over, self.Fac = X, A, N, over, Fac
            self.p, self.axes, self.maxnorm = p, axes, maxnorm
        return X * Fac

    def backward(self, dY):
        # dX = dY f + [n > maxnorm] (sum_slice dY x) f'(n) dn/dx,  f'(n) = -maxnorm/(n+eps)^2
        xp, X, A, p = self.xp, self.X, self.A, self.p
        ones = xp.ones_like(self.N)
        N = xp.where(self.over, self.N, ones)  # > 0 on every slice the second term touches
        S = xp.sum(dY * X, axis=self.axes, keepdims=True)
        coef = xp.where(self.over, -self.maxnorm / ((N + _EPS) * (N + _EPS)) * S,
                        xp.zeros_like(N))
        sgn = xp.sign(X)
        if p == math.inf:  # the max shared evenly among ties, as PyTorch's max-norm grad
            hit = xp.astype(A == self.N, X.dtype)  # at least one per slice
            dn = sgn * hit / xp.sum(hit, axis=self.axes, keepdims=True)
        elif p == 1:
            dn = sgn
        elif p == 2:
            dn = X / N
        else:  # sign(x) |x|^(p-1) / n^(p-1), 0 where x = 0 (p < 1 would give 0 * inf)
            safe = xp.where(A > 0, A, xp.ones_like(A))
            dn = sgn * safe ** (p - 1) / N ** (p - 1)
        return dY * self.Fac + coef * dn


def renorm(input, p, dim, maxnorm):
    """Each slice of ``input`` along ``dim`` whose p-norm exceeds ``maxnorm``, scaled down to
    (just under) ``maxnorm``; the others unchanged.

    Args:
        input: floating Tensor with at least 2 dims.
        p: the norm's order, a number > 0 (``math.inf`` for the max norm).
        dim: the dim whose slices are renormalized (each slice spans the other dims).
        maxnorm: number >= 0.
    Returns:
        a Tensor of input's shape and dtype (differentiable).
    """
    x = as_tensor(input, op="renorm")
    if not x._be.is_floating(x.dtype):
        raise _DtypeError(f"renorm: expected a floating tensor, got {B.dtype_name(x.dtype)}")
    if x.ndim < 2:
        raise _ArgError(f"renorm: input needs at least 2 dimensions, got shape "
                        f"{tuple(x.shape)}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
        raise _ArgError(f"renorm: p must be a number > 0 (non-positive norms are not "
                        f"supported), got {p!r}")
    if isinstance(maxnorm, bool) or not isinstance(maxnorm, (int, float)) or \
            not maxnorm >= 0:
        raise _ArgError(f"renorm: maxnorm must be a number >= 0, got {maxnorm!r}")
    d = _axis("renorm", dim, x.ndim)
    axes = tuple(i for i in range(x.ndim) if i != d)
    return Renorm.apply(x, p=float(p), axes=axes, maxnorm=float(maxnorm))

"""Reductions: sum, mean, prod, max/min (with indices), var/std, logsumexp, norm, any/all,
argmax/argmin, cumsum. The basic ones are in reduce_basic.py (re-exported
here); var/std, logsumexp and norm are defined here.

Dims are PyTorch's ``dim``/``keepdim``; the Array API's ``axis``/``keepdims`` are accepted
too. Where the two standards give one name different meanings, the spelling chooses: with
``dim`` (or positionally) PyTorch's, with ``axis`` the Array API's, so code written to either
runs unchanged. Two functions differ: ``max``/``min`` (``max(x, 1)`` is ``(values,
indices)``, ``max(x, axis=1)`` the values) and ``var``/``std`` (default ``correction`` 1, or
0 with ``axis``).
"""
from __future__ import annotations

import builtins
import math
import warnings

from .. import backend as B
from ..autograd import Function, as_tensor
from .broadcast import quiet
from .._errors import ArgumentError, ShapeError
from .complex_base import refuse_complex
from .scalar_args import number_arg
from .transfer import to
from .reduce_basic import (  # noqa: F401  (re-exported: the import path of the basics)
    BoolReduce, CumSum, Max, MaxDim, MaxResult, Mean, MinResult, Prod, Sum, _arg, _axes,
    _bool_reduce, _drop, _expand, _expand_graph, _float_input, _max_min, _nonempty,
    _prep, all, amax, amin, any, argmax, argmin, cumsum, max, mean, min, prod, resolve,
    sum)


class _Spread(Function):
    """What var and std share: the centered input and the divisor n - correction."""

    def _center(self, X, axes, keepdims, correction):
        self.axes, self.keep, self.correction = axes, keepdims, correction
        n = math.prod(X.shape[a] for a in axes)
        self.denom = builtins.max(n - correction, 0)
        # nothing to center over an empty reduction (its mean would warn): the result is NaN
        self.centered = X - self.xp.mean(X, axis=axes, keepdims=True) if n else X + 0
        return self.centered

    def _center_graph(self):
        """x - mean(x) over the axes, recorded (backward_graph's centered input)."""
        X = self.inputs[0]
        if not math.prod(X.shape[a] for a in self.axes):
            return X * 1.0
        return X - Mean.apply(X, axes=self.axes, keepdims=True)


@quiet
class Var(_Spread):
    def forward(self, X, axes=(), keepdims=False, correction=0):
        xp = self.xp
        c = self._center(X, axes, keepdims, correction)
        total = xp.sum(c * c, axis=axes, keepdims=keepdims)
        return _safe_div(xp, total, self.denom)

    def backward(self, dY):
        # d var / dx_i = 2 (x_i - mean) / (n - correction)
        g = dY if self.keep else _expand(self.xp, dY, self.axes)
        return _safe_div(self.xp, g * self.centered * 2, self.denom)

    def backward_graph(self, dY):
        """2 g (x - mean(x)) / (n - correction), recorded (n - correction = 0: inf/NaN,
        as backward)."""
        g, c = _expand_graph(dY, self.axes, self.keep), self._center_graph()
        with self.be.quiet():
            return g * c * 2 / float(self.denom)


@quiet
class Std(_Spread):
    """sqrt(var): the gradient (x_i - mean) / ((n - correction) std) is 0 where std is 0,
    as in PyTorch."""

    saves_output = True

    def forward(self, X, axes=(), keepdims=False, correction=0):
        xp = self.xp
        c = self._center(X, axes, keepdims, correction)
        var = _safe_div(xp, xp.sum(c * c, axis=axes, keepdims=True), self.denom)
        self.S = xp.sqrt(var)
        return self.S if keepdims else xp.reshape(self.S, _drop(X.shape, axes))

    def backward(self, dY):
        xp, S = self.xp, self.S
        g = dY if self.keep else _expand(xp, dY, self.axes)
        if self.denom == 0:
            return _safe_div(xp, g * self.centered, 0)
        safe = xp.where(S == 0, xp.ones_like(S), S)
        return xp.where(S == 0, xp.zeros((), dtype=S.dtype, device=S.device),
                        g * self.centered / (safe * self.denom))

    def backward_graph(self, dY):
        """g (x - mean(x)) / ((n - correction) std), 0 where std is 0, recorded."""
        from .elementwise import where
        g, c = _expand_graph(dY, self.axes, self.keep), self._center_graph()
        if self.denom == 0:
            with self.be.quiet():
                return g * c / 0.0
        S = Std.apply(self.inputs[0], axes=self.axes, keepdims=True,
                      correction=self.correction)
        nonzero = (S != 0).array
        return where(nonzero, g * c / (where(nonzero, S, 1.0) * float(self.denom)), 0.0)


def _safe_div(xp, a, n):
    """a / n for a Python int n >= 0: n == 0 gives inf, or NaN where a is 0 (PyTorch's
    var with correction >= n), without Python's ZeroDivisionError."""
    if n:
        return a / n
    full = [xp.asarray(v, dtype=a.dtype, device=a.device) for v in
            (float("nan"), float("inf"), -float("inf"))]
    return xp.where(a == 0, full[0], xp.where(a > 0, full[1], full[2]))


@quiet
class LogSumExp(Function):
    saves_output = True
    saved_inputs = ()

    def forward(self, X, axes=(), keepdims=False):
        xp = self.xp
        self.axes, self.keep = axes, keepdims
        if builtins.any(X.shape[a] == 0 for a in axes):  # a sum of no terms: log 0 = -inf (PyTorch)
            shape = tuple(1 if a in axes else n for a, n in enumerate(X.shape))
            m = xp.zeros(shape, dtype=X.dtype, device=X.device)
        else:
            m = xp.max(X, axis=axes, keepdims=True)
        # an infinite max (a row of -inf, or a +inf) would give inf - inf = NaN below
        m = xp.where(xp.isfinite(m), m, xp.zeros((), dtype=m.dtype, device=m.device))
        E = xp.exp(X - m)
        S = xp.sum(E, axis=axes, keepdims=True)
        # log(0) = -inf for a row of -inf, without NumPy's divide-by-zero warning; a NaN
        # sum (a NaN in the row) stays NaN, as in PyTorch
        Y = xp.where(S > 0, xp.log(xp.where(S > 0, S, xp.ones_like(S))) + m,
                     xp.where(S == 0, xp.asarray(-float("inf"), dtype=S.dtype,
                                                 device=S.device), S))
        if self.record:
            self.X, self.Y = X, Y
        return Y if keepdims else xp.reshape(Y, _drop(X.shape, axes))

    def backward(self, dY):
        xp = self.xp
        g = dY if self.keep else _expand(xp, dY, self.axes)
        X, Y = self.X, self.Y
        # softmax exp(x - y); where x and y are the same infinity it is NaN, as in PyTorch
        # (computed without the inf - inf that NumPy warns about)
        same = (X == Y) & ~xp.isfinite(Y)
        D = X - xp.where(same, xp.zeros_like(Y), Y)
        return g * xp.where(same, xp.asarray(float("nan"), dtype=D.dtype, device=D.device),
                            xp.exp(D))

    def backward_graph(self, dY):
        """g * exp(x - logsumexp(x)), recorded (the softmax's own graph gives the second
        derivative; an infinite x equal to its logsumexp gives NaN, as backward)."""
        from .unary import exp
        X = self.inputs[0]
        Y = LogSumExp.apply(X, axes=self.axes, keepdims=True)
        with self.be.quiet():  # inf - inf is the NaN backward gives too
            return _expand_graph(dY, self.axes, self.keep) * exp(X - Y)



def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """Variance over ``dim``. ``correction`` (or ``unbiased``) defaults to 1 as in PyTorch
    (0 when the dims are given as ``axis``, the Array API's default); ``correction >= n``
    gives inf/NaN as in PyTorch."""
    # PyTorch checks the dtype before the dims
    x = _float_input("var", as_tensor(input, op="var"))
    x, axes, keep = _prep("var", x, dim, axis, keepdim, keepdims)
    c = _correction(unbiased, correction, axis)
    _warn_dof("var", x, axes, c)
    return Var.apply(_float_input("var", x), axes=axes, keepdims=keep, correction=c)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """Standard deviation over ``dim``; its gradient is 0 where it is 0 (PyTorch)."""
    x = _float_input("std", as_tensor(input, op="std"))  # the dtype before the dims
    x, axes, keep = _prep("std", x, dim, axis, keepdim, keepdims)
    c = _correction(unbiased, correction, axis)
    _warn_dof("std", x, axes, c)
    return Std.apply(_float_input("std", x), axes=axes, keepdims=keep, correction=c)


def _warn_dof(op, x, axes, correction):
    """PyTorch's warning (from the shapes, no values read) where n - correction <= 0: the
    variance is then inf or NaN."""
    n = math.prod(x.shape[a] for a in axes)
    if n - correction <= 0:
        warnings.warn(f"{op}(): degrees of freedom is <= 0: correction {correction} is not "
                      f"below the {n} values reduced into each output, so the result is inf "
                      "or NaN", UserWarning, stacklevel=3)


def _correction(unbiased, correction, axis):
    if correction is not None:
        return correction
    if unbiased is None:
        return 0 if axis is not None else 1  # the Array API's default, or PyTorch's
    return 1 if unbiased else 0


def logsumexp(input, dim=-1, keepdim=False, *, axis=None, keepdims=None):
    """log(sum(exp(x))) over ``dim`` (the last by default; None: all), stable for any
    finite input and exact for rows of -inf (-inf) or with +inf (+inf)."""
    if axis is not None:
        dim = None
    x, axes, keep = _prep("logsumexp", input, dim, axis, keepdim, keepdims)
    refuse_complex("logsumexp", x)  # (not its real part's, silently)
    if not x._be.is_floating(x.dtype):  # PyTorch: integers and bools in the default float
        x = to(x, dtype=B.get_default_dtype())
    return LogSumExp.apply(x, axes=axes, keepdims=keep)


def norm(input, p="fro", dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The p-norm over ``dim`` (all entries by default): 2 / "fro", 1, inf, -inf or any
    real p, as ``torch.norm`` for vectors; "nuc", the nuclear norm of the matrices over
    the two dims ``dim`` (of a matrix by default)."""
    from .elementwise import abs as _abs, where as _where
    p = number_arg(p)  # a 0-d tensor reads as its number, as in PyTorch
    if isinstance(p, str) and p != "fro":
        if p != "nuc":
            raise ArgumentError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
        return _nuclear(input, dim, axis, keepdim, keepdims)
    x, axes, keep = _prep("norm", input, dim, axis, keepdim, keepdims)
    if x._be.is_complex(x.dtype):  # a complex vector's norm is that of its moduli
        x = _abs(x)
    x = _float_input("norm", x)
    if p in ("fro", 2, 2.0):
        return L2Norm.apply(x, axes=axes, keepdims=keep)
    if p < 0 and 0 in [x.shape[d] for d in (axes if axes else range(x.ndim))]:
        # a negative p is a min-like reduction, which has no identity (PyTorch refuses)
        raise ArgumentError(f"norm: cannot compute the {p} norm over an empty dim of a "
                            f"tensor of shape {x.shape}: the operation has no identity")
    a = _abs(x)
    if p == float("inf"):
        return Max.apply(a, axes=axes, keepdims=keep, sign=1)
    if p == float("-inf"):
        return Max.apply(a, axes=axes, keepdims=keep, sign=-1)
    if p == 1:
        return Sum.apply(a, axes=axes, keepdims=keep)
    if p == 0:  # a count of nonzeros; in the graph with a zero gradient, as in PyTorch
        xp = a.xp
        nz = a._result(xp.astype(a.array != 0, a.dtype), a._be)
        if a.requires_grad:
            nz = _where(xp.zeros(a.shape, dtype=xp.bool, device=a._be.device), a, nz)
        return Sum.apply(nz, axes=axes, keepdims=keep)
    return PNorm.apply(x, axes=axes, keepdims=keep, p=float(p))



def _nuclear(input, dim, axis, keepdim, keepdims):
    """The sum of the singular values of the matrices over two dims (every dim by default,
    so a matrix, as torch.norm's "nuc")."""
    from .decomp import svdvals
    from .shape import movedim, reshape
    x, axes, keep = _prep("norm", input, dim, axis, keepdim, keepdims)
    if len(axes) != 2:
        raise ShapeError(f"norm: p='nuc' needs two dims (a matrix), got dims {axes} of a "
                         f"tensor of shape {x.shape}")
    S = svdvals(movedim(x, axes, (-2, -1)))
    out = Sum.apply(S, axes=(S.ndim - 1,), keepdims=False)
    if not keep:
        return out
    return reshape(out, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))

@quiet
class PNorm(Function):
    """(sum |x|^p)^(1/p) for any other real p; dX = dY sign(x) |x|^(p-1) / N^(p-1), 0 where
    x or the norm is 0 (PyTorch: the composition's 0 * inf gave NaN there)."""

    saves_output = True

    def forward(self, X, axes=(), keepdims=False, p=3.0):
        xp = self.xp
        self.X, self.axes, self.keep, self.p = X, axes, keepdims, p
        with self.be.quiet():  # 0 ** negative p is inf, as the norm's value wants
            self.N = xp.sum(xp.abs(X) ** p, axis=axes, keepdims=True) ** (1.0 / p)
        return self.N if keepdims else xp.reshape(self.N, _drop(X.shape, axes))

    def backward(self, dY):
        xp, N, X, p = self.xp, self.N, self.X, self.p
        g = dY if self.keep else _expand(xp, dY, self.axes)
        zero = xp.zeros((), dtype=X.dtype, device=X.device)
        with self.be.quiet():
            dX = g * xp.sign(X) * (xp.abs(X) / N) ** (p - 1)
        return xp.where((X == 0) | (N == 0), zero, dX)

    def backward_graph(self, dY):
        from .reduce_graph import pnorm_graph
        return pnorm_graph(self, dY)


@quiet
class L2Norm(Function):
    """sqrt(sum(x^2)); the gradient x / norm is 0 where the norm is 0 (PyTorch)."""

    saves_output = True

    def forward(self, X, axes=(), keepdims=False):
        xp = self.xp
        self.X, self.axes, self.keep = X, axes, keepdims
        self.N = xp.sqrt(xp.sum(X * X, axis=axes, keepdims=True))
        return self.N if keepdims else xp.reshape(self.N, _drop(X.shape, axes))

    def backward(self, dY):
        xp, N = self.xp, self.N
        g = dY if self.keep else _expand(xp, dY, self.axes)
        safe = xp.where(N == 0, xp.ones_like(N), N)
        return xp.where(N == 0, xp.zeros((), dtype=N.dtype, device=N.device),
                        g * self.X / safe)

    def backward_graph(self, dY):
        from .elementwise import sqrt, where
        X = self.inputs[0]
        g = _expand_graph(dY, self.axes, self.keep)
        S = (X * X).sum(dim=self.axes, keepdim=True)
        nonzero = (S != 0).array  # where the norm is 0 the gradient is 0, its graph too
        return where(nonzero, g * X / sqrt(where(nonzero, S, 1.0)), 0.0)

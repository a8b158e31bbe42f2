"""Reductions: sum, mean, prod, max/min (with indices), var/std, logsumexp, norm, any/all,
argmax/argmin, cumsum.

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
from .. import return_types
from ..autograd import Function, TensorBase, as_tensor, no_grad
from .._errors import ArgumentError, DtypeError, IndexRangeError, ShapeError
from .transfer import to
from .intops import BoolReduce  # recorded ops, so an ONNX export sees them

MaxResult = return_types.max
MinResult = return_types.min


def resolve(op, dim, axis, keepdim, keepdims):
    """One (dim, keepdim) from PyTorch's and the Array API's spellings."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: got both dim={dim!r} and axis={axis!r}")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, bool(keepdim)


def _axes(op, dim, nd):
    """The reduced axes as a sorted tuple of non-negative ints."""
    if dim is None:
        return tuple(range(nd))
    dims = (dim,) if not isinstance(dim, (tuple, list)) else dim
    n = builtins.max(nd, 1)
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, B.np.integer)):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {d!r}")
        if not -n <= d < n:
            raise IndexError(f"{op}: dim {d!r} is out of range for a tensor with {nd} dims")
        out.append(int(d) % n)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: dim {dim} names a dim twice")
    return tuple(sorted(out)) if nd else ()


def _expand(xp, g, axes):
    """Reinsert reduced axes as size 1 so ``g`` broadcasts against the input."""
    kept = list(g.shape)
    for a in axes:
        kept.insert(a, 1)
    return xp.reshape(g, tuple(kept)) if tuple(kept) != tuple(g.shape) else g


def _expand_graph(g, axes, keep):
    """:func:`_expand` of a Tensor, recorded (``backward_graph`` of the reductions)."""
    if keep:
        return g
    kept = list(g.shape)
    for a in axes:
        kept.insert(a, 1)
    return g.reshape(tuple(kept)) if tuple(kept) != g.shape else g


def _drop(shape, axes):
    return tuple(d for i, d in enumerate(shape) if i not in axes)


class Sum(Function):
    saved_inputs = ()

    def forward(self, X, axes=(), keepdims=False, dtype=None):
        self.shape, self.axes, self.keep = X.shape, axes, keepdims
        return self.xp.sum(X, axis=axes, keepdims=keepdims, dtype=dtype)

    def backward(self, dY):
        g = dY if self.keep else _expand(self.xp, dY, self.axes)
        return self.xp.broadcast_to(g, self.shape)

    def backward_graph(self, dY):
        return _expand_graph(dY, self.axes, self.keep).expand(*self.shape)


class Mean(Function):
    saved_inputs = ()

    def forward(self, X, axes=(), keepdims=False):
        self.shape, self.axes, self.keep = X.shape, axes, keepdims
        self.n = math.prod(X.shape[a] for a in axes)
        if not self.n:  # NaN, silently as in PyTorch (NumPy warns "Mean of empty slice")
            with self.be.quiet():
                return self.xp.sum(X, axis=axes, keepdims=keepdims) / 0
        return self.xp.mean(X, axis=axes, keepdims=keepdims)

    def backward(self, dY):
        if not self.n:  # the input is empty
            return self.xp.zeros(self.shape, dtype=dY.dtype, device=dY.device)
        g = dY if self.keep else _expand(self.xp, dY, self.axes)
        return self.xp.broadcast_to(g / self.n, self.shape)

    def backward_graph(self, dY):
        if not self.n:
            return dY._result(self.xp.zeros(self.shape, dtype=dY.dtype,
                                             device=self.be.device), dY._be)
        return (_expand_graph(dY, self.axes, self.keep) / self.n).expand(*self.shape)


class Prod(Function):
    saves_output = True

    def forward(self, X, axes=(), keepdims=False):
        self.X, self.axes, self.keep = X, axes, keepdims
        self.Y = self.xp.prod(X, axis=axes, keepdims=True)
        return self.Y if keepdims else self.xp.reshape(self.Y, _drop(X.shape, axes))

    def backward(self, dY):
        xp, X = self.xp, self.X
        g = dY if self.keep else _expand(xp, dY, self.axes)
        # d prod / dx_i = prod_{j != i} x_j, computed without dividing by an x_i == 0
        zero = X == 0
        nonzero = xp.where(zero, xp.ones_like(X), X)
        p_nz = xp.prod(nonzero, axis=self.axes, keepdims=True)
        zeros = xp.sum(xp.astype(zero, X.dtype), axis=self.axes, keepdims=True)
        # one zero in the slice: only it gets prod of the others; two or more: all 0
        d = xp.where(zero, xp.where(zeros == 1, p_nz, 0.0),
                     xp.where(zeros == 0, p_nz / nonzero, 0.0))
        return g * d


class Max(Function):
    """max over axes; tied maxima share the gradient equally (as torch.amax)."""

    saved_inputs = ()

    def forward(self, X, axes=(), keepdims=False, sign=1):
        xp = self.xp
        self.shape, self.axes, self.keep = X.shape, axes, keepdims
        Y = xp.max(X, axis=axes, keepdims=True) if sign > 0 else \
            xp.min(X, axis=axes, keepdims=True)
        if self.record:  # a NaN is the max: the NaNs share the gradient (PyTorch)
            mask = xp.astype((X == Y) | (xp.isnan(X) & xp.isnan(Y)), X.dtype)
            self.weights = mask / xp.sum(mask, axis=axes, keepdims=True)
        return Y if keepdims else xp.reshape(Y, _drop(X.shape, axes))

    def backward(self, dY):
        g = dY if self.keep else _expand(self.xp, dY, self.axes)
        return g * self.weights


class MaxDim(Function):
    """(values, indices) of the max along one dim (sign=-1: min); the gradient goes to the
    index returned, as in PyTorch."""

    saved_inputs = ()

    def forward(self, X, dim=0, keepdim=False, sign=1):
        xp = self.xp
        self.shape, self.dim, self.keep = X.shape, dim, keepdim
        idx = xp.argmax(X, axis=dim, keepdims=True) if sign > 0 else \
            xp.argmin(X, axis=dim, keepdims=True)
        vals = xp.take_along_axis(X, idx, axis=dim)
        self.idx = idx
        if not keepdim:
            vals = xp.squeeze(vals, axis=dim)
            idx = xp.squeeze(idx, axis=dim)
        return vals, idx

    def backward(self, dV, dI):
        xp = self.xp
        g = dV if self.keep else xp.expand_dims(dV, axis=self.dim)
        n = self.shape[self.dim]
        pos = xp.reshape(xp.arange(n, device=dV.device),
                         (1,) * self.dim + (n,) + (1,) * (len(self.shape) - self.dim - 1))
        return xp.where(pos == self.idx, g, xp.zeros((), dtype=g.dtype, device=g.device))


class _Spread(Function):
    """What var and std share: the centered input and the divisor n - correction."""

    def _center(self, X, axes, keepdims, correction):
        self.axes, self.keep = axes, keepdims
        n = math.prod(X.shape[a] for a in axes)
        self.denom = builtins.max(n - correction, 0)
        # nothing to center over an empty reduction (its mean would warn): the result is NaN
        self.centered = X - self.xp.mean(X, axis=axes, keepdims=True) if n else X + 0
        return self.centered


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


def _safe_div(xp, a, n):
    """a / n for a Python int n >= 0: n == 0 gives inf, or NaN where a is 0 (PyTorch's
    var with correction >= n), without Python's ZeroDivisionError."""
    if n:
        return a / n
    full = [xp.asarray(v, dtype=a.dtype, device=a.device) for v in
            (float("nan"), float("inf"), -float("inf"))]
    return xp.where(a == 0, full[0], xp.where(a > 0, full[1], full[2]))


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
        # log(0) = -inf for a row of -inf, without NumPy's divide-by-zero warning
        Y = xp.where(S > 0, xp.log(xp.where(S > 0, S, xp.ones_like(S))) + m,
                     xp.asarray(-float("inf"), dtype=S.dtype, device=S.device))
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


class CumSum(Function):
    saved_inputs = ()

    def forward(self, X, axis=0):
        self.axis = axis
        return self.xp.cumulative_sum(X, axis=axis)

    def backward(self, dY):
        xp = self.xp  # reversed cumulative sum
        rev = xp.flip(xp.cumulative_sum(xp.flip(dY, axis=self.axis), axis=self.axis),
                      axis=self.axis)
        return rev


# -- public functions ------------------------------------------------------------------------
def _prep(op, input, dim, axis, keepdim, keepdims):
    x = as_tensor(input, op=op)
    dim, keep = resolve(op, dim, axis, keepdim, keepdims)
    return x, _axes(op, dim, x.ndim), keep


def _float_input(op, x, dtype=None):
    if dtype is not None:  # a cast in the graph (no-op where x has that dtype already)
        return to(x, dtype=dtype)
    if not x._be.is_floating(x.dtype):
        raise DtypeError(f"{op}: expected a floating tensor, got {B.dtype_name(x.dtype)} "
                         "(pass dtype= or cast with .float())")
    return x


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Sum over ``dim`` (all dims by default). Integers sum to int64, as in PyTorch."""
    x, axes, keep = _prep("sum", input, dim, axis, keepdim, keepdims)
    if dtype is None and not x._be.is_floating(x.dtype):
        dtype = x.xp.int64
    if x.dtype == x.xp.bool:  # a count (the Array API sums numbers only)
        x = to(x, dtype=x.xp.int64)
    return Sum.apply(x, axes=axes, keepdims=keep, dtype=x._be.dtype(dtype))


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    x, axes, keep = _prep("mean", input, dim, axis, keepdim, keepdims)
    return Mean.apply(_float_input("mean", x, dtype), axes=axes, keepdims=keep)


def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    x, axes, keep = _prep("prod", input, dim, axis, keepdim, keepdims)
    if dtype is not None:
        x = _float_input("prod", x, dtype)
    elif x.dtype == x.xp.bool:  # PyTorch: int64 (the Array API's prod takes numbers only)
        x = to(x, dtype="int64")
    return Prod.apply(x, axes=axes, keepdims=keep)


def _max_min(op, sign, input, dim, keepdim, axis, keepdims):
    if isinstance(dim, TensorBase) or B.is_array(dim):  # torch.max(a, b): elementwise
        from .elementwise import maximum, minimum
        return (maximum if sign > 0 else minimum)(input, dim)
    x = as_tensor(input, op=op)
    if x.dtype == x.xp.bool:  # the Array API's max takes numbers: bools as uint8, and back
        out = _max_min(op, sign, to(x, dtype="uint8"), dim, keepdim, axis, keepdims)
        if isinstance(out, tuple):
            return type(out)(to(out[0], dtype="bool"), out[1])
        return to(out, dtype="bool")
    if axis is not None or isinstance(dim, (tuple, list)):  # Array API meaning: values only
        d, keep = resolve(op, dim, axis, keepdim, keepdims)
        return Max.apply(x, axes=_axes(op, d, x.ndim), keepdims=keep, sign=sign)
    if dim is None:
        if x.ndim and not math.prod(x.shape):
            raise ShapeError(f"{op}: the reduction over an empty tensor of shape {x.shape} "
                             "has no identity")
        return Max.apply(x, axes=_axes(op, None, x.ndim), keepdims=False, sign=sign)
    d = _axes(op, dim, x.ndim)
    _nonempty(op, x, d)
    keep = bool(keepdim if keepdims is None else keepdims)
    result = MaxResult if sign > 0 else MinResult
    if x.ndim == 0:
        return result(x, x._result(x.xp.zeros((), dtype=x.xp.int64, device=x._be.device),
                                   x._be))
    values, indices = MaxDim.apply(x, dim=d[0], keepdim=keep, sign=sign)
    return result(values, indices)


def max(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The maximum: of all entries (``max(x)``), ``(values, indices)`` along a dim
    (``max(x, 1)``, ``max(x, dim=1)``), the elementwise maximum (``max(a, b)``), or the values
    over ``axis`` (the Array API's ``max(x, axis=1)``)."""
    return _max_min("max", 1, input, dim, keepdim, axis, keepdims)


def min(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The minimum; the forms of :func:`max`."""
    return _max_min("min", -1, input, dim, keepdim, axis, keepdims)


def amax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The maximum values over ``dim`` (ties share the gradient)."""
    x, axes, keep = _prep("amax", input, dim, axis, keepdim, keepdims)
    if x.dtype == x.xp.bool:
        return to(Max.apply(to(x, dtype="uint8"), axes=axes, keepdims=keep, sign=1), dtype="bool")
    return Max.apply(x, axes=axes, keepdims=keep, sign=1)


def amin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    x, axes, keep = _prep("amin", input, dim, axis, keepdim, keepdims)
    if x.dtype == x.xp.bool:
        return to(Max.apply(to(x, dtype="uint8"), axes=axes, keepdims=keep, sign=-1), dtype="bool")
    return Max.apply(x, axes=axes, keepdims=keep, sign=-1)


def _nonempty(op, x, dims):
    """PyTorch's IndexError for a max/min/argmax over a dim of size 0."""
    if dims and x.shape[dims[0]] == 0:
        raise IndexRangeError(f"{op}: dim {dims[0]} of the tensor of shape {x.shape} is empty "
                              "(a max or min over it has no value)")


def _arg(op, input, dim, keepdim, axis, keepdims):
    """argmax/argmin as the indices of MaxDim (an op the ONNX export sees, as ArgMax)."""
    from .shape import reshape
    x = as_tensor(input, op=op)
    d, keep = resolve(op, dim, axis, keepdim, keepdims)
    sign = 1 if op == "argmax" else -1
    if x.dtype == x.xp.bool:
        raise DtypeError(f"{op}: does not support bool input (cast with .int() first)")
    if d is None and not math.prod(x.shape):
        raise IndexRangeError(f"{op}: the tensor of shape {x.shape} is empty: give a dim")
    if d is not None:
        _nonempty(op, x, _axes(op, d, x.ndim))
    with no_grad():
        if d is None:
            idx = MaxDim.apply(reshape(x, (-1,)), dim=0, keepdim=False, sign=sign)[1]
            return reshape(idx, (1,) * x.ndim) if keep else idx
        return MaxDim.apply(x, dim=_axes(op, d, x.ndim)[0], keepdim=keep, sign=sign)[1]


def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the maximum (of the flattened tensor when no dim); no gradient."""
    return _arg("argmax", input, dim, keepdim, axis, keepdims)


def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _arg("argmin", input, dim, keepdim, axis, keepdims)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """Variance over ``dim``. ``correction`` (or ``unbiased``) defaults to 1 as in PyTorch
    (0 when the dims are given as ``axis``, the Array API's default); ``correction >= n``
    gives inf/NaN as in PyTorch."""
    x, axes, keep = _prep("var", input, dim, axis, keepdim, keepdims)
    c = _correction(unbiased, correction, axis)
    _warn_dof("var", x, axes, c)
    return Var.apply(_float_input("var", x), axes=axes, keepdims=keep, correction=c)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """Standard deviation over ``dim``; its gradient is 0 where it is 0 (PyTorch)."""
    x, axes, keep = _prep("std", input, dim, axis, keepdim, keepdims)
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
    if not x._be.is_floating(x.dtype):  # PyTorch: integers and bools in the default float
        x = to(x, dtype=B.get_default_dtype())
    return LogSumExp.apply(x, axes=axes, keepdims=keep)


def norm(input, p="fro", dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The p-norm over ``dim`` (all entries by default): 2 / "fro", 1, inf, -inf or any
    real p, as ``torch.norm`` for vectors; "nuc", the nuclear norm of the matrices over
    the two dims ``dim`` (of a matrix by default)."""
    from .elementwise import abs as _abs, where as _where
    if isinstance(p, str) and p != "fro":
        if p != "nuc":
            raise ArgumentError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
        return _nuclear(input, dim, axis, keepdim, keepdims)
    x, axes, keep = _prep("norm", input, dim, axis, keepdim, keepdims)
    x = _float_input("norm", x)
    if p in ("fro", 2, 2.0):
        return L2Norm.apply(x, axes=axes, keepdims=keep)
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


def _bool_reduce(op, input, dim, keepdim, axis, keepdims):
    x = as_tensor(input, op=op)
    d, keep = resolve(op, dim, axis, keepdim, keepdims)
    return BoolReduce.apply(x, op=op, axes=_axes(op, d, x.ndim), keepdims=keep)


def all(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _bool_reduce("all", input, dim, keepdim, axis, keepdims)


def any(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _bool_reduce("any", input, dim, keepdim, axis, keepdims)


def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim`` (``cumulative_sum`` in the Array API)."""
    x = as_tensor(input, op="cumsum")
    if dtype is not None:
        x = _float_input("cumsum", x, dtype)
    elif x.dtype == x.xp.bool:  # PyTorch: int64 (the Array API's cumulative_sum: numbers)
        x = to(x, dtype="int64")
    return CumSum.apply(x, axis=_axes("cumsum", dim, x.ndim)[0] if x.ndim else 0)

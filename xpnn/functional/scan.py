"""Scans along a dim: cumprod, logcumsumexp, cummax/cummin, diff, and the trapezoid rule
(trapezoid, its alias trapz, cumulative_trapezoid).

The Array API has cumulative sums and products but no other scan. Associative scans
(logaddexp, max with its index) run as a Hillis-Steele scan (:func:`scan_array`): log2(n)
steps, each one combine of the array with itself shifted by 1, 2, 4, ... positions, so they
stay exact and portable (no per-element Python loop, no host sync).
"""
from __future__ import annotations


from .. import backend as B
from .._errors import ArgumentError
from .. import return_types
from ..autograd import Function, TensorBase, as_tensor
from .complex_base import refuse_complex
from .dtype_refusals import refuse_dtypes
from .elementwise import _floating, add, logical_xor, mul, quiet, sub
from .gather import Gather, flat_positions
from .indexing import narrow
from .reduce import _float_input, cumsum, sum as _sum
from .shape import _axis, cat, reshape

CumMaxResult = return_types.cummax
CumMinResult = return_types.cummin


def _part(X, axis, start, stop):
    return X[(slice(None),) * axis + (slice(start, stop), ...)]


def scan_array(xp, X, axis, combine):
    """The inclusive scan of ``X`` along ``axis`` by an associative ``combine(left,
    right)`` of arrays (or of tuples of arrays, shaped alike), left being the earlier part."""
    many = isinstance(X, tuple)
    Xs = X if many else (X,)
    n = Xs[0].shape[axis]
    s = 1
    while s < n:
        left = tuple(_part(A, axis, 0, n - s) for A in Xs)
        right = tuple(_part(A, axis, s, n) for A in Xs)
        new = combine(left, right) if many else (combine(left[0], right[0]),)
        Xs = tuple(xp.concat([_part(A, axis, 0, s), N], axis=axis) for A, N in zip(Xs, new))
        s *= 2
    return Xs if many else Xs[0]


def _reverse_scan(xp, X, axis, combine):
    return xp.flip(scan_array(xp, xp.flip(X, axis=axis), axis, combine), axis=axis)


# -- cumprod ---------------------------------------------------------------------------------
@quiet
class CumProd(Function):
    """Y_i = prod_{j <= i} X_j. dX_m = sum_{i >= m} dY_i prod_{j <= i, j != m} X_j, taken
    without dividing by a zero: before a slice's first zero it is revcumsum(dY Y) / X_m; at
    the first zero revcumsum(dY Y') with Y' the products that skip that zero; after it, 0."""

    saves_output = True

    def forward(self, X, axis=0):
        self.X, self.axis = X, axis
        self.Y = self.xp.cumulative_prod(X, axis=axis)
        return self.Y

    def backward(self, dY):
        xp, X, Y, axis = self.xp, self.X, self.Y, self.axis
        zero = X == 0
        zeros_so_far = xp.cumulative_sum(xp.astype(zero, xp.int64), axis=axis)
        before = zeros_so_far == 0
        first = zero & (zeros_so_far == 1)
        nil = xp.zeros((), dtype=X.dtype, device=X.device)
        one = xp.ones_like(X)

        def revcumsum(A):
            return xp.flip(xp.cumulative_sum(xp.flip(A, axis=axis), axis=axis), axis=axis)
        dX = revcumsum(xp.where(before, dY * Y, nil)) / xp.where(before, X, one)
        skip = xp.cumulative_prod(xp.where(first, one, X), axis=axis)
        at_zero = revcumsum(dY * skip)
        return xp.where(before, dX, xp.where(first, at_zero, nil))

    def backward_graph(self, dY):
        from .reduce_graph import cumprod_graph  # exact at zeros, O(n^2) per slice
        return cumprod_graph(self, dY)


def cumprod(input, dim, *, dtype=None):
    """The cumulative product along ``dim``, as ``torch.cumprod``; integers and bools give
    int64. Its gradient is exact where the input holds zeros."""
    x = as_tensor(input, op="cumprod")
    if dtype is not None:
        x = _float_input("cumprod", x, dtype)
    d = _axis("cumprod", dim, x.ndim)
    if x.ndim == 0:
        x = reshape(x, (1,))
        return reshape(cumprod(x, 0, dtype=dtype), ())
    if not x._be.is_inexact(x.dtype):
        from .transfer import to  # recorded ops, so an ONNX export sees them
        return CumProd.apply(to(x, dtype="int64") if x.dtype != x.xp.int64 else x, axis=d)
    return CumProd.apply(x, axis=d)


# -- logcumsumexp ----------------------------------------------------------------------------
@quiet
class LogCumSumExp(Function):
    """Y_i = log sum_{j <= i} exp(X_j), a scan of logaddexp (stable, no overflow).
    dX_j = sum_{i >= j} dY_i exp(X_j - Y_i), summed in log space with the positive and
    negative parts of dY apart (PyTorch's formula)."""

    saves_output = True

    def forward(self, X, axis=0):
        self.X, self.axis = X, axis
        self.Y = scan_array(self.xp, X, axis, self.xp.logaddexp)
        return self.Y

    def backward(self, dY):
        xp, X, Y, axis = self.xp, self.X, self.Y, self.axis
        ninf = xp.asarray(-float("inf"), dtype=dY.dtype, device=dY.device)

        def part(G):  # exp(X_j + log sum_{i >= j} G_i exp(-Y_i)) for G >= 0
            logG = xp.where(G > 0, xp.log(xp.where(G > 0, G, xp.ones_like(G))), ninf)
            return xp.exp(X + _reverse_scan(xp, logG - Y, axis, xp.logaddexp))
        zero = xp.zeros((), dtype=dY.dtype, device=dY.device)
        return part(xp.where(dY > 0, dY, zero)) - part(xp.where(dY < 0, -dY, zero))

    def backward_graph(self, dY):
        from .graph_more import logcumsumexp_graph
        return logcumsumexp_graph(self, dY)


def logcumsumexp(input, dim):
    """log(cumsum(exp(input))) along ``dim``, computed stably, as ``torch.logcumsumexp``
    (floating tensors only)."""
    x = as_tensor(input, op="logcumsumexp")
    d = _axis("logcumsumexp", dim, x.ndim)  # PyTorch checks the dim before the dtype
    x = _float_input("logcumsumexp", x)
    if x.ndim == 0:
        return reshape(LogCumSumExp.apply(reshape(x, (1,)), axis=0), ())
    return LogCumSumExp.apply(x, axis=d)


# -- cummax / cummin -------------------------------------------------------------------------
def cum_extreme_indices(xp, X, axis, sign):
    """int64 indices of the running max (sign=1) or min (-1) of ``X`` along ``axis``: a tie
    takes the later index and a NaN beats every number, as in PyTorch."""
    n = X.shape[axis]
    shape = tuple(n if a == axis else 1 for a in range(X.ndim))
    idx = xp.broadcast_to(xp.reshape(xp.arange(n, dtype=xp.int64, device=X.device), shape),
                          X.shape)
    if X.dtype == xp.bool:
        X = xp.astype(X, xp.int8)
    floating = xp.isdtype(X.dtype, "real floating")

    def combine(left, right):
        (Vl, Il), (Vr, Ir) = left, right
        keep = Vl > Vr if sign > 0 else Vl < Vr  # the earlier one wins only if strictly
        if floating:
            keep = (keep & ~xp.isnan(Vr)) | (xp.isnan(Vl) & ~xp.isnan(Vr))
        return xp.where(keep, Vl, Vr), xp.where(keep, Il, Ir)
    return scan_array(xp, (X, idx), axis, combine)[1]


def _cum_extreme(op, result, sign, input, dim):
    x = as_tensor(input, op=op)
    refuse_complex(op, x)  # (no order)
    d = _axis(op, dim, x.ndim)
    xp, be = x.xp, x._be
    if x.ndim == 0:
        return result(x, x._result(xp.zeros((), dtype=xp.int64, device=be.device), be))
    idx = cum_extreme_indices(xp, x.array, d, sign)
    if be.is_floating(x.dtype):
        values = Gather.apply(x, pos=flat_positions(xp, x.shape, d, idx))
    else:
        values = x._result(xp.take_along_axis(x.array, idx, axis=d), be)
    return result(values, x._result(idx, be))


def cummax(input, dim):
    """(values, indices) of the running maximum along ``dim``, as ``torch.cummax``: a tie
    takes the later index, a NaN stays once met. The values are differentiable (the gradient
    goes to the index)."""
    return _cum_extreme("cummax", CumMaxResult, 1, input, dim)


def cummin(input, dim):
    """(values, indices) of the running minimum along ``dim``, as ``torch.cummin``."""
    return _cum_extreme("cummin", CumMinResult, -1, input, dim)


# -- differences and the trapezoid rule ------------------------------------------------------
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along ``dim`` (``out[i] = x[i + 1] - x[i]``, applied n
    times; for bools the exclusive or), after concatenating ``prepend`` and ``append``
    along ``dim``, as ``torch.diff``."""
    x = as_tensor(input, op="diff")
    if x.ndim == 0:
        raise RuntimeError("diff: expects input to be at least one-dimensional")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ArgumentError(f"diff: order n must be a non-negative int, got {n!r}")
    d = _axis("diff", dim, x.ndim)
    parts = [as_tensor(p, like=x, op="diff") for p in (prepend, x, append) if p is not None]
    for p in parts:
        if p.ndim != x.ndim:
            raise RuntimeError(f"diff: prepend and append must have the input's "
                               f"{x.ndim} dims, got shape {p.shape}")
    if len(parts) > 1:
        x = cat(parts, d)
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        later, earlier = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = logical_xor(later, earlier) if x.dtype == x.xp.bool else sub(later, earlier)
    return x


def _areas(op, y, x, dx, dim):
    """The trapezoids' areas along ``dim`` (one fewer than y's entries) and that dim."""
    refuse_dtypes(op, ("bool",), y, x, names=("y", "x"), runtime=True)
    y = _floating(as_tensor(y, op=op))
    if y.ndim == 0:
        raise IndexError(f"{op}: dim {dim} is out of range for a 0-d tensor")
    d = _axis(op, dim, y.ndim)
    m = y.shape[d]
    k = max(m - 1, 0)
    pair = mul(add(narrow(y, d, min(m, 1), k), narrow(y, d, 0, k)), 0.5)
    if x is not None and (isinstance(x, TensorBase) or B.is_array(x)):
        if dx is not None:
            raise TypeError(f"{op}: give the sample points x or the spacing dx, not both")
        xs = _floating(as_tensor(x, like=y, op=op))
        if xs.ndim == 1:  # spacings along dim, broadcast over the other dims
            if xs.shape[0] != m:
                raise RuntimeError(f"{op}: x has {xs.shape[0]} points but y has {m} along "
                                   f"dim {dim}")
            xs = reshape(xs, (m,) + (1,) * (y.ndim - d - 1))
            return mul(pair, diff(xs, dim=0)), d
        return mul(pair, diff(xs, dim=dim)), d
    step = 1.0 if x is None and dx is None else float(dx if dx is not None else x)
    return mul(pair, step), d


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of ``y`` along ``dim`` by the trapezoid rule, as ``torch.trapezoid``:
    at sample points ``x`` (a tensor, 1-D along ``dim`` or shaped like ``y``) or with a
    constant spacing ``dx`` (default 1). Integers give the default float dtype."""
    areas, d = _areas("trapezoid", y, x, dx, dim)
    return _sum(areas, d)


trapz = trapezoid


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running integral of ``y`` along ``dim`` by the trapezoid rule (one entry fewer
    than ``y`` along ``dim``), as ``torch.cumulative_trapezoid``."""
    areas, d = _areas("cumulative_trapezoid", y, x, dx, dim)
    return cumsum(areas, d)

"""Statistics over a dim: var_mean/std_mean, median/nanmedian, kthvalue, mode, quantile/
nanquantile, nanmean/nansum, aminmax.

Order statistics come from one stable argsort along the dim (NaN sorts last, as in
PyTorch): the position wanted in the sorted order is computed as an array, so data such as
a row's NaN count choose it on the device without a host sync. The values are a gather at
the chosen indices, so their gradient goes to the entries they came from, as in PyTorch.
"""
from __future__ import annotations

import math

from .. import backend as B
from .. import return_types
from ..autograd import Function, TensorBase, as_tensor
from .complex_base import refuse_complex
from .dtype_refusals import refuse_dtypes
from .elementwise import div, lerp, mul, quiet, sub, where
from .gather import Gather, flat_positions, gather
from .reduce import _axes, _float_input, amax, amin, mean, resolve, std, sum as _sum, var
from .._errors import DtypeError, ShapeError
from .scalar_args import int_arg
from .scan import scan_array
from .shape import _axis, expand, movedim, reshape, squeeze, unsqueeze
from .sorting import argsort_array, sort

MedianResult = return_types.median
KthvalueResult = return_types.kthvalue
ModeResult = return_types.mode
AminmaxResult = return_types.aminmax


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
             keepdims=None):
    """(variance, mean) over ``dim``, as ``torch.var_mean``; ``correction``/``unbiased``
    as in :func:`xpnn.functional.var`."""
    return (var(input, dim, unbiased, keepdim, correction=correction, axis=axis,
                keepdims=keepdims),
            mean(input, dim, keepdim, axis=axis, keepdims=keepdims))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
             keepdims=None):
    """(standard deviation, mean) over ``dim``, as ``torch.std_mean``."""
    return (std(input, dim, unbiased, keepdim, correction=correction, axis=axis,
                keepdims=keepdims),
            mean(input, dim, keepdim, axis=axis, keepdims=keepdims))


# -- order statistics along one dim ----------------------------------------------------------
def _nonempty(op, x, d):
    if x.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _pick(x, d, keepdim, order, pos):
    """(values, indices) of ``x`` at sorted position ``pos`` (int64, keepdim shape) along
    ``d`` given the stable ``order``; values differentiable through a gather."""
    xp, be = x.xp, x._be
    idx = xp.take_along_axis(order, pos, axis=d)
    values = Gather.apply(x, pos=flat_positions(xp, x.shape, d, idx)) \
        if be.is_floating(x.dtype) else x._result(xp.take_along_axis(x.array, idx, axis=d), be)
    indices = x._result(idx, be)
    if not keepdim:
        values, indices = squeeze(values, d), squeeze(indices, d)
    return values, indices


def _nan_count(xp, X, d):
    if not xp.isdtype(X.dtype, "real floating"):
        return xp.zeros(X.shape[:d] + (1,) + X.shape[d + 1:], dtype=xp.int64, device=X.device)
    return xp.sum(xp.astype(xp.isnan(X), xp.int64), axis=d, keepdims=True)


class SpreadTies(Function):
    """Y = V, a value taken from X; dX = dY shared evenly by the entries of X equal to V (a
    NaN V: by the NaNs), as PyTorch's gradient of the median of all entries."""

    def forward(self, X, V=None):
        self.X, self.V = X, V
        return V

    def backward(self, dY):
        xp, X, V = self.xp, self.X, self.V
        ties = (X == V) | (xp.isnan(X) & xp.isnan(V))
        share = dY / xp.sum(xp.astype(ties, dY.dtype))
        return xp.where(ties, share, xp.zeros_like(share))


def _median(op, input, dim, keepdim, ignore_nan):
    x = as_tensor(input, op=op)
    refuse_dtypes(op, ("bool", "complex"), x)  # PyTorch: "median_cpu" has neither kernel
    xp, be = x.xp, x._be
    result = return_types.nanmedian if ignore_nan else MedianResult
    flat = dim is None
    if flat:
        x = reshape(x, (-1,))
        keepdim = False
    elif x.ndim == 0:
        _axis(op, dim, 0)  # a 0-d tensor takes dim -1 or 0, as in PyTorch
        return result(x, x._result(xp.zeros((), dtype=xp.int64, device=be.device), be))
    d = 0 if flat else _axis(op, dim, x.ndim)
    n = x.shape[d]
    if n == 0:
        if flat:  # the median of nothing: NaN, as in PyTorch
            nan = xp.full((), float("nan"), dtype=x.dtype, device=be.device)
            return x._result(nan, be)
        _nonempty(op, x, d)
    order = argsort_array(xp, x.array, d)
    nans = _nan_count(xp, x.array, d)
    if ignore_nan:  # the lower median of the numbers; an all-NaN row gives its first NaN
        pos = xp.maximum((n - nans - 1) // 2, xp.zeros_like(nans))
    else:  # a row with a NaN gives its first NaN (NaNs sort last, stably)
        pos = xp.where(nans > 0, n - nans, xp.full_like(nans, (n - 1) // 2))
    if flat and be.is_floating(x.dtype):
        V = xp.take_along_axis(x.array, xp.take_along_axis(order, pos, axis=0), axis=0)
        return SpreadTies.apply(x, V=xp.reshape(V, ()))
    values, indices = _pick(x, d, keepdim, order, pos)
    return values if flat else result(values, indices)


def median(input, dim=None, keepdim=False):
    """The lower median: of all entries (a 0-d tensor) or ``(values, indices)`` along
    ``dim``, as ``torch.median``; a NaN in a row makes its median NaN. Differentiable: the
    gradient goes to the entry returned along ``dim``; the median of all entries shares it
    among the entries equal to it, as PyTorch."""
    return _median("median", input, dim, keepdim, ignore_nan=False)


def nanmedian(input, dim=None, keepdim=False):
    """:func:`median` ignoring NaNs (NaN only for a row of NaNs), as ``torch.nanmedian``."""
    return _median("nanmedian", input, dim, keepdim, ignore_nan=True)


def kthvalue(input, k, dim=-1, keepdim=False):
    """``(values, indices)`` of the k-th smallest entry (k from 1) along ``dim``, as
    ``torch.kthvalue`` (NaN counts as the largest). The values are differentiable."""
    x = as_tensor(input, op="kthvalue")
    xp, be = x.xp, x._be
    d = _axis("kthvalue", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    k = int_arg(k)  # a 0-d integer tensor reads as its int, as in PyTorch
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d} "
                           f"(k={k!r}, size {n})")
    if x.ndim == 0:
        return KthvalueResult(x, x._result(xp.zeros((), dtype=xp.int64, device=be.device),
                                           be))
    order = argsort_array(xp, x.array, d)
    shape = x.shape[:d] + (1,) + x.shape[d + 1:]
    pos = xp.full(shape, k - 1, dtype=xp.int64, device=be.device)
    return KthvalueResult(*_pick(x, d, keepdim, order, pos))


def mode(input, dim=-1, keepdim=False):
    """``(values, indices)`` of the most frequent value along ``dim`` (the smallest of
    equally frequent ones) and the index of its last occurrence, as ``torch.mode``. The
    values are differentiable."""
    x = as_tensor(input, op="mode")
    refuse_dtypes("mode", ("complex",), x)
    xp, be = x.xp, x._be
    if x.ndim == 0:
        _axis("mode", dim, 0)  # a 0-d tensor takes dim -1 or 0, as in PyTorch
        return ModeResult(x, x._result(xp.zeros((), dtype=xp.int64, device=be.device), be))
    d = _axis("mode", dim, x.ndim)
    _nonempty("mode", x, d)
    n = x.shape[d]
    X = xp.astype(x.array, xp.int8) if x.dtype == xp.bool else x.array  # argsort takes no bool
    order = argsort_array(xp, X, d)
    S = xp.take_along_axis(X, order, axis=d)
    # runs of equal values in the sorted row: each entry's run start and end, by a running
    # max of the run starts and a reversed running min of the run ends
    pos = xp.broadcast_to(xp.reshape(xp.arange(n, dtype=xp.int64, device=be.device),
                                     (1,) * d + (n,) + (1,) * (x.ndim - d - 1)), S.shape)
    edge = xp.ones(S.shape[:d] + (1,) + S.shape[d + 1:], dtype=xp.bool, device=be.device)
    body = _slice(S, d, 1, n) != _slice(S, d, 0, n - 1)
    starts = xp.where(xp.concat([edge, body], axis=d), pos, xp.zeros_like(pos))
    ends = xp.where(xp.concat([body, edge], axis=d), pos, xp.full_like(pos, n - 1))
    start = scan_array(xp, starts, d, xp.maximum)
    end = xp.flip(scan_array(xp, xp.flip(ends, axis=d), d, xp.minimum), axis=d)
    count = end - start
    best = xp.max(count, axis=d, keepdims=True)
    first = xp.min(xp.where(count == best, pos, xp.full_like(pos, n)), axis=d, keepdims=True)
    return ModeResult(*_pick(x, d, keepdim, order, xp.take_along_axis(end, first, axis=d)))


def _slice(X, d, start, stop):
    return X[(slice(None),) * d + (slice(start, stop), ...)]


# -- quantiles -------------------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan):
    x = as_tensor(input, op=op)
    if not x._be.is_floating(x.dtype):
        raise DtypeError(f"{op}(): input tensor must be either float or double dtype, got "
                         f"{B.dtype_name(x.dtype)}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{op}(): interpolation must be one of {_INTERPOLATIONS}, got "
                         f"{interpolation!r}")
    if not math.prod(x.shape):
        raise RuntimeError(f"{op}(): input tensor must be non-empty")
    xp, be = x.xp, x._be
    if isinstance(q, TensorBase) or B.is_array(q):
        qt = as_tensor(q, like=x, op=op)
        if qt.dtype != x.dtype:
            raise TypeError(f"{op}(): q tensor must be same dtype as the input tensor, got "
                            f"{B.dtype_name(qt.dtype)} and {B.dtype_name(x.dtype)}")
        if qt.ndim > 1:
            raise ValueError(f"{op}(): q must be a scalar or 1D tensor, got shape {qt.shape}")
        Q = qt.array
        if be.on_host and bool(xp.any((Q < 0) | (Q > 1))):
            raise ShapeError(f"{op}(): q values must be in the range [0, 1]")
    else:
        values = list(q) if isinstance(q, (list, tuple)) else [q]
        for v in values:
            if not 0 <= float(v) <= 1:
                raise ShapeError(f"{op}(): q must be in the range [0, 1] but got {v}")
        Q = xp.asarray([float(v) for v in values] if isinstance(q, (list, tuple))
                       else float(q), dtype=x.dtype, device=be.device)
    scalar_q = Q.ndim == 0
    if dim is None:
        shape_kept = (1,) * x.ndim
        x = reshape(x, (-1,))
        d = 0
    else:
        d = _axis(op, dim, x.ndim) if x.ndim else 0
        if x.ndim == 0:
            x = reshape(x, (1,))
        shape_kept = x.shape[:d] + (1,) + x.shape[d + 1:]
    rows = movedim(x, d, -1)  # (..., n)
    n = rows.shape[-1]
    ordered = sort(rows, -1).values
    S = ordered.array
    Qb = xp.reshape(xp.reshape(Q, (-1,)), (-1,) + (1,) * rows.ndim)  # (k, 1, ..., 1)
    last = xp.asarray(n - 1, dtype=S.dtype, device=be.device)
    if ignore_nan:  # the rank among a row's numbers; a row of NaNs takes its first entry,
        # as PyTorch's (rank 0: the gradient goes to the row's first NaN)
        kept = xp.astype(n - _nan_count(xp, S, S.ndim - 1), S.dtype)
        scale, fixed, at = kept - 1, kept == 0, xp.zeros_like(last)
    else:  # NaN sorts last: a row with one takes its last entry, NaN
        scale, fixed, at = n - 1, xp.isnan(S[..., n - 1:]), last
    rank = xp.where(fixed, at, Qb * scale)
    lo, hi = xp.floor(rank), xp.ceil(rank)
    if interpolation == "nearest":
        lo = hi = xp.round(rank)  # half to even, as PyTorch's round
    elif interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    wide = expand(unsqueeze(ordered, 0), (rank.shape[0],) + ordered.shape)
    v_lo = gather(wide, -1, x._result(xp.astype(lo, xp.int64), be))
    out = v_lo
    if interpolation in ("linear", "midpoint"):
        v_hi = gather(wide, -1, x._result(xp.astype(hi, xp.int64), be))
        w = 0.5 if interpolation == "midpoint" else x._result(rank - lo, be)
        if interpolation == "linear" and isinstance(q, TensorBase) and q.requires_grad:
            # q's gradient flows through the weight rank - lo, as PyTorch's
            rank_t = where(x._result(fixed, be), x._result(rank, be),
                           mul(reshape(qt, Qb.shape), x._result(xp.asarray(
                               scale, dtype=S.dtype, device=be.device), be)))
            w = sub(rank_t, x._result(lo, be))
        out = lerp(v_lo, v_hi, w)  # torch.lerp's formulas, as torch.quantile
    out = reshape(out, (rank.shape[0],) + (shape_kept if keepdim else _drop(shape_kept, d,
                                                                          dim is None)))
    return reshape(out, out.shape[1:]) if scalar_q else out


def _drop(kept, d, flat):
    return () if flat else kept[:d] + kept[d + 1:]


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles of ``input`` (all entries, or along ``dim``), as
    ``torch.quantile``: ``q`` a number in [0, 1] or a 1-D tensor/list of them (its length
    becomes a new first dim); ``interpolation`` "linear" (default), "lower", "higher",
    "midpoint" or "nearest" between the two order statistics around ``q (n - 1)``. A row
    with a NaN gives NaN. Differentiable in ``input``."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """:func:`quantile` ignoring NaNs (NaN only for a row of NaNs), as
    ``torch.nanquantile``."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


# -- NaN-ignoring sums and means, aminmax ----------------------------------------------------
@quiet
class NanToZero(Function):
    """X with its NaNs replaced by 0; dX = dY where X is not NaN, times 0 elsewhere (so an
    infinite dY gives NaN there, as PyTorch's nansum backward)."""

    def forward(self, X):
        self.X = X
        return self.xp.where(self.xp.isnan(X), self.xp.zeros_like(X), X)

    def backward(self, dY):
        xp = self.xp
        return dY * xp.astype(~xp.isnan(self.X), dY.dtype)


def nansum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """The sum over ``dim`` with NaNs taken as 0, as ``torch.nansum``; no gradient reaches
    the NaNs. Integers sum to int64."""
    x = as_tensor(input, op="nansum")
    refuse_dtypes("nansum", ("complex",), x, runtime=True)  # PyTorch: not on CPU
    if dtype is not None:
        x = _float_input("nansum", x, dtype)
    if x._be.is_floating(x.dtype):
        x = NanToZero.apply(x)
    return _sum(x, dim, keepdim, axis=axis, keepdims=keepdims)


def nanmean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """The mean over ``dim`` of the non-NaN entries (NaN where there are none), as
    ``torch.nanmean`` (floating tensors only)."""
    x = _float_input("nanmean", as_tensor(input, op="nanmean"), dtype)
    xp = x.xp
    kept = x._result(xp.astype(~xp.isnan(x.array), x.dtype), x._be)
    return div(nansum(x, dim, keepdim, axis=axis, keepdims=keepdims),
               _sum(kept, dim, keepdim, axis=axis, keepdims=keepdims))


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (all entries by default), as ``torch.aminmax``; tied
    extremes share the gradient, as :func:`amin`/:func:`amax`."""
    x = as_tensor(input, op="aminmax")
    refuse_complex("aminmax", x)  # (no order)
    d, keep = resolve("aminmax", dim, None, keepdim, None)
    axes = _axes("aminmax", d, x.ndim)
    if any(x.shape[a] == 0 for a in axes):
        if d is None:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension "
                               "as the operation has no identity.")
        raise IndexError(f"aminmax: Expected reduction dim {axes[0]} to have non-zero size.")
    if x.dtype == x.xp.bool:  # all / any: the Array API's min and max take no bool
        xp, be = x.xp, x._be
        return AminmaxResult(x._result(xp.all(x.array, axis=axes, keepdims=keep), be),
                             x._result(xp.any(x.array, axis=axes, keepdims=keep), be))
    return AminmaxResult(amin(x, d, keep), amax(x, d, keep))

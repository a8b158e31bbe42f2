"""Sets, searching and counting: unique, unique_consecutive, bincount, histc, searchsorted,
bucketize, isin, isneginf, isposinf and msort, with PyTorch's results and dtypes.

None of these has a gradient (as in PyTorch) except ``msort``, a sort. ``unique``,
``unique_consecutive`` and ``bincount`` return tensors whose size depends on the data, so
they read the data on the host once (a sync on a device); the others do not.
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError, DtypeNotImplemented, ShapeError, UnsupportedError
from .dtype_refusals import dtype_kind, refuse_dtypes
from ..autograd import TensorBase, as_tensor, raw
from .broadcast import _wrap_int
from .elementwise import promote
from .indexing import index_add
from .shape import _axis
from .sorting import argsort_array, sort


def _int64(xp, a):
    return a if a.dtype == xp.int64 else xp.astype(a, xp.int64)


def _runs(x, rows, order):
    """Group equal neighbours of ``rows`` (an (n, m) array, or (n,)) taken in ``order``.

    Returns the first row of each run (a Tensor), the run id of every original row and the
    run lengths (int64 arrays). NaN never equals NaN, so each NaN is its own run (PyTorch).
    """
    xp, be = x.xp, x._be
    n = rows.shape[0]
    ranked = rows if order is None else xp.take(rows, order, axis=0)
    if n == 0:
        none = xp.zeros((0,), dtype=xp.int64, device=be.device)
        return ranked, none, none
    change = ranked[1:, ...] != ranked[:-1, ...]
    if change.ndim > 1:
        change = xp.any(change, axis=tuple(range(1, change.ndim)))
    first = xp.concat([xp.ones((min(n, 1),), dtype=xp.bool, device=be.device), change])
    starts = _int64(xp, xp.nonzero(first)[0])  # data-dependent size: one host sync
    ids = xp.cumulative_sum(xp.astype(first, xp.int64)) - 1
    if order is not None:  # back to the original order: the inverse permutation of order
        ids = xp.take(ids, argsort_array(xp, order, 0), axis=0)
    ends = xp.concat([starts[1:], xp.full((min(n, 1),), n, dtype=xp.int64, device=be.device)])
    return xp.take(ranked, starts, axis=0), ids, ends - starts


def _sortable(xp, a):
    """``a`` itself, or as int8 if bool (the Array API sorts numbers only)."""
    return xp.astype(a, xp.int8) if a.dtype == xp.bool else a


def _lexsort_rows(xp, rows):
    """The stable order that sorts the rows of an (n, m) array lexicographically."""
    order = xp.arange(rows.shape[0], dtype=xp.int64, device=rows.device)
    for j in range(rows.shape[1] - 1, -1, -1):  # least significant column first
        col = _sortable(xp, xp.take(rows[:, j], order, axis=0))
        order = xp.take(order, argsort_array(xp, col, 0), axis=0)
    return order


def _unique(op, input, sort_first, return_inverse, return_counts, dim):
    x = as_tensor(input, op=op)
    xp, be = x.xp, x._be
    if dim is None:
        flat = xp.reshape(x.array, (-1,))
        order = argsort_array(xp, _sortable(xp, flat), 0) if sort_first else None
        vals, ids, counts = _runs(x, flat, order)
        inverse = xp.reshape(ids, x.shape)
    else:
        d = _axis(op, dim, x.ndim)
        if x.ndim == 0:
            raise IndexError(f"{op}: dim {dim} is out of range for a 0-d tensor")
        if x.shape[d] and not math.prod(x.shape):
            raise RuntimeError(f"{op}: there are 0 sized dimensions, and they aren't "
                               f"selected, so unique cannot be applied (shape {x.shape}, "
                               f"dim {dim})")
        moved = xp.moveaxis(x.array, d, 0)
        rows = xp.reshape(moved, (moved.shape[0], math.prod(moved.shape[1:])))
        order = _lexsort_rows(xp, rows) if sort_first and rows.shape[1] else None
        vals, inverse, counts = _runs(x, rows, order)
        vals = xp.moveaxis(xp.reshape(vals, (vals.shape[0],) + tuple(moved.shape[1:])), 0, d)
    out = [x._result(vals, be)]
    if return_inverse:
        out.append(x._result(inverse, be))
    if return_counts:
        out.append(x._result(counts, be))
    return out[0] if len(out) == 1 else tuple(out)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct entries of ``input`` in ascending order (PyTorch sorts whatever
    ``sorted`` says), or with ``dim`` the distinct slices along that dim, as
    ``torch.unique``. Each NaN counts as distinct. No gradient.

    The output size depends on the data: one host read (a sync on a device).

    Returns:
        the values (input's dtype), and as asked ``inverse`` (int64, input's shape, or
        (size of dim,) with ``dim``: where each entry landed) and ``counts`` (int64).
    """
    refuse_dtypes("unique", ("complex",), input)
    return _unique("unique", input, True, return_inverse, return_counts, dim)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """``unique`` of runs of equal neighbours only (no sorting), as
    ``torch.unique_consecutive``. The output size depends on the data (one host read)."""
    refuse_dtypes("unique_consecutive", ("complex",), input)
    return _unique("unique_consecutive", input, False, return_inverse, return_counts, dim)


def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, ... occurs in the non-negative 1-d integer ``input`` (the
    sum of ``weights`` at those entries, if given), as ``torch.bincount``.

    The length, max(input.max() + 1, minlength), depends on the data: one host read.

    Returns:
        int64 counts, or the weights' dtype for float32/float64 weights (float64 for
        integer weights, as PyTorch). No gradient (PyTorch has none).
    """
    x = as_tensor(input, op="bincount")
    xp, be = x.xp, x._be
    integer = dtype_kind(x.dtype) == "integer"
    if x.ndim != 1 or not integer:
        # PyTorch: RuntimeError for the shape, NotImplementedError for the dtype
        cls = ArgumentError if integer else UnsupportedError
        raise cls(f"bincount: input must be a 1-d integer tensor, got shape "
                  f"{x.shape} of {B.dtype_name(x.dtype)}")
    if isinstance(minlength, bool) or not isinstance(minlength, int):
        raise TypeError(f"bincount: minlength should be a non-negative int, got {minlength!r}")
    if minlength < 0:
        raise ArgumentError(f"bincount: minlength should be a non-negative int, got "
                            f"{minlength!r}")
    n = x.shape[0]
    if n:
        lo, hi = int(xp.min(x.array)), int(xp.max(x.array))
        if lo < 0:
            raise ShapeError(f"bincount: input must contain only non-negative values, got {lo}")
        minlength = max(minlength, hi + 1)
    w = raw(weights, x, "bincount", "weights")
    if w is None:
        dt, w = xp.int64, xp.ones((n,), dtype=xp.int64, device=be.device)
    else:
        if tuple(w.shape) != (n,):
            raise ValueError(f"bincount: weights of shape {tuple(w.shape)} should have the "
                             f"input's shape ({n},)")
        dt = w.dtype if B.dtype_name(w.dtype) in ("float32", "float64") else \
            be.dtype("float64")
        w = xp.astype(w, dt)
    out = xp.zeros((minlength,), dtype=dt, device=be.device)
    return x._result(index_add(be, out, 0, _int64(xp, x.array), w), be)


def histc(input, bins=100, min=0, max=0):
    """A histogram of a floating tensor's entries in ``bins`` equal bins over [min, max]
    (entries outside, and NaN, ignored; the top edge belongs to the last bin), as
    ``torch.histc``. ``min == max`` takes the data's range (widened by 1 each side if that
    is a point): one host read, to raise as PyTorch where it is not finite; otherwise none.
    No gradient.

    Returns:
        (bins,) counts in input's dtype.
    """
    x = as_tensor(input, op="histc")
    xp, be = x.xp, x._be
    if not be.is_floating(x.dtype):
        raise DtypeNotImplemented(f"histc: not implemented for {B.dtype_name(x.dtype)} (a "
                                  "floating tensor is expected, as in PyTorch)")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins <= 0:
        raise ArgumentError(f"histc: bins must be > 0, got {bins!r}")
    if min > max:
        raise ValueError(f"histc: max must be larger than min, got min {min} and max {max}")
    A = xp.reshape(x.array, (-1,))
    dt = A.dtype
    lo = xp.asarray(float(min), dtype=dt, device=be.device)
    hi = xp.asarray(float(max), dtype=dt, device=be.device)
    if min == max and A.shape[0]:  # the data's range
        lo, hi = xp.min(A), xp.max(A)
        bounds = (float(lo), float(hi))
        if not all(math.isfinite(v) for v in bounds):
            raise RuntimeError(f"histc: range of [{bounds[0]}, {bounds[1]}] is not finite")
    point = lo == hi
    lo, hi = xp.where(point, lo - 1, lo), xp.where(point, hi + 1, hi)
    inside = (A >= lo) & (A <= hi)
    with be.quiet():
        pos = xp.floor((A - lo) * bins / (hi - lo))
    pos = xp.clip(xp.where(inside, pos, xp.zeros_like(pos)), 0, bins - 1)
    out = xp.zeros((bins,), dtype=dt, device=be.device)
    return x._result(index_add(be, out, 0, xp.astype(pos, xp.int64), xp.astype(inside, dt)),
                     be)


def _search(op, seq, values, right, side, sorter, out_int32):
    """searchsorted's work on Tensors: ``seq`` sorted along its last dim."""
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"{op}: side can only be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError(f"{op}: side and right can't be set to opposites, got side of "
                             "left while right was True")
        right = side == "right"
    s = as_tensor(seq, op=op)
    scalar = not isinstance(values, TensorBase) and not B.is_array(values)
    v = as_tensor(_wrap_int(values, s, op), like=s, op=op)  # -1 by uint8: 255, as PyTorch
    # bool only where both are (PyTorch promotes a bool sequence searched for floats)
    both_bool = s.dtype == s.xp.bool and v.dtype == v.xp.bool
    refuse_dtypes(op, ("bool", "complex") if both_bool else ("complex",), s, v,
                  names=("sorted_sequence", "input"))
    if s.ndim == 0:
        raise ShapeError(f"{op}: the sorted sequence must have at least 1 dim, got 0")
    if s.ndim > 1 and (scalar or tuple(s.shape[:-1]) != tuple(v.shape[:-1])):
        raise ShapeError(f"{op}: boundaries of shape {s.shape} and input of shape {v.shape} "
                         "must have the same leading dims (all but the last)")
    xp, be = s.xp, s._be
    S = s.array
    if sorter is not None:
        order = raw(sorter, s, op, "sorter")
        if tuple(order.shape) != tuple(S.shape) or be.is_floating(order.dtype):
            raise ValueError(f"{op}: sorter must be an integer tensor of the sequence's shape "
                             f"{s.shape}, got {tuple(order.shape)}")
        S = xp.take_along_axis(S, _int64(xp, order), axis=-1)
    s, v = promote(s._result(S, be), v, op, broadcast=False)
    S, V = s.array, v.array
    flat = S.ndim == 1
    V = xp.reshape(V, (-1,)) if flat else V
    # PyTorch's test, "not S[mid] >= v" (right: "not S[mid] > v"): the same path through a
    # NaN in the sequence, where the order is inconsistent, gives the same answer
    idx = _bisect(xp, S, V, (lambda a, b: ~(a > b)) if right else (lambda a, b: ~(a >= b)))
    idx = xp.reshape(idx, tuple(v.shape)) if flat else idx
    return s._result(xp.astype(idx, xp.int32 if out_int32 else xp.int64), be)


def _bisect(xp, S, V, past):
    """A binary search for all values at once, as PyTorch's loop: per value, while lo < hi,
    move lo past mid if ``past(S[mid], v)``, else hi to mid (S: (n,), or (..., n) searched
    row by row)."""
    n = S.shape[-1]
    lo = xp.zeros(tuple(V.shape), dtype=xp.int64, device=V.device)
    if n == 0:
        return lo
    hi = xp.full(tuple(V.shape), n, dtype=xp.int64, device=V.device)
    for _ in range(max(n, 1).bit_length() + 1):
        mid = xp.clip((lo + hi) // 2, 0, max(n - 1, 0))
        at = xp.take(S, mid, axis=0) if S.ndim == 1 else xp.take_along_axis(S, mid, axis=-1)
        after = past(at, V)
        active = lo < hi
        lo = xp.where(active & after, mid + 1, lo)
        hi = xp.where(active & ~after, mid, hi)
    return lo


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where each entry of ``input`` would go in ``sorted_sequence`` (sorted along its last
    dim; a 1-d sequence serves every value, an n-d one row by row), as
    ``torch.searchsorted``: the first position with value >= it (``right``: > it).

    Args:
        sorted_sequence: (..., n) tensor; ``sorter``: int64 positions that sort it, if it
            is not sorted itself.
        input: a tensor (of the sequence's leading dims when that has more than 1) or a
            number.
    Returns:
        int64 (``out_int32``: int32) positions of input's shape. No gradient.
    """
    return _search("searchsorted", sorted_sequence, input, right, side, sorter, out_int32)


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each entry of ``input`` for the sorted 1-d ``boundaries``, as
    ``torch.bucketize``: i with boundaries[i-1] < x <= boundaries[i] (``right``:
    boundaries[i-1] <= x < boundaries[i]). int64 (or int32) of input's shape."""
    b = as_tensor(boundaries, op="bucketize")
    if b.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be a 1-d tensor, got shape {b.shape}")
    return _search("bucketize", b, input, right, None, None, out_int32)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each entry of ``elements`` occurs in ``test_elements`` (either may be a
    number), as ``torch.isin``; NaN is in nothing. A sort and a binary search: no host read.

    Returns:
        bool of elements' shape (negated with ``invert``).
    """
    like = elements if isinstance(elements, TensorBase) else test_elements
    if not isinstance(like, TensorBase):
        raise TypeError("isin: elements or test_elements must be a Tensor")
    e, t = (as_tensor(_wrap_int(v, like, "isin"), like=like, op="isin")  # -1 by uint8: 255
            for v in (elements, test_elements))
    refuse_dtypes("isin", ("bool", "complex"), e, t, names=("elements", "test_elements"),
                  runtime=True)
    e, t = promote(e, t, "isin", broadcast=False)
    xp, be = e.xp, e._be
    E = e.array
    T = xp.sort(xp.reshape(t.array, (-1,)))
    m = T.shape[0]
    if m == 0:
        hit = xp.zeros(tuple(E.shape), dtype=xp.bool, device=be.device)
    else:
        flat = xp.reshape(E, (-1,))
        pos = xp.clip(_bisect(xp, T, flat, lambda a, b: a < b), 0, m - 1)  # NaN sorts last
        hit = xp.reshape(xp.take(T, pos, axis=0) == flat, tuple(E.shape))
    return e._result(~hit if invert else hit, be)


def _signed_inf(op, input, positive):
    x = as_tensor(input, op=op)
    refuse_dtypes(op, ("complex",), x, runtime=True)
    xp = x.xp
    if not x._be.is_floating(x.dtype):
        return x._result(xp.zeros(x.shape, dtype=xp.bool, device=x._be.device), x._be)
    A = x.array
    return x._result(xp.isinf(A) & ((A > 0) if positive else (A < 0)), x._be)


def isposinf(input):
    """Whether each entry is +inf (bool; False for integers), as ``torch.isposinf``."""
    return _signed_inf("isposinf", input, True)


def isneginf(input):
    """Whether each entry is -inf (bool; False for integers), as ``torch.isneginf``."""
    return _signed_inf("isneginf", input, False)


def isreal(input):
    """Whether each entry has a zero imaginary part (bool; True for real dtypes), as
    ``torch.isreal``."""
    x = as_tensor(input, op="isreal")
    xp, be = x.xp, x._be
    if be.is_complex(x.dtype):
        return x._result(xp.imag(x.array) == 0, be)
    return x._result(xp.ones(x.shape, dtype=xp.bool, device=be.device), be)


def msort(input):
    """``input`` sorted along dim 0 (the values of ``sort(input, dim=0)``), as
    ``torch.msort``; differentiable."""
    x = as_tensor(input, op="msort")
    return sort(x, dim=0).values

"""Sorting: ``sort``, ``argsort`` and ``topk`` along a dim, as PyTorch returns them.

The order comes from one stable argsort (no gradient); the values are a gather by it, so
their gradient is scattered back to the positions they came from. Descending order reverses
the input, sorts ascending and maps the positions back, which keeps equal values in their
original order on every backend (NumPy's argsort has no ``descending``).
"""
from __future__ import annotations

from .. import return_types
from .._errors import ShapeError
from ..autograd import as_tensor
from .gather import Gather, flat_positions
from .shape import _axis

SortResult = return_types.sort
TopKResult = return_types.topk


def argsort_array(xp, X, axis, descending=False):
    """Stable argsort of a raw array along ``axis`` (>= 0), as int64 (bools sort as 0/1:
    the Array API sorts only numbers)."""
    if X.dtype == xp.bool:
        X = xp.astype(X, xp.int8)
    if not descending:
        return xp.astype(xp.argsort(X, axis=axis, stable=True), xp.int64)
    n = X.shape[axis]
    rev = xp.argsort(xp.flip(X, axis=axis), axis=axis, stable=True)
    return xp.astype((n - 1) - xp.flip(rev, axis=axis), xp.int64)


def _prepare(op, input, dim):
    x = as_tensor(input, op=op)
    d = _axis(op, dim, x.ndim)
    return x, d


def _values(x, d, idx):
    """x gathered at ``idx`` along ``d`` (differentiable), and idx as a Tensor."""
    if x.ndim == 0:
        return x, x._result(x.xp.zeros((), dtype=x.xp.int64, device=x._be.device), x._be)
    vals = Gather.apply(x, pos=flat_positions(x.xp, x.shape, d, idx))
    return vals, x._result(idx, x._be)


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) of ``input`` sorted along ``dim``; equal values keep their order
    (always, so ``stable`` changes nothing). The values are differentiable."""
    x, d = _prepare("sort", input, dim)
    idx = argsort_array(x.xp, x.array, d, descending) if x.ndim else None
    return SortResult(*_values(x, d, idx))


def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 positions that sort ``input`` along ``dim`` (no gradient)."""
    x, d = _prepare("argsort", input, dim)
    if x.ndim == 0:
        return x._result(x.xp.zeros((), dtype=x.xp.int64, device=x._be.device), x._be)
    return x._result(argsort_array(x.xp, x.array, d, descending), x._be)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the ``k`` largest (``largest=False``: smallest) entries along
    ``dim``, in order. The values are differentiable.

    Returns:
        values: input's dtype; indices: int64; both input's shape with ``dim`` of size k.
    """
    x, d = _prepare("topk", input, dim)
    n = x.shape[d] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
        raise ShapeError(f"topk: k must be an int in [0, {n}] (dim {dim} of the input of "
                         f"shape {x.shape}), got {k!r}")
    if x.ndim == 0:
        return TopKResult(*_values(x, d, None))
    idx = argsort_array(x.xp, x.array, d, descending=largest)
    idx = idx[(slice(None),) * d + (slice(0, k), ...)]
    return TopKResult(*_values(x, d, idx))

"""Sorting: ``sort``, ``argsort`` and ``topk`` along a dim, as PyTorch returns them.

All three are one op, :class:`TopK` (sort and argsort take every entry): the order comes
from one stable argsort, the values are a gather by it, and their gradient is scattered back
to the positions they came from. Descending order reverses the input, sorts ascending and
maps the positions back, which keeps equal values in their original order on every backend
(NumPy's argsort has no ``descending``) — the order ONNX's TopK gives too, so a recorded
TopK exports as one.
"""
from __future__ import annotations

from .. import return_types
from .._errors import ShapeError
from ..autograd import as_tensor
from .complex_base import refuse_complex
from .gather import Gather, _take_flat, flat_positions
from .scalar_args import int_arg
from .shape import _axis

SortResult = return_types.sort
TopKResult = return_types.topk


def argsort_array(xp, X, axis, descending=False):
    """Stable argsort of a raw array along ``axis`` (>= 0), as int64 (bools sort as 0/1:
    the Array API sorts only numbers)."""
    refuse_complex("sort", X, kind="runtime")
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


class TopK(Gather):
    """(values, indices) of the first ``k`` entries along ``dim`` in sorted order (largest
    first with ``largest``; equal values in their order); dX = dValues scattered back to the
    positions they came from (Gather's backward)."""

    def forward(self, X, k=None, dim=-1, largest=True):
        xp = self.xp
        idx = argsort_array(xp, X, dim, descending=largest)
        if k != X.shape[dim]:
            idx = idx[(slice(None),) * dim + (slice(0, k), ...)]
        self.shape, self.pos = X.shape, flat_positions(xp, X.shape, dim, idx)
        self.dim = dim  # for Gather's backward along the dim
        return _take_flat(xp, X, self.pos), idx

    def backward(self, dV, dI=None):
        return super().backward(dV)

    def backward_graph(self, dV, dI=None):
        return super().backward_graph(dV)


def _ordered(x, d, k, largest):
    """(values, indices) of the ``k`` first entries of ``x`` along ``d`` in order."""
    if x.ndim == 0:
        return x, x._result(x.xp.zeros((), dtype=x.xp.int64, device=x._be.device), x._be)
    X = x
    if x.dtype == x.xp.bool:  # the Array API sorts numbers only: bools sort as 0/1
        X = x.to("int8")
    vals, idx = TopK.apply(X, k=k, dim=d, largest=largest)
    return (vals.to(x.dtype) if X is not x else vals), idx


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) of ``input`` sorted along ``dim``; equal values keep their order
    (always, so ``stable`` changes nothing). The values are differentiable."""
    x, d = _prepare("sort", input, dim)
    return SortResult(*_ordered(x, d, x.shape[d] if x.ndim else 1, descending))


def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 positions that sort ``input`` along ``dim`` (no gradient)."""
    x, d = _prepare("argsort", input, dim)
    return _ordered(x.detach(), d, x.shape[d] if x.ndim else 1, descending)[1]


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the ``k`` largest (``largest=False``: smallest) entries along
    ``dim``, in order. The values are differentiable.

    Returns:
        values: input's dtype; indices: int64; both input's shape with ``dim`` of size k.
    """
    x, d = _prepare("topk", input, dim)
    n = x.shape[d] if x.ndim else 1
    k = int_arg(k)  # a 0-d integer tensor reads as its int, as in PyTorch
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
        raise ShapeError(f"topk: k must be an int in [0, {n}] (dim {dim} of the input of "
                         f"shape {x.shape}), got {k!r}")
    return TopKResult(*_ordered(x, d, k, largest))

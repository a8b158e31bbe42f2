"""Selecting and joining sparse COO tensors (xpnn/_sparse_coo.py): ``index_select``, ``s[i]``
for an int ``i``, ``narrow_copy``, and ``cat``/``stack`` of sparse tensors (the dense
``xpnn.cat``/``xpnn.stack`` send a list holding one here). Entries are chosen with array
ops on the indices; the values are gathered with differentiable Tensor ops, so gradients
reach a sparse leaf's values. Results and coalesced flags are PyTorch's.
"""
from __future__ import annotations

from . import backend as B
from . import functional as F
from ._memory_format import sparse_coo
from .autograd import TensorBase
from .functional.shape import _axis


def _like(like, arr):
    """``arr`` as a Tensor on ``like``'s backend."""
    return like._result(arr, like._be)


def _entries(s, keep):
    """The sparse tensor's entries where the bool array ``keep`` (nnz,) holds: (indices
    array, values Tensor)."""
    xp = s._i.xp
    pos = xp.nonzero(keep)[0]
    return xp.take(s._i.array, pos, axis=1), F.index_select(s._v, 0, _like(s._v, pos))


def index_select(s, dim, index):
    """The slices ``index`` of ``dim``, in the order given (repeats repeat them)."""
    d = _axis("index_select", dim, s.ndim)
    if not isinstance(index, TensorBase) or index.ndim != 1 or \
            B.dtype_name(index.dtype) not in ("int64", "int32"):
        raise IndexError("index_select() argument index must be 1-D strided (non-sparse) "
                         "long-tensor.")
    sd = s.sparse_dim()
    if d >= sd:  # a dense dim of a hybrid tensor: the values' own index_select
        return type(s)(s._i, F.index_select(s._v, d - sd + 1, index),
                       _resized(s, d, index.shape[0]), s._coalesced)
    xp = s._i.xp
    idx = xp.astype(index.array, xp.int64)
    n = s._size[d]
    if idx.shape[0] and bool(xp.any((idx < 0) | (idx >= n))):
        out = (idx < 0) | (idx >= n)
        bad = int(xp.max(xp.where(out, idx, xp.asarray(-1, dtype=xp.int64, device=idx.device))))
        raise IndexError(f"index_select(): index contains {bad} that is out of range for "
                         f"tensor of size {list(s._size)} at dimension {d}")
    order = xp.argsort(idx, stable=True)
    sorted_idx = xp.take(idx, order)
    row = s._i.array[d, :]
    lo = xp.searchsorted(sorted_idx, row, side="left")
    hi = xp.searchsorted(sorted_idx, row, side="right")
    counts = hi - lo
    total = int(xp.sum(counts))
    entry = xp.repeat(xp.arange(row.shape[0], dtype=xp.int64, device=row.device), counts)
    start = xp.cumulative_sum(counts) - counts
    offset = xp.arange(total, dtype=xp.int64, device=row.device) - xp.take(start, entry)
    where = xp.take(order, xp.take(lo, entry) + offset)  # the position in ``index``
    by_pos = xp.argsort(where, stable=True)  # PyTorch's order: by position, then entry
    entry, where = xp.take(entry, by_pos), xp.take(where, by_pos)
    new_i = xp.take(s._i.array, entry, axis=1)
    new_i = xp.concat([new_i[:d, :], xp.reshape(where, (1, -1)), new_i[d + 1:, :]], axis=0)
    vals = F.index_select(s._v, 0, _like(s._v, entry))
    ordered = idx.shape[0] <= 1 or bool(xp.all(idx[1:] > idx[:-1]))
    return type(s)(_like(s._i, new_i), vals, _resized(s, d, idx.shape[0]),
                   s._coalesced and ordered and d == 0)


def _resized(s, d, n):
    size = list(s._size)
    size[d] = n
    return size


def select_int(s, i):
    """``s[i]`` for an int: a sparse tensor of one dim fewer (a dense one when dim 0 was the
    only sparse dim), as PyTorch's."""
    if isinstance(i, bool) or not isinstance(i, int):
        raise NotImplementedError(f"SparseTensor indexing: xpnn takes an int index only "
                                  f"(use index_select or narrow_copy), got {type(i).__name__}")
    if s.ndim == 0:
        raise IndexError("invalid index of a 0-dim tensor")
    n = s._size[0]
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for dimension 0 with size {n}")
    i %= n
    xp = s._i.xp
    idx, vals = _entries(s, s._i.array[0, :] == i)
    if s.sparse_dim() == 1:  # the entries (duplicates too) sum to a dense slice
        return F.sum(vals, dim=0)
    return type(s)(_like(s._i, idx[1:, :]), vals, s._size[1:])  # as torch


def narrow_copy(s, dim, start, length):
    """The entries with ``start <= index[dim] < start + length`` (shifted by ``start``)."""
    d = _axis("narrow_copy", dim, s.ndim)
    n = s._size[d]
    start = start + n if start < 0 else start
    if start < 0 or length < 0 or start + length > n:
        raise RuntimeError(f"Invalid range to narrow. range(start, start+length) must be a "
                           f"subset of range(0, {n}).")
    sd, xp = s.sparse_dim(), s._i.xp
    if d >= sd:
        return type(s)(s._i, F.narrow(s._v, d - sd + 1, start, length),
                       _resized(s, d, length), s._coalesced)
    row = s._i.array[d, :]
    idx, vals = _entries(s, (row >= start) & (row < start + length))
    shift = xp.asarray([[start if k == d else 0] for k in range(sd)], dtype=xp.int64,
                       device=idx.device)
    return type(s)(_like(s._i, idx - shift), vals, _resized(s, d, length), s._coalesced)


def _joined(op, tensors):
    """The tensors of a sparse cat/stack, one dtype (PyTorch promotes) and one backend."""
    for k, t in enumerate(tensors):
        if getattr(t, "layout", None) is not sparse_coo:
            raise RuntimeError(f"Concatenating sparse tensors, but a dense tensor was found "
                               f"at position {k}.")
    first = tensors[0]
    dt = first.dtype
    for t in tensors[1:]:
        if t._v._be is not first._v._be:
            raise TypeError(f"{op}: a sparse tensor on {t.backend} met one on "
                            f"{first.backend}; move one with .to(...)")
        dt = first.xp.result_type(dt, t.dtype)
    return [t if t.dtype == dt else t.to(dt) for t in tensors]


def sparse_cat(tensors, dim=0):
    """``xpnn.cat`` of sparse tensors along a sparse dim (uncoalesced, as PyTorch's)."""
    tensors = _joined("cat", list(tensors))
    first = tensors[0]
    d = _axis("cat", dim, first.ndim)
    for k, t in enumerate(tensors):
        if t.ndim != first.ndim or any(a != b for j, (a, b) in
                                       enumerate(zip(t._size, first._size)) if j != d):
            raise RuntimeError(f"All tensors must have the same shape: {list(first._size)} "
                               f"(except in the concatenating dimension), but found shape: "
                               f"{list(t._size)} at position {k}.")
    if d >= first.sparse_dim() or any(t.sparse_dim() != first.sparse_dim() for t in tensors):
        raise NotImplementedError("cat: xpnn joins sparse tensors along a sparse dim, all of "
                                  "one sparse_dim")
    xp, parts, at = first.xp, [], 0
    for t in tensors:
        shift = xp.asarray([[at if k == d else 0] for k in range(t.sparse_dim())],
                           dtype=xp.int64, device=t._i.array.device)
        parts.append(t._i.array + shift)
        at += t._size[d]
    size = _resized(first, d, at)
    return type(first)(_like(first._i, xp.concat(parts, axis=1)),
                       F.cat([t._v for t in tensors], 0), size)


def sparse_stack(tensors, dim=0):
    """``xpnn.stack`` of sparse tensors of one size: a new sparse dim (uncoalesced)."""
    tensors = _joined("stack", list(tensors))
    first = tensors[0]
    for k, t in enumerate(tensors):
        if t._size != first._size:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(first._size)} at entry 0 and {list(t._size)} at entry "
                               f"{k}")
    d = _axis("stack", dim, first.ndim + 1)
    if d > first.sparse_dim() or any(t.sparse_dim() != first.sparse_dim() for t in tensors):
        raise NotImplementedError("stack: xpnn stacks sparse tensors along a new sparse dim "
                                  "(before their dense dims), all of one sparse_dim")
    xp, parts = first.xp, []
    for k, t in enumerate(tensors):
        i = t._i.array
        row = xp.full((1, i.shape[1]), k, dtype=xp.int64, device=i.device)
        parts.append(xp.concat([i[:d, :], row, i[d:, :]], axis=0))
    size = list(first._size[:d]) + [len(tensors)] + list(first._size[d:])
    return type(first)(_like(first._i, xp.concat(parts, axis=1)),
                       F.cat([t._v for t in tensors], 0), size)


class SparseIndexOps:
    """The selecting methods of SparseTensor (a base class), and the hook the dense
    ``cat``/``stack`` call for a list holding a sparse tensor."""

    __slots__ = ()
    index_select = index_select
    narrow_copy = narrow_copy
    __getitem__ = select_int

    def _sparse_join(self, op, tensors, dim):
        return (sparse_cat if op == "cat" else sparse_stack)(tensors, dim)

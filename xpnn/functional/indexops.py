"""Index-directed updates: take_along_dim, index_add, index_copy, index_fill, index_put,
put, masked_scatter, as PyTorch defines them, differentiable in the input and in the source
(scatter_reduce is in scatter_reduction.py).

index_add and index_copy are one Function each over the scatter-add of indexing.py (native
where the backend has one).
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import DtypeError, IndexDtypeError, IndexRangeError, IndexShapeError, ShapeError
from ..autograd import Function, TensorBase, as_tensor, raw
from .elementwise import masked_fill, where
from .gather import Gather, flat_positions
from .index_key import _index_dtype
from .indexing import Take, _wrap_negative, assign, index_add as _scatter_add, take
from .shape import _axis, expand, reshape


# -- index_add / index_copy / index_fill ----------------------------------------------------
class IndexAdd(Function):
    """Y = X with Y[..., index[i], ...] += alpha S[..., i, ...] along ``axis``;
    dX = dY, dS = alpha dY[..., index, ...]."""

    saved_inputs = ()

    def forward(self, X, S, axis=0, index=None, alpha=1):
        self.axis, self.index, self.alpha = axis, index, alpha
        Y = self.xp.asarray(X, copy=True)
        return _scatter_add(self.be, Y, axis, index, S if alpha == 1 else S * alpha)

    def backward(self, dY):
        dS = None
        if self.needs[1]:
            dS = self.xp.take(dY, self.index, axis=self.axis)
            dS = dS if self.alpha == 1 else dS * self.alpha
        return dY, dS

    def backward_graph(self, dY):
        dS = None
        if self.needs[1]:
            dS = Take.apply(dY, indices=self.index, axis=self.axis)
            dS = dS if self.alpha == 1 else dS * self.alpha
        return dY, dS


class IndexCopy(Function):
    """Y = X with Y[..., index[i], ...] = S[..., i, ...]; dX = dY zeroed at the copied rows,
    dS = dY[..., index, ...]."""

    saved_inputs = ()

    def forward(self, X, S, axis=0, index=None):
        self.key = (slice(None),) * axis + (index, Ellipsis)
        self.axis, self.index = axis, index
        return assign(self.be, self.xp.asarray(X, copy=True), self.key, S)

    def backward(self, dY):
        xp = self.xp
        dX = dS = None
        if self.needs[0]:
            dX = assign(self.be, xp.asarray(dY, copy=True), self.key,
                        xp.zeros((), dtype=dY.dtype, device=dY.device))
        if self.needs[1]:
            dS = xp.take(dY, self.index, axis=self.axis)
        return dX, dS

    def backward_graph(self, dY):
        """dY zeroed at the copied rows (a copy of zeros), dY's rows at index; recorded."""
        xp = self.xp
        dX = dS = None
        if self.needs[0]:
            S = self.inputs[1]
            zeros = dY._result(xp.zeros(S.shape, dtype=dY.dtype, device=dY.device), self.be)
            dX = IndexCopy.apply(dY, zeros, axis=self.axis, index=self.index)
        if self.needs[1]:
            dS = Take.apply(dY, indices=self.index, axis=self.axis)
        return dX, dS


def _index_args(op, input, dim, index, negative=False):
    """(x, dim >= 0, the index as a 1-d int64 array) checked as PyTorch checks: in [0, n),
    or with ``negative`` in [-n, n) counting from the end (range checks on the host only)."""
    x = as_tensor(input, op=op)
    d = _axis(op, dim, x.ndim)
    idx = raw(index, x, op, "index")
    xp = x.xp
    if idx.dtype not in (xp.int64, xp.int32):
        raise IndexDtypeError(f"{op}: index must be an int64 or int32 tensor, got "
                              f"{B.dtype_name(idx.dtype)}")
    if idx.ndim > 1:
        raise ValueError(f"{op}: index must be a vector (0-d or 1-d), got shape "
                         f"{tuple(idx.shape)}")
    idx = xp.reshape(_int64(xp, idx), (-1,))
    n = x.shape[d] if x.ndim else 1
    if negative:
        return x, d, _wrap_negative(x._be, idx, n, op, d)
    if x._be.on_host and idx.shape[0]:
        lo, hi = int(xp.min(idx)), int(xp.max(idx))
        if lo < 0 or hi >= n:
            raise IndexError(f"{op}: index {lo if lo < 0 else hi} is out of bounds for dim "
                             f"{d} with size {n}")
    return x, d, idx


def _int64(xp, a):
    return a if a.dtype == xp.int64 else xp.astype(a, xp.int64)


def _source(op, x, d, idx, source):
    """``source`` as a Tensor of x's dtype and shape with len(index) along ``d``."""
    s = as_tensor(source, like=x, op=op)
    if s.dtype != x.dtype:
        raise TypeError(f"{op}: self ({B.dtype_name(x.dtype)}) and source "
                        f"({B.dtype_name(s.dtype)}) must have the same scalar type")
    want = x.shape[:d] + (idx.shape[0],) + x.shape[d + 1:] if x.ndim else (idx.shape[0],)
    if math.prod(s.shape) == math.prod(want) and s.ndim <= 1 and x.ndim == 0:
        return reshape(s, want)
    if s.shape != want:
        raise IndexShapeError(f"{op}: source of shape {s.shape} should have the input's shape "
                              f"{x.shape} with {idx.shape[0]} (the number of indices) in dim {d}, "
                              f"i.e. {want}")
    return s


def _flat0(x):
    """A 0-d tensor as shape (1,) (PyTorch indexes a scalar along its dim 0)."""
    return reshape(x, (1,)) if x.ndim == 0 else x


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source[..., i, ...]`` added to
    ``input[..., index[i], ...]`` along ``dim`` (repeated indices add up), as
    ``torch.index_add``.

    Args:
        input: (..., n, ...) tensor; ``index``: (k,) int64/int32; ``source``: input's shape
            with k in dim ``dim`` and input's dtype.
    Returns:
        input's shape and dtype; differentiable in input and source.
    """
    x, d, idx = _index_args("index_add", input, dim, index)
    s = _source("index_add", x, d, idx, source)
    if not x._be.is_floating(x.dtype) and x.dtype != x.xp.bool:
        alpha = int(alpha)  # PyTorch casts alpha to the integer dtype (truncating)
    out = IndexAdd.apply(_flat0(x), _flat0(s), axis=d, index=idx, alpha=alpha)
    return reshape(out, x.shape)


def index_copy(input, dim, index, source):
    """A copy of ``input`` with ``input[..., index[i], ...] = source[..., i, ...]`` along
    ``dim``, as ``torch.index_copy`` (which of repeated indices wins is unspecified, as in
    PyTorch). Differentiable in input and source."""
    x, d, idx = _index_args("index_copy", input, dim, index)
    s = _source("index_copy", x, d, idx, source)
    return reshape(IndexCopy.apply(_flat0(x), _flat0(s), axis=d, index=idx), x.shape)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with every entry at ``index`` along ``dim`` set to ``value`` (a
    number or a 0-d tensor), as ``torch.index_fill``; input's dtype is kept.
    Differentiable in input (and in a tensor value)."""
    x, d, idx = _index_args("index_fill", input, dim, index, negative=True)
    if not isinstance(value, (bool, int, float, B.np.generic)):
        v = as_tensor(value, like=x, op="index_fill")
        if v.ndim != 0:
            raise ValueError(f"index_fill: only supports a 0-dimensional value tensor, but "
                             f"got a tensor with {v.ndim} dimension(s)")
    xp, be = x.xp, x._be
    n = x.shape[d] if x.ndim else 1
    hit = _scatter_add(be, xp.zeros((n,), dtype=xp.int64, device=be.device), 0, idx,
                       xp.ones(idx.shape, dtype=xp.int64, device=be.device)) > 0
    if x.ndim:
        hit = xp.reshape(hit, (n,) + (1,) * (x.ndim - d - 1))
    else:
        hit = xp.reshape(hit, ())
    return masked_fill(x, hit, value)


# -- take_along_dim / masked_scatter -------------------------------------------------------
def take_along_dim(input, indices, dim=None):
    """Entries of ``input`` at ``indices`` along ``dim``, the other dims broadcast between
    the two, as ``torch.take_along_dim``; without ``dim`` both are read flattened.
    Differentiable in input (repeats add up)."""
    x = as_tensor(input, op="take_along_dim")
    xp = x.xp
    idx = raw(indices, x, "take_along_dim", "indices")
    if not xp.isdtype(idx.dtype, "integral"):
        raise DtypeError(f"take_along_dim: indices must be an integer tensor, got "
                         f"{B.dtype_name(idx.dtype)}")
    if dim is None:
        flat = reshape(x, (-1,))
        return Gather.apply(flat, pos=_checked(x, xp.reshape(idx, (-1,)), flat.shape[0], 0))
    if idx.ndim != x.ndim:
        raise ShapeError(f"take_along_dim: input and indices should have the same number of "
                         f"dimensions, but got {x.ndim} and {idx.ndim}")
    d = _axis("take_along_dim", dim, x.ndim)
    xs, js = list(x.shape), list(idx.shape)
    for a in range(x.ndim):
        if a != d and xs[a] != js[a] and 1 not in (xs[a], js[a]):
            raise ShapeError(f"take_along_dim: input of shape {x.shape} and indices of shape "
                             f"{tuple(idx.shape)} do not broadcast outside dim {d}")
    common = [max(a, b) for a, b in zip(xs, js)]
    x = expand(x, tuple(common[:d] + [xs[d]] + common[d + 1:]))
    idx = xp.broadcast_to(idx, tuple(common[:d] + [js[d]] + common[d + 1:]))
    idx = _checked(x, _int64(xp, idx), xs[d], d)
    return Gather.apply(x, pos=flat_positions(xp, x.shape, d, idx))


def _checked(x, idx, n, d):
    """int64 ``idx`` along a dim of size n, range-checked where the data is on the host."""
    if x._be.on_host and math.prod(idx.shape):
        lo, hi = int(x.xp.min(idx)), int(x.xp.max(idx))
        if lo < -n or hi >= n:
            raise IndexRangeError(f"take_along_dim: index {lo if lo < -n else hi} is out of "
                                  f"bounds for dim {d} with size {n}")
    idx = _int64(x.xp, idx)
    return x.xp.where(idx < 0, idx + n, idx)


def masked_scatter(input, mask, source):
    """``input`` with the entries where ``mask`` (bool, broadcast with input) is True
    replaced, in row-major order, by the first entries of ``source``, as
    ``torch.masked_scatter``. The k-th True takes ``source``'s k-th entry: a running count
    of the mask, then a gather, so no host read (the size check runs where the data is on
    the host). Differentiable in input and source."""
    x = as_tensor(input, op="masked_scatter")
    xp, be = x.xp, x._be
    m = raw(mask, x, "masked_scatter", "mask")
    if m.dtype != xp.bool:
        raise DtypeError(f"masked_scatter: mask must be bool, got {B.dtype_name(m.dtype)}")
    s = as_tensor(source, like=x, op="masked_scatter")
    if s.dtype != x.dtype:
        raise TypeError(f"masked_scatter: expected self and source to have same dtypes but "
                        f"got {B.dtype_name(x.dtype)} and {B.dtype_name(s.dtype)}")
    shape = B.np.broadcast_shapes(tuple(x.shape), tuple(m.shape))
    m = xp.broadcast_to(m, shape)
    x = expand(x, shape)
    flat = xp.reshape(m, (-1,))
    k = math.prod(s.shape)
    if be.on_host and int(xp.sum(xp.astype(flat, xp.int64))) > k:
        raise RuntimeError(f"masked_scatter: number of elements of source ({k}) < number of "
                           "ones in mask")
    if k == 0:
        return x
    rank = xp.cumulative_sum(xp.astype(flat, xp.int64)) - 1
    rank = xp.clip(rank, 0, k - 1)
    picked = reshape(take(reshape(s, (-1,)), rank, axis=0), shape)
    return where(m, picked, x)


def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` put at ``input[indices]`` (a tuple of integer
    index tensors for the leading dims, broadcast together), as ``torch.index_put``; with
    ``accumulate`` the values are added, repeated positions adding up. Differentiable in
    input and values."""
    op = "index_put"
    x = as_tensor(input, op=op)
    if not isinstance(indices, (tuple, list)) or not indices:
        raise TypeError(f"{op}: indices must be a non-empty tuple of index tensors, got "
                        f"{type(indices).__name__}")
    if len(indices) > x.ndim:
        raise IndexError(f"{op}: too many indices ({len(indices)}) for a tensor of shape "
                         f"{x.shape}")
    xp, be = x.xp, x._be
    arrays = []
    for i, ix in enumerate(indices):
        a = raw(ix, x, op, f"indices[{i}]")
        if a.dtype == xp.uint8:  # a mask, as PyTorch reads it (deprecated, with its warning)
            if len(indices) == 1 and math.prod(getattr(values, "shape", ())) == 1:
                raise RuntimeError(f"{op}: masked_fill_ only supports boolean masks, but got "
                                   "mask with dtype uint8")
            a = _index_dtype(be, a, op)
        if xp.isdtype(a.dtype, "bool"):
            # a mask over the next a.ndim dims stands for its nonzero positions (PyTorch);
            # the count is data-dependent, read as torch reads it
            at = len(arrays)
            if a.ndim == 0 or tuple(a.shape) != tuple(x.shape[at:at + a.ndim]):
                raise IndexError(f"{op}: the mask of shape {tuple(a.shape)} at index {i} "
                                 f"does not match the indexed tensor's shape "
                                 f"{tuple(x.shape[at:at + a.ndim])}")
            arrays.extend(xp.nonzero(a))
            continue
        if not xp.isdtype(a.dtype, "integral"):
            raise TypeError(f"{op}: indices[{i}] must be an integer tensor or a bool mask, got "
                            f"{B.dtype_name(a.dtype)}")
        arrays.append(_wrap_negative(be, _int64(xp, a), x.shape[len(arrays)], op, i))
    if len(arrays) > x.ndim:
        raise IndexError(f"{op}: too many indices ({len(arrays)}) for a tensor of shape "
                         f"{x.shape}")
    k = len(arrays)
    arrays = xp.broadcast_arrays(*arrays) if k > 1 else arrays
    flat = arrays[0]
    for i in range(1, k):
        flat = flat * x.shape[i] + arrays[i]
    pos = xp.reshape(flat, (-1,))
    rest = tuple(x.shape[k:])
    if (isinstance(values, TensorBase) or B.is_array(values)) and values.dtype != x.dtype:
        raise DtypeError(f"{op}: values must have the dtype of input (PyTorch does not "
                         f"cast), got {B.dtype_name(values.dtype)} values for a "
                         f"{B.dtype_name(x.dtype)} input")
    v = as_tensor(values, like=x, op=op)
    if v.dtype != x.dtype:
        v = v.to(dtype=x.dtype)
    v = reshape(expand(v, tuple(flat.shape) + rest), (-1,) + rest)
    base = reshape(x, (math.prod(x.shape[:k]),) + rest)
    if accumulate:
        return reshape(index_add(base, 0, x._result(pos, be), v), x.shape)
    return reshape(index_copy(base, 0, x._result(pos, be), v), x.shape)


def put(input, index, source, accumulate=False):
    """A copy of ``input`` with ``source`` put at the flat positions ``index`` (input read
    as 1-D, negative positions from the end), as ``torch.put``; with ``accumulate`` the
    values are added, repeated positions adding up.

    Args:
        input: any shape; ``index``: int64 of any shape; ``source``: input's dtype with as
            many elements as ``index``.
    Returns:
        input's shape and dtype; differentiable in input and source.
    """
    x = as_tensor(input, op="put")
    idx = as_tensor(index, like=x, op="put")
    s = as_tensor(source, like=x, op="put")
    if s.dtype != x.dtype:
        raise DtypeError(f"put: source must have the dtype of input, got "
                         f"{B.dtype_name(s.dtype)} source for a {B.dtype_name(x.dtype)} input")
    if math.prod(idx.shape) != math.prod(s.shape):
        raise IndexRangeError(f"put: source and index should have the same number of "
                              f"elements, got {math.prod(s.shape)} and {math.prod(idx.shape)}")
    flat = index_put(reshape(x, (-1,)), (reshape(idx, (-1,)),), reshape(s, (-1,)),
                     accumulate)
    return reshape(flat, x.shape)

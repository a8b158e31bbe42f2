"""Tensor's indexing methods: ``x[key]`` and ``x[key] = v``, gather/scatter, the
``index_*`` and ``masked_*`` families, ``take``/``put``, and the triangle and diagonal
selections. Part of :class:`xpnn.tensor.Tensor`."""
from __future__ import annotations

import math

from . import backend as B
from . import functional as F
from .autograd import TensorBase, as_tensor
from ._errors import ArgumentError, ShapeError
from .functional import indexing as _indexing
from .functional.shape import _axis
from .tensor_inplace import write_back


def _index_reduce(self, dim, index, source, reduce, *, include_self=True):
    """``self`` with the slices of ``source`` along ``dim`` reduced ("prod", "mean", "amax"
    or "amin") into the slices ``index`` names, as ``Tensor.index_reduce``."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise ArgumentError(f"index_reduce: reduce must be one of 'prod', 'mean', 'amax' or "
                            f"'amin', got {reduce!r}")
    d = _axis("index_reduce", dim, self.ndim)
    if index.ndim != 1 or source.ndim != self.ndim or index.shape[0] != source.shape[d]:
        raise IndexError(f"index_reduce: index of shape {tuple(index.shape)} must be 1-D with "
                         f"one entry per slice of source (shape {tuple(source.shape)}) along "
                         f"dim {dim}")
    view = [1] * self.ndim
    view[d] = index.shape[0]
    idx = F.broadcast_to(F.reshape(index, view), source.shape)
    return F.scatter_reduce(self, d, idx, source, reduce, include_self=include_self)


def _index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    return self._unary_inplace("index_reduce_", _index_reduce, dim, index, source, reduce,
                               include_self=include_self, other=source)


def _refuse_uint8_fill(key, value):
    """PyTorch writes a one-element value through a key with one tensor index by
    masked_fill_, which refuses a uint8 mask (a bool one, or a larger value, is fine)."""
    keys = key if isinstance(key, tuple) else (key,)
    arrays = [k.array if isinstance(k, TensorBase) else k for k in keys
              if isinstance(k, TensorBase) or B.is_array(k)]
    if len(arrays) != 1 or B.dtype_name(arrays[0].dtype) != "uint8":
        return
    if isinstance(value, TensorBase) or B.is_array(value):
        if math.prod(value.shape) != 1:
            return
    elif not isinstance(value, (bool, int, float, complex, B.np.generic)):
        return
    raise RuntimeError("setitem: masked_fill_ only supports boolean masks, but got mask with "
                       "dtype uint8 (index with a bool mask, as PyTorch asks)")

class IndexMethods:
    """The indexing methods of :class:`xpnn.Tensor`."""

    __slots__ = ()

    def __getitem__(self, key):
        return _indexing.getitem(self, key)

    def __setitem__(self, key, value):
        if not isinstance(key, (int, slice)):
            _refuse_uint8_fill(key, value)
        if self._graph_inplace("setitem", value):
            old = self._shallow()
            v = as_tensor(value, like=self, op="setitem")
            self._become(_indexing.SetItem.apply(old, v, key=key))
            if self._view is not None:
                write_back(self)
            return
        self._unshared("setitem")
        arr = self._writable()
        v = as_tensor(value, like=self, op="setitem").array
        if v.dtype != arr.dtype:
            v = self.xp.astype(v, arr.dtype)
        self._set_array(_indexing.assign(self._be, arr, key, v))
        self._changed()

    def nonzero(self, *, as_tuple=False):
        return F.nonzero(self, as_tuple=as_tuple)

    def argwhere(self):
        return F.argwhere(self)

    def masked_select(self, mask):
        return F.masked_select(self, mask)

    def masked_fill(self, mask, value):
        return F.masked_fill(self, mask, value)

    def index_select(self, dim, index):
        return F.index_select(self, dim, index)

    def gather(self, dim, index, *, sparse_grad=False):
        return F.gather(self, dim, index, sparse_grad=sparse_grad)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        return F.scatter(self, dim, index, src, value, reduce=reduce)

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        return self._unary_inplace("scatter_", F.scatter, dim, index, src, value,
                                   reduce=reduce)

    def scatter_add(self, dim, index, src):
        return F.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim, index, src):
        return self._unary_inplace("scatter_add_", F.scatter_add, dim, index, src)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return F.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return self._unary_inplace("scatter_reduce_", F.scatter_reduce, dim, index, src,
                                   reduce, include_self=include_self, other=src)

    def index_add(self, dim, index, source, *, alpha=1):
        return F.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._unary_inplace("index_add_", F.index_add, dim, index, source, alpha=alpha,
                                   other=source)

    def index_copy(self, dim, index, source):
        return F.index_copy(self, dim, index, source)

    def index_copy_(self, dim, index, source):
        return self._unary_inplace("index_copy_", F.index_copy, dim, index, source,
                                   other=source)

    def index_fill(self, dim, index, value):
        return F.index_fill(self, dim, index, value)

    def index_fill_(self, dim, index, value):
        return self._unary_inplace("index_fill_", F.index_fill, dim, index, value,
                                   other=value)

    def index_put(self, indices, values, accumulate=False):
        return F.index_put(self, indices, values, accumulate)

    def index_put_(self, indices, values, accumulate=False):
        return self._unary_inplace("index_put_", F.index_put, indices, values, accumulate,
                                   other=values)

    def put(self, index, source, accumulate=False):
        return F.put(self, index, source, accumulate)

    def put_(self, index, source, accumulate=False):
        return self._unary_inplace("put_", F.put, index, source, accumulate, other=source)

    def masked_scatter(self, mask, source):
        return F.masked_scatter(self, mask, source)

    def masked_scatter_(self, mask, source):
        return self._unary_inplace("masked_scatter_", F.masked_scatter, mask, source,
                                   other=source)

    def take_along_dim(self, indices, dim=None):
        return F.take_along_dim(self, indices, dim)

    def select(self, dim, index):
        return F.select(self, dim, index)

    def tril(self, diagonal=0):
        return F.tril(self, diagonal)

    def triu(self, diagonal=0):
        return F.triu(self, diagonal)

    def tril_(self, diagonal=0):
        return self._unary_inplace("tril_", F.tril, diagonal)

    def triu_(self, diagonal=0):
        return self._unary_inplace("triu_", F.triu, diagonal)

    def diag(self, diagonal=0):
        return F.diag(self, diagonal)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return F.diagonal(self, offset, dim1, dim2)

    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        return F.diagonal_scatter(self, src, offset, dim1, dim2)

    def take(self, index=None, axis=None, *, indices=None):
        return F.take(self, index, axis, indices=indices)

    def fill_diagonal_(self, fill_value, wrap=False):
        """Set the main diagonal to ``fill_value`` (``torch.Tensor.fill_diagonal_``): a
        matrix, or a tensor whose dims are all equal; ``wrap`` continues a tall matrix's
        diagonal below its first N rows."""
        from .functional.scalar_args import number_only
        number_only("fill_diagonal_", "fill_value", fill_value)
        shape = tuple(self.shape)
        if self.ndim < 2 or (self.ndim > 2 and len(set(shape)) != 1):
            raise ShapeError(f"fill_diagonal_: expected a matrix or a tensor with all dims "
                             f"equal, got shape {shape}")
        xp, n = self.xp, math.prod(shape)
        step = sum(math.prod(shape[i + 1:]) for i in range(self.ndim))
        stop = n if wrap and self.ndim == 2 else min(shape) * step
        flat = xp.arange(n, dtype=xp.int64, device=self._be.device)
        mask = (flat % step == 0) & (flat < stop)
        return self.masked_fill_(self._result(xp.reshape(mask, shape), self._be), fill_value)

    index_reduce, index_reduce_ = _index_reduce, _index_reduce_

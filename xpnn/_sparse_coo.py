"""Sparse COO tensors (``layout == xpnn.sparse_coo``), the slice graph programs use.

A :class:`SparseTensor` is two dense Tensors and a size: ``indices`` (sparse_dim, nnz)
int64 and ``values`` (nnz, *dense_shape), as PyTorch stores one. It is its own class, not a
Tensor subclass: the dense methods would mean something else on it, and the dense hot paths
stay as they are (``matmul``/``mm`` look at an operand that is not a Tensor, nothing more).

Autograd goes through ``values``: every op on a sparse tensor is an op on its values Tensor
(gathers and scatter-adds, native where the backend has them), so the engine is unchanged.
A sparse leaf (``requires_grad=True``) owns a values leaf; its ``.grad`` is a sparse tensor
with one entry per stored position, as PyTorch's (see :attr:`SparseTensor.grad`).
"""
from __future__ import annotations

import math

from . import backend as B
from . import functional as F
from ._errors import DtypeError, ShapeError
from ._memory_format import sparse_coo
from ._sparse_dense import mul_dense
from ._sparse_index import SparseIndexOps
from ._sparse_print import sparse_repr
from ._sparse_unary import SparseUnaryOps
from .autograd import TensorBase, as_tensor
from .dtypes import DType
from .functional.shape import _axis
from .functional.sparse_ops import SparseMM, linear_key, unflatten_key


def _zeros_like_rows(v, rows):
    """Zeros of shape (rows, *v.shape[1:]) as a Tensor on v's backend, dtype and device."""
    xp = v.xp
    return v._result(xp.zeros((rows,) + tuple(v.shape[1:]), dtype=v.dtype, device=v._be.device),
                     v._be)


def _unique(xp, key):
    """(sorted distinct keys, each entry's position among them)."""
    got = xp.unique_inverse(key)
    return got.values, xp.astype(xp.reshape(got.inverse_indices, (-1,)), xp.int64)


class SparseTensor(SparseUnaryOps, SparseIndexOps):
    """A sparse COO tensor: ``values[e]`` stored at ``indices[:, e]`` in a tensor of ``size``
    (PyTorch's ``torch.sparse_coo`` layout). Make one with :func:`xpnn.sparse_coo_tensor` or
    ``x.to_sparse()``.

    Sparse dims come first, then the dense dims of each value (hybrid tensors); products,
    softmax and ``t()`` take matrices with no dense dims, as PyTorch's do. The elementwise
    ops that keep zeros come from SparseUnaryOps (_sparse_unary.py), index_select, ``s[i]``,
    narrow_copy and cat/stack from SparseIndexOps (_sparse_index.py).
    """

    __slots__ = ("_i", "_v", "_size", "_coalesced", "__weakref__")
    is_sparse = True
    is_sparse_csr = False
    layout = sparse_coo

    def __init__(self, indices, values, size, coalesced=False):
        # internal: indices (int64 Tensor, (sparse_dim, nnz)) and values already checked
        self._i, self._v, self._size = indices, values, tuple(size)
        self._coalesced = bool(coalesced) or indices.shape[1] <= 1

    # -- metadata --------------------------------------------------------------------------
    @property
    def shape(self):
        return type(self._v.shape)(self._size)  # xpnn.Size, without importing tensor.py

    def size(self, dim=None):
        if dim is None:
            return self.shape
        return self._size[_axis("size", dim, len(self._size))]

    dtype = property(lambda self: self._v.dtype)
    device = property(lambda self: self._v.device)
    backend = property(lambda self: self._v.backend)
    xp = property(lambda self: self._v.xp)
    is_cuda = property(lambda self: self._v.is_cuda)
    ndim = property(lambda self: len(self._size))
    requires_grad = property(lambda self: self._v.requires_grad)
    grad_fn = property(lambda self: self._v.grad_fn)
    is_leaf = property(lambda self: self._v.is_leaf)

    def dim(self):
        return len(self._size)

    def numel(self):
        return math.prod(self._size)

    def sparse_dim(self):
        return self._i.shape[0]

    def dense_dim(self):
        return self._v.ndim - 1

    def _nnz(self):
        return self._i.shape[1]

    def is_coalesced(self):
        return self._coalesced

    def is_floating_point(self):
        return self._v.is_floating_point()

    def __len__(self):
        return self._size[0]

    # -- the parts -------------------------------------------------------------------------
    def _indices(self):
        return self._i

    def _values(self):
        return self._v

    def indices(self):
        """The (sparse_dim, nnz) int64 indices of a coalesced tensor."""
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._i

    def values(self):
        """The (nnz, *dense_shape) values of a coalesced tensor (in the graph)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._v

    # -- autograd --------------------------------------------------------------------------
    @property
    def grad(self):
        """A sparse leaf's gradient: a coalesced sparse tensor holding, at each stored
        position, the gradient of the loss w.r.t. the dense entry there (PyTorch's for
        ``torch.sparse.mm``, ``to_dense``, ``sparse.sum``, ``softmax``; PyTorch's
        ``torch.mm``/``@`` give a dense one). None before backward."""
        g = self._v.grad
        if g is None:
            return None
        if self._coalesced:
            return SparseTensor(self._i, g, self._size, True)
        # duplicates of one position stand for one dense entry: their gradients are equal
        xp, be = g.xp, g._be
        keys, inv = _unique(xp, linear_key(xp, self._i.array, self._size[:self.sparse_dim()]))
        count = keys.shape[0]
        ones = xp.ones(inv.shape, dtype=g.dtype, device=be.device)
        seen = F.indexing.index_add(be, xp.zeros((count,), dtype=g.dtype, device=be.device),
                                    0, inv, ones)
        total = F.indexing.index_add(be, xp.zeros((count,) + tuple(g.shape[1:]), dtype=g.dtype,
                                                  device=be.device), 0, inv, g.array)
        seen = xp.reshape(seen, (count,) + (1,) * (g.ndim - 1))
        idx = unflatten_key(xp, keys, self._size[:self.sparse_dim()])
        return SparseTensor(self._i._result(idx, be), g._result(total / seen, be), self._size,
                            True)

    @grad.setter
    def grad(self, value):
        if value is not None:
            raise RuntimeError("SparseTensor.grad: only None can be assigned (zero_grad)")
        self._v.grad = None

    def requires_grad_(self, requires_grad=True):
        self._v.requires_grad_(requires_grad)
        return self

    def detach(self):
        return SparseTensor(self._i, self._v.detach(), self._size, self._coalesced)

    def clone(self):
        return SparseTensor(self._i.clone(), self._v.clone(), self._size, self._coalesced)

    def zero_(self):
        """No entries left (nnz 0, coalesced), in place, as torch's (zero_grad(False))."""
        xp, i, v = self._i.xp, self._i, self._v
        self._i = i._result(xp.zeros((i.shape[0], 0), dtype=i.dtype, device=i._be.device), i._be)
        self._v = v._result(xp.zeros((0,) + tuple(v.shape[1:]), dtype=v.dtype,
                                     device=v._be.device), v._be)
        self._coalesced = True
        return self

    # -- conversions -----------------------------------------------------------------------
    def coalesce(self):
        """The same tensor with duplicate positions summed and entries in lexicographic order
        of their indices (differentiable in the values)."""
        if self._coalesced:
            return self
        xp, be = self._i.xp, self._i._be
        sparse = self._size[:self.sparse_dim()]
        keys, inv = _unique(xp, linear_key(xp, self._i.array, sparse))
        idx = self._i._result(unflatten_key(xp, keys, sparse), be)
        vals = F.index_add(_zeros_like_rows(self._v, keys.shape[0]), 0,
                           self._v._result(inv, be), self._v)
        return SparseTensor(idx, vals, self._size, True)

    def to_dense(self, dtype=None, *, masked_grad=None):
        """The dense tensor (duplicates summed); differentiable in the values."""
        xp, be = self._i.xp, self._i._be
        sparse = self._size[:self.sparse_dim()]
        flat = self._i._result(linear_key(xp, self._i.array, sparse), be)
        out = F.index_add(_zeros_like_rows(self._v, math.prod(sparse)), 0, flat, self._v)
        out = F.reshape(out, self._size)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, sparse_dim=None, *, layout=None):
        if layout not in (None, sparse_coo) or sparse_dim not in (None, self.sparse_dim()):
            raise NotImplementedError("to_sparse: xpnn has the COO layout only, and does not "
                                      "change the sparse_dim of a sparse tensor")
        return self

    to_sparse_coo = to_sparse

    def to(self, *args, **kwargs):
        """The values on another backend/device and/or dtype (indices follow the device)."""
        v = self._v.to(*args, **kwargs)
        i = self._i
        if v._be is not i._be:
            i = F.to(i, v._be.name, v._be.device, None)
        return SparseTensor(i, v, self._size, self._coalesced)

    def double(self):
        return self.to(DType("float64"))

    def float(self):
        return self.to(DType("float32"))

    def half(self):
        return self.to(DType("float16"))

    def cpu(self):
        return self.to("cpu")

    def _load_from(self, other):
        """Take ``other``'s entries in place, on this tensor's backend and dtype (a sparse
        buffer's ``load_state_dict``, as PyTorch's ``copy_``)."""
        other = other.to(self._v._be.name, self._v._be.device).to(self.dtype)
        self._i, self._v = other._i, other._v.detach().clone()
        self._coalesced = other._coalesced

    def type(self, dtype):
        return self.to(dtype)

    # -- shape -----------------------------------------------------------------------------
    def transpose(self, dim0, dim1):
        """Two sparse dims swapped (the values are the same entries)."""
        d0, d1 = (_axis("transpose", d, self.ndim) for d in (dim0, dim1))
        if max(d0, d1) >= self.sparse_dim():
            raise NotImplementedError("transpose: xpnn swaps sparse dims only (the dense dims "
                                      "of a hybrid tensor stay)")
        order = list(range(self.sparse_dim()))
        order[d0], order[d1] = order[d1], order[d0]
        xp = self._i.xp
        idx = xp.take(self._i.array, xp.asarray(order, dtype=xp.int64, device=self._i.array.device),
                      axis=0)
        size = list(self._size)
        size[d0], size[d1] = size[d1], size[d0]
        return SparseTensor(self._i._result(idx, self._i._be), self._v, size,
                            self._coalesced and d0 == d1)

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, "
                               f"but self is {self.sparse_dim()} sparse and {self.dense_dim()} "
                               "dense")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self):  # noqa: N802 - PyTorch's name
        return self.t()

    # -- arithmetic ------------------------------------------------------------------------
    def mul(self, other):
        """Times a number or a tensor broadcasting to this size: sparse (_sparse_dense.py)."""
        if isinstance(other, SparseTensor):
            raise NotImplementedError("SparseTensor.mul: xpnn multiplies a sparse tensor by a "
                                      "number or a dense tensor only")
        if isinstance(other, TensorBase) and other.ndim:
            return mul_dense(self, other)
        if not isinstance(other, (bool, int, float, TensorBase)):
            return NotImplemented
        return SparseTensor(self._i, F.mul(self._v, other), self._size, self._coalesced)

    __mul__ = __rmul__ = mul

    def __neg__(self):
        return SparseTensor(self._i, F.neg(self._v), self._size, self._coalesced)

    neg = __neg__

    def add(self, other, *, alpha=1):
        """The sum of two sparse tensors of one size (entries concatenated; coalesced when
        both were)."""
        if not isinstance(other, SparseTensor):
            raise RuntimeError(f"add(sparse, {type(other).__name__}) is not supported by xpnn; "
                               "add two sparse tensors, or add to_dense()")
        if other._size != self._size or other.sparse_dim() != self.sparse_dim():
            raise ShapeError(f"add: expected sizes of 'self' and 'other' to match, but "
                             f"{list(self._size)} != {list(other._size)}")
        if other._v._be is not self._v._be:
            raise TypeError(f"add: a sparse tensor on {other.backend} met one on "
                            f"{self.backend}; move one with .to(...)")
        if other._v.dtype != self._v.dtype:
            raise DtypeError(f"add: sparse tensors of {B.dtype_name(self.dtype)} and "
                             f"{B.dtype_name(other.dtype)}; cast one with .to(dtype)")
        ov = other._v if alpha == 1 else F.mul(other._v, alpha)
        out = SparseTensor(F.cat([self._i, other._i], 1), F.cat([self._v, ov], 0), self._size)
        return out.coalesce() if self._coalesced and other._coalesced else out

    __add__ = add

    def __radd__(self, other):
        return self.add(other)

    def sub(self, other, *, alpha=1):
        return self.add(other, alpha=-alpha)

    __sub__ = sub

    # -- products and reductions ------------------------------------------------------------
    def _sparse_matmul(self, other, op="matmul"):
        """self @ other for a dense ``other`` (k,) or (k, m): a dense result."""
        if isinstance(other, SparseTensor):
            raise NotImplementedError(f"{op}: xpnn multiplies a sparse matrix by a dense one "
                                      "only (sparse @ sparse is not implemented)")
        if self.sparse_dim() != 2 or self.dense_dim() != 0:
            raise NotImplementedError(f"{op}: a sparse operand must be a matrix with 2 sparse "
                                      f"and 0 dense dims, got {self.sparse_dim()} sparse and "
                                      f"{self.dense_dim()} dense")
        D = as_tensor(other, like=self._v, op=op) if not isinstance(other, TensorBase) \
            else other
        if D._be is not self._v._be:
            raise TypeError(f"{op}: a sparse tensor on {self.backend} met a dense one on "
                            f"{D.backend}; move one with .to(...)")
        if D.ndim not in (1, 2):
            raise ShapeError(f"{op}: the dense operand must be 1-D or 2-D, got shape "
                             f"{tuple(D.shape)}")
        if D.shape[0] != self._size[1]:
            raise ShapeError(f"{op}: sparse {tuple(self._size)} @ dense {tuple(D.shape)}: "
                             f"expected dim 0 of the dense operand to be {self._size[1]}, got "
                             f"{D.shape[0]}")
        if D.dtype != self._v.dtype:
            raise DtypeError(f"{op}: expected both operands to have the same dtype, got sparse "
                             f"{B.dtype_name(self.dtype)} and dense {B.dtype_name(D.dtype)}")
        M = F.reshape(D, (D.shape[0], 1)) if D.ndim == 1 else D
        I = self._i.array
        Y = SparseMM.apply(self._v, M, rows=I[0, :], cols=I[1, :], n=self._size[0])
        return F.reshape(Y, (self._size[0],)) if D.ndim == 1 else Y

    def _sparse_rmatmul(self, other, op="matmul"):
        """other @ self for a dense (n, k) or (k,) ``other``: (self^T @ other^T)^T."""
        D = as_tensor(other, like=self._v, op=op) if not isinstance(other, TensorBase) \
            else other
        if D.ndim == 1:
            return self.t()._sparse_matmul(D, op)
        if D.ndim != 2:
            raise ShapeError(f"{op}: the dense operand must be 1-D or 2-D, got shape "
                             f"{tuple(D.shape)}")
        if self.sparse_dim() == 2 and D.shape[1] != self._size[0]:
            raise ShapeError(f"{op}: dense {tuple(D.shape)} @ sparse {tuple(self._size)}: "
                             f"the sizes {D.shape[1]} and {self._size[0]} must agree")
        return F.permute(self.t()._sparse_matmul(F.permute(D, (1, 0)), op), (1, 0))

    def matmul(self, other):
        return self._sparse_matmul(other, "matmul")

    def mm(self, mat2):
        return self._sparse_matmul(mat2, "mm")

    __matmul__ = matmul

    def __rmatmul__(self, other):
        return self._sparse_rmatmul(other, "matmul")

    def sum(self, dim=None, keepdim=False, dtype=None):
        """The sum over ``dim`` (all dims when None), as ``torch.sparse.sum``: a dense 0-d
        tensor for all dims, a dense tensor when every sparse dim is summed, else a coalesced
        sparse one over the dims that remain."""
        if keepdim:
            raise NotImplementedError("SparseTensor.sum: keepdim=True is not implemented")
        S = self
        v = S._v if dtype is None else S._v.to(dtype)
        if dim is None:
            return F.sum(v)
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = sorted({_axis("sparse.sum", d, S.ndim) for d in dims})
        sd = S.sparse_dim()
        dense_red = tuple(d - sd + 1 for d in dims if d >= sd)
        if dense_red:
            v = F.sum(v, dim=dense_red)
        keep = [d for d in range(sd) if d not in dims]
        dense_size = tuple(n for d, n in enumerate(S._size) if d >= sd and d not in dims)
        if not keep:
            return F.sum(v, dim=0)
        size = tuple(S._size[d] for d in keep) + dense_size
        if len(keep) == sd:
            return SparseTensor(S._i, v, size, S._coalesced)
        xp = S._i.xp
        idx = xp.take(S._i.array, xp.asarray(keep, dtype=xp.int64, device=S._i.array.device),
                      axis=0)
        return SparseTensor(S._i._result(idx, S._i._be), v, size).coalesce()

    # -- printing (xpnn/_sparse_print.py) ----------------------------------------------------
    def __repr__(self):
        """PyTorch's text: the indices, the values, then size, nnz, dtype and layout."""
        return sparse_repr(self)

    __str__ = __repr__

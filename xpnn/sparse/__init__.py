"""torch.sparse for COO tensors: construction, products, sums and softmax over the stored
entries, differentiable in the values and in the dense operand (xpnn/_sparse_coo.py holds
the tensor type; functional/sparse_ops.py the gather/scatter kernels).

Not here: the compressed layouts (CSR/CSC/BSR/BSC), sparse @ sparse, sparse-dense
broadcasting arithmetic, and products or softmax of hybrid tensors (dense dims per entry).
"""
from __future__ import annotations

from .. import backend as B
from .. import functional as F
from .._sparse_build import build, from_dense
from .._sparse_coo import SparseTensor
from ..autograd import TensorBase, as_tensor
from ..creation import tensor as _tensor
from ..functional.shape import _axis
from ..functional.sparse_ops import group_max, linear_key
from ._legacy import DoubleTensor, FloatTensor, LongTensor  # noqa: F401 (deprecated)

__all__ = ["SparseTensor", "sparse_coo_tensor", "mm", "addmm", "sum", "softmax",
           "log_softmax", "spmm", "to_sparse"]


def sparse_coo_tensor(indices, values, size=None, dtype=None, device=None,
                      requires_grad=False, is_coalesced=None, *, check_invariants=None):
    """A sparse COO tensor with ``values[e]`` at ``indices[:, e]``, as
    ``torch.sparse_coo_tensor``.

    Args:
        indices: (sparse_dim, nnz) integer tensor or nested list (cast to int64).
        values: (nnz, *dense_shape) tensor, list or number list.
        size: the full shape (sparse dims then dense dims); inferred from the largest index
            per dim when None (a host read).
        dtype, device: of the values (the indices follow the device).
        requires_grad: make it a leaf whose ``.grad`` is sparse.
        is_coalesced: trust that the indices are distinct and sorted (PyTorch's flag).
    Returns:
        a :class:`SparseTensor`; indices out of ``size`` raise where they are in host memory.
    """
    if isinstance(values, TensorBase):
        v = values if dtype is None and device is None else values.to(device=device, dtype=dtype)
    else:
        v = _tensor(values, dtype=dtype, device=device)
    if isinstance(indices, TensorBase):
        i = indices if indices._be is v._be else F.to(indices, v._be.name, v._be.device, None)
    elif isinstance(indices, (list, tuple, B.np.ndarray)):  # host data: to values' device
        i = v._result(v._be.asarray(B.np.asarray(indices)), v._be)
    else:
        i = as_tensor(indices, like=v, op="sparse_coo_tensor")
    return build(i, v, size, requires_grad=requires_grad, is_coalesced=is_coalesced)


def _sparse(x, op):
    if not isinstance(x, SparseTensor):
        raise TypeError(f"{op}: expected a sparse COO tensor, got "
                        f"{type(x).__name__}{' (dense)' if isinstance(x, TensorBase) else ''}")
    return x


def mm(mat1, mat2, reduce=None):
    """sparse (n, k) @ dense (k, m) -> dense (n, m), as ``torch.sparse.mm``; gradients flow to
    mat1's values and to mat2 (a sparse leaf's ``.grad`` is sparse)."""
    if reduce not in (None, "sum"):
        raise NotImplementedError(f"sparse.mm: reduce={reduce!r} is not implemented (only "
                                  "the sum)")
    S = _sparse(mat1, "sparse.mm")
    if isinstance(mat2, TensorBase) and mat2.ndim != 2:
        raise IndexError(f"sparse.mm: the dense operand must be 2-D, got shape "
                         f"{tuple(mat2.shape)}")
    return S._sparse_matmul(mat2, "sparse.mm")


def spmm(input, mat2):
    """``torch.spmm``: :func:`mm` for a sparse ``input``; a dense one gives the dense
    product, as PyTorch."""
    if isinstance(input, TensorBase) and not isinstance(input, SparseTensor):
        return F.mm(input, mat2)
    return mm(input, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """beta * mat + alpha * (mat1 @ mat2) for a sparse mat1 and dense mat and mat2, as
    ``torch.sparse.addmm``."""
    prod = mm(mat1, mat2)
    prod = prod if alpha == 1 else F.mul(prod, alpha)
    if beta == 0:
        return prod
    return F.add(prod, mat if beta == 1 else F.mul(mat, beta))


def sum(input, dim=None, dtype=None):  # noqa: A001 - torch.sparse.sum
    """The sum over ``dim`` (all dims when None), as ``torch.sparse.sum``: a dense 0-d tensor
    for all dims, a dense tensor when every sparse dim is summed, else a coalesced sparse one
    over the dims that remain (:meth:`SparseTensor.sum`)."""
    return _sparse(input, "sparse.sum").sum(dim, dtype=dtype)


def _groups(S, dim, op):
    """(coalesced S, each entry's group id, the number of groups): entries that share every
    sparse index except the one in ``dim``."""
    S = _sparse(S, op).coalesce()
    if S.dense_dim():
        raise NotImplementedError(f"{op}: xpnn takes sparse tensors without dense dims")
    d = _axis(op, dim, S.ndim)
    xp, I = S._i.xp, S._i.array
    keep = [k for k in range(S.sparse_dim()) if k != d]
    rows = xp.take(I, xp.asarray(keep, dtype=xp.int64, device=I.device), axis=0)
    key = linear_key(xp, rows, tuple(S._size[k] for k in keep))
    got = xp.unique_inverse(key)
    inv = xp.astype(xp.reshape(got.inverse_indices, (-1,)), xp.int64)
    return S, inv, got.values.shape[0]


def _shifted(S, inv, count, dtype):
    """(values minus their group's maximum, the groups as a Tensor, zeros per group)."""
    v = S._v if dtype is None else S._v.to(dtype)
    xp, be = v.xp, v._be
    top = group_max(xp, inv, v.detach().array, count)
    g = v._result(inv, be)
    shifted = F.sub(v, v._result(xp.take(top, inv, axis=0), be))
    zeros = v._result(xp.zeros((count,), dtype=v.dtype, device=be.device), be)
    return shifted, g, zeros


def softmax(input, dim, dtype=None):
    """Softmax along ``dim`` over the stored entries only (the others count as -inf and stay
    unstored), as ``torch.sparse.softmax``: a coalesced sparse tensor with input's indices."""
    S, inv, count = _groups(input, dim, "sparse.softmax")
    if S._nnz() == 0:
        return S if dtype is None else S.to(dtype)
    shifted, g, zeros = _shifted(S, inv, count, dtype)
    e = F.exp(shifted)
    total = F.index_add(zeros, 0, g, e)
    return SparseTensor(S._i, F.div(e, F.index_select(total, 0, g)), S._size, True)


def log_softmax(input, dim, dtype=None):
    """log of :func:`softmax` over the stored entries, as ``torch.sparse.log_softmax``."""
    S, inv, count = _groups(input, dim, "sparse.log_softmax")
    if S._nnz() == 0:
        return S if dtype is None else S.to(dtype)
    shifted, g, zeros = _shifted(S, inv, count, dtype)
    total = F.index_add(zeros, 0, g, F.exp(shifted))
    return SparseTensor(S._i, F.sub(shifted, F.index_select(F.log(total), 0, g)), S._size,
                        True)


def to_sparse(x, sparse_dim=None):
    """``x.to_sparse(sparse_dim)`` as a function."""
    return from_dense(x, sparse_dim)


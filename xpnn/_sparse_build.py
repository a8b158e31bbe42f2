"""Building sparse COO tensors (xpnn/_sparse_coo.py): from indices and values with
``torch.sparse_coo_tensor``'s checks (:func:`build`), and from a dense tensor's nonzero
entries (:func:`from_dense`, behind ``Tensor.to_sparse``)."""
from __future__ import annotations

import math
import operator

from . import backend as B
from . import functional as F
from ._errors import DtypeError, IndexRangeError, ShapeError
from ._sparse_coo import SparseTensor
from .autograd import TensorBase
from .functional.sparse_ops import unflatten_key


def build(indices, values, size=None, *, requires_grad=False, is_coalesced=None,
          check=True, op="sparse_coo_tensor"):
    """A :class:`SparseTensor` from an indices Tensor and a values Tensor (one backend and
    device), checked as ``torch.sparse_coo_tensor`` checks them (range checks where the
    indices are in host memory; inferring ``size`` reads their maximum)."""
    if not isinstance(indices, TensorBase) or not isinstance(values, TensorBase):
        raise TypeError(f"{op}: indices and values must be tensors")
    xp, be = indices.xp, indices._be
    if indices.ndim != 2:
        raise ShapeError(f"{op}: indices must be 2-D (sparse_dim, nnz), got shape "
                         f"{tuple(indices.shape)}")
    if not xp.isdtype(indices.dtype, "integral"):
        raise DtypeError(f"{op}: indices must be an int64 tensor, got "
                         f"{B.dtype_name(indices.dtype)}")
    if indices.dtype != xp.int64:
        indices = indices._result(xp.astype(indices.array, xp.int64), be)
    if values.ndim == 0:
        raise ShapeError(f"{op}: values must have at least one dim (nnz, *dense_shape), got a "
                         "0-d tensor")
    if values._be is not be:
        raise TypeError(f"{op}: indices on {be.name}:{be.device} but values on "
                        f"{values._be.name}:{values._be.device}; move one with .to(...)")
    sdim, nnz = indices.shape
    if values.shape[0] != nnz:
        raise ShapeError(f"{op}: indices and values must have same nnz, but got nnz from "
                         f"indices: {nnz}, nnz from values: {values.shape[0]}")
    dense = tuple(values.shape[1:])
    if size is None:
        if nnz:
            top = xp.max(indices.array, axis=1)
            size = tuple(int(n) + 1 for n in B.to_numpy(top).tolist()) + dense
        else:
            size = (0,) * sdim + dense
    else:
        size = tuple(operator.index(n) for n in size)
        if len(size) != sdim + len(dense):
            raise ShapeError(f"{op}: number of dimensions must be sparse_dim ({sdim}) + "
                             f"dense_dim ({len(dense)}), but got {len(size)} (size={size})")
        if size[sdim:] != dense:
            raise ShapeError(f"{op}: values have dense shape {dense} but size {size} asks for "
                             f"{size[sdim:]}")
        if check and be.on_host and nnz:
            lo = B.to_numpy(xp.min(indices.array, axis=1)).tolist()
            hi = B.to_numpy(xp.max(indices.array, axis=1)).tolist()
            for d in range(sdim):
                if lo[d] < 0:
                    raise IndexRangeError(f"{op}: found negative index {lo[d]} for dim {d}")
                if hi[d] >= size[d]:
                    raise IndexRangeError(f"{op}: size is inconsistent with indices: for dim "
                                          f"{d}, size is {size[d]} but found index {hi[d]}")
    if requires_grad:
        if not values._be.is_floating(values.dtype):
            raise RuntimeError(f"{op}: only Tensors of floating point dtype can require "
                               f"gradients, got {B.dtype_name(values.dtype)}")
        values = values.detach().requires_grad_(True)
    elif values.requires_grad:  # made from values in a graph: not a leaf (as PyTorch's)
        values = values.view(tuple(values.shape))
    return SparseTensor(indices, values, size, bool(is_coalesced))


def from_dense(x, sparse_dim=None, op="to_sparse"):
    """A dense Tensor as a coalesced sparse COO one: its nonzero entries (over the first
    ``sparse_dim`` dims, the rest kept dense per entry); differentiable in ``x``."""
    if isinstance(x, SparseTensor):
        return x.to_sparse(sparse_dim)
    nd = x.ndim
    sdim = nd if sparse_dim is None else operator.index(sparse_dim)
    if not 0 < sdim <= nd:
        raise ShapeError(f"{op}: sparse_dim must be in 1..{nd} for a tensor of shape "
                         f"{tuple(x.shape)}, got {sparse_dim}")
    xp, be = x.xp, x._be
    sparse, dense = tuple(x.shape[:sdim]), tuple(x.shape[sdim:])
    rows = F.reshape(x, (math.prod(sparse),) + dense)
    hit = rows.array if rows.dtype == xp.bool else rows.array != 0  # the standard: no bool != 0
    if dense:
        hit = xp.any(xp.reshape(hit, (hit.shape[0], -1)), axis=1)
    (keys,) = xp.nonzero(hit)
    keys = xp.astype(keys, xp.int64)
    vals = F.index_select(rows, 0, x._result(keys, be))
    idx = x._result(unflatten_key(xp, keys, sparse), be)
    return SparseTensor(idx, vals, tuple(x.shape), True)

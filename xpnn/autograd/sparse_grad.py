"""Sparse gradients on their way to a leaf: ``nn.Embedding(sparse=True)`` and
``EmbeddingBag(sparse=True)`` hand the engine a :class:`SparseGrad` (the rows looked up and
their gradients) instead of a dense (V, D) array, and the leaf's ``.grad`` becomes a sparse
COO tensor with one entry per row read, uncoalesced, as PyTorch's.

The engine is unchanged on the dense path: ``_deliver_leaf`` looks at a gradient's class
once and hands a sparse one to :func:`deliver_sparse`; summing it with a dense gradient in
one backward (a table used twice) gives the dense sum, as PyTorch's engine does.
"""
from __future__ import annotations

from .grad_mode import no_grad


class SparseGrad:
    """dL/dW as rows: ``values[e]`` belongs to row ``rows[e]`` of a ``shape`` table.

    Args:
        be: the backend of the arrays.
        rows: (nnz,) int64 row indices (repeats allowed).
        values: (nnz, *shape[1:]) the gradient of each looked-up row.
        shape: the dense table's shape.
    """

    __slots__ = ("be", "rows", "values", "shape")
    __array_ufunc__ = None  # NumPy/CuPy: ``array + SparseGrad`` comes to __radd__

    def __init__(self, be, rows, values, shape):
        self.be, self.rows, self.values, self.shape = be, rows, values, tuple(shape)

    def dense(self):
        """The (shape) array with the rows' gradients summed in."""
        from ..functional.indexing import index_add
        xp = self.be.xp
        out = xp.zeros(self.shape, dtype=self.values.dtype, device=self.be.device)
        return index_add(self.be, out, 0, self.rows, self.values)

    def __add__(self, other):
        """Two sparse gradients: their entries concatenated; a dense one: the dense sum."""
        if type(other) is SparseGrad:
            xp = self.be.xp
            return SparseGrad(self.be, xp.concat([self.rows, other.rows]),
                              xp.concat([self.values, other.values], axis=0), self.shape)
        return self.dense() + other

    __radd__ = __add__

    def to_sparse(self, like):
        """A SparseTensor (indices (1, nnz), values copied: the optimizers and clipping may
        scale them in place) whose Tensors are made like ``like``."""
        from .._sparse_coo import SparseTensor
        xp, be = self.be.xp, self.be
        idx = like._result(xp.reshape(self.rows, (1, -1)), be)
        vals = like._result(xp.asarray(self.values, copy=True), be)
        return SparseTensor(idx, vals, self.shape)


def sparse_to_dense(S):
    """A SparseTensor's dense array (duplicates summed), outside any graph."""
    return SparseGrad(S._v._be, S._i.array[0, :], S._v.array, S.shape).dense() \
        if S.sparse_dim() == 1 else S.detach().to_dense().array


def deliver_sparse(leaf, g, capture, only):
    """``_deliver_leaf`` for a :class:`SparseGrad`: hooks see a sparse tensor, ``.grad``
    accumulates as PyTorch's AccumulateGrad (none: the sparse tensor; sparse: entries
    concatenated; dense: the dense sum), then the post-accumulate hooks.
    ``autograd.grad`` and ``backward(inputs=...)`` capture the dense gradient.
    A hook may return a sparse tensor of the same size, not a dense one (torch's error)."""
    if not leaf._rg:
        return
    S = g.to_sparse(leaf)
    hooks = leaf._hooks
    if hooks and hooks.get("pre"):
        for hook in hooks["pre"]:
            with no_grad():
                out = hook(S)
            if out is None:
                continue
            if not getattr(out, "is_sparse", False) or hasattr(out, "array"):
                raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the "
                                   f"type of value (was a sparse tensor, got "
                                   f"{type(out).__name__})")
            if tuple(out.shape) != S.shape:
                raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the "
                                   f"size of value (was {S.shape}, got {tuple(out.shape)})")
            S = out
    if capture is not None:
        hit = capture.get(id(leaf))
        if hit is not None:
            d = sparse_to_dense(S)
            hit[1] = d if hit[1] is None else hit[1] + d
    if only is not None and id(leaf) not in only:
        return
    acc = leaf._grad
    if acc is None:
        leaf._grad = S
    elif hasattr(acc, "array"):  # a dense .grad: the dense sum, in it
        acc.array = acc.array + sparse_to_dense(S)
        acc._vc[0] += 1
    else:  # sparse + sparse: the entries concatenated (uncoalesced)
        xp = leaf._be.xp
        from .._sparse_coo import SparseTensor
        leaf._grad = SparseTensor(
            leaf._result(xp.concat([acc._i.array, S._i.array], axis=1), leaf._be),
            leaf._result(xp.concat([acc._v.array, S._v.array], axis=0), leaf._be), S.shape)
    if hooks and hooks.get("post"):
        for hook in hooks["post"]:
            hook(leaf)

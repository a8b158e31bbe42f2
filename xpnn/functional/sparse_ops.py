"""Array kernels of the sparse COO tensors (xpnn/_sparse_coo.py): positions as one linear
key, the product of a sparse matrix and a dense one (:class:`SparseMM`), and the maximum of
each group of stored values (for ``torch.sparse.softmax``).

Everything is a gather (``xp.take``) or a scatter-add (indexing.py's ``index_add``, native
where the backend has one, else the portable one-hot product), so it runs on every backend.
"""
from __future__ import annotations

from ..autograd import Function
from .indexing import Take, index_add
from .reduce_basic import sum as _sum
from .sorting import argsort_array


def linear_key(xp, indices, sizes):
    """The row-major linear position of each stored entry: ``indices`` (d, nnz) int64 over
    dims of ``sizes`` (d ints) -> (nnz,) int64. Sorting by it sorts the entries
    lexicographically, as ``coalesce`` orders them."""
    nnz = indices.shape[1]
    key = xp.zeros((nnz,), dtype=xp.int64, device=indices.device)
    for d, n in enumerate(sizes):
        key = key * n + indices[d, :]
    return key


def unflatten_key(xp, key, sizes):
    """:func:`linear_key`'s inverse: (nnz,) positions -> (len(sizes), nnz) int64 indices."""
    rows = []
    for n in reversed(sizes):
        rows.append(key % n)
        key = key // n
    if not rows:
        return xp.zeros((0, key.shape[0]), dtype=xp.int64, device=key.device)
    return xp.stack(rows[::-1], axis=0)


def group_max(xp, groups, V, count):
    """The largest of the values ``V`` (nnz,) in each group 0..count-1 (``groups`` (nnz,)
    int64, every group present): sort by (group, value), read each group's last entry."""
    order = argsort_array(xp, V, 0)
    order = xp.take(order, argsort_array(xp, xp.take(groups, order, axis=0), 0), axis=0)
    gs, vs = xp.take(groups, order, axis=0), xp.take(V, order, axis=0)
    every = xp.arange(count, dtype=gs.dtype, device=gs.device)
    last = xp.astype(xp.searchsorted(gs, every, side="right"), xp.int64) - 1
    return xp.take(vs, last, axis=0)


class SparseMM(Function):
    """Y = S D for a sparse (n, k) matrix S given by its stored values V (nnz,) at
    (``rows``, ``cols``) and a dense D (k, m): Y[r_e] += V_e D[c_e] over the entries e.

    dV_e = <dY[r_e], D[c_e]>; dD = S^T dY (dY's rows gathered at r_e, scaled, added at c_e).
    Duplicate entries add up, as the dense matrix they stand for."""

    def forward(self, V, D, rows=None, cols=None, n=0):
        self.V, self.D, self.rows, self.cols = V, D, rows, cols
        # dV reads D (input 1), dD reads V (input 0)
        self.saved_inputs = tuple(i for i, need in ((1, self.needs[0]), (0, self.needs[1]))
                                  if need)
        xp = self.xp
        Y = xp.zeros((n, D.shape[1]), dtype=D.dtype, device=D.device)
        return index_add(self.be, Y, 0, rows, xp.take(D, cols, axis=0) * V[:, None])

    def backward(self, dY):
        xp = self.xp
        G = xp.take(dY, self.rows, axis=0)  # (nnz, m)
        dV = xp.sum(G * xp.take(self.D, self.cols, axis=0), axis=1) if self.needs[0] else None
        dD = None
        if self.needs[1]:
            dD = xp.zeros(self.D.shape, dtype=dY.dtype, device=dY.device)
            dD = index_add(self.be, dD, 0, self.cols, G * self.V[:, None])
        return dV, dD

    def backward_graph(self, dY):
        V, D = self.inputs
        dV = _sum(Take.apply(dY, indices=self.rows, axis=0) *
                  Take.apply(D, indices=self.cols, axis=0), 1) if self.needs[0] else None
        dD = SparseMM.apply(V, dY, rows=self.cols, cols=self.rows, n=D.shape[0]) \
            if self.needs[1] else None
        return dV, dD

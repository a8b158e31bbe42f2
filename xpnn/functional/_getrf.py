"""LU factorization with partial pivoting on raw arrays (LAPACK's getf2, every matrix of a
batch at once): the kernel of :mod:`xpnn.functional.lu`, and the source of the zero-pivot
index that :mod:`xpnn.functional.decomp` puts in its singular-matrix errors, as PyTorch's
(kept apart from both so that neither imports the other)."""
from __future__ import annotations


def _swap(xp, rows, j, p):
    """The order of rows (..., m) after swapping row j with row p (..., 1)."""
    return xp.where(rows == j, p, xp.where(rows == p, j, rows))


def _permutation(xp, pivots, m):
    """perm (..., m) int64 with P^T A = A[perm], from LAPACK's 1-based ``pivots`` (..., k):
    the swaps applied in order."""
    rows = xp.arange(m, device=pivots.device)
    perm = xp.broadcast_to(rows, pivots.shape[:-1] + (m,))
    piv = xp.astype(pivots, xp.int64) - 1
    for j in range(pivots.shape[-1]):
        perm = xp.take_along_axis(perm, _swap(xp, rows, j, piv[..., j:j + 1]), axis=-1)
    return perm


def _factor(xp, A):
    """(LU, pivots int32 (..., k), perm) of A (..., m, n) by partial pivoting."""
    m, n = A.shape[-2:]
    k = min(m, n)
    dev = A.device
    rows, cols = xp.arange(m, device=dev), xp.arange(n, device=dev)
    perm = xp.broadcast_to(rows, A.shape[:-2] + (m,))
    pivots = []
    for j in range(k):
        # the first largest |entry| (LAPACK's idamax; argmax returns the first maximum)
        p = xp.argmax(xp.abs(A[..., j:, j]), axis=-1, keepdims=True) + j  # (..., 1)
        order = _swap(xp, rows, j, p)
        A = xp.take_along_axis(A, xp.broadcast_to(order[..., :, None], A.shape), axis=-2)
        perm = xp.take_along_axis(perm, order, axis=-1)
        pivots.append(p)
        d = A[..., j:j + 1, j:j + 1]
        below = (rows > j)[:, None]
        # a zero pivot has a zero column below it: dividing by 1 leaves it as LAPACK does
        l = xp.where(below, A[..., :, j:j + 1] / xp.where(d == 0, 1, d), 0)
        A = A - l * xp.where(cols > j, A[..., j:j + 1, :], 0)
        A = xp.where(below & (cols == j), l, A)
    if pivots:
        piv = xp.astype(xp.concat(pivots, axis=-1) + 1, xp.int32)
    else:
        piv = xp.zeros(A.shape[:-2] + (0,), dtype=xp.int32, device=dev)
    return A, piv, perm


def _info(xp, LU):
    """LAPACK's info (..., ) int32: the 1-based index of the first zero on U's diagonal,
    else 0."""
    zero = xp.astype(xp.linalg.diagonal(LU) == 0, xp.int32)
    if not zero.shape[-1]:
        return xp.zeros(LU.shape[:-2], dtype=xp.int32, device=LU.device)
    first = xp.astype(xp.argmax(zero, axis=-1), xp.int32) + 1
    return xp.where(xp.any(zero == 1, axis=-1), first, xp.zeros_like(first))

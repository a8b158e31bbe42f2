"""The LDL^T factorization of symmetric matrices (``torch.linalg.ldl_factor``,
``ldl_factor_ex``, ``ldl_solve``), LAPACK's sytf2 / sytrs (lower storage) over Array API
ops, with Bunch-Kaufman pivoting: 1x1 and 2x2 diagonal blocks chosen as LAPACK chooses.

As in PyTorch (2.13), neither is differentiable: a graph through them raises at backward.
The block choice at each step depends on values, so each matrix of a batch is factored
alone, with one host read of four numbers per step (LAPACK's decisions); the arithmetic
stays on the backend.

Storage, as LAPACK's: LD (*, n, n) holds D's diagonal (and the subdiagonal entry of each
2x2 block) and, below, the multipliers of L = P(1) L(1) ... P(k) L(k); the upper triangle
is zero. pivots (*, n) int32: k > 0 for a 1x1 block at step k whose row/column k was swapped
with row/column pivots[k] (1-based); a 2x2 block gets -p at both its indices, p the
row/column swapped with its second one.
"""
from __future__ import annotations

import math

from .. import backend as _B
from .. import return_types
from ..autograd import Function
from .decomp import _T, LinAlgError, _matrix
from .lu import factored_solve_args
from .shape import broadcast_shapes

_ALPHA = (1 + math.sqrt(17.0)) / 8  # Bunch and Kaufman's growth bound


def _host(xp, *values):
    """Python floats of 0-d arrays, in one transfer."""
    return [float(v) for v in _B.to_numpy(xp.stack(values))]


def _sym_swap(xp, A, i, j, start):
    """A with rows and columns i and j swapped inside its trailing block A[start:, start:]
    (LAPACK leaves the finished columns of L alone)."""
    n = A.shape[-1]
    idx = xp.arange(n, device=A.device)
    order = xp.where(idx == i, j, xp.where(idx == j, i, idx))
    S = xp.take(xp.take(A, order, axis=0), order, axis=1)
    inside = (idx >= start)[:, None] & (idx >= start)[None, :]
    return xp.where(inside, S, A)


def _ldl_one(xp, A):
    """(LD, pivots list, info) of one symmetric n x n matrix (its lower triangle read)."""
    n = A.shape[-1]
    A = xp.tril(A) + _T(xp, xp.tril(A, k=-1))  # kept symmetric: its lower triangle is LAPACK's
    rows = xp.arange(n, device=A.device)
    pivots, info, k = [0] * n, 0, 0
    while k < n:
        step = 1
        col = xp.abs(A[k + 1:, k])
        if k < n - 1:
            imax = int(_B.to_numpy(xp.argmax(col))) + k + 1
            # row imax of the trailing block, off its diagonal (symmetric: its column)
            off = xp.abs(xp.where((rows >= k) & (rows != imax), A[:, imax], 0))
            absakk, colmax, rowmax, aimax = _host(xp, xp.abs(A[k, k]), xp.max(col),
                                                  xp.max(off), xp.abs(A[imax, imax]))
        else:
            imax, (absakk,), colmax = k, _host(xp, xp.abs(A[k, k])), 0.0
        if max(absakk, colmax) == 0 or math.isnan(absakk):  # a zero column: D singular
            info = info or k + 1
            pivots[k] = k + 1
            k += 1
            continue
        if absakk >= _ALPHA * colmax:
            kp = k
        elif absakk >= _ALPHA * colmax * (colmax / rowmax):
            kp = k
        elif aimax >= _ALPHA * rowmax:
            kp = imax
        else:
            kp, step = imax, 2
        kk = k + step - 1
        if kp != kk:
            A = _sym_swap(xp, A, kk, kp, k)
        if step == 1:
            # A22 -= x x^T / d (LAPACK's syr with alpha = -1/d), then L's column x / d
            r1 = 1 / A[k, k]
            x = xp.where(rows > k, A[:, k], 0)
            A = A + x[:, None] * ((-r1) * x)[None, :]
            A = xp.where((rows > k)[:, None] & (rows == k)[None, :], (x * r1)[:, None], A)
            pivots[k] = kp + 1
        else:
            d21 = A[k + 1, k]
            d11, d22 = A[k + 1, k + 1] / d21, A[k, k] / d21
            d21 = (1 / (d11 * d22 - 1)) / d21
            below = rows > k + 1
            xk, xk1 = xp.where(below, A[:, k], 0), xp.where(below, A[:, k + 1], 0)
            wk, wk1 = d21 * (d11 * xk - xk1), d21 * (d22 * xk1 - xk)
            A = A - (xk[:, None] * wk[None, :] + xk1[:, None] * wk1[None, :])
            A = xp.where(below[:, None] & (rows == k)[None, :], wk[:, None], A)
            A = xp.where(below[:, None] & (rows == k + 1)[None, :], wk1[:, None], A)
            pivots[k] = pivots[k + 1] = -(kp + 1)
        A = xp.tril(A) + _T(xp, xp.tril(A, k=-1))
        k += step
    return xp.tril(A), pivots, info


class LDLFactor(Function):
    """(LD, pivots, info) of symmetric A; PyTorch defines no derivative."""

    def forward(self, A):
        xp, be = self.xp, self.be
        n = A.shape[-1]
        batch = tuple(A.shape[:-2])
        flat = xp.reshape(A, (-1, n, n))
        LDs, pivs, infos = [], [], []
        for i in range(flat.shape[0]):
            LD, piv, info = _ldl_one(xp, flat[i, ...])
            LDs.append(LD)
            pivs.append(piv)
            infos.append(info)
        LD = xp.reshape(xp.stack(LDs), A.shape) if LDs else xp.zeros(A.shape, dtype=A.dtype,
                                                                      device=be.device)
        pivots = xp.reshape(xp.asarray(pivs, dtype=xp.int32, device=be.device), batch + (n,))
        info = xp.reshape(xp.asarray(infos, dtype=xp.int32, device=be.device), batch)
        return LD, pivots, info

    def backward(self, *grads):
        raise RuntimeError("derivative for linalg.ldl_factor_ex is not implemented (as in "
                           "PyTorch)")


def _pivots_on_host(piv):
    return _B.to_numpy(piv.array).astype("int64").reshape(-1, piv.shape[-1])


def _swap_rows(xp, B, i, j):
    n = B.shape[-2]
    idx = xp.arange(n, device=B.device)
    order = xp.where(idx == i, j, xp.where(idx == j, i, idx))
    return xp.take(B, order, axis=-2)


def _ldl_solve_one(xp, A, ipiv, B):
    """X with (L D L^T) X = B for one factored matrix (LAPACK's sytrs, lower)."""
    n = A.shape[-1]
    rows = xp.arange(n, device=A.device)[:, None]

    def axpy_rows(B, start, col, r):
        """B[start:] -= A[start:, col] B[r] (the rows from start)."""
        a = xp.where(rows[:, 0] >= start, A[:, col], 0)
        return B - a[:, None] * B[r:r + 1, :]

    def dot_rows(B, start, col):
        """B[start:]^T A[start:, col]: one row (1, k)."""
        a = xp.where(rows[:, 0] >= start, A[:, col], 0)
        return xp.sum(a[:, None] * B, axis=0, keepdims=True)

    def set_row(B, r, value):
        return xp.where(rows == r, value, B)

    k = 0
    while k < n:  # L D Y = P^T B, forwards
        if ipiv[k] > 0:
            B = _swap_rows(xp, B, k, ipiv[k] - 1)
            B = axpy_rows(B, k + 1, k, k)
            B = set_row(B, k, B[k:k + 1, :] / A[k, k])
            k += 1
        else:
            B = _swap_rows(xp, B, k + 1, -ipiv[k] - 1)
            B = axpy_rows(axpy_rows(B, k + 2, k, k), k + 2, k + 1, k + 1)
            akm1k = A[k + 1, k]
            akm1, ak = A[k, k] / akm1k, A[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1
            bkm1, bk = B[k:k + 1, :] / akm1k, B[k + 1:k + 2, :] / akm1k
            B = set_row(set_row(B, k, (ak * bkm1 - bk) / denom), k + 1, (akm1 * bk - bkm1) / denom)
            k += 2
    k = n - 1
    while k >= 0:  # L^T X = Y, backwards, undoing the swaps
        if ipiv[k] > 0:
            B = set_row(B, k, B[k:k + 1, :] - dot_rows(B, k + 1, k))
            B = _swap_rows(xp, B, k, ipiv[k] - 1)
            k -= 1
        else:
            B = set_row(B, k, B[k:k + 1, :] - dot_rows(B, k + 1, k))
            B = set_row(B, k - 1, B[k - 1:k, :] - dot_rows(B, k + 1, k - 1))
            B = _swap_rows(xp, B, k, -ipiv[k] - 1)
            k -= 2
    return B


class LDLSolve(Function):
    """X with A X = B from (LD, pivots); PyTorch defines no derivative."""

    def forward(self, LD, Bm, pivots, host_pivots=None):
        xp = self.xp
        batch = broadcast_shapes(LD.shape[:-2], Bm.shape[:-2])
        n = LD.shape[-1]
        LDb = xp.reshape(xp.broadcast_to(LD, batch + LD.shape[-2:]), (-1, n, n))
        Bb = xp.broadcast_to(Bm, batch + Bm.shape[-2:])
        Bf = xp.reshape(Bb, (-1,) + tuple(Bm.shape[-2:]))
        piv = host_pivots
        if piv.shape[0] != LDb.shape[0]:  # pivots broadcast with LD's batch
            piv = _B.np.broadcast_to(piv.reshape(tuple(LD.shape[:-2]) + (n,)),
                                     batch + (n,)).reshape(-1, n)
        with self.be.quiet():
            X = [_ldl_solve_one(xp, LDb[i, ...], [int(p) for p in piv[i]], Bf[i, ...])
                 for i in range(LDb.shape[0])]
        return xp.reshape(xp.stack(X), Bb.shape) if X else xp.zeros(Bb.shape, dtype=Bm.dtype,
                                                                    device=self.be.device)

    def backward(self, dX):
        raise RuntimeError("derivative for linalg.ldl_solve is not implemented (as in "
                           "PyTorch)")


# -- public functions ----------------------------------------------------------------------
def ldl_factor_ex(A, *, hermitian=False, check_errors=False):
    """``(LD, pivots, info)`` of symmetric A (*, n, n) (its lower triangle read), as
    ``torch.linalg.ldl_factor_ex``: A = L D L^T with Bunch-Kaufman pivoting in LAPACK's
    storage (module docstring); info (*,) int32 is k > 0 where D[k, k] is exactly zero.
    ``hermitian`` changes nothing for real matrices. Not differentiable (as in PyTorch)."""
    op = "linalg.ldl_factor_ex"
    x = _matrix(op, A)
    if x.shape[-1] == 0:  # empty matrices: nothing to factor (PyTorch returns empties)
        xp, be, batch = x.xp, x._be, tuple(x.shape[:-2])
        zeros = [x._result(xp.zeros(shape, dtype=xp.int32, device=be.device), be)
                 for shape in (batch + (0,), batch)]
        return return_types.linalg_ldl_factor_ex(x.detach().clone(), *zeros)
    LD, pivots, info = LDLFactor.apply(x)
    if check_errors:
        _check(op, info)
    return return_types.linalg_ldl_factor_ex(LD, pivots.detach(), info.detach())


def _check(op, info):
    codes = _B.to_numpy(info.array).reshape(-1)
    for b, code in enumerate(codes):
        if code:
            where = f"(Batch element {b}): " if info.ndim else ""
            raise LinAlgError(f"{op}: {where}The factorization could not be completed because "
                              f"the block diagonal matrix D is exactly singular (D[{code},"
                              f"{code}] is zero)")


def ldl_factor(A, *, hermitian=False):
    """``(LD, pivots)``, as ``torch.linalg.ldl_factor`` (see :func:`ldl_factor_ex`); an
    exactly singular D raises :class:`LinAlgError` (PyTorch 2.13 fails there with an
    internal assert)."""
    LD, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    _check("linalg.ldl_factor", info)
    return return_types.linalg_ldl_factor(LD, pivots)


def ldl_solve(LD, pivots, B, *, hermitian=False):
    """X with A X = B for A factored by :func:`ldl_factor`, as ``torch.linalg.ldl_solve``:
    LD (*, n, n), pivots (*, n) int32, B (*, n, k); batch dims broadcast. Not
    differentiable (as in PyTorch); reads the pivots on the host (the block structure)."""
    a, piv, b = factored_solve_args("linalg.ldl_solve", "LD", LD, pivots, B,
                                    exact_pivots=True)
    broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return LDLSolve.apply(a, b, piv, host_pivots=_pivots_on_host(piv))

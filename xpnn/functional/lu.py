"""LU factorization with partial pivoting (``torch.linalg.lu_factor``, ``lu``, ``lu_solve``,
``torch.lu_unpack``), written over Array API ops: the standard's ``linalg`` extension has
no LU. Each is one Function with its backward written out (real matrices, batched over
leading dims).

The factorization (in :mod:`._getrf`, which decomp's singular-matrix errors use too) is
LAPACK's getf2 column by column, every matrix of the batch at once:
at step j the row of the first largest |entry| of column j at or below the diagonal is
swapped up (a take along the rows), the entries below the pivot are divided by it (the
column of L) and the trailing block gets the rank-1 update. Pivots are LAPACK's: 1-based
row numbers, int32, one per step (min(m, n) of them); A = P L U with P the product of the
swaps. A zero pivot leaves its column as it is (all zeros) and shows in ``info``.

Backward, for a square A = P L U with incoming dL (strictly lower) and dU (upper):
dA = P L^-T (tril(L^T dL, -1) + triu(dU U^T)) U^-T. A wide A = P L [U1 | U2] takes that
for the first m columns with dL - L^-T dU2 U2^T, and P L^-T dU2 for the rest; a tall
A = P [L1; L2] U takes it for the first n rows with dU - L2^T dL2 U^-T, and P dL2 U^-T for
the rest (U2 = L^-1 P^T A2 and L2 = (P^T A)_2 U^-1 differentiated). Triangular solves are
substitutions, so a singular U gives inf/NaN as PyTorch's, never an error.
"""
from __future__ import annotations

import warnings

from .. import backend as _B
from .. import return_types
from .._errors import ArgumentError, DtypeError, ShapeError
from ..autograd import Function, as_tensor
from ._getrf import _factor, _info, _permutation
from .decomp import _T, _matrix
from .elementwise import unbroadcast
from .shape import broadcast_shapes, swapaxes


# -- array helpers (raw arrays of one backend) ---------------------------------------------
def _trsolve(xp, T, B, upper, unit=False):
    """X with T X = B for triangular T (..., n, n) and B (..., n, r), by substitution one
    row of X per step (every matrix of the batch at once); only T's ``upper`` (or lower)
    triangle is read, its diagonal taken as ones with ``unit``."""
    n = T.shape[-1]
    rows = xp.arange(n, device=T.device)[:, None]
    X = xp.zeros(B.shape, dtype=B.dtype, device=B.device)
    for i in (reversed(range(n)) if upper else range(n)):
        # rows of X not solved yet (and row i) are still zero, so the whole row of T can
        # multiply X: only the triangle's entries off the diagonal count
        x = B[..., i:i + 1, :] - T[..., i:i + 1, :] @ X
        if not unit:
            x = x / T[..., i:i + 1, i:i + 1]
        X = xp.where(rows == i, x, X)
    return X


def _take_rows(xp, X, index):
    """X's rows in the order ``index`` (..., m) (batch dims broadcast with X's)."""
    batch = broadcast_shapes(X.shape[:-2], index.shape[:-1])
    X = xp.broadcast_to(X, batch + X.shape[-2:])
    return xp.take_along_axis(X, xp.broadcast_to(index[..., :, None], X.shape), axis=-2)


def _unpack(xp, LU):
    """(L (..., m, k) unit lower, U (..., k, n) upper) of a compact LU (..., m, n)."""
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = xp.tril(LU[..., :, :k], k=-1) + xp.eye(m, k, dtype=LU.dtype, device=LU.device)
    return L, xp.triu(LU[..., :k, :])


def _square_grad(xp, L, U, dL, dU):
    """dA of A = L U (square) for incoming dL, dU: L^-T (tril(L^T dL, -1) + triu(dU U^T))
    U^-T."""
    M = xp.tril(_T(xp, L) @ dL, k=-1) + xp.triu(dU @ _T(xp, U))
    Y = _trsolve(xp, _T(xp, L), M, upper=True, unit=True)
    return _T(xp, _trsolve(xp, U, _T(xp, Y), upper=True))  # Y U^-T = (U^-1 Y^T)^T


class LUFactor(Function):
    """(LU, pivots) with A = P L U (module docstring); dA from dLU's two triangles."""

    saved_inputs = ()
    saves_output = True

    def forward(self, A):
        xp = self.xp
        LU, pivots, perm = _factor(xp, A)
        if self.record:
            self.LU, self.perm = LU, perm
        return LU, pivots

    def backward(self, dLU, dpivots):
        xp, LU = self.xp, self.LU
        m, n = LU.shape[-2:]
        k = min(m, n)
        L, U = _unpack(xp, LU)
        dL, dU = xp.tril(dLU[..., :, :k], k=-1), xp.triu(dLU[..., :k, :])
        with self.be.quiet():  # a singular U: inf/NaN, as PyTorch
            if m < n:  # A = P L [U1 | U2]
                U1, U2, dU1, dU2 = U[..., :m], U[..., m:], dU[..., :m], dU[..., m:]
                G2 = _trsolve(xp, _T(xp, L), dU2, upper=True, unit=True)  # L^-T dU2
                G1 = _square_grad(xp, L, U1, dL - G2 @ _T(xp, U2), dU1)
                G = xp.concat([G1, G2], axis=-1)
            elif m > n:  # A = P [L1; L2] U
                L1, L2, dL1, dL2 = L[..., :n, :], L[..., n:, :], dL[..., :n, :], dL[..., n:, :]
                G2 = _T(xp, _trsolve(xp, U, _T(xp, dL2), upper=True))  # dL2 U^-T
                G1 = _square_grad(xp, L1, U, dL1, dU - _T(xp, L2) @ G2)
                G = xp.concat([G1, G2], axis=-2)
            else:
                G = _square_grad(xp, L, U, dL, dU)
        return _take_rows(xp, G, xp.argsort(self.perm, axis=-1))  # P G: rows back in place


def _solve_left(xp, LU, perm, B, adjoint):
    """X with A X = B (``adjoint``: A^T X = B), A = P L U square."""
    L, U = xp.tril(LU, k=-1), LU
    if not adjoint:  # X = U^-1 L^-1 P^T B
        Y = _trsolve(xp, L, _take_rows(xp, B, perm), upper=False, unit=True)
        return _trsolve(xp, U, Y, upper=True)
    Y = _trsolve(xp, _T(xp, U), B, upper=False)  # X = P L^-T U^-T B
    return _take_rows(xp, _trsolve(xp, _T(xp, L), Y, upper=True, unit=True),
                      xp.argsort(perm, axis=-1))


class LUSolve(Function):
    """X with A X = B (``adjoint``: A^T X = B) for A = P L U given as (LU, pivots); batch
    dims broadcast. dB = A^-T dX (A^-1 dX), dA = -dB X^T (-X dB^T), and dLU holds
    P^T dA U^T below the diagonal (dL) and L^T P^T dA on and above it (dU)."""

    saved_inputs = (0, 2)
    saves_output = True

    def forward(self, LU, Bm, pivots, adjoint=False):
        xp = self.xp
        batch = broadcast_shapes(LU.shape[:-2], Bm.shape[:-2], pivots.shape[:-1])
        self.shapes = (LU.shape, Bm.shape)
        n = LU.shape[-1]
        self.LU = xp.broadcast_to(LU, batch + LU.shape[-2:])
        self.perm = _permutation(xp, xp.broadcast_to(pivots, batch + pivots.shape[-1:]), n)
        self.adjoint = adjoint
        with self.be.quiet():
            self.X = _solve_left(xp, self.LU, self.perm,
                                 xp.broadcast_to(Bm, batch + Bm.shape[-2:]), adjoint)
        return self.X

    def backward(self, dX):
        xp, LU, X, adjoint = self.xp, self.LU, self.X, self.adjoint
        with self.be.quiet():
            dB = _solve_left(xp, LU, self.perm, dX, not adjoint)
        dLU = None
        if self.needs[0]:
            dA = -(dB @ _T(xp, X)) if not adjoint else -(X @ _T(xp, dB))
            PtdA = _take_rows(xp, dA, self.perm)
            L, U = _unpack(xp, LU)
            dLU = xp.tril(PtdA @ _T(xp, U), k=-1) + xp.triu(_T(xp, L) @ PtdA)
            dLU = unbroadcast(xp, dLU, self.shapes[0])
        return dLU, (unbroadcast(xp, dB, self.shapes[1]) if self.needs[1] else None), None


# -- public functions (torch's names and signatures) ----------------------------------------
def _no_pivot(op, pivot):
    if not pivot:
        raise ArgumentError(f"{op}: LU without pivoting is not implemented on the CPU (xpnn "
                            "has only partial pivoting, on every backend)")


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """``(LU, pivots, info)``, as ``torch.linalg.lu_factor_ex``: A (*, m, n) = P L U with
    L (unit lower) and U packed in LU (*, m, n), pivots (*, min(m, n)) int32 (1-based
    LAPACK row swaps) and info (*,) int32, the 1-based index of U's first zero diagonal
    entry (0: none). LU is differentiable, for any m and n."""
    op = "linalg.lu_factor_ex"
    x = _matrix(op, A, square=False)
    _no_pivot(op, pivot)
    LU, pivots = LUFactor.apply(x)
    info = x._result(_info(x.xp, LU.array), x._be)
    if check_errors:
        _check(op, info)
    return return_types.linalg_lu_factor_ex(LU, pivots.detach(), info)


def _check(op, info, message="U[{i},{i}] is zero and using it on lu_solve would result in "
           "a division by zero"):
    """PyTorch's error for a nonzero ``info`` (one host read; skipped, as by other
    factorizations, where the arrays live on a device: see DESIGN, no host syncs)."""
    if not info._be.on_host or not info.shape and int(info.item()) == 0:
        return
    codes = _B.to_numpy(info.array).reshape(-1)
    for b, code in enumerate(codes):
        if code:
            where = f"(Batch element {b}): " if info.ndim else ""
            raise RuntimeError(f"{op}: {where}{message.format(i=int(code))}. If you still "
                               "want to perform the factorization, consider calling "
                               "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def lu_factor(A, *, pivot=True):
    """``(LU, pivots)``, as ``torch.linalg.lu_factor`` (see :func:`lu_factor_ex`); a zero
    on U's diagonal raises RuntimeError where the arrays are in host memory (use
    lu_factor_ex or lu to factor singular matrices)."""
    _no_pivot("linalg.lu_factor", pivot)
    LU, pivots, info = lu_factor_ex(A)
    _check("linalg.lu_factor", info)
    return return_types.linalg_lu_factor(LU, pivots)


def _empty(like):
    return like._result(like.xp.zeros((0,), dtype=like.dtype, device=like._be.device),
                        like._be)


def _perm_matrix(LU, pivots):
    """P (*, m, m) in LU's dtype, from the pivots: A = P L U."""
    xp, be = LU.xp, LU._be
    m = LU.shape[-2]
    perm = _permutation(xp, pivots.array, m)
    # P[r, i] = 1 where row i of L U is row r of A (perm[i] == r)
    P = perm[..., None, :] == xp.arange(m, device=be.device)[:, None]
    return LU._result(xp.astype(P, LU.dtype), be)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """``(P, L, U)`` from ``lu_factor``'s output, as ``torch.lu_unpack``: P (*, m, m), L
    (*, m, k), U (*, k, n) with k = min(m, n); L and U are differentiable in LU_data. A part
    not unpacked is an empty tensor."""
    from .rearrange import tril, triu
    op = "lu_unpack"
    LU = _matrix(op, LU_data, square=False)
    piv = as_tensor(LU_pivots, like=LU, op=op)
    m, n = LU.shape[-2:]
    k = min(m, n)
    if _B.dtype_name(piv.dtype) not in ("int32", "int64"):
        raise DtypeError(f"{op}: LU_pivots is expected to be a contiguous tensor of torch.int32 "
                         f"dtype, got {_B.dtype_name(piv.dtype)}")
    if tuple(piv.shape) != tuple(LU.shape[:-2]) + (k,):
        raise ShapeError(f"{op}: LU_pivots of shape {tuple(piv.shape)} does not fit LU_data of "
                         f"shape {tuple(LU.shape)} (expected {tuple(LU.shape[:-2]) + (k,)})")
    P = _perm_matrix(LU, piv) if unpack_pivots else _empty(LU)
    if not unpack_data:
        return return_types.lu_unpack(P, _empty(LU), _empty(LU))
    xp, be = LU.xp, LU._be
    eye = LU._result(xp.eye(m, k, dtype=LU.dtype, device=be.device), be)
    return return_types.lu_unpack(P, tril(LU[..., :, :k], -1) + eye, triu(LU[..., :k, :]))


def lu(A, *, pivot=True):
    """``(P, L, U)`` with A = P L U, as ``torch.linalg.lu``: for A (*, m, n) and
    k = min(m, n), P (*, m, m) a permutation, L (*, m, k) unit lower, U (*, k, n) upper;
    singular matrices too. L and U are differentiable."""
    _no_pivot("linalg.lu", pivot)
    LU, pivots, _ = lu_factor_ex(A)
    return return_types.linalg_lu(*lu_unpack(LU, pivots))


def factored_solve_args(op, name, F, pivots, B, left=True, exact_pivots=False):
    """The checks of a solve from a factorization (lu_solve, ldl_solve), with PyTorch's
    messages: ``F`` (*, n, n) and ``B`` of one dtype, integer pivots (*, n) (``exact_pivots``:
    F's batch shape exactly), ``B`` (*, n, k) (``left=False``: (*, k, n)).

    Returns:
        (F, pivots, B) as Tensors on F's backend.
    """
    a = _matrix(op, F)
    b = as_tensor(B, like=a, op=op)
    piv = as_tensor(pivots, like=a, op=op)
    n = a.shape[-1]
    if b.dtype != a.dtype:
        raise DtypeError(f"{op}: expected {name} and B to have the same dtype, but found "
                         f"{name} of type {_B.dtype_name(a.dtype)} and B of type "
                         f"{_B.dtype_name(b.dtype)}")
    want = tuple(a.shape[:-1]) if exact_pivots else f"(*, {n})"
    fits = tuple(piv.shape) == want if exact_pivots else piv.ndim >= 1 and piv.shape[-1] == n
    if _B.dtype_name(piv.dtype) not in ("int32", "int64") or not fits:
        raise ShapeError(f"{op}: pivots must be an int32 tensor of shape {want} for {name} of "
                         f"shape {tuple(a.shape)}, got {_B.dtype_name(piv.dtype)} of shape "
                         f"{tuple(piv.shape)}")
    if b.ndim < 2 or b.shape[-2 if left else -1] != n:
        raise ShapeError(f"{op}: Incompatible shapes of A and B for the equation "
                         f"{'AX = B' if left else 'XA = B'} (shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)})")
    return a, piv, b


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """X with A X = B, as ``torch.linalg.lu_solve``, for A = P L U given by ``lu_factor``:
    ``adjoint`` solves A^T X = B, ``left=False`` X A = B (or X A^T = B).

    Args:
        LU: (*, n, n) from lu_factor; pivots: (*, n) int32. B: (*, n, k) (``left=False``:
            (*, k, n)); batch dims broadcast.
    Returns:
        X, B's shape after broadcasting; differentiable in LU and B.
    """
    a, piv, b = factored_solve_args("linalg.lu_solve", "LU", LU, pivots, B, left)
    broadcast_shapes(a.shape[:-2], b.shape[:-2], piv.shape[:-1])
    if left:
        return LUSolve.apply(a, b, piv, adjoint=bool(adjoint))
    # X op(A) = B  <=>  op(A)^T X^T = B^T
    Xt = LUSolve.apply(a, swapaxes(b, -2, -1), piv, adjoint=not adjoint)
    return swapaxes(Xt, -2, -1)


def lu_solve_deprecated(b, LU_data, LU_pivots):
    """X with A X = b, as the deprecated ``torch.lu_solve`` (b first)."""
    warnings.warn("torch.lu_solve is deprecated in favor of torch.linalg.lu_solve and will be "
                  "removed in a future PyTorch release (note that torch.linalg.lu_solve takes "
                  "its arguments in the order LU, pivots, B)", UserWarning, stacklevel=2)
    return lu_solve(LU_data, LU_pivots, b)


def lu_deprecated(A, pivot=True, get_infos=False, out=None):
    """``(LU, pivots)`` (and ``infos`` with ``get_infos``), as the deprecated ``torch.lu``:
    without get_infos a singular matrix raises, as lu_factor."""
    warnings.warn("torch.lu is deprecated in favor of torch.linalg.lu_factor / "
                  "torch.linalg.lu_factor_ex and will be removed in a future PyTorch release.",
                  UserWarning, stacklevel=2)
    if out is not None:
        raise ArgumentError("lu: out= is not supported by xpnn")
    _no_pivot("lu", pivot)
    LU, pivots, info = lu_factor_ex(A)
    if get_infos:
        return LU, pivots, info
    _check("lu", info)
    return LU, pivots

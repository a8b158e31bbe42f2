"""Matrix inverses and factorizations (``torch.linalg``'s inv, det, slogdet, solve,
cholesky, qr, eigh, svd, pinv), each one Function over the backend's Array API ``linalg``
extension, with the backward written out (real matrices; batched over leading dims).

References for the backward formulas: M. Giles, "An extended collection of matrix
derivative results for forward and reverse mode AD" (2008) for inv, det, solve;
I. Murray, "Differentiation of the Cholesky decomposition" (2016); J. Townsend,
"Differentiating the singular value decomposition" (2016); for QR, the m >= n formula of
S. Walter and L. Lehmann (2018), taken to wide matrices by splitting A = [X | Y]. Eigen- and
singular-vector gradients are defined for distinct values only: repeated ones give inf/NaN,
as in PyTorch.

A singular (or, for cholesky, not positive-definite) input raises :class:`LinAlgError` on
backends whose library reports it (NumPy, array-api-strict, PyTorch); CuPy reports nothing
without a device sync and gives NaN instead.

Here: inv, det, slogdet, solve, cholesky. qr, eigh/eigvalsh, svd/svdvals and pinv are in
decomp_orth.py; LinAlgError, the result tuples and the shared helpers in decomp_base.py; all
re-exported here.
"""
from __future__ import annotations

from .. import backend as _B
from .._errors import DtypeError, ShapeError
from ..autograd import Function, as_tensor
# re-exported where decomp.py held them before the split (linalg.py, lu.py, ldl.py, matrix.py)
from .decomp_base import (EighResult, LinAlgError, QRResult, SlogdetResult,  # noqa: F401
                          SVDResult, _eye, _first_singular, _matrix,
                          _not_positive_definite, _reported, _T, _zero_pivot_message)
from .decomp_orth import (QR, SVD, Eigh, Pinv, _copyltu, _tolerances, _uplo,  # noqa: F401
                          eigh, eigvalsh, pinv, qr, svd, svdvals)
from .elementwise import unbroadcast
from .shape import broadcast_shapes, squeeze, swapaxes, unsqueeze


class Inv(Function):
    """Y = A^-1; dA = -Y^T dY Y^T."""

    saved_inputs = ()
    saves_output = True

    def forward(self, A):
        try:
            with _reported(self.be, "linalg.inv"):
                self.Y = self.xp.linalg.inv(A)
        except LinAlgError:  # PyTorch's message: which matrix, and its zero pivot
            raise LinAlgError(_zero_pivot_message(self.xp, A)) from None
        return self.Y

    def backward(self, dY):
        Yt = _T(self.xp, self.Y)
        return -(Yt @ dY @ Yt)


class Det(Function):
    """det(A); dA = dY adj(A)^T, the adjugate taken from the SVD A = U S V^T as
    det(U) det(V^T) U adj(S) V^T (adj(S)_ii: the product of the other singular values), so
    that a singular A has its gradient too."""

    def forward(self, A):
        self.A = A
        return self.xp.linalg.det(A)

    def backward(self, dY):
        xp, la = self.xp, self.xp.linalg
        U, S, Vh = la.svd(self.A, full_matrices=False)
        n = S.shape[-1]
        others = xp.where(xp.astype(_eye(xp, n, S), xp.bool), xp.ones_like(S)[..., None, :],
                          S[..., None, :])
        adj = xp.prod(others, axis=-1)  # (..., n)
        scale = dY * la.det(U) * la.det(Vh)
        return scale[..., None, None] * ((U * adj[..., None, :]) @ Vh)


class SlogDet(Function):
    """(sign, log|det A|); d log|det A| = A^-T (the sign has no gradient)."""

    def forward(self, A):
        self.A = A
        sign, logabs = self.xp.linalg.slogdet(A)
        return sign, logabs

    def backward(self, dsign, dlog):
        xp = self.xp
        with _reported(self.be, "linalg.slogdet: The backward could not be computed because "
                       "the input matrix is singular."):
            inv = xp.linalg.inv(self.A)
        return dlog[..., None, None] * _T(xp, inv)


class Solve(Function):
    """X = A^-1 B for A (..., n, n), B (..., n, k), batch dims broadcast; dB = A^-T dX,
    dA = -dB X^T."""

    def forward(self, A, Bm):
        xp = self.xp
        batch = broadcast_shapes(A.shape[:-2], Bm.shape[:-2])
        self.shapes = (A.shape, Bm.shape)
        self.A = xp.broadcast_to(A, batch + A.shape[-2:])
        Bb = xp.broadcast_to(Bm, batch + Bm.shape[-2:])
        try:
            with _reported(self.be, "torch.linalg.solve"):
                self.X = xp.linalg.solve(self.A, Bb)
        except LinAlgError:  # PyTorch's message, naming the singular matrix of a batch
            where = _first_singular(xp, self.A)[0]
            raise LinAlgError(f"torch.linalg.solve: {where}The solver failed because the "
                              "input matrix is singular.") from None
        return self.X

    def backward(self, dX):
        xp = self.xp
        with _reported(self.be, "linalg.solve: The backward solver failed because the input "
                       "matrix is singular."):
            dB = xp.linalg.solve(_T(xp, self.A), dX)
        dA = unbroadcast(xp, -(dB @ _T(xp, self.X)), self.shapes[0]) if self.needs[0] else None
        return dA, (unbroadcast(xp, dB, self.shapes[1]) if self.needs[1] else None)


class Cholesky(Function):
    """L with A = L L^T (the lower triangle of A read); dA = L^-T Phi(L^T dL) L^-1, Phi
    taking the lower triangle and halving the diagonal, symmetrized (PyTorch's gradient)."""

    saved_inputs = ()
    saves_output = True

    def forward(self, A, op="linalg.cholesky"):
        try:
            with _reported(self.be, op):
                self.L = self.xp.linalg.cholesky(A)
        except LinAlgError:  # PyTorch's message: which matrix, and its failing minor
            raise LinAlgError(_not_positive_definite(op, A)) from None
        return self.L

    def backward(self, dL):
        xp, L = self.xp, self.L
        P = xp.tril(_T(xp, L) @ dL)
        Phi = 0.5 * (P + _T(xp, xp.tril(P, k=-1)))
        Linv = xp.linalg.inv(L)
        return _T(xp, Linv) @ Phi @ Linv


# -- public functions (torch.linalg's names and signatures) ---------------------------------
def inv(A):
    """The inverse of square matrices (..., n, n), as ``torch.linalg.inv``; a singular one
    raises :class:`LinAlgError`."""
    return Inv.apply(_matrix("linalg.inv", A))


def det(A):
    """The determinant of square matrices (..., n, n) -> (...), as ``torch.linalg.det``;
    differentiable at singular matrices too (through the adjugate)."""
    return Det.apply(_matrix("linalg.det", A))


def slogdet(A):
    """``(sign, logabsdet)`` of det(A), as ``torch.linalg.slogdet``: log|det A| without
    overflow; the sign (-1, 0 or 1) has no gradient."""
    sign, logabs = SlogDet.apply(_matrix("linalg.slogdet", A))
    return SlogdetResult(sign.detach(), logabs)


def solve(A, B, *, left=True):
    """X with A X = B (``left=False``: X A = B), as ``torch.linalg.solve``.

    Args:
        A: (*, n, n), floating.
        B: (*, n, k), or a batch of vectors (*, n) when it is 1-D or has A's shape without
            its last dim; batch dims broadcast. Its dtype must be A's.
    Returns:
        X, B's shape after broadcasting. A singular A raises :class:`LinAlgError`.
    """
    op = "linalg.solve"
    a = _matrix(op, A)
    b = as_tensor(B, like=a, op=op)
    if b.dtype != a.dtype:
        raise DtypeError(f"{op}: expected A and B to have the same dtype, but found A of type "
                        f"{_B.dtype_name(a.dtype)} and B of type {_B.dtype_name(b.dtype)}")
    vector = left and (b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1]))
    if vector:
        b = unsqueeze(b, -1)
    elif not left and b.ndim >= 2:
        a, b = swapaxes(a, -2, -1), swapaxes(b, -2, -1)
    n = a.shape[-1]
    if b.ndim < 2 or b.shape[-2] != n:
        eq = "AX = B" if left else "XA = B"
        got = b.shape[-2:] if b.ndim >= 2 else (b.shape[0], 1)
        raise ShapeError(f"{op}: incompatible shapes of A and B for the equation {eq} "
                         f"({n}x{n} and {got[0]}x{got[1]}; shapes {tuple(A.shape)} and "
                         f"{tuple(B.shape)})")
    broadcast_shapes(a.shape[:-2], b.shape[:-2])
    X = Solve.apply(a, b)
    if vector:
        return squeeze(X, -1)
    return X if left else swapaxes(X, -2, -1)


def cholesky(A, *, upper=False):
    """The Cholesky factor of symmetric positive-definite matrices (..., n, n), as
    ``torch.linalg.cholesky``: lower L with A = L L^T (only A's lower triangle is read), or
    U with A = U^T U with ``upper``. A matrix that is not positive-definite raises
    :class:`LinAlgError`. With ``upper`` only the upper triangle is read, as in PyTorch."""
    return _cholesky(A, upper, "linalg.cholesky")


def _cholesky(A, upper, op):
    x = _matrix(op, A)
    if upper:  # U^T U = A from A's upper triangle: the lower factor of A^T, transposed
        return swapaxes(Cholesky.apply(swapaxes(x, -2, -1), op=op), -2, -1)
    return Cholesky.apply(x, op=op)

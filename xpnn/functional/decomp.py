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
"""
from __future__ import annotations

import contextlib

from .. import backend as _B
from .. import return_types
from .._errors import ArgumentError, DtypeError, ShapeError
from ..autograd import Function, as_tensor, no_grad
from ._getrf import _factor, _info
from .elementwise import unbroadcast
from .shape import broadcast_shapes, squeeze, swapaxes, unsqueeze


class LinAlgError(RuntimeError):
    """A matrix function failed on its input (``torch.linalg.LinAlgError``): a singular
    matrix given to inv or solve, a matrix that is not positive-definite given to cholesky."""


SlogdetResult = return_types.linalg_slogdet
QRResult = return_types.linalg_qr
EighResult = return_types.linalg_eigh
SVDResult = return_types.linalg_svd


@contextlib.contextmanager
def _reported(be, message):
    """Turn the library's own linear-algebra error into :class:`LinAlgError`."""
    errors = (_B.np.linalg.LinAlgError,) + tuple(
        e for e in (getattr(getattr(be.lib, "linalg", None), "LinAlgError", None),)
        if isinstance(e, type))
    try:
        yield
    except errors:
        raise LinAlgError(message) from None


def _zero_pivot_message(xp, A):
    """linalg.inv's error for a singular A, as PyTorch words it: the batch element and the
    1-based index of the first zero pivot of its LU factorization (read on the host: the
    library has already reported the failure there)."""
    info = _B.to_numpy(_info(xp, _factor(xp, A)[0])).reshape(-1)
    bad = [(b, int(code)) for b, code in enumerate(info) if code] or \
        [(0, A.shape[-1])]  # singular to rounding only: the LU has no exact zero
    b, code = bad[0]
    where = f"(Batch element {b}): " if A.ndim > 2 else ""
    return (f"linalg.inv: {where}The diagonal element {code} is zero, the inversion could "
            "not be completed because the input matrix is singular.")


def _T(xp, X):
    return xp.matrix_transpose(X)


def _eye(xp, n, like):
    return xp.eye(n, dtype=like.dtype, device=like.device)


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
        with _reported(self.be, "linalg.solve: The solver failed because the input matrix "
                       "is singular."):
            self.X = xp.linalg.solve(self.A, Bb)
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

    def forward(self, A):
        with _reported(self.be, "linalg.cholesky: The factorization could not be completed "
                       "because the input is not positive-definite."):
            self.L = self.xp.linalg.cholesky(A)
        return self.L

    def backward(self, dL):
        xp, L = self.xp, self.L
        P = xp.tril(_T(xp, L) @ dL)
        Phi = 0.5 * (P + _T(xp, xp.tril(P, k=-1)))
        Linv = xp.linalg.inv(L)
        return _T(xp, Linv) @ Phi @ Linv


def _copyltu(xp, M):
    """The symmetric matrix whose lower triangle is that of M."""
    return xp.tril(M) + _T(xp, xp.tril(M, k=-1))


class QR(Function):
    """A = Q R (mode "reduced" or "complete"). For m >= n: with M = R dR^T - dQ^T Q,
    dA = (dQ + Q copyltu(M)) R^-T; a wide A = [X | Y] (m < n) splits R = [U | V] and takes
    that formula for X (with dQ + Y dV^T) and Q dV for Y."""

    saved_inputs = ()
    saves_output = True

    def forward(self, A, mode="reduced"):
        self.mode, self.shape = mode, A.shape
        if A.shape[-2] < A.shape[-1]:  # a wide A: backward reads its columns past m
            self.A, self.saved_inputs = A, (0,)
        self.Q, self.R = self.xp.linalg.qr(A, mode=mode)
        return self.Q, self.R

    def backward(self, dQ, dR):
        xp, Q, R = self.xp, self.Q, self.R
        m, n = self.shape[-2:]
        if self.mode == "complete" and m > n:
            raise RuntimeError("linalg.qr: The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        if m >= n:
            return self._square(Q, R, dQ, dR)
        Y, dV = self.A[..., m:], dR[..., m:]
        dX = self._square(Q, R[..., :m], dQ + Y @ _T(xp, dV), dR[..., :m])
        return xp.concat([dX, Q @ dV], axis=-1)

    def _square(self, Q, R, dQ, dR):
        xp = self.xp
        M = R @ _T(xp, dR) - _T(xp, dQ) @ Q
        b = dQ + Q @ _copyltu(xp, M)
        return _T(xp, xp.linalg.solve(R, _T(xp, b)))


class Eigh(Function):
    """(w, V) with A = V diag(w) V^T, w ascending, from the lower (or upper) triangle of A;
    dA = V (diag(dw) + skew(V^T dV) / (w_j - w_i)) V^T, skew(X) = (X - X^T) / 2."""

    saved_inputs = ()
    saves_output = True

    def forward(self, A, upper=False):
        xp = self.xp
        if upper:
            S = xp.triu(A) + _T(xp, xp.triu(A, k=1))
        else:
            S = xp.tril(A) + _T(xp, xp.tril(A, k=-1))
        self.w, self.V = xp.linalg.eigh(S)
        return self.w, self.V

    def backward(self, dw, dV):
        xp, w, V = self.xp, self.w, self.V
        VdV = _T(xp, V) @ dV
        E = w[..., None, :] - w[..., :, None] + _eye(xp, w.shape[-1], w)
        inner = 0.5 * (VdV - _T(xp, VdV)) / E + dw[..., None, :] * _eye(xp, w.shape[-1], w)
        return V @ inner @ _T(xp, V)


class SVD(Function):
    """A = U diag(S) V^T (Townsend 2016). With F_ij = 1/(s_j^2 - s_i^2) off the diagonal:
    dA = U [F o (U^T dU - dU^T U)] S V^T + U diag(dS) V^T + U S [F o (V^T dV - dV^T V)] V^T
    + (I - U U^T) dU S^-1 V^T + U S^-1 dV^T (I - V V^T). With full_matrices the columns past
    min(m, n) get no gradient (they are any basis of the complement), as in PyTorch."""

    saved_inputs = ()
    saves_output = True

    def forward(self, A, full_matrices=True):
        self.U, self.S, self.Vh = self.xp.linalg.svd(A, full_matrices=full_matrices)
        return self.U, self.S, self.Vh

    def backward(self, dU, dS, dVh):
        xp, S = self.xp, self.S
        k = S.shape[-1]
        U, Vh, dU, dVh = self.U[..., :k], self.Vh[..., :k, :], dU[..., :k], dVh[..., :k, :]
        m, n = U.shape[-2], Vh.shape[-1]
        I = _eye(xp, k, S)
        S2 = S * S
        gap = S2[..., None, :] - S2[..., :, None]
        F = (1 - I) / (gap + I)
        Ut, V, dV = _T(xp, U), _T(xp, Vh), _T(xp, dVh)
        UdU, VdV = Ut @ dU, Vh @ dV
        inner = (F * (UdU - _T(xp, UdU))) * S[..., None, :] + I * dS[..., None, :] + \
            S[..., :, None] * (F * (VdV - _T(xp, VdV)))
        dA = U @ inner @ Vh
        if m > k:  # the part of dU outside span(U)
            dA = dA + ((dU - U @ UdU) / S[..., None, :]) @ Vh
        if n > k:  # the part of dV outside span(V)
            dA = dA + (U / S[..., None, :]) @ _T(xp, dV - V @ VdV)
        return dA


class Pinv(Function):
    """The pseudo-inverse P = V diag(1/s) U^T over the singular values above the cutoff
    max(atol, rtol * s_max) (|eigenvalues| of eigh for ``hermitian``); for a constant rank
    (Golub and Pereyra 1973), dA = -P^T dP P^T + (I - A P) dP^T P P^T + P^T P dP^T (I - P A).
    """

    saves_output = True

    def forward(self, A, atol=0.0, rtol=0.0, hermitian=False):
        xp = self.xp
        self.A = A
        if hermitian:
            w, V = xp.linalg.eigh(xp.tril(A) + _T(xp, xp.tril(A, k=-1)))
            mag = xp.abs(w)
            keep = mag > xp.maximum(rtol * xp.max(mag, axis=-1, keepdims=True), atol) \
                if w.shape[-1] else mag > 0
            winv = xp.where(keep, 1 / xp.where(keep, w, xp.ones_like(w)), xp.zeros_like(w))
            self.P = (V * winv[..., None, :]) @ _T(xp, V)
        else:
            U, S, Vh = xp.linalg.svd(A, full_matrices=False)
            keep = S > xp.maximum(rtol * xp.max(S, axis=-1, keepdims=True), atol) \
                if S.shape[-1] else S > 0
            sinv = xp.where(keep, 1 / xp.where(keep, S, xp.ones_like(S)), xp.zeros_like(S))
            self.P = (_T(xp, Vh) * sinv[..., None, :]) @ _T(xp, U)
        return self.P

    def backward(self, G):
        xp, A, P = self.xp, self.A, self.P
        Pt, Gt = _T(xp, P), _T(xp, G)
        m, n = A.shape[-2:]
        ImAP = _eye(xp, m, A) - A @ P
        InPA = _eye(xp, n, A) - P @ A
        return -(Pt @ G @ Pt) + ImAP @ Gt @ P @ Pt + Pt @ P @ Gt @ InPA


# -- public functions (torch.linalg's names and signatures) ---------------------------------
def _matrix(op, A, square=True, floating=True):
    """``A`` as a (floating, unless not ``floating``) Tensor of (batches of) matrices, or an
    error naming ``op``."""
    x = as_tensor(A, op=op)
    if floating and not x._be.is_floating(x.dtype):
        raise DtypeError(f"{op}: expected a floating point tensor as input, got "
                        f"{_B.dtype_name(x.dtype)}")
    if x.ndim < 2:
        raise ShapeError(f"{op}: the input tensor A must have at least 2 dimensions, got "
                         f"shape {x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"{op}: A must be batches of square matrices, but they are "
                         f"{x.shape[-2]} by {x.shape[-1]} matrices (shape {x.shape})")
    return x


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
    U = L^T with ``upper``. A matrix that is not positive-definite raises
    :class:`LinAlgError`."""
    L = Cholesky.apply(_matrix("linalg.cholesky", A))
    return swapaxes(L, -2, -1) if upper else L


def qr(A, mode="reduced"):
    """``(Q, R)`` with A = Q R, as ``torch.linalg.qr``: for A (*, m, n) and k = min(m, n),
    "reduced" gives Q (*, m, k), R (*, k, n); "complete" Q (*, m, m), R (*, m, n) (not
    differentiable when m > n); "r" an empty Q and R alone, without a gradient."""
    x = _matrix("linalg.qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"linalg.qr: qr received unrecognized mode '{mode}' but expected one "
                         "of 'reduced' (default), 'r', or 'complete'")
    if mode == "r":
        with no_grad():
            R = QR.apply(x, mode="reduced")[1]
        return QRResult(x._result(x.xp.zeros((0,), dtype=x.dtype, device=x._be.device),
                                  x._be), R)
    return QRResult(*QR.apply(x, mode=mode))


def _uplo(op, UPLO):
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"{op}: expected UPLO argument to be 'L' or 'U', but got {UPLO!r}")
    return UPLO == "U"


def eigh(A, UPLO="L"):
    """``(eigenvalues, eigenvectors)`` of symmetric matrices (..., n, n), as
    ``torch.linalg.eigh``: eigenvalues ascending (..., n), eigenvectors the columns of
    (..., n, n); only the lower (``UPLO="L"``) or upper (``"U"``) triangle is read. The
    eigenvectors' gradient needs distinct eigenvalues."""
    x = _matrix("linalg.eigh", A)
    return EighResult(*Eigh.apply(x, upper=_uplo("linalg.eigh", UPLO)))


def eigvalsh(A, UPLO="L"):
    """The eigenvalues of symmetric matrices, ascending, as ``torch.linalg.eigvalsh``."""
    x = _matrix("linalg.eigvalsh", A)
    return Eigh.apply(x, upper=_uplo("linalg.eigvalsh", UPLO))[0]


def svd(A, full_matrices=True):
    """``(U, S, Vh)`` with A = U diag(S) Vh, as ``torch.linalg.svd``: for A (*, m, n) and
    k = min(m, n), S (*, k) descending; U (*, m, m) and Vh (*, n, n) with
    ``full_matrices``, else (*, m, k) and (*, k, n). The gradient of U and Vh needs
    distinct nonzero singular values."""
    x = _matrix("linalg.svd", A, square=False)
    return SVDResult(*SVD.apply(x, full_matrices=bool(full_matrices)))


def svdvals(A):
    """The singular values (*, min(m, n)), descending, as ``torch.linalg.svdvals``."""
    x = _matrix("linalg.svdvals", A, square=False)
    return SVD.apply(x, full_matrices=False)[1]


def _tolerances(x, atol, rtol):
    """PyTorch's defaults: rtol = eps * max(m, n) unless an atol > 0 is given (then 0)."""
    if rtol is None:
        eps = float(_B.np.finfo(_B.dtype_name(x.dtype)).eps)
        rtol = eps * max(x.shape[-2:]) if atol is None or atol == 0 else 0.0
    return (0.0 if atol is None else float(atol)), float(rtol)


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse (*, n, m) of A (*, m, n), as ``torch.linalg.pinv``:
    singular values at or below max(atol, rtol * the largest) count as zero (rtol defaults
    to eps * max(m, n) when atol is not given); ``hermitian`` takes A symmetric (its lower
    triangle) and uses eigh. atol and rtol are numbers."""
    x = _matrix("linalg.pinv", A, square=hermitian)
    atol, rtol = _tolerances(x, atol, rtol)
    return Pinv.apply(x, atol=atol, rtol=rtol, hermitian=bool(hermitian))

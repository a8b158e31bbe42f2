"""The orthogonal factorizations of ``torch.linalg``: qr, eigh/eigvalsh, svd/svdvals and pinv,
each one Function over the backend's Array API ``linalg`` extension with the backward
written out (real matrices; batched over leading dims). References: for QR the m >= n
formula of S. Walter and L. Lehmann (2018), taken to wide matrices by splitting
A = [X | Y]; J. Townsend, "Differentiating the singular value decomposition" (2016).
Eigen- and singular-vector gradients are defined for distinct values only: repeated ones
give inf/NaN, as in PyTorch."""
from __future__ import annotations

from .. import backend as _B
from .._errors import ArgumentError
from ..autograd import Function
from .decomp_base import EighResult, QRResult, SVDResult, _eye, _matrix, _reported, _T

# torch's words when LAPACK does not converge (NaN or inf in the input)
SVD_FAILED = ("linalg.svd: The algorithm failed to converge because the input matrix "
              "contained non-finite values.")
EIGH_FAILED = ("linalg.eigh: The algorithm failed to converge because the input matrix "
               "is ill-conditioned or has too many repeated eigenvalues.")


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
        self.Q, self.R = self.xp.linalg.qr(A, mode="reduced" if mode == "r" else mode)
        return self.Q, self.R

    def backward(self, dQ, dR):
        xp, Q, R = self.xp, self.Q, self.R
        m, n = self.shape[-2:]
        if self.mode == "r":
            raise RuntimeError("linalg.qr: The derivative of linalg.qr depends on Q, which is "
                               "not computed when mode='r'. Please use linalg.qr(A, "
                               "mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
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

    def forward(self, A, upper=False, values_only=False):
        xp = self.xp
        self.values_only = values_only
        if upper:
            S = xp.triu(A) + _T(xp, xp.triu(A, k=1))
        else:
            S = xp.tril(A) + _T(xp, xp.tril(A, k=-1))
        with _reported(self.be, EIGH_FAILED):
            self.w, self.V = xp.linalg.eigh(S)
        return self.w, self.V

    def backward(self, dw, dV):
        xp, w, V = self.xp, self.w, self.V
        if self.values_only:  # eigvalsh: defined at repeated eigenvalues too, as PyTorch
            return (V * dw[..., None, :]) @ _T(xp, V)
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

    def forward(self, A, full_matrices=True, values_only=False):
        self.values_only = values_only
        with _reported(self.be, SVD_FAILED):
            self.U, self.S, self.Vh = self.xp.linalg.svd(A, full_matrices=full_matrices)
        return self.U, self.S, self.Vh

    def backward(self, dU, dS, dVh):
        xp, S = self.xp, self.S
        k = S.shape[-1]
        if self.values_only:  # svdvals: U diag(dS) V^T, defined at repeated values too
            return (self.U[..., :k] * dS[..., None, :]) @ self.Vh[..., :k, :]
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
            with _reported(self.be, EIGH_FAILED):
                w, V = xp.linalg.eigh(xp.tril(A) + _T(xp, xp.tril(A, k=-1)))
            mag = xp.abs(w)
            keep = mag > xp.maximum(rtol * xp.max(mag, axis=-1, keepdims=True), atol) \
                if w.shape[-1] else mag > 0
            winv = xp.where(keep, 1 / xp.where(keep, w, xp.ones_like(w)), xp.zeros_like(w))
            self.P = (V * winv[..., None, :]) @ _T(xp, V)
        else:
            with _reported(self.be, SVD_FAILED):
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
def qr(A, mode="reduced"):
    """``(Q, R)`` with A = Q R, as ``torch.linalg.qr``: for A (*, m, n) and k = min(m, n),
    "reduced" gives Q (*, m, k), R (*, k, n); "complete" Q (*, m, m), R (*, m, n) (not
    differentiable when m > n); "r" an empty Q and R alone (its backward raises, as PyTorch's)."""
    x = _matrix("linalg.qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"linalg.qr: qr received unrecognized mode '{mode}' but expected one "
                         "of 'reduced' (default), 'r', or 'complete'")
    if mode == "r":  # R records a node whose backward refuses, as PyTorch
        R = QR.apply(x, mode="r")[1]
        return QRResult(x._result(x.xp.zeros((0,), dtype=x.dtype, device=x._be.device),
                                  x._be), R)
    return QRResult(*QR.apply(x, mode=mode))


def _uplo(op, UPLO):
    UPLO = UPLO.upper() if isinstance(UPLO, str) else UPLO  # torch takes "l" and "u" too
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
    return Eigh.apply(x, upper=_uplo("linalg.eigvalsh", UPLO), values_only=True)[0]


def _svd_driver(op, x, driver):
    """PyTorch's ``driver=`` picks a cuSOLVER method on CUDA inputs alone (None anywhere);
    the backend's own SVD runs whichever is named, as the factors are the same."""
    if driver is None:
        return
    if driver not in ("gesvd", "gesvdj", "gesvda"):
        raise ArgumentError(f"{op}: driver must be None, 'gesvd', 'gesvdj' or 'gesvda', "
                            f"got {driver!r}")
    if x.device.type != "cuda":
        raise RuntimeError(f"{op}: keyword argument `driver=` is only supported on CUDA "
                           f"inputs, got driver={driver!r} for a tensor on {x.device}")


def svd(A, full_matrices=True, *, driver=None):
    """``(U, S, Vh)`` with A = U diag(S) Vh, as ``torch.linalg.svd``: for A (*, m, n) and
    k = min(m, n), S (*, k) descending; U (*, m, m) and Vh (*, n, n) with
    ``full_matrices``, else (*, m, k) and (*, k, n). The gradient of U and Vh needs
    distinct nonzero singular values. ``driver`` as PyTorch's (CUDA inputs only)."""
    x = _matrix("linalg.svd", A, square=False)
    _svd_driver("linalg.svd", x, driver)
    return SVDResult(*SVD.apply(x, full_matrices=bool(full_matrices)))


def svdvals(A, *, driver=None):
    """The singular values (*, min(m, n)), descending, as ``torch.linalg.svdvals``
    (``driver`` as in :func:`svd`)."""
    x = _matrix("linalg.svdvals", A, square=False)
    _svd_driver("linalg.svdvals", x, driver)
    return SVD.apply(x, full_matrices=False, values_only=True)[1]


def _tolerances(x, atol, rtol):
    """PyTorch's defaults: rtol = eps * max(m, n) unless an atol > 0 is given (then 0)."""
    if rtol is None:
        eps = float(_B.np.finfo(_B.dtype_name(x.dtype)).eps)
        rtol = eps * max(x.shape[-2:]) if atol is None or atol == 0 else 0.0
    return (0.0 if atol is None else float(atol)), float(rtol)


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    """The Moore-Penrose pseudo-inverse (*, n, m) of A (*, m, n), as ``torch.linalg.pinv``:
    singular values at or below max(atol, rtol * the largest) count as zero (rtol defaults
    to eps * max(m, n) when atol is not given); ``hermitian`` takes A symmetric (its lower
    triangle) and uses eigh. atol and rtol are numbers. ``rcond`` (positional, PyTorch's
    older form ``pinv(A, rcond, hermitian)``) is rtol, and excludes atol and rtol."""
    if rcond is not None:
        if atol is not None or rtol is not None:
            raise TypeError("linalg.pinv: pass either rcond or atol/rtol, not both (got rcond="
                            f"{rcond!r}, atol={atol!r}, rtol={rtol!r})")
        rtol = rcond
    x = _matrix("linalg.pinv", A, square=hermitian)
    atol, rtol = _tolerances(x, atol, rtol)
    return Pinv.apply(x, atol=atol, rtol=rtol, hermitian=bool(hermitian))

"""``torch.svd_lowrank`` and ``torch.pca_lowrank``: a rank-q approximation of a matrix by
randomized subspace iteration (Halko, Martinsson and Tropp, "Finding structure with
randomness", 2011, Algorithm 4.4), composed of differentiable ops (matmul, qr, svd).

The random test matrix is drawn from the backend's generator (or ``generator=``, an xpnn
addition), so xpnn's basis differs from PyTorch's run for run; for a matrix of rank <= q
both recover the same subspace and the same reconstruction U diag(S) V^H.
"""
from __future__ import annotations

from . import linalg as _linalg
from ._errors import ArgumentError, DtypeError, ShapeError
from .autograd import TensorBase
from .creation import randn

__all__ = ["pca_lowrank", "svd_lowrank"]


def _h(A):
    """The conjugate transpose of the last two dims."""
    return A.mH


def _basis(A, q, niter, M, generator):
    """An orthonormal (m, q) basis Q whose span approximates A's range (A - M when M)."""
    R = randn(*A.shape[:-2], A.shape[-1], q, generator=generator, dtype=A.dtype,
              backend=A._be.name, device=A._be.device)

    def times(Y):
        return A @ Y if M is None else A @ Y - M @ Y

    def h_times(Y):
        return _h(A) @ Y if M is None else _h(A) @ Y - _h(M) @ Y

    Q = _linalg.qr(times(R)).Q
    for _ in range(niter):
        Q = _linalg.qr(h_times(Q)).Q
        Q = _linalg.qr(times(Q)).Q
    return Q


def _check(op, A, q, niter):
    if not isinstance(A, TensorBase):
        raise TypeError(f"{op}: A must be a Tensor, got {type(A).__name__}")
    if A.ndim < 2:
        raise ShapeError(f"{op}: A must have at least 2 dims (..., m, n), got shape "
                         f"{tuple(A.shape)}")
    if not A.is_floating_point() and not A.is_complex():
        raise DtypeError(f"{op}: A must be floating or complex, got {A.dtype}")
    if isinstance(niter, bool) or not isinstance(niter, int) or niter < 0:
        raise ArgumentError(f"{op}: niter must be a non-negative int, got {niter!r}")
    if isinstance(q, bool) or not isinstance(q, int) or q < 0:
        raise ArgumentError(f"{op}: q must be a non-negative int, got {q!r}")


def svd_lowrank(A, q=6, niter=2, M=None, *, generator=None):
    """A rank-q SVD ``(U, S, V)`` with U diag(S) V^H ~ A - M, as ``torch.svd_lowrank``.

    Args:
        A: (..., m, n) floating or complex.
        q: the rank sought (a slight overestimate of the true rank is best; default 6).
        niter: subspace iterations (default 2; more for slowly decaying spectra).
        M: (..., m, n) or broadcastable to it, subtracted from A (None: nothing).
        generator: an :class:`xpnn.Generator` for the random test matrix (xpnn addition).

    Returns:
        U (..., m, q), S (..., q), V (..., n, q) (V, not V^H, as PyTorch).
    """
    _check("svd_lowrank", A, q if q is not None else 6, niter)
    q = 6 if q is None else q
    if M is not None:
        M = M.broadcast_to(A.shape) if tuple(M.shape) != tuple(A.shape) else M
    m, n = A.shape[-2:]
    if q == 0:  # rank 0 (PyTorch takes it): empty factors, still in A's graph
        U, V = A[..., :, :0], _h(A)[..., :, :0]
        return U, U.sum(dim=-2).abs(), V
    if m < n:  # work on the tall form, as PyTorch: the basis is of the smaller range
        V, S, U = svd_lowrank(_h(A), q, niter, None if M is None else _h(M),
                              generator=generator)
        return U, S, V
    Q = _basis(A, q, niter, M, generator)
    Bm = _h(Q) @ (A if M is None else A - M)  # (q, n): A's action in the basis
    U, S, Vh = _linalg.svd(Bm, full_matrices=False)
    return Q @ U, S, _h(Vh)


def pca_lowrank(A, q=None, center=True, niter=2, *, generator=None):
    """Principal components of the rows of A, as ``torch.pca_lowrank``: the rank-q SVD of
    A minus its column means (``center``), ``(U, S, V)``; the principal directions are V's
    columns and the projections ``A @ V[:, :k]``.

    Args:
        A: (..., m, n). q: default min(6, m, n); at most min(m, n). niter: as svd_lowrank.
    """
    if not isinstance(A, TensorBase):
        raise TypeError(f"pca_lowrank: A must be a Tensor, got {type(A).__name__}")
    if A.ndim < 2:
        raise ShapeError(f"pca_lowrank: A must have at least 2 dims (..., m, n), got shape "
                         f"{tuple(A.shape)}")
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= min(m, n):
        raise ArgumentError(f"q(={q!r}) must be non-negative integer and not greater than "
                            f"min(m, n)={min(m, n)}")
    if isinstance(niter, bool) or not isinstance(niter, int) or niter < 0:
        raise ArgumentError(f"niter(={niter!r}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter, generator=generator)
    C = A.mean(dim=-2, keepdim=True)
    return svd_lowrank(A - C, q, niter, generator=generator)

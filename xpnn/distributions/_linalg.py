"""The two factorizations MultivariateNormal needs, as differentiable Functions over the
Array API linalg extension: the Cholesky factor and the lower-triangular solve."""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function


def _phi(xp, X):
    """The lower triangle of X with its diagonal halved."""
    n = X.shape[-1]
    eye = xp.eye(n, dtype=X.dtype, device=X.device)
    return xp.tril(X) - 0.5 * eye * X


class Cholesky(Function):
    """L with L L^T = A (lower); dA = sym(L^-T Phi(L^T dL) L^-1), Phi the lower triangle
    with half the diagonal (Murray, "Differentiation of the Cholesky decomposition", 2016)."""

    saves_output = True

    def forward(self, A):
        self.L = self.xp.linalg.cholesky(A)
        return self.L

    def backward(self, dL):
        xp, L = self.xp, self.L
        Lt = xp.matrix_transpose(L)
        P = _phi(xp, Lt @ dL)
        right = xp.matrix_transpose(xp.linalg.solve(Lt, xp.matrix_transpose(P)))  # P L^-1
        S = xp.linalg.solve(Lt, right)
        return 0.5 * (S + xp.matrix_transpose(S))


class SolveTriangular(Function):
    """X = L^-1 B for lower-triangular L (..., n, n) and B (..., n, k) of one batch shape;
    dB = L^-T dX, dL = -tril(dB X^T)."""

    def forward(self, L, Bm):
        self.L = L
        self.X = self.xp.linalg.solve(L, Bm)
        return self.X

    def backward(self, dX):
        xp = self.xp
        dB = xp.linalg.solve(xp.matrix_transpose(self.L), dX)
        dL = -xp.tril(dB @ xp.matrix_transpose(self.X)) if self.needs[0] else None
        return dL, dB if self.needs[1] else None


def cholesky(A):
    return Cholesky.apply(A)


def solve_triangular(L, Bm):
    """L^-1 B, both broadcast to one batch shape first."""
    batch = B.np.broadcast_shapes(tuple(L.shape[:-2]), tuple(Bm.shape[:-2]))
    L = L.expand(batch + tuple(L.shape[-2:]))
    Bm = Bm.expand(batch + tuple(Bm.shape[-2:]))
    return SolveTriangular.apply(L, Bm)


def is_positive_definite(A):
    """A bool Tensor per matrix: symmetric with positive eigenvalues (NumPy on the host;
    all True on a device, where validation does not look)."""
    np = B.np
    if not A._be.on_host:
        return A._result(A._be.asarray(np.ones(A.shape[:-2], dtype=bool)), A._be)
    host = B.to_numpy(A.array)
    sym = np.all(np.abs(host - np.swapaxes(host, -1, -2)) <= 1e-6, axis=(-2, -1))
    ok = np.linalg.eigvalsh(np.where(np.isfinite(host), host, 0)).min(-1) > 0
    return A._result(A._be.asarray(sym & ok & np.all(np.isfinite(host), (-2, -1))), A._be)

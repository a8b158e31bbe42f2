"""``xpnn.linalg``: PyTorch's ``torch.linalg`` (real tensors; eig/eigvals give complex
results), differentiable.

The factorizations and inverses are Functions of :mod:`xpnn.functional.decomp` over the
backend's Array API ``linalg`` extension; vecdot, cross, multi_dot and lstsq's solution are
built here from differentiable ops, the norms in linalg_norms.py, the ``*_ex`` forms and
matrix_exp/vander/cond/tensorinv/tensorsolve/householder_product in linalg_more.py (all
re-exported here). ``import xpnn as torch; torch.linalg.norm(x)`` runs as in PyTorch.
"""
from __future__ import annotations

from . import backend as _B
from . import return_types
from ._errors import ArgumentError, DtypeError, ShapeError
from .autograd import Function, as_tensor
from .autograd.tensor_base import TensorBase
from .functional import diagonal as _diagonal, matmul, mul, squeeze, sum as _sum, unsqueeze
from .functional.decomp import (EighResult, LinAlgError, QRResult, SlogdetResult, SVDResult,
                                _matrix, _reported, _tolerances, cholesky, det, eigh, eigvalsh, inv,
                                pinv, qr, slogdet, solve, svd, svdvals)
from .functional.matrix import matrix_power, solve_triangular
from .functional.lu import lu, lu_factor, lu_factor_ex, lu_solve
from .functional.ldl import ldl_factor, ldl_factor_ex, ldl_solve
from .functional.elementwise import promote, unbroadcast
from .functional.products import _same_dtype_args
from .linalg_norms import matrix_norm, norm, vector_norm
from .linalg_more import (cholesky_ex, cond, householder_product, inv_ex,
                          matrix_exp, solve_ex, tensorinv, tensorsolve, vander)

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh",
           "eigvalsh", "householder_product", "inv", "inv_ex", "lstsq", "matmul", "matrix_exp",
           "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr",
           "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv",
           "tensorsolve", "vander", "vecdot", "vector_norm",
           "EighResult", "LstsqResult", "QRResult", "SlogdetResult", "SVDResult",
           "eig", "eigvals", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu", "lu_factor",
           "lu_factor_ex", "lu_solve"]

LstsqResult = return_types.linalg_lstsq


def vecdot(x, y, *, dim=-1):
    """The dot product of vectors along ``dim`` (other dims broadcast), as
    ``torch.linalg.vecdot``."""
    _same_dtype_args("linalg.vecdot", x, y)
    a, b = promote(x, y, "linalg.vecdot")
    if not a._be.is_floating(a.dtype):
        raise DtypeError(f"linalg.vecdot: expected floating point tensors, got "
                        f"{_B.dtype_name(a.dtype)}")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"linalg.vecdot: expected tensors with at least 1 dim, got shapes "
                         f"{a.shape} and {b.shape}")
    prod = mul(a, b)  # torch broadcasts first, then reduces over dim of the broadcast
    if not -prod.ndim <= dim < prod.ndim:
        raise IndexError(f"linalg.vecdot: dim {dim} is out of range for the broadcast shape "
                         f"{tuple(prod.shape)} of {tuple(a.shape)} and {tuple(b.shape)}")
    return _sum(prod, dim=dim)


class Cross(Function):
    """A x B along ``axis`` (broadcast); dA = B x dY, dB = dY x A."""

    def forward(self, A, Bv, axis=-1):
        xp = self.xp
        self.shapes, self.axis = (A.shape, Bv.shape), axis
        self.A, self.B = xp.broadcast_arrays(A, Bv)
        return xp.linalg.cross(self.A, self.B, axis=axis)

    def backward(self, dY):
        xp, axis = self.xp, self.axis
        dA = unbroadcast(xp, xp.linalg.cross(self.B, dY, axis=axis), self.shapes[0]) \
            if self.needs[0] else None
        dB = unbroadcast(xp, xp.linalg.cross(dY, self.A, axis=axis), self.shapes[1]) \
            if self.needs[1] else None
        return dA, dB


def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (other dims broadcast), as
    ``torch.linalg.cross``."""
    _same_dtype_args("linalg.cross", input, other)
    a, b = promote(input, other, "linalg.cross")
    if a.ndim != b.ndim:
        raise ShapeError(f"linalg.cross: inputs must have the same number of dimensions, got "
                         f"shapes {a.shape} and {b.shape}")
    nd = a.ndim
    if nd == 0 or not -nd <= dim < nd:
        raise IndexError(f"linalg.cross: dim {dim} is out of range for shapes {a.shape} and "
                         f"{b.shape}")
    na, nb = a.shape[dim], b.shape[dim]
    if na != 3 or nb != 3:
        raise ShapeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {na} "
                         f"and {nb}")
    return Cross.apply(a, b, axis=dim - nd if dim >= 0 else dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal ``offset`` of the matrices over (dim1, dim2), as
    ``torch.linalg.diagonal``."""
    return _diagonal(A, offset, dim1, dim2)


def multi_dot(tensors):
    """The product of a chain of matrices (the first and last may be 1-D vectors), as
    ``torch.linalg.multi_dot``."""
    if not isinstance(tensors, (list, tuple)) or len(tensors) < 2:
        n = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ShapeError(f"linalg.multi_dot: expected at least 2 tensors but got {n}")
    last = len(tensors) - 1
    for i, t in enumerate(tensors):
        nd = as_tensor(t, op="linalg.multi_dot").ndim
        if nd != 2 and not (nd == 1 and i in (0, last)):
            raise ShapeError(f"linalg.multi_dot: tensor {i} must be 2D"
                             f"{' or 1D' if i in (0, last) else ''} but got {nd}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    """The number of singular values above max(atol, rtol * the largest), int64 (*,), as
    ``torch.linalg.matrix_rank`` (``tol``: PyTorch's older spelling of atol, with rtol 0);
    ``hermitian`` takes A symmetric and uses its |eigenvalues|. No gradient."""
    x = _matrix("linalg.matrix_rank", A, square=hermitian)
    if tol is not None:
        atol, rtol = tol, 0.0
    xp, X = x.xp, x.array
    tensors = [t for t in (atol, rtol) if isinstance(t, TensorBase)]
    if tensors:  # per-matrix tolerances (*,), as PyTorch: rtol defaults to 0 where atol > 0
        eps = float(_B.np.finfo(_B.dtype_name(x.dtype)).eps) * max(x.shape[-2:])
        atol = xp.zeros((), dtype=x.dtype, device=x._be.device) if atol is None else \
            as_tensor(atol, like=x, op="linalg.matrix_rank").array
        rtol = xp.where(atol > 0, xp.zeros_like(atol), xp.full_like(atol, eps)) \
            if rtol is None else \
            as_tensor(rtol, like=x, op="linalg.matrix_rank").array
        atol, rtol = atol[..., None], rtol[..., None]
    else:
        atol, rtol = _tolerances(x, atol, rtol)
    with _reported(x._be, "linalg.svd: The algorithm failed to converge because the input "
                   "matrix contained non-finite values."):
        if hermitian:
            S = xp.abs(xp.linalg.eigvalsh(xp.tril(X) + xp.matrix_transpose(xp.tril(X, k=-1))))
        else:
            S = xp.linalg.svdvals(X)
    if not S.shape[-1]:
        return x._result(xp.zeros(S.shape[:-1], dtype=xp.int64, device=x._be.device), x._be)
    big = xp.max(S, axis=-1, keepdims=True)
    above = (S > rtol * big) & (S > atol)
    return x._result(xp.sum(xp.astype(above, xp.int64), axis=-1), x._be)


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A X = B, as ``torch.linalg.lstsq``: ``(solution,
    residuals, rank, singular_values)``. The solution is pinv(A) B (singular values below
    rcond * the largest dropped; rcond defaults to eps * max(m, n)) and is differentiable.
    As PyTorch's CPU drivers: "gelsy" (the default) gives the rank and no singular values,
    "gelsd"/"gelss" both, "gels" neither; residuals (the squared 2-norms of the columns of
    A X - B) come for m > n with any driver but "gelsy" (PyTorch also leaves them out when
    A is rank-deficient, which xpnn does not check: that would read the data)."""
    op = "linalg.lstsq"
    a = _matrix(op, A, square=False)
    b = as_tensor(B, like=a, op=op)
    driver = "gelsy" if driver is None else driver
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise ArgumentError(f"{op}: parameter `driver` should be one of (gels, gelsy, gelsd, "
                         f"gelss), got {driver!r}")
    if b.dtype != a.dtype:
        raise DtypeError(f"{op}: expected A and B to have the same dtype, but found A of type "
                        f"{_B.dtype_name(a.dtype)} and B of type {_B.dtype_name(b.dtype)}")
    m, n = a.shape[-2:]
    vector = b.ndim == a.ndim - 1
    if b.ndim < 1 or b.shape[-1 if vector else -2] != m:
        raise ShapeError(f"{op}: incompatible shapes of A and B for the equation AX = B "
                         f"(shapes {a.shape} and {b.shape})")
    P = pinv(a, rtol=rcond)
    X = squeeze(matmul(P, unsqueeze(b, -1)), -1) if vector else matmul(P, b)
    xp, be = a.xp, a._be

    def empty():
        return a._result(xp.zeros((0,), dtype=a.dtype, device=be.device), be)
    residuals = empty()
    if driver != "gelsy" and m > n:
        r = matmul(a, X) - b
        residuals = _sum(r * r, dim=-1 if vector else -2)
    rank = matrix_rank(a, rtol=rcond) if driver != "gels" else \
        a._result(xp.zeros((0,), dtype=xp.int64, device=be.device), be)
    values = svdvals(a) if driver in ("gelsd", "gelss") else empty()
    return LstsqResult(X, residuals, rank, values)

class Eig(Function):
    """(eigenvalues, eigenvectors) of a general square matrix, complex, from the backend's
    ``linalg.eig``; eigvals has a gradient, eig's eigenvectors none in xpnn (PyTorch has
    one)."""

    saved_inputs = ()

    def forward(self, A, values_only=False):
        xp = self.xp
        self.values_only, self.real = values_only, not self.be.is_complex(A.dtype)
        fn = getattr(xp.linalg, "eig", None)
        if fn is None:
            raise NotImplementedError(f"linalg.eig: backend {self.be.name!r} has no eig "
                                      "(NumPy, torch and array-api-strict have one)")
        want = xp.complex128 if A.dtype == xp.float64 or A.dtype == xp.complex128 else \
            xp.complex64
        w, V = fn(A)
        w, V = xp.astype(w, want), xp.astype(V, want)  # real eigenvalues still come complex
        self.V = V
        return w if values_only else (w, V)

    def backward(self, *dYs):
        if not self.values_only:
            raise NotImplementedError("linalg.eig: the derivative of eig's eigenvectors is not "
                                      "implemented in xpnn (eigvals has one; use linalg.eigh "
                                      "for symmetric matrices)")
        # eigvals: dA = V^-H diag(dw) V^H (a real A keeps the real part)
        xp, V, dw = self.xp, self.V, dYs[0]
        Vh = xp.conj(xp.matrix_transpose(V))
        dA = xp.linalg.solve(Vh, dw[..., :, None] * Vh)
        return xp.real(dA) if self.real else dA


def _eig_input(op, A):
    A = as_tensor(A, op=op)
    _matrix(op, A)
    name = _B.dtype_name(A.dtype)
    if name not in ("float32", "float64", "complex64", "complex128"):
        raise DtypeError(f"{op}: expected a float or complex tensor, got {name}")
    return A


def eig(A):
    """The eigenvalues and eigenvectors of a general square matrix (``torch.linalg.eig``).

    Args:
        A: (..., n, n), float32/float64 (or complex).
    Returns:
        ``(eigenvalues, eigenvectors)``: (..., n) and (..., n, n), complex64 (complex128
        from 64-bit inputs); eigenvectors of unit norm in the columns. The eigenvectors
        have no gradient (their backward raises NotImplementedError; the eigenvalues have
        one); on a backend without ``linalg.eig`` (CuPy) it raises NotImplementedError
        naming the backend.
    """
    w, V = Eig.apply(_eig_input("linalg.eig", A))
    return return_types.linalg_eig(w, V)


def eigvals(A):
    """The eigenvalues of a general square matrix, complex (``torch.linalg.eigvals``),
    as :func:`eig`'s first result; differentiable (dA = V^-H diag(dw) V^H, the real part for
    a real A), as PyTorch."""
    return Eig.apply(_eig_input("linalg.eigvals", A), values_only=True)

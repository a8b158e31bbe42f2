"""PyTorch's top-level matrix functions (``torch.det``, ``torch.logdet``, ``torch.inverse``,
``torch.pinverse``, ``torch.cholesky``, ``torch.qr``, ``torch.svd``, ``torch.matrix_power``,
``torch.cholesky_solve``, ``torch.cholesky_inverse``; ``torch.linalg.solve_triangular``)
and the Tensor methods of those names: the older spellings of ``torch.linalg``'s, on
:mod:`xpnn.functional.decomp`."""
from __future__ import annotations


from .. import backend as _B
from .. import return_types
from ..autograd import as_tensor
from .._errors import DtypeError, ShapeError
from . import decomp
from .decomp import _eye, _matrix, det, inv, slogdet
from .elementwise import where
from .linalg import matmul
from .rearrange import tril, triu
from .shape import broadcast_shapes, swapaxes

SvdResult = return_types.svd

inverse = inv

__all__ = ["cholesky", "cholesky_inverse", "cholesky_solve", "det", "inverse", "logdet",
           "matrix_power", "pinverse", "qr", "slogdet", "solve_triangular", "svd",
           "triangular_solve"]


def logdet(input):
    """log(det A) of square matrices, as ``torch.logdet``: NaN where det A < 0, -inf where it
    is 0; the gradient is A^-T."""
    sign, logabs = slogdet(input)
    xp = logabs.xp
    nan = xp.asarray(float("nan"), dtype=logabs.dtype, device=logabs._be.device)
    return where(sign.array < 0, logabs._result(nan, logabs._be), logabs)


def pinverse(input, rcond=1e-15):
    """The pseudo-inverse, singular values below ``rcond`` times the largest dropped, as
    ``torch.pinverse``."""
    from .scalar_args import float_arg
    return decomp.pinv(input, rtol=float_arg("pinverse", "rcond", rcond))


def cholesky(input, upper=False):
    """The Cholesky factor (lower by default), as ``torch.cholesky``."""
    return decomp._cholesky(input, upper, "cholesky")


def qr(input, some=True):
    """``(Q, R)``, as ``torch.qr``: reduced with ``some`` (the default), else complete."""
    return return_types.qr(*decomp.qr(input, mode="reduced" if some else "complete"))


def svd(input, some=True, compute_uv=True):
    """``(U, S, V)`` with A = U diag(S) V^T, as ``torch.svd`` (V, not linalg.svd's Vh):
    reduced with ``some``; without ``compute_uv``, U and V are zeros of shape (*, m, m)
    and (*, n, n) and only S has a gradient."""
    if not compute_uv:
        S = decomp.svdvals(input)
        xp, be, (m, n) = S.xp, S._be, input.shape[-2:]
        batch = tuple(input.shape[:-2])
        zeros = [S._result(xp.zeros(batch + (k, k), dtype=S.dtype, device=be.device), be)
                 for k in (m, n)]
        return SvdResult(zeros[0], S, zeros[1])
    U, S, Vh = decomp.svd(input, full_matrices=not some)
    return SvdResult(U, S, swapaxes(Vh, -2, -1))


def matrix_power(input, n):
    """A^n for square matrices by repeated squaring, as ``torch.matrix_power`` (and
    ``torch.linalg.matrix_power``); n < 0 inverts first, n = 0 gives the identity (a zero
    gradient); integer matrices take n >= 0."""
    if isinstance(n, bool) or not isinstance(n, (int, _B.np.integer)):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    n = int(n)
    x = _matrix("linalg.matrix_power", input, floating=n < 0)
    xp = x.xp
    if n == 0:
        eye = xp.zeros(x.shape, dtype=x.dtype, device=x._be.device) + \
            _eye(xp, x.shape[-1], x.array)
        if not x.requires_grad:
            return x._result(eye, x._be)
        never = xp.zeros(x.shape, dtype=xp.bool, device=x._be.device)
        return where(never, x, x._result(eye, x._be))
    base = inv(x) if n < 0 else x
    n = abs(n)
    out = None
    while n:
        if n & 1:
            out = base if out is None else matmul(out, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return out


def _triangle(A, upper, unitriangular=False):
    """The triangle of A that a triangular solve reads (the diagonal taken as ones with
    ``unitriangular``); the other entries get no gradient, as in PyTorch."""
    if not unitriangular:
        return triu(A) if upper else tril(A)
    strict = triu(A, 1) if upper else tril(A, -1)
    xp = strict.xp
    return strict + strict._result(_eye(xp, A.shape[-1], strict.array), strict._be)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (``left=False``: X A = B) for triangular A, as
    ``torch.linalg.solve_triangular``: only the ``upper`` (or lower) triangle of A is read,
    its diagonal taken as ones with ``unitriangular``.

    Args:
        A: (*, n, n), floating. B: (*, n, k) (``left=False``: (*, k, n)); batch dims
            broadcast; B must be a matrix (no vector case, as in PyTorch).
    Returns:
        X, the broadcast shape of B. A singular A raises :class:`LinAlgError` where the
        library reports it (PyTorch gives inf/NaN instead).
    """
    op = "linalg.solve_triangular"
    a = _matrix(op, A)
    b = as_tensor(B, like=a, op=op)
    if b.ndim < 2:
        raise ShapeError(f"{op}: The input tensor B must have at least 2 dimensions, got "
                         f"shape {tuple(b.shape)}")
    if b.dtype != a.dtype:
        raise DtypeError(f"{op}: expected A and B to have the same dtype, but found A of type "
                         f"{_B.dtype_name(a.dtype)} and B of type {_B.dtype_name(b.dtype)}")
    n = a.shape[-1]
    if b.shape[-2 if left else -1] != n:
        raise ShapeError(f"{op}: incompatible shapes of A and B for the equation "
                         f"{'AX = B' if left else 'XA = B'} (shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)})")
    T = _triangle(a, upper, unitriangular)
    broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if left:
        return decomp.Solve.apply(T, b)
    # X A = B  <=>  A^T X^T = B^T
    return swapaxes(decomp.Solve.apply(swapaxes(T, -2, -1), swapaxes(b, -2, -1)), -2, -1)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """X with A X = b (``transpose``: A^T X = b) for triangular A, as the deprecated
    ``torch.triangular_solve`` (note its argument order, b first, and ``upper=True`` by
    default): returns ``(solution, cloned_coefficient)``, the second a copy of A."""
    coefficient = _matrix("triangular_solve", A)
    a = coefficient
    if transpose:  # the transpose of an upper triangle is a lower one
        a, upper = swapaxes(a, -1, -2), not upper
    x = solve_triangular(a, b, upper=upper, unitriangular=unitriangular)
    return return_types.triangular_solve(x, coefficient.clone())

def cholesky_solve(B, L, upper=False):
    """X with (L L^T) X = B for a Cholesky factor L (``upper``: U with U^T U), as
    ``torch.cholesky_solve``: two solves with the factor. B (*, n, k), L (*, n, n).

    Only L's triangle is read; as in PyTorch the gradient is that of (L L^T)^-1 B at that
    triangle for every entry of L (the other triangle's entries get one too)."""
    op = "cholesky_solve"
    x = _matrix(op, L)
    b = as_tensor(B, like=x, op=op)
    if b.ndim < 2 or b.shape[-2] != x.shape[-1]:
        raise ShapeError(f"{op}: incompatible shapes of A and B for the equation AX = B "
                         f"(shapes {tuple(x.shape)} and {tuple(b.shape)})")
    # the other triangle's values drop out of the forward, its gradient stays
    other = tril(x, -1) if upper else triu(x, 1)
    F = x - other.detach()
    if upper:
        F = swapaxes(F, -2, -1)
    first = decomp.Solve.apply(F, b)
    return decomp.Solve.apply(swapaxes(F, -2, -1), first)


def cholesky_inverse(L, upper=False):
    """(L L^T)^-1 from a Cholesky factor L (``upper``: U with U^T U), as
    ``torch.cholesky_inverse``."""
    x = _matrix("cholesky_inverse", L)
    eye = x._result(_eye(x.xp, x.shape[-1], x.array), x._be)
    return cholesky_solve(eye, x, upper)

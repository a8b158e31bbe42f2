"""PyTorch's top-level matrix functions (``torch.det``, ``torch.logdet``, ``torch.inverse``,
``torch.pinverse``, ``torch.cholesky``, ``torch.qr``, ``torch.svd``, ``torch.matrix_power``)
and the Tensor methods of those names: the older spellings of ``torch.linalg``'s, on
:mod:`xpnn.functional.decomp`."""
from __future__ import annotations


from .. import backend as _B
from .. import return_types
from . import decomp
from .decomp import _eye, _matrix, det, inv, slogdet
from .elementwise import where
from .linalg import matmul
from .shape import swapaxes

SvdResult = return_types.svd

inverse = inv

__all__ = ["cholesky", "det", "inverse", "logdet", "matrix_power", "pinverse", "qr",
           "slogdet", "svd"]


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
    return decomp.pinv(input, rtol=rcond)


def cholesky(input, upper=False):
    """The Cholesky factor (lower by default), as ``torch.cholesky``."""
    return decomp.cholesky(input, upper=upper)


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

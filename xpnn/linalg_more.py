"""``torch.linalg``'s ``*_ex`` forms (the result and an info code instead of an error) and the
functions composed of differentiable ops: matrix_exp, vander, cond, tensorinv, tensorsolve,
householder_product (xpnn.linalg re-exports them).
"""
from __future__ import annotations

import math

from . import backend as _B
from . import return_types
from ._errors import ArgumentError, DtypeError, ShapeError
from .autograd import as_tensor
from .functional import amax, amin, stack, matmul, permute, reshape, squeeze, unsqueeze
from .functional.decomp import LinAlgError, _cholesky, _matrix, inv, solve, svdvals
from .functional import _getrf
from .linalg_norms import _INF, _floating, matrix_norm


def _ex(op, fn, A, check_errors, failed_at):
    """``(fn(A), info)`` as torch's ``*_ex`` functions: info (*,) int32 is 0 where fn
    succeeded; where it failed, info is ``failed_at(matrix)`` and the result NaN (PyTorch
    leaves LAPACK's partial result there). The slices are retried one by one only after a
    failure (the library reports failures on the host; CuPy reports none: info stays 0)."""
    x = _matrix(op, A)
    xp, be = x.xp, x._be
    batch = tuple(x.shape[:-2])
    try:
        out = fn(x)
        return out, x._result(xp.zeros(batch, dtype=xp.int32, device=be.device), be)
    except LinAlgError:
        if check_errors:
            raise
    flat = reshape(x, (-1,) + tuple(x.shape[-2:]))
    outs, info = [], []
    for i in range(flat.shape[0]):
        try:
            outs.append(fn(flat[i]))
            info.append(0)
        except LinAlgError:
            nan = xp.full(tuple(x.shape[-2:]), float("nan"), dtype=x.dtype, device=be.device)
            outs.append(x._result(nan, be))
            info.append(failed_at(flat[i]))
    out = reshape(stack(outs), x.shape)
    codes = xp.asarray(info, dtype=xp.int32, device=be.device)
    return out, x._result(xp.reshape(codes, batch), be)


def _first_failing_minor(fn):
    """The order k (1-based) of the first leading k x k block that ``fn`` refuses."""
    def failed_at(M):
        for k in range(1, M.shape[-1] + 1):
            try:
                fn(M[:k, :k])
            except LinAlgError:
                return k
        return M.shape[-1]
    return failed_at


def cholesky_ex(A, *, upper=False, check_errors=False):
    """``(L, info)``, as ``torch.linalg.cholesky_ex``: info (*,) int32 is 0 for a
    positive-definite matrix, else the order of its first leading minor that is not
    positive-definite (L is NaN there)."""
    def fn(M):
        return _cholesky(M, upper, "linalg.cholesky_ex")
    L, info = _ex("linalg.cholesky_ex", fn, A, check_errors, _first_failing_minor(fn))
    return return_types.linalg_cholesky_ex(L, info)


def _zero_pivot(M):
    """LAPACK's getrf info of a matrix that inv refused: the 1-based index of the first zero
    pivot of its LU factorization (n where rounding alone made it singular)."""
    code = int(_B.to_numpy(_getrf._info(M.xp, _getrf._factor(M.xp, M.array)[0])))
    return code or M.shape[-1]


def inv_ex(A, *, check_errors=False):
    """``(inverse, info)``, as ``torch.linalg.inv_ex``: info (*,) int32 is 0 for an
    invertible matrix, else LAPACK's (PyTorch's) index of the first zero pivot of its LU
    factorization (the inverse is NaN there)."""
    out, info = _ex("linalg.inv_ex", inv, A, check_errors, _zero_pivot)
    return return_types.linalg_inv_ex(out, info)



def solve_ex(A, B, *, left=True, check_errors=False):
    """``(result, info)``, as ``torch.linalg.solve_ex``: info (*,) int32 is 0 where A is
    invertible, positive where it is singular (the result is NaN there)."""
    try:
        X = solve(A, B, left=left)
        a = as_tensor(A, op="linalg.solve_ex")
        xp, be = a.xp, a._be
        info = xp.zeros(tuple(a.shape[:-2]), dtype=xp.int32, device=be.device)
        return return_types.linalg_solve_ex(X, a._result(info, be))
    except LinAlgError:
        if check_errors:
            raise
    inverse, info = inv_ex(A)
    b = as_tensor(B, like=inverse, op="linalg.solve_ex")
    vector = b.ndim == 1 or (left and tuple(b.shape) == tuple(inverse.shape[:-1]))
    if vector:
        X = squeeze(matmul(inverse, unsqueeze(b, -1)), -1)
    else:
        X = matmul(inverse, b) if left else matmul(b, inverse)
    return return_types.linalg_solve_ex(X, info)


def matrix_exp(A):
    """The matrix exponential of each square matrix in ``A`` (*, n, n), as
    ``torch.linalg.matrix_exp``: a Taylor polynomial of A / 2^s, squared s times, with s
    chosen (one host read of the 1-norm) so that ||A / 2^s||_1 <= 1/2; terms to degree 16
    for float64, 9 for lower precisions (truncation error below the dtype's rounding).
    Differentiable: the gradient is that of the products it is made of."""
    a = _floating("linalg.matrix_exp", as_tensor(A, op="linalg.matrix_exp"), None)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"linalg.matrix_exp: A must be a batch of square matrices, got shape "
                         f"{tuple(a.shape)}")
    n = a.shape[-1]
    xp, be = a.xp, a._be
    eye = a._result(xp.eye(n, dtype=a.dtype, device=be.device), be)
    if a.shape[-1] == 0 or 0 in a.shape:
        return a * 0 + eye if n else a * 1
    norm1 = float(xp.max(xp.sum(xp.abs(a.array), axis=-2)))  # the largest 1-norm
    if not math.isfinite(norm1):
        return a * float("nan") + eye  # PyTorch gives NaN (inf also turns NaN in its products)
    s = max(0, math.ceil(math.log2(norm1 / 0.5))) if norm1 > 0.5 else 0
    degree = 16 if _B.dtype_name(a.dtype) == "float64" else 9
    X = a * (2.0 ** -s) if s else a
    out = eye + X / degree  # Horner: I + X/1 (I + X/2 (I + ... (I + X/m)))
    for k in range(degree - 1, 0, -1):
        out = eye + matmul(X, out) / k
    for _ in range(s):
        out = matmul(out, out)
    return out


def vander(x, *, N=None):
    """The Vandermonde matrix of ``x`` (*, n): columns x^0, x^1, ..., x^(N-1) (N defaults to
    n), shape (*, n, N), as ``torch.linalg.vander``; differentiable."""
    from .functional import cat, cumprod
    t = as_tensor(x, op="linalg.vander")
    if t.ndim < 1:
        raise ShapeError("linalg.vander: x must have at least 1 dimension, got a 0-d tensor")
    if _B.dtype_name(t.dtype) in ("bool", "float16", "bfloat16"):
        raise DtypeError(f"linalg.vander supports floating point, complex, and integer "
                         f"tensors, but got {_B.dtype_name(t.dtype)}")
    cols = t.shape[-1] if N is None else int(N)
    if cols <= 1:
        raise ArgumentError(f"linalg.vander: N must be greater than 1, got {cols}")
    xp, be = t.xp, t._be
    col = unsqueeze(t, -1)
    ones = t._result(xp.ones(tuple(t.shape) + (1,), dtype=t.dtype, device=be.device), be)
    return cat([ones, cumprod(col.expand(*t.shape, cols - 1), dim=-1)], dim=-1)


def cond(A, p=None):
    """The condition number of each matrix in ``A`` in the norm ``p``, as
    ``torch.linalg.cond``: for None or 2 (and -2) the ratio of the largest and smallest
    singular values, for "fro", "nuc", inf, -inf, 1, -1 ``norm(A, p) * norm(inv(A), p)``."""
    a = _floating("linalg.cond", as_tensor(A, op="linalg.cond"), None)
    if a.ndim < 2:
        raise ShapeError(f"linalg.cond: A must have at least 2 dimensions, got shape "
                         f"{tuple(a.shape)}")
    if p is None or p in (2, -2):
        if 0 in a.shape[-2:]:  # empty matrices: PyTorch's 0
            xp, be = a.xp, a._be
            return a._result(xp.zeros(tuple(a.shape[:-2]), dtype=a.dtype, device=be.device), be)
        s = svdvals(a)
        big, small = amax(s, dim=-1), amin(s, dim=-1)
        with a._be.quiet():
            return small / big if p == -2 else big / small
    if p not in ("fro", "nuc", _INF, -_INF, 1, -1):
        raise ArgumentError(f"linalg.cond: got an invalid norm type {p!r}")
    if a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"linalg.cond: norm {p!r} needs square matrices, got shape "
                         f"{tuple(a.shape)}")
    inverse, info = inv_ex(a)
    out = matrix_norm(a, p) * matrix_norm(inverse, p)
    return out.masked_fill(info != 0, _INF)  # singular: infinitely ill-conditioned


def tensorinv(A, ind=2):
    """The inverse of ``A`` seen as a map from its first ``ind`` dims to the rest, as
    ``torch.linalg.tensorinv``: shape A.shape[ind:] + A.shape[:ind]."""
    a = as_tensor(A, op="linalg.tensorinv")
    if isinstance(ind, bool) or not isinstance(ind, int) or ind <= 0:
        raise ValueError(f"linalg.tensorinv: expected a strictly positive integer for 'ind', "
                         f"got {ind!r}")
    rows, cols = a.shape[:ind], a.shape[ind:]
    if math.prod(rows) != math.prod(cols):
        raise ShapeError(f"linalg.tensorinv: the product of the first {ind} dims of A "
                         f"{tuple(rows)} must equal the product of the rest {tuple(cols)}")
    m = math.prod(rows)
    return reshape(inv(reshape(a, (m, m))), tuple(cols) + tuple(rows))


def tensorsolve(A, B, dims=None):
    """X with ``tensordot(A, X, X.ndim) == B``, as ``torch.linalg.tensorsolve``: X has the
    shape of A's dims after B's; ``dims`` moves those dims of A to the end first."""
    a = as_tensor(A, op="linalg.tensorsolve")
    b = as_tensor(B, like=a, op="linalg.tensorsolve")
    if dims is not None:
        dims = [d % a.ndim for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
        keep = [d for d in range(a.ndim) if d not in dims]
        a = permute(a, keep + dims)
    rest = tuple(a.shape[b.ndim:])
    if math.prod(rest) != math.prod(b.shape) or math.prod(a.shape) != math.prod(rest) ** 2:
        raise ShapeError(f"linalg.tensorsolve: A of shape {tuple(a.shape)} doesn't fit B of "
                         f"shape {tuple(b.shape)} (A's dims after B's {b.ndim} must hold as "
                         f"many entries as B, and A as many as their square)")
    m = math.prod(b.shape)
    x = solve(reshape(a, (m, m)), reshape(b, (m,)))
    return reshape(x, rest)


def householder_product(A, tau):
    """The first k columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, with v_i column i of
    ``A`` (*, m, k) below the diagonal, 1 on it and 0 above (the Householder vectors of a
    QR factorization, as LAPACK's orgqr stores them), as
    ``torch.linalg.householder_product``; composed of differentiable ops."""
    a = as_tensor(A, op="linalg.householder_product")
    t = as_tensor(tau, like=a, op="linalg.householder_product")
    _matrix("linalg.householder_product", a, square=False)  # float32/float64, as orgqr
    if t.dtype != a.dtype:
        raise DtypeError(f"linalg.householder_product: tau dtype {_B.dtype_name(t.dtype)} does "
                         f"not match input dtype {_B.dtype_name(a.dtype)}")
    if a.ndim < 2 or a.shape[-2] < a.shape[-1]:
        raise ShapeError(f"linalg.householder_product: A must be (*, m, k) with m >= k, got "
                         f"shape {tuple(a.shape)}")
    if tuple(t.shape[:-1]) != tuple(a.shape[:-2]) or t.shape[-1] > a.shape[-1]:
        raise ShapeError(f"linalg.householder_product: tau of shape {tuple(t.shape)} must be "
                         f"(*, j) with j <= k for A of shape {tuple(a.shape)}")
    m, k = a.shape[-2], a.shape[-1]
    xp, be = a.xp, a._be
    eye = a._result(xp.eye(m, dtype=a.dtype, device=be.device), be)
    V = a.tril(-1) + eye[:, :k]
    Q = eye[:, :k].expand(*a.shape)
    for i in reversed(range(t.shape[-1])):
        v = V[..., :, i:i + 1]
        Q = Q - (unsqueeze(t[..., i:i + 1], -1) * v) @ (v.mT @ Q)
    return Q

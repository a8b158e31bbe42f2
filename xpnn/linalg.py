"""``xpnn.linalg``: PyTorch's ``torch.linalg`` (real tensors), differentiable.

The factorizations and inverses are Functions of :mod:`xpnn.functional.decomp` over the
backend's Array API ``linalg`` extension; the norms, vecdot, multi_dot and lstsq's solution
are built here from differentiable ops. ``import xpnn as torch; torch.linalg.norm(x)`` runs
as in PyTorch.
"""
from __future__ import annotations

import math

from . import backend as _B
from . import return_types
from ._errors import ArgumentError, DtypeError, ShapeError
from .autograd import Function, as_tensor
from .functional import (abs as _abs, amax, amin, stack, diagonal as _diagonal, matmul, mul,
                         norm as _norm, permute, reshape, squeeze, sum as _sum, to,
                         unsqueeze)
from .functional.decomp import (EighResult, LinAlgError, QRResult, SlogdetResult, SVDResult,
                                _matrix, _tolerances, cholesky, det, eigh, eigvalsh, inv,
                                pinv, qr, slogdet, solve, svd, svdvals)
from .functional.matrix import matrix_power, solve_triangular
from .functional.lu import lu, lu_factor, lu_factor_ex, lu_solve
from .functional.ldl import ldl_factor, ldl_factor_ex, ldl_solve
from .functional import _getrf
from .functional.elementwise import promote, unbroadcast
from .functional.reduce import _axes

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh",
           "eigvalsh", "householder_product", "inv", "inv_ex", "lstsq", "matmul", "matrix_exp",
           "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr",
           "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv",
           "tensorsolve", "vander", "vecdot", "vector_norm",
           "EighResult", "LstsqResult", "QRResult", "SlogdetResult", "SVDResult",
           "eig", "eigvals", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu", "lu_factor",
           "lu_factor_ex", "lu_solve"]

LstsqResult = return_types.linalg_lstsq

_INF = float("inf")


def _floating(op, x, dtype):
    """``x`` cast to ``dtype`` (in the graph) if given; integers refused, as PyTorch does."""
    if dtype is not None:
        x = to(x, dtype=dtype)
    if not x._be.is_floating(x.dtype):
        raise DtypeError(f"{op}: expected a floating point tensor as input, got "
                        f"{_B.dtype_name(x.dtype)} (pass dtype= or cast with .float())")
    return x


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (an int, a tuple, or None: every entry), as
    ``torch.linalg.vector_norm``: ord is any real number, inf (max |x|), -inf (min |x|) or
    0 (the count of nonzeros)."""
    x = _floating("linalg.vector_norm", as_tensor(x, op="linalg.vector_norm"), dtype)
    if isinstance(ord, (bool, str)) or not isinstance(ord, (int, float, _B.np.number)):
        raise TypeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    if ord < 0 or ord == _INF:
        empty = [a for a in _axes("linalg.vector_norm", dim, x.ndim) if x.shape[a] == 0]
        if empty:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on the empty "
                               f"dimension {empty[0]} (shape {x.shape}): the operation has "
                               "no identity")
    return _norm(x, float(ord) if ord != 2 else 2, dim=dim, keepdim=keepdim)


def _pair(op, dim, nd):
    """Two distinct non-negative dims from ``dim``, a 2-tuple."""
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ShapeError(f"{op}: dim must be a 2-tuple of ints, got {dim!r}")
    a, b = (_axes(op, d, nd)[0] for d in dim)
    if a == b:
        raise ShapeError(f"{op}: dims must be different, got {tuple(dim)}")
    return a, b


def _extreme(t, dim, largest, keepdim=False):
    """amax (``largest``) or amin over ``dim``; over an empty dim, as PyTorch, the maximum
    is 0 (of norms, which are >= 0) and the minimum an error."""
    if t.shape[dim] == 0:
        if not largest:
            raise IndexError(f"linalg.matrix_norm: the minimum over the empty dim {dim} (shape "
                             f"{t.shape}) has no identity")
        return _sum(t, dim=dim, keepdim=keepdim)
    return (amax if largest else amin)(t, dim=dim, keepdim=keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm over the two dims ``dim``, as ``torch.linalg.matrix_norm``: "fro",
    "nuc" (sum of singular values), 2 / -2 (largest / smallest singular value), 1 / -1 (max
    / min column sum of |A|), inf / -inf (max / min row sum of |A|)."""
    op = "linalg.matrix_norm"
    x = _floating(op, as_tensor(A, op=op), dtype)
    if x.ndim < 2:
        raise ShapeError(f"{op}: the input tensor A must have at least 2 dimensions, got "
                         f"shape {x.shape}")
    r, c = _pair(op, dim, x.ndim)
    kept = tuple(1 if i in (r, c) else n for i, n in enumerate(x.shape))
    dropped = tuple(n for i, n in enumerate(x.shape) if i not in (r, c))
    if ord == "fro":
        return _norm(x, 2, dim=(r, c), keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(x.ndim) if i not in (r, c)]
        S = svdvals(permute(x, rest + [r, c]))
        out = _sum(S, -1) if ord == "nuc" else _extreme(S, -1, ord == 2)
    elif ord in (1, -1, _INF, -_INF):
        summed, over = (r, c) if ord in (1, -1) else (c, r)
        sums = _sum(_abs(x), dim=summed, keepdim=True)
        out = _extreme(sums, over, ord > 0, keepdim=True)
    else:
        raise ArgumentError(f"{op}: Order {ord} not supported.")
    return reshape(out, kept if keepdim else dropped)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector or matrix norm, as ``torch.linalg.norm``: over ``dim`` (an int: a vector
    norm; a 2-tuple: a matrix norm); without dim, the 2-norm of every entry when ord is
    None, else the vector norm of a 1-D A or the matrix norm of a 2-D one."""
    x = as_tensor(A, op="linalg.norm")
    if dim is not None:
        if isinstance(dim, (tuple, list)) and len(dim) == 2:
            return matrix_norm(x, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
        return vector_norm(x, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(x, 2, None, keepdim, dtype=dtype)
    if x.ndim == 1:
        return vector_norm(x, ord, None, keepdim, dtype=dtype)
    if x.ndim == 2:
        return matrix_norm(x, ord, (-2, -1), keepdim, dtype=dtype)
    raise ShapeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D "
                     f"or 2D. Got {x.ndim}D.")


def vecdot(x, y, *, dim=-1):
    """The dot product of vectors along ``dim`` (other dims broadcast), as
    ``torch.linalg.vecdot``."""
    a, b = promote(x, y, "linalg.vecdot")
    if not a._be.is_floating(a.dtype):
        raise DtypeError(f"linalg.vecdot: expected floating point tensors, got "
                        f"{_B.dtype_name(a.dtype)}")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"linalg.vecdot: expected tensors with at least 1 dim, got shapes "
                         f"{a.shape} and {b.shape}")
    na, nb = a.shape[dim], b.shape[dim]
    if na != nb:
        raise ShapeError(f"linalg.vecdot: dim {dim} of the inputs differs ({na} and {nb}; "
                         f"shapes {a.shape} and {b.shape})")
    return _sum(mul(a, b), dim=dim)


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
    atol, rtol = _tolerances(x, atol, rtol)
    xp, X = x.xp, x.array
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
        return cholesky(M, upper=upper)
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


def _no_complex(op):
    raise NotImplementedError(
        f"linalg.{op}: the eigenvalues of a general real matrix may be complex, and xpnn has "
        "no complex tensors; for a symmetric matrix use linalg.eigh (or eigvalsh), whose "
        "results are real")


def eig(A):
    """``torch.linalg.eig`` needs complex tensors, which xpnn lacks: raises
    NotImplementedError (use :func:`eigh` for symmetric matrices)."""
    _matrix("linalg.eig", A)
    _no_complex("eig")


def eigvals(A):
    """``torch.linalg.eigvals`` needs complex tensors, which xpnn lacks: raises
    NotImplementedError (use :func:`eigvalsh` for symmetric matrices)."""
    _matrix("linalg.eigvals", A)
    _no_complex("eigvals")

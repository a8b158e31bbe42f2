"""``xpnn.linalg``: PyTorch's ``torch.linalg`` (real tensors), differentiable.

The factorizations and inverses are Functions of :mod:`xpnn.functional.decomp` over the
backend's Array API ``linalg`` extension; the norms, vecdot, multi_dot and lstsq's solution
are built here from differentiable ops. ``import xpnn as torch; torch.linalg.norm(x)`` runs
as in PyTorch.
"""
from __future__ import annotations


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
from .functional.elementwise import promote, unbroadcast
from .functional.reduce import _axes

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "diagonal", "eigh",
           "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_norm", "matrix_power",
           "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
           "solve_triangular", "svd", "svdvals", "vecdot", "vector_norm",
           "EighResult", "LstsqResult", "QRResult", "SlogdetResult", "SVDResult"]

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


def inv_ex(A, *, check_errors=False):
    """``(inverse, info)``, as ``torch.linalg.inv_ex``: info (*,) int32 is 0 for an
    invertible matrix, else positive (the inverse is NaN there; PyTorch's info is LAPACK's
    zero pivot, xpnn's the order of the first singular leading block)."""
    out, info = _ex("linalg.inv_ex", inv, A, check_errors, _first_failing_minor(inv))
    return return_types.linalg_inv_ex(out, info)


"""``torch.linalg``'s norms: vector_norm, matrix_norm (Frobenius, nuclear, spectral, 1/inf
and their minima) and norm, built from differentiable ops (xpnn.linalg re-exports them).
"""
from __future__ import annotations

from . import backend as _B
from ._errors import ArgumentError, DtypeError, ShapeError
from .autograd import as_tensor
from .functional import (abs as _abs, amax, amin, norm as _norm, permute, reshape, sum as _sum,
                         to)
from .functional.decomp import svdvals
from .functional.reduce import _axes

_INF = float("inf")


def _floating(op, x, dtype, moduli=False):
    """``x`` cast to ``dtype`` (in the graph) if given; integers refused, as PyTorch does.
    ``moduli``: a complex ``x`` becomes ``abs(x)`` (a norm that only reads |x|), else it is
    refused."""
    if dtype is not None:
        if x._be.is_complex(x.dtype) and not x._be.is_complex(x._be.dtype(dtype)):
            raise DtypeError(f"{op}: dtype should be complex for complex inputs, got "
                            f"{_B.dtype_name(x._be.dtype(dtype))} for a "
                            f"{_B.dtype_name(x.dtype)} input")
        x = to(x, dtype=dtype)
    if moduli and x._be.is_complex(x.dtype):
        x = _abs(x)
    if not x._be.is_floating(x.dtype):
        raise DtypeError(f"{op}: expected a floating point tensor as input, got "
                        f"{_B.dtype_name(x.dtype)} (pass dtype= or cast with .float())")
    return x


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (an int, a tuple, or None: every entry), as
    ``torch.linalg.vector_norm``: ord is any real number, inf (max |x|), -inf (min |x|) or
    0 (the count of nonzeros)."""
    x = _floating("linalg.vector_norm", as_tensor(x, op="linalg.vector_norm"), dtype,
                  moduli=True)
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
    # the singular values of a complex matrix are not those of its moduli: only the
    # entrywise norms read |A|
    x = _floating(op, as_tensor(A, op=op), dtype, moduli=ord not in ("nuc", 2, -2))
    if isinstance(ord, bool) or ord not in ("fro", "nuc", 2, -2, 1, -1, _INF, -_INF):
        raise ArgumentError(f"{op}: Order {ord} not supported.")
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
    if isinstance(ord, str) and (dim is not None or x.ndim < 3):
        # "fro", "nuc" (or a wrong string): a matrix norm, as PyTorch
        return matrix_norm(x, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
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

"""What the matrix functions of decomp.py, decomp_orth.py, lu.py, ldl.py and matrix.py
share: LinAlgError and the turning of a library's linear-algebra error into it (with
PyTorch's wording for a zero pivot), torch.linalg's named result tuples, the transpose and
identity helpers, and the check that an argument is a (batch of) matrices."""
from __future__ import annotations

import contextlib

from .. import backend as _B
from .. import return_types
from .._errors import DtypeNotImplemented, ShapeError
from ..autograd import as_tensor
from ._getrf import _factor, _info


class LinAlgError(RuntimeError):
    """A matrix function failed on its input (``torch.linalg.LinAlgError``): a singular
    matrix given to inv or solve, a matrix that is not positive-definite given to cholesky."""


SlogdetResult = return_types.linalg_slogdet
QRResult = return_types.linalg_qr
EighResult = return_types.linalg_eigh
SVDResult = return_types.linalg_svd


@contextlib.contextmanager
def _reported(be, message):
    """Turn the library's own linear-algebra error into :class:`LinAlgError`."""
    errors = (_B.np.linalg.LinAlgError,) + tuple(
        e for e in (getattr(getattr(be.lib, "linalg", None), "LinAlgError", None),)
        if isinstance(e, type))
    try:
        yield
    except errors:
        raise LinAlgError(message) from None


def _zero_pivot_message(xp, A):
    """linalg.inv's error for a singular A, as PyTorch words it: the batch element and the
    1-based index of the first zero pivot of its LU factorization (read on the host: the
    library has already reported the failure there)."""
    where, code = _first_singular(xp, A)
    return (f"linalg.inv: {where}The diagonal element {code} is zero, the inversion could "
            "not be completed because the input matrix is singular.")


def _first_singular(xp, A):
    """PyTorch's "(Batch element b): " naming the first singular matrix of A ("" for one
    matrix) and the 1-based index of its first zero LU pivot (read on the host)."""
    info = _B.to_numpy(_info(xp, _factor(xp, A)[0])).reshape(-1)
    bad = [(b, int(code)) for b, code in enumerate(info) if code] or \
        [(0, A.shape[-1])]  # singular to rounding only: the LU has no exact zero
    b, code = bad[0]
    return (f"(Batch element {b}): " if A.ndim > 2 else ""), code


def _not_positive_definite(op, A):
    """cholesky's error for A, as PyTorch words it: the batch element and the order of its
    first leading minor that is not positive-definite (an unblocked factorization on the
    host: the library has already reported the failure there)."""
    np = _B.np
    flat = _B.to_numpy(A).reshape((-1,) + tuple(A.shape[-2:]))
    for b, M in enumerate(flat):
        L = np.zeros_like(M)
        for j in range(M.shape[-1]):
            d = M[j, j] - L[j, :j] @ L[j, :j]
            if not d > 0:
                where = f"(Batch element {b}): " if A.ndim > 2 else ""
                return (f"{op}: {where}The factorization could not be completed because the "
                        f"input is not positive-definite (the leading minor of order {j + 1} "
                        "is not positive-definite).")
            L[j, j] = np.sqrt(d)
            L[j + 1:, j] = (M[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return (f"{op}: The factorization could not be completed because the input is not "
            "positive-definite.")


def _T(xp, X):
    return xp.matrix_transpose(X)


def _eye(xp, n, like):
    return xp.eye(n, dtype=like.dtype, device=like.device)


def _matrix(op, A, square=True, floating=True):
    """``A`` as a (floating, unless not ``floating``) Tensor of (batches of) matrices, or an
    error naming ``op``."""
    x = as_tensor(A, op=op)
    name = _B.dtype_name(x.dtype)
    # torch's LAPACK kernels have no int or half forms: its RuntimeError or
    # NotImplementedError, both met by DtypeNotImplemented (a RuntimeError too)
    if floating and not x._be.is_floating(x.dtype):
        raise DtypeNotImplemented(f"{op}: expected a floating point tensor as input, got "
                                  f"{name}")
    if floating and name in ("float16", "bfloat16"):
        raise DtypeNotImplemented(f"{op}: Low precision dtypes not supported. Got {name}")
    if x.ndim < 2:
        raise ShapeError(f"{op}: the input tensor A must have at least 2 dimensions, got "
                         f"shape {x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"{op}: A must be batches of square matrices, but they are "
                         f"{x.shape[-2]} by {x.shape[-1]} matrices (shape {x.shape})")
    return x

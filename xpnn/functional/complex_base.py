"""The pieces of complex support that every op family needs, free of imports from the op
modules (so elementwise.py, unary.py, compare.py... can use them): the conjugate that a
backward multiplies by, and the refusal of ops that have no complex form.

Gradients of complex tensors follow PyTorch's convention: for a real loss L of z = x + iy,
the gradient is dL/dx + i dL/dy, so a holomorphic y = f(z) passes back dY * conj(f'(z)).
"""
from __future__ import annotations

from .. import backend as B
from .._errors import DtypeError, DtypeNotImplemented


def conj(xp, a):
    """conj(a) for a complex array; a real array as it is (no copy). Hot: the backwards of
    mul, div and matmul call it on real arrays at every step (see B.is_complex_dtype)."""
    return xp.conj(a) if B.is_complex_dtype(xp, a.dtype) else a


def real_like(xp, g, dtype):
    """A gradient ``g`` brought to an input's ``dtype``: the real part where the input is
    real and ``g`` complex (dL/dx of z = x + 0i), else ``g`` cast."""
    if B.is_complex_dtype(xp, g.dtype) and not B.is_complex_dtype(xp, dtype):
        g = xp.real(g)
    return g if g.dtype == dtype else xp.astype(g, dtype)


def refuse_complex(op, *tensors, kind="not_implemented"):
    """Raise PyTorch's error class where an op has no complex form (orderings, clamps,
    rounding): NotImplementedError (``kind="not_implemented"``) or RuntimeError
    (``kind="runtime"``), both naming ``op`` and the dtype received."""
    for t in tensors:  # hot (every activation asks): the cached dtype test for Tensors
        be, dt = getattr(t, "_be", None), getattr(t, "dtype", None)
        if dt is None or not (B.is_complex_dtype(be.xp, dt) if be is not None else
                              B.dtype_name(dt) in B.COMPLEX_DTYPES):
            continue
        cls = DtypeNotImplemented if kind == "not_implemented" else DtypeError
        raise cls(f"{op}: not supported for complex tensors (got {B.dtype_name(dt)}); "
                  "take .real, .imag, .abs() or .angle() first")

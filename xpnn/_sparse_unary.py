"""Elementwise ops on sparse COO tensors (xpnn/_sparse_coo.py) that keep zeros: f(0) == 0,
so the result stores the same positions, as PyTorch's sparse kernels.

Each op coalesces first (f of a sum is not the sum of f's) and applies the dense op to the
values, so autograd goes through the values as everywhere else; ``neg`` and ``positive``
keep an uncoalesced tensor as it is. The dense functions dispatch a sparse input here
(``xpnn.sin(s)`` -> ``s._sparse_unary("sin")``); the methods (``s.sin()``, ``s // 2``) are
those of :class:`SparseUnaryOps`, a base of SparseTensor. Ops whose f(0) != 0 (exp, cos,
sigmoid, ...) raise PyTorch's NotImplementedError.
"""
from __future__ import annotations

from . import functional as F
from ._memory_format import sparse_coo
from .autograd import TensorBase

# f(0) == 0: the stored positions stay (PyTorch 2.13 has a sparse COO kernel for each)
KEEP_ZERO = ("abs", "sqrt", "sin", "tan", "tanh", "asin", "atan", "sinh", "asinh", "atanh",
             "erf", "erfinv", "expm1", "log1p", "relu", "sign", "sgn", "trunc", "floor",
             "ceil", "round", "frac", "square", "nan_to_num", "deg2rad", "rad2deg", "isnan",
             "isinf", "signbit", "isposinf", "isneginf")
# f(0) != 0 or no sparse kernel in PyTorch: refused with its NotImplementedError
REFUSED = ("exp", "exp2", "cos", "cosh", "acos", "log", "log2", "log10", "sigmoid",
           "reciprocal", "rsqrt", "erfc", "isfinite", "logit")


def no_kernel(x, name):
    """PyTorch's error for an op without a sparse COO kernel."""
    where = "SparseCUDA" if x.is_cuda else "SparseCPU"
    return NotImplementedError(f"Could not run 'aten::{name}' with arguments from the "
                               f"'{where}' backend: {name} of a sparse COO tensor would not "
                               "keep its zeros (call .to_dense() first)")


def _with_values(c, values):
    return type(c)(c._i, values, c._size, True)


def _sparse(x):
    return getattr(x, "layout", None) is sparse_coo


def sparse_unary(x, name, *args, **kwargs):
    """``name`` applied to the stored values of ``x`` (coalesced first); a sparse result."""
    if name in ("neg", "negative"):
        return x.neg()
    if name == "positive":
        return x
    if name == "pow":
        return sparse_pow(x, *args, **kwargs)
    if name not in KEEP_ZERO:
        raise no_kernel(x, name)
    c = x.coalesce()
    return _with_values(c, getattr(F, name)(c._v, *args, **kwargs))


def sparse_pow(x, exponent):
    """``x ** exponent`` for a number (or 0-d tensor) exponent other than 0 (PyTorch: a
    zeroth power would be dense)."""
    if _sparse(exponent) or (isinstance(exponent, TensorBase)
                                              and exponent.ndim):
        raise NotImplementedError("pow: xpnn raises a sparse tensor to a number (or 0-d "
                                  "tensor) exponent only")
    if not isinstance(exponent, TensorBase) and exponent == 0:
        raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor; it would make "
                           "the result tensor dense")
    c = x.coalesce()
    return _with_values(c, F.pow(c._v, exponent))


def sparse_div(x, other, rounding_mode=None):
    """``x / other`` for a number or 0-d dense tensor; with a rounding mode the tensor is
    coalesced first (floor of a sum is not the sum of floors), as PyTorch's."""
    if _sparse(other) or (isinstance(other, TensorBase) and other.ndim):
        shape = list(other.shape)
        kind = "floor division" if rounding_mode == "floor" else "division"
        raise RuntimeError(f"Sparse {kind} requires a scalar or zero-dim dense tensor "
                           f"divisor (got shape {shape} for divisor)")
    if rounding_mode is None:
        return type(x)(x._i, F.div(x._v, other), x._size, x._coalesced)
    c = x.coalesce()
    return _with_values(c, F.div(c._v, other, rounding_mode=rounding_mode))


class SparseUnaryOps:
    """The elementwise methods of SparseTensor (a base class: ``s.sqrt()``, ``s.pow(2)``,
    ``s / 2``, ``s // 2``, ``abs(s)``); one per name in KEEP_ZERO and REFUSED, added
    below."""

    __slots__ = ()
    _sparse_unary = sparse_unary

    def pow(self, exponent):
        return sparse_pow(self, exponent)

    def positive(self):
        return self

    def div(self, other, *, rounding_mode=None):
        """``self / other`` (a number or 0-d tensor); "floor"/"trunc" round it."""
        return sparse_div(self, other, rounding_mode)

    def __truediv__(self, other):
        return sparse_div(self, other)

    def __floordiv__(self, other):
        return sparse_div(self, other, "floor")

    def floor_divide(self, other):
        return sparse_div(self, other, "floor")

    divide = div
    __pow__ = pow
    __pos__ = positive


def _method(name):
    def method(self, *args, **kwargs):
        return sparse_unary(self, name, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``xpnn.{name}`` of this sparse tensor (see xpnn/_sparse_unary.py)."
    return method


for _name in KEEP_ZERO + REFUSED:
    setattr(SparseUnaryOps, _name, _method(_name))
SparseUnaryOps.absolute = SparseUnaryOps.__abs__ = SparseUnaryOps.abs

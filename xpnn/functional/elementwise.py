"""Elementwise arithmetic and math: broadcasting ops whose gradients are reduced back.

Type promotion is PyTorch's: a Python number or a 0-d tensor does not change the dtype of a
dimensioned tensor of the same kind (float32 * 2.0 and float32 * tensor(2.0, float64) stay
float32), an integer meeting a float becomes that float, and true division of integers gives
the default float dtype.

The one-input math Functions are in unary.py, the comparisons, ``where`` and ``masked_fill``
in compare.py, promotion and broadcasting in broadcast.py; this module keeps the binary
arithmetic (add, sub, mul, div, pow, maximum/minimum), clamp, and re-exports the others, so
``from .elementwise import X`` keeps working.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor
from .._errors import ArgumentError, DtypeError, DtypeNotImplemented, ZeroDivision
from .complex import conj as conj_t  # Tensors: the recorded backwards (a real one as is)
from .complex import real as real_t
from .complex_base import conj, refuse_complex
from .broadcast import (_broadcastable, _cast, _floating, _kind, _saved_for,  # noqa: F401
                        is_sparse_coo, promote, promote_float, quiet, unbroadcast,
                        unbroadcast_graph)
from .compare import (Compare, Predicate, Where, argwhere, eq, ge, greater,  # noqa: F401
                      greater_equal, gt, isfinite, isinf, isnan, le, less, less_equal,
                      logical_and, logical_not, logical_or, logical_xor, lt, masked_fill, ne,
                      nonzero, not_equal, where)
from .intops import IntBinary  # recorded ops, so an ONNX export sees them
from .intops import check_alpha as _check_alpha, int_pow
from .clamp_lerp import Clip, Lerp, clamp, clip, lerp  # noqa: F401 (re-exported)
from .fmod_kernels import fmod_array
from .transfer import to
from .unary import (Abs, Constant, Cos, Exp, Expm1, Log, Log1p, Neg, _rounding,  # noqa: F401
                    Reciprocal, Rsqrt, Sin, Sqrt, abs, absolute, ceil, cos, exp, expm1, floor,
                    log, log1p, neg, negative, reciprocal, rsqrt, sign, sin, sqrt, trunc)


@quiet
class Add(Function):
    saved_inputs = ()

    def forward(self, A, B, alpha=1):
        self.shapes, self.alpha = (A.shape, B.shape), alpha
        return A + B if alpha == 1 else A + alpha * B

    def backward(self, dY):
        sa, sb = self.shapes
        dB = None
        if self.needs[1]:
            dB = unbroadcast(self.xp, dY if self.alpha == 1 else dY * self.alpha, sb)
        return unbroadcast(self.xp, dY, sa) if self.needs[0] else None, dB

    def backward_graph(self, dY):
        sa, sb = self.shapes
        dB = unbroadcast_graph(dY if self.alpha == 1 else dY * self.alpha, sb) \
            if self.needs[1] else None
        return unbroadcast_graph(dY, sa) if self.needs[0] else None, dB


@quiet
class Sub(Function):
    saved_inputs = ()

    def forward(self, A, B, alpha=1):
        self.shapes, self.alpha = (A.shape, B.shape), alpha
        return A - B if alpha == 1 else A - alpha * B

    def backward(self, dY):
        sa, sb = self.shapes
        dB = unbroadcast(self.xp, -dY if self.alpha == 1 else dY * -self.alpha, sb) \
            if self.needs[1] else None
        return unbroadcast(self.xp, dY, sa) if self.needs[0] else None, dB

    def backward_graph(self, dY):
        sa, sb = self.shapes
        dB = unbroadcast_graph(-dY if self.alpha == 1 else dY * -self.alpha, sb) \
            if self.needs[1] else None
        return unbroadcast_graph(dY, sa) if self.needs[0] else None, dB


@quiet
class Mul(Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        self.saved_inputs = _saved_for(self.needs)
        return A * B

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp  # complex: dA = dY conj(B), dB = dY conj(A)
        dA = unbroadcast(xp, dY * conj(xp, B), A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, dY * conj(xp, A), B.shape) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        A, B = self.inputs
        dA = unbroadcast_graph(dY * conj_t(B), A.shape) if self.needs[0] else None
        dB = unbroadcast_graph(dY * conj_t(A), B.shape) if self.needs[1] else None
        return dA, dB


@quiet
class Div(Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        self.saved_inputs = (1,) if not self.needs[1] else (0, 1)  # dB reads A and B
        return A / B

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp  # complex: the conjugates of the derivatives
        dA = unbroadcast(xp, dY / conj(xp, B), A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, -dY * conj(xp, A) / conj(xp, B * B), B.shape) \
            if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        A, B = self.inputs
        dA = unbroadcast_graph(dY / conj_t(B), A.shape) if self.needs[0] else None
        dB = unbroadcast_graph(-dY * conj_t(A) / conj_t(B * B), B.shape) \
            if self.needs[1] else None
        return dA, dB


@quiet
class Pow(Function):
    saves_output = True

    def forward(self, A, B):
        self.A, self.B = A, B
        integer = not self.be.is_inexact(A.dtype) and A.dtype != self.xp.bool
        self.Y = int_pow(self.xp, A, B) if integer else A ** B
        return self.Y

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        zero = xp.zeros((), dtype=dY.dtype, device=dY.device)
        dA = dB = None
        if self.needs[0]:
            # d(a^b)/da = b a^(b-1), taken as 0 where b == 0 (PyTorch: a^0 is constant);
            # complex: conjugated (PyTorch's convention)
            dA = xp.where(B == 0, zero, dY * conj(xp, B * A ** (B - 1)))
            dA = unbroadcast(xp, dA, A.shape)
        if self.needs[1]:
            # d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (Re b for complex;
            # PyTorch's rule: NaN where a < 0, -inf at a == 0 and b < 0, where a^b is inf)
            re_b = xp.real(B) if self.be.is_complex(B.dtype) else B
            dB = xp.where((A == 0) & (re_b >= 0), zero, dY * conj(xp, self.Y * xp.log(A)))
            dB = unbroadcast(xp, dB, B.shape)
        return dA, dB

    def backward_graph(self, dY):
        A, B = self.inputs
        dA = dB = None
        if self.needs[0]:
            dA = unbroadcast_graph(where(B == 0, 0.0, dY * conj_t(B * A ** (B - 1))), A.shape)
        if self.needs[1]:
            re_b = real_t(B) if B._be.is_complex(B.dtype) else B
            dB = where((A == 0) & (re_b >= 0), 0.0, dY * conj_t(A ** B * log(A)))
            dB = unbroadcast_graph(dB, B.shape)
        return dA, dB


@quiet
class PowScalar(Function):
    def forward(self, X, p):
        self.X, self.p = X, p
        return X ** p

    def backward(self, dY):
        if self.p == 0:  # x^0 = 1: no gradient, even at x = 0 (0 * 0^-1 would be NaN)
            return self.xp.zeros_like(dY)
        return dY * conj(self.xp, self.p * self.X ** (self.p - 1))

    def backward_graph(self, dY):
        if self.p == 0:
            return dY * 0
        return dY * conj_t(self.p * self.inputs[0] ** (self.p - 1))


def _floor_div(be, A, B):
    """floor(A / B) as Python's float ``//`` (and PyTorch's): from the exact remainder, so
    1. // 0.1 is 9 (floor of the rounded quotient 10.0 would be 10), inf // 2 is NaN and
    7 // -inf is -1; a zero divisor gives A / B."""
    xp = be.xp
    mod = fmod_array(be, A, B)
    div = (A - mod) / B
    div = xp.where((mod != 0) & ((B < 0) != (mod < 0)), div - 1, div)
    whole = xp.floor(div)
    whole = xp.where(div - whole > 0.5, whole + 1, whole)
    whole = xp.where(div == 0, xp.copysign(xp.zeros_like(div), A / B), whole)
    return xp.where(B == 0, A / B, whole)


@quiet
class RoundedDiv(Function):
    """floor or trunc of A / B (floats): a zero gradient to both, as PyTorch's (not
    Constant after Div, whose backward would give 0 / 0 = NaN where B == 0), or none where
    ``no_derivative`` names the op (floor_divide): backward raises."""

    saved_inputs = ()

    def forward(self, A, B, mode=None, no_derivative=None):
        self.shapes, self.no_derivative = (A.shape, B.shape), no_derivative
        return _floor_div(self.be, A, B) if mode == "floor" else self.xp.trunc(A / B)

    def backward(self, dY):
        if self.no_derivative is not None:
            raise RuntimeError(f"{self.no_derivative}: derivative for "
                               f"aten::{self.no_derivative} is not implemented")
        xp = self.xp
        return tuple(xp.zeros(s, dtype=dY.dtype, device=dY.device) if need else None
                     for s, need in zip(self.shapes, self.needs))

    def backward_graph(self, dY):
        return tuple(None if d is None else dY._result(d, dY._be) for d in
                     self.backward(dY.array))


class Maximum(Function):
    """max(A, B) elementwise (sign=-1: min); at a tie each side gets half the gradient, and
    where either is NaN both get all of it, as in PyTorch (each side's weight is 1 less
    where it lost, less a half where it tied)."""

    saved_inputs = ()

    def forward(self, A, B, sign=1):
        xp = self.xp
        self.shapes = (A.shape, B.shape)
        if A.dtype == xp.bool:  # the standard orders numbers only: max is "or", min "and"
            return A | B if sign > 0 else A & B
        if self.record:
            half = 0.5 * xp.astype(A == B, A.dtype)
            self.wa = 1 - xp.astype(A < B if sign > 0 else A > B, A.dtype) - half
            self.wb = 1 - xp.astype(A > B if sign > 0 else A < B, A.dtype) - half
        return xp.maximum(A, B) if sign > 0 else xp.minimum(A, B)

    def backward(self, dY):
        xp, (sa, sb) = self.xp, self.shapes
        dA = unbroadcast(xp, dY * self.wa, sa) if self.needs[0] else None
        dB = unbroadcast(xp, dY * self.wb, sb) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        sa, sb = self.shapes  # wa, wb: constants of the inputs' order
        dA = unbroadcast_graph(dY * self.wa, sa) if self.needs[0] else None
        dB = unbroadcast_graph(dY * self.wb, sb) if self.needs[1] else None
        return dA, dB


# -- public functions ------------------------------------------------------------------------
def add(input, other, *, alpha=1):
    """input + alpha * other, broadcasting. Two bools add as "or" (PyTorch)."""
    if is_sparse_coo(other):
        other = other.to_dense()
    a, b = promote(input, other, "add")
    _check_alpha("add", a, alpha)
    if a.dtype == a.xp.bool and b.dtype == a.dtype and alpha in (1, True):
        return logical_or(a, b)  # the Array API adds numbers only
    return Add.apply(a, b, alpha=alpha)


def sub(input, other, *, alpha=1):
    """input - alpha * other, broadcasting (a bool on either side refuses, as PyTorch)."""
    if any(isinstance(v, bool) or isinstance(v, TensorBase) and v.dtype == v.xp.bool
           for v in (input, other)):  # PyTorch refuses a bool on either side
        raise DtypeError("sub: subtraction with a bool tensor or bool is not supported; use "
                         "~ or logical_not to invert a mask, ^ or logical_xor for two")
    if is_sparse_coo(other):
        other = other.to_dense()
    a, b = promote(input, other, "sub")
    _check_alpha("sub", a, alpha)
    return Sub.apply(a, b, alpha=alpha)


subtract = sub


def mul(input, other):
    """input * other, broadcasting. Two bools multiply as "and" (PyTorch)."""
    if is_sparse_coo(other) and isinstance(input, TensorBase):
        return other.mul(input)
    a, b = promote(input, other, "mul")
    if a.dtype == a.xp.bool and b.dtype == a.dtype:
        return logical_and(a, b)  # the Array API multiplies numbers only
    return Mul.apply(a, b)


multiply = mul


def div(input, other, *, rounding_mode=None):
    """input / other; integers divide to the default float dtype (``rounding_mode``
    "trunc" or "floor" keeps them integral, with a zero gradient)."""
    if is_sparse_coo(input):
        return input.div(other, rounding_mode=rounding_mode)
    return rounded_div(input, other, rounding_mode)


def rounded_div(input, other, rounding_mode, no_derivative=None):
    """:func:`div`; ``no_derivative`` names an op whose backward refuses, as PyTorch's
    (``floor_divide``: its floats have no derivative there, ``div(rounding_mode="floor")``
    has a zero one)."""
    a, b = (promote if rounding_mode is not None else promote_float)(input, other, "div")
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ArgumentError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                                f"{rounding_mode!r}")
        if a.dtype == a.xp.bool:  # PyTorch has no bool kernel for a rounded division
            raise DtypeNotImplemented(f"div: rounding_mode={rounding_mode!r} is not "
                                      "implemented for two bool tensors")
        if not a._be.is_floating(a.dtype):  # exact in the integers (floats lose > 2^24)
            check_divisor(a._be, b.array, "div")
            return IntBinary.apply(a, b, op=rounding_mode)
        q = RoundedDiv.apply(_floating(a), _floating(b), mode=rounding_mode,
                             no_derivative=no_derivative)
        return q if a._be.is_floating(a.dtype) else _cast(q, a.dtype)
    if not a._be.is_inexact(a.dtype):
        a, b = _floating(a), _floating(b)
    return Div.apply(a, b)


divide = true_divide = div


def check_divisor(be, B, op):
    """Raise for an integer divisor array holding a 0, where it is on the host (a check on
    a device would sync): PyTorch raises; NumPy gave 0 or INT_MIN."""
    if be.on_host and bool(be.xp.any(B == 0)):
        raise ZeroDivision(f"{op}: integer division by zero, as in PyTorch")


def _int_div(be, A, B, rounding_mode, op):
    """A // B of two integer arrays, rounded toward -inf ("floor") or 0 ("trunc"); a zero
    divisor raises (:func:`check_divisor`)."""
    xp = be.xp
    check_divisor(be, B, op)
    with be.quiet():
        q = xp.floor_divide(A, B)
        if rounding_mode == "trunc":  # floor and trunc differ for a negative inexact quotient
            q = xp.where((xp.remainder(A, B) != 0) & ((A < 0) != (B < 0)), q + 1, q)
    return q


def pow(input, exponent):
    """input ** exponent; a Python-number exponent takes the one-input path."""
    if is_sparse_coo(input):
        return input.pow(exponent)
    if isinstance(input, TensorBase) and isinstance(exponent, (int, float, B.np.number)) \
            and not isinstance(exponent, bool):
        # a NumPy float64 exponent would upcast float32: take the Python number it holds
        p = exponent.item() if isinstance(exponent, B.np.number) else exponent
        if isinstance(p, float) and not input._be.is_inexact(input.dtype):
            input = _floating(input)
        elif input.dtype == input.xp.bool:  # PyTorch: bool ** int is int64
            input = to(input, dtype="int64")
        elif p < 0 and not input._be.is_inexact(input.dtype):
            raise DtypeError(f"pow: integers to negative integer powers are not allowed "
                             f"({B.dtype_name(input.dtype)} tensor ** {p})")
        return PowScalar.apply(input, p=p)
    a, b = promote(input, exponent, "pow")
    if a.dtype == a.xp.bool:  # PyTorch has no bool ** bool kernel (NumPy gives int8)
        raise DtypeNotImplemented("pow: not implemented for bool tensors (input and exponent "
                                  "are bool), as in PyTorch")
    return Pow.apply(a, b)


def maximum(input, other):
    a, b = promote(input, other, "maximum")
    refuse_complex("maximum", a, b, kind="runtime")
    return Maximum.apply(a, b, sign=1)


def minimum(input, other):
    a, b = promote(input, other, "minimum")
    refuse_complex("minimum", a, b, kind="runtime")
    return Maximum.apply(a, b, sign=-1)


def square(input):
    if is_sparse_coo(input):
        return input.square()
    x = as_tensor(input, op="square")
    if x.dtype == x.xp.bool:  # PyTorch squares bools as int64
        x = to(x, dtype=x.xp.int64)
    return Mul.apply(x, x)


def round(input, decimals=0):
    """Round half to even (as PyTorch), optionally to ``decimals`` places; zero gradient."""
    if is_sparse_coo(input):
        return input.round(decimals=decimals)
    x = as_tensor(input, op="round")
    if decimals == 0:
        return _rounding("round")(x)
    scale = 10.0 ** decimals
    return div(_rounding("round")(mul(x, scale)), scale)

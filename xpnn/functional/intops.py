"""Ops on integer and bool tensors that have no gradient (integer remainder, fmod and
division, bitwise and shift ops, all/any), written as Functions so that they are recorded:
an ONNX export sees them like any other op instead of a value computed outside the trace.

Each one runs the array code the public function ran before (imported from nowhere else in
xpnn.functional: DESIGN.md's imports are one-way); the public functions keep their argument
checks (a zero integer divisor raises there). ``gcd``/``lcm`` (no gradient either) live here
too, re-exported by moremath.py.
"""
from __future__ import annotations

from .. import backend as B
from .._errors import ArgumentError, DtypeNotImplemented
from ..autograd import Function
from .broadcast import promote
from .dtype_refusals import refuse_dtypes


def int_pow(xp, A, B):
    """Integer A ** B elementwise, as PyTorch: a negative power truncates to 0 except for
    bases 1 and -1 (NumPy refuses the whole call)."""
    zero, one = (xp.asarray(v, dtype=A.dtype, device=A.device) for v in (0, 1))
    if xp.iinfo(A.dtype).min == 0:  # unsigned: no negative power (and no -1 to compare)
        return A ** B
    neg = B < 0
    Y = A ** xp.where(neg, zero, B)
    odd = (B % 2) != 0
    small = xp.where(A == 1, one, xp.where(A == -1, xp.where(odd, -one, one), zero))
    return xp.where(neg, small, Y)


def check_alpha(name, a, alpha):
    """A float alpha of add/sub with integer or bool tensors: PyTorch refuses it (NumPy
    would give a silent float64)."""
    if isinstance(alpha, float) and not (a._be.is_floating(a.dtype) or
                                         a._be.is_complex(a.dtype)):
        raise ArgumentError(f"{name}: for integral input tensors, alpha must not be a "
                            f"floating point number, got alpha={alpha} with dtype "
                            f"{B.dtype_name(a.dtype)}")


def _floor_div(be, A, B):
    return be.xp.floor_divide(A, B)


def _trunc_div(be, A, B):
    """floor, then one up where the quotient is negative and inexact."""
    xp = be.xp
    q = xp.floor_divide(A, B)
    return xp.where((xp.remainder(A, B) != 0) & ((A < 0) != (B < 0)), q + 1, q)


def _fmod(be, A, B):
    """C's fmod of integers: |A| mod |B| with A's sign (exact)."""
    xp = be.xp
    R = xp.remainder(xp.abs(A), xp.abs(B))
    return xp.where(A < 0, -R, R)


_BINARY = {
    "remainder": lambda be, A, B: be.xp.remainder(A, B),  # the divisor's sign (Python's %)
    "fmod": _fmod,  # the dividend's sign (C's fmod)
    "floor": _floor_div,
    "trunc": _trunc_div,
    "and": lambda be, A, B: be.xp.bitwise_and(A, B),
    "or": lambda be, A, B: be.xp.bitwise_or(A, B),
    "xor": lambda be, A, B: be.xp.bitwise_xor(A, B),
    "lshift": lambda be, A, B: _shift(be, A, B, be.xp.bitwise_left_shift, False),
    "rshift": lambda be, A, B: _shift(be, A, B, be.xp.bitwise_right_shift, True),
}


def _shift(be, A, B, op, right):
    """A shifted by B, as PyTorch: a shift that is negative or of at least the width
    shifts every bit out (0; a right shift of a negative signed A: -1, its sign), where the
    Array API leaves it undefined (array-api-strict refuses a negative shift)."""
    xp = be.xp
    zero = xp.zeros_like(A)
    out = (B < 0) | (B >= xp.iinfo(A.dtype).bits)
    Y = op(A, xp.where(out, zero, B))
    fill = xp.where(A < 0, zero - 1, zero) if right else zero  # unsigned A is never < 0
    return xp.where(out, fill, Y)


class IntBinary(Function):
    """An integer result of two integer inputs of one dtype (``op``: remainder, fmod,
    floor, trunc, and, or, xor, lshift, rshift)."""

    differentiable = False

    def forward(self, A, B, op=None):
        with self.be.quiet():
            return _BINARY[op](self.be, A, B)


class IntInvert(Function):
    """~X of an integer tensor (every bit flipped: -X - 1 for signed integers)."""

    differentiable = False

    def forward(self, X):
        return self.xp.bitwise_invert(X)


class BoolReduce(Function):
    """all / any (``op``) over ``axes`` of X, numbers counting as X != 0; a bool result."""

    differentiable = False

    def forward(self, X, op="all", axes=(), keepdims=False):
        xp = self.xp
        truth = X if X.dtype == xp.bool else X != 0
        return getattr(xp, op)(truth, axis=axes, keepdims=keepdims)


def gcd(input, other):
    """The greatest common divisor of integer tensors, elementwise (``torch.gcd``;
    gcd(0, 0) = 0, always non-negative). Euclid's steps run until every remainder is zero:
    one host read per step."""
    a, b = promote(input, other, "gcd")
    be, xp = a._be, a.xp
    refuse_dtypes("gcd", ("complex",), a, b)
    if be.is_floating(a.dtype) or a.dtype == xp.bool:
        raise DtypeNotImplemented(f"gcd: expected integer tensors, got {B.dtype_name(a.dtype)}")
    x, y = xp.abs(a.array), xp.abs(b.array)
    x, y = xp.broadcast_arrays(x, y)
    while bool(xp.any(y != 0)):  # (x, y) -> (y, x mod y) where y != 0; x is done where 0
        done = y == 0
        r = x % xp.where(done, xp.ones_like(y), y)
        x, y = xp.where(done, x, y), xp.where(done, y, r)
    return a._result(x, be)


def lcm(input, other):
    """The least common multiple of integer tensors, elementwise (``torch.lcm``; 0 if
    either is 0)."""
    a, b = promote(input, other, "lcm")
    refuse_dtypes("lcm", ("bool", "floating", "complex"), a, b)
    g = gcd(a, b).array
    xp = a.xp
    safe = xp.where(g == 0, xp.ones_like(g), g)
    return a._result(xp.abs(a.array // safe * b.array), a._be)

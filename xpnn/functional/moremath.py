"""The rest of PyTorch's everyday math: the other elementwise functions (tan, the inverse
and hyperbolic trigonometric functions, log2/log10/exp2), atan2, hypot, logaddexp,
remainder, floor_divide, isclose, nan_to_num, clamp_min/clamp_max, count_nonzero,
logaddexp2, float_power, ldexp, gcd/lcm, inner, dist, allclose and equal.

Each differentiable one is a Function whose backward is one line of the derivative; the
unary ones share :class:`Unary`, with a table of (forward, derivative).
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError
from ..autograd import Function, TensorBase, as_tensor
from .broadcast import is_sparse_coo
from .elementwise import (_floating, check_divisor, clamp, promote, promote_float, quiet,
                          unbroadcast)
from .graph_math import remainder_graph, unary_graph
from . import elementwise as E
from .intops import IntBinary, IntInvert  # recorded ops, so an ONNX export sees them
from .intops import gcd, lcm  # noqa: F401 (torch.gcd/lcm, the integer ops' module)
from .dtype_refusals import refuse_dtypes, refuse_promoted
from .scalar_args import number_only

_LN2, _LN10 = math.log(2.0), math.log(10.0)

# name -> (forward(xp, X), derivative(xp, X, Y)); the derivative is NaN or inf outside the
# domain exactly where PyTorch's is
UNARY = {
    "tan": (lambda xp, X: xp.tan(X), lambda xp, X, Y: 1 + Y * Y),
    "asin": (lambda xp, X: xp.asin(X), lambda xp, X, Y: 1 / xp.sqrt(1 - X * X)),
    "acos": (lambda xp, X: xp.acos(X), lambda xp, X, Y: -1 / xp.sqrt(1 - X * X)),
    "atan": (lambda xp, X: xp.atan(X), lambda xp, X, Y: 1 / (1 + X * X)),
    "sinh": (lambda xp, X: xp.sinh(X), lambda xp, X, Y: xp.cosh(X)),
    "cosh": (lambda xp, X: xp.cosh(X), lambda xp, X, Y: xp.sinh(X)),
    "asinh": (lambda xp, X: xp.asinh(X), lambda xp, X, Y: 1 / xp.sqrt(X * X + 1)),
    "acosh": (lambda xp, X: xp.acosh(X), lambda xp, X, Y: 1 / xp.sqrt(X * X - 1)),
    "atanh": (lambda xp, X: xp.atanh(X), lambda xp, X, Y: 1 / (1 - X * X)),
    "log2": (lambda xp, X: xp.log2(X), lambda xp, X, Y: 1 / (X * _LN2)),
    "log10": (lambda xp, X: xp.log10(X), lambda xp, X, Y: 1 / (X * _LN10)),
    "exp2": (lambda xp, X: xp.exp(X * _LN2), lambda xp, X, Y: Y * _LN2),
}


@quiet
class Unary(Function):
    """Y = f(X) for a function of :data:`UNARY`; dX = dY f'(X)."""

    def forward(self, X, fn=None):
        self.fn, self.X = fn, X
        self.Y = UNARY[fn][0](self.xp, X)
        return self.Y

    def backward(self, dY):
        return dY * UNARY[self.fn][1](self.xp, self.X, self.Y)

    def backward_graph(self, dY):
        return unary_graph(self, dY)


def _unary(name):
    def op(input):
        if is_sparse_coo(input):  # sparse COO
            return input._sparse_unary(name)
        return Unary.apply(_floating(as_tensor(input, op=name)), fn=name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{name}(x), elementwise, as ``torch.{name}`` (integers give floats)."
    return op


tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, log2, log10, exp2 = (
    _unary(n) for n in UNARY)
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


@quiet
class Atan2(Function):
    """atan2(A, B): the angle of (B, A); dA = B / (A^2 + B^2), dB = -A / (A^2 + B^2)."""

    def forward(self, A, B):
        self.A, self.B = A, B
        return self.xp.atan2(A, B)

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        r2 = A * A + B * B
        r2 = xp.where(r2 == 0, xp.ones_like(r2), r2)  # at (0, 0): 0, as PyTorch (not 0/0)
        dA = unbroadcast(xp, dY * B / r2, A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, -dY * A / r2, B.shape) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        from .graph_misc import atan2_graph
        return atan2_graph(self, dY)


@quiet
class Hypot(Function):
    """sqrt(A^2 + B^2) without overflow; dA = A / Y, dB = B / Y."""

    saves_output = True

    def forward(self, A, B):
        self.A, self.B = A, B
        self.Y = self.xp.hypot(A, B)
        return self.Y

    def backward(self, dY):
        A, B, xp, Y = self.A, self.B, self.xp, self.Y
        dA = unbroadcast(xp, dY * A / Y, A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, dY * B / Y, B.shape) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        from .graph_misc import hypot_graph
        return hypot_graph(self, dY)


@quiet
class LogAddExp(Function):
    """log(e^A + e^B); dA = sigmoid(A - B), dB = sigmoid(B - A)."""

    saves_output = True

    def forward(self, A, B):
        self.A, self.B = A, B
        self.Y = self.xp.logaddexp(A, B)
        return self.Y

    def backward(self, dY):
        A, B, xp, Y = self.A, self.B, self.xp, self.Y
        dA = unbroadcast(xp, dY * xp.exp(A - Y), A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, dY * xp.exp(B - Y), B.shape) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        from .graph_misc import logaddexp_graph
        return logaddexp_graph(self, dY)


@quiet
class Remainder(Function):
    """A - floor(A / B) B (the sign of B, Python's %); dA = 1, dB = -floor(A / B)."""

    def forward(self, A, B):
        self.A, self.B = A, B
        return self.xp.remainder(A, B)

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        dA = unbroadcast(xp, dY, A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, -dY * xp.floor(A / B), B.shape) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        return remainder_graph(self, dY, "floor")


def _binary(cls, name, refused=()):
    def op(input, other):
        refuse_promoted(name, refused, input, other)  # PyTorch: no integer kernel
        a, b = promote_float(input, other, name)
        return cls.apply(_floating(a), _floating(b))
    op.__name__ = op.__qualname__ = name
    return op


@quiet
class LogAddExp2(Function):
    """log2(2^A + 2^B); dA = 2^(A - Y), dB = 2^(B - Y)."""

    saves_output = True

    def forward(self, A, B):
        self.A, self.B = A, B
        self.Y = self.xp.logaddexp(A * _LN2, B * _LN2) / _LN2
        return self.Y

    def backward(self, dY):
        A, B, xp, Y = self.A, self.B, self.xp, self.Y
        dA = unbroadcast(xp, dY * xp.exp((A - Y) * _LN2), A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, dY * xp.exp((B - Y) * _LN2), B.shape) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        from .graph_misc import logaddexp_graph
        return logaddexp_graph(self, dY, _LN2)


atan2 = _binary(Atan2, "atan2")
arctan2 = atan2
hypot = _binary(Hypot, "hypot", ("bool", "integer"))
logaddexp = _binary(LogAddExp, "logaddexp", ("bool", "integer"))
logaddexp2 = _binary(LogAddExp2, "logaddexp2", ("bool", "integer"))
logaddexp2.__doc__ = "log2(2^input + 2^other), as ``torch.logaddexp2``."
atan2.__doc__ = "atan2(input, other): the angle of (other, input), as ``torch.atan2``."
hypot.__doc__ = "sqrt(input^2 + other^2), as ``torch.hypot``."
logaddexp.__doc__ = "log(exp(input) + exp(other)), as ``torch.logaddexp``."


def remainder(input, other):
    """input - floor(input / other) * other (Python's %), as ``torch.remainder``; exact for
    integers (no gradient), where a zero divisor raises."""
    a, b = promote(input, other, "remainder")
    refuse_dtypes("remainder", ("bool", "complex"), a, b)
    if a._be.is_floating(a.dtype):
        return Remainder.apply(a, b)
    check_divisor(a._be, b.array, "remainder")
    return IntBinary.apply(a, b, op="remainder")


def floor_divide(input, other):
    """floor(input / other), as ``torch.floor_divide`` (and ``//``): the values of
    ``div(rounding_mode="floor")``; a backward through it raises, as PyTorch's."""
    if is_sparse_coo(input):
        return input.div(other, rounding_mode="floor")  # sparse COO
    refuse_dtypes("floor_divide", ("complex",), input, other)
    return E.rounded_div(input, other, "floor", no_derivative="floor_divide")


def _bitwise(name, array_fn, logical):
    def op(input, other):
        a, b = promote(input, other, name)
        xp = a.xp
        refuse_dtypes(name, ("complex",) if logical else ("bool", "complex"), a, b)
        if a.dtype == xp.bool:  # bools: the logical op, as PyTorch (a recorded op, so
            return getattr(E, logical)(a, b)  # an ONNX export sees it)
        if a._be.is_floating(a.dtype):
            raise DtypeNotImplemented(f"{name}: not implemented for floating tensors "
                                      f"({B.dtype_name(a.dtype)}), as in PyTorch")
        return IntBinary.apply(a, b, op=array_fn)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``torch.{name}`` of integer or bool tensors (no gradient)."
    return op


bitwise_and = _bitwise("bitwise_and", "and", "logical_and")
bitwise_or = _bitwise("bitwise_or", "or", "logical_or")
bitwise_xor = _bitwise("bitwise_xor", "xor", "logical_xor")
bitwise_left_shift = _bitwise("bitwise_left_shift", "lshift", None)
bitwise_right_shift = _bitwise("bitwise_right_shift", "rshift", None)


def bitwise_not(input):
    """~x of an integer (bitwise) or bool (logical) tensor, as ``torch.bitwise_not``."""
    x = as_tensor(input, op="bitwise_not")
    xp = x.xp
    refuse_dtypes("bitwise_not", ("complex",), x)
    if x._be.is_floating(x.dtype):
        raise DtypeNotImplemented(f"bitwise_not: not implemented for floating tensors "
                                  f"({B.dtype_name(x.dtype)})")
    if x.dtype == xp.bool:
        return E.logical_not(x)  # recorded, so an ONNX export sees it
    return IntInvert.apply(x)


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol |other| elementwise (bool), as ``torch.isclose``;
    infinities are close only to themselves."""
    a, b = as_tensor(input, op="isclose"), as_tensor(other, op="isclose")
    if a.dtype != b.dtype:  # PyTorch compares like with like ("Long did not match Float")
        raise DtypeError(f"isclose: input and other must have the same dtype, got "
                         f"{B.dtype_name(a.dtype)} and {B.dtype_name(b.dtype)}")
    if rtol < 0 or atol < 0:
        raise ArgumentError(f"isclose: rtol and atol must be >= 0, got rtol={rtol}, "
                            f"atol={atol}")
    a, b = promote(a, b, "isclose")
    xp, be = a.xp, a._be
    A, Bv = a.array, b.array
    real = be.dtype(B.get_default_dtype())  # integers: the tolerance is a float (PyTorch)
    if A.dtype == xp.bool:
        A, Bv = xp.astype(A, real), xp.astype(Bv, real)
    with be.quiet():
        gap, size = xp.abs(A - Bv), xp.abs(Bv)
        if not be.is_floating(A.dtype):
            gap, size = xp.astype(gap, real), xp.astype(size, real)
        # a finite gap only: inf against -inf (gap inf) is not close whatever rtol is
        close = (A == Bv) | ((gap <= atol + rtol * size) & xp.isfinite(gap))
    if equal_nan:
        close = close | (xp.isnan(A) & xp.isnan(Bv))
    return a._result(close, a._be)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default the
    dtype's largest and lowest finite values), as ``torch.nan_to_num``; the gradient passes
    where the input was finite."""
    if is_sparse_coo(input):
        return input._sparse_unary("nan_to_num", nan, posinf, neginf)
    from .elementwise import where
    x = as_tensor(input, op="nan_to_num")
    for name, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        number_only("nan_to_num", name, v)
    if x._be.is_complex(x.dtype):  # each part on its own (PyTorch)
        from .complex import complex as _complex, imag, real
        return _complex(*(nan_to_num(p, nan, posinf, neginf) for p in (real(x), imag(x))))
    if not x._be.is_floating(x.dtype):
        return x
    info = B.np.finfo(B.dtype_name(x.dtype))
    hi = float(info.max) if posinf is None else float(posinf)
    lo = float(info.min) if neginf is None else float(neginf)
    xp, A = x.xp, x.array
    fill = xp.where(xp.isnan(A), xp.asarray(float(nan), dtype=A.dtype, device=A.device),
                    xp.where(A > 0, xp.asarray(hi, dtype=A.dtype, device=A.device),
                             xp.asarray(lo, dtype=A.dtype, device=A.device)))
    return where(xp.isfinite(A), x, x._result(fill, x._be))


def clamp_min(input, min):
    """max(input, min), as ``torch.clamp_min``."""
    return clamp(input, min=min)


def clamp_max(input, max):
    """min(input, max), as ``torch.clamp_max``."""
    return clamp(input, max=max)


def count_nonzero(input, dim=None):
    """The number of nonzero entries (over ``dim``: an int or tuple), int64, as
    ``torch.count_nonzero``."""
    from .reduce import sum as _sum
    x = as_tensor(input, op="count_nonzero")
    nz = x if x.dtype == x.xp.bool else x._result(x.array != 0, x._be)
    return _sum(nz, dim=dim)


def float_power(input, exponent):
    """input ** exponent computed in float64 (``torch.float_power``: the result is float64
    whatever the inputs' dtypes)."""
    from .elementwise import pow as _pow
    x = as_tensor(input, op="float_power")
    if isinstance(exponent, B.np.ndarray) or hasattr(exponent, "shape"):
        exponent = as_tensor(exponent, like=x, op="float_power")
    # complex128 where either side is complex (a tensor or a Python complex), as PyTorch
    wide = "complex128" if x._be.is_complex(x.dtype) or isinstance(exponent, complex) or \
        isinstance(exponent, TensorBase) and x._be.is_complex(exponent.dtype) else "float64"
    if isinstance(exponent, TensorBase):
        exponent = exponent.to(dtype=wide)
    return _pow(x.to(dtype=wide), exponent)


def ldexp(input, other):
    """input * 2 ** other, as ``torch.ldexp`` (a float result; gradients to both)."""
    from .elementwise import mul, pow as _pow
    a, b = promote_float(input, other, "ldexp")
    return mul(_floating(a), _pow(2.0, _floating(b)))


def inner(input, other):
    """The sum of products over the last dims (``torch.inner``): shape
    input.shape[:-1] + other.shape[:-1]; a scalar factor when either is 0-d."""
    from .elementwise import mul
    from .linalg import matmul
    from .shape import reshape
    a, b = as_tensor(input, op="inner"), as_tensor(other, like=input, op="inner")
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner: the last dims must match, got shapes {a.shape} and "
                         f"{b.shape}")
    k = a.shape[-1]
    rows = [math.prod(t.shape[:-1]) for t in (a, b)]  # not -1: k may be 0
    out = matmul(reshape(a, (rows[0], k)), reshape(b, (rows[1], k)).mT)
    return reshape(out, tuple(a.shape[:-1]) + tuple(b.shape[:-1]))


def dist(input, other, p=2):
    """The p-norm of input - other (broadcast), as ``torch.dist``."""
    from .elementwise import sub
    from .reduce import norm
    return norm(sub(input, other), p)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every |input - other| <= atol + rtol |other| (``torch.allclose``; one host
    read)."""
    from .reduce import all as _all
    return bool(_all(isclose(input, other, rtol, atol, equal_nan)).item())


def equal(input, other):
    """True if both tensors have the same shape and elements (``torch.equal``)."""
    from .reduce import all as _all
    a = as_tensor(input, op="equal")
    b = as_tensor(other, like=a, op="equal")
    if tuple(a.shape) != tuple(b.shape):
        return False
    a, b = promote(a, b, "equal")  # PyTorch compares across dtypes
    return bool(_all(a._result(a.array == b.array, a._be)).item())

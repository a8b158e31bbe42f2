"""Tensor's elementwise math methods (``x.exp()``, ``x.add(y, alpha=2)``, ``x.eq(0)``,
``x.lgamma()``, ...): each calls the ``xpnn.functional`` op of that name, so ``x.exp()`` and
``F.exp(x)`` are the same code. Part of :class:`xpnn.tensor.Tensor`."""
from __future__ import annotations

from . import functional as F
from ._errors import DtypeError
from .functional import misc as _misc
from .functional import special_gamma as _special_gamma
from .functional import special_more as _special_more


def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = f"``{fn.__name__}(self, ...)``: see xpnn.functional.{fn.__name__}."
    return method


class MathMethods:
    """The elementwise math methods of :class:`xpnn.Tensor`."""

    __slots__ = ()

    def abs(self):
        return F.abs(self)

    absolute = abs

    def exp(self):
        return F.exp(self)

    def expm1(self):
        return F.expm1(self)

    def log(self):
        return F.log(self)

    def log1p(self):
        return F.log1p(self)

    def sqrt(self):
        return F.sqrt(self)

    def rsqrt(self):
        return F.rsqrt(self)

    def reciprocal(self):
        return F.reciprocal(self)

    def sin(self):
        return F.sin(self)

    def cos(self):
        return F.cos(self)

    def square(self):
        return F.square(self)

    def neg(self):
        return F.neg(self)

    negative = neg

    def sign(self):
        return F.sign(self)

    def floor(self):
        return F.floor(self)

    def ceil(self):
        return F.ceil(self)

    def round(self, decimals=0):
        return F.round(self, decimals)

    def trunc(self):
        return F.trunc(self)

    def pow(self, exponent):
        return F.pow(self, exponent)

    def add(self, other, *, alpha=1):
        return F.add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        return F.sub(self, other, alpha=alpha)

    subtract = sub

    def mul(self, other):
        return F.mul(self, other)

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        return F.div(self, other, rounding_mode=rounding_mode)

    divide = div

    def clamp(self, min=None, max=None):
        return F.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return F.maximum(self, other)

    def minimum(self, other):
        return F.minimum(self, other)

    def relu(self):
        return F.relu(self)

    def sigmoid(self):
        return F.sigmoid(self)

    def tanh(self):
        return F.tanh(self)

    def softmax(self, dim=None, dtype=None, *, axis=None):
        return F.softmax(self, dim, dtype=dtype, axis=axis)

    def log_softmax(self, dim=None, dtype=None, *, axis=None):
        return F.log_softmax(self, dim, dtype=dtype, axis=axis)

    def eq(self, other):
        return F.eq(self, other)

    def ne(self, other):
        return F.ne(self, other)

    def lt(self, other):
        return F.lt(self, other)

    def le(self, other):
        return F.le(self, other)

    def gt(self, other):
        return F.gt(self, other)

    def ge(self, other):
        return F.ge(self, other)

    def isnan(self):
        return F.isnan(self)

    def isinf(self):
        return F.isinf(self)

    def isfinite(self):
        return F.isfinite(self)

    def logical_not(self):
        return F.logical_not(self)

    def logical_and(self, other):
        return F.logical_and(self, other)

    def logical_or(self, other):
        return F.logical_or(self, other)

    def where(self, condition, other):
        return F.where(condition, self, other)

    def erf(self):
        return F.erf(self)

    def lgamma(self):
        return F.lgamma(self)

    def digamma(self):
        return F.digamma(self)

    def polygamma(self, n):
        return F.polygamma(n, self)

    def i0(self):
        return _special_more.i0(self)

    def mvlgamma(self, p):
        return _special_more.mvlgamma(self, p)

    def igamma(self, other):
        return _special_gamma.igamma(self, other)

    def igammac(self, other):
        return _special_gamma.igammac(self, other)

    def atan2(self, other):
        return F.atan2(self, other)

    arctan2 = atan2

    def hypot(self, other):
        return F.hypot(self, other)

    def logaddexp(self, other):
        return F.logaddexp(self, other)

    def remainder(self, other):
        return F.remainder(self, other)

    def floor_divide(self, other):
        return F.floor_divide(self, other)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return F.isclose(self, other, rtol, atol, equal_nan)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return F.nan_to_num(self, nan, posinf, neginf)

    def clamp_min(self, min):
        return F.clamp_min(self, min)

    def clamp_max(self, max):
        return F.clamp_max(self, max)

    def lerp(self, end, weight):
        return F.lerp(self, end, weight)

    def fmod(self, other):
        return F.fmod(self, other)

    def frac(self):
        return F.frac(self)

    def sgn(self):
        return F.sgn(self)

    def heaviside(self, values):
        return F.heaviside(self, values)

    def logit(self, eps=None):
        return F.logit(self, eps)

    def xlogy(self, other):
        return F.xlogy(self, other)

    def sinc(self):
        return F.sinc(self)

    def deg2rad(self):
        return F.deg2rad(self)

    def rad2deg(self):
        return F.rad2deg(self)

    def signbit(self):
        return F.signbit(self)

    def copysign(self, other):
        return F.copysign(self, other)

    def erfc(self):
        return F.erfc(self)

    def erfinv(self):
        return F.erfinv(self)

    def fmax(self, other):
        return F.fmax(self, other)

    def fmin(self, other):
        return F.fmin(self, other)

    def isposinf(self):
        return F.isposinf(self)

    def isneginf(self):
        return F.isneginf(self)

    def prelu(self, weight):
        return F.prelu(self, weight)

    def hardshrink(self, lambd=0.5):
        return F.hardshrink(self, lambd)

    def isreal(self):
        if self._be.is_complex(self.dtype):
            return F.eq(_misc.imag(self), 0)
        return F.eq(self, self) | F.isnan(self)  # every real entry is real, NaN included

    def positive(self):
        if self.dtype == self.xp.bool:
            raise DtypeError("positive: not supported for bool tensors (as in PyTorch)")
        return self

    fix = trunc
    real = property(_misc.real, doc="The real part (a copy for a complex tensor, the tensor "
                    "itself for a real one).")
    imag = property(_misc.imag, doc="The imaginary part (a copy); raises for a real tensor, "
                    "as PyTorch.")


# the one-input functions of xpnn.functional.moremath as methods (x.tan(), x.log2(), ...)
for _name in ("tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
              "log2", "log10", "exp2", "arcsin", "arccos", "arctan", "arcsinh", "arccosh",
              "arctanh"):
    setattr(MathMethods, _name, lambda self, _fn=getattr(F, _name): _fn(self))


# functions of xpnn.functional that PyTorch also has as Tensor methods (x.gcd(y), ...)
for _name in ("logical_xor", "greater", "greater_equal", "less", "less_equal", "not_equal",
              "multiply", "subtract", "true_divide", "negative", "broadcast_to", "moveaxis",
              "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
              "bitwise_right_shift", "allclose", "equal", "diag_embed", "diagflat", "dist",
              "inner", "float_power", "ldexp", "gcd", "lcm", "logaddexp2", "hypot", "atan2",
              "arctan2", "logaddexp", "remainder", "floor_divide", "nan_to_num", "clamp_min",
              "clamp_max", "erf", "renorm"):
    if hasattr(F, _name) and not hasattr(MathMethods, _name):
        setattr(MathMethods, _name, _method(getattr(F, _name)))


# PyTorch's smaller methods (x.cov(), x.frexp(), x.conj(), ...): see xpnn.functional.misc
for _name in ("adjoint", "angle", "conj", "conj_physical", "corrcoef", "cov", "frexp",
              "histogram", "is_conj", "is_neg", "matrix_exp", "nextafter", "orgqr", "resolve_conj",
              "resolve_neg", "select_scatter", "slice_scatter"):
    setattr(MathMethods, _name, _method(getattr(_misc, _name)))

"""More of PyTorch's elementwise math: fmod, frac, sgn, heaviside, logit, xlogy, sinc,
deg2rad/rad2deg, signbit, copysign and the NaN-ignoring fmax/fmin; erfc and erfinv are in
erf_special.py (re-exported here).

The Array API has no fmod: fmod_kernels.py has a portable version and the native one of the
backends that have it, in a table by backend name (``FMOD``), as erf does.
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import DtypeNotImplemented
from ..autograd import Function, as_tensor
from .complex_base import refuse_complex
from .broadcast import is_sparse_coo
from .elementwise import (_floating, check_divisor, isnan, mul, promote, promote_float,
                          quiet, sign, unbroadcast, where)
from .fmod_kernels import FMOD, fmod_array, fmod_portable  # noqa: F401
from .erf_special import (ERFC, ERFINV, Erfc, Erfinv, erfc, erfc_portable,  # noqa: F401
                          erfinv, erfinv_portable)
from .graph_math import (copysign_graph, fmax_graph, logit_graph, remainder_graph,
                         sinc_graph, xlogy_graph)
from .intops import IntBinary  # recorded ops, so an ONNX export sees them
from .dtype_refusals import refuse_dtypes
from .scalar_args import float_arg


def _zero(xp, like):
    return xp.zeros((), dtype=like.dtype, device=like.device)


# -- fmod ------------------------------------------------------------------------------------
@quiet
class Fmod(Function):
    """A - trunc(A / B) B (the sign of A); dA = 1, dB = -trunc(A / B)."""

    def forward(self, A, B):
        self.A, self.B = A, B
        return fmod_array(self.be, A, B)

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        dA = unbroadcast(xp, dY, A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, -dY * xp.trunc(A / B), B.shape) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        return remainder_graph(self, dY, "trunc")


def fmod(input, other):
    """The remainder of ``input / other`` with the sign of ``input`` (C's fmod), as
    ``torch.fmod``; exact for integers (no gradient), where a zero divisor raises."""
    a, b = promote(input, other, "fmod")
    refuse_dtypes("fmod", ("bool", "complex"), a, b)
    if a._be.is_floating(a.dtype):
        return Fmod.apply(a, b)
    check_divisor(a._be, b.array, "fmod")
    return IntBinary.apply(a, b, op="fmod")


# -- one-input functions ---------------------------------------------------------------------
def _float_only(op, x):
    if not x._be.is_floating(x.dtype):
        raise DtypeNotImplemented(f"{op}: not implemented for {B.dtype_name(x.dtype)} "
                                  "tensors, as in PyTorch (cast with .float())")
    return x


@quiet
class Frac(Function):
    """x - trunc(x) (the sign of x); dX = dY."""

    saved_inputs = ()

    def forward(self, X):
        return X - self.xp.trunc(X)

    def backward(self, dY):
        return dY

    def backward_graph(self, dY):
        return dY


def frac(input):
    """The fractional part ``x - trunc(x)``, as ``torch.frac`` (floating tensors only)."""
    if is_sparse_coo(input):  # sparse COO
        return input._sparse_unary("frac")
    return Frac.apply(_float_only("frac", as_tensor(input, op="frac")))


def sgn(input):
    """-1, 0 or 1 by the sign of each entry, 0 for NaN, as ``torch.sgn`` of a real tensor
    (zero gradient); z / |z| (0 at 0) of a complex one."""
    if is_sparse_coo(input):  # sparse COO
        return input._sparse_unary("sgn")
    x = as_tensor(input, op="sgn")
    if x._be.is_complex(x.dtype):  # z / |z|, 0 at 0; differentiable
        r = x.abs()
        return where(r == 0, 0.0, x / where(r == 0, 1.0, r))
    if not x._be.is_floating(x.dtype):
        return sign(x)
    return where(isnan(x), 0.0, sign(x))


def heaviside(input, values):
    """The Heaviside step: 0 where ``input < 0``, ``values`` where it is 0, 1 where > 0 (and
    0 for NaN), as ``torch.heaviside``; both of one dtype. No gradient (PyTorch has none)."""
    x = as_tensor(input, op="heaviside")
    v = as_tensor(values, like=x, op="heaviside")
    refuse_dtypes("heaviside", ("complex",), x, v, names=("input", "values"), runtime=True)
    if v.dtype != x.dtype:
        raise RuntimeError(f"heaviside: input and values must have one dtype, got "
                           f"{B.dtype_name(x.dtype)} and {B.dtype_name(v.dtype)}")
    a, b = promote(x, v, "heaviside")
    xp, X = a.xp, a.array
    one = xp.ones((), dtype=X.dtype, device=X.device)
    if X.dtype == xp.bool:  # the standard compares no bool with 0: X is its own step
        return a._result(xp.where(X, X, b.array), a._be)
    step = xp.where(X > 0, one, _zero(xp, X))
    return a._result(xp.where(X == 0, b.array, step), a._be)


@quiet
class Logit(Function):
    """log(z / (1 - z)) with z = x clamped to [eps, 1 - eps]; dX = dY / (x (1 - x)), 0
    outside [eps, 1 - eps] (PyTorch)."""

    def forward(self, X, eps=None):
        xp = self.xp
        self.X, self.eps = X, eps
        Z = X
        if eps is not None:  # PyTorch's test order: eps > 0.5 (lo > hi) gives hi or lo, no error
            lo, hi = (xp.asarray(v, dtype=X.dtype, device=X.device) for v in (eps, 1 - eps))
            Z = xp.where(X < lo, lo, xp.where(X > hi, hi, X))
        return xp.log(Z / (1 - Z))

    def backward(self, dY):
        X, xp, eps = self.X, self.xp, self.eps
        dX = dY / (X * (1 - X))
        if eps is None:
            return dX
        return xp.where((X < eps) | (X > 1 - eps), _zero(xp, dX), dX)

    def backward_graph(self, dY):
        return logit_graph(self, dY)


def logit(input, eps=None):
    """log(p / (1 - p)), the inverse of sigmoid, as ``torch.logit``; with ``eps`` the input
    is first clamped to [eps, 1 - eps]."""
    return Logit.apply(_floating(as_tensor(input, op="logit")),
                       eps=None if eps is None else float_arg("logit", "eps", eps))


@quiet
class Sinc(Function):
    """sin(pi x) / (pi x), 1 at 0; dX = (pi x cos(pi x) - sin(pi x)) / (pi x^2), 0 at 0."""

    def forward(self, X):
        xp = self.xp
        self.X = X
        P = math.pi * X
        zero = X == 0
        safe = xp.where(zero, xp.ones_like(P), P)
        return xp.where(zero, xp.ones_like(P), xp.sin(safe) / safe)

    def backward(self, dY):
        xp = self.xp
        X = self.X
        zero = X == 0
        P = math.pi * xp.where(zero, xp.ones_like(X), X)
        d = (P * xp.cos(P) - xp.sin(P)) / (P * xp.where(zero, xp.ones_like(X), X))
        return dY * xp.where(zero, _zero(xp, d), d)

    def backward_graph(self, dY):
        return sinc_graph(self, dY)


def sinc(input):
    """The normalized sinc sin(pi x) / (pi x) (1 at 0), as ``torch.sinc``."""
    return Sinc.apply(_floating(as_tensor(input, op="sinc")))


def deg2rad(input):
    """Degrees to radians, as ``torch.deg2rad`` (integers give the default float dtype)."""
    if is_sparse_coo(input):  # sparse COO
        return input._sparse_unary("deg2rad")
    return mul(_floating(as_tensor(input, op="deg2rad")), math.pi / 180)


def rad2deg(input):
    """Radians to degrees, as ``torch.rad2deg`` (integers give the default float dtype)."""
    if is_sparse_coo(input):  # sparse COO
        return input._sparse_unary("rad2deg")
    return mul(_floating(as_tensor(input, op="rad2deg")), 180 / math.pi)


def signbit(input):
    """True where the sign bit is set (-0.0 included), as ``torch.signbit``; no gradient."""
    x = as_tensor(input, op="signbit")
    refuse_dtypes("signbit", ("complex",), x)
    xp, X = x.xp, x.array
    if x._be.is_floating(x.dtype):
        return x._result(xp.signbit(X), x._be)
    if X.dtype == xp.bool:
        return x._result(xp.zeros(X.shape, dtype=xp.bool, device=X.device), x._be)
    return x._result(X < 0, x._be)


# -- two-input functions ---------------------------------------------------------------------
@quiet
class Xlogy(Function):
    """A log(B), 0 where A == 0 (unless B is NaN); dA = log(B), but 0 where A == 0 and
    B <= 0, and dB = A / B (PyTorch's)."""

    def forward(self, A, B):
        xp = self.xp
        self.A, self.B = A, B
        self.nil = (A == 0) & ~xp.isnan(B)
        return xp.where(self.nil, _zero(xp, A), A * xp.log(B))

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        dA = dB = None
        if self.needs[0]:
            # xlogy(dY, B): 0 where dY is, unless B is NaN
            g = xp.where((dY == 0) & ~xp.isnan(B), _zero(xp, dY), dY * xp.log(B))
            g = xp.where((A == 0) & (B <= 0), _zero(xp, g), g)
            dA = unbroadcast(xp, g, A.shape)
        if self.needs[1]:
            dB = unbroadcast(xp, dY * A / B, B.shape)
        return dA, dB

    def backward_graph(self, dY):
        return xlogy_graph(self, dY)


@quiet
class CopySign(Function):
    """|A| with the sign of B; dA = dY Y / A (0 where A == 0), dB = 0 (PyTorch)."""

    saved_inputs = (0,)
    saves_output = True

    def forward(self, A, B):
        self.A, self.shapes = A, (A.shape, B.shape)
        self.Y = self.xp.copysign(A, B)
        return self.Y

    def backward(self, dY):
        xp, A = self.xp, self.A
        dA = dB = None
        if self.needs[0]:
            zero = A == 0
            ratio = self.Y / xp.where(zero, xp.ones_like(A), A)
            dA = unbroadcast(xp, dY * xp.where(zero, _zero(xp, A), ratio), self.shapes[0])
        if self.needs[1]:
            dB = xp.zeros(self.shapes[1], dtype=dY.dtype, device=dY.device)
        return dA, dB

    def backward_graph(self, dY):
        return copysign_graph(self, dY)


class FMax(Function):
    """max(A, B) ignoring NaN (sign=-1: min); the gradient goes whole to A where A wins or
    ties or B is NaN, else to B (PyTorch's rule)."""

    saved_inputs = ()

    def forward(self, A, B, sign=1):
        xp = self.xp
        self.shapes = (A.shape, B.shape)
        nan_a, nan_b = xp.isnan(A), xp.isnan(B)
        if self.record:
            self.to_a = ((A >= B) if sign > 0 else (A <= B)) | nan_b
        M = xp.maximum(A, B) if sign > 0 else xp.minimum(A, B)
        return xp.where(nan_b, A, xp.where(nan_a, B, M))

    def backward(self, dY):
        xp, (sa, sb), to_a = self.xp, self.shapes, self.to_a
        zero = _zero(xp, dY)
        dA = unbroadcast(xp, xp.where(to_a, dY, zero), sa) if self.needs[0] else None
        dB = unbroadcast(xp, xp.where(to_a, zero, dY), sb) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        return fmax_graph(self, dY)


def xlogy(input, other):
    """input * log(other), 0 where input is 0 (unless other is NaN), as ``torch.xlogy``
    (integers give the default float dtype)."""
    a, b = promote_float(input, other, "xlogy")
    return Xlogy.apply(_floating(a), _floating(b))


def copysign(input, other):
    """|input| with the sign of ``other`` (-0.0 counts as negative), as ``torch.copysign``
    (integers give the default float dtype); no gradient flows to ``other``."""
    a, b = promote_float(input, other, "copysign")
    return CopySign.apply(_floating(a), _floating(b))


def _fmax(op, sign, input, other):
    a, b = promote(input, other, op)
    refuse_complex(op, a, kind="runtime")
    if a.dtype == a.xp.bool:  # no NaN to skip: maximum ("or") / minimum ("and")
        from .elementwise import maximum, minimum
        return (maximum if sign > 0 else minimum)(a, b)
    return FMax.apply(a, b, sign=sign)


def fmax(input, other):
    """The elementwise maximum where a NaN loses to a number (NaN only where both are), as
    ``torch.fmax``."""
    return _fmax("fmax", 1, input, other)


def fmin(input, other):
    """The elementwise minimum where a NaN loses to a number, as ``torch.fmin``."""
    return _fmax("fmin", -1, input, other)

"""The complementary and inverse error functions, ``torch.erfc`` and ``torch.erfinv``
(also ``torch.special``'s), each a Function with its derivative, in portable Array API code
with the backend's native kernel where it has one (re-exported by :mod:`.pointwise`).
"""
from __future__ import annotations

import math

from ..autograd import Function, as_tensor
from .activation import (_INV_SQRT_PI, _TWO_OVER_SQRT_PI, erf_array, erf_portable,
                         native_special)
from .elementwise import _floating, quiet
from .graph_math import erfc_graph, erfinv_graph


def erfc_portable(be, X):
    """1 - erf(x) in Array API code, accurate in the tail: the series of erf (as
    :func:`xpnn.functional.activation.erf_portable`) below 1.5 (1.0 in float32), where
    1 - erf loses nothing that matters, and the continued fraction of erfc itself beyond;
    erfc(-x) = 2 - erfc(x)."""
    xp = be.xp
    A = xp.abs(X)
    # where 1 - erf starts to lose digits to cancellation (more of them in float32), the
    # fraction takes over; 100 levels converge to float64 precision from 1.5 on
    cut = 1.0 if X.dtype == xp.float32 else 1.5
    near = 1 - erf_portable(be, xp.minimum(A, cut))
    far = xp.maximum(A, cut)
    K = xp.zeros_like(far)
    for k in range(100, 0, -1):
        K = (k / 2) / (far + K)
    tail = xp.exp(-far * far) * _INV_SQRT_PI / (far + K)
    pos = xp.where(A < cut, near, tail)
    return xp.where(X < 0, 2 - pos, pos)


ERFC = native_special("erfc", erfc_portable)


@quiet
class Erfc(Function):
    """erfc(x) = 1 - erf(x); d/dx = -2/sqrt(pi) e^(-x^2)."""

    def forward(self, X):
        self.X = X
        return ERFC.get(self.be.name, erfc_portable)(self.be, X)

    def backward(self, dY):
        X = self.X
        return dY * (-_TWO_OVER_SQRT_PI * self.xp.exp(-(X * X)))

    def backward_graph(self, dY):
        return erfc_graph(self, dY)


def erfc(input):
    """The complementary error function 1 - erf(x), accurate in the tail, as ``torch.erfc``
    (integers give the default float dtype)."""
    return Erfc.apply(_floating(as_tensor(input, op="erfc")))

# M. Giles' single-precision approximation of erfinv (w = -log(1 - y^2)), the start of the
# Newton steps of erfinv_portable
_GILES_NEAR = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
               0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_FAR = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
              0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def erfinv_portable(be, Y):
    """The inverse error function in Array API code: Giles' approximation, then four Newton
    steps on erf(x) = y for |y| <= 0.5 and on log erfc(x) = log(1 - y) beyond (1 - y is
    exact there, so the tail keeps its digits, and the log makes the steps converge from
    Giles' float32-range start out to 1 - y ~ 1e-16); +-inf at +-1, NaN outside [-1, 1]."""
    xp = be.xp
    A = xp.abs(Y)
    with be.quiet():
        w = -xp.log((1 - A) * (1 + A))
        near, far = w - 2.5, xp.sqrt(w) - 3
        pn, pf = xp.zeros_like(w), xp.zeros_like(w)
        for cn, cf in zip(_GILES_NEAR, _GILES_FAR):
            pn, pf = pn * near + cn, pf * far + cf
        X = xp.where(w < 5, pn, pf) * A
        for _ in range(4):
            slope = _TWO_OVER_SQRT_PI * xp.exp(-(X * X))
            small = (erf_array(be, X) - A) / slope
            C = ERFC.get(be.name, erfc_portable)(be, X)  # the tail: Newton on log erfc
            large = (xp.log(1 - A) - xp.log(C)) * C / slope
            X = X - xp.where(A <= 0.5, small, large)
        X = xp.where(A == 1, xp.full_like(X, xp.inf), X)
        X = xp.where(A > 1, xp.full_like(X, xp.nan), X)
    return xp.where(Y < 0, -X, X)


ERFINV = native_special("erfinv", erfinv_portable)


@quiet
class Erfinv(Function):
    """x = erfinv(y); dy: sqrt(pi)/2 e^(x^2)."""

    saves_output = True

    def forward(self, Y):
        self.X = ERFINV.get(self.be.name, erfinv_portable)(self.be, Y)
        return self.X

    def backward(self, dX):
        X = self.X
        return dX * (0.5 * math.sqrt(math.pi)) * self.xp.exp(X * X)

    def backward_graph(self, dY):
        return erfinv_graph(self, dY)


def erfinv(input):
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside), as ``torch.erfinv``
    (integers give the default float dtype)."""
    return Erfinv.apply(_floating(as_tensor(input, op="erfinv")))

"""The modified Bessel functions of the first kind of orders 0 and 1 (``torch.i0``,
``torch.special.i0``/``i0e``/``i1``/``i1e``), differentiable, in portable Array API code
(re-exported by :mod:`.special_more`). They sum their power series below 20 and the
asymptotic series of e^(-x) I_nu(x) (A&S 9.7.1) from 20 on (its smallest term there is
~1e-17). i0(+-inf) = inf and i1(+-inf) = +-inf (I1' = inf there) where PyTorch gives NaN;
i1' and i1e' are NaN at NaN (PyTorch: 1/2); the derivatives of i0e and i1e keep their digits
at large |x|, where PyTorch's cancel.
"""
from __future__ import annotations

import math

from ..autograd import Function
from .activation import _input
from .elementwise import quiet
from .pointwise import _zero

_BESSEL_FROM = 20.0  # the asymptotic series' smallest term at 20 is ~1e-17


def _bessel_scaled(xp, A, nu):
    """e^(-a) I_nu(a) for a >= 0 (nu = 0 or 1): the power series sum_k (a^2/4)^k /
    (k! (k + nu)!) (a/2)^nu below 20 (positive terms; 60 of them reach 1e-17 at 20), the
    asymptotic series (A&S 9.7.1) e^(-a) I_nu(a) ~ sum_k (-1)^k a_k(nu) / a^k / sqrt(2 pi a)
    from 20 on."""
    near = xp.minimum(A, _BESSEL_FROM)
    z = 0.25 * (near * near)
    term = xp.ones_like(near)
    total = term
    for k in range(1, 60):
        term = term * z / (k * (k + nu))
        total = total + term
    if nu == 1:
        total = total * (0.5 * near)
    series = total * xp.exp(-near)
    far = xp.maximum(A, _BESSEL_FROM)
    mu = 4 * nu * nu
    term = xp.ones_like(far)
    total = term
    for k in range(1, 40):
        term = term * (-(mu - (2 * k - 1) ** 2) / (8 * k)) / far
        total = total + term
    asym = total / xp.sqrt(2 * math.pi * far)
    return xp.where(A < _BESSEL_FROM, series, asym)


def _bessel_scaled_gap(xp, A):
    """e^(-a) (I0(a) - I1(a)) for a >= 0: from 20 on the asymptotic series' terms of I0 and
    I1 subtracted pairwise (their first terms cancel exactly), so i0e' = -sgn(x) gap and
    i1e' = gap - i1e/|x| keep their digits at large |x|."""
    near = xp.minimum(A, _BESSEL_FROM)
    series = _bessel_scaled(xp, near, 0) - _bessel_scaled(xp, near, 1)
    far = xp.maximum(A, _BESSEL_FROM)
    t0, t1 = xp.ones_like(far), xp.ones_like(far)
    total = xp.zeros_like(far)
    for k in range(1, 40):
        t0 = t0 * ((2 * k - 1) ** 2 / (8 * k)) / far
        t1 = t1 * (-(4 - (2 * k - 1) ** 2) / (8 * k)) / far
        total = total + (t0 - t1)
    asym = total / xp.sqrt(2 * math.pi * far)
    return xp.where(A < _BESSEL_FROM, series, asym)


def _bessel(xp, X, nu, scaled):
    """I_nu(x) (scaled: e^(-|x|) I_nu(x)); even in x for nu = 0, odd for nu = 1."""
    A = xp.abs(X)
    S = _bessel_scaled(xp, A, nu)
    if not scaled:
        half = xp.exp(0.5 * A)  # e^a in two halves: I_nu(a) overflows after e^a does
        S = xp.where(xp.isinf(A), A, S * half * half)
    if nu == 1:
        S = xp.where(X < 0, -S, S)
    return xp.where(xp.isnan(X), X, S)


@quiet
class Bessel(Function):
    """I_nu(x) or e^(-|x|) I_nu(x) for nu = 0, 1. d I0 = I1; d I1 = I0 - I1/x (1/2 at 0);
    d i0e = i1e - sgn(x) i0e; d i1e = i0e - i1e (sgn(x) + 1/x) (1/2 at 0), the last two
    through _bessel_scaled_gap."""

    def forward(self, X, nu=0, scaled=False):
        self.X, self.nu, self.scaled = X, nu, scaled
        return _bessel(self.xp, X, nu, scaled)

    def backward(self, dY):
        xp, X, scaled = self.xp, self.X, self.scaled
        if scaled:
            A = xp.abs(X)
            gap = _bessel_scaled_gap(xp, A)
            if self.nu == 0:
                d = -xp.sign(X) * gap
            else:
                d = gap - _bessel_scaled(xp, A, 1) / xp.where(A == 0, xp.ones_like(A), A)
                d = xp.where(A == 0, xp.full_like(X, 0.5), d)
            return dY * xp.where(xp.isinf(X), _zero(xp, X), d)
        I1 = _bessel(xp, X, 1, False)
        if self.nu == 0:
            return dY * I1
        zero = X == 0
        d = _bessel(xp, X, 0, False) - I1 / xp.where(zero, xp.ones_like(X), X)
        d = xp.where(zero, xp.full_like(X, 0.5), d)
        # I0 - I1/x is inf - inf/inf at +-inf, where I1' -> inf
        return dY * xp.where(xp.isinf(X), xp.abs(X), d)


def i0(input):
    """The modified Bessel function of the first kind of order 0, as ``torch.i0`` and
    ``torch.special.i0``."""
    return Bessel.apply(_input("i0", input), nu=0, scaled=False)


def i0e(input):
    """The exponentially scaled e^(-|x|) I0(x), as ``torch.special.i0e``."""
    return Bessel.apply(_input("i0e", input), nu=0, scaled=True)


def i1(input):
    """The modified Bessel function of the first kind of order 1, as
    ``torch.special.i1``."""
    return Bessel.apply(_input("i1", input), nu=1, scaled=False)


def i1e(input):
    """The exponentially scaled e^(-|x|) I1(x), as ``torch.special.i1e``."""
    return Bessel.apply(_input("i1e", input), nu=1, scaled=True)

"""The regularized incomplete gamma functions P(a, x) (torch.special.gammainc, torch.igamma)
and Q(a, x) = 1 - P(a, x) (gammaincc, igammac), in portable Array API code with fixed
iteration counts (no host syncs).

Regions (a > 0, x > 0):

* a > 20 and |x - a| < 0.3 a: Temme's uniform expansion (N. M. Temme, "The asymptotic
  expansion of the incomplete gamma functions", SIAM J. Math. Anal. 10 (1979)):
  Q = erfc(eta sqrt(a/2))/2 + e^(-a eta^2/2)/sqrt(2 pi a) sum_k C_k(eta) a^-k, with
  eta^2/2 = lambda - 1 - log lambda, lambda = x/a. The C_k are Taylor series in eta, whose
  coefficients (25 x 25, in _TEMME) were computed in exact rational arithmetic from
  C_0 = 1/(lambda - 1) - 1/eta and C_k = C_(k-1)'/eta + (-1)^k g_k/(lambda - 1), g_k the
  coefficients of Stirling's series of Gamma(a) / (sqrt(2 pi/a) (a/e)^a).
* x > 1 and x > a (and outside the band above): Legendre's continued fraction for Q
  (A&S 6.5.31), evaluated bottom-up from a fixed depth.
* otherwise: the power series P = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a+1)...(a+n))
  (A&S 6.5.29); where x <= 1.1 and a is small, Q = 1 - x^a/Gamma(a+1) (1 + a sum_n>=1
  (-x)^n / (n! (a + n))) keeps Q's digits when P is near 1.

The prefactor x^a e^-x / Gamma(a + 1) is e^(-a (mu - log1p mu)) / (sqrt(2 pi a) Gamma*(a))
for a >= 10 (mu = x/a - 1, Gamma* by Stirling's series), so it keeps its relative accuracy
for large a. dP/dx = x^(a-1) e^-x / Gamma(a) = -dQ/dx; PyTorch has no derivative in a.
Edges as PyTorch: NaN for a < 0 or x < 0, P(0, x > 0) = 1, P(0, 0) = NaN, P(a, 0) = 0,
P(inf, x finite) = 0, P(a, inf) = 1, P(inf, inf) = NaN.

Temme's coefficient table and expansion are in special_temme.py; Hurwitz's zeta (which sat
here before) is in special_zeta.py, re-exported here.
"""
from __future__ import annotations

import math

from .._errors import DtypeNotImplemented
from ..autograd import Function
from .elementwise import promote, quiet, unbroadcast
from .special import lgamma_array
from .special_more import _erfc
from .special_temme import _TEMME, _temme  # noqa: F401
# re-exported where special_gamma.py held them before the split (xpnn.special, tensor_math)
from .special_zeta import _EM, _ZETA_TERMS, Zeta, _zeta_positive, zeta, zeta_array  # noqa: F401

_SERIES_TERMS = 120   # x <= a: the ratio x/(a+n) <= 0.7 outside Temme's band
_FRACTION_DEPTH = 200
_TEMME_FROM = 20.0
_TEMME_BAND = 0.3
# B_2j / (2j (2j - 1)), j = 1..8: log Gamma*(a) = sum_j c_j a^(1 - 2j), to 2e-18 from a = 10
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156,
             -3617 / 122400)
_STIRLING_FROM = 10.0


def _log_prefactor(xp, A, X):
    """log(x^a e^-x / Gamma(a + 1)) for a > 0, x > 0."""
    small = xp.minimum(A, _STIRLING_FROM)
    direct = small * xp.log(X) - X - lgamma_array(xp, small + 1)
    big = xp.maximum(A, _STIRLING_FROM)
    mu = (X - big) / big
    inv = 1 / big
    inv2 = inv * inv
    log_star = xp.zeros_like(big) + _STIRLING[-1]
    for c in _STIRLING[-2::-1]:
        log_star = log_star * inv2 + c
    log_star = log_star * inv
    # log(x/a) by log1p near 1, directly elsewhere (1 + mu would round x/a when x << a)
    log_ratio = xp.where(xp.abs(mu) < 0.5, xp.log1p(mu), xp.log(X / big))
    stirling = -big * (mu - log_ratio) - 0.5 * xp.log(2 * math.pi * big) - log_star
    return xp.where(A < _STIRLING_FROM, direct, stirling)


_POW_TO = 30.0   # x^a e^-x / Gamma(a+1) by pow and exp (no cancelling logs) for x <= 30, a < 10


def _prefactor(xp, A, X):
    """x^a e^-x / Gamma(a + 1) for a > 0, x > 0. For a < 10 and x <= 30 as pow(x, a) e^-x
    over Gamma(r + 1) (r + 1) ... (r + floor a), r = a - floor(a): no sum of logs of size ~10
    cancels (which costs float32 its last 4 bits); elsewhere exp(_log_prefactor)."""
    near = (A < _STIRLING_FROM) & (X <= _POW_TO)
    As = xp.where(near, A, xp.ones_like(A))
    Xs = xp.where(near, X, xp.ones_like(X))
    whole = xp.floor(As)
    r = As - whole
    G = xp.exp(lgamma_array(xp, r + 1))
    for j in range(1, int(_STIRLING_FROM)):
        G = xp.where(whole >= j, G * (r + j), G)
    direct = xp.pow(Xs, As) * xp.exp(-Xs) / G
    return xp.where(near, direct, xp.exp(_log_prefactor(xp, A, X)))


def _p_series(xp, A, X, D):
    """P by the power series (x <= a or x <= 1)."""
    term = xp.ones_like(X)
    total = term
    for n in range(1, _SERIES_TERMS):
        term = term * X / (A + n)
        total = total + term
    return D * total


def _q_small_x(xp, A, X):
    """Q for x <= 1.1 and small a, without 1 - P's cancellation."""
    term = xp.ones_like(X)
    total = xp.zeros_like(X)
    for n in range(1, 30):
        term = term * (-X) / n
        total = total + term / (A + n)
    logxa = A * xp.log(X) - lgamma_array(xp, A + 1)
    head = -xp.expm1(logxa)           # 1 - x^a / Gamma(a + 1)
    return head - xp.exp(logxa) * A * total


def _q_fraction(xp, A, X, D):
    """Q by Legendre's continued fraction (x > 1, x > a), a x^a e^-x/Gamma(a+1) / (x+1-a-
    1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...)))."""
    t = xp.zeros_like(X)
    for k in range(_FRACTION_DEPTH, 0, -1):
        t = k * (k - A) / (X + (2 * k + 1) - A - t)
    return A * D / (X + 1 - A - t)



def igamma_arrays(be, A, X):
    """(P(a, x), Q(a, x)) elementwise for arrays of one floating dtype (broadcast)."""
    xp = be.xp
    A, X = xp.broadcast_arrays(A, X)
    one = xp.ones_like(X)
    ok = (A > 0) & (X > 0) & ~xp.isinf(A) & ~xp.isinf(X)
    As = xp.where(ok, A, one)
    Xs = xp.where(ok, X, one)
    temme = (As > _TEMME_FROM) & (xp.abs(Xs - As) < _TEMME_BAND * As)
    frac = ~temme & (Xs > 1) & (Xs > As)
    # the series converges for x <= a or x <= 1: elsewhere it gets a harmless stand-in
    Xser = xp.where(frac, xp.minimum(As, one), Xs)
    P_ser = _p_series(xp, As, Xser, _prefactor(xp, As, Xser))
    # small x and a: Q's own series keeps the digits that 1 - P (P ~ 1) would lose
    small = (Xs <= 1.1) & xp.where(Xs <= 0.5, As * -xp.log(Xs) <= 0.4, As <= 1.1 * Xs)
    Q_ser = xp.where(small, _q_small_x(xp, As, xp.minimum(Xs, 1.1)), 1 - P_ser)
    Xfr = xp.where(frac, Xs, As + 2)
    Q_fr = _q_fraction(xp, As, Xfr, _prefactor(xp, As, Xfr))
    Atm = xp.where(temme, As, xp.full_like(As, 30.0))
    R, eta = _temme(xp, Atm, xp.where(temme, Xs, Atm))
    half = eta * math.sqrt(0.5) * xp.sqrt(Atm)
    Q_tm = 0.5 * _erfc(be, half) + R
    P_tm = 0.5 * _erfc(be, -half) - R
    P = xp.where(temme, P_tm, xp.where(frac, 1 - Q_fr, P_ser))
    Q = xp.where(temme, Q_tm, xp.where(frac, Q_fr, Q_ser))
    # the edges, in PyTorch's order of precedence (the last applied wins): NaN for a < 0
    # or x < 0, then a == 0, x == 0, a == inf, x == inf; a NaN otherwise propagates
    nan = xp.full_like(X, math.nan)
    zero, one = xp.zeros_like(X), xp.ones_like(X)
    P = xp.where(xp.isnan(A) | xp.isnan(X), nan, P)
    Q = xp.where(xp.isnan(A) | xp.isnan(X), nan, Q)
    inf_a = xp.isinf(A) & xp.isinf(X)
    for cond, p, q in (
            (xp.isinf(X), one, zero),
            (xp.isinf(A), xp.where(inf_a, nan, zero), xp.where(inf_a, nan, one)),
            (X == 0, zero, one),
            (A == 0, xp.where(X > 0, one, nan), xp.where(X > 0, zero, nan)),
            ((A < 0) | (X < 0), nan, nan)):
        P = xp.where(cond, p, P)
        Q = xp.where(cond, q, Q)
    return P, Q


@quiet
class Igamma(Function):
    """P(a, x) (upper=False) or Q(a, x); dX = +-dY x^(a-1) e^-x / Gamma(a); no dA."""

    def forward(self, A, X, upper=False):
        self.A, self.X, self.upper = A, X, upper
        P, Q = igamma_arrays(self.be, A, X)
        return Q if upper else P

    def backward(self, dY):
        if self.needs[0]:
            name = "igammac" if self.upper else "igamma"
            raise NotImplementedError(f"the derivative for '{name}: input' is not "
                                      "implemented.")
        xp, A, X = self.xp, self.A, self.X
        A, X = xp.broadcast_arrays(A, X)
        d = xp.exp((A - 1) * xp.log(X) - X - lgamma_array(xp, A))
        big = (A >= _STIRLING_FROM) & (X > 0) & ~xp.isinf(A) & ~xp.isinf(X)
        Xs = xp.where(big, X, xp.ones_like(X))
        # a x^a e^-x / Gamma(a + 1) / x, keeping its digits for large a
        d = xp.where(big, xp.exp(_log_prefactor(xp, xp.where(big, A, xp.ones_like(A)), Xs))
                     * A / Xs, d)
        if self.upper:
            d = -d
        return None, unbroadcast(xp, dY * d, self.X.shape)


def _args(name, input, other):
    a, x = promote(input, other, name)
    if not a._be.is_floating(a.dtype):
        from ..backend import dtype_name
        raise DtypeNotImplemented(f"{name}: not implemented for dtype "
                                  f"'{dtype_name(a.dtype)}' (input and other must be "
                                  "floating)")
    return a, x


def gammainc(input, other):
    """The regularized lower incomplete gamma P(a, x) = gamma(a, x) / Gamma(a), as
    ``torch.special.gammainc`` / ``torch.igamma``.

    Args:
        input: a, a floating Tensor (>= 0; NaN below).
        other: x, a floating Tensor (>= 0; NaN below), broadcast with ``input``.
    Returns:
        A Tensor of the promoted floating dtype; differentiable in ``other`` only (as
        PyTorch: the derivative in ``input`` raises NotImplementedError).
    """
    a, x = _args("gammainc", input, other)
    return Igamma.apply(a, x, upper=False)


def gammaincc(input, other):
    """The regularized upper incomplete gamma Q(a, x) = 1 - P(a, x), as
    ``torch.special.gammaincc`` / ``torch.igammac`` (arguments as :func:`gammainc`)."""
    a, x = _args("gammaincc", input, other)
    return Igamma.apply(a, x, upper=True)


igamma = gammainc
igammac = gammaincc

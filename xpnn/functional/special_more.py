"""More of ``torch.special``: the normal distribution's ndtr, log_ndtr and ndtri, the scaled
complementary error function erfcx, entr and xlog1py, and the multivariate log-gamma
multigammaln (torch.mvlgamma), in portable Array API code, each a Function with its
derivative written under it. The modified Bessel functions i0, i0e, i1, i1e live in
:mod:`.special_i01` and are re-exported here.

erfcx comes from the continued fraction of erfc (erfc(x) = e^(-x^2)/sqrt(pi) / (x + (1/2)/
(x + 1/(x + (3/2)/(x + ...)))), A&S 7.1.14) without its exponential, so it neither overflows
nor underflows for large x; log_ndtr's left tail is log(erfcx(-x/sqrt 2)/2) - x^2/2, finite
down to the float's range. ndtri takes sqrt(2) erfinv(2p - 1) in the middle (2p - 1 is exact
there) and, in the tails, A&S 26.2.23's start polished by Newton steps on log_ndtr(x) =
log(p), which keeps its relative accuracy down to p ~ 1e-308.

Values at the ends follow the limits where PyTorch gives NaN: erfcx'(inf) = 0,
log_ndtr'(-inf) = inf. Where PyTorch cancels (ndtr in the far left tail, through 1 + erf;
the derivatives of erfcx and log_ndtr at large |x|) these keep their digits.
"""
from __future__ import annotations

import math

from ..autograd import Function
from .activation import _INV_SQRT_PI, _TWO_OVER_SQRT_PI, _input
from .elementwise import _floating, promote_float, quiet, unbroadcast
from .graph_math import (entr_graph, erfcx_graph, log_ndtr_graph, mvlgamma_graph,
                         ndtr_graph, ndtri_graph, xlogy_graph)
from .pointwise import ERFC, ERFINV, _zero, erfc_portable, erfinv_portable
from .scalar_args import int_arg
from .special import digamma, digamma_array, lgamma_array
from .special_i01 import _bessel, i0, i0e, i1, i1e  # noqa: F401 (re-exported)

_SQRT_2 = math.sqrt(2)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_LOG_2 = math.log(2)


def _erfc(be, X):
    return ERFC.get(be.name, erfc_portable)(be, X)


# -- erfcx -----------------------------------------------------------------------------------
def _erfcx_parts(be, X):
    """(erfcx(x), erfcx'(x)) = (e^(x^2) erfc(x), 2x erfcx(x) - 2/sqrt(pi)).

    From the cut on (1.5, 1.0 in float32: erfc_portable's), erfcx = 1/sqrt(pi)/(x + K) with
    K the continued fraction's tail, and the derivative -2/sqrt(pi) K/(x + K) has no
    cancellation; below, e^(x^2) erfc(x); for x < 0, erfcx(x) = 2 e^(x^2) - erfcx(-x)."""
    xp = be.xp
    A = xp.abs(X)
    cut = 1.0 if X.dtype == xp.float32 else 1.5
    far = xp.maximum(A, cut)
    K = xp.zeros_like(far)
    for k in range(100, 0, -1):
        K = (k / 2) / (far + K)
    near = xp.minimum(A, cut)
    small = xp.exp(near * near) * _erfc(be, near)
    big = _INV_SQRT_PI / (far + K)
    pos = xp.where(A < cut, small, big)
    dpos = xp.where(A < cut, 2 * near * small - _TWO_OVER_SQRT_PI,
                    -_TWO_OVER_SQRT_PI * K / (far + K))
    E = 2 * xp.exp(X * X)
    Y = xp.where(X < 0, E - pos, pos)
    dY = xp.where(X < 0, 2 * X * Y - _TWO_OVER_SQRT_PI, dpos)
    return Y, dY


@quiet
class Erfcx(Function):
    """e^(x^2) erfc(x); dX = dY (2x erfcx(x) - 2/sqrt(pi))."""

    def forward(self, X):
        self.X = X
        return _erfcx_parts(self.be, X)[0]

    def backward(self, dY):
        return dY * _erfcx_parts(self.be, self.X)[1]

    def backward_graph(self, dY):
        return erfcx_graph(self, dY, _erfcx_parts)


def erfcx(input):
    """The scaled complementary error function e^(x^2) erfc(x), as ``torch.special.erfcx``
    (no overflow for large x; inf below about -26.6 in float64, where e^(x^2) overflows)."""
    return Erfcx.apply(_input("erfcx", input))


# -- the normal distribution -----------------------------------------------------------------
@quiet
class Ndtr(Function):
    """Phi(x) = erfc(-x/sqrt 2)/2; dX = dY e^(-x^2/2)/sqrt(2 pi)."""

    def forward(self, X):
        xp = self.xp
        self.X = X
        # below -1, e^(-x^2/2) erfcx(-x/sqrt 2)/2: the same in every backend down to the
        # subnormals (ndtr(-38) ~ 3e-316)
        Xl = xp.minimum(X, -1.0)
        left = 0.5 * xp.exp(-0.5 * (Xl * Xl)) * _erfcx_parts(self.be, -Xl * _INV_SQRT_2)[0]
        right = 0.5 * _erfc(self.be, -xp.maximum(X, -1.0) * _INV_SQRT_2)
        return xp.where(X < -1, left, xp.where(xp.isnan(X), X, right))

    def backward(self, dY):
        X = self.X
        return dY * (_INV_SQRT_2PI * self.xp.exp(-0.5 * (X * X)))

    def backward_graph(self, dY):
        return ndtr_graph(self, dY)


def ndtr(input):
    """The standard normal CDF, as ``torch.special.ndtr`` (integers give the default float
    dtype)."""
    return Ndtr.apply(_input("ndtr", input))


def _log_ndtr_parts(be, X):
    """(log Phi(x), d/dx log Phi(x) = phi(x)/Phi(x)): below -1 through erfcx, so both stay
    finite and accurate in the far left tail (Phi(-40) ~ 1e-350 is below float64's range)."""
    xp = be.xp
    left = X < -1
    T = -xp.minimum(X, -1.0) * _INV_SQRT_2
    C, _ = _erfcx_parts(be, T)
    L_left = xp.log(0.5 * C) - 0.5 * (X * X)
    R_left = _SQRT_2_OVER_PI / C          # phi / Phi = sqrt(2/pi) / erfcx(-x/sqrt 2)
    Xr = xp.maximum(X, -1.0)
    L_right = xp.log1p(-0.5 * _erfc(be, Xr * _INV_SQRT_2))
    R_right = _INV_SQRT_2PI * xp.exp(-0.5 * (Xr * Xr) - L_right)
    nan = xp.isnan(X)
    L = xp.where(left, L_left, xp.where(nan, X, L_right))
    R = xp.where(left, R_left, xp.where(nan, X, R_right))
    return L, R


@quiet
class LogNdtr(Function):
    """log Phi(x); dX = dY phi(x)/Phi(x)."""

    def forward(self, X):
        self.X = X
        return _log_ndtr_parts(self.be, X)[0]

    def backward(self, dY):
        return dY * _log_ndtr_parts(self.be, self.X)[1]

    def backward_graph(self, dY):
        return log_ndtr_graph(self, dY, _log_ndtr_parts)


def log_ndtr(input):
    """The log of the standard normal CDF, accurate in the far left tail (log_ndtr(-40) is
    about -804.6), as ``torch.special.log_ndtr``."""
    return LogNdtr.apply(_input("log_ndtr", input))


# A&S 26.2.23: x_p = t - (c0 + c1 t + c2 t^2)/(1 + d1 t + d2 t^2 + d3 t^3), t = sqrt(-2 log p),
# |error| < 4.5e-4 for 0 < p <= 1/2
_AS_C = (2.515517, 0.802853, 0.010328)
_AS_D = (1.432788, 0.189269, 0.001308)


def ndtri_array(be, P):
    """Phi^-1(p) elementwise: the middle (1/4 <= q <= 1/2, q = min(p, 1 - p)) by erfinv,
    the tails by Newton on log_ndtr (relative accuracy ~1e-16 down to p = 1e-300)."""
    xp = be.xp
    Q = xp.minimum(P, 1 - P)                     # 1 - p is exact for p >= 1/2
    center = _SQRT_2 * ERFINV.get(be.name, erfinv_portable)(be, 2 * P - 1)
    tail = (Q > 0) & (Q < 0.25)
    Qs = xp.where(tail, Q, xp.full_like(Q, 0.25))
    logq = xp.log(Qs)
    t = xp.sqrt(-2 * logq)
    num = _AS_C[0] + t * (_AS_C[1] + t * _AS_C[2])
    den = 1 + t * (_AS_D[0] + t * (_AS_D[1] + t * _AS_D[2]))
    X = num / den - t
    # log_ndtr is concave: Newton's steps approach the root from one side, quadratically
    for _ in range(4):
        L, R = _log_ndtr_parts(be, X)
        X = X - (L - logq) / R
    Y = xp.where(tail, xp.where(P < 0.5, X, -X), center)
    inf = xp.full_like(P, math.inf)
    Y = xp.where(P == 0, -inf, xp.where(P == 1, inf, Y))
    return xp.where((P < 0) | (P > 1), xp.full_like(P, math.nan), Y)


@quiet
class Ndtri(Function):
    """x = Phi^-1(p); dP = dX sqrt(2 pi) e^(x^2/2)."""

    saves_output = True

    def forward(self, P):
        self.X = ndtri_array(self.be, P)
        return self.X

    def backward(self, dX):
        X = self.X
        return dX * (math.sqrt(2 * math.pi) * self.xp.exp(0.5 * (X * X)))

    def backward_graph(self, dY):
        return ndtri_graph(self, dY)


def ndtri(input):
    """The inverse of the standard normal CDF on [0, 1] (-inf at 0, inf at 1, NaN outside),
    as ``torch.special.ndtri``."""
    return Ndtri.apply(_input("ndtri", input))


# -- entr, xlog1py ---------------------------------------------------------------------------
@quiet
class Entr(Function):
    """-x log x (0 at 0, -inf below); dX = -dY (1 + log x) (PyTorch's, NaN below 0)."""

    def forward(self, X):
        xp = self.xp
        self.X = X
        Y = xp.where(X > 0, -X * xp.log(X), _zero(xp, X))
        return xp.where(X < 0, xp.full_like(X, -math.inf), xp.where(xp.isnan(X), X, Y))

    def backward(self, dY):
        return dY * -(1 + self.xp.log(self.X))

    def backward_graph(self, dY):
        return entr_graph(self, dY)


def entr(input):
    """The elementwise entropy -x log x (0 at 0, -inf for x < 0), as
    ``torch.special.entr``."""
    return Entr.apply(_input("entr", input))


@quiet
class Xlog1py(Function):
    """A log1p(B), 0 where A == 0 (unless B is NaN); dA = log1p(B), but 0 where A == 0 and
    B <= -1, and dB = A / (B + 1) (PyTorch's)."""

    def forward(self, A, B):
        xp = self.xp
        self.A, self.B = A, B
        nil = (A == 0) & ~xp.isnan(B)
        return xp.where(nil, _zero(xp, A), A * xp.log1p(B))

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        dA = dB = None
        if self.needs[0]:
            g = xp.where((dY == 0) & ~xp.isnan(B), _zero(xp, dY), dY * xp.log1p(B))
            g = xp.where((A == 0) & (B <= -1), _zero(xp, g), g)
            dA = unbroadcast(xp, g, A.shape)
        if self.needs[1]:
            dB = unbroadcast(xp, dY * A / (B + 1), B.shape)
        return dA, dB

    def backward_graph(self, dY):
        return xlogy_graph(self, dY, log1p=True)


def xlog1py(input, other):
    """input * log1p(other), 0 where input is 0 (unless other is NaN), as
    ``torch.special.xlog1py`` (either may be a number; integers give the default float
    dtype)."""
    a, b = promote_float(input, other, "xlog1py")
    return Xlog1py.apply(_floating(a), _floating(b))


# -- the multivariate log-gamma --------------------------------------------------------------
@quiet
class Mvlgamma(Function):
    """log Gamma_p(a) = p (p - 1)/4 log pi + sum_j<p lgamma(a - j/2); dA = dY sum_j
    digamma(a - j/2)."""

    def forward(self, X, p=1):
        self.X, self.p = X, p
        Y = _total([lgamma_array(self.xp, X - 0.5 * j) for j in range(p)])
        return Y + p * (p - 1) / 4 * math.log(math.pi)

    def backward(self, dY):
        xp, X = self.xp, self.X
        return dY * _total([digamma_array(xp, X - 0.5 * j) for j in range(self.p)])

    def backward_graph(self, dY):
        return mvlgamma_graph(self, dY, digamma)


def _total(arrays):
    total = arrays[0]
    for a in arrays[1:]:
        total = total + a
    return total


def mvlgamma(input, p):
    """The multivariate log-gamma log Gamma_p(x) of dimension p, as ``torch.mvlgamma``
    (PyTorch 2.13 checks no domain: below (p - 1)/2 the terms are lgamma's values there).

    Args:
        input: a Tensor (integers give the default float dtype).
        p: the dimension, an int >= 1.
    """
    p = int_arg(p)  # a 0-d integer tensor reads as its int, as in PyTorch
    if isinstance(p, bool) or not isinstance(p, int):
        raise TypeError(f"mvlgamma: p must be an int, got {type(p).__name__}")
    if p < 1:
        raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1, got {p}")
    return Mvlgamma.apply(_input("mvlgamma", input), p=p)


def multigammaln(input, p):
    """torch.special.multigammaln: the same as :func:`mvlgamma`."""
    return mvlgamma(input, p)

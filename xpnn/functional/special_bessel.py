"""Bessel functions of torch.special: bessel_j0/j1/y0/y1, modified_bessel_i0/i1/k0/k1,
scaled_modified_bessel_k0/k1, spherical_bessel_j0 and airy_ai, in portable Array API code
with fixed iteration counts (no host syncs). As in PyTorch they have no derivative: their
outputs never require grad.

J and Y (A&S chapter 9): the power series (A&S 9.1.10, 9.1.11) for |x| <= 2; from 2 to 25
Miller's backward recurrence J_(n-1) = (2n/x) J_n - J_(n+1) from n = 70, normalized by
J_0 + 2 sum_k J_2k = 1 and rescaled on the way down so float32 does not overflow, with Y0 by
Neumann's series (A&S 9.1.88) and Y1 = -Y0' from the same J_n; from 25 on Hankel's
asymptotic expansion (A&S 9.2.5-9.2.10; its smallest term there is ~1e-22), with
cos(x - pi/4) written as (cos x + sin x)/sqrt 2 so no rounding of x - pi/4 enters.

K (A&S 9.6.11, 9.6.13, 9.7.2): the series for x <= 1/2; from 1/2 to 25 the integral
e^x K_nu(x) = int_0^inf e^(-x (cosh t - 1)) cosh(nu t) dt by the trapezoidal rule (step 0.1;
the integrand is analytic in a strip, so the error falls like e^(-c/h)); from 25 on the
asymptotic series. I0 and I1 are xpnn.special.i0 / i1's code.

Airy Ai: Taylor steps of Ai'' = x Ai from x = 0 (20 steps of order 30) for -10 <= x <= 0.8,
where that recursion is stable; Ai(x) = sqrt(x/3)/pi K_(1/3)(zeta), zeta = 2/3 x^(3/2), by
the same trapezoidal integral for 0.8 < x <= 9.7; the asymptotic series (A&S 10.4.59, 10.4.60)
beyond (zeta >= 20).
"""
from __future__ import annotations

import math

from ..autograd import Function
from .activation import _input
from .elementwise import quiet
from .special_i01 import _bessel

_EULER_GAMMA = 0.5772156649015329
_TWO_OVER_PI = 2 / math.pi
_SERIES_TO = 2.0
_K_SERIES_TO = 0.5    # K's series cancels (-(log(x/2) + gamma) I0 + ...) beyond
_ASYMPTOTIC_FROM = 25.0
_MILLER_START = 70
_HANKEL_TERMS = 28


def _harmonic(k):
    return sum(1 / j for j in range(1, k + 1))


def _small_series(xp, X, nu, kind):
    """For 0 < x <= 2 (A&S 9.1.10-11, 9.6.10-11), with z = x^2/4:
    J0 = sum (-z)^k/k!^2, J1 = x/2 sum (-z)^k/(k!(k+1)!),
    Y0 = 2/pi (log(x/2) + gamma) J0 - 2/pi sum H_k (-z)^k/k!^2,
    Y1 = -2/(pi x) + 2/pi log(x/2) J1
         - x/(2 pi) sum (psi(k+1) + psi(k+2)) (-z)^k/(k!(k+1)!),
    K0 = -(log(x/2) + gamma) I0 + sum H_k z^k/k!^2,
    K1 = 1/x + log(x/2) I1 - x/4 sum (psi(k+1) + psi(k+2)) z^k/(k!(k+1)!)."""
    z = 0.25 * (X * X)
    s = z if kind == "K" else -z
    plain = xp.zeros_like(X)
    weighted = xp.zeros_like(X)
    term = xp.ones_like(X)
    for k in range(0, 22):
        if k:
            term = term * s / (k * (k + nu))
        plain = plain + term
        if nu == 0:
            weighted = weighted + _harmonic(k) * term
        else:
            weighted = weighted + (2 * _harmonic(k) + 1 / (k + 1) - 2 * _EULER_GAMMA) * term
    log_half = xp.log(0.5 * X)
    if nu == 0:
        if kind == "J":
            return plain
        if kind == "Y":
            return _TWO_OVER_PI * ((log_half + _EULER_GAMMA) * plain - weighted)
        return -(log_half + _EULER_GAMMA) * plain + weighted
    plain = 0.5 * X * plain
    if kind == "J":
        return plain
    if kind == "Y":
        return (-_TWO_OVER_PI / X + _TWO_OVER_PI * log_half * plain
                - X / (2 * math.pi) * weighted)
    return 1 / X + log_half * plain - 0.25 * X * weighted


def _miller(xp, X):
    """(J0, J1, Y0, Y1) for 2 <= x <= 25 by backward recurrence and Neumann's series."""
    big = 1e10
    f_next = xp.zeros_like(X)
    f = xp.full_like(X, 1e-30)
    norm = xp.zeros_like(X)       # f_0 + 2 sum_k f_2k
    neumann0 = xp.zeros_like(X)   # sum_k>=1 (-1)^k f_2k / k
    neumann1 = xp.zeros_like(X)   # sum_k>=1 (-1)^k (f_(2k-1) - f_(2k+1)) / k
    two_over_x = 2 / X
    for n in range(_MILLER_START, 0, -1):
        # here f = f_n, f_next = f_(n+1)
        if n % 2 == 0:
            k = n // 2
            sign = 1 if k % 2 == 0 else -1
            norm = norm + 2 * f
            neumann0 = neumann0 + (sign / k) * f
            neumann1 = neumann1 - (sign / k) * f_next   # the -f_(2k+1) part
        else:
            k = (n + 1) // 2
            sign = 1 if k % 2 == 0 else -1
            neumann1 = neumann1 + (sign / k) * f        # the f_(2k-1) part
        f_prev = n * two_over_x * f - f_next
        f_next, f = f, f_prev
        # rescale everything linear in f when it grows large (float32's range)
        over = xp.abs(f) > big
        scale = xp.where(over, xp.full_like(X, 1 / big), xp.ones_like(X))
        f, f_next = f * scale, f_next * scale
        norm, neumann0, neumann1 = norm * scale, neumann0 * scale, neumann1 * scale
    # now f = f_0, f_next = f_1
    norm = norm + f
    J0 = f / norm
    J1 = f_next / norm
    lg = xp.log(0.5 * X) + _EULER_GAMMA
    Y0 = _TWO_OVER_PI * (lg * J0 - 2 * neumann0 / norm)
    Y1 = _TWO_OVER_PI * (lg * J1 - J0 / X + neumann1 / norm)
    return J0, J1, Y0, Y1


def _hankel_pq(xp, X, nu):
    """Hankel's P and Q for order nu at x >= 25 (A&S 9.2.9-10)."""
    mu = 4 * nu * nu
    P = xp.ones_like(X)
    Q = xp.zeros_like(X)
    term = xp.ones_like(X)
    inv8x = 1 / (8 * X)
    for k in range(1, 2 * _HANKEL_TERMS):
        term = term * ((mu - (2 * k - 1) ** 2) / k) * inv8x
        if k % 2:
            Q = Q + (1 if k % 4 == 1 else -1) * term
        else:
            P = P + (1 if k % 4 == 0 else -1) * term
    return P, Q


def _hankel(xp, X, nu):
    """(J_nu, Y_nu)(x) for x >= 25 and nu = 0, 1."""
    P, Q = _hankel_pq(xp, X, nu)
    c, s = xp.cos(X), xp.sin(X)
    if nu == 0:
        cos_chi, sin_chi = c + s, s - c          # times sqrt 2: chi = x - pi/4
    else:
        cos_chi, sin_chi = s - c, -(s + c)       # chi = x - 3 pi/4
    amp = xp.sqrt(1 / (math.pi * X))             # sqrt(2/(pi x)) / sqrt 2
    return amp * (P * cos_chi - Q * sin_chi), amp * (P * sin_chi + Q * cos_chi)


def _jy(xp, A):
    """(J0, J1, Y0, Y1) at a = |x| > 0 (finite), each region by its own method."""
    small = xp.minimum(A, _SERIES_TO)
    mid = xp.clip(A, _SERIES_TO, _ASYMPTOTIC_FROM)
    far = xp.maximum(A, _ASYMPTOTIC_FROM)
    in_small, in_far = A <= _SERIES_TO, A >= _ASYMPTOTIC_FROM
    M = _miller(xp, mid)
    H0, H1 = _hankel(xp, far, 0), _hankel(xp, far, 1)
    out = []
    for i, (nu, kind, far_value) in enumerate(
            ((0, "J", H0[0]), (1, "J", H1[0]), (0, "Y", H0[1]), (1, "Y", H1[1]))):
        value = xp.where(in_far, far_value, M[i])
        out.append(xp.where(in_small, _small_series(xp, small, nu, kind), value))
    return out


def _scaled_k(xp, A, nu):
    """e^x K_nu(x) for x > 0 (finite): series, trapezoidal integral, asymptotic series."""
    small = xp.minimum(A, _K_SERIES_TO)
    series = _small_series(xp, small, nu, "K") * xp.exp(small)
    mid = xp.clip(A, _K_SERIES_TO, _ASYMPTOTIC_FROM)
    integral = _k_integral(xp, mid, nu)
    far = xp.maximum(A, _ASYMPTOTIC_FROM)
    mu = 4 * nu * nu
    term = xp.ones_like(far)
    total = term
    for k in range(1, 40):
        term = term * ((mu - (2 * k - 1) ** 2) / (8 * k)) / far
        total = total + term
    asym = total * xp.sqrt(math.pi / (2 * far))
    return xp.where(A <= _K_SERIES_TO, series,
                    xp.where(A >= _ASYMPTOTIC_FROM, asym, integral))


_K_STEP = 0.1
_K_NODES = [(j * _K_STEP, 2 * math.sinh(0.5 * j * _K_STEP) ** 2) for j in range(0, 56)]


def _k_integral(xp, Z, nu):
    """e^z K_nu(z) = int_0^inf e^(-z (cosh t - 1)) cosh(nu t) dt (trapezoidal, t <= 5.5)."""
    total = xp.zeros_like(Z)
    for j, (t, cosh_m1) in enumerate(_K_NODES):
        w = 0.5 if j == 0 else 1.0
        total = total + (w * math.cosh(nu * t)) * xp.exp(-cosh_m1 * Z)
    return _K_STEP * total


# -- airy Ai ---------------------------------------------------------------------------------
_AI0 = 0.35502805388781723926     # Ai(0) = 3^(-2/3) / Gamma(2/3)
_AIP0 = -0.25881940379280679840   # Ai'(0) = -3^(-1/3) / Gamma(1/3)
_AIRY_STEPS, _AIRY_ORDER = 20, 30
_AIRY_LEFT, _AIRY_RIGHT = -10.0, 0.8
_AIRY_ZETA_FAR = 20.0


def _u(k):
    """A&S 10.4.58: u_k = (2k+1)(2k+3)...(6k-1) / (216^k k!)."""
    num = 1.0
    for j in range(2 * k + 1, 6 * k, 2):
        num *= j
    return num / (216 ** k * math.factorial(k))


_AIRY_U = [_u(k) for k in range(0, 30)]


def _airy_taylor(xp, X):
    """Ai(x) by Taylor steps from 0 to x (Ai'' = x Ai), for -10 <= x <= 0.8."""
    h = X / _AIRY_STEPS
    y = xp.full_like(X, _AI0)
    dy = xp.full_like(X, _AIP0)
    for step in range(_AIRY_STEPS):
        # Ai(a + s) = sum_k c_k s^k about a = step h: c_0 = Ai(a), c_1 = Ai'(a) and
        # (k + 1)(k + 2) c_(k+2) = a c_k + c_(k-1) (from Ai'' = (a + s) Ai)
        a = h * step
        new_y, new_dy = y + dy * h, dy
        hk = h                          # h^(k+1)
        cs = [y, dy]
        for k in range(0, _AIRY_ORDER - 2):
            c = (a * cs[k] + (cs[k - 1] if k else 0.0)) / ((k + 1) * (k + 2))
            cs.append(c)
            new_dy = new_dy + (k + 2) * c * hk
            hk = hk * h
            new_y = new_y + c * hk
        y, dy = new_y, new_dy
    return y


def _airy_far_left(xp, A):
    """Ai(-a) for a >= 9.7 (A&S 10.4.60)."""
    zeta = (2 / 3) * A * xp.sqrt(A)
    inv = 1 / zeta
    P = xp.zeros_like(A)
    Q = xp.zeros_like(A)
    power = xp.ones_like(A)
    for k in range(0, 24):
        term = _AIRY_U[k] * power
        if k % 2 == 0:
            P = P + (1 if k % 4 == 0 else -1) * term
        else:
            Q = Q + (1 if k % 4 == 1 else -1) * term
        power = power * inv
    s, c = xp.sin(zeta), xp.cos(zeta)
    # sin(zeta + pi/4) = (s + c)/sqrt 2, cos(zeta + pi/4) = (c - s)/sqrt 2
    return (P * (s + c) - Q * (c - s)) / (math.sqrt(2 * math.pi) * xp.sqrt(xp.sqrt(A)))


def _airy_right(xp, X):
    """Ai(x) for x > 0.8: sqrt(x/3)/pi e^-zeta (e^zeta K_(1/3)(zeta)), the asymptotic series
    e^-zeta / (2 sqrt(pi) x^(1/4)) sum (-1)^k u_k zeta^-k from zeta = 20."""
    zeta = (2 / 3) * X * xp.sqrt(X)
    zmid = xp.minimum(zeta, _AIRY_ZETA_FAR)
    mid = xp.sqrt(X / 3) / math.pi * _k_integral(xp, zmid, 1 / 3)
    zfar = xp.maximum(zeta, _AIRY_ZETA_FAR)
    inv = 1 / zfar
    total = xp.zeros_like(X)
    power = xp.ones_like(X)
    for k in range(0, 24):
        total = total + ((-1) ** k * _AIRY_U[k]) * power
        power = power * inv
    far = total / (2 * math.sqrt(math.pi) * xp.sqrt(xp.sqrt(X)))
    scaled = xp.where(zeta < _AIRY_ZETA_FAR, mid, far)
    half = xp.exp(-0.5 * zeta)   # e^-zeta in halves: the scaled value is tiny, not zero
    return scaled * half * half


def airy_ai_array(xp, X):
    near = xp.clip(X, _AIRY_LEFT, _AIRY_RIGHT)
    Y = xp.where(X < _AIRY_LEFT, _airy_far_left(xp, xp.maximum(-X, -_AIRY_LEFT)),
                 xp.where(X > _AIRY_RIGHT, _airy_right(xp, xp.maximum(X, _AIRY_RIGHT)),
                          _airy_taylor(xp, near)))
    return xp.where(xp.isinf(X), xp.full_like(X, math.nan), Y)


# -- the functions ---------------------------------------------------------------------------
def _nan_inf(xp, X, Y, at_inf):
    """NaN at NaN; ``at_inf`` (a number) at +-inf."""
    Y = xp.where(xp.isinf(X), xp.full_like(X, at_inf), Y)
    return xp.where(xp.isnan(X), X, Y)


def bessel_array(be, X, name):
    xp = be.xp
    if name in ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1"):
        A = xp.abs(X)
        safe = xp.where((A > 0) & ~xp.isinf(A) & ~xp.isnan(A), A, xp.ones_like(A))
        J0, J1, Y0, Y1 = _jy(xp, safe)
        if name == "bessel_j0":
            Y = xp.where(A == 0, xp.ones_like(X), J0)
        elif name == "bessel_j1":
            Y = xp.where(A == 0, X, xp.where(X < 0, -J1, J1))
            # J1(x) = x/2 to 1e-300 (the series' x/2 keeps subnormals exact)
            Y = xp.where(A < 1e-8, 0.5 * X, Y)
        else:
            Y = Y0 if name == "bessel_y0" else Y1
            Y = xp.where(A == 0, xp.full_like(X, -math.inf), Y)
            Y = xp.where(X < 0, xp.full_like(X, math.nan), Y)
        return _nan_inf(xp, X, Y, math.nan)
    if name in ("modified_bessel_i0", "modified_bessel_i1"):
        Y = _bessel(xp, X, 0 if name.endswith("0") else 1, False)
        return xp.where(xp.isinf(X), xp.full_like(X, math.nan), Y)
    if "bessel_k" in name:
        nu = 0 if name.endswith("0") else 1
        A = xp.where((X > 0) & ~xp.isinf(X), X, xp.ones_like(X))
        S = _scaled_k(xp, A, nu)
        if not name.startswith("scaled"):
            half = xp.exp(-0.5 * A)
            S = S * half * half
        Y = xp.where(X == 0, xp.full_like(X, math.inf), S)
        Y = xp.where(X < 0, xp.full_like(X, math.nan), Y)
        Y = xp.where(X == math.inf, xp.zeros_like(X), Y)
        return xp.where(xp.isnan(X), X, Y)
    if name == "spherical_bessel_j0":
        small = xp.abs(X) < 1e-4
        Xs = xp.where(small, xp.ones_like(X), X)
        z = X * X
        Y = xp.where(small, 1 - z / 6 * (1 - z / 20), xp.sin(Xs) / Xs)
        return _nan_inf(xp, X, Y, 0.0)
    if name == "airy_ai":
        Y = airy_ai_array(xp, xp.where(xp.isinf(X), xp.zeros_like(X), X))
        return xp.where(xp.isinf(X) | xp.isnan(X), xp.full_like(X, math.nan), Y)
    raise ValueError(name)


@quiet
class BesselFamily(Function):
    """The Bessel functions above: no gradient (PyTorch defines none)."""

    differentiable = False

    def forward(self, X, name="bessel_j0"):
        return bessel_array(self.be, X, name)


# torch.special names the argument of these x (the others' input)
_NAMED_X = ("scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0",
            "airy_ai")


def _make(name, summary):
    if name in _NAMED_X:
        def fn(x):
            return BesselFamily.apply(_input(name, x), name=name)
    else:
        def fn(input):
            return BesselFamily.apply(_input(name, input), name=name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{summary}, as ``torch.special.{name}`` (integers give the default "
                  "float dtype; no gradient, as in PyTorch).")
    return fn


bessel_j0 = _make("bessel_j0", "The Bessel function of the first kind of order 0")
bessel_j1 = _make("bessel_j1", "The Bessel function of the first kind of order 1")
bessel_y0 = _make("bessel_y0", "The Bessel function of the second kind of order 0 (NaN "
                  "below 0, -inf at 0)")
bessel_y1 = _make("bessel_y1", "The Bessel function of the second kind of order 1 (NaN "
                  "below 0, -inf at 0)")
modified_bessel_i0 = _make("modified_bessel_i0", "The modified Bessel function I0")
modified_bessel_i1 = _make("modified_bessel_i1", "The modified Bessel function I1")
modified_bessel_k0 = _make("modified_bessel_k0", "The modified Bessel function K0 (NaN "
                           "below 0, inf at 0)")
modified_bessel_k1 = _make("modified_bessel_k1", "The modified Bessel function K1 (NaN "
                           "below 0, inf at 0)")
scaled_modified_bessel_k0 = _make("scaled_modified_bessel_k0", "e^x K0(x)")
scaled_modified_bessel_k1 = _make("scaled_modified_bessel_k1", "e^x K1(x)")
spherical_bessel_j0 = _make("spherical_bessel_j0", "The spherical Bessel function sin(x)/x")
airy_ai = _make("airy_ai", "The Airy function Ai")

"""The gamma family: lgamma, digamma and polygamma, in portable Array API code.

Each moves its argument up by whole steps until an asymptotic series converges (the steps
are a fixed number of masked updates, so nothing is read back to the host), and reflects
negative arguments through Euler's formula Gamma(x) Gamma(1 - x) = pi / sin(pi x) and its
derivatives. d lgamma = digamma = polygamma(0); d polygamma(n) = polygamma(n + 1).
Measured against torch.lgamma / torch.digamma / torch.polygamma in float64 over
[-50, 50] and near the poles: lgamma within 1e-14, digamma within 3e-14 (relative, or
absolute below 1); in float32 both within 1e-5 of the float64 values.
"""
from __future__ import annotations

import math

from ..autograd import Function
from .activation import _input
from .elementwise import quiet
from .graph_math import lgamma_graph, polygamma_graph
from .scalar_args import int_arg

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# B_2, B_4, ..., B_20: the Bernoulli numbers of the Stirling and digamma series
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330)
_LGAMMA_FROM = 8.0    # Stirling's series: the first term left out is ~1e-18 at 8
_DIGAMMA_FROM = 10.0  # digamma's series: last term at 10 is ~1e-17


def _zeta(k):
    """Riemann's zeta(k), k >= 2, by Euler-Maclaurin summation from 10 (Python floats)."""
    n = 10
    total = sum(i ** -k for i in range(1, n)) + n ** (1 - k) / (k - 1) + 0.5 * n ** -k
    rising = k  # k (k + 1) ... (k + 2j - 2)
    for j, b in enumerate(_BERNOULLI, start=1):
        total += b / math.factorial(2 * j) * rising * n ** (-k - 2 * j + 1)
        rising *= (k + 2 * j - 1) * (k + 2 * j)
    return total


# lgamma(1 + e) = -gamma e + sum_k>=2 (-1)^k zeta(k) / k e^k: used for |e| <= 1/2 around the
# zeros at 1 and 2, where Stirling's form would cancel to an absolute error
_EULER_GAMMA = 0.5772156649015329
_LGAMMA_NEAR_1 = [0.0, -_EULER_GAMMA] + [(-1) ** k * _zeta(k) / k for k in range(2, 48)]


def _series(xp, inv2, coeffs):
    """sum_k coeffs[k] inv2^k for k >= 0 (Horner)."""
    total = xp.zeros_like(inv2) + coeffs[-1]
    for c in coeffs[-2::-1]:
        total = total * inv2 + c
    return total


def _pi_frac(xp, X):
    """pi (x - round(x)), in [-pi/2, pi/2]: the subtraction is exact, so sin and cot of pi x
    keep their accuracy for large |x| and next to the poles."""
    return math.pi * (X - xp.round(X))


def _cot_pi(xp, X):
    """cot(pi x), accurate in relative terms everywhere: with f = x - round(x) (exact),
    cos/sin of pi f for |f| < 1/4, and tan(pi (1/2 - f)) (1/2 - f exact) beyond, so the
    zeros at half-integers are exact zeros rather than cos(fl(pi/2)) ~ 6e-17 (4e-8 in
    float32), which the reflected polygamma(n >= 2) multiplies by ~pi^(n+1)."""
    F = X - xp.round(X)
    a = math.pi * F
    G = xp.where(F >= 0, 0.5 - F, -0.5 - F)
    return xp.where(xp.abs(F) < 0.25, xp.cos(a) / xp.sin(a), xp.tan(math.pi * G))


def lgamma_array(xp, X):
    """log|Gamma(x)| elementwise (inf at the poles 0, -1, -2, ... and at +-inf)."""
    neg = X < 0
    Z0 = Z = xp.where(neg, 1 - X, X)
    # lgamma(z) = lgamma(z + k) - log(z (z + 1) ... (z + k - 1))
    P = xp.ones_like(Z)  # the product stays below 8^8
    for _ in range(int(_LGAMMA_FROM)):
        low = Z < _LGAMMA_FROM
        P = xp.where(low, P * Z, P)
        Z = xp.where(low, Z + 1, Z)
    inv = 1 / Z
    # Stirling: (z - 1/2) log z - z + log(2 pi)/2 + sum_k B_2k / (2k (2k - 1) z^(2k - 1))
    stirling = _series(xp, inv * inv, [b / ((2 * k + 2) * (2 * k + 1))
                                        for k, b in enumerate(_BERNOULLI)]) * inv
    L = (Z - 0.5) * xp.log(Z) - Z + _HALF_LOG_2PI + stirling - xp.log(P)
    near = (Z0 >= 0.5) & (Z0 < 2.5)
    E = xp.where(Z0 < 1.5, Z0 - 1, Z0 - 2)
    T = xp.zeros_like(E) + _LGAMMA_NEAR_1[-1]
    for c in _LGAMMA_NEAR_1[-2::-1]:
        T = T * E + c
    L = xp.where(near, xp.where(Z0 < 1.5, T, T + xp.log1p(E)), L)  # lgamma(2+e) adds log(1+e)
    s = xp.abs(xp.sin(_pi_frac(xp, X)))
    Y = xp.where(neg, math.log(math.pi) - xp.log(s) - L, L)
    return xp.where(xp.isinf(X), xp.abs(X), Y)


def digamma_array(xp, X):
    """psi(x) = d/dx lgamma(x) elementwise, with PyTorch's values at the poles: -inf at +0,
    inf at -0, NaN at the negative integers."""
    neg = X < 0
    Z = xp.where(neg, 1 - X, X)
    acc = xp.zeros_like(Z)  # psi(z) = psi(z + k) - sum_i 1 / (z + i)
    for _ in range(int(_DIGAMMA_FROM)):
        low = Z < _DIGAMMA_FROM
        acc = acc - xp.where(low, 1 / Z, 0.0)
        Z = xp.where(low, Z + 1, Z)
    inv = 1 / Z
    inv2 = inv * inv
    # psi(z) ~ log z - 1/(2z) - sum_k B_2k / (2k z^2k)
    tail = _series(xp, inv2, [b / (2 * k + 2) for k, b in enumerate(_BERNOULLI)]) * inv2
    Y = xp.log(Z) - 0.5 * inv - tail + acc
    # reflection: psi(x) = psi(1 - x) - pi cot(pi x)
    Y = xp.where(neg, Y - math.pi * _cot_pi(xp, X), Y)
    Y = xp.where(neg & (X == xp.floor(X)), xp.nan, Y)
    inf = xp.full_like(X, math.inf)
    return xp.where(X == 0, xp.where(xp.signbit(X), inf, -inf), Y)


def _cot_derivative(n):
    """Coefficients (constant first) of the polynomial Q_n with d^n/dx^n cot(pi x) =
    Q_n(cot(pi x)); Q_0(c) = c and Q_(k+1)(c) = -pi (1 + c^2) Q_k'(c)."""
    q = [0.0, 1.0]
    for _ in range(n):
        d = [i * q[i] for i in range(1, len(q))]   # Q_k'
        nxt = [0.0] * (len(d) + 2)
        for i, c in enumerate(d):                  # times -pi (1 + c^2)
            nxt[i] -= math.pi * c
            nxt[i + 2] -= math.pi * c
        q = nxt
    return q


def polygamma_array(xp, n, X):
    """The n-th derivative of digamma elementwise (n >= 0)."""
    if n == 0:
        return digamma_array(xp, X)
    neg = X < 0
    Z = xp.where(neg, 1 - X, X)
    start = _DIGAMMA_FROM + n  # the series' terms grow with n: start later
    acc = xp.zeros_like(Z)     # psi_n(z) = psi_n(z + k) + (-1)^(n+1) n! sum_i (z + i)^-(n+1)
    for _ in range(int(start)):
        low = Z < start
        acc = acc + xp.where(low, (1 / Z) ** (n + 1), 0.0)
        Z = xp.where(low, Z + 1, Z)
    inv = 1 / Z
    # psi_n(z) ~ (-1)^(n+1) (n-1)!/z^n [1 + n/(2z) + sum_k B_2k C(2k+n-1, 2k) / z^2k]
    coeffs = [b * math.comb(2 * k + 2 + n - 1, 2 * k + 2) for k, b in enumerate(_BERNOULLI)]
    inv2 = inv * inv
    bracket = 1 + n * 0.5 * inv + _series(xp, inv2, coeffs) * inv2
    sign = -1.0 if n % 2 == 0 else 1.0
    Y = sign * (math.factorial(n - 1) * inv ** n * bracket + math.factorial(n) * acc)
    # reflection, differentiated n times: psi_n(x) = (-1)^n psi_n(1 - x) - pi Q_n(cot pi x)
    q = _cot_derivative(n)
    c = _cot_pi(xp, X)
    Qc = xp.zeros_like(c) + q[-1]
    for coef in q[-2::-1]:
        Qc = Qc * c + coef
    Y = xp.where(neg, -sign * Y - math.pi * Qc, Y)
    Y = xp.where(X == 0, xp.full_like(X, sign * math.inf), Y)
    if n >= 2:  # PyTorch's (-1)^(n+1) n! zeta(n + 1, x) at +-inf: NaN at +inf, +-inf at -inf
        Y = xp.where(X == math.inf, xp.full_like(X, math.nan), Y)
        Y = xp.where(X == -math.inf, xp.full_like(X, sign * math.inf), Y)
    return Y


@quiet
class Lgamma(Function):
    """log|Gamma(x)|; dX = dY digamma(x)."""

    def forward(self, X):
        self.X = X
        return lgamma_array(self.xp, X)

    def backward(self, dY):
        return dY * digamma_array(self.xp, self.X)

    def backward_graph(self, dY):
        return lgamma_graph(self, dY, digamma)


@quiet
class Polygamma(Function):
    """psi_n(x), the (n + 1)-th derivative of lgamma; dX = dY psi_(n+1)(x)."""

    def forward(self, X, n=0):
        self.X, self.n = X, n
        return polygamma_array(self.xp, n, X)

    def backward(self, dY):
        return dY * polygamma_array(self.xp, self.n + 1, self.X)

    def backward_graph(self, dY):
        return polygamma_graph(self, dY)


def lgamma(input):
    """log|Gamma(x)| elementwise, as ``torch.lgamma`` (integers give the default float
    dtype; inf at 0, -1, -2, ...)."""
    return Lgamma.apply(_input("lgamma", input))


def digamma(input):
    """The digamma function psi(x) = d/dx lgamma(x), as ``torch.digamma`` (-inf at +0, NaN
    at the negative integers)."""
    return Polygamma.apply(_input("digamma", input), n=0)


def polygamma(n, input):
    """The n-th derivative of digamma, as ``torch.polygamma(n, input)`` (n = 0: digamma).

    Args:
        n: a non-negative int.
        input: a Tensor (integers give the default float dtype).
    """
    n = int_arg(n)  # a 0-d integer tensor reads as its int, as in PyTorch
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"polygamma: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"polygamma: n must be >= 0, got {n}")
    return Polygamma.apply(_input("polygamma", input), n=n)

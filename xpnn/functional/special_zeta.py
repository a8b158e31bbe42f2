"""Hurwitz's zeta function zeta(s, q) = sum_k>=0 (q + k)^-s (torch.special.zeta), by
Euler-Maclaurin summation in portable Array API code with fixed term counts (no host syncs);
q < 0 (integer s) is reduced to three evaluations at positive arguments. No derivative, as
PyTorch.
"""
from __future__ import annotations

import math

from ..autograd import Function
from .elementwise import _floating, promote_float, quiet
from .special import _BERNOULLI

# B_2, B_4, ..., B_20 / (2j)!: the Euler-Maclaurin corrections
_ZETA_TERMS = 20
_EM = [b / math.factorial(2 * j) for j, b in enumerate(_BERNOULLI, start=1)]


def _zeta_positive(xp, S, Q):
    """zeta(s, q) for s > 1, q > 0 (finite) by Euler-Maclaurin summation: 20 terms summed,
    then a^(1-s)/(s-1) + a^-s/2 + sum_j B_2j/(2j)! s(s+1)...(s+2j-2) a^(-s-2j+1), a = q + 20
    (the corrections fall like ((s + 2j)/(2 pi a))^2 per term; where s is so large that they
    do not, the first term q^-s dwarfs them)."""
    total = xp.zeros_like(Q)
    for k in range(_ZETA_TERMS):
        total = total + xp.pow(Q + k, -S)
    a = Q + _ZETA_TERMS
    a_s = xp.pow(a, -S)
    total = total + a * a_s / (S - 1) + 0.5 * a_s
    t = S * a_s / a
    inv_a2 = 1 / (a * a)
    for j, c in enumerate(_EM, start=1):
        total = total + c * t
        t = t * (S + 2 * j - 1) * (S + 2 * j) * inv_a2
    return total


def zeta_array(xp, S, Q):
    """Hurwitz's zeta(s, q) = sum_k>=0 (q + k)^-s elementwise. For q < 0 (defined for integer
    s only), with f = q - floor(q): the terms with q + k < 0 are (-1)^s sum_j=1..m (j - f)^-s
    = (-1)^s (zeta(s, 1 - f) - zeta(s, 1 - q)), so zeta(s, q) = zeta(s, f) + that, three
    evaluations at positive arguments, with no loop over m = -floor(q)."""
    S, Q = xp.broadcast_arrays(S, Q)
    ok = (S > 1) & ~xp.isinf(S) & ~xp.isinf(Q) & ~xp.isnan(Q)
    Ss = xp.where(ok, S, xp.full_like(S, 2.0))
    Qs = xp.where(ok & (Q != 0), Q, xp.ones_like(Q))
    neg = Qs < 0
    F = Qs - xp.floor(Qs)
    F = xp.where(neg & (F > 0), F, xp.ones_like(F))
    direct = _zeta_positive(xp, Ss, xp.where(neg, F, Qs))
    sign = 1 - 2 * xp.remainder(Ss, 2.0)
    left = _zeta_positive(xp, Ss, xp.where(neg, 1 - F, Qs))
    right = _zeta_positive(xp, Ss, xp.where(neg, 1 - Qs, Qs))
    total = xp.where(neg, direct + sign * (left - right), direct)
    # the edges, as PyTorch: inf at s = 1 and at the poles q = 0, -1, ...; NaN for s < 1
    # and for q < 0 with s not an integer; s = inf: 1 at q = 1, inf for 0 < |q| < 1 (q^-inf),
    # else NaN; q = inf: NaN
    nan, inf = xp.full_like(total, math.nan), xp.full_like(total, math.inf)
    pole = (Q <= 0) & (Q == xp.floor(Q))
    at_inf = xp.where(Q == 1, xp.ones_like(Q), xp.where(xp.abs(Q) < 1, inf, nan))
    Y = xp.where(xp.isinf(S), at_inf, total)
    Y = xp.where(xp.isinf(Q), nan, Y)
    Y = xp.where((Q < 0) & (S != xp.floor(S)) & ~pole, nan, Y)
    Y = xp.where(pole, inf, Y)
    Y = xp.where(S < 1, nan, xp.where(S == 1, inf, Y))
    return xp.where(xp.isnan(S) | xp.isnan(Q), nan, Y)


@quiet
class Zeta(Function):
    """Hurwitz's zeta(s, q): PyTorch defines no derivative (backward raises)."""

    def forward(self, S, Q):
        return zeta_array(self.xp, S, Q)

    def backward(self, dY):
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")


def zeta(input, other):
    """Hurwitz's zeta function zeta(x, q) = sum_k>=0 (q + k)^-x, as ``torch.special.zeta``.

    Args:
        input: x (the exponent), a Tensor or a number.
        other: q, a Tensor or a number, broadcast with ``input``.
    Returns:
        A floating Tensor (integers give the default float dtype). Backward raises
        NotImplementedError, as in PyTorch.
    """
    s, q = promote_float(input, other, "zeta")
    return Zeta.apply(_floating(s), _floating(q))

"""Poisson and binomial draws on any backend, with nothing read back to the host: the
small-mean cases by inversion over a fixed number of terms, the rest by transformed
rejection (Hoermann, "The transformed rejection method for generating Poisson random
variables", 1993, and "... binomial random variables", 1993: PTRS and BTRS) with every
round drawn at once, as ``gamma.standard_gamma`` does. Computed in float64, then cast to
the parameters' dtype (counts are whole numbers; float32 would round lgamma of large
counts)."""
from __future__ import annotations

from .. import backend as B
from ..functional.special import lgamma_array

_SMALL = 10.0  # mean below which inversion runs (and above which rejection accepts > 0.8)
_TERMS = 48    # inversion terms: P(Poisson(10) >= 48) < 1e-15
_ROUNDS = 20   # rejection rounds: all reject with probability < 0.2^20 ~ 1e-14


def _inversion(be, xp, p0, ratio, shape, generator=None):
    """The k with cdf(k - 1) <= U < cdf(k), U uniform on [0, total) where total is the
    mass of the first _TERMS terms (renormalized, so a rounded-down cdf never runs off
    the end); ``ratio(k)`` is pmf(k + 1) / pmf(k)."""
    total, term = p0, p0
    for k in range(_TERMS - 1):
        term = term * ratio(k)
        total = total + term
    U = be.uniform(shape, "float64", generator) * total
    count = xp.zeros(shape, dtype=xp.float64, device=p0.device)
    cdf, term = p0, p0
    for k in range(_TERMS):
        count = count + xp.astype(U >= cdf, xp.float64)
        term = term * ratio(k)
        cdf = cdf + term
    return count


def _first_accepted(xp, ok, k, fallback):
    out = fallback
    for r in range(_ROUNDS - 1, -1, -1):
        out = xp.where(ok[r, ...], k[r, ...], out)
    return out


def poisson_array(be, xp, rate, generator=None):
    """Poisson(rate) counts (float64) of ``rate``'s shape; ``rate`` a float64 array."""
    shape = tuple(rate.shape)
    with be.quiet():
        small = rate < _SMALL
        rs = xp.where(small, rate, 0.0)  # each method's parameters, dummies elsewhere
        inv = _inversion(be, xp, xp.exp(-rs), lambda k: rs / (k + 1), shape, generator)
        L = xp.where(small, _SMALL, rate)
        slam, loglam = xp.sqrt(L), xp.log(L)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        log_invalpha = xp.log(1.1239 + 1.1328 / (b - 3.4))
        vr = 0.9277 - 3.6224 / (b - 2)
        rounds = (_ROUNDS,) + shape
        U = be.uniform(rounds, "float64", generator) - 0.5
        V = be.uniform(rounds, "float64", generator)
        us = 0.5 - xp.abs(U)
        k = xp.floor((2 * a / us + b) * U + L + 0.43)
        quick = (us >= 0.07) & (V <= vr)
        reject = (k < 0) | ((us < 0.013) & (V > us))
        full = xp.log(V) + log_invalpha - xp.log(a / (us * us) + b) \
            <= -L + k * loglam - lgamma_array(xp, k + 1)
        big = _first_accepted(xp, quick | (~reject & full), k, xp.floor(L))
        return xp.where(small, inv, big)


def binomial_array(be, xp, n, p, generator=None):
    """Binomial(n, p) counts (float64) of the broadcast shape of the float64 arrays ``n``
    (whole numbers >= 0) and ``p`` in [0, 1]; drawn for min(p, 1 - p) and flipped."""
    shape = tuple(n.shape)
    with be.quiet():
        flip = p > 0.5
        p = xp.where(flip, 1 - p, p)
        q = 1 - p
        small = n * p < _SMALL
        ns, ps = xp.where(small, n, 0.0), xp.where(small, p, 0.0)
        r = ps / (1 - ps)
        inv = _inversion(be, xp, xp.exp(ns * xp.log1p(-ps)),
                         lambda k: xp.maximum(ns - k, 0.0) / (k + 1) * r, shape, generator)
        # BTRS on the rest (dummy parameters where inversion answers)
        N, P = xp.where(small, 100.0, n), xp.where(small, 0.25, p)
        Q = 1 - P
        spq = xp.sqrt(N * P * Q)
        b = 1.15 + 2.53 * spq
        a = -0.0873 + 0.0248 * b + 0.01 * P
        c = N * P + 0.5
        vr = 0.92 - 4.2 / b
        alpha = (2.83 + 5.1 / b) * spq
        lpq = xp.log(P / Q)
        m = xp.floor((N + 1) * P)
        h = lgamma_array(xp, m + 1) + lgamma_array(xp, N - m + 1)
        rounds = (_ROUNDS,) + shape
        U = be.uniform(rounds, "float64", generator) - 0.5
        V = be.uniform(rounds, "float64", generator)
        us = 0.5 - xp.abs(U)
        k = xp.floor((2 * a / us + b) * U + c)
        inside = (k >= 0) & (k <= N)
        # clip(k, 0, N), written so that a negative n (garbage in, as PyTorch: no error)
        # does not trip array-api-strict's min <= max check
        kc = xp.minimum(xp.maximum(k, xp.zeros_like(k)), N)
        quick = (us >= 0.07) & (V <= vr)
        # accept where log(V alpha / (a / us^2 + b)) <= log(pmf(k) / pmf(m))
        full = xp.log(V * alpha / (a / (us * us) + b)) \
            <= h - lgamma_array(xp, kc + 1) - lgamma_array(xp, N - kc + 1) + (kc - m) * lpq
        big = _first_accepted(xp, inside & (quick | full), k, m)
        out = xp.where(small, inv, big)
        return xp.where(flip, n - out, out)


def as_float64(t, shape):
    """``t`` broadcast to ``shape`` as a float64 array on its backend."""
    xp = t.xp
    A = xp.broadcast_to(t.array, tuple(shape))
    return xp.astype(A, xp.float64)


def back(like, A):
    """A float64 count array as a Tensor in ``like``'s dtype and place."""
    xp = like.xp
    return like._result(xp.astype(A, like._be.dtype(B.dtype_name(like.dtype))), like._be)

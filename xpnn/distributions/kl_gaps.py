"""The KL pairs torch registers between Normal, Laplace, Uniform, Exponential, Gamma and Beta
that kl.py lacked, each a closed form KL(p || q) = -H(p) - E_p[log q(x)].

Every finite one needs only a few moments of p: E[x], E[(x - m)^2], E[log x], E[|x - m|];
the cross term is written per q from them. Where p puts mass outside q's support the
divergence is infinite, as in torch."""
from __future__ import annotations

import math

from .. import functional as F
from .continuous import Exponential, Laplace, Normal, Uniform
from .gamma import Beta, Gamma
from .kl import register_kl

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
EULER_GAMMA = 0.57721566490153286061


def _inf_like(t):
    return t.detach() * 0 + float("inf")


# -- -E_p[log q] for each q, from the moments of p ------------------------------------------
def _cross_normal(q, mean, var):
    """-E[log N(x; loc, scale)] = log(scale sqrt(2 pi)) + E[(x - loc)^2] / (2 scale^2)."""
    return q.scale.log() + _HALF_LOG_2PI + (var + (mean - q.loc) ** 2) / (2 * q.scale ** 2)


def _cross_gamma(q, mean, mean_log):
    """-E[log Gamma(x; c, r)] = -c log r + lgamma(c) - (c - 1) E[log x] + r E[x]."""
    c, r = q.concentration, q.rate
    return -c * r.log() + F.lgamma(c) - (c - 1) * mean_log + r * mean


def _cross_exponential(q, mean):
    return -q.rate.log() + q.rate * mean


def _cross_beta(q, mean_log, mean_log1m):
    """-E[log Beta(x; a, b)] = log B(a, b) - (a - 1) E[log x] - (b - 1) E[log(1 - x)]."""
    a, b = q.concentration1, q.concentration0
    log_beta = F.lgamma(a) + F.lgamma(b) - F.lgamma(a + b)
    return log_beta - (a - 1) * mean_log - (b - 1) * mean_log1m


# -- p = Beta -------------------------------------------------------------------------------
def _beta_moments(p):
    a, b = p.concentration1, p.concentration0
    dig_total = F.digamma(a + b)
    return p.mean, p.variance, F.digamma(a) - dig_total, F.digamma(b) - dig_total


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    mean, var, _, _ = _beta_moments(p)
    return -p.entropy() + _cross_normal(q, mean, var)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    mean, _, mean_log, _ = _beta_moments(p)
    return -p.entropy() + _cross_gamma(q, mean, mean_log)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() + _cross_exponential(q, p.mean)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    kl = -p.entropy() + (q.high - q.low).log()
    return F.where((q.low > 0) | (q.high < 1), float("inf"), kl)  # [0, 1] leaves q's support


# -- p = Exponential (E[x] = 1/rate, Var = 1/rate^2, E[log x] = -gamma - log rate) ----------
@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    mean = p.rate.reciprocal()
    return -p.entropy() + _cross_normal(q, mean, mean ** 2)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    mean_log = -EULER_GAMMA - p.rate.log()
    return -p.entropy() + _cross_gamma(q, p.rate.reciprocal(), mean_log)


# -- p = Gamma (E[x] = c/r, Var = c/r^2, E[log x] = digamma(c) - log r) ---------------------
@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    return -p.entropy() + _cross_normal(q, p.mean, p.variance)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() + _cross_exponential(q, p.mean)


# -- p = Laplace, Normal --------------------------------------------------------------------
@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    return -p.entropy() + _cross_normal(q, p.loc, 2 * p.scale ** 2)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    # E|x - m| for x ~ N(mu, s), d = mu - m: d erf(d / (s sqrt 2)) + s sqrt(2/pi) e^(-d^2/2s^2)
    d, s = p.loc - q.loc, p.scale
    z = d / s
    abs_mean = d * F.erf(z / math.sqrt(2)) + s * math.sqrt(2 / math.pi) * (-0.5 * z * z).exp()
    return -p.entropy() + (2 * q.scale).log() + abs_mean / q.scale


# -- p = Uniform (E[x] = (l + h)/2, Var = (h - l)^2/12) -------------------------------------
def _mean_log_uniform(low, high):
    """E[log x] for x ~ U(low, high), 0 <= low: (h log h - l log l) / (h - l) - 1."""
    return (F.xlogy(high, high) - F.xlogy(low, low)) / (high - low) - 1


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    width = p.high - p.low
    return -width.log() + _cross_normal(q, (p.low + p.high) / 2, width ** 2 / 12)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    kl = -(p.high - p.low).log() + _cross_exponential(q, (p.low + p.high) / 2)
    return F.where(p.low < 0, float("inf"), kl)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    mean_log = _mean_log_uniform(p.low, p.high)
    kl = -(p.high - p.low).log() + _cross_gamma(q, (p.low + p.high) / 2, mean_log)
    return F.where(p.low < 0, float("inf"), kl)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    # 1 - x ~ U(1 - h, 1 - l)
    kl = -(p.high - p.low).log() + _cross_beta(q, _mean_log_uniform(p.low, p.high),
                                               _mean_log_uniform(1 - p.high, 1 - p.low))
    return F.where((p.low < 0) | (p.high > 1), float("inf"), kl)


# -- p's support reaches where q has no mass: infinite --------------------------------------
@register_kl(Exponential, Uniform)
@register_kl(Exponential, Beta)
def _kl_exponential_bounded(p, q):
    return _inf_like(p.rate)


@register_kl(Gamma, Uniform)
@register_kl(Gamma, Beta)
def _kl_gamma_bounded(p, q):
    return _inf_like(p.concentration)


@register_kl(Normal, Uniform)
@register_kl(Normal, Beta)
@register_kl(Normal, Exponential)
@register_kl(Normal, Gamma)
@register_kl(Laplace, Uniform)
@register_kl(Laplace, Beta)
@register_kl(Laplace, Exponential)
@register_kl(Laplace, Gamma)
def _kl_real_line_bounded(p, q):
    return _inf_like(p.loc)

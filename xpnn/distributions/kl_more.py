"""The closed-form KL divergences PyTorch registers for the distributions of
more_continuous, more_discrete and transformed, added to ``kl.register_kl``'s table."""
from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from .continuous import Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli
from .gamma import Beta, Gamma
from .kl import _kl_normal_normal, kl_divergence, register_kl
from .more_continuous import EULER_GAMMA, Cauchy, Gumbel, Pareto
from .more_discrete import Binomial, Geometric, Poisson
from .transformed import HalfNormal, TransformedDistribution


def _inf_like(t):
    return t * 0 + float("inf")


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    """Needs p.total_count >= q.total_count everywhere (read on the host, as PyTorch);
    infinite where it is larger."""
    if B.np.any(B.to_numpy((p.total_count < q.total_count).array)):
        raise NotImplementedError("KL between Binomials where q.total_count > "
                                  "p.total_count is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + F.log1p(-p.probs)
                          - F.log1p(-q.probs))
    return F.where(p.total_count > q.total_count, float("inf"), kl)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    return -p.entropy() - F.log1p(-q.probs) / p.probs - q.logits


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_infinity(p, q):
    return _inf_like(p.rate)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    # Chyzak and Nielsen, "A closed-form formula for the KL divergence between Cauchy
    # distributions", 2019
    t1 = ((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log()
    return t1 - (4 * p.scale * q.scale).log()


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    """The base distributions' KL when both push them through equal transforms."""
    if p.transforms != q.transforms:
        raise NotImplementedError("KL between TransformedDistributions with different "
                                  "transforms")
    if p.event_shape != q.event_shape:
        raise NotImplementedError("KL between TransformedDistributions with different "
                                  "event shapes")
    return kl_divergence(p.base_dist, q.base_dist)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    ct1, ct2, ct3 = p.scale / q.scale, q.loc / q.scale, p.loc / q.scale
    t1 = -ct1.log() - ct2 + ct3
    t3 = (ct2 + F.lgamma(1 + ct1) - ct3).exp()
    return t1 + ct1 * EULER_GAMMA + t3 - (1 + EULER_GAMMA)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    scale_ratio, alpha_ratio = p.scale / q.scale, q.alpha / p.alpha
    result = q.alpha * scale_ratio.log() - alpha_ratio.log() + alpha_ratio - 1
    return F.where(p.scale < q.scale, float("inf"), result)  # p's support leaves q's


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    prod = p.rate * q.scale
    ratio = q.loc / q.scale
    return prod.log() - 1 - ratio + ratio.exp() * prod / (prod + 1) + prod.reciprocal()


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    mean_ratio = p.loc / q.scale
    var_ratio = (p.scale / q.scale) ** 2
    loc_ratio = q.loc / q.scale
    t3 = (-mean_ratio + 0.5 * var_ratio + loc_ratio).exp()
    return -0.5 * var_ratio.log() + mean_ratio - loc_ratio + t3 \
        - 0.5 * (1 + math.log(2 * math.pi))


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    ratio = p.scale / q.scale
    t1 = (ratio / math.sqrt(2 * math.pi)).log()
    t2 = (math.pi * ratio * 0.5) ** 2 / 3
    t3 = ((p.loc + p.scale * EULER_GAMMA - q.loc) / q.scale) ** 2 * 0.5
    return -t1 + t2 + t3 - (EULER_GAMMA + 1)


@register_kl(Gumbel, Exponential)
@register_kl(Gumbel, Gamma)
@register_kl(Gumbel, Pareto)
def _kl_gumbel_infinity(p, q):
    return _inf_like(p.loc)


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    prod = p.scale * q.rate
    result = (p.alpha / prod).log() - p.alpha.reciprocal() + p.alpha * prod / (p.alpha - 1) \
        - 1
    return F.where(p.alpha <= 1, float("inf"), result)


# -- pairs with a continuous distribution of before (the sweep found them missing) -----------
@register_kl(Gumbel, Uniform)
@register_kl(Gumbel, Beta)
def _kl_gumbel_bounded(p, q):  # q has a bounded support, p puts mass outside it
    return _inf_like(p.loc)


@register_kl(Beta, Pareto)
def _kl_beta_pareto(p, q):
    return _inf_like(p.concentration1)


@register_kl(Exponential, Pareto)
def _kl_exponential_pareto(p, q):
    return _inf_like(p.rate)


@register_kl(Gamma, Pareto)
def _kl_gamma_pareto(p, q):
    return _inf_like(p.concentration)


@register_kl(Laplace, Pareto)
@register_kl(Normal, Pareto)
def _kl_loc_scale_pareto(p, q):
    return _inf_like(p.loc)


@register_kl(Pareto, Uniform)
@register_kl(Pareto, Beta)
def _kl_pareto_bounded(p, q):
    return _inf_like(p.scale)


def _gumbel_cross(mean, exp_neg, q):
    """-E_p[log q(x)] for a Gumbel q, from E_p[x] and E_p[exp(-x / q.scale)]:
    log s + E[z] + E[exp(-z)], z = (x - loc) / s."""
    return q.scale.log() + (mean - q.loc) / q.scale + (q.loc / q.scale).exp() * exp_neg


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    a, b = p.concentration, p.rate
    exp_neg = (1 + (b * q.scale).reciprocal()) ** -a  # the Laplace transform at 1/scale
    return -p.entropy() + _gumbel_cross(a / b, exp_neg, q)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    width = p.high - p.low
    exp_neg = q.scale / width * ((-p.low / q.scale).exp() - (-p.high / q.scale).exp())
    return -width.log() + _gumbel_cross((p.low + p.high) / 2, exp_neg, q)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    # E_p[log x] = (h log h - l log l) / (h - l) - 1; infinite where p reaches below q.scale
    width = p.high - p.low
    mean_log = (F.xlogy(p.high, p.high) - F.xlogy(p.low, p.low)) / width - 1
    kl = -width.log() - q.alpha.log() - q.alpha * q.scale.log() + (q.alpha + 1) * mean_log
    return F.where(p.low < q.scale, float("inf"), kl)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    # E_p[log x] = log scale + 1 / alpha; E_p[x] finite only for alpha > 1
    a, b = q.concentration, q.rate
    mean_log = p.scale.log() + p.alpha.reciprocal()
    mean = p.alpha * p.scale / (p.alpha - 1)
    kl = -p.entropy() - a * b.log() + F.lgamma(a) - (a - 1) * mean_log + b * mean
    return F.where(p.alpha <= 1, float("inf"), kl)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    # E_p[(x - loc)^2] = var + (mean - loc)^2, finite only for alpha > 2
    m, a = p.scale, p.alpha
    mean = a * m / (a - 1)
    var = m * m * a / ((a - 1) ** 2 * (a - 2))
    kl = -p.entropy() + (q.scale * math.sqrt(2 * math.pi)).log() \
        + (var + (mean - q.loc) ** 2) / (2 * q.scale ** 2)
    return F.where(a <= 2, float("inf"), kl)

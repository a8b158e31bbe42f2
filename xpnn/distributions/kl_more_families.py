"""KL divergences torch registers for the distributions of more_families.py."""
from __future__ import annotations

import math

from .. import functional as F
from ..creation import full_like
from .continuous import Exponential, Laplace, Normal, Uniform
from .more_families import ContinuousBernoulli, ExponentialFamily
from .gamma import Beta, Gamma
from .kl import register_kl
from .more_continuous import Gumbel, Pareto


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli(p, q):
    """E_p[log p - log q] = E_p[x] (logit p - logit q) + log C(p) - log C(q)
    + log(1 - p) - log(1 - q) for the densities C(l) l^x (1 - l)^(1 - x)."""
    return p.mean * (p.logits - q.logits) + p._log_norm() + F.log1p(-p.probs) \
        - q._log_norm() - F.log1p(-q.probs)


def _inf_like(t):
    return full_like(t, float("inf"))


def _cross_entropy_to_cb(p, q):
    """E_p[-log q(x)] for a ContinuousBernoulli q and any p on [0, 1]."""
    return -p.mean * q.logits - F.log1p(-q.probs) - q._log_norm()


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p, q):
    return -p.entropy() + _cross_entropy_to_cb(p, q)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p, q):
    """Finite where [low, high] lies in [0, 1] (torch: inf already at low = 0 or high =
    1, where the KL is finite)."""
    result = -p.entropy() + _cross_entropy_to_cb(p, q)
    return F.where((p.high > 1) | (p.low < 0), float("inf"), result)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p, q):
    var_q = q.scale ** 2
    cross = 0.5 * math.log(2.0 * math.pi) + q.scale.log() \
        + (p.variance + (p.mean - q.loc) ** 2) / (2.0 * var_q)
    return -p.entropy() + cross


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p, q):
    """Finite where [low, high] covers [0, 1] (torch: inf already at low = 0 or high = 1,
    where the KL is finite)."""
    result = -p.entropy() + (q.high - q.low).log()
    return F.where((q.low > 0) | (q.high < 1), float("inf"), result)


@register_kl(ContinuousBernoulli, Pareto)
def _kl_continuous_bernoulli_infinity(p, q):
    return _inf_like(p.probs)


def _register_infinite(types, attr):
    for t in types:
        register_kl(t, ContinuousBernoulli)(
            lambda p, q, a=attr[t]: _inf_like(getattr(p, a).expand(
                tuple(F.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))))))


_register_infinite((Exponential, Gamma, Gumbel, Laplace, Normal, Pareto),
                   {Exponential: "rate", Gamma: "concentration", Gumbel: "loc",
                    Laplace: "loc", Normal: "loc", Pareto: "scale"})


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_exponential_family(p, q):
    """The Bregman divergence of the log normalizer between the natural parameters (both of
    one family)."""
    if type(p) is not type(q):
        raise NotImplementedError(f"kl_divergence: {type(p).__name__} and "
                                  f"{type(q).__name__} are different exponential families")
    from .. import autograd
    p_nat = [t.detach().requires_grad_() for t in p._natural_params]
    q_nat = q._natural_params
    with autograd.enable_grad():
        lg = p._log_normalizer(*p_nat)
        grads = autograd.grad(lg.sum(), p_nat, create_graph=True)
    result = q._log_normalizer(*q_nat) - lg
    for pn, qn, g in zip(p_nat, q_nat, grads):
        term = (qn - pn) * g
        result = result - term.reshape(tuple(term.shape[:len(result.shape)]) + (-1,)).sum(-1)
    return result

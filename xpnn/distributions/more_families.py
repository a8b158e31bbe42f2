"""Distributions PyTorch has beyond the common ones: OneHotCategoricalStraightThrough,
VonMises, Kumaraswamy, InverseGamma, ContinuousBernoulli, FisherSnedecor, GeneralizedPareto,
LogisticNormal, and the ExponentialFamily base class. ContinuousBernoulli
(continuous_bernoulli.py), FisherSnedecor and GeneralizedPareto (heavy_tailed.py) are
re-exported from their own modules."""
from __future__ import annotations

import math

from .. import autograd
from .. import backend as B
from .. import functional as F
from ..autograd import no_grad
from ..creation import full_like
from ..functional.special_more import i0e, i1e
from . import constraints
from .continuous import Normal, Uniform
from .discrete import OneHotCategorical
from .distribution import Distribution, broadcast_all
from .gamma import Gamma
from .more_continuous import EULER_GAMMA
from .transformed import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .more_transforms import StickBreakingTransform
# re-exported where more_families.py held them before the split (kl_more_families, __all__)
from .continuous_bernoulli import ContinuousBernoulli
from .heavy_tailed import FisherSnedecor, GeneralizedPareto, _isclose_zero  # noqa: F401

__all__ = ["ContinuousBernoulli", "ExponentialFamily", "FisherSnedecor",
           "GeneralizedPareto", "InverseGamma", "Kumaraswamy", "LogisticNormal",
           "OneHotCategoricalStraightThrough", "VonMises"]

_LOG_2PI = math.log(2 * math.pi)


class ExponentialFamily(Distribution):
    """Base class of densities p(x; theta) = exp(<t(x), theta> - F(theta) + k(x)), as
    ``torch.distributions.ExponentialFamily``. A subclass gives ``_natural_params`` (a tuple
    of Tensors), ``_log_normalizer(*natural_params)`` and ``_mean_carrier_measure`` (E[k(x)]);
    ``entropy`` then follows from the Bregman divergence, by autograd."""

    @property
    def _natural_params(self):
        raise NotImplementedError(f"{type(self).__name__} has no _natural_params")

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError(f"{type(self).__name__} has no _log_normalizer")

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError(f"{type(self).__name__} has no _mean_carrier_measure")

    def entropy(self):
        """H = F(theta) - <theta, grad F(theta)> - E[k(x)]."""
        result = -self._mean_carrier_measure
        params = [p.detach().requires_grad_() for p in self._natural_params]
        with autograd.enable_grad():
            lg = self._log_normalizer(*params)
            grads = autograd.grad(lg.sum(), params, create_graph=True)
        result = result + lg
        for p, g in zip(params, grads):
            result = result - p * g
        return result


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """OneHotCategorical whose ``rsample`` passes gradients straight through: the one-hot
    sample plus probs - probs.detach() (Bengio et al., 2013), as
    ``torch.distributions.OneHotCategoricalStraightThrough``."""

    has_rsample = True

    def rsample(self, sample_shape=()):
        s = self.sample(sample_shape)
        p = self._categorical.probs
        return s + (p - p.detach())


# Best-Fisher rounds drawn at once: each accepts with probability > 0.65, so all of them
# reject with probability < 1e-18 (then the last proposal is kept)
_VM_ROUNDS = 40


class VonMises(Distribution):
    """The circular von Mises distribution with density exp(k cos(x - loc)) / (2 pi I0(k)),
    as ``torch.distributions.VonMises``; samples lie in [-pi, pi), drawn by Best and
    Fisher's rejection method ("Efficient simulation of the von Mises distribution", 1979)
    with a fixed number of rounds (nothing read back). Mean and variance are circular."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        return k * (value - self.loc).cos() - _LOG_2PI - (i0e(k).log() + k)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        k = self.concentration
        return 1 - i1e(k) / i0e(k)

    def sample(self, sample_shape=()):
        with no_grad():
            shape = tuple(self._extended_shape(sample_shape))
            k = self.concentration.expand(shape)
            loc = self.loc.expand(shape)
            be, xp, K = k._be, k.xp, k.array
            dt = B.dtype_name(k.dtype)
            with be.quiet():
                tau = 1 + xp.sqrt(1 + 4 * K * K)
                rho = (tau - xp.sqrt(2 * tau)) / (2 * K)
                r = xp.where(K < 1e-5, 1 / K + K, (1 + rho * rho) / (2 * rho))
                U = be.uniform((3, _VM_ROUNDS) + shape, dt)
                z = xp.cos(math.pi * U[0, ...])
                f = (1 + r * z) / (r + z)
                c = K * (r - f)
                u2 = U[1, ...]
                ok = (c * (2 - c) - u2 > 0) | (xp.log(c / u2) + 1 - c >= 0)
                theta = xp.where(U[2, ...] < 0.5, -xp.acos(f), xp.acos(f))
                X = theta[_VM_ROUNDS - 1, ...]
                for i in range(_VM_ROUNDS - 2, -1, -1):
                    X = xp.where(ok[i, ...], theta[i, ...], X)
            x = k._result(X, be)
            return (x + math.pi + loc).remainder(2 * math.pi) - math.pi

    def expand(self, batch_shape, _instance=None):
        return self._expanded(tuple(batch_shape), _instance)


def _kumaraswamy_moment(a, b, n):
    """E[X^n] = b B(1 + n/a, b) for Kumaraswamy(a, b)."""
    t = 1 + n / a
    return b * (F.lgamma(t) + F.lgamma(b) - F.lgamma(t + b)).exp()


class Kumaraswamy(TransformedDistribution):
    """The Kumaraswamy distribution on (0, 1) with cdf 1 - (1 - x^a)^b, a =
    ``concentration1``, b = ``concentration0``, as ``torch.distributions.Kumaraswamy``:
    a Uniform pushed through u -> (1 - u^(1/b))^(1/a)."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1,
                                                                 concentration0)
        base = Uniform(full_like(self.concentration0, 0.0),
                       full_like(self.concentration0, 1.0), validate_args=False)
        transforms = [PowerTransform(self.concentration0.reciprocal()),
                      AffineTransform(1.0, -1.0),
                      PowerTransform(self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args=validate_args)

    @property
    def mean(self):
        return _kumaraswamy_moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        """((a - 1) / (a b - 1))^(1/a) where a >= 1 and b >= 1 (not both 1); NaN otherwise.
        (torch 2.13's formula is NaN everywhere.)"""
        a, b = self.concentration1, self.concentration0
        ok = (a >= 1) & (b >= 1) & ((a > 1) | (b > 1))
        sa = F.where(ok, a, 2.0)
        sb = F.where(ok, b, 2.0)
        m = ((sa - 1) / (sa * sb - 1)) ** (1 / sa)
        return F.where(ok, m, float("nan"))

    @property
    def variance(self):
        return _kumaraswamy_moment(self.concentration1, self.concentration0, 2) \
            - self.mean ** 2

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        h_b = F.digamma(b + 1) + EULER_GAMMA  # the harmonic number H_b
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * h_b - a.log() - b.log()


class InverseGamma(TransformedDistribution):
    """1 / X for X ~ Gamma(concentration, rate), as ``torch.distributions.InverseGamma``;
    ``rsample`` is differentiable in both parameters."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        base = Gamma(concentration, rate, validate_args=validate_args)
        super().__init__(base, PowerTransform(base.rate.new_full((), -1.0)),
                         validate_args=validate_args)

    @property
    def concentration(self):
        return self.base_dist.concentration

    @property
    def rate(self):
        return self.base_dist.rate

    @property
    def mean(self):
        c = self.concentration
        ok = c > 1
        return F.where(ok, self.rate / (F.where(ok, c, 2.0) - 1), float("inf"))

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        c = self.concentration
        ok = c > 2
        sc = F.where(ok, c, 3.0)
        return F.where(ok, self.rate ** 2 / ((sc - 1) ** 2 * (sc - 2)), float("inf"))

    def entropy(self):
        c = self.concentration
        return c + self.rate.log() + F.lgamma(c) - (1 + c) * F.digamma(c)

    def __repr__(self):  # torch's parameters are properties of the base: "InverseGamma()"
        return "InverseGamma()"


class LogisticNormal(TransformedDistribution):
    """A Normal in R^(K-1) mapped onto the K-simplex by the stick-breaking transform, as
    ``torch.distributions.LogisticNormal``: ``event_shape`` is (K,)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        if not tuple(base.batch_shape):
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    @property
    def loc(self):
        return self.base_dist.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.base_dist.scale

    def __repr__(self):  # torch's parameters are properties of the base: "LogisticNormal()"
        return "LogisticNormal()"

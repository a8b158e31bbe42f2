"""Continuous distributions of one real variable: Normal, Uniform, Laplace, Exponential.
Each samples by transforming standard draws, so ``rsample`` is differentiable."""
from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from . import constraints
from .distribution import Distribution, broadcast_all

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def standard(like, shape, kind):
    """A Tensor of ``shape`` of standard draws ("normal" N(0, 1) or "uniform" U[0, 1)) in
    ``like``'s dtype and place, from the backend's seeded generator (``xpnn.manual_seed``)."""
    be = like._be
    draw = be.normal if kind == "normal" else be.uniform
    return like._result(draw(tuple(shape), B.dtype_name(like.dtype)), be)


def _eps(t):
    return float(B.np.finfo(B.dtype_name(t.dtype)).eps)


class _LocScale(Distribution):
    """A location-scale family on the real line, symmetric about ``loc`` (its mean and
    mode): Normal and Laplace; Cauchy (whose mean is undefined)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc


class Normal(_LocScale):
    """The normal distribution N(loc, scale^2), as ``torch.distributions.Normal``.

    Args:
        loc: the mean (Tensor or number).
        scale: the standard deviation, > 0.
    """

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale ** 2

    def rsample(self, sample_shape=()):
        eps = standard(self.loc, self._extended_shape(sample_shape), "normal")
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -((value - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log() \
            - _HALF_LOG_2PI

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + F.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value):
        return self.loc + self.scale * F.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + _HALF_LOG_2PI + self.scale.log()


class Uniform(Distribution):
    """The uniform distribution on [low, high), as ``torch.distributions.Uniform``."""

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)

    @property
    def arg_constraints(self):  # each bound checked against the other, as torch's
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    @property
    def support(self):
        return constraints.interval(self.low, self.high)  # closed, as torch's

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return self.high * float("nan")

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        u = standard(self.low, self._extended_shape(sample_shape), "uniform")
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        inside = ((self.low <= value) & (self.high > value)).to(self.low.dtype)
        return inside.log() - (self.high - self.low).log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()


class Laplace(_LocScale):
    """The Laplace distribution with density exp(-|x - loc| / scale) / (2 scale), as
    ``torch.distributions.Laplace``."""

    @property
    def variance(self):
        return 2 * self.scale ** 2

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    def rsample(self, sample_shape=()):
        # u uniform on (-1, 1): loc - scale sign(u) log(1 - |u|) (inverse cdf)
        u = standard(self.loc, self._extended_shape(sample_shape), "uniform")
        u = (u * 2 - 1).clamp(min=-1 + _eps(u))
        return self.loc - self.scale * u.sign() * F.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d = value - self.loc
        return 0.5 - 0.5 * d.sign() * F.expm1(-d.abs() / self.scale)

    def icdf(self, value):
        t = value - 0.5
        return self.loc - self.scale * t.sign() * F.log1p(-2 * t.abs())

    def entropy(self):
        return 1 + (2 * self.scale).log()


class Exponential(Distribution):
    """The exponential distribution rate exp(-rate x) on x >= 0, as
    ``torch.distributions.Exponential``."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def mode(self):
        return self.rate * 0

    @property
    def stddev(self):
        return 1 / self.rate

    @property
    def variance(self):
        return self.rate ** -2

    def rsample(self, sample_shape=()):
        u = standard(self.rate, self._extended_shape(sample_shape), "uniform")
        return -F.log1p(-u) / self.rate  # 1 - u lies in (0, 1]: never log 0

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -F.log1p(-value) / self.rate

    def entropy(self):
        return 1 - self.rate.log()

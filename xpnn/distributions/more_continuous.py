"""More continuous distributions of one real variable: Cauchy, HalfCauchy, StudentT, Chi2
and the ones PyTorch builds as transformed distributions: Gumbel, Weibull, Pareto."""
from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..creation import full_like
from . import constraints
from .continuous import Exponential, Uniform, _LocScale, standard
from .distribution import Distribution, broadcast_all
from .gamma import Gamma
from .transformed import TransformedDistribution, _Folded, check_scale
from .transforms import AffineTransform, ExpTransform, PowerTransform

EULER_GAMMA = 0.57721566490153286061


class Cauchy(_LocScale):
    """The Cauchy (Lorentz) distribution with density 1 / (pi scale (1 + z^2)),
    z = (x - loc) / scale, as ``torch.distributions.Cauchy``; no mean or variance (its mode
    is ``loc``)."""

    @property
    def mean(self):
        return full_like(self.loc, float("nan"))

    @property
    def variance(self):
        return full_like(self.loc, float("inf"))

    def rsample(self, sample_shape=()):
        u = standard(self.loc, self._extended_shape(sample_shape), "uniform")
        return self.loc + self.scale * (math.pi * (u - 0.5)).tan()  # the inverse cdf

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - F.log1p(z ** 2)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return F.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


class HalfCauchy(_Folded):
    """|X| for X ~ Cauchy(0, scale), as ``torch.distributions.HalfCauchy``."""

    arg_constraints = {"scale": constraints.positive}

    def __init__(self, scale, validate_args=None):
        base = Cauchy(0.0, scale, validate_args=False)
        check_scale(self, base.scale, validate_args)
        super().__init__(base, validate_args=validate_args)

    @property
    def mean(self):
        return full_like(self.scale, float("inf"))


class Chi2(Gamma):
    """The chi-squared distribution with ``df`` degrees of freedom: Gamma(df / 2, 1 / 2),
    as ``torch.distributions.Chi2``."""

    arg_constraints = {"df": constraints.positive}
    _repr_hidden = ("df",)  # a property of Gamma's parameters in torch: "Chi2()"

    def __init__(self, df, validate_args=None):
        (self.df,) = broadcast_all(df)
        super().__init__(0.5 * self.df, 0.5, validate_args=validate_args)


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, location and scale, as
    ``torch.distributions.StudentT``.

    ``rsample`` is loc + scale X / sqrt(V / df), X ~ N(0, 1), V ~ Chi2(df): differentiable
    in loc, scale and df (the chi-squared draw is a reparameterized Gamma).
    """

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, validate_args=validate_args)

    @property
    def mean(self):
        return F.where(self.df > 1, self.loc, float("nan"))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        finite = self.scale ** 2 * df / F.where(df > 2, df - 2, 1.0)
        return F.where(df > 2, finite, F.where(df > 1, float("inf"), float("nan")))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = standard(self.loc, shape, "normal")
        v = Chi2(self.df.expand(shape), validate_args=False).rsample()
        return self.loc + self.scale * x * (v / self.df).rsqrt()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        z = self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi) \
            + F.lgamma(0.5 * df) - F.lgamma(0.5 * (df + 1))
        return -0.5 * (df + 1) * F.log1p(y ** 2 / df) - z

    def entropy(self):
        df = self.df
        lbeta = F.lgamma(0.5 * df) + math.lgamma(0.5) - F.lgamma(0.5 * (df + 1))
        return self.scale.log() + 0.5 * (df + 1) * (F.digamma(0.5 * (df + 1))
                                                    - F.digamma(0.5 * df)) \
            + 0.5 * df.log() + lbeta


class Gumbel(TransformedDistribution):
    """The Gumbel (type-I extreme value) distribution with cdf exp(-exp(-(x - loc) /
    scale)), as ``torch.distributions.Gumbel``: a Uniform pushed through -log(-log u)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        fi = B.np.finfo(B.dtype_name(self.loc.dtype))
        base = Uniform(full_like(self.loc, float(fi.tiny)),
                       full_like(self.loc, 1 - float(fi.eps)), validate_args=False)
        transforms = [ExpTransform().inv, AffineTransform(0.0, -1.0), ExpTransform().inv,
                      AffineTransform(self.loc, -self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (self.loc - value) / self.scale
        return (z - z.exp()) - self.scale.log()

    @property
    def mean(self):
        return self.loc + self.scale * EULER_GAMMA

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev ** 2

    def entropy(self):
        return self.scale.log() + (1 + EULER_GAMMA)


class Weibull(TransformedDistribution):
    """The Weibull distribution with cdf 1 - exp(-(x / scale)^concentration), as
    ``torch.distributions.Weibull``: scale E^(1 / concentration), E ~ Exponential(1)."""

    arg_constraints = {"scale": constraints.positive,
                       "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = Exponential(full_like(self.scale, 1.0), validate_args=False)
        transforms = [PowerTransform(exponent=self.concentration_reciprocal),
                      AffineTransform(0.0, self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    @property
    def mean(self):
        return self.scale * F.lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def mode(self):
        k = self.concentration
        return self.scale * ((k - 1) / k) ** self.concentration_reciprocal

    @property
    def variance(self):
        r = self.concentration_reciprocal
        return self.scale ** 2 * (F.lgamma(1 + 2 * r).exp() - (2 * F.lgamma(1 + r)).exp())

    def entropy(self):
        r = self.concentration_reciprocal
        return EULER_GAMMA * (1 - r) + (self.scale * r).log() + 1


class Pareto(TransformedDistribution):
    """The Pareto (type I) distribution with density alpha scale^alpha / x^(alpha + 1) on
    x >= scale, as ``torch.distributions.Pareto``: scale exp(E), E ~ Exponential(alpha)."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = broadcast_all(scale, alpha)
        base = Exponential(self.alpha, validate_args=False)  # alpha: checked as Pareto's
        super().__init__(base, [ExpTransform(), AffineTransform(0.0, self.scale)],
                         validate_args=validate_args)

    @property
    def support(self):
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self):
        # inf where alpha <= 1; the formula sees a safe alpha there, so the (zero) gradient
        # of the masked entries does not meet an infinite local derivative (0 * inf = NaN)
        finite = self.alpha > 1
        a = F.where(finite, self.alpha, 2.0)
        return F.where(finite, a * self.scale / (a - 1), float("inf"))

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        finite = self.alpha > 2  # inf where alpha <= 2, as mean
        a = F.where(finite, self.alpha, 3.0)
        return F.where(finite, self.scale ** 2 * a / ((a - 1) ** 2 * (a - 2)), float("inf"))

    def entropy(self):
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


__all__ = ["Cauchy", "Chi2", "EULER_GAMMA", "Gumbel", "HalfCauchy", "Pareto",
           "StudentT", "Weibull"]

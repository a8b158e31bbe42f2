"""Snedecor's F distribution (FisherSnedecor, a ratio of two Gammas, reparameterized) and the
generalized Pareto distribution (GeneralizedPareto, by its survival function and inverse
cdf), as ``torch.distributions``; both have polynomial tails, so their moments exist only
for some parameters (NaN elsewhere, as PyTorch)."""
from __future__ import annotations

from .. import backend as B
from .. import functional as F
from . import constraints
from .continuous import standard
from .distribution import Distribution, broadcast_all
from .gamma import Gamma

__all__ = ["FisherSnedecor", "GeneralizedPareto"]


class FisherSnedecor(Distribution):
    """Snedecor's F distribution with ``df1`` and ``df2`` degrees of freedom, as
    ``torch.distributions.FisherSnedecor``: (X1 / df1) / (X2 / df2) for chi-squared X1, X2;
    ``rsample`` is differentiable in both."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)
        super().__init__(self.df1.shape, validate_args=validate_args)

    @property
    def mean(self):
        ok = self.df2 > 2
        d2 = F.where(ok, self.df2, 3.0)
        return F.where(ok, d2 / (d2 - 2), float("nan"))

    @property
    def mode(self):
        d1, d2 = self.df1, self.df2
        ok = d1 > 2
        return F.where(ok, (d1 - 2) / F.where(ok, d1, 3.0) * d2 / (d2 + 2), float("nan"))

    @property
    def variance(self):
        d1 = self.df1
        ok = self.df2 > 4
        d2 = F.where(ok, self.df2, 5.0)
        v = 2 * d2 ** 2 * (d1 + d2 - 2) / (d1 * (d2 - 2) ** 2 * (d2 - 4))
        return F.where(ok, v, float("nan"))

    def rsample(self, sample_shape=()):
        tiny = float(B.np.finfo(B.dtype_name(self.df1.dtype)).tiny)
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape).clamp(min=tiny)
        return (x1 / x2).clamp(min=tiny)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        h1, h2 = self.df1 * 0.5, self.df2 * 0.5
        ratio = self.df1 / self.df2
        norm = F.lgamma(h1 + h2) - F.lgamma(h1) - F.lgamma(h2)
        return norm + h1 * ratio.log() + (h1 - 1) * value.log() \
            - (h1 + h2) * F.log1p(ratio * value)


def _isclose_zero(c):
    return c.abs() <= 1e-8  # torch.isclose(c, 0) with its default atol


class GeneralizedPareto(Distribution):
    """The generalized Pareto distribution with location, scale and shape
    ``concentration`` (xi), as ``torch.distributions.GeneralizedPareto``: survival
    (1 + xi z)^(-1/xi), z = (x - loc) / scale (e^-z at xi = 0); support [loc, inf) for
    xi >= 0 and [loc, loc - scale / xi] for xi < 0."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def _safe(self):
        zero = _isclose_zero(self.concentration)
        return zero, F.where(zero, 1.0, self.concentration)

    def rsample(self, sample_shape=()):
        return self.icdf(standard(self.loc, self._extended_shape(sample_shape), "uniform"))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, c = self._safe()
        y = 1 / c + 1
        nonzero = F.where(y == 0, y, y * F.log1p(c * z))
        return -self.scale.log() - F.where(zero, z, nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, c = self._safe()
        return F.where(zero, -z, -F.log1p(c * z) / c)

    def log_cdf(self, value):
        return F.log1p(-self.log_survival_function(value).exp())

    def cdf(self, value):
        return self.log_cdf(value).exp()

    def icdf(self, value):
        zero, c = self._safe()
        logu = F.log1p(-value)
        return F.where(zero, self.loc - self.scale * logu,
                       self.loc + self.scale / c * F.expm1(-c * logu))

    @property
    def mean(self):
        ok = self.concentration < 1
        c = F.where(ok, self.concentration, 0.5)
        return F.where(ok, self.loc + self.scale / (1 - c), float("nan"))

    @property
    def variance(self):
        ok = self.concentration < 0.5
        c = F.where(ok, self.concentration, 0.25)
        return F.where(ok, self.scale ** 2 / ((1 - c) ** 2 * (1 - 2 * c)), float("nan"))

    def entropy(self):
        return (self.scale.log() + self.concentration + 1).expand(tuple(self._batch_shape))

    @property
    def mode(self):
        return self.loc

    @property
    def support(self):
        neg = self.concentration < 0
        c = F.where(neg, self.concentration, -1.0)
        upper = F.where(neg, self.loc - self.scale / c, float("inf"))
        return constraints.interval(self.loc, upper)

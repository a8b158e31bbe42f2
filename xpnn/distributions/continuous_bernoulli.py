"""The continuous Bernoulli distribution (Loaiza-Ganem and Cunningham, 2019), as
``torch.distributions.ContinuousBernoulli``: closed forms of its normalizer, moments, cdf and
icdf, with Taylor expansions near probs = 1/2 where the closed forms cancel."""
from __future__ import annotations

import math
from functools import cached_property

from .. import functional as F
from ..autograd import no_grad
from . import constraints
from .continuous import standard
from .discrete import _clamp_probs, _float_param, _one_of
from .distribution import Distribution, _all_true, broadcast_all

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(Distribution):
    """The continuous Bernoulli distribution on [0, 1] with density C(p) p^x (1 - p)^(1-x)
    (Loaiza-Ganem and Cunningham, 2019), as ``torch.distributions.ContinuousBernoulli``;
    Taylor expansions replace the closed forms for probs in ``lims`` around 1/2."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        _one_of("ContinuousBernoulli", probs, logits)
        if probs is not None:
            p = _float_param("ContinuousBernoulli", probs)
            if validate_args is not None and not _all_true(constraints.unit_interval.check(p)):
                raise ValueError("ContinuousBernoulli: the parameter probs has invalid values")
            self.probs = _clamp_probs(p)
            shape = p.shape
        else:
            self.logits = _float_param("ContinuousBernoulli", logits)
            shape = self.logits.shape
        self._lims = lims
        super().__init__(shape, validate_args=validate_args)

    @cached_property
    def probs(self):
        return _clamp_probs(F.sigmoid(self.logits))

    @cached_property
    def logits(self):
        p = _clamp_probs(self.probs)
        return p.log() - F.log1p(-p)

    @property
    def param_shape(self):
        return self.__dict__.get("probs", self.__dict__.get("logits")).shape

    def _stable(self):
        p = self.probs
        return (p <= self._lims[0]) | (p > self._lims[1])

    def _cut_probs(self):
        return F.where(self._stable(), self.probs, self._lims[0])

    def _log_norm(self):
        p = self._cut_probs()
        below = F.where(p <= 0.5, p, 0.0)
        above = F.where(p >= 0.5, p, 1.0)
        closed = (F.log1p(-p) - p.log()).abs().log() \
            - F.where(p <= 0.5, F.log1p(-2.0 * below), (2.0 * above - 1.0).log())
        x = (self.probs - 0.5) ** 2
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return F.where(self._stable(), closed, taylor)

    @property
    def mean(self):
        p = self._cut_probs()
        closed = p / (2.0 * p - 1.0) + 1.0 / (F.log1p(-p) - p.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x
        return F.where(self._stable(), closed, taylor)

    @property
    def variance(self):
        p = self._cut_probs()
        closed = p * (p - 1.0) / (1.0 - 2.0 * p) ** 2 + 1.0 / (F.log1p(-p) - p.log()) ** 2
        x = (self.probs - 0.5) ** 2
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return F.where(self._stable(), closed, taylor)

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        u = standard(self.probs, self._extended_shape(sample_shape), "uniform")
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none") \
            + self._log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        p = self._cut_probs()
        closed = (p ** value * (1.0 - p) ** (1.0 - value) + p - 1.0) / (2.0 * p - 1.0)
        inner = F.where(self._stable(), closed, value)
        return F.where(value <= 0.0, 0.0, F.where(value >= 1.0, 1.0, inner))

    def icdf(self, value):
        p = self._cut_probs()
        closed = (F.log1p(-p + value * (2.0 * p - 1.0)) - F.log1p(-p)) \
            / (p.log() - F.log1p(-p))
        return F.where(self._stable(), closed, value)

    def entropy(self):
        lp0, lp1 = F.log1p(-self.probs), self.probs.log()
        return self.mean * (lp0 - lp1) - self._log_norm() - lp0

    def expand(self, batch_shape, _instance=None):
        return self._expanded(tuple(batch_shape), _instance)

"""TransformedDistribution (a base distribution pushed through transforms) and the
families PyTorch builds that way on a Normal: LogNormal and HalfNormal."""
from __future__ import annotations

import math

from .. import functional as F
from ..autograd import no_grad
from ..tensor import Size
from . import constraints
from .continuous import Normal
from .distribution import Distribution, _all_true, sum_rightmost
from .independent import Independent, _Reinterpreted
from .transforms import AbsTransform, ComposeTransform, ExpTransform, Transform


class TransformedDistribution(Distribution):
    """Samples of ``base_distribution`` mapped by ``transforms`` in order, as
    ``torch.distributions.TransformedDistribution``; log_prob by the change of variables
    log p(y) = log p_base(x) - sum log |dy/dx| along the inverse chain.

    Args:
        base_distribution: a Distribution.
        transforms: a Transform or a list of them.
    """

    arg_constraints = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif not (isinstance(transforms, (list, tuple))
                  and all(isinstance(t, Transform) for t in transforms)):
            raise ValueError(f"transforms must be a Transform or a list of Transforms, got "
                             f"{transforms!r}")
        self.transforms = list(transforms)
        chain = ComposeTransform(self.transforms)
        base_shape = tuple(base_distribution.batch_shape) + \
            tuple(base_distribution.event_shape)
        base_event_dim = len(base_distribution.event_shape)
        need = chain.domain.event_dim
        if len(base_shape) < need:
            raise ValueError(f"base_distribution needs at least {need} dims but got shape "
                             f"{base_shape}")
        if need > base_event_dim:
            base_distribution = Independent(base_distribution, need - base_event_dim)
        self.base_dist = base_distribution
        shape = tuple(chain.forward_shape(base_shape))
        event_dim = chain.codomain.event_dim + max(base_event_dim - need, 0)
        cut = len(shape) - event_dim
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        extra = len(self._event_shape) - support.event_dim
        return _Reinterpreted(support, extra) if extra > 0 else support

    def expand(self, batch_shape, _instance=None):
        """Parameters broadcast to ``batch_shape``; the base distribution expanded to the
        batch shape the transforms map onto it."""
        batch_shape = Size(batch_shape)
        new = self._expanded(batch_shape, _instance, keep=("base_dist",))
        shape = tuple(batch_shape) + tuple(self._event_shape)
        for t in reversed(self.transforms):
            shape = tuple(t.inverse_shape(shape))
        cut = len(shape) - len(self.base_dist.event_shape)
        new.base_dist = self.base_dist.expand(shape[:cut])
        return new

    def sample(self, sample_shape=()):
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape=()):
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self._event_shape)
        log_prob, y = 0.0, value
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            log_prob = log_prob - sum_rightmost(t.log_abs_det_jacobian(x, y),
                                                event_dim - t.domain.event_dim)
            y = x
        return log_prob + sum_rightmost(self.base_dist.log_prob(y),
                                        event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        """cdf of the base at x is 1 - cdf at y where the chain decreases."""
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value):
        for t in reversed(self.transforms):
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value):
        value = self.base_dist.icdf(self._monotonize_cdf(value))
        for t in self.transforms:
            value = t(value)
        return value


class LogNormal(TransformedDistribution):
    """exp of a Normal(loc, scale) variable, as ``torch.distributions.LogNormal``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        super().__init__(Normal(loc, scale, validate_args=validate_args), ExpTransform(),
                         validate_args=validate_args)

    @property
    def loc(self):
        return self.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return (self.loc + self.scale ** 2 / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale ** 2).exp()

    @property
    def variance(self):
        s2 = self.scale ** 2
        return F.expm1(s2) * (2 * self.loc + s2).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class _Folded(TransformedDistribution):
    """|X| for X symmetric about 0: the density doubles on x >= 0."""

    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, base, validate_args=None):
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mode(self):
        return self.scale * 0

    @property
    def variance(self):
        return self.base_dist.variance

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        lp = self.base_dist.log_prob(value) + math.log(2)
        return F.where(value >= 0, lp, float("-inf"))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(_Folded):
    """|X| for X ~ Normal(0, scale), as ``torch.distributions.HalfNormal``."""

    arg_constraints = {"scale": constraints.positive}

    def __init__(self, scale, validate_args=None):
        base = Normal(0.0, scale, validate_args=False)
        check_scale(self, base.scale, validate_args)
        super().__init__(base, validate_args=validate_args)

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale ** 2 * (1 - 2 / math.pi)


def check_scale(dist, scale, validate_args):
    """The ``scale > 0`` check a folded distribution's own constructor makes (its base
    is built unchecked so the error names the folded class)."""
    on = Distribution._validate_args if validate_args is None else validate_args
    if on:
        if not _all_true(constraints.positive.check(scale)):
            raise ValueError(f"Expected parameter scale ({type(scale).__name__} of shape "
                             f"{tuple(scale.shape)}) of distribution {type(dist).__name__}"
                             f"(scale: {scale!r}) to satisfy the constraint "
                             f"{constraints.positive!r}, but found invalid values:\n{scale}")

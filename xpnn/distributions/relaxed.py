"""Continuous relaxations of Bernoulli and OneHotCategorical at a ``temperature``
(Maddison et al., "The Concrete distribution", 2017; Jang et al., "Categorical
reparameterization with Gumbel-softmax", 2017): reparameterized samples inside (0, 1) and
on the simplex that harden as the temperature falls."""
from __future__ import annotations

from functools import cached_property

from .. import functional as F
from ..autograd import TensorBase
from ..functional.elementwise import promote
from . import constraints
from .continuous import standard
from .discrete import Categorical, _OverCategorical, _clamp_probs, _float_param, _one_of
from .distribution import Distribution, broadcast_all
from .transformed import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform


def _temperature(temperature, like):
    if isinstance(temperature, TensorBase):
        return temperature
    return promote(like, float(temperature), "temperature", broadcast=False)[1]


class LogitRelaxedBernoulli(Distribution):
    """The logit of a RelaxedBernoulli sample: (logit u + logits) / temperature with u
    uniform, as ``torch.distributions.relaxed_bernoulli.LogitRelaxedBernoulli``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        _one_of("LogitRelaxedBernoulli", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(_float_param("RelaxedBernoulli", probs))
            param = self.probs
        else:
            (self.logits,) = broadcast_all(_float_param("RelaxedBernoulli", logits))
            param = self.logits
        self.temperature = _temperature(temperature, param)
        super().__init__(param.shape, validate_args=validate_args)

    @cached_property
    def probs(self):
        return F.sigmoid(self.logits)

    @cached_property
    def logits(self):
        p = _clamp_probs(self.probs)
        return p.log() - F.log1p(-p)

    @property
    def param_shape(self):
        return self.__dict__.get("probs", self.__dict__.get("logits")).shape

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        probs = _clamp_probs(self.probs.expand(shape))
        u = _clamp_probs(standard(probs, shape, "uniform"))
        return (u.log() - F.log1p(-u) + probs.log() - F.log1p(-probs)) / self.temperature

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return self.temperature.log() + diff - 2 * F.log1p(diff.exp())


class _Relaxed(TransformedDistribution):
    """A relaxation as a transform of its logit-space distribution, whose temperature,
    logits and probs it reads."""

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class RelaxedBernoulli(_Relaxed):
    """A relaxed Bernoulli on (0, 1): sigmoid of a LogitRelaxedBernoulli, as
    ``torch.distributions.RelaxedBernoulli``.

    Args:
        temperature: > 0 (Tensor or number); samples approach 0/1 as it goes to 0.
        probs or logits: as Bernoulli's.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)


class ExpRelaxedCategorical(_OverCategorical):
    """The log of a RelaxedOneHotCategorical sample (log-softmax of (logits + Gumbel
    noise) / temperature), as ``torch.distributions.relaxed_categorical
    .ExpRelaxedCategorical``; ``event_shape`` is (K,)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        cat = self._categorical.__dict__
        self.temperature = _temperature(temperature, cat.get("probs", cat.get("logits")))
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = _clamp_probs(standard(self.logits, shape, "uniform"))
        gumbels = -(-(u.log())).log()
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value):
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        t = self.temperature
        log_scale = F.lgamma(t * 0 + float(k)) + (k - 1) * t.log()
        score = logits - value * t
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(_Relaxed):
    """A relaxed one-hot vector on the simplex (Gumbel-softmax): exp of an
    ExpRelaxedCategorical, as ``torch.distributions.RelaxedOneHotCategorical``.

    Args:
        temperature: > 0 (Tensor or number).
        probs: (..., K) or logits: (..., K), as Categorical's.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

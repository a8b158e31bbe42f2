"""Count distributions: Poisson, Binomial, Geometric, NegativeBinomial, Multinomial, as
``torch.distributions``; samples are whole numbers in the parameters' float dtype."""
from __future__ import annotations

import math
from functools import cached_property

from .. import backend as B
from .. import functional as F
from ..autograd import TensorBase, no_grad
from ..creation import arange
from ..tensor import Size
from . import constraints
from ._counts import as_float64, back, binomial_array, poisson_array
from .continuous import standard
from .discrete import Categorical, _OverCategorical, _clamp_probs, _float_param, _one_of
from .distribution import Distribution, _all_true, broadcast_all
from .gamma import Gamma


def _binary_logits(p):
    p = _clamp_probs(p)
    return p.log() - F.log1p(-p)


def _host(t):
    return B.to_numpy(t.array)


class _BinaryParams(Distribution):
    """A distribution given ``probs`` or ``logits`` (log-odds), deriving the other."""

    @cached_property
    def probs(self):
        return F.sigmoid(self.logits)

    @cached_property
    def logits(self):
        return _binary_logits(self.probs)

    @property
    def _param(self):
        return self.__dict__.get("probs", self.__dict__.get("logits"))

    @property
    def param_shape(self):
        return self._param.shape


class Poisson(Distribution):
    """Counts with P(k) = rate^k e^-rate / k!, as ``torch.distributions.Poisson``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        with no_grad():
            rate = as_float64(self.rate, self._extended_shape(sample_shape))
            return back(self.rate, poisson_array(self.rate._be, self.rate.xp, rate))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return F.xlogy(value, rate) - rate - F.lgamma(value + 1)


class Binomial(_BinaryParams):
    """Successes in ``total_count`` trials of probability ``probs`` (or sigmoid(``logits``)),
    as ``torch.distributions.Binomial``."""

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        _one_of("Binomial", probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count,
                                                         _float_param("Binomial", probs))
        else:
            self.total_count, self.logits = broadcast_all(total_count,
                                                          _float_param("Binomial", logits))
        self.total_count = self.total_count.to(self._param.dtype)
        super().__init__(self._param.shape, validate_args=validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        with no_grad():
            shape = self._extended_shape(sample_shape)
            n, p = as_float64(self.total_count, shape), as_float64(self.probs, shape)
            return back(self.probs, binomial_array(self.probs._be, self.probs.xp, n, p))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        # n log(1 + e^logits), written so that neither exp overflows; the mean of the two
        # clamps gives logits = 0 torch's subgradient 1/2
        positive = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        normalize = n * positive + n * F.log1p((-logits.abs()).exp()) - F.lgamma(n + 1)
        return value * logits - F.lgamma(value + 1) - F.lgamma(n - value + 1) - normalize

    def _total(self, what):
        host = _host(self.total_count)
        n = int(host.max()) if host.size else 0
        if host.size and host.min() != n:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return n

    def enumerate_support(self, expand=True):
        """0, 1, ..., total_count along a new first dim (one total_count for the batch;
        it is read on the host)."""
        n = self._total("enumerate_support")
        p = self._param
        values = arange(1 + n, dtype=p.dtype, backend=p.backend, device=p.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values

    def entropy(self):
        self._total("entropy")
        lp = self.log_prob(self.enumerate_support(False))
        return -(lp.exp() * lp).sum(0)


class Geometric(_BinaryParams):
    """Failures before the first success of probability ``probs``: P(k) = (1 - p)^k p,
    as ``torch.distributions.Geometric``."""

    arg_constraints = {"probs": constraints.interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Geometric", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(_float_param("Geometric", probs))
        else:
            (self.logits,) = broadcast_all(_float_param("Geometric", logits))
        super().__init__(self._param.shape, validate_args=validate_args)
        if self._validate_args and probs is not None and not _all_true(self.probs > 0):
            raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of shape "
                             f"{tuple(self.probs.shape)}) of distribution {self!r} to be "
                             f"positive but found invalid values:\n{self.probs}")

    @property
    def mean(self):
        return 1 / self.probs - 1

    @property
    def mode(self):
        return self.probs * 0

    @property
    def variance(self):
        return (1 / self.probs - 1) / self.probs

    def sample(self, sample_shape=()):
        with no_grad():
            p = self.probs
            u = standard(p, self._extended_shape(sample_shape), "uniform")
            u = u.clamp(min=float(B.np.finfo(B.dtype_name(p.dtype)).tiny))
            return (u.log() / F.log1p(-p)).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # 0 log(1 - 1) is 0: a sure success is never preceded by failures
        p = F.where((probs == 1) & (value == 0), 0.0, probs)
        return value * F.log1p(-p) + self.probs.log()

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                  reduction="none") / self.probs


class NegativeBinomial(_BinaryParams):
    """Successes (each of probability ``probs``) before ``total_count`` failures, as
    ``torch.distributions.NegativeBinomial``; sampled as Poisson(Gamma(total_count,
    e^-logits))."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        _one_of("NegativeBinomial", probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(
                total_count, _float_param("NegativeBinomial", probs))
        else:
            self.total_count, self.logits = broadcast_all(
                total_count, _float_param("NegativeBinomial", logits))
        self.total_count = self.total_count.to(self._param.dtype)
        super().__init__(self._param.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / F.sigmoid(-self.logits)

    def sample(self, sample_shape=()):
        with no_grad():
            rate = Gamma(self.total_count, (-self.logits).exp(),
                         validate_args=False).sample(sample_shape)
            return Poisson(rate, validate_args=False).sample()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        unnormalized = n * F.logsigmoid(-logits) + value * F.logsigmoid(logits)
        normalization = -F.lgamma(n + value) + F.lgamma(1.0 + value) + F.lgamma(n)
        # total_count = value = 0 has probability 1, but lgamma(0) is infinite
        normalization = F.where(n + value == 0, 0.0, normalization)
        return unnormalized - normalization


_MultinomialSupport = constraints.multinomial  # non-negative, summing to at most n


class Multinomial(_OverCategorical):
    """Counts of each of K classes in ``total_count`` Categorical draws, as
    ``torch.distributions.Multinomial``; ``event_shape`` is (K,).

    Args:
        total_count: an int, the same for the whole batch (as PyTorch).
        probs: (..., K) non-negative weights, or logits: (..., K) log-weights.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if isinstance(total_count, TensorBase) or not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits,
                                        validate_args=validate_args)
        self._binomial = Binomial(total_count=total_count, probs=self.probs,
                                  validate_args=False)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    @property
    def support(self):
        return _MultinomialSupport(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        new.__dict__.update(self.__dict__)
        new._batch_shape = Size(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = self._binomial.expand(tuple(batch_shape) + tuple(self._event_shape))
        return new

    def sample(self, sample_shape=()):
        with no_grad():
            idx = self._categorical.sample((self.total_count,) + tuple(sample_shape))
            k = self._event_shape[0]
            return F.one_hot(idx, k).to(self.probs.dtype).sum(0)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        logits = F.where((value == 0) & (logits == float("-inf")), 0.0, logits)
        return F.lgamma(value.sum(-1) + 1) - F.lgamma(value + 1).sum(-1) \
            + (logits * value).sum(-1)

    def entropy(self):
        n = self.total_count
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = self._binomial.log_prob(support).exp()
        term2 = (binomial_probs * F.lgamma(support + 1)).sum((0, -1))
        return term1 + term2

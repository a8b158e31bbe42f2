"""Distributions over classes: Bernoulli, Categorical, OneHotCategorical. Each takes
``probs`` or ``logits`` (exactly one) and derives the other when first asked."""
from __future__ import annotations

from functools import cached_property

from .. import backend as B
from .. import functional as F
from ..autograd import TensorBase, no_grad
from ..creation import arange, eye, full
from ..functional.sampling import multinomial
from . import constraints
from .continuous import standard
from .distribution import Distribution, broadcast_all


def _one_of(name, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: either `probs` or `logits` must be specified, but not both.")


def _clamp_probs(p):
    eps = float(B.np.finfo(B.dtype_name(p.dtype)).eps)
    return p.clamp(min=eps, max=1 - eps)


def _float_param(name, x):
    if not isinstance(x, TensorBase):
        return broadcast_all(x)[0]
    if not x._be.is_floating(x.dtype):
        raise ValueError(f"{name}: expected a floating tensor of parameters, got "
                         f"{B.dtype_name(x.dtype)}")
    return x


def _as_float(x):
    """Integer (or bool) weights as the default float dtype, as torch's Categorical turns
    them by its normalization; other values unchanged."""
    if isinstance(x, TensorBase) and not x._be.is_floating(x.dtype):
        from ..dtypes import get_default_dtype
        return x.to(get_default_dtype())
    return x


class Bernoulli(Distribution):
    """1 with probability ``probs`` (or sigmoid(``logits``)), else 0, as
    ``torch.distributions.Bernoulli``; samples are in the parameters' float dtype."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Bernoulli", probs, logits)
        if probs is not None:
            self.probs = _float_param("Bernoulli", probs)
            shape = self.probs.shape
        else:
            self.logits = _float_param("Bernoulli", logits)
            shape = self.logits.shape
        super().__init__(shape, validate_args=validate_args)

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

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        p = self.probs
        return F.where(p == 0.5, float("nan"), (p >= 0.5).to(p.dtype))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        with no_grad():
            p = self.probs.expand(self._extended_shape(sample_shape))
            return (standard(p, p.shape, "uniform") < p).to(p.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        p = self.probs
        values = arange(2, dtype=p.dtype, backend=p.backend, device=p.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values


class Categorical(Distribution):
    """Class indices 0..K-1 drawn with weights ``probs`` (normalized over the last dim) or
    ``logits`` (log-weights), as ``torch.distributions.Categorical``.

    Args:
        probs: (..., K) non-negative weights.
        logits: (..., K) unnormalized log-probabilities.

    ``batch_shape`` is the parameters' shape without the last dim; samples are int64.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Categorical", probs, logits)
        param = _float_param("Categorical", _as_float(probs if probs is not None else logits))
        if param.ndim < 1:
            raise ValueError("Categorical: `probs` or `logits` must be at least "
                             "one-dimensional.")
        if probs is not None:
            self.probs = param / param.sum(-1, keepdim=True)
        else:
            self.logits = param - F.logsumexp(param, dim=-1, keepdim=True)
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], validate_args=validate_args)

    @cached_property
    def probs(self):
        return F.softmax(self.logits, dim=-1)

    @cached_property
    def logits(self):
        return _clamp_probs(self.probs).log()

    @property
    def param_shape(self):
        return self.__dict__.get("probs", self.__dict__.get("logits")).shape

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self):
        p = self.probs
        return full(self._extended_shape(), float("nan"), dtype=p.dtype, backend=p.backend,
                    device=p.device)

    @property
    def mode(self):
        return F.argmax(self.probs, dim=-1)

    @property
    def variance(self):
        return self.mean

    def sample(self, sample_shape=()):
        sample_shape = tuple(sample_shape)
        n = 1
        for s in sample_shape:
            n *= s
        probs_2d = self.probs.reshape(-1, self._num_events)
        with no_grad():
            idx = multinomial(probs_2d, n, replacement=True)  # (batch, n)
        return idx.T.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = F.broadcast_tensors(value, self.logits)
        return F.gather(log_pmf, -1, value[..., :1]).squeeze(-1)

    def entropy(self):
        lo = float(B.np.finfo(B.dtype_name(self.logits.dtype)).min)
        return -(self.logits.clamp(min=lo) * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        p = self.probs
        values = arange(self._num_events, backend=p.backend, device=p.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values


class _OverCategorical(Distribution):
    """A distribution over K classes that keeps a :class:`Categorical` (``_categorical``)
    and reads its parameters there (OneHotCategorical, Multinomial,
    ExpRelaxedCategorical)."""

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape


class OneHotCategorical(_OverCategorical):
    """Categorical draws as one-hot vectors of the parameters' float dtype, as
    ``torch.distributions.OneHotCategorical``; ``event_shape`` is (K,)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape,
                         self._categorical.param_shape[-1:], validate_args=validate_args)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return F.one_hot(F.argmax(self.probs, dim=-1), self._event_shape[0]).to(
            self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        idx = self._categorical.sample(sample_shape)
        return F.one_hot(idx, self._event_shape[0]).to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(F.argmax(value, dim=-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self._event_shape[0]
        p = self.probs
        values = eye(n, dtype=p.dtype, backend=p.backend, device=p.device)
        values = values.reshape((n,) + (1,) * len(self._batch_shape) + (n,))
        if expand:
            values = values.expand((n,) + tuple(self._batch_shape) + (n,))
        return values

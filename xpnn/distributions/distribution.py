"""The base class of every distribution, as ``torch.distributions.Distribution``."""
from __future__ import annotations

import operator

from .. import backend as B
from .. import functional as F
from ..autograd import TensorBase, no_grad
from ..creation import tensor as _tensor
from ..functional.elementwise import promote
from ..tensor import Size
from . import constraints


class Distribution:
    """A batch of probability distributions: ``batch_shape`` independent ones, each over
    values of ``event_shape``.

    Parameters are checked against ``arg_constraints`` and values against ``support`` when
    ``validate_args`` is on (the default, as PyTorch; see :meth:`set_default_validate_args`).
    The checks read values on the host, so they run only where the tensors live in host
    memory (NumPy, array-api-strict on the CPU, torch on the CPU); on a device they are skipped
    rather than stall it.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = True
    arg_constraints = {}
    support = None

    @staticmethod
    def set_default_validate_args(value):
        """Turn argument and value validation on or off for distributions made later."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                if constraint is constraints.dependent or name not in self.__dict__:
                    continue  # checked by the class, or derived (logits given for probs)
                value = getattr(self, name)
                if not _all_true(constraint.check(value)):
                    raise ValueError(
                        f"Expected parameter {name} ({type(value).__name__} of shape "
                        f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                        f"constraint {constraint!r}, but found invalid values:\n{value}")

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} has no mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__} has no mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} has no variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def expand(self, batch_shape, _instance=None):
        """The same distribution broadcast to ``batch_shape``: each parameter (and each
        derived one already computed) expanded, not copied."""
        return self._expanded(Size(batch_shape), _instance)

    def _expanded(self, batch_shape, _instance=None, keep=()):
        """A copy (or ``_instance`` filled) whose tensors of this batch shape are expanded to
        ``batch_shape`` and whose inner distributions are expanded too, except those named
        in ``keep`` (the caller expands them its own way)."""
        new = type(self).__new__(type(self)) if _instance is None else _instance
        batch_shape = Size(batch_shape)
        n = len(self._batch_shape)
        for k, v in self.__dict__.items():
            if isinstance(v, TensorBase) and tuple(v.shape[:n]) == tuple(self._batch_shape):
                v = v.expand(tuple(batch_shape) + tuple(v.shape[n:]))
            elif isinstance(v, Distribution) and k not in keep:
                v = v.expand(batch_shape)
            new.__dict__[k] = v
        new._batch_shape = batch_shape
        return new

    def sample(self, sample_shape=()):
        """Samples of shape ``sample_shape + batch_shape + event_shape``, without gradient."""
        with no_grad():
            return self.rsample(sample_shape)

    def sample_n(self, n):
        return self.sample((n,))

    def rsample(self, sample_shape=()):
        """Reparameterized samples: differentiable with respect to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample")

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__} has no log_prob")

    def cdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} has no cdf")

    def icdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} has no icdf")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} has no entropy")

    def enumerate_support(self, expand=True):
        raise NotImplementedError(f"{type(self).__name__} has no enumerate_support")

    def perplexity(self):
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=()):
        try:  # as torch.Size(sample_shape): an iterable of ints
            sample_shape = tuple(operator.index(n) for n in sample_shape)
        except TypeError:
            raise TypeError(f"{type(self).__name__}.sample: sample_shape must be an iterable "
                            f"of ints (a tuple or Size), got {sample_shape!r}") from None
        if any(n < 0 for n in sample_shape):
            raise RuntimeError(f"{type(self).__name__}.sample: sample_shape must hold "
                               f"non-negative sizes, got {sample_shape}")
        return Size(sample_shape + self._batch_shape + self._event_shape)

    def _validate_sample(self, value):
        """Raise ValueError unless ``value``'s shape broadcasts with the batch and event
        shapes and (on the host) its entries lie in the support."""
        if not isinstance(value, TensorBase):
            raise ValueError(f"The value argument to log_prob must be a Tensor, got "
                             f"{type(value).__name__}")
        event_dim = len(self._event_shape)
        shape = tuple(value.shape)
        if event_dim and shape[len(shape) - event_dim:] != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{shape} vs {tuple(self._event_shape)}.")
        actual, expected = shape[:len(shape) - event_dim], tuple(self._batch_shape)
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{shape} vs {expected + tuple(self._event_shape)}.")
        if not _all_true(self.support.check(value)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape "
                             f"{shape}) to be within the support ({self.support!r}) of the "
                             f"distribution {self!r}, but found invalid values:\n{value}")

    _repr_hidden = ()  # parameters torch's repr leaves out (properties or lazily derived there)

    def __repr__(self):
        names = [k for k in self.arg_constraints
                 if k in self.__dict__ and k not in self._repr_hidden]
        args = ", ".join(f"{k}: {_brief(self.__dict__[k])!r}" for k in names)
        return f"{type(self).__name__}({args})"


def _brief(t):
    """What torch's repr shows of a parameter: the number of a 0-d tensor, a one-element
    tensor itself, else the shape."""
    if t.ndim == 0:
        return t.item()
    return t if t.numel() == 1 else Size(t.shape)


def _all_true(check):
    """Whether every entry of a bool Tensor is True; True without looking on a device."""
    if not check._be.on_host:
        return True
    return bool(B.to_numpy(check.array).all())


def broadcast_all(*values):
    """Tensors of one dtype and one broadcast shape from Tensors and numbers (numbers take
    the Tensors' dtype, or the default float dtype when there is none)."""
    like = next((v for v in values if isinstance(v, TensorBase)), None)
    if like is None:
        like = _tensor(float(values[0]))
    ts = [promote(v, like, "broadcast_all", broadcast=False)[0]
          if not isinstance(v, TensorBase) else v for v in values]
    floating = next((t for t in ts if t._be.is_floating(t.dtype)), None)
    if floating is not None:
        ts = [t if t.dtype == floating.dtype else t.to(floating.dtype) for t in ts]
    return F.broadcast_tensors(*ts)


def sum_rightmost(value, dim):
    """``value`` summed over its ``dim`` rightmost dims."""
    return value.reshape(tuple(value.shape[:value.ndim - dim]) + (-1,)).sum(-1) if dim \
        else value

"""Independent: some batch dims of a distribution read as event dims."""
from __future__ import annotations

import operator

from . import constraints
from .distribution import Distribution, sum_rightmost


class Independent(Distribution):
    """``base_distribution`` with its ``reinterpreted_batch_ndims`` rightmost batch dims
    moved into the event (log_prob and entropy sum over them), as
    ``torch.distributions.Independent``; e.g. a diagonal Gaussian from a batch of Normals."""

    arg_constraints = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        try:
            n = operator.index(reinterpreted_batch_ndims)
        except TypeError:
            raise TypeError(f"Independent: reinterpreted_batch_ndims must be an int, got "
                            f"{type(reinterpreted_batch_ndims).__name__}") from None
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        event_dim = n + len(base_distribution.event_shape)
        if n > len(base_distribution.batch_shape):
            raise ValueError(f"Expected reinterpreted_batch_ndims <= "
                             f"len(base_distribution.batch_shape), actual {n} vs "
                             f"{len(base_distribution.batch_shape)}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:],
                         validate_args=validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return False if self.reinterpreted_batch_ndims else self.base_dist.has_enumerate_support

    @property
    def support(self):
        n = self.reinterpreted_batch_ndims  # 0: the base's own, as torch
        return _Reinterpreted(self.base_dist.support, n) if n else self.base_dist.support

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def expand(self, batch_shape, _instance=None):
        full = tuple(batch_shape) + tuple(self._event_shape[:self.reinterpreted_batch_ndims])
        return Independent(self.base_dist.expand(full), self.reinterpreted_batch_ndims,
                           validate_args=False)

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


_Reinterpreted = constraints.independent  # IndependentConstraint, as torch's

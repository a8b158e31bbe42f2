"""More transforms of ``torch.distributions.transforms``: SoftplusTransform,
StickBreakingTransform, LowerCholeskyTransform, PositiveDefiniteTransform,
ReshapeTransform, IndependentTransform, CatTransform, StackTransform and
CumulativeDistributionTransform (CatTransform and StackTransform in piecewise_transforms.py;
CorrCholeskyTransform, also exported from here, in corr_cholesky.py)."""
from __future__ import annotations

import math

from .. import functional as F
from ..creation import arange
from . import constraints
from ._transform_base import Transform, _finfo, _independent, _Stateless
from .distribution import sum_rightmost
# re-exported where more_transforms.py held them before the split (__all__, distributions)
from .piecewise_transforms import (CatTransform, StackTransform, _CatConstraint,  # noqa: F401
                                   _cat_constraint, _PiecewiseTransform, _StackConstraint)
from .corr_cholesky import (CorrCholeskyTransform, _corr_dim, _index,  # noqa: F401
                            _tril_positions, _tril_to_vec, _vec_to_tril)

__all__ = ["CatTransform", "CumulativeDistributionTransform", "IndependentTransform",
           "LowerCholeskyTransform", "PositiveDefiniteTransform", "ReshapeTransform",
           "SoftplusTransform", "StackTransform", "StickBreakingTransform"]


class SoftplusTransform(_Stateless):
    """y = log(1 + e^x); the inverse is y + log(-expm1(-y))."""

    codomain = constraints.positive
    bijective = True
    sign = 1

    def _call(self, x):
        return F.softplus(x)

    def _inverse(self, y):
        return y + (-F.expm1(-y)).log()

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x)  # log sigmoid(x)


def _offsets(like, n):
    """[n, n - 1, ..., 1] in ``like``'s dtype and place."""
    return arange(n, 0, -1, dtype=like.dtype, backend=like.backend, device=like.device)


class StickBreakingTransform(_Stateless):
    """R^(K-1) onto the K-simplex by stick breaking: z_i = sigmoid(x_i - log(K - i)) of
    what is left of the stick, the last entry the remainder (the offsets make x = 0 the
    simplex's centre)."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def _call(self, x):
        n = x.shape[-1]
        z = F.sigmoid(x - _offsets(x, n).log())
        left = F.cumprod(1 - z, dim=-1)
        ones = left[..., :1] * 0 + 1
        return F.cat([z, ones], -1) * F.cat([ones, left], -1)

    def _inverse(self, y):
        crop = y[..., :-1]
        n = crop.shape[-1]
        rest = (1 - F.cumsum(crop, dim=-1)).clamp(min=float(_finfo(y).tiny))
        return crop.log() - rest.log() + _offsets(y, n).log()

    def log_abs_det_jacobian(self, x, y):
        xs = x - _offsets(x, x.shape[-1]).log()
        return (-xs + F.logsigmoid(xs) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("StickBreakingTransform: too few dimensions on input")
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("StickBreakingTransform: too few dimensions on input")
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class LowerCholeskyTransform(_Stateless):
    """An unconstrained square matrix to a lower-triangular one with a positive diagonal:
    the strictly lower part kept, the diagonal exponentiated (not bijective, as torch's)."""

    domain = _independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x):
        return F.tril(x, -1) + F.diag_embed(F.diagonal(x, 0, -2, -1).exp())

    def _inverse(self, y):
        return F.tril(y, -1) + F.diag_embed(F.diagonal(y, 0, -2, -1).log())


class PositiveDefiniteTransform(_Stateless):
    """An unconstrained square matrix to a positive-definite one: L L^T with L its
    LowerCholeskyTransform (not bijective, as torch's)."""

    domain = _independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x):
        L = LowerCholeskyTransform()(x)
        return L @ L.mT

    def _inverse(self, y):
        from ..linalg import cholesky
        return LowerCholeskyTransform().inv(cholesky(y))


class ReshapeTransform(Transform):
    """Reshapes the rightmost ``in_shape`` dims to ``out_shape`` (same number of
    elements); the log-Jacobian is 0."""

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size=0):
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError(f"ReshapeTransform: in_shape {self.in_shape} and out_shape "
                             f"{self.out_shape} have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @property
    def domain(self):
        return _independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self):
        return _independent(constraints.real, len(self.out_shape))

    def _copy(self, cache_size):
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        batch = tuple(x.shape[:x.ndim - len(self.in_shape)])
        return x.reshape(batch + self.out_shape)

    def _inverse(self, y):
        batch = tuple(y.shape[:y.ndim - len(self.out_shape)])
        return y.reshape(batch + self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        batch = tuple(x.shape[:x.ndim - len(self.in_shape)])
        return x.new_zeros(batch)

    def forward_shape(self, shape):
        return self._swap(shape, self.in_shape, self.out_shape, "forward_shape")

    def inverse_shape(self, shape):
        return self._swap(shape, self.out_shape, self.in_shape, "inverse_shape")

    @staticmethod
    def _swap(shape, old, new, where):
        shape = tuple(shape)
        cut = len(shape) - len(old)
        if cut < 0 or shape[cut:] != old:
            raise ValueError(f"ReshapeTransform.{where}: shape {shape} does not end with "
                             f"{old}")
        return shape[:cut] + new

    def __eq__(self, other):
        return isinstance(other, ReshapeTransform) and \
            (self.in_shape, self.out_shape) == (other.in_shape, other.out_shape)

    __hash__ = object.__hash__


class IndependentTransform(Transform):
    """``base_transform`` with its ``reinterpreted_batch_ndims`` rightmost batch dims
    counted as event dims: the log-Jacobian is summed over them."""

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = int(reinterpreted_batch_ndims)

    def _copy(self, cache_size):
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims,
                                    cache_size=cache_size)

    @property
    def domain(self):
        return _independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return _independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        if x.ndim < self.domain.event_dim:
            raise ValueError(f"IndependentTransform: too few dimensions on input: "
                             f"{tuple(x.shape)}")
        return self.base_transform(x)

    def _inverse(self, y):
        if y.ndim < self.codomain.event_dim:
            raise ValueError(f"IndependentTransform: too few dimensions on input: "
                             f"{tuple(y.shape)}")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y),
                             self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __repr__(self):
        return f"IndependentTransform({self.base_transform!r}, " \
               f"{self.reinterpreted_batch_ndims})"


class CumulativeDistributionTransform(Transform):
    """y = distribution.cdf(x): a univariate distribution's values onto [0, 1]; the
    inverse is its icdf and the log-Jacobian its log_prob."""

    bijective = True
    codomain = constraints.unit_interval
    sign = 1

    def __init__(self, distribution, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _copy(self, cache_size):
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)


__all__ += ["CorrCholeskyTransform"]

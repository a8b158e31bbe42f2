"""More transforms of ``torch.distributions.transforms``: SoftplusTransform,
StickBreakingTransform, LowerCholeskyTransform, PositiveDefiniteTransform,
ReshapeTransform, IndependentTransform, CatTransform, StackTransform and
CumulativeDistributionTransform."""
from __future__ import annotations

import math

from .. import functional as F
from ..creation import arange, eye
from . import constraints
from ._transform_base import Transform, _finfo, _independent, _Stateless
from .distribution import sum_rightmost

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


class _PiecewiseTransform(Transform):
    """Shared by CatTransform and StackTransform: ``tseq[i]`` applied to piece i of
    ``dim``."""

    def __init__(self, tseq, dim, cache_size):
        tseq = list(tseq)
        if not all(isinstance(t, Transform) for t in tseq):
            raise TypeError(f"{type(self).__name__}: expected a sequence of Transforms")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms, self.dim = tseq, dim

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)


class CatTransform(_PiecewiseTransform):
    """``tseq[i]`` applied to the i-th slice of ``dim`` of sizes ``lengths`` (1 each by
    default), the results concatenated, as ``torch.distributions.CatTransform``."""

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        super().__init__(tseq, dim, cache_size)
        lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(lengths) != len(self.transforms):
            raise ValueError(f"CatTransform: {len(lengths)} lengths for "
                             f"{len(self.transforms)} transforms")
        self.lengths = lengths

    @property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @property
    def domain(self):
        return _cat_constraint([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return _cat_constraint([t.codomain for t in self.transforms], self.dim,
                               self.lengths)

    def _copy(self, cache_size):
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _pieces(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"CatTransform: dim {self.dim} out of range for input of shape "
                             f"{tuple(x.shape)}")
        if x.shape[self.dim] != sum(self.lengths):
            raise ValueError(f"CatTransform: input of shape {tuple(x.shape)} has size "
                             f"{x.shape[self.dim]} at dim {self.dim}, lengths sum to "
                             f"{sum(self.lengths)}")
        out, start = [], 0
        for n in self.lengths:
            out.append(x.narrow(self.dim, start, n))
            start += n
        return out

    def _call(self, x):
        return F.cat([t(p) for t, p in zip(self.transforms, self._pieces(x))], self.dim)

    def _inverse(self, y):
        return F.cat([t.inv(p) for t, p in zip(self.transforms, self._pieces(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = []
        event_dim = self.event_dim
        for t, a, b in zip(self.transforms, self._pieces(x), self._pieces(y)):
            term = t.log_abs_det_jacobian(a, b)
            term = sum_rightmost(term, event_dim - t.event_dim)
            parts.append(term)
        dim = self.dim if self.dim < 0 else self.dim - x.ndim
        if dim + event_dim >= 0:  # cat dim inside the event: the parts add up
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            return total
        return F.cat(parts, dim + event_dim)


def _cat_constraint(cs, dim, lengths):
    return _CatConstraint(cs, dim, lengths)


class _CatConstraint(constraints.Constraint):
    def __init__(self, cs, dim, lengths):
        self.cs, self.dim, self.lengths = cs, dim, lengths

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cs)

    def check(self, value):
        checks, start = [], 0
        for c, n in zip(self.cs, self.lengths):
            checks.append(c.check(value.narrow(self.dim, start, n)))
            start += n
        return F.cat(checks, self.dim)


class StackTransform(_PiecewiseTransform):
    """``tseq[i]`` applied to index i of ``dim``, the results stacked, as
    ``torch.distributions.StackTransform`` (elementwise transforms)."""

    def __init__(self, tseq, dim=0, cache_size=0):
        super().__init__(tseq, dim, cache_size)

    def _copy(self, cache_size):
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"StackTransform: dim {self.dim} out of range for input of "
                             f"shape {tuple(x.shape)}")
        if x.shape[self.dim] != len(self.transforms):
            raise ValueError(f"StackTransform: input of shape {tuple(x.shape)} has size "
                             f"{x.shape[self.dim]} at dim {self.dim}, expected "
                             f"{len(self.transforms)}")
        return [x.select(self.dim, i) for i in range(len(self.transforms))]

    def _call(self, x):
        return F.stack([t(s) for t, s in zip(self.transforms, self._slices(x))], self.dim)

    def _inverse(self, y):
        return F.stack([t.inv(s) for t, s in zip(self.transforms, self._slices(y))],
                       self.dim)

    def log_abs_det_jacobian(self, x, y):
        return F.stack([t.log_abs_det_jacobian(a, b) for t, a, b in
                        zip(self.transforms, self._slices(x), self._slices(y))], self.dim)

    @property
    def domain(self):
        return _StackConstraint([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return _StackConstraint([t.codomain for t in self.transforms], self.dim)


class _StackConstraint(constraints.Constraint):
    def __init__(self, cs, dim):
        self.cs, self.dim = cs, dim

    def check(self, value):
        return F.stack([c.check(value.select(self.dim, i)) for i, c in enumerate(self.cs)],
                       self.dim)


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


def _tril_positions(n, offset):
    """Flat positions (row-major in an n x n matrix) of the entries (i, j), j <= i + offset,
    in row-major order."""
    return [i * n + j for i in range(n) for j in range(n) if j <= i + offset]


def _tril_to_vec(m, offset):
    """The lower-triangle entries (j <= i + offset) of the last two dims, row-major."""
    n = m.shape[-1]
    flat = m.reshape(tuple(m.shape[:-2]) + (n * n,))
    idx = _index(m, _tril_positions(n, offset))
    return F.index_select(flat, -1, idx)


def _index(like, values):
    from ..creation import tensor
    return tensor(values, dtype="int64", backend=like.backend, device=like.device)


def _vec_to_tril(v, n, offset):
    """An n x n matrix with ``v`` in the lower triangle j <= i + offset (row-major), 0
    elsewhere: v times a 0/1 placement matrix, so exact and differentiable."""
    pos = _tril_positions(n, offset)
    place = v.new_zeros((len(pos), n * n))
    place[_index(v, list(range(len(pos)))), _index(v, pos)] = 1.0
    return (v @ place).reshape(tuple(v.shape[:-1]) + (n, n))


def _corr_dim(m, what):
    n = int(round((1 + math.sqrt(1 + 8 * m)) / 2))
    if n * (n - 1) // 2 != m:
        raise ValueError(f"{what}: the last dim {m} is not a triangular number D (D - 1) / 2")
    return n


class CorrCholeskyTransform(_Stateless):
    """R^(D(D-1)/2) onto Cholesky factors of D x D correlation matrices (lower triangular,
    positive diagonal, rows of unit norm), as ``torch.distributions.CorrCholeskyTransform``:
    tanh maps x into (-1, 1) (filling the strictly lower triangle row by row), then each row
    is a stick broken by those fractions: y_ij = r_ij prod_(k<j) sqrt(1 - r_ik^2)."""

    domain = constraints.real_vector
    bijective = True

    @property
    def codomain(self):
        return constraints.corr_cholesky

    def _call(self, x):
        eps = float(_finfo(x).eps)
        r = x.tanh().clamp(min=-1 + eps, max=1 - eps)
        n = _corr_dim(x.shape[-1], "CorrCholeskyTransform")
        r = _vec_to_tril(r, n, -1)
        keep = F.cumprod((1 - r * r).sqrt(), dim=-1)
        ones = keep[..., :1] * 0 + 1
        scale = F.cat([ones, keep[..., :-1]], -1)
        return (r + eye(n, dtype=x.dtype, backend=x.backend, device=x.device)) * scale

    def _inverse(self, y):
        left = 1 - F.cumsum(y * y, dim=-1)
        ones = left[..., :1] * 0 + 1
        shifted = F.cat([ones, left[..., :-1]], -1)
        t = _tril_to_vec(y, -1) / _tril_to_vec(shifted, -1).sqrt()
        t = t.clamp(min=-1 + float(_finfo(y).eps), max=1 - float(_finfo(y).eps))
        return 0.5 * (F.log1p(t) - F.log1p(-t))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        left = 1 - F.cumsum(y * y, dim=-1)
        stick = 0.5 * _tril_to_vec(left, -2).log().sum(-1)
        tanh = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick + tanh

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("CorrCholeskyTransform: too few dimensions on input")
        n = _corr_dim(shape[-1], "CorrCholeskyTransform")
        return tuple(shape[:-1]) + (n, n)

    def inverse_shape(self, shape):
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise ValueError(f"CorrCholeskyTransform: expected square matrices, got {shape}")
        n = shape[-1]
        return tuple(shape[:-2]) + (n * (n - 1) // 2,)


__all__ += ["CorrCholeskyTransform"]

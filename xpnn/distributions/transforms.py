"""Invertible maps between spaces, as ``torch.distributions.transforms``: each transform
maps x to y = f(x), inverts through ``.inv`` and gives ``log_abs_det_jacobian(x, y)``,
log |dy/dx|, which TransformedDistribution subtracts from the base log-density."""
from __future__ import annotations

import math

from .. import functional as F
from ..autograd import TensorBase
from ..creation import full_like
from . import constraints
from ._transform_base import Transform, _finfo, _independent, _same, _Stateless
from .distribution import broadcast_all, sum_rightmost

__all__ = ["AbsTransform", "AffineTransform", "ComposeTransform", "ExpTransform",
           "PowerTransform", "SigmoidTransform", "SoftmaxTransform", "TanhTransform",
           "Transform", "identity_transform"]


class ExpTransform(_Stateless):
    """y = exp(x)."""

    codomain = constraints.positive
    bijective = True
    sign = 1

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class SigmoidTransform(_Stateless):
    """y = sigmoid(x), kept inside [tiny, 1 - eps] so the inverse stays finite."""

    codomain = constraints.unit_interval
    bijective = True
    sign = 1

    def _call(self, x):
        fi = _finfo(x)
        return F.sigmoid(x).clamp(min=float(fi.tiny), max=1 - float(fi.eps))

    def _inverse(self, y):
        fi = _finfo(y)
        y = y.clamp(min=float(fi.tiny), max=1 - float(fi.eps))
        return y.log() - F.log1p(-y)

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x) - F.softplus(x)  # log sigmoid(x) (1 - sigmoid(x))


class TanhTransform(_Stateless):
    """y = tanh(x); the inverse is atanh, so use ``cache_size=1`` when inverting samples."""

    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = 1

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return 0.5 * (F.log1p(y) - F.log1p(-y))

    def log_abs_det_jacobian(self, x, y):
        # log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)), stable for large |x|
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AbsTransform(_Stateless):
    """y = |x| (not injective: the inverse returns y itself)."""

    codomain = constraints.positive

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class AffineTransform(Transform):
    """y = loc + scale x, elementwise over ``event_dim`` rightmost dims that count as one
    event (their log-Jacobians summed).

    Args:
        loc, scale: numbers or Tensors broadcasting with x.
        event_dim: 0 for scalars, 1 for vectors, ...
    """

    bijective = True

    def __init__(self, loc, scale, event_dim=0, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, int(event_dim)

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def domain(self):
        return _independent(constraints.real, self._event_dim)

    @property
    def codomain(self):
        return _independent(constraints.real, self._event_dim)

    @property
    def sign(self):
        if isinstance(self.scale, TensorBase):
            return self.scale.sign()
        return 1 if self.scale > 0 else -1 if self.scale < 0 else 0

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        shape = tuple(x.shape)
        if isinstance(self.scale, TensorBase):
            result = self.scale.abs().log()
        else:
            result = full_like(x, math.log(abs(self.scale)))
        if self._event_dim:
            n = self._event_dim
            result = result.reshape(tuple(result.shape[:result.ndim - n]) + (-1,)).sum(-1)
            shape = shape[:len(shape) - n]
        return result.expand(shape)

    def _copy(self, cache_size):
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    def forward_shape(self, shape):
        return _broadcast_params(shape, self.loc, self.scale)

    inverse_shape = forward_shape

    def __eq__(self, other):
        return (isinstance(other, AffineTransform) and self._event_dim == other._event_dim
                and _same(self.loc, other.loc) and _same(self.scale, other.scale))

    __hash__ = object.__hash__


def _broadcast_params(shape, *params):
    shapes = [tuple(p.shape) for p in params if isinstance(p, TensorBase)]
    return F.broadcast_shapes(tuple(shape), *shapes) if shapes else shape


class PowerTransform(Transform):
    """y = x ** exponent on positive x."""

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent, cache_size=0):
        super().__init__(cache_size=cache_size)
        (self.exponent,) = broadcast_all(exponent)

    @property
    def sign(self):
        return self.exponent.sign()

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()  # log |a x^(a-1)|

    def _copy(self, cache_size):
        return PowerTransform(self.exponent, cache_size=cache_size)

    def forward_shape(self, shape):
        return _broadcast_params(shape, self.exponent)

    inverse_shape = forward_shape

    def __eq__(self, other):
        return isinstance(other, PowerTransform) and _same(self.exponent, other.exponent)

    __hash__ = object.__hash__


class SoftmaxTransform(_Stateless):
    """y = softmax(x) over the last dim (not injective; the inverse is log y, one of the
    preimages); no log_abs_det_jacobian, as in PyTorch."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        probs = (x - x.max(-1, keepdim=True)[0]).exp()
        return probs / probs.sum(-1, keepdim=True)

    def _inverse(self, y):
        return y.log()


class ComposeTransform(Transform):
    """``parts`` applied in order: y = parts[-1](... parts[0](x)); the log-Jacobians add,
    each summed over the event dims the composition has at its step."""

    def __init__(self, parts, cache_size=0):
        parts = list(parts)
        for p in parts:
            if not isinstance(p, Transform):
                raise TypeError(f"ComposeTransform: expected Transforms, got "
                                f"{type(p).__name__}")
        if cache_size:
            parts = [p.with_cache(cache_size) for p in parts]
        super().__init__(cache_size=cache_size)
        self.parts = parts

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim += part.domain.event_dim - part.codomain.event_dim
            event_dim = max(event_dim, part.domain.event_dim)
        return _independent(domain, event_dim - domain.event_dim)

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim += part.codomain.event_dim - part.domain.event_dim
            event_dim = max(event_dim, part.codomain.event_dim)
        return _independent(codomain, event_dim - codomain.event_dim)

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    @property
    def inv(self):
        if self._inv is None:
            self._inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv._inv = self
        return self._inv

    def _copy(self, cache_size):
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return x * 0
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total, event_dim = 0.0, self.domain.event_dim
        for part, a, b in zip(self.parts, xs[:-1], xs[1:]):
            term = part.log_abs_det_jacobian(a, b)
            total = total + sum_rightmost(term, event_dim - part.domain.event_dim)
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    def __repr__(self):
        inner = ",\n    ".join(repr(p) for p in self.parts)
        return f"ComposeTransform(\n    {inner}\n)"


identity_transform = ComposeTransform([])

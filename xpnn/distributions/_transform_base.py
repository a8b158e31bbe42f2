"""The Transform base class (caching, ``.inv``) and its inverse, for transforms.py."""
from __future__ import annotations

from .. import backend as B
from ..autograd import TensorBase
from . import constraints
from .independent import _Reinterpreted


def _independent(constraint, ndims):
    return _Reinterpreted(constraint, ndims) if ndims else constraint


def _finfo(t):
    return B.np.finfo(B.dtype_name(t.dtype))


def _same(a, b):
    """Whether two parameters (numbers or Tensors) are equal everywhere (reads the host)."""
    if isinstance(a, TensorBase) or isinstance(b, TensorBase):
        a = B.to_numpy(a.array) if isinstance(a, TensorBase) else a
        b = B.to_numpy(b.array) if isinstance(b, TensorBase) else b
        return bool(B.np.all(B.np.asarray(a) == B.np.asarray(b)))
    return a == b


class Transform:
    """A map y = f(x) with ``domain``/``codomain`` constraints, ``bijective``, ``sign``
    (+1 or -1 where monotone) and the inverse ``inv``.

    Args:
        cache_size: 0 (no cache) or 1: remember the last (x, y) pair, so inverting the y
            just made returns that very x (the tanh-squashed Normal of SAC needs this: atanh
            of a y rounded to +-1 is infinite).
    """

    bijective = False
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size=0):
        if cache_size not in (0, 1):
            raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got "
                             f"{cache_size!r}")
        self._cache_size = cache_size
        self._cached_x_y = (None, None)
        self._inv = None

    @property
    def event_dim(self):
        return self.domain.event_dim

    @property
    def sign(self):
        raise NotImplementedError(f"{type(self).__name__} has no sign")

    @property
    def inv(self):
        """The inverse transform (``inv.inv`` is this one)."""
        if self._inv is None:
            self._inv = _InverseTransform(self)
        return self._inv

    def with_cache(self, cache_size=1):
        """This transform with ``cache_size`` (a copy when it differs)."""
        if self._cache_size == cache_size:
            return self
        return self._copy(cache_size)

    def _copy(self, cache_size):
        if type(self).__init__ is not Transform.__init__:
            raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")
        return type(self)(cache_size=cache_size)

    def __call__(self, x):
        if not self._cache_size:
            return self._call(x)
        x_old, y_old = self._cached_x_y
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached_x_y = (x, y)
        return y

    def _inv_call(self, y):
        if not self._cache_size:
            return self._inverse(y)
        x_old, y_old = self._cached_x_y
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached_x_y = (x, y)
        return x

    def _call(self, x):
        raise NotImplementedError(f"{type(self).__name__} has no forward map")

    def _inverse(self, y):
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError(f"{type(self).__name__} has no log_abs_det_jacobian")

    def forward_shape(self, shape):
        return shape

    def inverse_shape(self, shape):
        return shape

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __repr__(self):
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    """The inverse of a transform: calls its ``_inverse``, negates its log-Jacobian."""

    def __init__(self, transform):
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self):
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self):
        return self._inv

    def with_cache(self, cache_size=1):
        return self._inv.with_cache(cache_size).inv

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    __hash__ = object.__hash__

    def __repr__(self):
        return f"{type(self).__name__}({self._inv!r})"


class _Stateless(Transform):
    """A transform without parameters: any two of one class are equal."""

    def __eq__(self, other):
        return type(other) is type(self)

    __hash__ = object.__hash__

"""Tensor's random methods: the in-place fills from the backend's generator (``normal_``,
``uniform_``, ``random_``, ``bernoulli_``, ...) and the draws ``multinomial`` and
``bernoulli``. Part of :class:`xpnn.tensor.Tensor`."""
from __future__ import annotations

import math

from . import backend as B
from .autograd import TensorBase
from ._errors import ArgumentError, DtypeNotImplemented, ShapeError
from .functional import sampling as _sampling
from .functional.dtype_refusals import refuse_dtypes
from .functional.scalar_args import number_only
from .functional.scalar_args import number_arg
from .tensor_inplace import write_back


class RandomMethods:
    """The random fills and draws of :class:`xpnn.Tensor`."""

    __slots__ = ()

    def _random_(self, op, draw):
        if self._graph_inplace(op):
            if self._rg:
                raise RuntimeError(f"{op}: cannot fill a recorded tensor with random numbers")
            self._become(self._result(draw(), self._be))  # a diagonal: into its base too
            write_back(self)
            return self
        arr = self._writable()
        arr[...] = draw()
        self._changed()
        return self

    def _continuous(self, op):
        """A continuous distribution's draws only go into a floating tensor (PyTorch)."""
        if not self._be.is_floating(self.dtype):
            raise DtypeNotImplemented(f"{op}: the draws are continuous; expected a floating "
                                      f"tensor, got {B.dtype_name(self.dtype)}")

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with N(mean, std^2) samples from the backend's generator (complex: each part
        N(mean, std^2 / 2), as PyTorch)."""
        number_only("normal_", "mean", mean), number_only("normal_", "std", std)
        mean, std = number_arg(mean), number_arg(std)  # 0-d tensors read as numbers
        be = self._be
        if not be.is_complex(self.dtype):
            self._continuous("normal_")
        if std < 0:
            raise ArgumentError(f"normal_: expects std >= 0.0, but found std {std}")
        if be.is_complex(self.dtype):
            return self._random_("normal_", lambda: _sampling.complex_draws(
                be, be.normal, tuple(self.shape), B.dtype_name(self.dtype), generator,
                std * 0.5 ** 0.5) + mean * (1 + 1j))
        return self._random_("normal_", lambda: be.normal(self.array.shape, self.dtype,
                                                          generator) * std + mean)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with U(a, b) samples from the backend's generator."""
        self._continuous("uniform_")
        a, b = number_only("uniform_", "from", a), number_only("uniform_", "to", b)
        if a > b:
            raise ArgumentError(f"uniform_: expects to return a [from, to) range, but found "
                                f"from={a} > to={b}")
        be = self._be
        return self._random_("uniform_", lambda: be.uniform(self.array.shape, self.dtype,
                                                            generator) * (b - a) + a)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return _sampling.multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        return _sampling.bernoulli(self, p, generator=generator)

    def _drawn_(self, op, draw, generator):
        """Fill with ``draw(uniform array)`` from the backend's generator."""
        be = self._be
        dt = B.dtype_name(self.dtype) if be.is_floating(self.dtype) else "float64"
        return self._random_(op, lambda: self.xp.astype(
            draw(be.uniform(tuple(self.shape), dt, generator)), self.dtype))

    def random_(self, from_=0, to=None, *, generator=None):
        """Integers drawn uniformly from [from_, to - 1] (``random_(to)``: [0, to - 1];
        neither: [0, 2^mantissa] for floats, [0, max] for integers), in this dtype."""
        refuse_dtypes("random_", ("complex",), self, names=("self",))
        if to is None and from_ != 0:
            from_, to = 0, from_
        if to is None:
            to = (2 ** (B.np.finfo(B.dtype_name(self.dtype)).nmant + 1) + 1
                  if self._be.is_floating(self.dtype)
                  else int(B.np.iinfo(B.dtype_name(self.dtype)).max)
                  if self.dtype != self.xp.bool else 2)
        if to <= from_:
            raise RuntimeError(f"random_: expects 'from' < 'to', got from={from_} to={to}")
        be = self._be
        return self._random_("random_", lambda: self.xp.astype(
            be.integers(int(from_), int(to), tuple(self.shape), generator), self.dtype))

    def exponential_(self, lambd=1.0, *, generator=None):
        self._continuous("exponential_")
        lambd = number_arg(lambd)  # a 0-d tensor reads as its number, as in PyTorch
        if isinstance(lambd, (int, float)) and not lambd > 0:  # draws would be <= 0
            raise ArgumentError(f"exponential_: expects lambda > 0.0, but found "
                                f"lambda={lambd}")
        return self._drawn_("exponential_", lambda u: -self.xp.log1p(-u) / lambd, generator)

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        self._continuous("cauchy_")
        median, sigma = number_arg(median), number_arg(sigma)
        return self._drawn_("cauchy_", lambda u: median + sigma * self.xp.tan(
            math.pi * (u - 0.5)), generator)

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        self._continuous("log_normal_")
        number_only("log_normal_", "mean", mean), number_only("log_normal_", "std", std)
        mean, std = number_arg(mean), number_arg(std)  # 0-d tensors read as numbers
        be = self._be
        return self._random_("log_normal_", lambda: self.xp.exp(be.normal(
            tuple(self.shape), B.dtype_name(self.dtype), generator) * std + mean))

    def geometric_(self, p, *, generator=None):
        return self._drawn_("geometric_", lambda u: self.xp.ceil(
            self.xp.log1p(-u) / math.log1p(-p)), generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        """Fill with 0/1 draws, 1 with probability ``p`` (a number or a tensor)."""
        refuse_dtypes("bernoulli_", ("complex",), self, names=("self",))
        refuse_dtypes("bernoulli_", ("bool", "integer", "complex"), p, names=("p",))
        if isinstance(p, (int, float)) and not 0 <= p <= 1:  # a number: no data read
            raise ArgumentError(f"bernoulli_: expects p to be in [0, 1], but got p={p}")
        if isinstance(p, TensorBase):
            from .functional.shape import broadcast_shapes
            if tuple(broadcast_shapes(self.shape, p.shape)) != tuple(self.shape):
                raise ShapeError(f"bernoulli_: p of shape {tuple(p.shape)} does not expand "
                                 f"to this tensor's shape {tuple(self.shape)}")
        prob = p.array if isinstance(p, TensorBase) else p
        return self._drawn_("bernoulli_", lambda u: u < prob, generator)

"""Random tensors: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal`` and their
``*_like`` forms, drawn from the backend's generator (seeded by :func:`manual_seed`) or from a
:class:`Generator` passed as ``generator=``.
"""
from __future__ import annotations

import numpy as np

from . import backend as B
from ._memory_format import dense_only as _dense
from .autograd import TensorBase
from ._errors import ArgumentError, DtypeNotImplemented, ShapeError
from .creation_args import _backend, _float, _like, _like_backend, _made, _size, _sizes
from .functional.sampling import complex_draws as _complex_draws
from .tensor import Tensor


class Generator:
    """A seedable random stream, as ``torch.Generator``: pass it as ``generator=`` to the
    random functions. Each backend draws from its own native generator derived from this
    one's seed."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = int(np.random.SeedSequence().generate_state(1)[0])
        self._streams = {}

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._streams = {}
        return self

    def seed(self):
        self.manual_seed(int(np.random.SeedSequence().generate_state(1)[0]))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The streams' states as host data (a dict), for ``set_state``."""
        return {"seed": self._seed,
                "streams": {B.device_key(be) + "@" + be.name: B._generator_state_of(be, g)
                            for be, g in self._streams.values()}}

    def set_state(self, state):
        self.manual_seed(state["seed"])
        for key, value in state.get("streams", {}).items():
            dev, _, name = key.rpartition("@")
            try:
                be = B.get_backend(name, dev)
            except B.BackendError:
                continue
            B._set_generator_state_of(be, self.for_backend(be), value)

    def for_backend(self, be):
        """The native generator of ``be`` for this stream (made on first use)."""
        hit = self._streams.get(id(be))
        if hit is None:
            hit = self._streams[id(be)] = (be, B.make_generator(be, self._seed))
        return hit[1]


def manual_seed(seed):
    """Seed the host generator (parameter init) and every backend's runtime generator.

    Returns a :class:`Generator` seeded with ``seed`` (PyTorch returns its default
    generator; xpnn's default streams are per backend, so this one is a stream of its own
    with the same seed: ``generator=`` it where PyTorch code passes the returned object)."""
    B.manual_seed(seed)
    return Generator().manual_seed(int(seed))


def _drawn_dtype(be, dtype, op):
    """The dtype name of continuous draws: the default float, or a floating ``dtype``."""
    if dtype is not None and B.dtype_name(dtype) in B.COMPLEX_DTYPES:
        return B.dtype_name(dtype)
    dt = _float(be, dtype and B.dtype_name(dtype))
    if not be.is_floating(dt):
        raise DtypeNotImplemented(f"{op}: the draws are continuous; expected a floating "
                                  f"dtype, got {B.dtype_name(dt)}")
    return B.dtype_name(dt)


def rand(*args, size=None, generator=None, dtype=None, device=None, layout=None,
         pin_memory=False, requires_grad=False, backend=None):
    """U[0, 1) samples from the backend's generator (complex: each part U[0, 1))."""
    _dense("rand", layout)
    size = _sizes("rand", args, size)
    be = _backend(backend, device)
    dt = _drawn_dtype(be, dtype, "rand")
    if dt in B.COMPLEX_DTYPES:
        arr = _complex_draws(be, be.uniform, _size(size), dt, generator, 1.0)
    else:
        arr = be.uniform(_size(size), dt, generator)
    return _made(arr, be, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, device=None, layout=None,
          pin_memory=False, requires_grad=False, backend=None):
    """N(0, 1) samples from the backend's generator (complex: each part N(0, 1/2), so
    E|z|^2 = 1, as PyTorch)."""
    _dense("randn", layout)
    size = _sizes("randn", args, size)
    be = _backend(backend, device)
    dt = _drawn_dtype(be, dtype, "randn")
    if dt in B.COMPLEX_DTYPES:
        arr = _complex_draws(be, be.normal, _size(size), dt, generator, 0.5 ** 0.5)
    else:
        arr = be.normal(_size(size), dt, generator)
    return _made(arr, be, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, layout=None,
            pin_memory=False, requires_grad=False, backend=None):
    """Integers in [low, high) (``randint(high, size)`` means low = 0), int64."""
    _dense("randint", layout)
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, (float, bool)):  # PyTorch's signature takes ints
            raise TypeError(f"randint: {name} must be an int, got {v!r}")
    if int(low) >= int(high):
        raise ShapeError(f"randint: low ({low}) must be less than high ({high})")
    be = _backend(backend, device)
    arr = be.integers(int(low), int(high), _size((size,) if isinstance(size, int) else size),
                      generator)
    if dtype is not None:
        arr = be.xp.astype(arr, be.dtype(B.dtype_name(dtype)))
    return _made(arr, be, requires_grad)  # integers: requires_grad_ refuses, as torch


def randperm(n, *, generator=None, dtype=None, device=None, layout=None, pin_memory=False,
             requires_grad=False, backend=None):
    _dense("randperm", layout)
    if isinstance(n, (float, bool)):  # PyTorch's signature takes an int
        raise TypeError(f"randperm: n must be an int, got {n!r}")
    if int(n) < 0:
        raise ShapeError(f"randperm: n must be non-negative, got {n}")
    be = _backend(backend, device)
    arr = be.permutation(int(n), generator)
    if dtype is not None:
        arr = be.xp.astype(arr, be.dtype(B.dtype_name(dtype)))
    return _made(arr, be, requires_grad)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False, backend=None):
    """N(mean, std^2) samples; ``mean``/``std`` may be tensors (broadcast) or numbers (then
    ``size`` gives the shape)."""
    from . import functional as F
    like = mean if isinstance(mean, TensorBase) else std if isinstance(std, TensorBase) \
        else None
    from .functional.dtype_refusals import refuse_dtypes
    # PyTorch: no integer or bool draws, and a real std
    refuse_dtypes("normal", ("bool", "integer"), mean, std, names=("mean", "std"))
    refuse_dtypes("normal", ("complex",), std, names=("std",), runtime=True)
    if not isinstance(std, TensorBase) and std < 0:  # a tensor std is not read back
        raise ArgumentError(f"normal: expects std >= 0.0, but found std {std}")
    if like is None:
        if size is None:
            raise TypeError("normal: with number mean and std, size= is required")
        return F.add(F.mul(randn(*_size((size,) if isinstance(size, int) else size),
                                 generator=generator, dtype=dtype, device=device,
                                 backend=backend), std), mean).requires_grad_(requires_grad)
    shape = F.broadcast_shapes(*[t.shape for t in (mean, std) if isinstance(t, TensorBase)])
    be = like._be
    z = Tensor(be.normal(shape, B.dtype_name(like.dtype), generator), _be=be)
    return F.add(F.mul(z, std), mean)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, layout=None,
                 pin_memory=False, backend=None, memory_format=None):
    _dense("randint_like", layout)
    if high is None:
        low, high = 0, low
    be = _like_backend(input, backend, device)
    return randint(low, high, input.shape, dtype=dtype or input.dtype, backend=be.name,
                   device=be.device)


rand_like, randn_like = _like(rand), _like(randn)

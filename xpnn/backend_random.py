"""Randomness of the backends: the seed that :func:`manual_seed` sets, the host generator that
initialises parameters, each backend's runtime generator (dropout masks, shuffling; drawn on
its device by :class:`RandomDraws`, which Backend inherits) and the states of the generators
as host data for checkpoints.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from ._errors import BackendError
from .dtypes import NAMES, dtype_name

_seed = {"value": 0, "epoch": 0}
_local = threading.local()  # per thread: the host generator, a refusal of random draws


@contextlib.contextmanager
def refuse_random(message):
    """Inside: every draw from a backend's generator raises RuntimeError(message) (what
    ``vmap(randomness="error")`` asks for)."""
    prev = getattr(_local, "refuse_random", None)
    _local.refuse_random = message
    try:
        yield
    finally:
        _local.refuse_random = prev


def make_generator(be, seed):
    """A native generator for ``be`` seeded from ``seed`` and the backend's name, so each
    backend draws its own stream."""
    sub = int(np.random.SeedSequence([seed, NAMES.index(be.name)]).generate_state(1)[0])
    if be.name == "torch":
        g = be.lib.Generator(device=be.device)
        g.manual_seed(sub)
        return g
    if be.name == "cupy":
        with be.device:
            return be.lib.random.default_rng(sub)
    return np.random.default_rng(sub)


def manual_seed(seed):
    """Seed the host generator (parameter init) and every backend's runtime generator
    (``xpnn.manual_seed``, in creation.py, also returns a Generator)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _seed["value"] = int(seed)
    _seed["epoch"] += 1
    _local.host = np.random.default_rng(int(seed))


def initial_seed():
    """The seed of the last :func:`manual_seed` (0 before any)."""
    return _seed["value"]


def host_rng():
    """The seeded NumPy Generator that parameter initialisation draws from."""
    rng = getattr(_local, "host", None)
    if rng is None:
        rng = _local.host = np.random.default_rng(_seed["value"])
    return rng


class RandomDraws:
    """The random side of a :class:`xpnn.backend.Backend`: its seeded generator and draws
    (uniform, normal, integers, permutations) made on its device. The Backend supplies
    ``name``, ``lib``, ``device``, ``dtype()`` and ``asarray()``."""

    @property
    def rng(self):
        """This backend's own seeded generator; re-seeded by ``xpnn.manual_seed``."""
        if self._rng is None or self._rng_epoch != _seed["epoch"]:
            self._rng = make_generator(self, _seed["value"])
            self._rng_epoch = _seed["epoch"]
        return self._rng

    def generator(self, generator=None):
        """The native generator to draw from: ``generator``'s stream for this backend (an
        :class:`xpnn.Generator`), or the backend's own (:attr:`rng`) when None."""
        refused = getattr(_local, "refuse_random", None)
        if refused is not None:
            raise RuntimeError(refused)
        return self.rng if generator is None else generator.for_backend(self)

    def uniform(self, shape, dtype, generator=None):
        """Uniform [0, 1) samples drawn on the device from the backend's generator (or from
        ``generator``, a :class:`xpnn.Generator`)."""
        dt = self.dtype(dtype)
        rng = self.generator(generator)
        if self.name == "torch":
            return self.lib.rand(shape, generator=rng, dtype=dt, device=self.device)
        if self.name == "cupy":
            with self.device:
                return rng.random(shape, dtype=dt)
        # NumPy and array-api-strict: a host generator (array-api-strict has no random
        # module), which draws float32 or float64; float16 is rounded from float32
        host = rng.random(shape, dtype=np.float64 if dtype_name(dt) == "float64"
                          else np.float32)
        if dtype_name(dt) == "float16":  # rounded, and kept below 1
            host = np.minimum(host, np.float32(np.nextafter(np.float16(1), np.float16(0))))
        return self._host_draw(host, dt)

    def _host_draw(self, host, dt):
        """Host samples in ``dt`` on this backend: NumPy's generator draws float32 or float64
        only, so a float16 draw rounds float32 samples."""
        if dtype_name(dt) == "float16":
            host = host.astype(np.float16)
        return host if self.name == "numpy" else self.asarray(host)

    def normal(self, shape, dtype, generator=None):
        """Standard normal samples on the device, from the backend's generator."""
        dt = self.dtype(dtype)
        rng = self.generator(generator)
        if self.name == "torch":
            return self.lib.randn(shape, generator=rng, dtype=dt, device=self.device)
        if self.name == "cupy":
            with self.device:
                return rng.standard_normal(shape, dtype=dt)
        host = rng.standard_normal(shape, dtype=np.float64 if dtype_name(dt) == "float64"
                                   else np.float32)
        return self._host_draw(host, dt)

    def integers(self, low, high, shape, generator=None):
        """int64 samples in [low, high) on the device."""
        rng = self.generator(generator)
        if self.name == "torch":
            return self.lib.randint(low, high, shape, generator=rng, device=self.device)
        if self.name == "cupy":
            with self.device:
                return rng.integers(low, high, shape, dtype=self.lib.int64)
        host = rng.integers(low, high, shape, dtype=np.int64)
        return host if self.name == "numpy" else self.asarray(host)

    def permutation(self, n, generator=None):
        """A random permutation of range(n) as an int64 array on this backend."""
        rng = self.generator(generator)
        if self.name == "torch":
            return self.lib.randperm(n, generator=rng, device=self.device)
        if self.name == "cupy":
            # CuPy's Generator has no permutation(): the order of n uniform keys is one
            with self.device:
                return self.lib.argsort(rng.random(n))
        host = rng.permutation(n)
        return host if self.name == "numpy" else self.asarray(host)


def _curand_states(g):
    """The device array holding a CuPy Generator's cuRAND states (its bit generator's
    ``_state``: CuPy has no public state API), or None where a CuPy version lacks it."""
    st = getattr(getattr(g, "bit_generator", None), "_state", None)
    return st if st is not None and hasattr(st, "get") else None


def _generator_state_of(be, g):
    """The state of a native generator ``g`` of ``be`` as host data: a dict (NumPy,
    array-api-strict) or a NumPy array (torch: its byte state; CuPy: the bytes of its cuRAND
    states; see _generator_state for a CuPy without them)."""
    if be.name == "torch":
        return g.get_state().numpy().copy()  # a uint8 CPU tensor on every device
    if be.name == "cupy":
        states = _curand_states(g)
        if states is not None:
            return states.get()
        raise BackendError("backend 'cupy': this CuPy's generator has no state to save")
    return g.bit_generator.state


def _set_generator_state_of(be, g, state):
    if be.name == "torch":
        g.set_state(be.lib.from_numpy(np.ascontiguousarray(state, dtype=np.uint8)))
    elif be.name == "cupy":
        states, state = _curand_states(g), np.asarray(state)
        if states is None or states.shape != state.shape or states.dtype != state.dtype:
            raise BackendError(f"backend 'cupy': a generator state of {state.size} bytes "
                               "does not fit this CuPy's generator")
        with be.device:
            states[...] = be.lib.asarray(state)
    else:
        g.bit_generator.state = state


def _generator_state(be):
    """The state of ``be.rng`` as host data (see :func:`_generator_state_of`)."""
    if be.name == "cupy" and _curand_states(be.rng) is None:
        # no state to read: draw a key and restart the generator from it, so the run that
        # saved and the run that resumes continue from the same point (not the point an
        # uninterrupted run would reach)
        with be.device:
            key = int(be.rng.integers(0, 2 ** 63 - 1, size=1)[0])
            be._rng = be.lib.random.default_rng(key)
        return np.asarray([key], dtype=np.int64)
    return _generator_state_of(be, be.rng)


def _set_generator_state(be, state):
    if be.name == "cupy" and np.asarray(state).size == 1:  # a key (see _generator_state)
        with be.device:
            be._rng = be.lib.random.default_rng(int(np.asarray(state).reshape(-1)[0]))
        return
    _set_generator_state_of(be, be.rng, state)

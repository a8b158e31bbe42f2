"""``torch.random``: seeding and the state of xpnn's generators (one seed for the host
generator that initialises parameters and every backend's runtime generator)."""
from __future__ import annotations

import contextlib

import numpy as np

from . import backend as B
from . import backend_rng_state as S
from .creation import manual_seed


def seed():
    """Seed every generator with a fresh non-deterministic number; return it."""
    value = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)
    manual_seed(value)
    return value


def initial_seed():
    """The seed of the last :func:`manual_seed` (0 before any)."""
    return B.initial_seed()


def get_rng_state():
    """The state of every generator (a dict: xpnn's state is not one byte tensor as
    PyTorch's); :func:`set_rng_state` restores it."""
    return S.get_rng_state()


def set_rng_state(new_state):
    S.set_rng_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, device_type="cuda"):
    """Draws inside the block leave the generators as they were before it
    (``torch.random.fork_rng``; xpnn forks every backend's generator at once)."""
    if not enabled:
        yield
        return
    state = S.get_rng_state()
    try:
        yield
    finally:
        S.set_rng_state(state)


__all__ = ["fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed",
           "set_rng_state"]

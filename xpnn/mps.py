"""``torch.mps`` (Apple's Metal GPUs) and ``torch.xpu`` (Intel's GPUs): xpnn has neither, so
each answers as PyTorch does on a machine without one: not available, no devices, seeding
a no-op, and the calls that need the device raise RuntimeError."""
from __future__ import annotations


def is_available():
    return False


def device_count():
    return 0


def manual_seed(seed):
    """Nothing to seed (PyTorch's returns None too without the device)."""


def _missing(what):
    def call(*args, **kwargs):
        raise RuntimeError(f"xpnn.mps.{what}: no MPS device (xpnn has no Metal backend)")
    call.__name__ = what
    return call


synchronize, empty_cache, current_allocated_memory, seed = (
    _missing(n) for n in ("synchronize", "empty_cache", "current_allocated_memory", "seed"))

__all__ = ["current_allocated_memory", "device_count", "empty_cache", "is_available",
           "manual_seed", "seed", "synchronize"]

"""``torch.mps`` (Apple's Metal GPUs) and ``torch.xpu`` (Intel's GPUs): xpnn has neither, so
each answers as PyTorch does on a machine without one: not available, no devices, seeding
a no-op, and the calls that need the device raise RuntimeError naming it."""
from __future__ import annotations

import sys
import types

_NEEDS_DEVICE = ("synchronize", "empty_cache", "current_allocated_memory", "seed")


def _missing(kind, what):
    def call(*args, **kwargs):
        raise RuntimeError(f"xpnn.{kind}.{what}: no {kind.upper()} device (xpnn has no "
                           f"{kind.upper()} backend)")
    call.__name__ = what
    return call


def _absent(namespace, kind):
    """Fill ``namespace`` with the answers of a machine without ``kind`` devices."""
    namespace.update(is_available=lambda: False, device_count=lambda: 0,
                     manual_seed=lambda seed: None,
                     **{what: _missing(kind, what) for what in _NEEDS_DEVICE})
    namespace["__all__"] = sorted(("device_count", "is_available", "manual_seed")
                                  + _NEEDS_DEVICE)


_absent(globals(), "mps")
xpu = types.ModuleType("xpnn.xpu", "torch.xpu: no Intel GPU backend in xpnn")
_absent(xpu.__dict__, "xpu")
sys.modules["xpnn.xpu"] = xpu

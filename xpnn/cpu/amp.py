"""``torch.cpu.amp``: :mod:`xpnn.amp` with the device fixed to "cpu" (autocast's default
dtype bfloat16; in xpnn the region runs in full precision)."""
from __future__ import annotations

from ..amp._devices import cpu as _cpu

autocast, GradScaler = _cpu.autocast, _cpu.GradScaler
custom_fwd, custom_bwd = _cpu.custom_fwd, _cpu.custom_bwd

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]

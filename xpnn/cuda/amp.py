"""``torch.cuda.amp``: :mod:`xpnn.amp` with the device fixed to "cuda" (autocast's default
dtype float16; in xpnn the region runs in full precision)."""
from __future__ import annotations

from ..amp._devices import cuda as _cuda

autocast, GradScaler = _cuda.autocast, _cuda.GradScaler
custom_fwd, custom_bwd = _cuda.custom_fwd, _cuda.custom_bwd

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]

"""Which kernels scaled_dot_product_attention may use: ``torch.nn.attention``'s
``SDPBackend`` and ``sdpa_kernel`` (re-exported by xpnn.nn.attention), and the switches
behind them that ``torch.backends.cuda`` reads and sets (``enable_flash_sdp``, ...).

xpnn has one attention kernel, the math one (functional/attention.py), on every backend. It
stands in for each kernel PyTorch can pick (MATH and the fused FLASH_ATTENTION,
EFFICIENT_ATTENTION, CUDNN_ATTENTION compute the same function, up to rounding), so a
program that restricts PyTorch to any of them runs here too; where PyTorch would find no
kernel because all four are off, scaled_dot_product_attention raises as PyTorch's does. One
difference: PyTorch on a CPU has no efficient-attention or cuDNN kernel and raises where
only those are on; xpnn runs its own. ``set_priority`` is accepted and changes nothing
(there is one kernel to order).
"""
from __future__ import annotations

import contextlib
import enum


class SDPBackend(enum.IntEnum):
    """The attention kernels, with PyTorch's names and values."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


# the switches, by SDPBackend (ERROR has none); torch.backends.cuda's enable_*_sdp set them
ENABLED = {SDPBackend.MATH: True, SDPBackend.FLASH_ATTENTION: True,
           SDPBackend.EFFICIENT_ATTENTION: True, SDPBackend.CUDNN_ATTENTION: True,
           SDPBackend.OVERRIDEABLE: True}
_KERNELS = (SDPBackend.MATH, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
            SDPBackend.CUDNN_ATTENTION)


def _as_backends(backends):
    items = list(backends) if isinstance(backends, (list, tuple)) else [backends]
    for b in items:
        if not isinstance(b, SDPBackend):
            raise TypeError(f"sdpa_kernel: backends must be an SDPBackend or a list of them, "
                            f"got {type(b).__name__} {b!r}")
    return set(items)


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Within the block, only ``backends`` (an SDPBackend or a list of them) are switched
    on; the switches as they were come back at exit. See the module docstring for what that
    means with xpnn's single kernel."""
    chosen = _as_backends(backends)
    before = dict(ENABLED)
    for b in ENABLED:
        ENABLED[b] = b in chosen
    try:
        yield
    finally:
        ENABLED.update(before)


def check(op):
    """Raise, as PyTorch does, where the switches leave no kernel to run ``op``."""
    if not any(ENABLED[b] for b in _KERNELS):
        raise RuntimeError(f"{op}: no viable backend: MATH and every fused kernel are "
                           "switched off (torch.nn.attention.sdpa_kernel or "
                           "torch.backends.cuda.enable_*_sdp)")

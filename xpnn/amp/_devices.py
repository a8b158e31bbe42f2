"""The older per-device spellings, ``torch.cuda.amp`` and ``torch.cpu.amp`` (PyTorch keeps
them, deprecated): the same classes with the device fixed and that device's default dtype.
:func:`_namespace` builds them here; ``xpnn.cpu.amp`` and ``xpnn.cuda.amp`` re-export
them."""
from __future__ import annotations

import types

from .autocast_mode import autocast as _autocast
from .autocast_mode import custom_bwd as _custom_bwd
from .autocast_mode import custom_fwd as _custom_fwd
from .grad_scaler import GradScaler as _GradScaler


def _namespace(device_type, default_dtype):
    class autocast(_autocast):
        __doc__ = (f"``torch.{device_type}.amp.autocast``: :class:`xpnn.amp.autocast` on "
                   f"{device_type!r} (in xpnn the region runs in full precision).")

        def __init__(self, enabled=True, dtype=default_dtype, cache_enabled=True):
            super().__init__(device_type, dtype=dtype, enabled=enabled,
                             cache_enabled=cache_enabled)

    class GradScaler(_GradScaler):
        __doc__ = (f"``torch.{device_type}.amp.GradScaler``: :class:`xpnn.amp.GradScaler` "
                   f"with device {device_type!r}.")

        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                     growth_interval=2000, enabled=True):
            super().__init__(device_type, init_scale, growth_factor, backoff_factor,
                             growth_interval, enabled)

    def custom_fwd(fwd=None, *, cast_inputs=None):
        return _custom_fwd(fwd, device_type=device_type, cast_inputs=cast_inputs)

    def custom_bwd(bwd=None):
        return _custom_bwd(bwd, device_type=device_type)

    for obj in (autocast, GradScaler, custom_fwd, custom_bwd):
        obj.__module__ = f"xpnn.{device_type}.amp"
        obj.__qualname__ = obj.__name__
    module = types.ModuleType(f"xpnn.{device_type}.amp",
                              f"``torch.{device_type}.amp``: see :mod:`xpnn.amp`.")
    module.autocast, module.GradScaler = autocast, GradScaler
    module.custom_fwd, module.custom_bwd = custom_fwd, custom_bwd
    module.__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]
    return module


cuda = _namespace("cuda", "float16")
cpu = _namespace("cpu", "bfloat16")

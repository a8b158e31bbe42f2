"""``torch.autocast`` (``torch.amp.autocast``): where PyTorch runs chosen ops of a region in
float16/bfloat16.

xpnn does not run mixed precision: its ops compute in their inputs' dtypes, and a region
under an enabled autocast runs exactly as it would without it (float32 stays float32, the
results are the full-precision ones). The region's state is kept, so
:func:`is_autocast_enabled` and :func:`get_autocast_dtype` answer as in PyTorch, and
entering an enabled region warns once per process so that nobody mistakes the speed or
memory for mixed precision. ``enabled=False`` (the usual way to opt a block out) is silent.
For a program that wants half precision in xpnn: cast the model and inputs
(``model.half()``, ``x.half()``), with :class:`GradScaler` for the loss.
"""
from __future__ import annotations

import functools
import threading
import warnings

from ..backend import DType, dtype_name

# PyTorch's device types with an autocast, and their default lower-precision dtype
_DEFAULT_DTYPES = {"cuda": "float16", "cpu": "bfloat16", "xpu": "float16", "mps": "float16",
                   "hpu": "bfloat16", "xla": "bfloat16", "mtia": "float16", "maia": "float16"}
_state = threading.local()
_warned = False


def _regions():
    """{device_type: (enabled, dtype)} of the regions open in this thread."""
    if not hasattr(_state, "regions"):
        _state.regions = {}
    return _state.regions


def _check_device(what, device_type):
    if not isinstance(device_type, str):
        raise ValueError(f"{what}: expected device_type of type str, got "
                         f"{type(device_type).__name__}")
    if device_type not in _DEFAULT_DTYPES:
        raise RuntimeError(f"{what}: unsupported autocast device_type {device_type!r}; "
                           f"expected one of {', '.join(_DEFAULT_DTYPES)}")


def is_autocast_available(device_type):
    """Whether ``device_type`` has an autocast (the device types PyTorch knows)."""
    return device_type in _DEFAULT_DTYPES


def is_autocast_enabled(device_type="cuda"):
    """Whether an enabled autocast region for ``device_type`` (default "cuda", as
    PyTorch's no-argument form) is open in this thread. Such a region changes no dtypes in
    xpnn (see the module's docstring)."""
    _check_device("is_autocast_enabled", device_type)
    return _regions().get(device_type, (False, None))[0]


def get_autocast_dtype(device_type):
    """The dtype autocast on ``device_type`` names (the innermost region's, else the
    default: float16 for cuda, bfloat16 for cpu)."""
    _check_device("get_autocast_dtype", device_type)
    dtype = _regions().get(device_type, (False, None))[1]
    return dtype if dtype is not None else DType(_DEFAULT_DTYPES[device_type])


def _warn_once():
    global _warned
    if not _warned:
        _warned = True
        warnings.warn("autocast: xpnn does not run mixed precision; this region runs in the "
                      "tensors' own dtypes (float32 stays float32, results are the "
                      "full-precision ones). GradScaler works as in PyTorch. Cast the model "
                      "and inputs (.half()) for half precision.", UserWarning, stacklevel=3)


class autocast:
    """Context manager and decorator for an autocast region (``torch.autocast``).

    Args:
        device_type: "cuda", "cpu", ... (a str, as PyTorch requires).
        dtype: the lower-precision dtype PyTorch would use (default: the device type's).
        enabled: False opens a region with autocast off (silently).
        cache_enabled: accepted (PyTorch's weight-cast cache); no effect.

    In xpnn the region computes in the tensors' own dtypes: nothing is cast. Entering an
    enabled region warns once per process (UserWarning).
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        _check_device("autocast", device_type)
        if dtype is not None:
            dtype = DType(dtype_name(dtype))
            if enabled and dtype_name(dtype) not in ("float16", "bfloat16"):
                # as PyTorch: another dtype turns the region off, with a warning
                warnings.warn(f"autocast: the target dtype {dtype_name(dtype)} is not "
                              f"supported ({device_type} autocast supports float16 and "
                              "bfloat16); disabling autocast", UserWarning, stacklevel=2)
                enabled = False
        self.device = device_type
        self.fast_dtype = dtype if dtype is not None else get_autocast_dtype(device_type)
        self._enabled = bool(enabled)
        self._cache_enabled = cache_enabled
        self._prev = []

    def __enter__(self):
        if self._enabled:
            _warn_once()
        regions = _regions()
        self._prev.append(regions.get(self.device))
        regions[self.device] = (self._enabled, self.fast_dtype)
        return self

    def __exit__(self, *exc):
        prev = self._prev.pop()
        regions = _regions()
        if prev is None:
            regions.pop(self.device, None)
        else:
            regions[self.device] = prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return wrapper


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """``torch.amp.custom_fwd`` for a custom Function's forward: xpnn's autocast casts
    nothing, so the forward runs as written (``cast_inputs`` is accepted)."""
    _check_device("custom_fwd", device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd=None, *, device_type):
    """``torch.amp.custom_bwd`` for a custom Function's backward: runs it as written."""
    _check_device("custom_bwd", device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd

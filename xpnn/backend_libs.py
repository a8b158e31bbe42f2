"""The array libraries and their devices: importing a backend by name (with the install hint
when it is missing), its Array API namespace, a user's device spec as the library's device
object, and the optional native modules that ops' fast paths ask for. This is where xpnn
imports NumPy, CuPy, PyTorch and array-api-strict; backend.py builds Backends over it.
"""
from __future__ import annotations

import importlib

import numpy as np

from ._errors import BackendError


def _import(name):
    module = {"numpy": "numpy", "cupy": "cupy", "torch": "torch",
              "array_api_strict": "array_api_strict"}[name]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = {"cupy": "pip install 'xpnn[cuda12]' (or cuda13)", "torch": "pip install torch",
                 "array_api_strict": "pip install array-api-strict"}.get(name, "")
        raise BackendError(f"backend {name!r} is not installed ({e}); {extra}") from None


def optional_module(name):
    """An optional native module (``"scipy.special"``, ``"cupyx"``), or None if missing.

    Ops ask for these by name for their native fast paths, so that the array libraries are
    imported here only.
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _namespace(name):
    if name == "numpy":
        return np  # NumPy >= 2 implements the standard in its main namespace
    _import(name)
    if name == "torch":
        import array_api_compat.torch as xp
        return xp
    if name == "cupy":
        import array_api_compat.cupy as xp
        return xp
    import array_api_strict
    return array_api_strict


def _device(name, device):
    """Normalise a user device spec to the library's device object."""
    if name == "numpy":
        if device not in (None, "cpu") and str(device) != "cpu":
            raise BackendError(f"backend 'numpy' has only device 'cpu', got {device!r}")
        return "cpu"
    if name == "array_api_strict":
        xp = _import(name)
        default = xp.asarray(0).device
        if device in (None, "cpu") or device == default:
            return default
        devs = {str(d): d for d in xp.__array_namespace_info__().devices()}
        key = str(device)
        if key not in devs and "'" not in key:
            key = f"array_api_strict.Device('{key}')"
        if key in devs:
            return devs[key]
        raise BackendError(f"backend 'array_api_strict' has no device {device!r}; "
                           f"it has {sorted(devs)}")
    if name == "torch":
        torch = _import("torch")
        dev = torch.device("cpu" if device is None else device)
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise BackendError(f"backend 'torch': device {device!r} asked for, but CUDA is "
                                   "not available")
            dev = torch.device("cuda", dev.index if dev.index is not None else
                               torch.cuda.current_device())
        return dev
    cupy = _import("cupy")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # the CUDA driver itself is missing
        raise BackendError(f"backend 'cupy' has no CUDA device: {e}") from None
    # "cuda" without an index is the current device, as in PyTorch (each rank of a process
    # group makes its own GPU current)
    idx = cupy.cuda.runtime.getDevice() if device in (None, "cuda", "gpu") else device
    if isinstance(idx, str):
        idx = int(idx.split(":")[-1])
    idx = getattr(idx, "id", idx)
    if not 0 <= idx < count:
        raise BackendError(f"backend 'cupy' has {count} device(s); device {device!r} asked for")
    return cupy.cuda.Device(idx)


_KERNELS = {}  # Backend.kernel's compiled CuPy kernels, by name

# CUDA helpers for Backend.kernel's code: float and double arithmetic rounded once per
# operation, as the portable code's separate operators are (nvcc would otherwise fuse a*b+c
# into one rounding, an FMA)
ROUNDED = "".join(
    f"__device__ __forceinline__ {t} {op}_rn({t} a, {t} b) {{ return __{p}{op}_rn(a, b); }}\n"
    for t, p in (("float", "f"), ("double", "d")) for op in ("add", "sub", "mul", "div")) + \
    "__device__ __forceinline__ float sqrt_rn(float a) { return __fsqrt_rn(a); }\n" \
    "__device__ __forceinline__ double sqrt_rn(double a) { return __dsqrt_rn(a); }\n"

"""xpnn.cuda: CUDA as PyTorch's ``torch.cuda`` reports it, for the default backend.

On the NumPy/CuPy pair CUDA means CuPy with a GPU; on the torch backend, torch's CUDA;
array-api-strict has none. ``model.to("cuda")`` lands where ``is_available()`` looks.
"""
from __future__ import annotations

from .. import backend as B
from . import amp  # torch.cuda.amp (the older spelling of xpnn.amp)
from ..creation import legacy_types

# torch.cuda.FloatTensor ...: the legacy typed classes of CUDA tensors
_CUDA_TYPES = legacy_types(True)
FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor, ShortTensor, \
    CharTensor, ByteTensor, BoolTensor = _CUDA_TYPES.values()


def _kind():
    name = B.default_backend().name
    return "torch" if name == "torch" else "cupy" if name in ("numpy", "cupy") else None


def device_count():
    """GPUs the default backend can use (0 without CUDA)."""
    kind = _kind()
    if kind is None:
        return 0
    lib = B.optional_module(kind)
    if lib is None:
        return 0
    try:
        if kind == "torch":
            return lib.cuda.device_count() if lib.cuda.is_available() else 0
        return lib.cuda.runtime.getDeviceCount()
    except Exception:  # a CUDA library without a driver or device
        return 0


def is_available():
    return device_count() > 0


def is_bf16_supported(including_emulation=True):
    """Whether bfloat16 tensors can go to CUDA: on the torch backend, torch's answer; on CuPy,
    False (CuPy has no bfloat16 dtype, so xpnn's CuPy backend has none); without CUDA, False.
    ``including_emulation`` is passed on to torch."""
    if not is_available() or _kind() != "torch":
        return False
    return bool(B.optional_module("torch").cuda.is_bf16_supported(
        including_emulation=including_emulation))


def current_device():
    return 0 if is_available() else None


def synchronize(device=None):
    """Wait for the GPU's queued work (a no-op without CUDA)."""
    if not is_available():
        return
    lib = B.optional_module(_kind())
    if _kind() == "torch":
        lib.cuda.synchronize(device)
    else:
        lib.cuda.Device(0 if device is None else int(str(device).split(":")[-1])).synchronize()


def manual_seed(seed):
    """Seeds every backend's generator (xpnn keeps one seed for all devices); returns
    nothing, as ``torch.cuda.manual_seed``."""
    B.manual_seed(seed)


manual_seed_all = manual_seed


def empty_cache():
    """Give cached GPU memory back (CuPy's memory pool, or torch's caching allocator)."""
    if not is_available():
        return
    lib = B.optional_module(_kind())
    if _kind() == "torch":
        lib.cuda.empty_cache()
    else:
        lib.get_default_memory_pool().free_all_blocks()


# below the functions above, which they use
from .memory import (max_memory_allocated, max_memory_reserved, memory_allocated,  # noqa: E402
                     memory_reserved, reset_max_memory_allocated, reset_peak_memory_stats)
from .devices import (device, get_arch_list, get_device_capability,  # noqa: E402
                      get_device_name, get_device_properties, get_rng_state,
                      get_rng_state_all, init, initial_seed, ipc_collect, is_initialized,
                      mem_get_info, seed, seed_all, set_device, set_rng_state,
                      set_rng_state_all)
from .streams import Event, Stream, current_stream, stream  # noqa: E402

"""torch.cuda's device queries and choices (``get_device_name``, ``get_device_properties``,
``get_device_capability``, ``mem_get_info``, ``set_device``, ``device``, ``get_arch_list``,
``is_initialized``, ``init``, ``ipc_collect``) and its generator functions
(``get_rng_state``, ``set_rng_state`` and their ``_all`` forms, ``seed``, ``seed_all``,
``initial_seed``).

On the torch backend they are torch's own; on CuPy, CuPy's runtime answers them; without
CUDA they answer or raise as on a CPU build of PyTorch (a RuntimeError naming the call where
PyTorch asserts). xpnn keeps one random state for every device (see xpnn.random), so the
CUDA state functions read and write that state: restoring it restores the GPU's draws too.
"""
from __future__ import annotations

import contextlib
import types

from .. import backend as B
from .. import backend_rng_state as S
from . import _kind, device_count, is_available


def _need(what):
    """(kind, library) of the CUDA library in use; RuntimeError without CUDA."""
    if not is_available():
        raise RuntimeError(f"xpnn.cuda.{what}: no CUDA device here (CuPy with a GPU, or "
                           "torch's CUDA), as torch.cuda on a CPU build")
    kind = _kind()
    return kind, B.optional_module(kind)


def _index(device, what):
    """The GPU index ``device`` names: None (the current one), an int, "cuda", "cuda:1", or
    a device object."""
    if device is None:
        return None
    if isinstance(device, int) and not isinstance(device, bool):
        index = device
    else:
        kind, _, rest = str(device).partition(":")
        if kind != "cuda" and not kind.isdigit():
            raise ValueError(f"xpnn.cuda.{what}: expected a cuda device, got {device!r}")
        index = int(kind) if kind.isdigit() else (int(rest) if rest else None)
        if index is None:
            index = getattr(device, "index", None)
    if index is not None and not 0 <= index < max(device_count(), 1):
        raise ValueError(f"xpnn.cuda.{what}: device index {index} is out of range (this "
                         f"machine has {device_count()} GPU(s))")
    return index


def _cupy_index(lib, index):
    return lib.cuda.runtime.getDevice() if index is None else index


def get_device_properties(device=None, _what="get_device_properties"):
    """The GPU's name, compute capability (major, minor), total_memory (bytes) and
    multi_processor_count."""
    index = _index(device, _what)
    kind, lib = _need(_what)
    if kind == "torch":
        return lib.cuda.get_device_properties(index)
    p = lib.cuda.runtime.getDeviceProperties(_cupy_index(lib, index))
    name = p["name"].decode() if isinstance(p["name"], bytes) else str(p["name"])
    return types.SimpleNamespace(name=name, major=int(p["major"]), minor=int(p["minor"]),
                                 total_memory=int(p["totalGlobalMem"]),
                                 multi_processor_count=int(p["multiProcessorCount"]))


def get_device_name(device=None):
    return get_device_properties(device, "get_device_name").name


def get_device_capability(device=None):
    """(major, minor) compute capability, (8, 0) for an A100."""
    p = get_device_properties(device, "get_device_capability")
    return p.major, p.minor


def mem_get_info(device=None):
    """(free, total) bytes of the GPU's memory, from the driver."""
    index = _index(device, "mem_get_info")
    kind, lib = _need("mem_get_info")
    if kind == "torch":
        return lib.cuda.mem_get_info(index)
    with lib.cuda.Device(_cupy_index(lib, index)):
        free, total = lib.cuda.runtime.memGetInfo()
    return int(free), int(total)


def set_device(device):
    """Make ``device`` the current GPU (an index, "cuda:1" or a device)."""
    index = _index(device, "set_device")
    kind, lib = _need("set_device")
    if index is None:
        return
    if kind == "torch":
        lib.cuda.set_device(index)
    else:
        lib.cuda.runtime.setDevice(index)


@contextlib.contextmanager
def device(device):
    """Within the block, ``device`` is the current GPU; None changes nothing."""
    index = _index(device, "device")
    if index is None:
        yield
        return
    kind, lib = _need("device")
    with (lib.cuda.device(index) if kind == "torch" else lib.cuda.Device(index)):
        yield


def get_arch_list():
    """The GPU architectures kernels are built for: torch's list; on CuPy, which compiles
    for the device it runs on, that device's ("sm_80"); [] without CUDA."""
    if not is_available():
        return []
    kind, lib = _kind(), B.optional_module(_kind())
    if kind == "torch":
        return lib.cuda.get_arch_list()
    major, minor = get_device_capability()
    return [f"sm_{major}{minor}"]


def is_initialized():
    kind = _kind()
    if kind == "torch" and is_available():
        return bool(B.optional_module("torch").cuda.is_initialized())
    return is_available()  # CuPy starts its CUDA context on first use


def init():
    kind, lib = _need("init")
    if kind == "torch":
        lib.cuda.init()


def ipc_collect():
    kind, lib = _need("ipc_collect")
    if kind == "torch":
        lib.cuda.ipc_collect()


# -- random state: xpnn's one state, which holds every device's generator ----------------------


def get_rng_state(device="cuda"):
    """xpnn's random state (a dict, every device's generator in it; see xpnn.random)."""
    _need("get_rng_state")
    _index(device, "get_rng_state")
    return S.get_rng_state()


def set_rng_state(new_state, device="cuda"):
    _need("set_rng_state")
    _index(device, "set_rng_state")
    S.set_rng_state(new_state)


def get_rng_state_all():
    """One state per GPU ([] without CUDA), each xpnn's whole state."""
    return [S.get_rng_state() for _ in range(device_count())]


def set_rng_state_all(new_states):
    new_states = list(new_states)
    if new_states:
        S.set_rng_state(new_states[0])


def seed():
    """Seed the generators with a fresh random number (nothing without CUDA)."""
    if is_available():
        from ..random import seed as _seed  # xpnn.random sits above xpnn.cuda
        _seed()


seed_all = seed


def initial_seed():
    _need("initial_seed")
    return B.initial_seed()

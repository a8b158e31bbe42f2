"""Backends: a name, namespace or array resolved to (xp, device); host transfer. The dtypes and
devices as PyTorch names them are in dtypes.py, the generators and their states in
backend_random.py; both are re-exported here (``B.dtype_name``, ``B.manual_seed``).

backend_libs.py owns the imports of the array libraries (NumPy, CuPy, PyTorch,
array-api-strict) and of the optional native modules an op's fast path may ask for
(:func:`optional_module`).
Ops, layers and optimizers get their namespace ``xp`` from a :class:`Backend`, which they find
on a Tensor. Host-side code (data loading, checkpoints, plotting) imports NumPy itself.
"""
from __future__ import annotations

import contextlib
import threading

import array_api_compat as compat
import numpy as np

from ._errors import BackendError
from .backend_libs import (_KERNELS, ROUNDED, _device, _import, _namespace,  # noqa: F401
                           optional_module)
from .backend_random import (RandomDraws, _generator_state, _generator_state_of,  # noqa: F401
                             _seed, _set_generator_state, _set_generator_state_of, host_rng,
                             initial_seed, make_generator, manual_seed, refuse_random)
from .dtypes import (COMPLEX_DTYPES, DTYPES, FLOAT_DTYPES, NAMES, DType,  # noqa: F401
                     _is_dtype, device, dtype_is, dtype_name, finfo, get_default_dtype, iinfo,
                     is_complex_dtype, kernel_floats, set_default_dtype)

_state = threading.local()     # per thread: the default backend and device
_cache: dict = {}              # (name, device string) -> Backend
_NOTHING = contextlib.nullcontext()


class Backend(RandomDraws):
    """One array library on one device: its namespace, device and random generator.

    Args:
        name: one of ``NAMES``.
        xp: the Array API namespace.
        device: the device object of that library (``"cpu"`` for NumPy).
    Attributes:
        lib: the library's own module (numpy, cupy, torch, array_api_strict), for the native
            fast paths that ops keep beside their portable code.
    """

    is_meta = False  # backend_meta.MetaBackend: the "meta" device (shapes, no data)

    def __init__(self, name, xp, device):
        self.name, self.xp, self.device = name, xp, device
        self.lib = np if name == "numpy" else _import(name)
        self._rng = None
        self._rng_epoch = -1

    def __repr__(self):
        return f"Backend({self.name!r}, device={self.device!r})"

    def __reduce__(self):  # pickles as its name and device, resolved again on load
        return get_backend, (self.name, device_key(self))

    @property
    def on_host(self):
        """True when arrays live in host memory (reading one back costs no device sync)."""
        if self.name == "numpy":
            return True
        if self.name == "torch":
            return self.device.type == "cpu"
        if self.name == "array_api_strict":
            return str(self.device) == str(self.xp.asarray(0).device)
        return False

    def kernel(self, name, in_params, out_params, operation, preamble=""):
        """A CuPy elementwise kernel (``cupy.ElementwiseKernel``), built once per process and
        name: the native CUDA paths of ops (Adam's update, the LSTM cell, cross-entropy,
        max pooling, ...) run their elementwise work as one kernel where the portable code
        launches one per operator.
        ``preamble`` may use the correctly rounded helpers of :data:`ROUNDED` (add_rn, ...)."""
        k = _KERNELS.get(name)
        if k is None:
            k = _KERNELS[name] = self.lib.ElementwiseKernel(
                in_params, out_params, operation, name, preamble=ROUNDED + preamble)
        return k

    # -- dtypes ---------------------------------------------------------------------
    def dtype(self, dtype):
        """The namespace's dtype for a name (``"float32"``) or a dtype of any library."""
        if dtype is None:
            return None
        if not isinstance(dtype, str):
            name = dtype_name(dtype)
            if name not in DTYPES:
                raise TypeError(f"unknown dtype {dtype!r}")
            dtype = name
        if dtype not in DTYPES or not hasattr(self.xp, dtype):
            raise TypeError(f"dtype {dtype!r} is not supported by backend {self.name!r}")
        return getattr(self.xp, dtype)

    def is_floating(self, dtype):
        return dtype_is(self.xp, dtype, "real floating")

    def is_complex(self, dtype):
        return is_complex_dtype(self.xp, dtype)

    def is_inexact(self, dtype):
        """Real or complex floating: the dtypes that can require gradients."""
        return dtype_is(self.xp, dtype, "real floating") or is_complex_dtype(self.xp, dtype)

    def quiet(self):
        """A context in which the library does not warn about floating-point results
        (log(0) = -inf, x/0, overflow), as PyTorch does not: NumPy's errstate (for
        array-api-strict too, which computes with NumPy), a no-op elsewhere."""
        return np.errstate(all="ignore") if self.name in ("numpy", "array_api_strict") \
            else _NOTHING

    # -- host transfer --------------------------------------------------------------
    def asarray(self, data, dtype=None):
        """A new array on this backend from host data (NumPy array, list, scalar) or from an
        array of any backend; always a copy, so nothing the caller holds is aliased."""
        dt = self.dtype(dtype)
        if is_array(data) and not isinstance(data, (np.ndarray, np.generic)) and \
                backend_of(data) is self:
            # already here: copy on the device, no host round trip (bfloat16 has no NumPy twin)
            arr = self.xp.asarray(data, copy=True)
            return arr if dt is None or arr.dtype == dt else self.xp.astype(arr, dt)
        if not isinstance(data, (np.ndarray, np.generic, list, tuple, int, float, bool)):
            data = to_numpy(data)
        if self.name == "torch":
            # torch.asarray(0-d float64 ndarray, dtype=float32, copy=True) raises "can't alias
            # tensor with dtype 'Double' into dtype 'Float'": copy first, then cast
            # On CUDA, torch 2.11's asarray(ndarray, device="cuda", copy=True) raises "can't
            # alias tensor from device 'cpu' to 'cuda:0'": a host copy, then one transfer
            arr = self.xp.asarray(np.asarray(data), copy=True)
            if arr.device != self.device:
                arr = arr.to(self.device)
            return arr if dt is None or arr.dtype == dt else self.xp.astype(arr, dt)
        return self.xp.asarray(data, dtype=dt, device=self.device, copy=True)

    def to_numpy(self, arr):
        return to_numpy(arr)


def resolve_device(be, spec):
    """The Backend that ``spec`` names, seen from ``be``: a backend name, "cpu",
    "cuda[:i]" (or an int i), "meta", a torch/CuPy/array-api-strict device, an
    ``xpnn.device``. Seen from the meta device, "cpu"/"cuda" are the default backend's."""
    if isinstance(spec, Backend):
        return spec
    if _is_meta(spec):
        return _meta()
    if be.is_meta:  # off the meta device: where a new tensor would go
        be = default_backend() if not default_backend().is_meta else get_backend("numpy")
    if isinstance(spec, str) and spec in NAMES:
        return get_backend(spec)
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = f"cuda:{spec}"
    mod = type(spec).__module__
    if mod.startswith("torch"):
        return get_backend("torch", spec)
    if mod.startswith("cupy"):
        return get_backend("cupy", spec)
    if mod.startswith("array_api_strict"):
        return get_backend("array_api_strict", spec)
    text = str(spec)
    kind = text.partition(":")[0]
    if kind == "cpu":
        if be.name in ("numpy", "cupy"):
            return get_backend("numpy")
        return get_backend(be.name, None if be.name == "array_api_strict" else "cpu")
    if kind == "cuda":
        if be.name == "array_api_strict":
            raise BackendError(f"device {text!r}: backend 'array_api_strict' has no CUDA "
                               "device; move to 'cupy' or 'torch' first")
        return get_backend("torch" if be.name == "torch" else "cupy", text)
    if be.name == "array_api_strict":
        return get_backend("array_api_strict", text)
    raise BackendError(f"unknown device {spec!r}; use 'cpu', 'cuda', 'cuda:<i>', 'meta' or a "
                       f"backend name {NAMES}")


def resolve_to(be, args, kwargs, owner="to"):
    """(Backend, dtype name or None) from the arguments of ``Tensor.to``/``Module.to``:
    devices, dtypes, a tensor, backend names, and ``backend=``/``device=``/``dtype=``."""
    kwargs = dict(kwargs)
    backend = kwargs.pop("backend", None)
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    for key in ("non_blocking", "copy", "memory_format"):
        kwargs.pop(key, None)
    if kwargs:
        raise TypeError(f"{owner}: unexpected arguments {sorted(kwargs)}")
    for a in args:
        if hasattr(a, "_be") and hasattr(a, "array"):  # another tensor: its place and dtype
            backend, dev, dtype = a._be.name, a._be.device, dtype_name(a.array.dtype)
        elif a is None:
            continue
        elif _is_dtype(a):
            dtype = a
        elif backend is None and isinstance(a, str) and a in NAMES:
            backend = a
        elif dev is None:
            dev = a
        else:
            raise TypeError(f"{owner}: cannot read argument {a!r} as a device or a dtype")
    if backend is not None:
        target = get_backend(backend, dev)
    elif dev is not None:
        target = resolve_device(be, dev)
    else:
        target = be
    return target, None if dtype is None else dtype_name(dtype)


# -- resolution ---------------------------------------------------------------------------
def device_key(be):
    """A plain value naming ``be``'s device that ``get_backend`` takes back (checkpoints)."""
    if be.name == "cupy":
        return be.device.id
    if be.name == "array_api_strict":
        return str(be.device).split("'")[1] if "'" in str(be.device) else str(be.device)
    return str(be.device)


def get_backend(backend=None, device=None):
    """Resolve a name (or None for the default), a namespace or an array to a Backend.

    A name may carry its device after a colon ("torch:cuda:0"). A name without a device is
    the default backend's device when the name is the default backend's (``set_default_backend("array_api_strict", "device1")`` then makes
    ``backend="array_api_strict"`` mean device1), else that library's default device.
    """
    default = getattr(_state, "default", "numpy")
    if backend is None:
        backend = default
    elif isinstance(backend, str) and ":" in backend and backend.partition(":")[0] in NAMES:
        backend, _, spec = backend.partition(":")  # "torch:cuda:0", "array_api_strict:device1"
        if device is None:
            device = spec
    if device is None and backend == default:
        device = getattr(_state, "default_device", None)
    if (isinstance(backend, str) and backend == "meta") or \
            (device is not None and _is_meta(device)):
        return _meta()
    if isinstance(backend, Backend):
        return backend if device is None else get_backend(backend.name, device)
    if not isinstance(backend, str):
        name = _name_of_namespace(backend) or _name_of_array(backend)
        if name is None:
            raise BackendError(f"cannot tell the backend of {type(backend).__name__}; "
                               f"use one of {NAMES}")
        if device is None and _name_of_array(backend):
            return backend_of(backend)
        backend = name
    if backend not in NAMES:
        raise BackendError(f"unknown backend {backend!r}; choose one of {NAMES}")
    key = (backend, None if device is None else str(device))
    be = _cache.get(key)
    if be is None:
        dev = _device(backend, device)
        full = (backend, str(dev))
        be = _cache.get(full) or Backend(backend, _namespace(backend), dev)
        _cache[full] = be
        if not _follows_current(backend, device):
            _cache[key] = be
    return be


def _is_meta(spec):
    """Whether a device spec names PyTorch's "meta" device (backend_meta.py)."""
    return (spec == "meta" if isinstance(spec, str) else getattr(spec, "type", None) == "meta")


def _meta():
    be = _cache.get(("meta", "meta"))  # put there by backend_meta.py, which builds on this
    if be is None:
        raise BackendError("device 'meta': import xpnn.backend_meta (xpnn does) first")
    return be


def _follows_current(backend, device):
    """A CUDA device named without an index: it means the current device, which may change,
    so it is resolved again on every call."""
    text = None if device is None else str(device)
    return (backend == "cupy" and text in (None, "cuda", "gpu")) or \
        (backend == "torch" and text == "cuda")


def set_default_backend(backend, device=None):
    """Set the backend (and device) that new tensors and parameters use when none is named.

    The setting is per thread, like the grad mode.
    """
    be = get_backend(backend, device)
    _state.default = be.name
    _state.default_device = device
    return be


def default_backend():
    return get_backend(None)


def _name_of_namespace(obj):
    mod = getattr(obj, "__name__", "")
    for name in NAMES:
        if mod == name or mod.endswith("." + name) or mod == "array_api_compat." + name:
            return name
    return None


def _name_of_array(arr):
    if isinstance(arr, (np.ndarray, np.generic)):  # NumPy reductions return scalars
        return "numpy"
    if compat.is_torch_array(arr):
        return "torch"
    if compat.is_cupy_array(arr):
        return "cupy"
    if type(arr).__module__.startswith("array_api_strict"):
        return "array_api_strict"
    return None


def is_array(obj):
    """True for an array of one of the backends (NumPy scalars included: NumPy's full
    reductions return them)."""
    return _name_of_array(obj) is not None


def backend_of(arr):
    """The Backend that owns a backend array (NumPy, CuPy, torch, array-api-strict) or a
    Tensor."""
    be = getattr(arr, "_be", None)
    if isinstance(be, Backend):
        return be
    name = _name_of_array(arr)
    if name is None:
        raise TypeError(f"expected an array of one of {NAMES}, got {type(arr).__name__}")
    if name == "numpy":
        return get_backend("numpy")
    dev = arr.device
    be = _cache.get((name, str(dev)))
    return be if be is not None else get_backend(name, dev)


def to_numpy(arr):
    """A NumPy copy (or view, for NumPy input) of an array of any backend, on the host.

    This is xpnn's one device-to-host transfer: tests count its calls to prove that a
    training step makes none.
    """
    if isinstance(arr, (np.ndarray, np.generic)):
        return np.asarray(arr)
    name = _name_of_array(arr)
    if name == "torch":
        arr = arr.detach().cpu().resolve_conj().resolve_neg()  # numpy() refuses lazy views
        if str(arr.dtype) == "torch.bfloat16":  # NumPy has no bfloat16: its float32 values
            arr = arr.float()
        return arr.numpy()
    if name == "cupy":
        return arr.get()
    if name == "array_api_strict":
        cpu = arr.__array_namespace__().asarray(0).device
        if arr.device != cpu:
            arr = compat.to_device(arr, cpu)
        return np.from_dlpack(arr)
    return np.asarray(arr)

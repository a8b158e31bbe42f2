"""Backends: a name, namespace or array resolved to (xp, device); dtypes; random generators;
host transfer.

This module owns the imports of the array libraries (NumPy, CuPy, PyTorch, array-api-strict)
and of the optional native modules an op's fast path may ask for (:func:`optional_module`).
Ops, layers and optimizers get their namespace ``xp`` from a :class:`Backend`, which they find
on a Tensor. Host-side code (data loading, checkpoints, plotting) imports NumPy itself.
"""
from __future__ import annotations

import contextlib
import importlib
import threading

import array_api_compat as compat
import numpy as np

NAMES = ("numpy", "cupy", "torch", "array_api_strict")
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool")
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")

_state = threading.local()     # per thread: default backend, host generator
_cache: dict = {}              # (name, device string) -> Backend
_seed = {"value": 0, "epoch": 0}
_default_dtype = {"name": "float32"}
_NOTHING = contextlib.nullcontext()


_KERNELS = {}  # Backend.kernel's compiled CuPy kernels, by name

# CUDA helpers for Backend.kernel's code: float and double arithmetic rounded once per
# operation, as the portable code's separate operators are (nvcc would otherwise fuse a*b+c
# into one rounding, an FMA)
ROUNDED = "".join(
    f"__device__ __forceinline__ {t} {op}_rn({t} a, {t} b) {{ return __{p}{op}_rn(a, b); }}\n"
    for t, p in (("float", "f"), ("double", "d")) for op in ("add", "sub", "mul", "div")) + \
    "__device__ __forceinline__ float sqrt_rn(float a) { return __fsqrt_rn(a); }\n" \
    "__device__ __forceinline__ double sqrt_rn(double a) { return __dsqrt_rn(a); }\n"


def kernel_floats(*arrays):
    """Whether ``arrays`` share one dtype, float32 or float64: the types that the CUDA code
    of :meth:`Backend.kernel` is written for (float16 and integers take the portable code)."""
    dt = str(arrays[0].dtype)
    return dt in ("float32", "float64") and all(str(a.dtype) == dt for a in arrays[1:])


class BackendError(RuntimeError):
    """A backend is not installed, or has no such device."""


class Backend:
    """One array library on one device: its namespace, device and random generator.

    Args:
        name: one of ``NAMES``.
        xp: the Array API namespace.
        device: the device object of that library (``"cpu"`` for NumPy).
    Attributes:
        lib: the library's own module (numpy, cupy, torch, array_api_strict), for the native
            fast paths that ops keep beside their portable code.
    """

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
        return self.xp.isdtype(dtype, "real floating")

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

    # -- runtime randomness (dropout masks, shuffling) --------------------------------
    @property
    def rng(self):
        """This backend's own seeded generator; re-seeded by ``xpnn.manual_seed``."""
        if self._rng is None or self._rng_epoch != _seed["epoch"]:
            self._rng = make_generator(self, _seed["value"])
            self._rng_epoch = _seed["epoch"]
        return self._rng

    def generator(self, generator=None):
        """The native generator to draw from: ``generator``'s stream for this backend (an
        :class:`xpnn.Generator`), or the backend's own (:attr:`rng`) when None."""
        refused = getattr(_state, "refuse_random", None)
        if refused is not None:
            raise RuntimeError(refused)
        return self.rng if generator is None else generator.for_backend(self)

    def uniform(self, shape, dtype, generator=None):
        """Uniform [0, 1) samples drawn on the device from the backend's generator (or from
        ``generator``, a :class:`xpnn.Generator`)."""
        dt = self.dtype(dtype)
        rng = self.generator(generator)
        if self.name == "torch":
            return self.lib.rand(shape, generator=rng, dtype=dt, device=self.device)
        if self.name == "cupy":
            with self.device:
                return rng.random(shape, dtype=dt)
        # NumPy and array-api-strict: a host generator (array-api-strict has no random
        # module), which draws float32 or float64; float16 is rounded from float32
        host = rng.random(shape, dtype=np.float64 if dtype_name(dt) == "float64"
                          else np.float32)
        if dtype_name(dt) == "float16":  # rounded, and kept below 1
            host = np.minimum(host, np.float32(np.nextafter(np.float16(1), np.float16(0))))
        return self._host_draw(host, dt)

    def _host_draw(self, host, dt):
        """Host samples in ``dt`` on this backend: NumPy's generator draws float32 or float64
        only, so a float16 draw rounds float32 samples."""
        if dtype_name(dt) == "float16":
            host = host.astype(np.float16)
        return host if self.name == "numpy" else self.asarray(host)

    def normal(self, shape, dtype, generator=None):
        """Standard normal samples on the device, from the backend's generator."""
        dt = self.dtype(dtype)
        rng = self.generator(generator)
        if self.name == "torch":
            return self.lib.randn(shape, generator=rng, dtype=dt, device=self.device)
        if self.name == "cupy":
            with self.device:
                return rng.standard_normal(shape, dtype=dt)
        host = rng.standard_normal(shape, dtype=np.float64 if dtype_name(dt) == "float64"
                                   else np.float32)
        return self._host_draw(host, dt)

    def integers(self, low, high, shape, generator=None):
        """int64 samples in [low, high) on the device."""
        rng = self.generator(generator)
        if self.name == "torch":
            return self.lib.randint(low, high, shape, generator=rng, device=self.device)
        if self.name == "cupy":
            with self.device:
                return rng.integers(low, high, shape, dtype=self.lib.int64)
        host = rng.integers(low, high, shape, dtype=np.int64)
        return host if self.name == "numpy" else self.asarray(host)

    def permutation(self, n, generator=None):
        """A random permutation of range(n) as an int64 array on this backend."""
        rng = self.generator(generator)
        if self.name == "torch":
            return self.lib.randperm(n, generator=rng, device=self.device)
        if self.name == "cupy":
            # CuPy's Generator has no permutation(): the order of n uniform keys is one
            with self.device:
                return self.lib.argsort(rng.random(n))
        host = rng.permutation(n)
        return host if self.name == "numpy" else self.asarray(host)


@contextlib.contextmanager
def refuse_random(message):
    """Inside: every draw from a backend's generator raises RuntimeError(message) (what
    ``vmap(randomness="error")`` asks for)."""
    prev = getattr(_state, "refuse_random", None)
    _state.refuse_random = message
    try:
        yield
    finally:
        _state.refuse_random = prev


def make_generator(be, seed):
    """A native generator for ``be`` seeded from ``seed`` and the backend's name, so each
    backend draws its own stream."""
    sub = int(np.random.SeedSequence([seed, NAMES.index(be.name)]).generate_state(1)[0])
    if be.name == "torch":
        g = be.lib.Generator(device=be.device)
        g.manual_seed(sub)
        return g
    if be.name == "cupy":
        with be.device:
            return be.lib.random.default_rng(sub)
    return np.random.default_rng(sub)


def manual_seed(seed):
    """Seed the host generator (parameter init) and every backend's runtime generator
    (``xpnn.manual_seed``, in creation.py, also returns a Generator)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _seed["value"] = int(seed)
    _seed["epoch"] += 1
    _state.host = np.random.default_rng(int(seed))


def initial_seed():
    """The seed of the last :func:`manual_seed` (0 before any)."""
    return _seed["value"]


def host_rng():
    """The seeded NumPy Generator that parameter initialisation draws from."""
    rng = getattr(_state, "host", None)
    if rng is None:
        rng = _state.host = np.random.default_rng(_seed["value"])
    return rng


# -- default dtype --------------------------------------------------------------------------
class finfo:
    """Machine limits of a floating dtype (the default float dtype when None), as
    ``torch.finfo``: ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``),
    ``resolution`` and ``dtype`` (its name). Attention masks use ``finfo(dtype).min``."""

    # NumPy has no bfloat16: its limits (8 exponent bits, 7 fraction bits) written out
    _BF16 = dict(bits=16, eps=2.0 ** -7, max=float.fromhex("0x1.fep127"),
                 tiny=2.0 ** -126, resolution=0.01)

    def __init__(self, type=None):
        name = dtype_name(type) if type is not None else get_default_dtype()
        if name not in FLOAT_DTYPES:
            raise TypeError(f"finfo: {name} is not a floating dtype (use iinfo for integers)")
        if name == "bfloat16":
            vals = dict(self._BF16)
        else:
            info = np.finfo(name)
            vals = dict(bits=int(info.bits), eps=float(info.eps), max=float(info.max),
                        tiny=float(info.tiny), resolution=10.0 ** -int(info.precision))
        self.__dict__.update(vals, min=-vals["max"], smallest_normal=vals["tiny"], dtype=name)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype, as ``torch.iinfo``: ``bits``, ``min``, ``max``, ``dtype``."""

    def __init__(self, type):
        name = dtype_name(type)
        if name not in DTYPES or name in FLOAT_DTYPES or name == "bool":
            raise TypeError(f"iinfo: {name} is not an integer dtype (use finfo for floats)")
        info = np.iinfo(name)
        self.bits, self.min, self.max, self.dtype = int(info.bits), int(info.min), \
            int(info.max), name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def get_default_dtype():
    """The name of the floating dtype that new floating tensors and parameters get."""
    return _default_dtype["name"]


def set_default_dtype(dtype):
    """Set the default floating dtype ("float32" or "float64", or a dtype object)."""
    name = dtype if isinstance(dtype, str) else dtype_name(dtype)
    if name not in ("float16", "bfloat16", "float32", "float64"):
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype!r}")
    _default_dtype["name"] = name


# -- dtypes and devices as PyTorch names them ---------------------------------------------------
class DType(str):
    """A dtype by name (``xpnn.float32``): equal to that dtype of every backend
    (``tensor.dtype == xpnn.float32`` holds on NumPy, torch and CuPy; on array-api-strict,
    whose dtypes compare only among themselves, write ``xpnn.float32 == tensor.dtype``)."""

    __slots__ = ()

    def __eq__(self, other):
        if other is None:
            return False
        return str.__eq__(self, other if isinstance(other, str) else dtype_name(other))

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__

    def __repr__(self):
        return f"xpnn.{str(self)}"

    @property
    def is_floating_point(self):
        return str(self) in FLOAT_DTYPES

    @property
    def itemsize(self):
        return 2 if str(self) == "bfloat16" else np.dtype(str(self)).itemsize


class device:
    """A device as PyTorch names it: ``device("cpu")``, ``device("cuda")``,
    ``device("cuda", 1)``, ``device("cuda:1")``. Where it lands depends on the backend: on
    the NumPy/CuPy pair "cpu" is NumPy and "cuda" CuPy; on torch they are torch's devices."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        text = str(type)
        if ":" in text:
            text, _, idx = text.partition(":")
            index = int(idx)
        self.type, self.index = text, index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type={self.type!r}" + ("" if self.index is None else
                                                 f", index={self.index}") + ")"

    def __eq__(self, other):
        return str(self) == str(device(other)) if isinstance(other, (str, device)) else \
            NotImplemented

    def __hash__(self):
        return hash(str(self))


def _is_dtype(obj):
    if isinstance(obj, str):
        return obj in DTYPES
    if isinstance(obj, (np.dtype, type)) and not isinstance(obj, device):
        try:
            return dtype_name(obj) in DTYPES
        except TypeError:
            return False
    mod = type(obj).__module__
    return (mod.startswith("torch") and type(obj).__name__ == "dtype") or \
        (mod.startswith("array_api_strict") and type(obj).__name__ == "DType")


def resolve_device(be, spec):
    """The Backend that ``spec`` names, seen from ``be``: a backend name, "cpu",
    "cuda[:i]" (or an int i), a torch/CuPy/array-api-strict device, an ``xpnn.device``."""
    if isinstance(spec, Backend):
        return spec
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
    raise BackendError(f"unknown device {spec!r}; use 'cpu', 'cuda', 'cuda:<i>' or a backend "
                       f"name {NAMES}")


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
        arr = arr.detach().cpu()
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


def dtype_name(dtype):
    """'float32' for float32 of any backend (np.float32, torch.float32, strict's float32)."""
    if isinstance(dtype, str):
        return dtype
    if dtype is float or dtype is int or dtype is bool:  # Python's types, as PyTorch reads
        return {float: "float64", int: "int64", bool: "bool"}[dtype]  # them (not ==: NumPy's
        # dtypes compare equal to them)
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        return np.dtype(dtype).name
    return str(dtype).split(".")[-1].replace("dtype(", "").strip("')\"<>")


# -- generator state (checkpoints) ------------------------------------------------------------
def _curand_states(g):
    """The device array holding a CuPy Generator's cuRAND states (its bit generator's
    ``_state``: CuPy has no public state API), or None where a CuPy version lacks it."""
    st = getattr(getattr(g, "bit_generator", None), "_state", None)
    return st if st is not None and hasattr(st, "get") else None


def _generator_state_of(be, g):
    """The state of a native generator ``g`` of ``be`` as host data: a dict (NumPy,
    array-api-strict) or a NumPy array (torch: its byte state; CuPy: the bytes of its cuRAND
    states; see _generator_state for a CuPy without them)."""
    if be.name == "torch":
        return g.get_state().numpy().copy()  # a uint8 CPU tensor on every device
    if be.name == "cupy":
        states = _curand_states(g)
        if states is not None:
            return states.get()
        raise BackendError("backend 'cupy': this CuPy's generator has no state to save")
    return g.bit_generator.state


def _set_generator_state_of(be, g, state):
    if be.name == "torch":
        g.set_state(be.lib.from_numpy(np.ascontiguousarray(state, dtype=np.uint8)))
    elif be.name == "cupy":
        states, state = _curand_states(g), np.asarray(state)
        if states is None or states.shape != state.shape or states.dtype != state.dtype:
            raise BackendError(f"backend 'cupy': a generator state of {state.size} bytes "
                               "does not fit this CuPy's generator")
        with be.device:
            states[...] = be.lib.asarray(state)
    else:
        g.bit_generator.state = state


def _generator_state(be):
    """The state of ``be.rng`` as host data (see :func:`_generator_state_of`)."""
    if be.name == "cupy" and _curand_states(be.rng) is None:
        # no state to read: draw a key and restart the generator from it, so the run that
        # saved and the run that resumes continue from the same point (not the point an
        # uninterrupted run would reach)
        with be.device:
            key = int(be.rng.integers(0, 2 ** 63 - 1, size=1)[0])
            be._rng = be.lib.random.default_rng(key)
        return np.asarray([key], dtype=np.int64)
    return _generator_state_of(be, be.rng)


def _set_generator_state(be, state):
    if be.name == "cupy" and np.asarray(state).size == 1:  # a key (see _generator_state)
        with be.device:
            be._rng = be.lib.random.default_rng(int(np.asarray(state).reshape(-1)[0]))
        return
    _set_generator_state_of(be, be.rng, state)


def _rng_key(be):
    return f"{be.name}:{device_key(be)}"


def get_rng_state():
    """Every random state xpnn uses, as host data (for checkpoints).

    Returns:
        dict with ``"seed"`` (the last ``manual_seed``), ``"host"`` (the parameter-init
        generator's ``bit_generator.state``) and ``"backends"``: {``"name:device"``: state}
        for each backend whose runtime generator exists (a dict for NumPy and
        array-api-strict, the bytes of the generator as a NumPy array for torch and CuPy).
    """
    backends = {}
    for be in {id(b): b for b in _cache.values()}.values():
        if be._rng is not None and be._rng_epoch == _seed["epoch"]:
            backends[_rng_key(be)] = _generator_state(be)
    return {"seed": _seed["value"], "host": host_rng().bit_generator.state,
            "backends": backends}


def set_rng_state(state):
    """Restore what :func:`get_rng_state` returned.

    Backends named in ``state`` get their generator state back; every other backend restarts
    its stream from the seed, as it would in a process that never drew from it. A backend
    or device missing on this machine (a CUDA state restored on a CPU-only host) is skipped:
    nothing here can draw from it.
    """
    manual_seed(state["seed"])  # new epoch: every runtime generator restarts from the seed
    host_rng().bit_generator.state = state["host"]
    for key, value in state["backends"].items():
        name, _, device = key.partition(":")
        try:
            be = get_backend(name, int(device) if name == "cupy" else device)
        except BackendError:
            continue
        _set_generator_state(be, value)

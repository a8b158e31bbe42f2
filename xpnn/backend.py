"""Backends: resolve a name, namespace or array to (xp, device), and own every native import.

This is the one module that imports NumPy, CuPy, PyTorch and array-api-strict. Everything
else gets its array namespace ``xp`` from a :class:`Backend`, which it finds on a Tensor.
"""
from __future__ import annotations

import importlib
import threading

import numpy as np

NAMES = ("numpy", "cupy", "torch", "array_api_strict")
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool")

_state = threading.local()
_cache: dict = {}
_seed = {"value": 0, "epoch": 0}


class BackendError(RuntimeError):
    """A backend is not installed, or has no such device."""


class Backend:
    """One array library on one device: its namespace, device, generator and fast paths.

    Args:
        name: one of ``NAMES``.
        xp: the Array API namespace.
        device: the device object of that library (``"cpu"`` for NumPy).
    """

    def __init__(self, name, xp, device):
        self.name, self.xp, self.device = name, xp, device
        self.fast = _native_fast_paths(name)
        self._rng = None
        self._rng_epoch = -1

    def __repr__(self):
        return f"Backend({self.name!r}, device={self.device!r})"

    # -- dtypes ---------------------------------------------------------------------
    def dtype(self, dtype):
        """The namespace's dtype for a name (``"float32"``), or the dtype itself."""
        if dtype is None or not isinstance(dtype, str):
            return dtype
        if dtype not in DTYPES or not hasattr(self.xp, dtype):
            raise TypeError(f"dtype {dtype!r} is not supported by backend {self.name!r}")
        return getattr(self.xp, dtype)

    # -- host transfer --------------------------------------------------------------
    def asarray(self, data, dtype=None):
        """Copy host data (NumPy array, list, scalar) or an array of any backend here."""
        if self.name != "numpy" and _name_of_array(data) == self.name and \
                backend_of(data) is self:
            # already here: copy on the device, no host round trip (bfloat16 has no NumPy twin)
            return self.xp.asarray(data, dtype=self.dtype(dtype), device=self.device,
                                   copy=True)
        if not isinstance(data, (np.ndarray, np.generic, list, tuple, int, float, bool)):
            data = to_numpy(data)
        if self.name == "torch":
            # torch's asarray wants a torch dtype; NumPy data of any dtype converts cleanly.
            # Cast after the copy: torch.asarray(0-d float64 ndarray, dtype=float32,
            # copy=True) raises "can't alias tensor with dtype 'Double' into dtype 'Float'"
            arr = self.xp.asarray(np.asarray(data), device=self.device, copy=True)
            dt = self.dtype(dtype)
            return arr if dt is None or arr.dtype == dt else self.xp.astype(arr, dt)
        # copy=True: NumPy (and torch, above) would otherwise share the caller's host buffer,
        # and optimizers update parameters in place
        return self.xp.asarray(data, dtype=self.dtype(dtype), device=self.device, copy=True)

    def to_numpy(self, arr):
        return to_numpy(arr)

    # -- runtime randomness (dropout masks, shuffling) --------------------------------
    @property
    def rng(self):
        """This backend's own seeded generator; re-seeded by ``xpnn.manual_seed``."""
        if self._rng is None or self._rng_epoch != _seed["epoch"]:
            self._rng = _make_rng(self, _seed["value"])
            self._rng_epoch = _seed["epoch"]
        return self._rng

    def uniform(self, shape, dtype):
        """Uniform [0, 1) samples drawn on the device from the backend's generator."""
        dtype = self.dtype(dtype)
        if self.name == "torch":
            import torch
            return torch.rand(shape, generator=self.rng, dtype=dtype, device=self.device)
        if self.name == "cupy":
            return self.rng.random(shape, dtype=dtype)
        # NumPy and array-api-strict: a host generator (array-api-strict has no random module)
        host = self.rng.random(shape, dtype=np.float64 if str(dtype).endswith("float64")
                               else np.float32)
        return host if self.name == "numpy" else self.asarray(host)

    def permutation(self, n):
        """A random permutation of range(n) as an int64 array on this backend."""
        if self.name == "torch":
            import torch
            return torch.randperm(n, generator=self.rng, device=self.device)
        if self.name == "cupy":
            return self.rng.permutation(n)
        host = self.rng.permutation(n)
        return host if self.name == "numpy" else self.asarray(host)


def _make_rng(be, seed):
    # Each backend gets its own stream, derived from the global seed and the backend name.
    sub = int(np.random.SeedSequence([seed, NAMES.index(be.name)]).generate_state(1)[0])
    if be.name == "torch":
        import torch
        g = torch.Generator(device=be.device)
        g.manual_seed(sub)
        return g
    if be.name == "cupy":
        import cupy
        with cupy.cuda.Device(be.device.id):
            return cupy.random.default_rng(sub)
    return np.random.default_rng(sub)


def manual_seed(seed):
    """Seed the host generator (parameter init) and every backend's runtime generator."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _seed["value"] = int(seed)
    _seed["epoch"] += 1
    _state.host = np.random.default_rng(int(seed))


def host_rng():
    """The seeded NumPy Generator that parameter initialisation draws from."""
    rng = getattr(_state, "host", None)
    if rng is None:
        rng = _state.host = np.random.default_rng(_seed["value"])
    return rng


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


def _namespace(name):
    if name == "numpy":
        return np  # NumPy >= 2 implements the standard in its main namespace
    if name == "torch":
        _import("torch")
        import array_api_compat.torch as xp
        return xp
    if name == "cupy":
        _import("cupy")
        import array_api_compat.cupy as xp
        return xp
    return _import("array_api_strict")


def _device(name, device):
    """Normalise a user device spec to the library's device object."""
    if name == "numpy":
        if device not in (None, "cpu"):
            raise BackendError(f"backend 'numpy' has only device 'cpu', got {device!r}")
        return "cpu"
    if name == "array_api_strict":
        import array_api_strict as xp
        default = xp.asarray(0).device
        if device in (None, "cpu") or device == default:
            return default
        devs = {str(d): d for d in xp.__array_namespace_info__().devices()}
        if str(device) in devs:
            return devs[str(device)]
        raise BackendError(f"backend 'array_api_strict' has no device {device!r}; "
                           f"it has {sorted(devs)}")
    if name == "torch":
        import torch
        dev = torch.device("cpu" if device is None else device)
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise BackendError(f"backend 'torch': device {device!r} asked for, but CUDA is "
                                   "not available")
            dev = torch.device("cuda", dev.index if dev.index is not None else 0)
        return dev
    import cupy
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # the CUDA driver itself is missing
        raise BackendError(f"backend 'cupy' has no CUDA device: {e}") from None
    idx = 0 if device in (None, "cuda", "gpu") else device
    if isinstance(idx, str):
        idx = int(idx.split(":")[-1])
    idx = getattr(idx, "id", idx)
    if not 0 <= idx < count:
        raise BackendError(f"backend 'cupy' has {count} device(s); device {device!r} asked for")
    return cupy.cuda.Device(idx)


def get_backend(backend=None, device=None):
    """Resolve a name (or None for the default), a namespace or an array to a Backend."""
    if backend is None:
        backend = getattr(_state, "default", "numpy")
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
        _cache[key] = _cache[full] = be
    return be


def set_default_backend(backend, device=None):
    """Set the backend that new tensors and parameters use when none is named."""
    be = get_backend(backend, device)
    _state.default = be.name
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
    mod = type(arr).__module__
    if isinstance(arr, (np.ndarray, np.generic)):
        return "numpy"
    if mod.startswith("torch"):
        return "torch"
    if mod.startswith("cupy"):
        return "cupy"
    if mod.startswith("array_api_strict"):
        return "array_api_strict"
    return None


def is_array(obj):
    return _name_of_array(obj) is not None


def backend_of(arr):
    """The Backend that owns a backend array (NumPy, CuPy, torch, array-api-strict)."""
    name = _name_of_array(arr)
    if name is None:
        raise TypeError(f"expected an array of one of {NAMES}, got {type(arr).__name__}")
    if name == "numpy":
        return get_backend("numpy")
    dev = arr.device
    be = _cache.get((name, str(dev)))
    return be if be is not None else get_backend(name, dev)


def to_numpy(arr):
    """A NumPy copy (or view, for NumPy input) of an array of any backend, on the host."""
    if isinstance(arr, np.ndarray):
        return arr
    name = _name_of_array(arr)
    if name == "torch":
        return arr.detach().cpu().numpy()
    if name == "cupy":
        return arr.get()
    if name == "array_api_strict":
        import array_api_strict as xp
        cpu = xp.asarray(0).device
        if arr.device != cpu:
            arr = xp.asarray(arr, device=cpu, copy=True)
        return np.from_dlpack(arr)
    return np.asarray(arr)


# -- native fast paths --------------------------------------------------------------------
def _np_index_add(dst, axis, index, src):
    np.add.at(dst, (slice(None),) * axis + (index,), src)
    return dst


def _torch_index_add(dst, axis, index, src):
    return dst.index_add_(axis, index, src)


def _cupy_index_add(dst, axis, index, src):
    import cupyx
    cupyx.scatter_add(dst, (slice(None),) * axis + (index,), src)
    return dst


def _strided_im2col(lib):
    """im2col for NumPy or CuPy: one strided view of the windows, then one copy.

    (C, Hp, Wp, N) -> (C, kh*kw, Ho, Wo, N); the portable twin is
    ``xpnn.functional.conv.im2col_portable`` (a stack of kh*kw slices).
    """
    as_strided = lib.lib.stride_tricks.as_strided
    extra = {"writeable": False} if lib is np else {}

    def im2col(Xc, kernel, stride, dilation, out_hw):
        (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_hw
        C, _, _, N = Xc.shape
        s0, s1, s2, s3 = Xc.strides
        view = as_strided(Xc, shape=(C, kh, kw, Ho, Wo, N),
                          strides=(s0, dh * s1, dw * s2, sh * s1, sw * s2, s3), **extra)
        return view.reshape(C, kh * kw, Ho, Wo, N)  # the reshape is the one copy
    return im2col


def _inplace_col2im(lib):
    """col2im for NumPy or CuPy: ``add(window, tap, out=window)`` on views of one buffer,
    which skips the copy-back that ``out[key] += tap`` (setitem) makes."""
    def col2im(cols, padded_hw, kernel, stride, dilation):
        C, _, Ho, Wo, N = cols.shape
        (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
        if lib is np:
            out = np.zeros((C,) + tuple(padded_hw) + (N,), dtype=cols.dtype)
        else:
            with cols.device:  # CuPy allocates on the current device: make it cols' own
                out = lib.zeros((C,) + tuple(padded_hw) + (N,), dtype=cols.dtype)
        for i in range(kh):
            for j in range(kw):
                view = out[:, i * dh:i * dh + sh * (Ho - 1) + 1:sh,
                           j * dw:j * dw + sw * (Wo - 1) + 1:sw, :]
                lib.add(view, cols[:, i * kw + j], out=view)
        return out
    return col2im


def _np_max_pool_backward(Xc, Yc, dYc, taps, disjoint, covered):
    """Max-pool backward for NumPy: each tap's 0/1 first-maximum mask times dY, written
    straight into its window of dX with ``out=`` (no mask casts, no temporaries); the
    portable twin is ``xpnn.functional.pool.MaxPool.backward``.

    Xc (C, Hp, Wp, N) padded input, Yc / dYc (C, Ho, Wo, N); taps: (row slice, col slice)
    per kernel tap in window order; disjoint: no element is in two windows; covered: the
    windows tile Xc exactly (then dX needs no zero fill).
    """
    dX = np.empty(Xc.shape, dYc.dtype) if covered and disjoint else \
        np.zeros(Xc.shape, dYc.dtype)
    taken = None
    last = len(taps) - 1
    for t, (hs, ws) in enumerate(taps):
        if t == last and taken is not None:
            hit = np.logical_not(taken, out=taken)  # the maximum is one of the taps
        else:
            hit = np.equal(Xc[:, hs, ws, :], Yc)
            if taken is None:
                taken = hit.copy() if last else hit
            else:
                np.logical_and(hit, np.logical_not(taken), out=hit)  # not an earlier tap
                np.logical_or(taken, hit, out=taken)
        view = dX[:, hs, ws, :]
        if disjoint:
            np.multiply(hit, dYc, out=view)
        else:
            view += hit * dYc
    return dX


class _TorchConv:
    """PyTorch's own convolution kernels (oneDNN on CPU, cuDNN on CUDA) as a native path.

    Geometry comes as 2-tuples from ``xpnn.functional.conv``; padding is symmetric except for
    padding="same" with an even kernel, which is padded explicitly first.
    """

    @staticmethod
    def _pad(X, pads):
        (pt, pb), (pl, pr) = pads
        if pt == pb and pl == pr:
            return X, [pt, pl], None
        import torch.nn.functional as tf
        return tf.pad(X, (pl, pr, pt, pb)), [0, 0], (pt, pl)

    @staticmethod
    def forward(X, W, b, *, kernel, stride, pads, dilation, groups, output_padding,
                transposed):
        import torch
        X, padding, _ = _TorchConv._pad(X, pads)
        return torch.ops.aten.convolution(X, W, b, list(stride), padding, list(dilation),
                                          transposed, list(output_padding), groups)

    @staticmethod
    def backward(dY, X, W, mask, *, kernel, stride, pads, dilation, groups, output_padding,
                 transposed):
        import torch
        H, Wd = X.shape[2:]
        X, padding, crop = _TorchConv._pad(X, pads)
        dX, dW, db = torch.ops.aten.convolution_backward(
            dY, X, W, [dY.shape[1]] if mask[2] else None, list(stride), padding,
            list(dilation), transposed, list(output_padding), groups, list(mask))
        if crop is not None and dX is not None:
            dX = dX[:, :, crop[0]:crop[0] + H, crop[1]:crop[1] + Wd]
        return (dX if mask[0] else None, dW if mask[1] else None, db if mask[2] else None)


def _native_fast_paths(name):
    """Optional native kernels, by op name; callers fall back to portable code when absent.

    ``index_add(dst, axis, index, src)``: dst[..., index[i], ...] += src[..., i, ...] in place.
    ``erf(x)``: the error function.
    ``im2col(Xc, kernel, stride, dilation, out_hw)`` and ``col2im(cols, padded_hw, kernel,
    stride, dilation)``: the window copies of a convolution in (C, H, W, N) order.
    ``conv2d``: an object with ``forward`` and ``backward`` running the whole convolution.
    ``max_pool_backward(Xc, Yc, dYc, taps, disjoint, covered)``: dX of max pooling.
    Tests check each against the portable code (tests/test_conv.py).
    """
    if name == "numpy":
        fast = {"index_add": _np_index_add, "im2col": _strided_im2col(np),
                "col2im": _inplace_col2im(np), "max_pool_backward": _np_max_pool_backward}
        try:
            from scipy.special import erf
            fast["erf"] = erf
        except ImportError:
            pass
        return fast
    if name == "torch":
        import torch
        return {"index_add": _torch_index_add, "erf": torch.special.erf, "conv2d": _TorchConv}
    if name == "cupy":
        import cupy
        from cupyx.scipy.special import erf
        return {"index_add": _cupy_index_add, "erf": erf, "im2col": _strided_im2col(cupy),
                "col2im": _inplace_col2im(cupy)}
    return {}


def dtype_name(dtype):
    """'float32' for float32 of any backend (np.float32, torch.float32, strict's float32)."""
    return str(dtype).split(".")[-1].replace("dtype(", "").strip("')\"")


# -- generator state (checkpoints) ------------------------------------------------------------
def _generator_state(be):
    """The state of ``be.rng`` as host data: a dict (NumPy) or a NumPy uint8 array."""
    g = be.rng
    if be.name == "torch":
        return g.get_state().numpy().copy()  # a uint8 CPU tensor on every device
    if be.name == "cupy":
        raw = getattr(g.bit_generator, "_state", None)  # the cuRAND per-thread states
        if raw is None:
            raise BackendError("backend 'cupy': this CuPy version does not expose its "
                               "generator state; it cannot be checkpointed")
        return raw.get().view(np.uint8).copy()
    return g.bit_generator.state


def _set_generator_state(be, state):
    g = be.rng
    if be.name == "torch":
        import torch
        g.set_state(torch.from_numpy(np.ascontiguousarray(state, dtype=np.uint8)))
    elif be.name == "cupy":
        raw = g.bit_generator._state
        host = np.ascontiguousarray(state, dtype=np.uint8)
        if host.size != raw.size * raw.itemsize:
            raise BackendError(f"backend 'cupy': generator state of {host.size} bytes for a "
                               f"generator of {raw.size * raw.itemsize} (another GPU model?)")
        import cupy
        raw[...] = cupy.asarray(host.view(raw.dtype))
    else:
        g.bit_generator.state = state


def _rng_key(be):
    # cupy.cuda.Device prints as "<CUDA Device 0>"; its id is what get_backend takes back
    return f"{be.name}:{be.device.id if be.name == 'cupy' else be.device}"


def get_rng_state():
    """Every random state xpnn uses, as host data (for checkpoints).

    Returns:
        dict with ``"seed"`` (the last ``manual_seed``), ``"host"`` (the parameter-init
        generator's ``bit_generator.state``) and ``"backends"``: {``"name:device"``: state}
        for each backend whose runtime generator exists (a dict for NumPy and
        array-api-strict, a NumPy uint8 array for torch and CuPy).
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

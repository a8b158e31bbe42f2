"""Making tensors: ``tensor``, ``as_tensor``, ``zeros``, ``randn``, ... with PyTorch's
signatures, on the default backend unless ``backend=``/``device=`` say otherwise.

Floating results get the default dtype (``xpnn.get_default_dtype()``, float32). The random
ones (creation_random.py: they draw from the backend's generator, seeded by
``xpnn.manual_seed``, or from a :class:`Generator` passed as ``generator=``) are re-exported
here.
"""
from __future__ import annotations

import math

import numpy as np  # host data only: Python lists and NumPy input are read on the host

from . import backend as B
from ._memory_format import dense_only as _dense
from .autograd import TensorBase
from ._errors import ArgumentError, DtypeError, IntOverflowError, ShapeError
from .tensor import Tensor
from .tensor_convert import _LEGACY
from .creation_args import (_backend, _checked, _fit_int, _float, _like, _like_backend,
                            _made, _scalars, _size, _sizes)
from .creation_random import (Generator, manual_seed, normal, rand, rand_like,  # noqa: F401
                              randint, randint_like, randn, randn_like, randperm)
from .creation_ranges import arange, linspace, logspace, tril_indices, triu_indices  # noqa: F401


class _TextDataError(DtypeError, ValueError):
    """tensor() of strings: PyTorch's ValueError, still the DtypeError xpnn raised."""


def _host_dtype(data):
    """The dtype ``tensor(data)`` gets: floats the default float dtype (no silent float64),
    complex numbers its complex dtype, ints int64, bools bool."""
    host = np.asarray(data)
    if host.dtype.kind == "f":
        return B.get_default_dtype() if not isinstance(data, np.ndarray) or \
            host.dtype == np.float64 else host.dtype.name
    if host.dtype.kind in "iu":
        return "int64" if not isinstance(data, np.ndarray) else host.dtype.name
    if host.dtype.kind == "b":
        return "bool"
    if host.dtype.kind == "c":  # complex: the default float's complex (no silent complex128)
        return "complex64" if host.dtype == np.complex64 or \
            B.get_default_dtype() != "float64" else "complex128"
    if host.dtype == object and host.size and all(isinstance(v, int) for v in host.flat):
        raise IntOverflowError("tensor: Overflow when unpacking long long: an int beyond "
                               "the int64 range")
    if host.dtype.kind in "US":  # torch: ValueError ("too many dimensions 'str'")
        raise _TextDataError(f"tensor: strings are not numbers, got {type(data).__name__} "
                             f"data that NumPy reads as {host.dtype}")
    raise DtypeError(f"tensor: could not infer a dtype from {type(data).__name__} data "
                     f"(NumPy reads it as {host.dtype}): give numbers, bools or nested lists "
                     "of them")


def _check_nested(op, data, dim=0, shape=None):
    """Raise PyTorch's error where nested lists are ragged: each level must have the length
    of the first entry's (``expected sequence of length 2 at dim 1 (got 3)``); a number
    where a list was expected, or a list where a number was, is a TypeError."""
    if shape is None:
        shape, first = [], data
        while isinstance(first, (list, tuple)):
            shape.append(len(first))
            first = first[0] if len(first) else None
    if dim == len(shape):
        if isinstance(data, (list, tuple)):
            raise TypeError(f"{op}: must be real number, not {type(data).__name__}: "
                            f"expected a number at dim {dim}, got a sequence of length "
                            f"{len(data)}")
        return
    if not isinstance(data, (list, tuple)):
        raise TypeError(f"{op}: not a sequence: expected a sequence of length {shape[dim]} "
                        f"at dim {dim}, got {type(data).__name__}")
    if len(data) != shape[dim]:
        raise ValueError(f"{op}: expected sequence of length {shape[dim]} at dim {dim} (got "
                         f"{len(data)})")
    for item in data:
        _check_nested(op, item, dim + 1, shape)


def _empty_nested(data, dtype, be):
    """PyTorch's reading of nested lists whose first entries, followed down, end in an empty
    list: the shape they give holds no element, so the rest is not read (``[[], [1]]`` is
    an empty (2, 0) tensor); its dtype is the default float's (complex where a complex
    number is in the lists). None where that shape holds an element."""
    shape, first = [], data
    while isinstance(first, (list, tuple)):
        shape.append(len(first))
        first = first[0] if len(first) else None
    if math.prod(shape):
        return None
    if dtype is None:
        dtype = B.get_default_dtype()
        if any(isinstance(v, complex) for v in _leaves(data)):
            dtype = "complex128" if dtype == "float64" else "complex64"
    return be.xp.zeros(tuple(shape), dtype=be.dtype(B.dtype_name(dtype)), device=be.device)


def _leaves(data):
    for v in data:
        if isinstance(v, (list, tuple)):
            yield from _leaves(v)
        else:
            yield v


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False, *,
           backend=None):
    """A Tensor holding a copy of ``data``, as ``torch.tensor``.

    Args:
        data: a Python number or (nested) list, a NumPy array, an array of any backend, or a
            Tensor.
        dtype: a dtype (``xpnn.float32``, ``"int64"``, any backend's); None: floating data
            gets the default float dtype (float64 arrays too, unlike PyTorch: no silent
            float64), other arrays keep their dtype, Python ints become int64.
        device: "cpu", "cuda", "cuda:1", a backend name or a backend's device object.
        requires_grad: record operations on it for backward().
        backend: "numpy", "cupy", "torch", "array_api_strict" (default: the array's own
            backend for a torch/CuPy/array-api-strict array, else the default backend;
            NumPy arrays are host data, like lists).
    """
    if isinstance(data, TensorBase):
        data = data.array
    elif isinstance(data, (list, tuple)) and any(isinstance(v, (TensorBase, list, tuple))
                                                  for v in data):
        data = _scalars(data)
    if B.is_array(data) and backend is None and not isinstance(data, (np.ndarray, np.generic)):
        src = B.backend_of(data)  # a backend array stays where it is (NumPy is host data)
        be = src if device is None else B.resolve_device(src, device)
    else:
        be = _backend(backend, device)
    try:
        if dtype is None:
            dtype = B.dtype_name(data.dtype) if B.is_array(data) and not isinstance(
                data, (np.ndarray, np.generic)) else _host_dtype(data)
            if dtype == "float64":  # no silent float64: ask for it with dtype=
                dtype = B.get_default_dtype()
        elif B.dtype_name(dtype).startswith(("int", "uint")) and not (
                B.is_array(data) and not isinstance(data, (np.ndarray, np.generic))):
            data = _checked(data, B.dtype_name(dtype))
        arr = be.asarray(data, dtype=B.dtype_name(dtype))
    except ValueError:
        if not isinstance(data, (list, tuple)):
            raise
        arr = _empty_nested(data, dtype, be)
        if arr is None:
            _check_nested("tensor", data)  # raises PyTorch's error for ragged lists
            raise
    except OverflowError:  # an int beyond int64 (torch: ValueError)
        raise IntOverflowError("tensor: Overflow when unpacking long long: an int beyond "
                               "the int64 range") from None
    if requires_grad and not be.is_inexact(arr.dtype):
        raise RuntimeError(f"tensor: only floating tensors can require grad, got "
                           f"{B.dtype_name(arr.dtype)}")
    return _made(arr, be, requires_grad)


def as_tensor(data, dtype=None, device=None, *, backend=None):
    """``data`` as a Tensor without copying where it already is a backend array of the wanted
    dtype and device (``torch.as_tensor``); otherwise as :func:`tensor`."""
    if isinstance(data, TensorBase):
        if dtype is None and device is None and backend is None:
            return data
        return data.to(backend=backend, device=device, dtype=dtype)
    if B.is_array(data) and backend in (None, B.backend_of(data).name) and device is None and \
            (dtype is None or B.dtype_name(dtype) == B.dtype_name(data.dtype)):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device, backend=backend)


def from_numpy(ndarray):
    """A CPU Tensor sharing ``ndarray``'s memory (``torch.from_numpy``): on NumPy, or on the
    default backend's CPU where that is torch or array-api-strict (so that it meets the
    model's tensors there, as torch.from_numpy's tensor meets a CPU model)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    name = B.default_backend().name
    if name not in ("torch", "array_api_strict"):
        return Tensor(ndarray, _be=B.get_backend("numpy"))  # NumPy, CuPy's host, meta
    be = B.get_backend(name, "cpu" if name == "torch" else None)
    lib = be.lib
    arr = lib.from_numpy(ndarray) if name == "torch" else lib.asarray(ndarray, copy=False)
    return Tensor(arr, _be=be)


def from_dlpack(ext_tensor, *, backend=None, device=None):
    """Wrap any DLPack producer (NumPy, torch, CuPy, ... or an xpnn Tensor) without copying.

    The backend is the one whose arrays live where the producer's memory does: a CPU
    producer lands on NumPy (``backend="torch"`` or ``"array_api_strict"`` choose another
    CPU namespace), a CUDA producer on CuPy (or torch).
    """
    if isinstance(ext_tensor, TensorBase):
        ext_tensor = ext_tensor.array
    if type(ext_tensor).__name__ == "PyCapsule":  # what to_dlpack returns
        ext_tensor = _Capsule(ext_tensor)
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: {type(ext_tensor).__name__} is not a DLPack producer "
                        "(it has no __dlpack__)")
    kind, index = ext_tensor.__dlpack_device__()
    kind = int(kind)
    if kind not in _HOST_KINDS + _CUDA_KINDS:
        raise B.BackendError(f"from_dlpack: the data lives on DLPack device type {kind} "
                             f"(device {index}); xpnn reads host memory (types {_HOST_KINDS}) "
                             f"and CUDA memory (types {_CUDA_KINDS}) only")
    cuda = kind in _CUDA_KINDS
    if backend is None:
        backend = "cupy" if cuda else "numpy"
    if cuda and backend not in ("cupy", "torch"):
        raise B.BackendError(f"from_dlpack: the data lives on CUDA device {index}; backend "
                             f"{backend!r} cannot hold it without a copy (use 'cupy' or "
                             "'torch')")
    be = B.get_backend(backend, (f"cuda:{index}" if backend == "torch" else index) if cuda
                       else device)
    if not cuda and not be.on_host:
        raise B.BackendError(f"from_dlpack: the data lives in host memory; backend "
                             f"{be.name}:{be.device} is not on the host")
    arr = be.xp.from_dlpack(ext_tensor)
    return Tensor(arr, _be=B.backend_of(arr))


_HOST_KINDS = (1, 3)   # kDLCPU, kDLCUDAHost (pinned host memory)
_CUDA_KINDS = (2, 13)  # kDLCUDA, kDLCUDAManaged


class _Capsule:
    """A bare DLPack capsule (as ``to_dlpack`` returns) given the producer protocol: its
    device is read from the DLManagedTensor it points to (``DLTensor.device``, right after
    the data pointer)."""

    def __init__(self, capsule):
        import ctypes
        get = ctypes.pythonapi.PyCapsule_GetPointer
        get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        ptr = get(capsule, b"dltensor")
        device = (ctypes.c_int32 * 2).from_address(ptr + ctypes.sizeof(ctypes.c_void_p))
        self._capsule, self._device = capsule, (int(device[0]), int(device[1]))

    def __dlpack__(self, *args, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return self._device


def _fill(size, value, dtype, backend, device, requires_grad):
    be = _backend(backend, device)
    size = _size(size)
    if dtype is not None and value is not None and not isinstance(value, complex) and \
            B.dtype_name(dtype).startswith(("int", "uint")):
        fitted = _fit_int("full", value, B.dtype_name(dtype))  # PyTorch's range check
        value = value if fitted is None else fitted.item()
    if dtype is None:
        dt = be.dtype("bool") if isinstance(value, bool) else be.dtype("int64") if \
            isinstance(value, int) else _float(be, None) if not isinstance(value, complex) \
            else be.dtype(_host_dtype(value))
    else:
        dt = be.dtype(B.dtype_name(dtype))
    arr = be.xp.empty(size, dtype=dt, device=be.device) if value is None else \
        be.xp.full(size, value, dtype=dt, device=be.device)
    return _made(arr, be, requires_grad)


def _out(op, out, size, value, dtype, requires_grad):
    """PyTorch's ``out=`` of zeros/ones/empty: ``out`` reshaped to ``size`` (as
    ``Tensor.resize_``: the same number of elements), filled with ``value`` (None: left as
    it is) in its own dtype, and returned."""
    if not isinstance(out, TensorBase):
        raise TypeError(f"{op}: out must be a Tensor, got {type(out).__name__}")
    if requires_grad or out.requires_grad:
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if dtype is not None and B.dtype_name(dtype) != B.dtype_name(out.dtype):
        raise DtypeError(f"{op}: dtype {B.dtype_name(dtype)} does not match the dtype of out "
                         f"({B.dtype_name(out.dtype)})")
    size = _size(size)
    if tuple(out.shape) != size:
        if math.prod(size) != math.prod(out.shape):  # (PyTorch would reallocate, and warn)
            raise ShapeError(f"{op}: out has shape {tuple(out.shape)}, and xpnn resizes it "
                             f"only to a size of as many elements, got {size}")
        out.resize_(size)
    if value is not None:
        out.fill_(value)
    return out


def zeros(*args, size=None, dtype=None, device=None, layout=None, pin_memory=False,
          requires_grad=False, backend=None, out=None):
    _dense("zeros", layout)
    size = _sizes("zeros", args, size)
    if out is not None:
        return _out("zeros", out, size, 0, dtype, requires_grad)
    return _fill(size, 0.0 if dtype is None else 0, dtype, backend, device, requires_grad)


def ones(*args, size=None, dtype=None, device=None, layout=None, pin_memory=False,
         requires_grad=False, backend=None, out=None):
    _dense("ones", layout)
    size = _sizes("ones", args, size)
    if out is not None:
        return _out("ones", out, size, 1, dtype, requires_grad)
    return _fill(size, 1.0 if dtype is None else 1, dtype, backend, device, requires_grad)


def empty(*args, size=None, dtype=None, device=None, layout=None, pin_memory=False,
          requires_grad=False, backend=None, out=None, memory_format=None):
    _dense("empty", layout)  # memory_format: PyTorch's; xpnn's arrays have no strides
    size = _sizes("empty", args, size)
    if out is not None:
        return _out("empty", out, size, None, dtype, requires_grad)
    be = _backend(backend, device)
    dt = _float(be, None) if dtype is None else be.dtype(B.dtype_name(dtype))
    return _made(be.xp.empty(_size(size), dtype=dt, device=be.device), be, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, layout=None, pin_memory=False,
         requires_grad=False, backend=None):
    _dense("full", layout)
    if isinstance(fill_value, TensorBase):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (int, float, complex, bool, np.number, np.bool_)):
        raise TypeError(f"full: fill_value must be a number, got "
                        f"{type(fill_value).__name__}")
    return _fill((size,) if isinstance(size, (tuple, list)) else (size,), fill_value, dtype,
                 backend, device, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, layout=None, pin_memory=False, requires_grad=False,
        backend=None):
    _dense("eye", layout)
    for name, v in (("n", n), ("m", m)):
        if v is not None and not isinstance(v, bool) and isinstance(v, int) and v < 0:
            raise ArgumentError(f"eye: {name} must be greater or equal to 0, got {v}")
    be = _backend(backend, device)
    dt = _float(be, None) if dtype is None else be.dtype(B.dtype_name(dtype))
    return _made(be.xp.eye(n, n if m is None else m, dtype=dt, device=be.device), be,
                 requires_grad)


zeros_like, ones_like, empty_like = (_like(f) for f in (zeros, ones, empty))


def full_like(input, fill_value, *, dtype=None, device=None, layout=None, pin_memory=False,
              requires_grad=False, backend=None, memory_format=None):
    _dense("full_like", layout)
    be = _like_backend(input, backend, device)
    return full(input.shape, fill_value, dtype=input.dtype if dtype is None else dtype,
                backend=be.name, device=be.device, requires_grad=requires_grad)


class _LegacyType(type):
    """PyTorch's legacy typed tensor classes (``torch.FloatTensor``, ``torch.cuda.LongTensor``
    ...): calling one makes a tensor of its dtype (``FloatTensor(data)`` copies data,
    ``FloatTensor(*sizes)`` is uninitialised), ``isinstance(x, torch.FloatTensor)`` holds for
    a float32 tensor off the GPU (``torch.cuda.FloatTensor``: on it), and ``x.type(cls)``
    and ``set_default_tensor_type(cls)`` take them."""

    def __call__(cls, *args, device=None):
        if device is None and cls.is_cuda:
            device = "cuda"
        if len(args) == 1 and not isinstance(args[0], int):
            return tensor(args[0], dtype=cls.legacy_dtype, device=device)
        return empty(*args, dtype=cls.legacy_dtype, device=device)

    def __instancecheck__(cls, obj):
        return isinstance(obj, TensorBase) and obj.is_cuda == cls.is_cuda and \
            B.dtype_name(obj.dtype) == cls.legacy_dtype

    def __repr__(cls):
        return f"<class 'torch.{'cuda.' if cls.is_cuda else ''}{cls.__name__}'>"


def legacy_types(is_cuda):
    """{name: class} of the legacy typed tensor classes, host (torch.X) or CUDA
    (torch.cuda.X)."""
    return {name: _LegacyType(name, (), {"legacy_dtype": dtype, "is_cuda": is_cuda,
                                         "__module__": "xpnn.cuda" if is_cuda else "xpnn"})
            for name, dtype in _LEGACY.items()}  # tensor_convert's table of the names


_HOST_TYPES = legacy_types(False)
FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor, ShortTensor, \
    CharTensor, ByteTensor, BoolTensor = _HOST_TYPES.values()


def numel(input):
    return math.prod(input.shape)

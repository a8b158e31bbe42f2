"""Dtypes and devices as PyTorch names them: ``xpnn.float32`` (a :class:`DType`),
``xpnn.device("cuda", 1)``, ``finfo``/``iinfo``, the default floating dtype, and
:func:`dtype_name`, which reads the dtype of any backend as one name. Nothing here imports an
array library other than NumPy (for the limits): backend.py builds on it.
"""
from __future__ import annotations

import numpy as np

from ._errors import ArgumentError

NAMES = ("numpy", "cupy", "torch", "array_api_strict")
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128")
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
COMPLEX_DTYPES = ("complex64", "complex128")  # xpnn/functional/complex.py: the complex API

_default_dtype = {"name": "float32"}


def dtype_name(dtype):
    """'float32' for float32 of any backend (np.float32, torch.float32, strict's float32)."""
    if isinstance(dtype, str):
        return dtype
    if dtype is float or dtype is int or dtype is bool or dtype is complex:  # Python's types,
        # as PyTorch reads them (not ==: NumPy's dtypes compare equal to them)
        return {float: "float64", int: "int64", bool: "bool", complex: "complex128"}[dtype]
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        return np.dtype(dtype).name
    return str(dtype).split(".")[-1].replace("dtype(", "").strip("')\"<>")


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
        name = {"complex64": "float32", "complex128": "float64"}.get(name, name)  # as torch
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
        if name not in DTYPES or name in FLOAT_DTYPES + COMPLEX_DTYPES or name == "bool":
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
    def is_complex(self):
        return str(self) in COMPLEX_DTYPES

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
            if not idx.isdigit():  # torch: RuntimeError "Invalid device string"
                raise ArgumentError(f"device: invalid device string {str(type)!r} (the index "
                                    "after ':' must be a non-negative int)")
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


_dtype_kinds: dict = {}  # (dtype, kind) -> xp.isdtype's answer (NumPy's takes ~1 us a call)


def dtype_is(xp, dtype, kind):
    """``xp.isdtype(dtype, kind)``, cached per dtype and kind: the ops and their backwards
    ask it at every step (is this floating, complex, integral?)."""
    key = (type(dtype), dtype, kind)  # the type first: strict's dtypes warn when compared
    got = _dtype_kinds.get(key)  # with NumPy's, as a hash collision would make the dict do
    if got is None:
        got = _dtype_kinds[key] = bool(xp.isdtype(dtype, kind))
    return got


def is_complex_dtype(xp, dtype):
    """Whether ``dtype`` (of namespace ``xp``) is complex floating (cached, :func:`dtype_is`):
    the backwards of mul, div and matmul ask it of real arrays at every step."""
    return dtype_is(xp, dtype, "complex floating")


def kernel_floats(*arrays):
    """Whether ``arrays`` share one dtype, float32 or float64: the types that the CUDA code
    of :meth:`Backend.kernel` is written for (float16 and integers take the portable code)."""
    dt = str(arrays[0].dtype)
    return dt in ("float32", "float64") and all(str(a.dtype) == dt for a in arrays[1:])

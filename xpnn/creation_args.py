"""The arguments every tensor-making function reads alike (backend/device, the default float
dtype, a size given as ints or one tuple) and the Tensor it returns; the ``*_like`` forms.
creation.py and creation_random.py build on it.
"""
from __future__ import annotations

import math

import numpy as np

from . import backend as B
from ._errors import IntOverflowError, ShapeError
from .autograd import TensorBase
from .tensor import Tensor


def _backend(backend, device):
    if backend is None and device is not None:
        return B.resolve_device(B.default_backend(), device)
    return B.get_backend(backend, device)


def _float(be, dtype):
    dt = be.dtype(dtype if dtype is not None else B.get_default_dtype())
    return dt


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    # a 0-d integer tensor is an int (PyTorch reads it through __index__)
    size = tuple(int(s.item()) if isinstance(s, TensorBase) and s.ndim == 0 and
                 s.dtype != s.xp.bool and not s._be.is_inexact(s.dtype) else s for s in size)
    for s in size:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):  # torch: TypeError
            raise TypeError(f"expected a size of non-negative ints, got {size!r}")
        if s < 0:
            raise ShapeError(f"expected a size of non-negative ints, got {size!r}")
    return tuple(int(s) for s in size)


def _sizes(op, args, size):
    """The size of zeros/ones/empty: ints, one tuple, or ``size=`` (PyTorch's keyword);
    nothing at all is PyTorch's TypeError."""
    if size is not None:
        if args:
            raise TypeError(f"{op}: size given both as arguments {args!r} and as size={size!r}")
        return size if isinstance(size, (tuple, list)) else (size,)
    if not args:
        raise TypeError(f"{op}() missing 1 required positional argument: 'size'")
    return args


class CastOverflowError(IntOverflowError, RuntimeError):
    """A number that does not fit the integer dtype asked for (torch: RuntimeError "value
    cannot be converted to type ... without overflow")."""


def _fit_int(op, data, name):
    """Host ``data`` (numbers or nested lists) as a NumPy array of the integer dtype
    ``name``, with PyTorch's checks: floats truncate toward zero and must be finite and in
    range; ints must be in range, where an unsigned type also takes ints down to -max
    (wrapping, as PyTorch's uint8 does)."""
    host = np.asarray(data)
    if host.dtype.kind not in "iuf" or not host.size:
        return None
    info = np.iinfo(name)
    if host.dtype.kind == "f":
        if not np.isfinite(host).all():
            bad = host[~np.isfinite(host)].flat[0]
        else:
            t = np.trunc(host)
            bad = None if ((t >= info.min) & (t <= info.max)).all() else host[
                (t < info.min) | (t > info.max)].flat[0]
    else:
        lo = -int(info.max) if info.min == 0 else int(info.min)
        out = (host < lo) | (host > info.max)
        bad = host[out].flat[0] if out.any() else None
    if bad is not None:
        raise CastOverflowError(f"{op}: value {bad} cannot be converted to type {name} "
                                "without overflow")
    if host.dtype.kind == "f":
        return np.trunc(host).astype(name)
    return host.astype(np.int64).astype(name) if info.min == 0 else host.astype(name)


def _checked(data, name):
    """Host data for an integer dtype, range-checked as PyTorch (creation_args._fit_int)."""
    try:
        fitted = _fit_int("tensor", data, name)
    except CastOverflowError:
        raise
    except (ValueError, TypeError):  # ragged or non-numeric: the conversion below says so
        return data
    return data if fitted is None else fitted


def _scalars(data):
    """Nested lists with each one-element Tensor in them read as its number, as PyTorch
    reads them (``tensor([t1, t2])`` of 1-element tensors is 1-D); a larger Tensor raises
    PyTorch's ValueError (torch.stack joins them)."""
    if isinstance(data, TensorBase):
        if math.prod(data.shape) != 1:
            raise ValueError(f"tensor: only one element tensors can be converted to Python "
                             f"scalars, got a tensor of shape {tuple(data.shape)} in the list "
                             "(use torch.stack to join tensors)")
        return data.item()
    if isinstance(data, (list, tuple)):
        return [_scalars(v) for v in data]
    return data


def _made(arr, be, requires_grad):
    t = Tensor(arr, _be=be)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _like_backend(input, backend, device):
    """Where a ``*_like`` result goes: ``input``'s backend and device unless asked otherwise
    (a device alone keeps ``input``'s backend family)."""
    if backend is None and device is None:
        return input._be
    return _backend(backend or input.backend, device)


def _like(fn):
    # memory_format: accepted as PyTorch's; xpnn's arrays have no strides to preserve
    def make(input, *, dtype=None, device=None, requires_grad=False, backend=None,
             memory_format=None, **kwargs):
        if not isinstance(input, TensorBase):
            raise TypeError(f"{fn.__name__}_like: input must be a Tensor, not "
                            f"{type(input).__name__}")
        be = _like_backend(input, backend, device)
        return fn(tuple(input.shape), dtype=input.dtype if dtype is None else dtype,
                  backend=be.name, device=be.device, requires_grad=requires_grad, **kwargs)
    make.__name__ = fn.__name__ + "_like"
    make.__doc__ = f"{fn.__name__} with ``input``'s shape, dtype, backend and device."
    return make

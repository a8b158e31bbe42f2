"""The arguments every tensor-making function reads alike (backend/device, the default float
dtype, a size given as ints or one tuple) and the Tensor it returns; the ``*_like`` forms.
creation.py and creation_random.py build on it.
"""
from __future__ import annotations

import numpy as np

from . import backend as B
from ._errors import ShapeError
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
    for s in size:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):  # torch: TypeError
            raise TypeError(f"expected a size of non-negative ints, got {size!r}")
        if s < 0:
            raise ShapeError(f"expected a size of non-negative ints, got {size!r}")
    return tuple(int(s) for s in size)


def _made(arr, be, requires_grad):
    t = Tensor(arr, _be=be)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _like(fn):
    def make(input, *, dtype=None, device=None, requires_grad=False, backend=None, **kwargs):
        if not isinstance(input, TensorBase):
            raise TypeError(f"{fn.__name__}_like: input must be a Tensor, not "
                            f"{type(input).__name__}")
        be = input._be if backend is None and device is None else _backend(
            backend or input.backend, device)
        return fn(*input.shape, dtype=input.dtype if dtype is None else dtype,
                  backend=be.name, device=be.device, requires_grad=requires_grad, **kwargs)
    make.__name__ = fn.__name__ + "_like"
    make.__doc__ = f"{fn.__name__} with ``input``'s shape, dtype, backend and device."
    return make

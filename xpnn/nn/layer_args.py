"""The arguments of a layer's constructor and call: where its parameters go
(:func:`placement`, and :func:`rebuild_on` for ``xpnn.load``), integer checks quoting the value
(:func:`check_int`), inputs as Tensors (:func:`as_input`)."""
from __future__ import annotations

import contextlib
import threading

from .. import backend as B
from .._errors import ArgumentError, NotIntError
from ..tensor import Tensor


_rebuild = threading.local()


@contextlib.contextmanager
def rebuild_on(be):
    """Within the block, :func:`placement` puts every new layer's parameters on Backend
    ``be`` whatever its ``backend=``/``device=`` arguments say: ``xpnn.load`` rebuilds a
    saved module where its weights are about to go (a CUDA model loads on a CPU-only host,
    with no copy through another device)."""
    prev = getattr(_rebuild, "be", None)
    _rebuild.be = be
    try:
        yield be
    finally:
        _rebuild.be = prev


def placement(backend=None, device=None, dtype=None):
    """(Backend, floating dtype) for a layer's ``backend=``/``device=``/``dtype=`` arguments:
    the default backend and dtype unless given; ``device`` alone ("cuda") is read as in
    ``Module.to``. Inside :func:`rebuild_on` the backend is the one given there."""
    forced = getattr(_rebuild, "be", None)
    if forced is not None:
        be = forced
    elif backend is not None or device is None:
        be = B.get_backend(backend, device)
    else:
        be = B.resolve_device(B.default_backend(), device)
    return be, be.dtype(B.dtype_name(dtype) if dtype is not None else B.get_default_dtype())


def as_input(x, like=None):
    """A layer's input as a Tensor: Tensors pass, backend arrays are wrapped (as
    ``Module.__call__`` does), other data is refused naming the layer."""
    if isinstance(x, Tensor) or x is None:
        return x
    if B.is_array(x):
        return Tensor(x)
    raise TypeError(f"expected a Tensor or a backend array, got {type(x).__name__}")


def check_int(layer, arg, value, minimum=1):
    """Raise at construction, quoting the value, unless ``value`` is an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int):  # torch: TypeError
        raise NotIntError(f"{layer}: {arg} must be an int >= {minimum}, got {value!r}")
    if value < minimum:  # torch: RuntimeError
        raise ArgumentError(f"{layer}: {arg} must be an int >= {minimum}, got {value!r}")
    return value


def _check_name(owner, kind, name, exists):
    """PyTorch's checks on a parameter/buffer/submodule name."""
    if not isinstance(name, str):
        raise TypeError(f"{owner}: {kind} name should be a string, got {type(name).__name__}")
    if "." in name:
        raise KeyError(f"{owner}: {kind} name can't contain \".\", got {name!r}")
    if name == "":
        raise KeyError(f"{owner}: {kind} name can't be empty string \"\"")
    if exists:
        raise KeyError(f"{owner}: attribute {name!r} already exists")

"""PyTorch's "meta" device: tensors with a shape and a dtype but no data.

A meta tensor's array is a NumPy array of the :class:`MetaArray` subclass. Made by
``Module.to("meta")``, a layer built on "meta", a random draw or ``nn.init`` it is a
zero-stride view of one zero, so a meta model costs no memory for its parameters.
Every op runs on it unchanged with NumPy (shapes and dtypes propagate through the existing
code for free, at the cost of computing on zeros); the Tensor's Backend (:data:`META`,
``name == "meta"``, ``is_meta``) is what marks the result as meta, as ``Function.apply``
gives its outputs the inputs' Backend. The views are writeable: an in-place op, an
optimizer step or batch norm's running statistics write into the one shared element, which
stands for nothing, so every in-place path of the existing code works unchanged.

What PyTorch refuses, this refuses with its exception classes: reading values (``item``,
``tolist``, ``numpy``, ``bool``/``float``/``int``) and copying out (``to("cpu")``);
``Module.to_empty`` allocates on a real device without copying.

``backend.get_backend``/``resolve_device`` find :data:`META` in ``backend._cache`` under
``("meta", "meta")``, where this module puts it (backend.py cannot import this module: it
is built on it).
"""
from __future__ import annotations

import types

import numpy as np

from . import _printing
from . import backend as B
from .dtypes import device

COPY_OUT = "Cannot copy out of meta tensor; no data!"
ITEM = "Tensor.item() cannot be called on meta tensors"
TO_NUMPY = ("can't convert meta device type tensor to numpy. Use Tensor.cpu() to copy the "
            "tensor to host memory first.")


class MetaArray(np.ndarray):
    """A NumPy array standing for data that does not exist. It only tags the array (for
    ``backend_of``): the ops' own host reads of it (a 0-d condition, a NumPy scalar) see
    zeros; what a user reads goes through the Tensor, which refuses (tensor_convert.py)."""


def meta_empty(shape, dtype):
    """A meta array of ``shape`` and NumPy ``dtype``: a zero-stride view of one zero (no
    memory for the values; writes land in that one element)."""
    shape = tuple(shape)
    return np.lib.stride_tricks.as_strided(np.zeros((), dtype=dtype), shape, (0,) * len(shape),
                                           writeable=True).view(MetaArray)


def _wrap(fn):
    """A NumPy creation function whose result is tagged as meta (the ops allocate their
    outputs and scratch this way: writable arrays, so the ops' in-place fills work)."""
    def made(*args, **kwargs):
        kwargs.pop("device", None)
        out = fn(*args, **kwargs)
        return out.view(MetaArray) if isinstance(out, np.ndarray) else out
    made.__name__ = fn.__name__
    return made


class _Namespace:
    """NumPy's Array API namespace, whose creation functions return :class:`MetaArray` and
    take ``device="meta"``; everything else is NumPy's own."""

    __name__ = "xpnn.meta"

    def __init__(self):
        for name in ("asarray", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
                     "empty_like", "full_like", "eye", "arange", "linspace"):
            setattr(self, name, _wrap(getattr(np, name)))

    def __getattr__(self, name):
        return getattr(np, name)


class MetaBackend(B.Backend):
    """The "meta" device: NumPy's namespace (``device`` "cpu" for its functions), no data.

    Draws return meta arrays without touching a generator (torch: a meta draw consumes no
    random numbers); ``asarray`` takes only the shape and dtype of what it is given."""

    is_meta = True
    on_host = False  # no values to read back: the host-only eager checks skip meta tensors

    def __init__(self):
        super().__init__("numpy", _Namespace(), "cpu")
        self.name = "meta"
        self.public_device = device("meta")

    def __repr__(self):
        return "Backend('meta')"

    def __reduce__(self):
        return meta_backend, ()

    def quiet(self):
        return np.errstate(all="ignore")  # log(0), 0/0 on the zeros stand for nothing

    def asarray(self, data, dtype=None):
        dt = self.dtype(dtype)
        if not hasattr(data, "shape") or not hasattr(data, "dtype"):
            data = np.asarray(data)
        if dt is None:
            dt = self.dtype(B.dtype_name(data.dtype))
        return meta_empty(tuple(data.shape), dt)

    def to_numpy(self, arr):
        raise NotImplementedError(COPY_OUT)

    def generator(self, generator=None):
        return None

    def uniform(self, shape, dtype, generator=None):
        return meta_empty(shape, self.dtype(dtype))

    normal = uniform

    def integers(self, low, high, shape, generator=None):
        return meta_empty(shape, np.int64)

    def permutation(self, n, generator=None):
        return meta_empty((n,), np.int64)


META = MetaBackend()
MetaArray._be = META  # backend_of(a MetaArray) reads it, as it reads a Tensor's
B._cache[("meta", "meta")] = META


def meta_backend():
    return META


def meta_spec(t):
    """What a pickled meta tensor keeps: its shape and dtype (``MetaBackend.asarray`` reads
    them back)."""
    return types.SimpleNamespace(shape=tuple(t.shape), dtype=t.array.dtype)


def meta_repr(t):
    """A meta tensor as PyTorch prints one: ``tensor(..., device='meta', size=(2, 3))``."""
    more = [f"size={tuple(t.shape)}"]
    name = B.dtype_name(t.dtype)
    if name not in (B.dtype_name(B.get_default_dtype()),):
        more.append(f"dtype=xpnn.{name}")
    if t._node is not None:
        more.append(f"grad_fn=<{_printing.grad_fn_name(t._node, t.ndim)}>")
    elif t._rg:
        more.append("requires_grad=True")
    return "tensor(..., device='meta', " + ", ".join(more) + ")"

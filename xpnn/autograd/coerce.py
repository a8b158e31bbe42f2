"""Coercion used by the ops: :func:`as_tensor`, :func:`unwrap`, :func:`raw`, and PyTorch's
old :class:`Variable`."""
from __future__ import annotations

from .. import backend as B
from .tensor_base import TensorBase


def as_tensor(x, like=None, op="op"):
    """A Tensor for a Tensor, or (with ``like``) a backend array, Python or NumPy scalar.

    Python scalars take ``like``'s dtype (PyTorch: a number does not promote a tensor); a
    float meeting an integer or bool tensor becomes the default float dtype, an int meeting
    a bool tensor int64. Arrays must live on ``like``'s backend and device (one rule: mixing
    raises).
    """
    if isinstance(x, TensorBase):
        return x
    if like is None:
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}; make one with "
                        "xpnn.tensor(...)")
    be = like._be
    if isinstance(x, B.np.generic) or (isinstance(x, B.np.ndarray) and x.ndim == 0):
        # a NumPy scalar (np.float64(2.0), np.asarray(2.0), a reduction's result) acts like
        # the Python number it holds, as in PyTorch: it must not upcast a float32 tensor
        x = x.item()
    if isinstance(x, complex):  # a complex number: like's complex dtype, else the default's
        dtype = like.dtype if be.is_complex(like.dtype) else be.xp.complex128 \
            if B.get_default_dtype() == "float64" else be.xp.complex64
        return like._result(be.xp.asarray(x, dtype=dtype, device=be.device), be)
    if isinstance(x, (bool, int, float)):
        if isinstance(x, bool):
            dtype = be.xp.bool
        elif isinstance(x, float) and not be.is_inexact(like.dtype):
            dtype = be.dtype(B.get_default_dtype())
        elif like.dtype == be.xp.bool:  # an int: True + 1 is 2 (PyTorch), not True
            dtype = be.xp.int64
        else:
            dtype = like.dtype
        return like._result(be.xp.asarray(x, dtype=dtype, device=be.device), be)
    if B.is_array(x):
        xb = B.backend_of(x)
        if xb is not be:
            raise TypeError(f"{op}: an array on {xb.name}:{xb.device} met a tensor on "
                            f"{be.name}:{be.device}; move it with .to(...) first")
        return like._result(x, be)
    if isinstance(x, (list, tuple)):  # as xpnn.tensor(x): floats in the default float dtype
        host = B.np.asarray(x)
        dtype = B.get_default_dtype() if host.dtype.kind == "f" else \
            "int64" if host.dtype.kind in "iu" else None
        return like._result(be.asarray(host, dtype=dtype), be)
    raise TypeError(f"{op}: expected a Tensor, an array or a number, got {type(x).__name__}")


def unwrap(x):
    """The backend array of a Tensor; anything else as it is."""
    return x.array if isinstance(x, TensorBase) else x


def raw(x, like, op, name):
    """The backend array of a secondary argument (a weight, a mask, an index), on ``like``'s
    backend: Tensors and arrays of that backend pass, host data (lists, NumPy scalars) is
    converted, an array of another backend or device raises TypeError naming ``op`` and
    ``name``."""
    if x is None:
        return None
    be = like._be
    if isinstance(x, TensorBase):
        x = x.array  # a 0-d Tensor keeps its dtype (pos_weight=torch.tensor(4.0))
    elif isinstance(x, B.np.generic) or (isinstance(x, B.np.ndarray) and x.ndim == 0):
        x = x.item()  # a NumPy scalar is a number
    if B.is_array(x):
        xb = B.backend_of(x)
        if xb is not be:
            raise TypeError(f"{op}: {name} lives on {xb.name}:{xb.device} but the input on "
                            f"{be.name}:{be.device}; move it with .to(...) first")
        return x
    if isinstance(x, (list, tuple, bool, int, float, B.np.generic)):
        return be.asarray(x)
    raise TypeError(f"{op}: {name} must be a Tensor or an array, got {type(x).__name__}")


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, TensorBase)


class Variable(metaclass=_VariableMeta):
    """PyTorch's pre-0.4 wrapper, kept for old programs: ``Variable(t, requires_grad=True)``
    is ``t.detach().requires_grad_(True)`` (the same data, a new leaf), and every tensor is
    an instance of Variable."""

    def __new__(cls, data, requires_grad=False, volatile=False):
        if not isinstance(data, TensorBase):
            raise TypeError(f"Variable: data has to be a tensor, but got "
                            f"{type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)

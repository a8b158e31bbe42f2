"""PyTorch's number arguments given as 0-d tensors.

PyTorch's argument parser reads a 0-d tensor where a signature takes a Python number (a
``Scalar``, a ``float``) and a 0-d integer tensor where it takes an ``int``: ``celu(x,
torch.tensor(1.5))``, ``hann_window(torch.tensor(8))``, ``topk(x, torch.tensor(2))``. These
helpers give the caller's own check the Python number instead. Reading the value is a host
read, as it is in PyTorch; they are for an op's parameters, never its data. A tensor with
dims where a number is due is PyTorch's TypeError (:func:`number_only`).
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import TensorBase


def _zero_d(value):
    return isinstance(value, TensorBase) and len(value.shape) == 0


def number_arg(value):
    """``value`` as a Python number where it is a 0-d real tensor (a bool tensor reads as its
    bool, as PyTorch's Scalar does); anything else unchanged, for the caller to check."""
    if _zero_d(value) and not B.dtype_name(value.dtype).startswith("complex"):
        return value.item()
    return value


def int_arg(value):
    """``value`` as a Python int where it is a 0-d integer tensor (PyTorch refuses floating
    and bool tensors for an ``int``); anything else unchanged, for the caller to check."""
    if _zero_d(value) and B.dtype_name(value.dtype).startswith(("int", "uint")):
        return int(value.item())
    return value


def int_list_arg(value):
    """An ``int[]`` argument: a 0-d integer tensor reads as one int, a 1-d integer tensor
    as a tuple of ints (PyTorch's parser); anything else unchanged."""
    if isinstance(value, TensorBase) and len(value.shape) == 1 and \
            B.dtype_name(value.dtype).startswith(("int", "uint")):
        return tuple(int(v) for v in value.tolist())
    return int_arg(value)


def number_only(op, name, value):
    """``value`` unchanged, unless it is a tensor with dims (or a complex one) where PyTorch's
    signature takes a number (``float``/``Scalar``): then PyTorch's TypeError, naming the
    argument, instead of the error of converting it later."""
    if getattr(value, "shape", None) is not None and not isinstance(value, (int, float)):
        if len(value.shape) != 0 or B.dtype_name(value.dtype).startswith("complex"):
            raise TypeError(f"{op}: {name} must be a number, not a tensor of shape "
                            f"{tuple(value.shape)} and dtype {B.dtype_name(value.dtype)}")
    return value


def float_arg(op, name, value):
    """A number argument as a Python float (a 0-d real tensor reads as its value, as
    PyTorch's parser does); see :func:`number_only`."""
    return float(number_only(op, name, value))

"""What optimizers share below the Optimizer class: hyperparameter and flag checks (with
PyTorch's messages), weight decay, and the slot Tensors of the state (moments shaped like
the parameter; 0-d counts such as ``step`` in the scalar dtype, kept on the host beside
device parameters).
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError
from ..tensor import Tensor


def check_hyper(owner, name, value, low=0.0, high=None, high_open=True):
    """Raise, quoting the value, unless ``value`` is a real number in [low, high) (or ]).

    Args:
        owner: the class name used in the message (``"Adam"``).
        name: the hyperparameter's name (``"lr"``, ``"betas[0]"``).
        value: what the user passed.
        low: the smallest allowed value (inclusive).
        high: the bound above, or None for no bound.
        high_open: whether ``high`` itself is excluded.
    Returns:
        float: the value as a Python float (so no NumPy float64 scalar leaks into updates).
    """
    try:
        ok = not isinstance(value, (bool, str))
        v = float(value) if ok else math.nan
    except (TypeError, ValueError, RuntimeError):  # e.g. an array of several values
        ok, v = False, math.nan
    if not ok or not math.isfinite(v) or v < low or high is not None and \
            (v >= high if high_open else v > high):
        span = f"[{low}, {'inf' if high is None else high}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be a number in {span}, got {value!r}")
    return v


def check_flags(owner, foreach=None, capturable=False, differentiable=False, fused=None):
    """Accept torch.optim's implementation switches, so PyTorch calls run unchanged.

    ``foreach``, ``fused`` and ``capturable`` choose among PyTorch's kernels for the same
    update; xpnn has one code path per optimizer, which never reads device values on the
    host (what ``capturable`` asks for), so they change nothing. ``differentiable=True``
    is accepted here, as PyTorch accepts it, and checked by ``Optimizer.step`` (xpnn does
    not record the update). Flags that PyTorch refuses together raise its RuntimeError
    (ArgumentError, also a ValueError), checked in PyTorch's order.
    """
    del capturable  # the same arithmetic either way
    if fused and differentiable:
        raise ArgumentError(f"{owner}: `fused` does not support `differentiable`, got "
                            f"fused={fused!r}, differentiable={differentiable!r}")
    if fused and foreach:
        raise ArgumentError(f"{owner}: fused=True and foreach=True cannot be set together "
                            f"(torch: `fused` and `foreach` cannot be `True` together), got "
                            f"fused={fused!r}, foreach={foreach!r}")


def check_pair(owner, name, value, low=0.0, high=None):
    """Raise unless ``value`` is a pair of numbers in [low, high); returns two floats."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{owner}: {name} must be a pair of numbers, got {value!r}")
    return (check_hyper(owner, f"{name}[0]", value[0], low, high),
            check_hyper(owner, f"{name}[1]", value[1], low, high))


def add_weight_decay(g, p, weight_decay):
    """``g + weight_decay * p`` as one new array (the gradient itself is never modified)."""
    decayed = p.array * weight_decay
    decayed += g
    return decayed


def slot_tensor(p, arr):
    """``arr`` (an array of ``p``'s backend) as an optimizer slot: a plain Tensor."""
    return Tensor(arr, _be=p._be)


def zeros_like_param(p):
    """A zero slot Tensor with ``p``'s shape, dtype and device."""
    return slot_tensor(p, p.xp.zeros(p.array.shape, dtype=p.array.dtype, device=p._be.device))


def full_like_param(p, value):
    """A slot Tensor with ``p``'s shape, dtype and device, every entry ``value``."""
    return slot_tensor(p, p.xp.full(p.array.shape, float(value), dtype=p.array.dtype,
                                    device=p._be.device))


def scalar_dtype():
    """The dtype of 0-d scalar slots such as ``step``: PyTorch's float32, or float64 when
    the default dtype is float64."""
    return "float64" if B.get_default_dtype() == "float64" else "float32"


def _scalar_home(p):
    """Where ``p``'s 0-d count slots live: ``p``'s backend when its arrays are in host
    memory, else NumPy's (PyTorch's CPU ``step`` beside CUDA parameters)."""
    return p._be if p._be.on_host else B.get_backend("numpy")


def _host_scalar(p, value):
    """``value`` as a 0-d Tensor of :func:`scalar_dtype` in ``p``'s count-slot home."""
    be = _scalar_home(p)
    return Tensor(be.xp.asarray(value, dtype=be.dtype(scalar_dtype()), device=be.device),
                  _be=be)


def _host_number(arr):
    """The value of a one-element array as a Python int (if whole) or float: a host read."""
    number = float(B.to_numpy(arr).reshape(()))
    return int(number) if number.is_integer() else number


def _user_slot(p, slot, value):
    """A loaded slot of an optimizer written as in PyTorch (its own ``step`` over
    ``self.state[p]``, which holds Tensors): tensors and arrays become owned Tensor copies on
    ``p``'s backend, floating ones in ``p``'s dtype except ``"step"`` (PyTorch's rule);
    dicts and lists are converted inside; anything else is kept."""
    if isinstance(value, dict):
        return {k: _user_slot(p, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_user_slot(p, slot, v) for v in value)
    arr = value.array if isinstance(value, Tensor) else value
    if not B.is_array(arr):
        return value
    keep = slot == "step" or not B.backend_of(arr).is_floating(arr.dtype)
    return Tensor(p._be.asarray(arr, dtype=B.dtype_name(arr.dtype if keep else p.dtype)))

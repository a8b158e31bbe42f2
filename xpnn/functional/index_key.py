"""Key normalization for indexing.py: :func:`parse_key` turns a ``x[key]`` key into the basic
part and the integer arrays (see indexing.py's doc); the integer-index helpers that ``take``
shares.
"""
from __future__ import annotations

import math
import warnings

from .. import backend as B
from ..autograd import TensorBase
from .._errors import IndexRangeError


class _Key:
    """A parsed key: ``basic`` (ints, slices, None; every axis listed) and ``arrays``: for
    each integer-array index, (axis of the basic result, index array, its size along that
    axis). ``out_dims`` counts the basic result's dims."""

    __slots__ = ("basic", "arrays", "shape")


class _IndexTypeError(IndexError, TypeError):
    """An index of a type that indexes nothing: NumPy's IndexError; torch raises IndexError
    for a float and TypeError for a string."""


def _int_array(be, idx, op, from_tensor=False):
    """An integer index as an array of ``be`` (lists and NumPy host data are converted).

    A bare NumPy array is host data, like a list (PyTorch takes one for a tensor on any
    device); a Tensor's array (``from_tensor``: parse_key unwraps Tensors first) on another
    backend is refused.
    """
    host_data = isinstance(idx, B.np.ndarray) and not from_tensor
    if isinstance(idx, TensorBase):
        idx = idx.array
    if B.is_array(idx) and not (host_data and B.backend_of(idx) is not be):
        ib = B.backend_of(idx)
        if ib is not be:
            raise TypeError(f"{op}: an index array on {ib.name}:{ib.device} for a tensor on "
                            f"{be.name}:{be.device}; move it with .to(...) first")
        return idx
    host = B.np.asarray(idx)
    if isinstance(idx, (list, tuple)) and host.size == 0:  # x[[]]: no rows, as PyTorch
        host = host.astype(B.np.int64)
    if host.dtype == object or host.dtype.kind not in "iub":
        raise IndexError(f"{op}: index {idx!r} is not an integer or boolean sequence")
    if host.dtype.kind == "b":
        return be.asarray(host)
    return be.asarray(host.astype(B.np.int64))


def _index_dtype(be, arr, op):
    """PyTorch's index dtypes: int64, int32, bool, and uint8 read as a mask (deprecated
    there, with its warning); int8, int16 and wider unsigned types refuse."""
    xp = be.xp
    if arr.dtype == xp.uint8:
        warnings.warn(f"{op}: indexing with dtype uint8 is deprecated, please use a dtype "
                      "bool instead (read as a mask, as PyTorch)", UserWarning, stacklevel=4)
        return xp.astype(arr, xp.bool)
    if arr.dtype in (xp.int8, xp.int16, xp.uint16, xp.uint32, xp.uint64):
        raise IndexError(f"{op}: tensors used as indices must be int64, int32, uint8 or "
                         f"bool, got {B.dtype_name(arr.dtype)}")
    return arr


def _is_bool(be, arr):
    return arr.dtype == be.xp.bool


def _wrap_negative(be, idx, n, op, axis):
    """Negative entries count from the end; out-of-range ones raise. The range is checked
    only where the array lives in host memory: on a device the check would cost a sync."""
    if be.on_host:
        if not math.prod(idx.shape):
            return idx
        host = B.to_numpy(idx)
        lo, hi = int(host.min()), int(host.max())
        if lo < -n or hi >= n:
            bad = lo if lo < -n else hi
            raise IndexRangeError(f"{op}: index {bad} is out of bounds for dim {axis} with "
                                  f"size {n}")
        if lo >= 0:
            return idx
    return be.xp.where(idx < 0, idx + n, idx)


def _many_ellipses(be, items, fill, ndim, op):
    """PyTorch's reading of an index with several ``...``: each stands for the dims the
    other entries leave (``fill``), so the later ones run past the last dim, where their
    full slices are dropped; an index that still lands past it raises."""
    out = []
    for k in items:
        out.extend(fill if k is Ellipsis else [k])
    excess = sum(k.ndim if B.is_array(k) and _is_bool(be, k) else 0 if k is None else 1
                 for k in out) - ndim
    while excess > 0 and isinstance(out[-1], slice) and out[-1] == slice(None):
        out.pop()
        excess -= 1
    if excess > 0:
        raise IndexError(f"{op}: too many indices for a tensor of {ndim} dims: each of the "
                         f"{sum(k is Ellipsis for k in items)} ellipses stands for {len(fill)}"
                         " dims")
    return out


def parse_key(be, shape, key, op="getitem"):
    """Normalize ``key`` for an array of ``shape`` on ``be`` (see the module doc)."""
    if isinstance(key, list) and len(key) < 32 and any(
            k is None or k is Ellipsis or isinstance(k, (slice, list, tuple, TensorBase))
            or B.is_array(k) for k in key):
        # PyTorch's (and old NumPy's) rule: such a list is a tuple, with its warning
        warnings.warn(f"{op}: using a non-tuple sequence for multidimensional indexing is "
                      "deprecated (as in PyTorch); use x[tuple(seq)] instead of x[seq]",
                      UserWarning, stacklevel=4)
        key = tuple(key)
    if not isinstance(key, tuple):
        key = (key,)
    items = []
    for k in key:
        from_tensor = isinstance(k, TensorBase)
        if from_tensor:
            k = k.array
        if isinstance(k, B.np.integer):  # before arrays: a NumPy scalar is a number here
            k = int(k)
        elif isinstance(k, bool):  # PyTorch: True a new axis, False a new axis of length 0
            k = be.asarray(B.np.asarray(k))
        elif isinstance(k, (list, tuple, B.np.ndarray)) or B.is_array(k):
            k = _int_array(be, k, op, from_tensor)
            k = _index_dtype(be, k, op)
        elif not (k is None or k is Ellipsis or isinstance(k, (
                int, slice))):
            raise _IndexTypeError(f"{op}: unsupported index {k!r} (use ints, slices, None, "
                                  "Ellipsis, integer or boolean arrays)")
        items.append(k)
    consumed = sum(k.ndim if B.is_array(k) and _is_bool(be, k) else
                   0 if k is None or k is Ellipsis else 1 for k in items)
    if consumed > len(shape):
        raise IndexError(f"{op}: too many indices for a tensor of shape {shape}: {consumed} "
                         "dims indexed")
    dots = [i for i, k in enumerate(items) if k is Ellipsis]
    fill = [slice(None)] * (len(shape) - consumed)
    if len(dots) > 1:
        items = _many_ellipses(be, items, fill, len(shape), op)
    elif dots:
        items[dots[0]:dots[0] + 1] = fill
    else:
        items += fill
    basic, arrays, axis, out_axis = [], [], 0, 0
    for k in items:
        if k is None:
            basic.append(None)
            out_axis += 1
        elif isinstance(k, int):
            n = shape[axis]
            if not -n <= k < n:
                raise IndexError(f"{op}: index {k} is out of bounds for dim {axis} with size "
                                 f"{n}")
            basic.append(k + n if k < 0 else k)
            axis += 1
        elif isinstance(k, slice):
            if k != slice(None):  # bounds past the ends clipped, as Python (the Array API
                start, stop, step = k.indices(shape[axis])  # leaves them unspecified)
                k = slice(start, None if step < 0 and stop < 0 else stop, step)
            basic.append(k)
            axis += 1
            out_axis += 1
        elif _is_bool(be, k) and k.ndim == 0:  # x[True] / x[False]: one host read
            basic.append(None)
            if not bool(B.to_numpy(k)):
                arrays.append((out_axis, be.xp.zeros((0,), dtype=be.xp.int64,
                                                     device=be.device), 1))
            out_axis += 1
        elif _is_bool(be, k):
            if tuple(k.shape) != tuple(shape[axis:axis + k.ndim]):
                raise IndexError(f"{op}: boolean mask of shape {tuple(k.shape)} does not match "
                                 f"the indexed dims {tuple(shape[axis:axis + k.ndim])} of a "
                                 f"tensor of shape {shape}")
            for j, ix in enumerate(be.xp.nonzero(k)):  # data-dependent: one host sync
                basic.append(slice(None))
                arrays.append((out_axis, ix, shape[axis + j]))
                out_axis += 1
            axis += k.ndim
        else:
            if not be.xp.isdtype(k.dtype, "integral"):
                raise IndexError(f"{op}: index arrays must be integer or boolean, got "
                                 f"{B.dtype_name(k.dtype)}")
            n = shape[axis]
            basic.append(slice(None))
            arrays.append((out_axis, _wrap_negative(be, k, n, op, axis), n))
            axis += 1
            out_axis += 1
    parsed = _Key()
    parsed.basic, parsed.arrays, parsed.shape = tuple(basic), arrays, shape
    return parsed


def _is_trivial(basic):
    return all(isinstance(k, slice) and k == slice(None) for k in basic)

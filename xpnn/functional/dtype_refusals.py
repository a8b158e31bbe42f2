"""PyTorch's refusals of dtypes an op has no kernel for, with PyTorch's exception classes.

PyTorch raises NotImplementedError (``"floor_vml_cpu" not implemented for 'Bool'``) where a
kernel lacks a dtype, and RuntimeError where an op checks the dtype itself (``relu`` of
bools, ``cdist`` of integers). NumPy computes most of these (often a silently wrong kind of
result: ``floor`` of bools as bools, ``hypot`` of integers as float64), or fails with its
own TypeError. :func:`refuse_dtypes` raises :class:`DtypeNotImplemented` (a TypeError, a
RuntimeError and a NotImplementedError) or :class:`DtypeError` (a TypeError and a
RuntimeError), naming the op, the argument and the dtype received.
"""
from __future__ import annotations

from .. import backend as B
from .._errors import DtypeError, DtypeNotImplemented

_KINDS = ("bool", "integer", "floating", "complex")


def dtype_kind(dtype):
    """'bool', 'integer', 'floating' or 'complex' for a dtype of any backend."""
    name = B.dtype_name(dtype)
    if name == "bool":
        return "bool"
    if name.startswith("complex"):
        return "complex"
    if name.startswith(("float", "bfloat")):
        return "floating"
    return "integer"


def refuse_dtypes(op, refused, *tensors, names=("input", "other"), runtime=False):
    """Raise where a tensor of ``tensors`` has a dtype kind in ``refused`` (a tuple of
    'bool', 'integer', 'floating', 'complex'): DtypeNotImplemented (PyTorch's
    NotImplementedError), or DtypeError (its RuntimeError) with ``runtime=True``. Numbers
    and None pass."""
    for i, t in enumerate(tensors):
        dt = getattr(t, "dtype", None)
        if dt is None or isinstance(t, (bool, int, float, complex)):
            continue
        kind = dtype_kind(dt)
        if kind in refused:
            name = names[i] if i < len(names) else f"argument {i}"
            cls = DtypeError if runtime else DtypeNotImplemented
            raise cls(f"{op}: not implemented for {kind} tensors ({name} is "
                      f"{B.dtype_name(dt)}), as in PyTorch")


def refuse_promoted(op, refused, input, other):
    """Raise DtypeNotImplemented where both operands of a binary op are of a kind in
    ``refused`` (so their promoted dtype is, PyTorch's test: float32 with int64 passes);
    Python ints and bools count as integer and bool."""
    kinds = []
    for v in (input, other):
        if isinstance(v, bool):
            kinds.append("bool")
        elif isinstance(v, int):
            kinds.append("integer")
        elif isinstance(v, (float, complex)) or getattr(v, "dtype", None) is None:
            return
        else:
            kinds.append(dtype_kind(v.dtype))
    if all(k in refused for k in kinds):
        names = " and ".join(B.dtype_name(v.dtype) if hasattr(v, "dtype") else
                             type(v).__name__ for v in (input, other))
        raise DtypeNotImplemented(f"{op}: not implemented for {names} operands, as in "
                                  "PyTorch")

"""Ranges and index grids, as PyTorch's: ``arange``, ``linspace``, ``logspace``,
``tril_indices``/``triu_indices`` (re-exported by :mod:`.creation`).
"""
from __future__ import annotations

import math

import numpy as np  # host data only: the index grids are made on the host

from . import backend as B
from ._memory_format import dense_only as _dense
from .autograd import TensorBase
from ._errors import ArgumentError, DtypeNotImplemented, ShapeError
from .creation_args import _backend, _float, _made
from .functional.scalar_args import int_arg
from .functional.grid import _fma


def _triangle_indices(op, row, col, offset, lower, dtype, device, backend):
    row, col, offset = (int_arg(v) for v in (row, col, offset))  # 0-d int tensors, as PyTorch
    for name, v in (("row", row), ("col", col), ("offset", offset)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{op}: {name} must be an int, got {v!r}")
    if row < 0 or col < 0:
        raise ArgumentError(f"{op}: row and col must be non-negative, got {row} and {col}")
    be = _backend(backend, device)
    r, c = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    dt = "int64" if dtype is None else B.dtype_name(dtype)
    return _made(be.asarray(np.stack([r, c]).astype(np.int64), dtype=dt), be, False)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None, pin_memory=False,
                 backend=None):
    """The (2, N) coordinates of the lower triangle (on and below diagonal ``offset``) of a
    row x col matrix, row by row, as ``torch.tril_indices`` (int64 unless ``dtype``)."""
    _dense("tril_indices", layout)
    return _triangle_indices("tril_indices", row, col, offset, True, dtype, device, backend)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None, pin_memory=False,
                 backend=None):
    """The (2, N) coordinates of the upper triangle (on and above diagonal ``offset``) of a
    row x col matrix, row by row, as ``torch.triu_indices``."""
    _dense("triu_indices", layout)
    return _triangle_indices("triu_indices", row, col, offset, False, dtype, device, backend)


def arange(start, end=None, step=1, *, dtype=None, device=None, layout=None, pin_memory=False,
           requires_grad=False, backend=None):
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 for integer
    arguments, the default float dtype otherwise (PyTorch's rule)."""
    _dense("arange", layout)
    if end is None:
        start, end = 0, start
    # 0-d tensors as bounds or step, as PyTorch (read on the host: this is not a step op)
    start, end, step = (v.item() if isinstance(v, TensorBase) else v for v in (start, end, step))
    small_int = None
    if dtype is not None and B.dtype_name(dtype) == "bool":
        raise DtypeNotImplemented("arange: not implemented for dtype bool")
    if dtype is not None and B.dtype_name(dtype) == "int64":
        # int64: the bounds and step are truncated to ints first (PyTorch)
        start, end, step = (int(v) if math.isfinite(v) else v for v in (start, end, step))
    elif dtype is not None and B.dtype_name(dtype).startswith(("int", "uint")):
        # narrower ints (PyTorch): the count from the real bounds, the values from the
        # truncated start and step
        small_int = (int(start), int(step))
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise ArgumentError(f"arange: unsupported range: {start} -> {end} by {step} (the "
                            "bounds and step must be finite)")
    if step == 0:
        raise ShapeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ShapeError(f"arange: the bounds [{start}, {end}) are inconsistent with the sign "
                         f"of step {step}")
    be = _backend(backend, device)
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in (start, end, step))
        dt = be.dtype("int64") if integral else _float(be, None)
    else:
        dt = be.dtype(B.dtype_name(dtype))
    if small_int is not None:
        n = max(0, math.ceil((end - start) / step))
        i = be.xp.arange(n, dtype=be.dtype("int64"), device=be.device)
        return _made(be.xp.astype(i * small_int[1] + small_int[0], dt), be, requires_grad)
    if be.is_floating(dt) and B.dtype_name(dt) != "float64":
        # start + i * step in float64, then rounded once (PyTorch's values: -1 + 2 * 0.4 is
        # -0.2, not float32's accumulated -0.20000005)
        wide = be.xp.arange(start, end, step, dtype=be.dtype("float64"), device=be.device)
        return _made(be.xp.astype(wide, dt), be, requires_grad)
    return _made(be.xp.arange(start, end, step, dtype=dt, device=be.device), be,
                 requires_grad)


def _check_steps(op, steps):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"{op}: steps must be an int, got {steps!r}")
    if steps < 0:
        raise ArgumentError(f"{op}: number of steps must be non-negative, got {steps}")


def _linspace_halves(be, dt, start, end, steps):
    """torch.linspace's CPU values: the step (end - start) / (steps - 1) in ``dt``, the first
    half start + step * i and the second end - step * (steps - 1 - i), each a fused
    multiply-add (formed in float64 by grid's _fma, rounded to ``dt`` once), so a symmetric
    range has an exact 0 in the middle only where PyTorch's has."""
    xp, f64 = be.xp, be.dtype("float64")
    a, b = (xp.asarray(float(v), dtype=dt, device=be.device) for v in (start, end))
    step = xp.astype((b - a) / (steps - 1), f64)
    a, b = xp.astype(a, f64), xp.astype(b, f64)
    i = xp.arange(steps, dtype=f64, device=be.device)
    out = xp.where(i < steps // 2, _fma(xp, step, i, a), _fma(xp, -step, steps - 1 - i, b))
    return xp.astype(out, dt)


def linspace(start, end, steps, *, dtype=None, device=None, layout=None, pin_memory=False,
             requires_grad=False, backend=None):
    _dense("linspace", layout)
    start, end = (v.item() if isinstance(v, TensorBase) else v for v in (start, end))
    if isinstance(steps, TensorBase) and steps.ndim == 0:  # PyTorch reads a 0-d int tensor
        steps = steps.item()
    _check_steps("linspace", steps)
    be = _backend(backend, device)
    dt = _float(be, None) if dtype is None else be.dtype(B.dtype_name(dtype))
    if dt == be.xp.bool:
        raise DtypeNotImplemented("linspace: not implemented for dtype bool")
    if B.dtype_name(dt) in ("float32", "float64") and 1 < steps < 2 ** 26:
        return _made(_linspace_halves(be, dt, start, end, steps), be, requires_grad)
    if be.is_inexact(dt):
        return _made(be.xp.linspace(start, end, steps, dtype=dt, device=be.device), be,
                     requires_grad)
    # integers: the points in float64, truncated toward zero (PyTorch)
    pts = be.xp.linspace(start, end, steps, dtype=be.dtype("float64"), device=be.device)
    return _made(be.xp.astype(pts, dt), be, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, layout=None,
             pin_memory=False, requires_grad=False, backend=None):
    """``steps`` values ``base ** e`` for e evenly spaced from ``start`` to ``end``, as
    ``torch.logspace`` (the default float dtype; for an integer dtype, as PyTorch, ``start``
    and ``end`` are truncated to ints, the powers taken in float64 and truncated)."""
    _dense("logspace", layout)
    _check_steps("logspace", steps)
    be = _backend(backend, device)
    dt = _float(be, None) if dtype is None else be.dtype(B.dtype_name(dtype))
    work = dt if be.is_floating(dt) else be.dtype("float64")
    if work != dt:
        start, end = int(start), int(end)
    xp = be.xp
    exponents = xp.linspace(start, end, steps, dtype=work, device=be.device)
    out = xp.pow(xp.asarray(float(base), dtype=work, device=be.device), exponents)
    return _made(out if work == dt else xp.astype(out, dt), be, requires_grad)

"""PyTorch's smaller creation functions: the signal windows (``hann_window``...),
``range``, ``scalar_tensor``, ``asarray``, and ``unravel_index``, which makes index tensors
from flat indices."""
from __future__ import annotations

import math
import warnings

from . import backend as B
from ._memory_format import dense_only as _dense
from ._errors import ArgumentError, DtypeError, IndexRangeError
from .autograd import TensorBase
from .creation import arange, as_tensor, ones, tensor
from .functional.scalar_args import int_arg
from .functional.special_more import i0


def _window_dtype(op, dtype):
    name = B.dtype_name(dtype) if dtype is not None else B.get_default_dtype()
    if name not in ("float16", "bfloat16", "float32", "float64"):
        raise DtypeError(f"{op}: expected a floating point dtype, got {name}")
    return name


def _window(op, window_length, periodic, dtype, device, requires_grad, backend, fn):
    """``fn(n, N)`` over n = 0..N-1 (N one more for a periodic window, whose last entry is
    then dropped), as PyTorch's window functions."""
    window_length = int_arg(window_length)  # a 0-d integer tensor, as in PyTorch
    if isinstance(window_length, bool) or not isinstance(window_length, int) or \
            window_length < 0:
        raise ArgumentError(f"{op}: window_length must be a non-negative int, got "
                         f"{window_length!r}")
    dt = _window_dtype(op, dtype)
    if window_length <= 1:
        w = ones(window_length, dtype=dt, device=device, backend=backend)
    else:
        N = window_length + 1 if periodic else window_length
        n = arange(window_length, dtype="float64" if dt == "float64" else "float32",
                   device=device, backend=backend)
        w = fn(n, N).to(dt)
    return w.requires_grad_(requires_grad)


def _cosines(op, coefs):
    def window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
               requires_grad=False, pin_memory=False, backend=None):
        _dense(op, layout)

        def fn(n, N):
            out = 0
            for k, c in enumerate(coefs):
                term = c * (2 * math.pi * k * n / (N - 1)).cos() if k else c
                out = out + (term if k % 2 == 0 else -term)
            return out
        return _window(op, window_length, periodic, dtype, device, requires_grad, backend, fn)
    window.__name__ = window.__qualname__ = op
    return window


hann_window = _cosines("hann_window", (0.5, 0.5))
hann_window.__doc__ = """The Hann window (periodic by default), as ``torch.hann_window``."""
blackman_window = _cosines("blackman_window", (0.42, 0.5, 0.08))
blackman_window.__doc__ = """The Blackman window, as ``torch.blackman_window``."""


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, requires_grad=False, pin_memory=False,
                   backend=None):
    """The Hamming window ``alpha - beta cos(2 pi n / (N - 1))``, as
    ``torch.hamming_window``."""
    _dense("hamming_window", layout)

    def fn(n, N):
        return alpha - beta * (2 * math.pi * n / (N - 1)).cos()
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   backend, fn)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False, pin_memory=False, backend=None):
    """The Bartlett (triangular) window, as ``torch.bartlett_window``."""
    _dense("bartlett_window", layout)

    def fn(n, N):
        return 1 - (2 * n / (N - 1) - 1).abs()
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   backend, fn)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, requires_grad=False, pin_memory=False, backend=None):
    """The Kaiser window ``I0(beta sqrt(1 - (2n/(N-1) - 1)^2)) / I0(beta)``, as
    ``torch.kaiser_window``."""
    _dense("kaiser_window", layout)

    def fn(n, N):
        r = (1 - (2 * n / (N - 1) - 1) ** 2).clamp(min=0).sqrt()
        return i0(beta * r) / i0(n.new_tensor(float(beta)))
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   backend, fn)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False, backend=None):
    """A 0-d tensor of the number ``s``, in the default float dtype unless ``dtype`` says
    otherwise, as ``torch.scalar_tensor``."""
    _dense("scalar_tensor", layout)
    if isinstance(s, TensorBase):
        if len(s.shape):  # PyTorch takes a number (a 0-d tensor reads as one)
            raise TypeError(f"scalar_tensor: s must be a number, not a tensor of shape "
                            f"{tuple(s.shape)}")
        s = s.item()
    if not isinstance(s, (bool, int, float, complex, B.np.number, B.np.bool_)):
        raise TypeError(f"scalar_tensor: s must be a number, got {type(s).__name__}")
    return tensor(s if dtype is not None else float(s),
                  dtype=dtype if dtype is not None else B.get_default_dtype(), device=device,
                  requires_grad=requires_grad, backend=backend)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False, backend=None):
    """``obj`` as a tensor, as ``torch.asarray``: a Tensor of the asked dtype and device is
    returned itself (``copy=True`` copies it); anything else is converted as by
    ``xpnn.as_tensor`` (``copy=False`` where a conversion needs a copy raises)."""
    if isinstance(obj, TensorBase):
        out = obj
        if dtype is not None or device is not None:
            out = out.to(device=device, dtype=dtype)
        if out is not obj and copy is False:
            raise ValueError("asarray: copy=False, but the dtype or device asked for needs "
                             "a copy")
        if copy and out is obj:
            out = obj.clone()
        if requires_grad and not out.requires_grad:
            out.requires_grad_(True)
        return out
    out = as_tensor(obj, dtype=dtype, device=device, backend=backend)
    if copy and B.is_array(obj) and out.array is obj:
        out = out.clone()
    return out.requires_grad_(requires_grad) if requires_grad else out


def range(start=0, end=None, step=1, *, dtype=None, layout=None, device=None,  # noqa: A001
          pin_memory=False, requires_grad=False, backend=None):
    """``start, start + step, ..., end`` with ``end`` included, in the default float dtype
    (``torch.range``: deprecated in PyTorch, which warns, for ``arange``)."""
    _dense("range", layout)
    warnings.warn("xpnn.range is deprecated (as torch.range) and will be removed; use "
                  "xpnn.arange, which excludes end", UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("range: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"range: upper bound and larger bound inconsistent with step sign "
                         f"(start {start}, end {end}, step {step})")
    n = int(math.floor((end - start) / step)) + 1
    dt = dtype if dtype is not None else B.get_default_dtype()
    idx = arange(n, dtype="float64", device=device, backend=backend)
    return (start + idx * step).to(dt).requires_grad_(requires_grad)


def unravel_index(indices, shape):
    """The coordinates in ``shape`` of flat ``indices`` (an int or integer tensor), as
    ``torch.unravel_index``: a tuple of int64 tensors of indices' shape, one per dim."""
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"unravel_index: 'shape' cannot have negative values, got {shape}")
    if isinstance(indices, TensorBase):
        t = indices
    elif isinstance(indices, bool) or not isinstance(indices, int):
        raise TypeError(f"unravel_index: expected 'indices' to be an integer tensor or int, "
                        f"got {type(indices).__name__}")
    else:
        t = tensor(indices)
    xp, be = t.xp, t._be
    if be.is_floating(t.dtype) or t.dtype == xp.bool:
        raise TypeError(f"unravel_index: expected 'indices' to be an integer tensor, got "
                        f"{B.dtype_name(t.dtype)}")
    total = math.prod(shape)
    I = xp.astype(t.array, xp.int64)
    if be.on_host and math.prod(I.shape):  # checked where it is free (a device would sync)
        host = B.to_numpy(I)
        if (host < -total).any() or (host >= total).any():
            raise IndexRangeError(f"unravel_index: index out of bounds for shape {shape}")
    I = xp.where(I < 0, I + total, I)
    out = []
    for s in reversed(shape):
        out.append(I % s if s else I)
        I = I // s if s else I
    return tuple(t._result(a, be) for a in reversed(out))

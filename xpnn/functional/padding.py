"""Padding: ``pad`` with PyTorch's modes and pad order (last dim first; negative pads crop).

Constant padding is one node that writes the input into a filled array. The other modes
only choose, for each output position along a padded dim, which input position it copies:
reflect mirrors about the edge, replicate repeats it, circular wraps around. So each padded
dim is one gather (:class:`Take`), whose backward adds the copies' gradients up.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, as_tensor
from .._errors import ShapeError, UnsupportedError
from .indexing import Take

MODES = ("constant", "reflect", "replicate", "circular")


class ConstantPad(Function):
    """Y = X placed at ``dst`` in an array of ``shape`` filled with ``value``; ``src`` crops
    X where pads are negative."""

    saved_inputs = ()

    def forward(self, X, shape=None, src=None, dst=None, value=0):
        xp = self.xp
        self.shape, self.src, self.dst = X.shape, src, dst
        Y = xp.full(shape, value, dtype=X.dtype, device=X.device)
        Y[dst] = X[src]
        return Y

    def backward(self, dY):
        dX = self.xp.zeros(self.shape, dtype=dY.dtype, device=dY.device)
        dX[self.src] = dY[self.dst]
        return dX

    def backward_graph(self, dY):
        """The same placement the other way (dY's window into zeros), recorded."""
        return ConstantPad.apply(dY, shape=self.shape, src=self.dst, dst=self.src, value=0)


def source_positions(mode, n, before, after):
    """For each output position along a dim of size ``n`` padded by (before, after), the
    input position it copies (PyTorch's reflect, replicate and circular rules). Circular
    padding crops negative pads first and wraps around what is left, as PyTorch does."""
    if mode == "circular":
        lo, hi = max(-before, 0), max(-after, 0)
        kept = n - lo - hi
        start = max(before, 0)
        return [(o - start) % kept + lo for o in range(kept + start + max(after, 0))]
    out = []
    for j in range(-before, n + after):
        if mode == "reflect":  # mirror about the edge element, which is not repeated
            j = -j if j < 0 else 2 * (n - 1) - j if j >= n else j
        else:  # replicate
            j = min(max(j, 0), n - 1)
        out.append(j)
    return out


def _pairs(pad, ndim):
    """(dim, before, after) for each dim ``pad`` names, the last dim first."""
    return [(ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]


def _constant(x, pairs, value):
    shape, src, dst = list(x.shape), [slice(None)] * x.ndim, [slice(None)] * x.ndim
    for d, lo, hi in pairs:
        n = x.shape[d]
        size = n + lo + hi
        if size < 0:
            raise ShapeError(f"pad: the padding ({lo}, {hi}) of dim {d} (size {n}) gives a "
                             f"negative output size {size}")
        shape[d] = size
        start, stop = max(-lo, 0), n - max(-hi, 0)
        length = max(stop - start, 0)
        src[d] = slice(start, start + length)
        dst[d] = slice(max(lo, 0), max(lo, 0) + length)
    xp = x.xp
    if not x._be.is_floating(x.dtype):
        value = bool(value) if x.dtype == xp.bool else int(value)
    return ConstantPad.apply(x, shape=tuple(shape), src=tuple(src), dst=tuple(dst),
                             value=value)


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative entries, crop) the last ``len(pad) // 2`` dims.

    Args:
        input: a tensor; modes other than "constant" pad 1, 2 or 3 dims of a 2-5-D input
            (a batch dim being optional).
        pad: (left, right) for the last dim, then (top, bottom) for the one before, ...
        mode: "constant" (fill with ``value``, default 0), "reflect" (mirror, the edge not
            repeated; each pad < the dim's size), "replicate" (repeat the edge) or
            "circular" (wrap around; each pad <= the dim's size).
        value: the fill value of "constant" mode.
    Returns:
        the padded tensor, input's dtype; differentiable (copies' gradients add up).
    """
    x = as_tensor(input, op="pad")
    if isinstance(pad, int) or not isinstance(pad, (tuple, list)) or any(
            isinstance(p, bool) or not isinstance(p, (int, B.np.integer)) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ShapeError(f"pad: padding length must be divisible by 2, got {pad}")
    if len(pad) > 2 * x.ndim:
        raise ShapeError(f"pad: padding {pad} names {len(pad) // 2} dims but the input of "
                         f"shape {x.shape} has {x.ndim}")
    if mode not in MODES:
        raise UnsupportedError(f"pad: mode must be one of {MODES}, got {mode!r}")
    pairs = _pairs(pad, x.ndim)
    if mode == "constant":
        return _constant(x, pairs, 0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad: mode {mode!r} does not take a value, got value={value!r}")
    k = len(pad) // 2
    if k not in (1, 2, 3) or x.ndim not in (k + 1, k + 2):
        raise ShapeError(f"pad: mode {mode!r} pads 1-3 dims of an input with one or two more "
                         f"(2-D or 3-D for 1 dim, ...); got padding {pad} for an input of "
                         f"shape {x.shape}")
    for d, lo, hi in pairs:
        n = x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ShapeError(f"pad: reflect padding ({lo}, {hi}) of dim {d} must be less than "
                             f"its size {n} (input shape {x.shape})")
        if mode == "circular" and (lo > n or hi > n):
            raise ShapeError(f"pad: circular padding ({lo}, {hi}) of dim {d} would wrap around "
                             f"more than once (size {n}, input shape {x.shape})")
        if n + lo + hi <= 0 or n - max(-lo, 0) - max(-hi, 0) <= 0:
            raise ShapeError(f"pad: padding ({lo}, {hi}) of dim {d} (size {n}) leaves no "
                             "output")
    if all(lo == hi == 0 for _, lo, hi in pairs):
        return _constant(x, pairs, 0)  # a copy, as PyTorch returns
    be = x._be
    for d, lo, hi in pairs:
        if lo == hi == 0:
            continue
        idx = be.xp.asarray(source_positions(mode, x.shape[d], lo, hi), dtype=be.xp.int64,
                            device=be.device)
        # reflect/replicate: PyTorch's backward node reads the input (linked, zeros for it)
        x = Take.apply(x, indices=idx, axis=d, linked=mode != "circular")
    return x

"""Pooling: max and average over sliding windows (1-D, 2-D) and adaptive average pooling
(adaptive max pooling and max unpooling, which gather and scatter by index, are in
pool_indexed.py). This file holds average and adaptive average pooling; max pooling is in
max_pool.py and the plumbing both share in pool_window.py (re-exported here).

Each op is one node. Windows are read as kh*kw strided slices ("taps") of the input in
(C, H, W, N) order, the batch innermost, as the convolutions do (see conv.py), so every slice
has long contiguous runs. No index arrays are stored: max-pool's backward recomputes which
tap held the maximum from the saved input and output, the FIRST one in a window on ties
(row-major order within the window), as PyTorch does; ties are common where ReLU zeroed a
flat background.
"""
from __future__ import annotations

from .. import backend as B
from .._errors import ArgumentError, ShapeError
from ..autograd import Function
from .im2col import ntuple
# re-exported where pool.py held them before the split (pool3d.py, pool_indexed.py, onnx, tests)
from .max_pool import (MAX_POOL_BACKWARD, MAX_POOL_FORWARD, MaxPool, _max_pool,  # noqa: F401
                       max_pool1d, max_pool2d)
from .pool_graph import adjoint_graph
from .pool_window import _batched, _Pool, _pool_geometry, _unbatch
from .shape import reshape


class AvgPool(_Pool):
    saved_inputs = ()

    def forward(self, X, geo=None, count_include_pad=True, divisor_override=None):
        Xc, self.taps = self._setup(X, geo, 0.0)
        self.opts = {"geo": geo, "count_include_pad": count_include_pad,
                     "divisor_override": divisor_override}
        self.div = self._divisor(count_include_pad, divisor_override, X.dtype)
        Sc = Xc[:, self.taps[0][0], self.taps[0][1], :]
        for hs, ws in self.taps[1:]:
            Sc = Sc + Xc[:, hs, ws, :]
        self.Xc_shape = Xc.shape
        return self._finish(Sc / self.div)

    def _divisor(self, include_pad, override, dtype):
        """A Python number, or a (1, Ho, Wo, 1) array built on the device when windows differ
        in size (padding not counted, or ceil_mode's last window)."""
        if override is not None:
            return override
        xp = self.xp
        kernel, stride, pad, _, out, _ = self.geo
        sizes, counts = [], []
        for n, k, s, p, o in zip(self.shape[2:], kernel, stride, pad, out):
            lo, hi = (-p, n + p) if include_pad else (0, n)
            starts = [i * s - p for i in range(o)]
            host = [min(a + k, hi) - max(a, lo) for a in starts]  # known on the host
            sizes.append(host)
            start = xp.arange(o, device=self.be.device) * s - p
            counts.append(xp.minimum(start + k, hi) - xp.maximum(start, lo))
        if len(set(sizes[0])) == 1 and len(set(sizes[1])) == 1:
            return sizes[0][0] * sizes[1][0]
        ch = xp.astype(counts[0], dtype)
        cw = xp.astype(counts[1], dtype)
        return xp.reshape(ch, (1, -1, 1, 1)) * xp.reshape(cw, (1, 1, -1, 1))

    def backward(self, dY):
        G = self._dY(dY) / self.div  # every tap of a window gets the same share
        return self._scatter([G] * len(self.taps), self.Xc_shape, G.dtype)

    def backward_graph(self, dY):
        return adjoint_graph(self, dY, **self.opts)  # A^T dY, recorded (pool_graph.py)


class AdaptiveAvgPool(Function):
    """Y[n, c] = Ah X[n, c] Aw^T with Ah (oh, H) averaging rows floor(iH/oh)..ceil((i+1)H/oh)."""

    saved_inputs = ()

    def forward(self, X, out=None):
        xp = self.xp
        self.shape = X.shape
        H, W = X.shape[2:]
        if tuple(out) == (1, 1):  # global average pooling, the common case
            self.A = None
            return xp.mean(X, axis=(2, 3), keepdims=True)
        self.A = [self._averager(n, o, X.dtype) for n, o in zip((H, W), out)]
        return self.A[0] @ X @ xp.matrix_transpose(self.A[1])

    def _averager(self, n, o, dtype):
        """(o, n): row i averages inputs floor(i n / o) .. ceil((i + 1) n / o) - 1; built from
        aranges on the device (no index arrays copied from the host)."""
        xp, dev = self.xp, self.be.device
        i = xp.reshape(xp.arange(o, device=dev), (o, 1))
        starts = (i * n) // o
        ends = -((-(i + 1) * n) // o)
        pos = xp.reshape(xp.arange(n, device=dev), (1, n))
        inside = xp.astype((pos >= starts) & (pos < ends), dtype)
        return inside / xp.sum(inside, axis=1, keepdims=True)

    def backward(self, dY):
        xp = self.xp
        if self.A is None:
            H, W = self.shape[2:]
            return xp.broadcast_to(dY / (H * W), self.shape)
        return xp.matrix_transpose(self.A[0]) @ dY @ self.A[1]

    def backward_graph(self, dY):
        return adjoint_graph(self, dY, out=tuple(dY.shape[2:]))  # pool_graph.py


# -- public functions ----------------------------------------------------------------------


def _avg_pool(op, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x, unbatched = _batched(op, x, nd)
    geo = _pool_geometry(op, x.shape[2:], kernel_size, stride, padding, 1, ceil_mode, nd)
    integral = not x._be.is_floating(x.dtype)
    if integral:  # PyTorch pools integers to integers (the mean truncated)
        x = x._result(x.xp.astype(x.array, x._be.dtype(B.get_default_dtype())), x._be)
    y = AvgPool.apply(x, geo=geo, count_include_pad=count_include_pad,
                      divisor_override=_divisor(op, divisor_override))
    if integral:
        y = y._result(y.xp.astype(y.xp.trunc(y.array), y.xp.int64), y._be)
    return _unbatch(y, unbatched)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, stride, padding, ceil_mode: as :func:`max_pool2d` (zero padding).
        count_include_pad: divide by the window size including padding (PyTorch default).
        divisor_override: a fixed divisor instead.
    Returns:
        (N, C, Ho, Wo).
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L); arguments as :func:`avg_pool2d`."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def _divisor(op, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value == 0):
        raise ArgumentError(f"{op}: divisor_override must be a non-zero int, got {value!r}")
    return value


def _output_size(op, output_size, spatial):
    """The adaptive output size as ints; None entries keep the input's size."""
    n = len(spatial)
    vals = (output_size,) * n if output_size is None or isinstance(output_size, int) \
        else tuple(output_size)
    if len(vals) != n:
        raise ArgumentError(f"{op}: output_size must be an int or a tuple of {n}, got "
                            f"{output_size!r}")
    vals = tuple(s if v is None else v for v, s in zip(vals, spatial))
    if 0 in spatial:  # a window would have no element (PyTorch refuses too)
        raise ShapeError(f"{op}: input of spatial size {tuple(spatial)} has nothing to pool "
                         f"(every size must be >= 1)")
    return ntuple(op, "output_size", vals, n, 0)  # 0: an empty output, as PyTorch


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: int or (oh, ow) (None keeps that input size); (1, 1) is global average
            pooling. Window i covers rows floor(i*H/oh) .. ceil((i+1)*H/oh) - 1.
    Returns:
        (N, C, oh, ow).
    """
    x, unbatched = _batched("adaptive_avg_pool2d", input, 2, floating=True)
    out = _output_size("adaptive_avg_pool2d", output_size, x.shape[2:])
    return _unbatch(AdaptiveAvgPool.apply(x, out=out), unbatched)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) or (C, L) to length ``output_size``."""
    x, unbatched = _batched("adaptive_avg_pool1d", input, 1, floating=True)
    out = _output_size("adaptive_avg_pool1d", output_size, x.shape[2:])[0]
    N, C, L = x.shape
    y = AdaptiveAvgPool.apply(reshape(x, (N, C, 1, L)), out=(1, out))
    return _unbatch(reshape(y, (N, C, out)), unbatched)

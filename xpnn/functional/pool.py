"""Pooling: max and average over sliding windows (1-D, 2-D) and adaptive average pooling.

Each op is one node. Windows are read as kh*kw strided slices ("taps") of the input in
(C, H, W, N) order, the batch innermost, as the convolutions do (see conv.py), so every slice
has long contiguous runs. No index arrays are stored: max-pool's backward recomputes which
tap held the maximum from the saved input and output, the FIRST one in a window on ties
(row-major order within the window), as PyTorch does; ties are common where ReLU zeroed a
flat background.
"""
from __future__ import annotations

import math

from ..autograd import Function, as_tensor
from .conv import ntuple, to_chwn, window
from .shape import reshape


def _pool_geometry(op, shape, kernel, stride, padding, dilation, ceil_mode, nd):
    """(kernel, stride, pads, dilation, out, extra) as 2-tuples; ``extra`` is the padding
    added at the end of each axis so ceil_mode's last partial window fits."""
    kernel = ntuple(op, "kernel_size", kernel, nd, 1)
    stride = kernel if stride is None or stride == () else ntuple(op, "stride", stride, nd, 1)
    padding = ntuple(op, "padding", padding, nd, 0)
    dilation = ntuple(op, "dilation", dilation, nd, 1)
    out, extra = [], []
    for n, k, s, p, d in zip(shape, kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if 2 * p > span:
            raise ValueError(f"{op}: padding {padding} must be at most half the (dilated) "
                             f"kernel {kernel}")
        if n + 2 * p < span:
            raise ValueError(f"{op}: kernel {kernel} with dilation {dilation} spans {span}, "
                             f"larger than the padded input ({n} + 2*{p}) of input size "
                             f"{tuple(shape)}")
        o = ((-(-(n + 2 * p - span) // s)) if ceil_mode else (n + 2 * p - span) // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:  # the last window must start inside the input
            o -= 1
        out.append(o)
        extra.append(max(0, (o - 1) * s + span - (n + 2 * p)))
    if nd == 1:
        kernel, stride, dilation = (1,) + kernel, (1,) + stride, (1,) + dilation
        padding, out, extra = (0,) + padding, [1] + out, [0] + extra
    return kernel, stride, padding, dilation, tuple(out), tuple(extra)


def _taps(kernel, stride, dilation, out):
    """(row slice, col slice) of each of the kh*kw taps of the windows of a (C, Hp, Wp, N)
    array, tap (i, j) at index i*kw + j (row-major: the order ties are broken in)."""
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out
    return [(window(i, dh, sh, Ho), window(j, dw, sw, Wo)) for i in range(kh)
            for j in range(kw)]


def _disjoint(kernel, stride, dilation):
    """True when no input element lies in two windows, so backward may assign, not add."""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


class _Pool(Function):
    """Shared plumbing: 1-D inputs as H = 1, padding in CHWN order, the scatter of backward."""

    def _setup(self, X, geo, fill):
        self.one_d = X.ndim == 3
        if self.one_d:
            X = self.xp.reshape(X, (X.shape[0], X.shape[1], 1, X.shape[2]))
        self.shape, self.geo = X.shape, geo
        kernel, stride, pad, dilation, out, extra = geo
        pads = ((pad[0], pad[0] + extra[0]), (pad[1], pad[1] + extra[1]))
        self.pads = pads
        Xc = to_chwn(self.xp, X, pads, fill)
        return Xc, _taps(kernel, stride, dilation, out)

    def _finish(self, Yc):
        Y = self.xp.permute_dims(Yc, (3, 0, 1, 2))
        return self.xp.reshape(Y, (Y.shape[0], Y.shape[1], Y.shape[3])) if self.one_d else Y

    def _scatter(self, parts, Xc_shape, dtype):
        """dX from one gradient slab per tap (an iterable, consumed one slab at a time):
        assigned when windows are disjoint, else added."""
        xp = self.xp
        kernel, stride, _, dilation, out, _ = self.geo
        dXc = xp.zeros(Xc_shape, dtype=dtype, device=self.be.device)
        assign = _disjoint(kernel, stride, dilation)
        for (hs, ws), part in zip(_taps(kernel, stride, dilation, out), parts):
            if assign:
                dXc[:, hs, ws, :] = part
            else:
                dXc[:, hs, ws, :] += part
        return self._crop(dXc)

    def _crop(self, dXc):
        """(C, Hp, Wp, N) gradient of the padded input -> dX shaped like the input."""
        xp = self.xp
        (pt, pb), (pl, pr) = self.pads
        Hp, Wp = dXc.shape[1:3]
        dXc = dXc[:, pt:Hp - pb, pl:Wp - pr, :]
        dX = xp.permute_dims(dXc, (3, 0, 1, 2))
        return xp.reshape(dX, (dX.shape[0], dX.shape[1], dX.shape[3])) if self.one_d else dX

    def _dY(self, dY):
        if self.one_d:
            dY = self.xp.reshape(dY, (dY.shape[0], dY.shape[1], 1, dY.shape[2]))
        return self.xp.permute_dims(dY, (1, 2, 3, 0))


class MaxPool(_Pool):
    def forward(self, X, geo=None):
        xp = self.xp
        Xc, self.taps = self._setup(X, geo, -math.inf)  # -inf padding never wins a window
        Yc = Xc[:, self.taps[0][0], self.taps[0][1], :]
        for hs, ws in self.taps[1:]:
            Yc = xp.maximum(Yc, Xc[:, hs, ws, :])
        self.Xc, self.Yc = Xc, Yc
        return self._finish(Yc)

    def backward(self, dY):
        xp, Xc, Yc = self.xp, self.Xc, self.Yc
        dYc = self._dY(dY)
        native = self.be.fast.get("max_pool_backward")
        if native is not None:
            kernel, stride, _, dilation, out, _ = self.geo
            covered = all(d == 1 and s == k and n == o * s for n, k, s, d, o in zip(
                Xc.shape[1:3], kernel, stride, dilation, out))
            dXc = native(Xc, Yc, dYc, self.taps, _disjoint(kernel, stride, dilation), covered)
            return self._crop(dXc)

        def parts():
            taken = None
            for t, (hs, ws) in enumerate(self.taps):
                if t == len(self.taps) - 1 and taken is not None:
                    hit = ~taken  # the maximum is one of the taps: the last gets the rest
                else:
                    hit = Xc[:, hs, ws, :] == Yc
                    if taken is not None:
                        hit = hit & ~taken  # a tie with an earlier tap is not a hit
                    taken = hit if taken is None else taken | hit
                # a multiply by the 0/1 mask, not where(): NumPy's where() is ~10x slower on
                # random masks (branch mispredictions)
                yield xp.astype(hit, dYc.dtype) * dYc
        return self._scatter(parts(), Xc.shape, dYc.dtype)


class AvgPool(_Pool):
    def forward(self, X, geo=None, count_include_pad=True, divisor_override=None):
        Xc, self.taps = self._setup(X, geo, 0.0)
        self.div = self._divisor(count_include_pad, divisor_override, X.dtype)
        Sc = Xc[:, self.taps[0][0], self.taps[0][1], :]
        for hs, ws in self.taps[1:]:
            Sc = Sc + Xc[:, hs, ws, :]
        self.Xc_shape, self.dtype = Xc.shape, X.dtype
        return self._finish(Sc / self.div)

    def _divisor(self, include_pad, override, dtype):
        """A Python number, or a (1, Ho, Wo, 1) array when windows differ in size (padding
        not counted, or ceil_mode's last window); window sizes are known on the host."""
        if override is not None:
            return override
        kernel, stride, pad, _, out, _ = self.geo
        counts = []
        for n, k, s, p, o in zip(self.shape[2:], kernel, stride, pad, out):
            lo, hi = (-p, n + p) if include_pad else (0, n)
            counts.append([min(i * s - p + k, hi) - max(i * s - p, lo) for i in range(o)])
        if len(set(counts[0])) == 1 and len(set(counts[1])) == 1:
            return counts[0][0] * counts[1][0]
        xp = self.xp
        ch = xp.asarray(counts[0], dtype=dtype, device=self.be.device)
        cw = xp.asarray(counts[1], dtype=dtype, device=self.be.device)
        return xp.reshape(ch, (1, -1, 1, 1)) * xp.reshape(cw, (1, 1, -1, 1))

    def backward(self, dY):
        G = self._dY(dY) / self.div  # every tap of a window gets the same share
        return self._scatter([G] * len(self.taps), self.Xc_shape, G.dtype)


class AdaptiveAvgPool(Function):
    """Y[n, c] = Ah X[n, c] Aw^T with Ah (oh, H) averaging rows floor(iH/oh)..ceil((i+1)H/oh)."""

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
        xp = self.xp
        starts = [(i * n) // o for i in range(o)]
        ends = [-(-((i + 1) * n) // o) for i in range(o)]
        pos = xp.reshape(xp.arange(n, device=self.be.device), (1, n))
        s = xp.reshape(xp.asarray(starts, device=self.be.device), (o, 1))
        e = xp.reshape(xp.asarray(ends, device=self.be.device), (o, 1))
        inside = xp.astype((pos >= s) & (pos < e), dtype)
        return inside / xp.sum(inside, axis=1, keepdims=True)

    def backward(self, dY):
        xp = self.xp
        if self.A is None:
            H, W = self.shape[2:]
            return xp.broadcast_to(dY / (H * W), self.shape)
        return xp.matrix_transpose(self.A[0]) @ dY @ self.A[1]


# -- public functions ----------------------------------------------------------------------


def _check_rank(op, x, nd):
    x = as_tensor(x)
    if x.ndim != nd + 2:
        names = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
        raise ValueError(f"{op}: expected a {nd + 2}-D input {names}, got shape {x.shape}")
    return x


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Args:
        x: (N, C, H, W).
        kernel_size: int or (kh, kw); stride: default kernel_size; padding (with -inf) at
            most half the kernel; dilation: spacing of the taps; ceil_mode: keep a last
            partial window.
    Returns:
        (N, C, Ho, Wo). The gradient goes to the first maximum of each window.
    """
    x = _check_rank("max_pool2d", x, 2)
    geo = _pool_geometry("max_pool2d", x.shape[2:], kernel_size, stride, padding, dilation,
                         ceil_mode, 2)
    return MaxPool.apply(x, geo=geo)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """1-D max pooling over (N, C, L); arguments as :func:`max_pool2d`, ints."""
    x = _check_rank("max_pool1d", x, 1)
    geo = _pool_geometry("max_pool1d", x.shape[2:], kernel_size, stride, padding, dilation,
                         ceil_mode, 1)
    return MaxPool.apply(x, geo=geo)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Args:
        x: (N, C, H, W).
        kernel_size, stride, padding, ceil_mode: as :func:`max_pool2d` (zero padding).
        count_include_pad: divide by the window size including padding (PyTorch default).
        divisor_override: a fixed divisor instead.
    Returns:
        (N, C, Ho, Wo).
    """
    x = _check_rank("avg_pool2d", x, 2)
    geo = _pool_geometry("avg_pool2d", x.shape[2:], kernel_size, stride, padding, 1,
                         ceil_mode, 2)
    return AvgPool.apply(x, geo=geo, count_include_pad=count_include_pad,
                         divisor_override=_divisor("avg_pool2d", divisor_override))


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over (N, C, L); arguments as :func:`avg_pool2d`."""
    x = _check_rank("avg_pool1d", x, 1)
    geo = _pool_geometry("avg_pool1d", x.shape[2:], kernel_size, stride, padding, 1,
                         ceil_mode, 1)
    return AvgPool.apply(x, geo=geo, count_include_pad=count_include_pad)


def _divisor(op, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero int, got {value!r}")
    return value


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Args:
        x: (N, C, H, W).
        output_size: int or (oh, ow); (1, 1) is global average pooling. Window i covers
            rows floor(i*H/oh) .. ceil((i+1)*H/oh) - 1.
    Returns:
        (N, C, oh, ow).
    """
    x = _check_rank("adaptive_avg_pool2d", x, 2)
    out = ntuple("adaptive_avg_pool2d", "output_size", output_size, 2, 1)
    return AdaptiveAvgPool.apply(x, out=out)


def adaptive_avg_pool1d(x, output_size):
    """Average pooling of (N, C, L) to (N, C, output_size)."""
    x = _check_rank("adaptive_avg_pool1d", x, 1)
    out = ntuple("adaptive_avg_pool1d", "output_size", output_size, 1, 1)[0]
    y = adaptive_avg_pool2d(reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2])), (1, out))
    return reshape(y, (x.shape[0], x.shape[1], out))

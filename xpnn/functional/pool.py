"""Pooling: max and average over sliding windows (1-D, 2-D) and adaptive average pooling
(adaptive max pooling and max unpooling, which gather and scatter by index, are in
pool_indexed.py).

Each op is one node. Windows are read as kh*kw strided slices ("taps") of the input in
(C, H, W, N) order, the batch innermost, as the convolutions do (see conv.py), so every slice
has long contiguous runs. No index arrays are stored: max-pool's backward recomputes which
tap held the maximum from the saved input and output, the FIRST one in a window on ties
(row-major order within the window), as PyTorch does; ties are common where ReLU zeroed a
flat background.
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError, ShapeError
from .. import cpu
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
            raise ArgumentError(f"{op}: padding {padding} must be at most half the (dilated) "
                                f"kernel {kernel}")
        ceil = -(-(n + 2 * p - span) // s) + 1
        if (ceil - 1) * s >= n + p:  # the last window must start inside the input
            ceil -= 1
        o = ceil if ceil_mode else (n + 2 * p - span) // s + 1
        if o < 1:  # ceil_mode keeps a window that sticks out past the end (PyTorch)
            hint = "" if ceil_mode or ceil < 1 else " (ceil_mode=True keeps a partial window)"
            raise ArgumentError(f"{op}: kernel {kernel} with dilation {dilation} spans {span}, "
                                f"larger than the padded input ({n} + 2*{p}) of input size "
                                f"{tuple(shape)}{hint}")
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


def _tap_valid(be, geo, shape, t):
    """(1, Ho, Wo, 1) bool: which windows' tap ``t`` falls on the input, not on padding;
    None when every window's tap does (no padding reaches it)."""
    xp = be.xp
    kernel, stride, pad, dilation, out, extra = geo
    i, j = divmod(t, kernel[1])
    masks = []
    for k, s, d, p, o, n in zip((i, j), stride, dilation, pad, out, shape[2:]):
        first, last = k * d - p, k * d - p + s * (o - 1)  # input positions of the tap
        if first >= 0 and last < n:
            masks.append(None)
            continue
        pos = xp.arange(o, device=be.device) * s + first
        masks.append((pos >= 0) & (pos < n))
    if masks[0] is None and masks[1] is None:
        return None
    rows = masks[0] if masks[0] is not None else xp.ones(out[0], dtype=xp.bool, device=be.device)
    cols = masks[1] if masks[1] is not None else xp.ones(out[1], dtype=xp.bool, device=be.device)
    return xp.reshape(rows[:, None] & cols[None, :], (1, out[0], out[1], 1))


def first_max_hits(be, Xc, Yc, taps, geo, shape):
    """Yield (tap, hit) for each tap of the windows: hit is True where that tap holds the
    window's maximum and no earlier tap does (ties go to the first maximum in row-major
    window order, as in PyTorch), never on padding. The last tap takes whatever is left, so
    a window of NaNs still sends its gradient somewhere (NaN == NaN is False)."""
    taken = None
    last = len(taps) - 1
    for t, tap in enumerate(taps):
        valid = _tap_valid(be, geo, shape, t)
        if t == last and taken is not None:
            hit = ~taken
        else:
            hit = Xc[:, tap[0], tap[1], :] == Yc
            if taken is not None:
                hit &= ~taken
        if valid is not None:
            hit &= valid
        if t != last:
            taken = hit if taken is None else taken | hit
        yield tap, hit


def _max_pool_backward_portable(be, Xc, Yc, dYc, taps, geo, shape):
    xp = be.xp
    dXc = xp.zeros(Xc.shape, dtype=dYc.dtype, device=be.device)
    disjoint = _disjoint(geo[0], geo[1], geo[3])
    for (hs, ws), hit in first_max_hits(be, Xc, Yc, taps, geo, shape):
        # a multiply by the 0/1 mask, not where(): NumPy's where() is ~10x slower on random
        # masks (branch mispredictions)
        part = xp.astype(hit, dYc.dtype) * dYc
        if disjoint:
            dXc[:, hs, ws, :] = part
        else:
            dXc[:, hs, ws, :] += part
    return dXc


def _split_channels(fn, C, N, work):
    """Run ``fn(channel slice, batch slice)`` over blocks of the (C, ..., N) arrays on xpnn's
    CPU threads: blocks of channels, or of the batch when there are too few channels."""
    if C >= 4 or N < 64:
        cpu.split_rows(lambda a, b: fn(slice(a, b), slice(None)), C, work)
    else:
        cpu.split_rows(lambda a, b: fn(slice(None), slice(a, b)), N, work)


def _max_pool_forward_numpy(be, Xc, taps, geo):
    """The portable forward (a running maximum over the taps, in the same order) written
    into one output with ``out=``, a block of channels per CPU thread."""
    np = be.lib
    (h0, w0) = taps[0]
    C, N = Xc.shape[0], Xc.shape[3]
    Yc = np.empty((C,) + Xc[:1, h0, w0, :1].shape[1:3] + (N,), dtype=Xc.dtype)

    def run(cs, ns):
        X, Y = Xc[cs, ..., ns], Yc[cs, ..., ns]
        if len(taps) == 1:
            np.copyto(Y, X[:, h0, w0, :])
            return
        np.maximum(X[:, h0, w0, :], X[:, taps[1][0], taps[1][1], :], out=Y)
        for hs, ws in taps[2:]:
            np.maximum(Y, X[:, hs, ws, :], out=Y)
    _split_channels(run, C, N, Xc.size)
    return Yc


def _max_pool_backward_numpy(be, Xc, Yc, dYc, taps, geo, shape):
    """The portable backward, writing each tap's masked gradient straight into its window of
    dX with ``out=`` (no casts or temporaries the size of the window), a block of channels
    per CPU thread."""
    np = be.lib
    kernel, stride, _, dilation, out, _ = geo
    disjoint = _disjoint(kernel, stride, dilation)
    covered = disjoint and all(d == 1 and s == k and n == o * s for n, k, s, d, o in zip(
        Xc.shape[1:3], kernel, stride, dilation, out))
    dXc = np.empty(Xc.shape, dYc.dtype) if covered else np.zeros(Xc.shape, dYc.dtype)

    def run(cs, ns):
        dX, dY = dXc[cs, ..., ns], dYc[cs, ..., ns]
        for (hs, ws), hit in first_max_hits(be, Xc[cs, ..., ns], Yc[cs, ..., ns], taps, geo,
                                            shape):
            view = dX[:, hs, ws, :]
            if disjoint:
                np.multiply(hit, dY, out=view)
            else:
                view += hit * dY
    _split_channels(run, Xc.shape[0], Xc.shape[3], Xc.size)
    return dXc


# CuPy: one kernel per direction over the (C, Ho, Wo, N) outputs, each reading its window of
# the padded (C, Hp, Wp, N) input by (logical, row-major) index; tap t of a window is (t // kw,
# t % kw), the portable order. No variable may be called i: CuPy's kernels loop over i.
_WINDOW = ("long long n_ = i % N, r_ = i / N, ow = r_ % Wo; r_ /= Wo;"
           "long long oh = r_ % Ho, ch = r_ / Ho;")


def _geometry_args(Xc, geo):
    kernel, stride, pad, dilation, out, _ = geo
    return (Xc.shape[1], Xc.shape[2], out[0], out[1], Xc.shape[3]) + tuple(kernel) + \
        tuple(stride) + tuple(dilation)


_GEOMETRY = ("int64 Hp, int64 Wp, int64 Ho, int64 Wo, int64 N, int64 kh, int64 kw, "
             "int64 sh, int64 sw, int64 dh, int64 dw")


def _max_pool_forward_cupy(be, Xc, taps, geo):
    """The portable running maximum over the taps (NaN wins, as in maximum()); float16 and
    integers take the portable code."""
    if not B.kernel_floats(Xc):
        return _max_pool_forward_portable(be, Xc, taps, geo)
    Yc = be.lib.empty((Xc.shape[0],) + tuple(geo[4]) + (Xc.shape[3],), dtype=Xc.dtype)
    be.kernel("xpnn_max_pool", "raw T X, " + _GEOMETRY, "T y", _WINDOW +
              "T m = 0;"
              "for (long long t = 0; t < kh * kw; ++t) {"
              "  T v = X[((ch * Hp + oh * sh + t / kw * dh) * Wp + ow * sw + t % kw * dw) * N"
              "          + n_];"
              "  if (t == 0 || (m == m && !(v <= m))) m = v;"
              "}"
              "y = m;")(Xc, *_geometry_args(Xc, geo), Yc)
    return Yc


def _max_pool_backward_cupy(be, Xc, Yc, dYc, taps, geo, shape):
    """first_max_hits' choice per window (the first tap equal to the maximum and not on
    padding; failing that the last tap, unless the window has one tap), its gradient
    written there. Windows that overlap take the portable code (no atomic adds)."""
    kernel, stride, pad, dilation, out, _ = geo
    if not _disjoint(kernel, stride, dilation) or not B.kernel_floats(Xc, dYc):
        return _max_pool_backward_portable(be, Xc, Yc, dYc, taps, geo, shape)
    dXc = be.lib.zeros(Xc.shape, dtype=dYc.dtype)
    be.kernel("xpnn_max_pool_back", "T dy, T y, raw T X, " + _GEOMETRY +
              ", int64 ph, int64 pw, int64 H, int64 W", "raw T dX", _WINDOW +
              "long long last = kh * kw - 1, pick = -1;"
              "for (long long t = 0; t <= last; ++t) {"
              "  long long hp = oh * sh + t / kw * dh, wp = ow * sw + t % kw * dw;"
              "  long long at = ((ch * Hp + hp) * Wp + wp) * N + n_;"
              "  if (hp < ph || hp >= ph + H || wp < pw || wp >= pw + W) continue;"
              "  if (t < last || last == 0) { if (X[at] == y) { pick = at; break; } }"
              "  else pick = at;"
              "}"
              "if (pick >= 0) dX[pick] = dy;")(
        dYc, Yc, Xc, *_geometry_args(Xc, geo), pad[0], pad[1], shape[2], shape[3], dXc)
    return dXc


MAX_POOL_FORWARD = {"numpy": _max_pool_forward_numpy, "cupy": _max_pool_forward_cupy}
MAX_POOL_BACKWARD = {"numpy": _max_pool_backward_numpy, "cupy": _max_pool_backward_cupy}


def _max_pool_forward_portable(be, Xc, taps, geo):
    Yc = Xc[:, taps[0][0], taps[0][1], :]
    for hs, ws in taps[1:]:
        Yc = be.xp.maximum(Yc, Xc[:, hs, ws, :])
    return Yc


class MaxPool(_Pool):
    saved_inputs = ()

    def forward(self, X, geo=None, indices=False):
        # padding never wins a window: -inf, or an integer dtype's least value
        low = -math.inf if self.be.is_floating(X.dtype) else int(self.xp.iinfo(X.dtype).min)
        Xc, taps = self._setup(X, geo, low)
        Yc = MAX_POOL_FORWARD.get(self.be.name, _max_pool_forward_portable)(self.be, Xc, taps,
                                                                           self.geo)
        if self.record:
            self.Xc, self.Yc, self.taps = Xc, Yc, taps
        Y = self._finish(Yc)
        if not indices:
            return Y
        return Y, self._finish(self._indices(Xc, Yc, taps))

    def _indices(self, Xc, Yc, taps):
        """PyTorch's indices: the flat position (row * W + col) in the input plane of each
        window's first maximum."""
        xp, be = self.xp, self.be
        kernel, stride, pad, dilation, out, _ = self.geo
        W = self.shape[3]
        idx = xp.zeros(Yc.shape, dtype=xp.int64, device=be.device)
        for t, (_, hit) in enumerate(first_max_hits(be, Xc, Yc, taps, self.geo, self.shape)):
            i, j = divmod(t, kernel[1])
            rows = xp.arange(out[0], device=be.device) * stride[0] + (i * dilation[0] - pad[0])
            cols = xp.arange(out[1], device=be.device) * stride[1] + (j * dilation[1] - pad[1])
            pos = xp.reshape(rows[:, None] * W + cols[None, :], (1, out[0], out[1], 1))
            idx = xp.where(hit, pos, idx)
        return idx

    def backward(self, dY, dI=None):
        dYc = self._dY(dY)
        kernel = MAX_POOL_BACKWARD.get(self.be.name, _max_pool_backward_portable)
        return self._crop(kernel(self.be, self.Xc, self.Yc, dYc, self.taps, self.geo,
                                 self.shape))


class AvgPool(_Pool):
    saved_inputs = ()

    def forward(self, X, geo=None, count_include_pad=True, divisor_override=None):
        Xc, self.taps = self._setup(X, geo, 0.0)
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


# -- public functions ----------------------------------------------------------------------


def _batched(op, x, nd, floating=False):
    """(x as (N, C, *spatial), whether it was unbatched): an unbatched (C, *spatial) input
    gets a batch dim of 1, as PyTorch accepts."""
    x = as_tensor(x, op=op)
    if x.ndim not in (nd + 1, nd + 2):
        names = "(N, C, L) or (C, L)" if nd == 1 else "(N, C, H, W) or (C, H, W)"
        raise ShapeError(f"{op}: expected a {nd + 2}-D or {nd + 1}-D input {names}, got "
                         f"shape {x.shape}")
    if floating and not x._be.is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating tensor, got {B.dtype_name(x.dtype)}")
    if x.ndim == nd + 1:
        return reshape(x, (1,) + x.shape), True
    return x, False


def _unbatch(y, unbatched):
    if not unbatched:
        return y
    if isinstance(y, tuple):
        return tuple(_unbatch(t, True) for t in y)
    return reshape(y, y.shape[1:])


def _max_pool(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _batched(op, x, nd)
    geo = _pool_geometry(op, x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                         nd)
    out = MaxPool.apply(x, geo=geo, indices=bool(return_indices))
    return _unbatch(out, unbatched)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: int or (kh, kw); stride: default kernel_size; padding (with -inf) at
            most half the kernel; dilation: spacing of the taps; ceil_mode: keep a last
            partial window.
        return_indices: also return the flat index (row * W + col) of each window's maximum
            in its input plane, for :func:`max_unpool2d`.
    Returns:
        (N, C, Ho, Wo) (and the int64 indices). The gradient goes to the first maximum of
        each window.
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L); arguments as :func:`max_pool2d`, ints."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


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
    return ntuple(op, "output_size", vals, n, 1)


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


"""Max pooling over sliding windows (1-D, 2-D): the op, its portable kernels and the native
ones by backend name (``MAX_POOL_FORWARD``, ``MAX_POOL_BACKWARD``). Split from pool.py, whose
docstring explains the layout and how backward finds each window's first maximum."""
from __future__ import annotations

import math

from .. import backend as B
from .. import cpu
from .first_order import link
from .pool_graph import max_pool_positions, scatter_to_positions
from .pool_window import _batched, _disjoint, _Pool, _pool_geometry, _unbatch


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
    window order, as in PyTorch), never on padding. A window holding a NaN (its maximum)
    hits at its last NaN, as PyTorch's kernels, where a NaN beats every earlier value. The
    last tap takes whatever is left, so every window sends its gradient somewhere."""
    xp = be.xp
    last_nan = None  # per window, the last tap holding a NaN (-1: none)
    # (on the host, only where a window's maximum is NaN: max propagates NaN, one pass)
    if be.is_floating(Xc.dtype) and not (be.on_host and not (
            math.prod(Yc.shape) and bool(xp.isnan(xp.max(Yc))))):
        last_nan = xp.full(Yc.shape, -1, dtype=xp.int32, device=Yc.device)
        for t, tap in enumerate(taps):
            last_nan = xp.where(xp.isnan(Xc[:, tap[0], tap[1], :]), t, last_nan)
    taken = None
    last = len(taps) - 1
    for t, tap in enumerate(taps):
        valid = _tap_valid(be, geo, shape, t)
        if t == last and taken is not None:
            hit = ~taken
        else:
            hit = Xc[:, tap[0], tap[1], :] == Yc  # never in a NaN window
            if last_nan is not None:
                hit |= last_nan == t
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
    padding, or in a window whose maximum is NaN its last NaN; failing that the last tap,
    unless the window has one tap), its gradient written there. Windows that overlap take
    the portable code (no atomic adds)."""
    kernel, stride, pad, dilation, out, _ = geo
    if not _disjoint(kernel, stride, dilation) or not B.kernel_floats(Xc, dYc):
        return _max_pool_backward_portable(be, Xc, Yc, dYc, taps, geo, shape)
    dXc = be.lib.zeros(Xc.shape, dtype=dYc.dtype)
    be.kernel("xpnn_max_pool_back", "T dy, T y, raw T X, " + _GEOMETRY +
              ", int64 ph, int64 pw, int64 H, int64 W", "raw T dX", _WINDOW +
              "long long last = kh * kw - 1, pick = -1;"
              "bool nan_window = !(y == y);"
              "for (long long t = 0; t <= last; ++t) {"
              "  long long hp = oh * sh + t / kw * dh, wp = ow * sw + t % kw * dw;"
              "  long long at = ((ch * Hp + hp) * Wp + wp) * N + n_;"
              "  if (hp < ph || hp >= ph + H || wp < pw || wp >= pw + W) continue;"
              "  if (nan_window) { if (!(X[at] == X[at]) || (t == last && pick < 0)) pick = at; }"
              "  else if (t < last || last == 0) { if (X[at] == y) { pick = at; break; } }"
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

    def backward_graph(self, dY, dI=None):
        """dY added at each window's first maximum, recorded (pool_graph.py), linked to X
        as PyTorch's max_pool2d_with_indices_backward (zeros for X)."""
        X = self.inputs[0]
        return link(scatter_to_positions(dY, max_pool_positions(self), X.shape), X)


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

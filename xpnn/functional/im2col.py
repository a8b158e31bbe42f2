"""The sliding windows of the convolutions: argument handling (ntuple, conv_pads, out_size),
the CHWN layout and im2col/col2im, portable and native. Split from conv.py, which holds the
op (its docstring explains the layout and the matrices); fold.py (unfold/fold) uses them too.

``IM2COL`` and ``COL2IM`` are the native kernels by backend name: NumPy and CuPy get im2col
as one strided view, col2im as in-place adds on NumPy and as one kernel on CuPy.
"""
from __future__ import annotations

from .. import backend as B
from .. import cpu
from .._errors import ArgumentError

# -- argument handling ---------------------------------------------------------------------


def ntuple(op, arg, value, n, minimum):
    """``value`` (an int or a sequence of n ints, each >= minimum) as a tuple of n ints."""
    vals = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(vals, (tuple, list)) or len(vals) != n or any(
            isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in vals):
        raise ArgumentError(f"{op}: {arg} must be an int >= {minimum} or a tuple of {n} such ints,"
                            f" got {value!r}")
    return tuple(vals)


def conv_pads(op, padding, kernel, dilation, stride):
    """Padding as ((top, bottom), (left, right)); "same" pads d*(k-1) in total, the odd one
    at the end (PyTorch's rule), and needs stride 1; "valid" is no padding."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', got "
                             f"{padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)
    return tuple((p, p) for p in ntuple(op, "padding", padding, len(kernel), 0))


def out_size(n, k, s, pads, d):
    """Output length of a window of k taps (dilation d) sliding with stride s over n + pads."""
    return (n + pads[0] + pads[1] - d * (k - 1) - 1) // s + 1


# -- portable kernels ----------------------------------------------------------------------


def to_chwn(xp, X, pads=((0, 0), (0, 0)), value=0.0):
    """X (N, C, H, W) as a (C, Hp, Wp, N) array, padded with ``value`` (a view if no pads)."""
    Xc = xp.permute_dims(X, (1, 2, 3, 0))
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return Xc
    C, H, W, N = Xc.shape
    out = xp.full((C, H + pt + pb, W + pl + pr, N), value, dtype=X.dtype, device=X.device)
    out[:, pt:pt + H, pl:pl + W, :] = Xc
    return out


def window(k, d, s, n):
    """The slice that picks tap k (dilation d) of n windows with stride s, along one axis."""
    return slice(k * d, k * d + s * (n - 1) + 1, s)


def im2col_portable(xp, Xc, kernel, stride, dilation, out_hw):
    """(C, Hp, Wp, N) -> cols (C, kh*kw, Ho, Wo, N): tap (i, j) of every output position."""
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_hw
    return xp.stack([Xc[:, window(i, dh, sh, Ho), window(j, dw, sw, Wo), :]
                     for i in range(kh) for j in range(kw)], axis=1)


def col2im_portable(xp, cols, padded_hw, kernel, stride, dilation):
    """Adjoint of im2col: (C, kh*kw, Ho, Wo, N) -> (C, Hp, Wp, N), overlapping taps added."""
    C, _, Ho, Wo, N = cols.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    out = xp.zeros((C,) + tuple(padded_hw) + (N,), dtype=cols.dtype, device=cols.device)
    for i in range(kh):
        for j in range(kw):
            out[:, window(i, dh, sh, Ho), window(j, dw, sw, Wo), :] += cols[:, i * kw + j, ...]
    return out


# -- native kernels, by backend name --------------------------------------------------------


def _strided_windows(be, Xc, kernel, stride, dilation, out_hw):
    """The windows of a (C, Hp, Wp, N) array as one strided view (C, kh, kw, Ho, Wo, N)."""
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_hw
    C, _, _, N = Xc.shape
    s0, s1, s2, s3 = Xc.strides
    extra = {"writeable": False} if be.name == "numpy" else {}
    return be.lib.lib.stride_tricks.as_strided(
        Xc, shape=(C, kh, kw, Ho, Wo, N), strides=(s0, dh * s1, dw * s2, sh * s1, sw * s2, s3),
        **extra)


def im2col_strided(be, Xc, kernel, stride, dilation, out_hw):
    """im2col for CuPy: one strided view of the windows, then one copy (the reshape):
    (C, Hp, Wp, N) -> (C, kh*kw, Ho, Wo, N)."""
    (kh, kw), (Ho, Wo) = kernel, out_hw
    view = _strided_windows(be, Xc, kernel, stride, dilation, out_hw)
    return view.reshape(Xc.shape[0], kh * kw, Ho, Wo, Xc.shape[3])


def im2col_numpy(be, Xc, kernel, stride, dilation, out_hw):
    """im2col for NumPy: the strided view copied into one buffer, a block of (channel,
    kernel row) pairs per CPU thread (see xpnn/cpu.py)."""
    np = be.lib
    (kh, kw), (Ho, Wo) = kernel, out_hw
    C, N = Xc.shape[0], Xc.shape[3]
    view = _strided_windows(be, Xc, kernel, stride, dilation, out_hw)
    cols = np.empty((C, kh * kw, Ho, Wo, N), dtype=Xc.dtype)
    dest = cols.reshape(C, kh, kw, Ho, Wo, N)

    def copy(a, b):  # rows a:b of the C*kh (channel, kernel row) pairs
        for c in range(a // kh, -(-b // kh)):
            i0, i1 = max(a - c * kh, 0), min(b - c * kh, kh)
            np.copyto(dest[c, i0:i1], view[c, i0:i1])
    cpu.split_rows(copy, C * kh, cols.size)
    return cols


def col2im_inplace(be, cols, padded_hw, kernel, stride, dilation):
    """col2im for NumPy or CuPy: ``add(window, tap, out=window)`` on views of one buffer,
    which skips the copy-back that ``out[key] += tap`` (setitem) makes. On NumPy the
    channels (or, with few channels, the batch) are split over xpnn's CPU threads; each
    element still receives its taps in the same order, so the sums are the same."""
    C, _, Ho, Wo, N = cols.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    lib = be.lib
    if be.name == "cupy":
        with cols.device:  # CuPy allocates on the current device: make it cols' own
            out = lib.zeros((C,) + tuple(padded_hw) + (N,), dtype=cols.dtype)
    else:
        out = lib.zeros((C,) + tuple(padded_hw) + (N,), dtype=cols.dtype)

    def add(ca, cb, na, nb):
        for i in range(kh):
            for j in range(kw):
                view = out[ca:cb, window(i, dh, sh, Ho), window(j, dw, sw, Wo), na:nb]
                lib.add(view, cols[ca:cb, i * kw + j, ..., na:nb], out=view)
    if be.name != "numpy":
        add(0, C, 0, N)
    elif C >= 4 or N < 64:
        cpu.split_rows(lambda a, b: add(a, b, 0, N), C, cols.size)
    else:
        cpu.split_rows(lambda a, b: add(0, C, a, b), N, cols.size)
    return out


def col2im_cupy(be, cols, padded_hw, kernel, stride, dilation):
    """col2im for CuPy as one kernel over the (C, Hp, Wp, N) output: each element sums the
    taps that cover it in tap order (i * kw + j), the order col2im_inplace adds them in, so
    the sums are the same; no atomics. float16 takes col2im_inplace."""
    if not B.kernel_floats(cols):
        return col2im_inplace(be, cols, padded_hw, kernel, stride, dilation)
    C, _, Ho, Wo, N = cols.shape
    with cols.device:
        out = be.lib.empty((C,) + tuple(padded_hw) + (N,), dtype=cols.dtype)
    be.kernel(
        "xpnn_col2im", "raw T cols, int64 Hp, int64 Wp, int64 Ho, int64 Wo, int64 N, int64 kh, "
        "int64 kw, int64 sh, int64 sw, int64 dh, int64 dw", "T out",
        "long long n_ = i % N, r_ = i / N, wp = r_ % Wp; r_ /= Wp;"
        "long long hp = r_ % Hp, ch = r_ / Hp; T acc = 0;"
        "for (long long t = 0; t < kh * kw; ++t) {"
        "  long long y = hp - t / kw * dh, x = wp - t % kw * dw;"
        "  if (y < 0 || x < 0 || y % sh != 0 || x % sw != 0) continue;"
        "  y /= sh; x /= sw;"
        "  if (y >= Ho || x >= Wo) continue;"
        "  acc += cols[(((ch * kh * kw + t) * Ho + y) * Wo + x) * N + n_];"
        "}"
        "out = acc;")(cols, *padded_hw, Ho, Wo, N, *kernel, *stride, *dilation, out)
    return out


def _im2col_portable(be, Xc, kernel, stride, dilation, out_hw):
    return im2col_portable(be.xp, Xc, kernel, stride, dilation, out_hw)


def _col2im_portable(be, cols, padded_hw, kernel, stride, dilation):
    return col2im_portable(be.xp, cols, padded_hw, kernel, stride, dilation)


IM2COL = {"numpy": im2col_numpy, "cupy": im2col_strided}
COL2IM = {"numpy": col2im_inplace, "cupy": col2im_cupy}


def _im2col(be, Xc, kernel, stride, dilation, out_hw):
    return IM2COL.get(be.name, _im2col_portable)(be, Xc, kernel, stride, dilation, out_hw)


def _col2im(be, cols, padded_hw, kernel, stride, dilation):
    return COL2IM.get(be.name, _col2im_portable)(be, cols, padded_hw, kernel, stride, dilation)


def _unfold(be, X, g, geo, out_hw):
    """X (N, C, H, W) -> cols (g, C/g*kh*kw, Ho*Wo*N)."""
    kernel, stride, pads, dilation = geo["kernel"], geo["stride"], geo["pads"], geo["dilation"]
    cols = _im2col(be, to_chwn(be.xp, X, pads), kernel, stride, dilation, out_hw)
    C, N = X.shape[1], X.shape[0]
    return be.xp.reshape(cols, (g, C // g * kernel[0] * kernel[1], out_hw[0] * out_hw[1] * N))


def _fold(be, cols, shape, geo, win_hw):
    """cols (g, C/g*kh*kw, Ho*Wo*N) -> (N, C, H, W), the adjoint of _unfold; (Ho, Wo) =
    ``win_hw`` windows per axis (fewer than fit when a transposed conv has output_padding)."""
    xp = be.xp
    N, C, H, W = shape
    (kh, kw), ((pt, pb), (pl, pr)) = geo["kernel"], geo["pads"]
    Hp, Wp = H + pt + pb, W + pl + pr
    cols = xp.reshape(cols, (C, kh * kw) + tuple(win_hw) + (N,))
    out = _col2im(be, cols, (Hp, Wp), geo["kernel"], geo["stride"], geo["dilation"])
    out = out[:, pt:pt + H, pl:pl + W, :] if (pt or pb or pl or pr) else out
    return xp.permute_dims(out, (3, 0, 1, 2))


"""Convolutions (conv1d/2d, conv_transpose1d/2d): one graph node each, im2col + one GEMM.

Layout. Tensors are NCHW (PyTorch's layout), but the work is done in "CHWN" order: channels
outermost, the batch innermost. Every kernel offset (i, j) of the im2col/col2im then reads or
adds a window ``Xc[:, i:i+Ho, j:j+Wo, :]`` whose innermost run is a whole row of the batch
(Wo*N contiguous numbers) instead of Wo: on NumPy that made im2col ~2x and col2im ~2.5x
faster than in (C, N, H, W) order (batch 128, 32 channels, 13x13). The GEMM output
(O, Ho*Wo*N) is handed on as an NCHW *view* of CHWN memory; elementwise ops keep that memory
order, so the next conv gets its CHWN input for free.

Matrices. With groups g, ``Wm`` is the weight as (g, W.shape[0]/g, rest) and ``cols`` the
unfolded input as (g, C/g*kh*kw, Ho*Wo*N). Then
    conv:            Y = Wm @ cols(X)          dW = dY @ cols(X)^T      dX = col2im(Wm^T @ dY)
    conv_transpose:  Y = col2im(Wm^T @ X)      dW = X @ cols(dY)^T      dX = Wm @ cols(dY)
The transposed conv is the adjoint of the conv, so the same three pieces serve both.

Portable first, native second: im2col/col2im (im2col.py) are pure Array API code (stack of
strided slices; sums of shifted slices written with setitem). Beside them, by backend name:
NumPy and CuPy get im2col as one strided view, col2im as in-place adds on NumPy and as one
kernel that sums each element's taps in the same order on CuPy (``IM2COL``, ``COL2IM``);
torch (oneDNN / cuDNN) and CuPy (cuDNN, where CuPy still ships it) run the whole convolution
with their own kernels (``CONV``, conv_native.py). On NumPy the GEMMs (linalg.mm2d), the
im2col copy, the col2im adds and the bias gradient's row sums (``BIAS_GRAD``) are split over
xpnn's CPU threads (xpnn/cpu.py) without changing any sum. Tests check that each native
kernel gives the portable result.
"""
from __future__ import annotations

from .. import cpu
from ..autograd import Function, TensorBase, _mixed, as_tensor
from .broadcast import quiet
from .._errors import DtypeError, ShapeError
from .linalg import mm2d, mm2d_pair
from .conv_native import CupyConv, TorchConv
from .conv_graph import conv_backward_graph
# re-exported where conv.py held them before the split (fold.py, pool.py, nn/conv.py, tests)
from .im2col import (COL2IM, IM2COL, _col2im, _fold, _im2col, _unfold,  # noqa: F401
                     col2im_cupy, col2im_inplace, col2im_portable, conv_pads, im2col_numpy,
                     im2col_portable, im2col_strided, ntuple, out_size, to_chwn, window)

# the whole-op native kernels by backend name (conv_native.py)
CONV = {"torch": TorchConv, "cupy": CupyConv}


def _bias_grad_portable(be, dYm):
    return be.xp.reshape(be.xp.sum(dYm, axis=2), (-1,))


def _bias_grad_numpy(be, dYm):
    """Row sums of dY as (g*O/g, positions), a block of rows per CPU thread (each row's
    sum is the same pairwise sum as in one call)."""
    np = be.lib
    M = dYm.reshape(dYm.shape[0] * dYm.shape[1], dYm.shape[2])
    out = np.empty(M.shape[0], dtype=M.dtype)
    cpu.split_rows(lambda a, b: np.sum(M[a:b], axis=1, out=out[a:b]), M.shape[0], M.size)
    return out


# Native bias gradients (row sums) by backend name.
BIAS_GRAD = {"numpy": _bias_grad_numpy}


def _bias_grad(be, dYm):
    return BIAS_GRAD.get(be.name, _bias_grad_portable)(be, dYm)


def _native_conv(be, geo, transposed):
    """The backend's whole-op conv kernels, if it has them and they take this geometry."""
    native = CONV.get(be.name)
    usable = getattr(native, "usable", None)
    if native is None or (usable is not None and not usable(be, geo, transposed)):
        return None
    return native


def _as_mat(xp, X, g):
    """(N, C, H, W) -> (g, C/g, H*W*N); free when X already lies in CHWN memory."""
    N, C, H, W = X.shape
    return xp.reshape(xp.permute_dims(X, (1, 2, 3, 0)), (g, C // g, H * W * N))


def _from_mat(xp, M, N, H, W):
    """(g, C/g, H*W*N) -> an (N, C, H, W) view."""
    return xp.permute_dims(xp.reshape(M, (M.shape[0] * M.shape[1], H, W, N)), (3, 0, 1, 2))


def _bmm(be, A, B):
    """Batched matmul over the group axis; one plain GEMM (on xpnn's CPU threads, see
    linalg.mm2d) when there is a single group."""
    if A.shape[0] == 1:
        return be.xp.reshape(mm2d(be, A[0, ...], B[0, ...]), (1, A.shape[1], B.shape[2]))
    return A @ B


def _mT(xp, A):
    return xp.matrix_transpose(A)


@quiet
class ConvNd(Function):
    """Convolution (or its adjoint, the transposed convolution) over 1 or 2 spatial dims.

    1-D inputs (N, C, L) run as 2-D with H = 1. ``geo`` holds kernel, stride, pads,
    dilation, groups and (transposed only) output_padding, all as 2-tuples.
    """

    def forward(self, X, W, b=None, geo=None, transposed=False):
        xp = self.xp
        self.one_d = X.ndim == 3
        if self.one_d:
            X = xp.reshape(X, (X.shape[0], X.shape[1], 1, X.shape[2]))
            W = xp.reshape(W, (W.shape[0], W.shape[1], 1, W.shape[2]))
        self.geo, self.transposed, self.has_b = geo, transposed, b is not None
        self.X, self.W = X, W
        native = self.native = _native_conv(self.be, geo, transposed)
        if native is not None:
            Y = native.forward(self.be, X, W, b, transposed=transposed, **geo)
        elif transposed:
            Y = self._transposed_forward(X, W, b)
        else:
            Y = self._forward(X, W, b)
        return xp.reshape(Y, (Y.shape[0], Y.shape[1], Y.shape[3])) if self.one_d else Y

    def _forward(self, X, W, b):
        xp, geo, g = self.xp, self.geo, self.geo["groups"]
        N, _, H, Wd = X.shape
        Ho, Wo = (out_size(n, k, s, p, d) for n, k, s, p, d in zip(
            (H, Wd), geo["kernel"], geo["stride"], geo["pads"], geo["dilation"]))
        self.cols = _unfold(self.be, X, g, geo, (Ho, Wo))
        Wm = xp.reshape(W, (g, W.shape[0] // g, -1))
        if g == 1:  # one GEMM, the bias added block by block on xpnn's CPU threads
            Ym = xp.reshape(mm2d(self.be, Wm[0, ...], self.cols[0, ...], b, 0),
                            (1, W.shape[0], -1))
        else:
            Ym = Wm @ self.cols
            if b is not None:
                Ym += xp.reshape(b, (g, -1, 1))  # Ym is fresh, so in place is safe and cheaper
        return _from_mat(xp, Ym, N, Ho, Wo)

    def _transposed_forward(self, X, W, b):
        xp, geo, g = self.xp, self.geo, self.geo["groups"]
        N, _, H, Wd = X.shape
        (kh, kw), (sh, sw), (dh, dw) = geo["kernel"], geo["stride"], geo["dilation"]
        (pt, pb), (pl, pr) = geo["pads"]
        Ho = (H - 1) * sh - pt - pb + dh * (kh - 1) + geo["output_padding"][0] + 1
        Wo = (Wd - 1) * sw - pl - pr + dw * (kw - 1) + geo["output_padding"][1] + 1
        Wm = xp.reshape(W, (g, W.shape[0] // g, -1))
        cols = _bmm(self.be, _mT(xp, Wm), _as_mat(xp, X, g))
        Y = _fold(self.be, cols, (N, W.shape[1] * g, Ho, Wo), geo, (H, Wd))
        return Y if b is None else Y + xp.reshape(b, (1, -1, 1, 1))

    def backward(self, dY):
        xp, X, W, geo = self.xp, self.X, self.W, self.geo
        need_x, need_w = self.needs[0], self.needs[1]
        need_b = self.has_b and self.needs[2]
        if self.one_d:
            dY = xp.reshape(dY, (dY.shape[0], dY.shape[1], 1, dY.shape[2]))
        native = self.native
        if native is not None:
            dX, dW, db = native.backward(self.be, dY, X, W, (need_x, need_w, need_b),
                                         transposed=self.transposed, **geo)
        elif self.transposed:
            dX, dW, db = self._transposed_backward(dY, need_x, need_w, need_b)
        else:
            dX, dW, db = self._backward(dY, need_x, need_w, need_b)
        if self.one_d:
            dX = None if dX is None else xp.reshape(dX, (X.shape[0], X.shape[1], X.shape[3]))
            dW = None if dW is None else xp.reshape(dW, (W.shape[0], W.shape[1], W.shape[3]))
        return (dX, dW, db) if self.has_b else (dX, dW)

    def backward_graph(self, dY):
        """The same gradients as convolutions on Tensors, recorded (conv_graph.py)."""
        return conv_backward_graph(self, dY)

    def _backward(self, dY, need_x, need_w, need_b):
        xp, W, g = self.xp, self.W, self.geo["groups"]
        dYm = _as_mat(xp, dY, g)  # (g, O/g, Ho*Wo*N)
        db = _bias_grad(self.be, dYm) if need_b else None
        Wm = xp.reshape(W, (g, W.shape[0] // g, -1))
        if need_w and need_x and g == 1:  # two GEMMs of the same work: at once if it pays
            dWm, dcols = mm2d_pair(self.be, dYm[0, ...], _mT(xp, self.cols[0, ...]),
                                   _mT(xp, Wm[0, ...]), dYm[0, ...])
            dW, dcols = xp.reshape(dWm, W.shape), dcols[None, ...]
        else:
            dW = xp.reshape(_bmm(self.be, dYm, _mT(xp, self.cols)), W.shape) if need_w \
                else None
            dcols = _bmm(self.be, _mT(xp, Wm), dYm) if need_x else None
        dX = None if dcols is None else _fold(self.be, dcols, self.X.shape, self.geo,
                                              dY.shape[2:])
        return dX, dW, db

    def _transposed_backward(self, dY, need_x, need_w, need_b):
        xp, X, W, g = self.xp, self.X, self.W, self.geo["groups"]
        N, _, H, Wd = X.shape
        db = xp.sum(dY, axis=(0, 2, 3)) if need_b else None
        colsY = _unfold(self.be, dY, g, self.geo, (H, Wd))  # (g, Cout/g*kh*kw, H*W*N)
        dW = dX = None
        if need_w:
            dW = xp.reshape(_bmm(self.be, _as_mat(xp, X, g), _mT(xp, colsY)), W.shape)
        if need_x:
            Wm = xp.reshape(W, (g, W.shape[0] // g, -1))
            dX = _from_mat(xp, _bmm(self.be, Wm, colsY), N, H, Wd)
        return dX, dW, db


# -- public functions ----------------------------------------------------------------------


def _check(op, x, weight, bias, nd, transposed, groups):
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim != nd + 2:
        names = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
        raise ShapeError(f"{op}: expected a {nd + 2}-D input {names}, got shape {x.shape}")
    if weight.ndim != nd + 2:
        raise ShapeError(f"{op}: expected a {nd + 2}-D weight, got shape {weight.shape}")
    groups = ntuple(op, "groups", groups, 1, 1)[0]
    if transposed:
        c_in, c_out = weight.shape[0], weight.shape[1] * groups
        expect = f"weight.shape[0] = {c_in}"
    else:
        c_in, c_out = weight.shape[1] * groups, weight.shape[0]
        expect = f"weight.shape[1] * groups = {weight.shape[1]} * {groups}"
    if x.shape[1] != c_in:
        raise ShapeError(f"{op}: input of shape {x.shape} has {x.shape[1]} channels, but weight"
                         f" of shape {weight.shape} expects {c_in} ({expect})")
    if c_in % groups or c_out % groups:
        raise ShapeError(f"{op}: groups={groups} must divide in_channels={c_in} and "
                         f"out_channels={c_out}")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ShapeError(f"{op}: bias of shape {tuple(bias.shape)}, expected ({c_out},)")
    for t in (weight, bias):  # before the dtype check: torch.float32 != np.float32
        if isinstance(t, TensorBase) and t._be is not x._be:
            _mixed(op, (x, t))
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and t.dtype != x.dtype:
            raise DtypeError(f"{op}: input dtype {x.dtype} differs from {name} dtype {t.dtype};"
                             " cast the input (no silent up/down-cast)")
    return x, weight, groups


def _geometry(op, x, weight, nd, stride, padding, dilation, groups, output_padding=None):
    """Validated geometry as 2-D tuples (1-D convs get a unit H axis)."""
    kernel = tuple(weight.shape[2:])
    stride = ntuple(op, "stride", stride, nd, 1)
    dilation = ntuple(op, "dilation", dilation, nd, 1)
    pads = conv_pads(op, padding, kernel, dilation, stride)
    spatial = x.shape[2:]
    if output_padding is None:  # a conv: every window must fit in the padded input
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        padded = tuple(n + p[0] + p[1] for n, p in zip(spatial, pads))
        if any(s > n for s, n in zip(span, padded)):
            raise ShapeError(f"{op}: kernel {kernel} with dilation {dilation} spans {span}, "
                             f"larger than the padded input {padded} (input shape {x.shape}, "
                             f"padding {padding})")
        output_padding = (0,) * nd
    else:
        output_padding = ntuple(op, "output_padding", output_padding, nd, 0)
        for o, s, d in zip(output_padding, stride, dilation):
            if o >= max(s, d):
                raise ShapeError(f"{op}: output_padding {output_padding} must be smaller than "
                                 f"stride {stride} or dilation {dilation}")
        for n, k, s, d, p, o in zip(spatial, kernel, stride, dilation, pads, output_padding):
            if (n - 1) * s - p[0] - p[1] + d * (k - 1) + o + 1 < 1:
                raise ShapeError(f"{op}: padding {padding} leaves no output for input shape "
                                 f"{x.shape} and kernel {kernel}")
    if nd == 1:
        kernel, stride, dilation = (1,) + kernel, (1,) + stride, (1,) + dilation
        pads, output_padding = ((0, 0),) + pads, (0,) + output_padding
    return {"kernel": kernel, "stride": stride, "pads": pads, "dilation": dilation,
            "groups": groups, "output_padding": output_padding}


def _conv(op, nd, x, weight, bias, stride, padding, dilation, groups):
    x, weight, groups = _check(op, x, weight, bias, nd, False, groups)
    geo = _geometry(op, x, weight, nd, stride, padding, dilation, groups)
    args = (x, weight) if bias is None else (x, weight, bias)
    return ConvNd.apply(*args, geo=geo, transposed=False)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    Args:
        input: (N, C_in, H, W), or unbatched (C_in, H, W).
        weight: (C_out, C_in / groups, kh, kw).
        bias: (C_out,) or None.
        stride, dilation: int or (h, w), >= 1.
        padding: int or (h, w) zeros on both sides, or "same" (stride 1) / "valid".
        groups: splits channels into independent groups; must divide C_in and C_out.
    Returns:
        (N, C_out, Ho, Wo) (unbatched: (C_out, Ho, Wo)), Ho = (H + 2p - d(kh - 1) - 1) // s
        + 1; the dtype of input.
    """
    if isinstance(input, TensorBase) and input.ndim == 3:  # unbatched, as PyTorch accepts
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``.

    Args:
        input: (N, C_in, L) or unbatched (C_in, L); weight: (C_out, C_in / groups, k); bias:
            (C_out,) or None.
        stride, padding, dilation, groups: as in :func:`conv2d`, ints.
    Returns:
        (N, C_out, Lo) (unbatched: (C_out, Lo)), Lo = (L + 2p - d(k - 1) - 1) // s + 1.
    """
    if isinstance(input, TensorBase) and input.ndim == 2:  # unbatched, as PyTorch accepts
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def _conv_t(op, nd, x, weight, bias, stride, padding, output_padding, groups, dilation):
    x, weight, groups = _check(op, x, weight, bias, nd, True, groups)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple, got {padding!r}")
    geo = _geometry(op, x, weight, nd, stride, padding, dilation, groups, output_padding)
    args = (x, weight) if bias is None else (x, weight, bias)
    return ConvNd.apply(*args, geo=geo, transposed=True)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 2-D convolution (the gradient of conv2d w.r.t. its input), as PyTorch's.

    Args:
        input: (N, C_in, H, W), or unbatched (C_in, H, W) (then the output has no N either).
        weight: (C_in, C_out / groups, kh, kw).
        bias: (C_out,) or None.
        stride, padding, dilation, groups: those of the conv this one is the adjoint of.
        output_padding: extra rows/cols on the bottom/right, < max(stride, dilation).
    Returns:
        (N, C_out, Ho, Wo), Ho = (H - 1)s - 2p + d(kh - 1) + output_padding + 1.
    """
    if isinstance(input, TensorBase) and input.ndim == 3:  # unbatched, as PyTorch accepts
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    return _conv_t("conv_transpose2d", 2, input, weight, bias, stride, padding,
                   output_padding, groups, dilation)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 1-D convolution; input (N, C_in, L) or unbatched (C_in, L), weight
    (C_in, C_out / groups, k)."""
    if isinstance(input, TensorBase) and input.ndim == 2:  # unbatched, as PyTorch accepts
        return conv_transpose1d(input.unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    return _conv_t("conv_transpose1d", 1, input, weight, bias, stride, padding,
                   output_padding, groups, dilation)


"""3-D convolutions (conv3d, conv_transpose3d), built from the 2-D ops: one conv2d
(conv_transpose2d) per depth tap of the kernel, over all output (input) depth slices at
once, so they need no kernel and no backward of their own (autograd composes the 2-D
nodes'). A fused 3-D node in conv.py would be faster.
"""
from __future__ import annotations

from ..autograd import as_tensor
from .conv import _check, conv2d, conv_pads, conv_transpose2d, ntuple
from .._errors import ShapeError
from .padding import pad
from .shape import permute, reshape, squeeze, stack, unsqueeze


def _batched(op, x):
    """(x as (N, C, D, H, W), whether it was an unbatched (C, D, H, W) input)."""
    x = as_tensor(x, op=op)
    if x.ndim not in (4, 5):
        raise ShapeError(f"{op}: expected a 5-D input (N, C, D, H, W) or a 4-D unbatched "
                         f"input (C, D, H, W), got shape {x.shape}")
    return (unsqueeze(x, 0), True) if x.ndim == 4 else (x, False)


def _depth_slices(x, start, step, count):
    """x[:, :, start::step][:count] of an (N, C, D, H, W) tensor, as (N * count, C, H, W)."""
    every = slice(None)
    part = x[every, every, slice(start, start + step * (count - 1) + 1, step), every, every]
    N, C, _, H, W = part.shape
    return reshape(permute(part, (0, 2, 1, 3, 4)), (N * count, C, H, W))


def _from_slices(y, N, count):
    """(N * count, O, H, W) -> (N, O, count, H, W)."""
    return permute(reshape(y, (N, count) + tuple(y.shape[1:])), (0, 2, 1, 3, 4))


def _finish(y, bias, unbatched):
    if bias is not None:
        y = y + reshape(bias, (1, -1, 1, 1, 1))
    return squeeze(y, 0) if unbatched else y


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation, as ``torch.nn.functional.conv3d``.

    Args:
        input: (N, C_in, D, H, W), or unbatched (C_in, D, H, W).
        weight: (C_out, C_in / groups, kd, kh, kw).
        bias: (C_out,) or None.
        stride, dilation: int or (d, h, w), >= 1.
        padding: int or (d, h, w) zeros on both sides, or "same" (stride 1) / "valid".
        groups: splits channels into independent groups; must divide C_in and C_out.
    Returns:
        (N, C_out, Do, Ho, Wo) (unbatched: without N), Do = (D + 2p - d(kd - 1) - 1) // s
        + 1; the dtype of input.
    """
    op = "conv3d"
    x, unbatched = _batched(op, input)
    x, w, groups = _check(op, x, weight, bias, 3, False, groups)
    kernel = tuple(w.shape[2:])
    stride = ntuple(op, "stride", stride, 3, 1)
    dilation = ntuple(op, "dilation", dilation, 3, 1)
    (d0, d1), (h0, h1), (w0, w1) = conv_pads(op, padding, kernel, dilation, stride)
    if h0 == h1 and w0 == w1:  # conv2d pads H and W itself
        hw = (h0, w0)
        if d0 or d1:
            x = pad(x, (0, 0, 0, 0, d0, d1))
    else:
        hw = 0
        x = pad(x, (w0, w1, h0, h1, d0, d1))
    kd, (sd, sh, sw), (dd, dh, dw) = kernel[0], stride, dilation
    N, D = x.shape[0], x.shape[2]
    Do = (D - dd * (kd - 1) - 1) // sd + 1
    if Do < 1:
        raise ShapeError(f"{op}: kernel depth {kd} with dilation {dd} spans more than the "
                         f"padded input depth {D} (input shape {x.shape})")
    y = None
    for t in range(kd):
        part = conv2d(_depth_slices(x, t * dd, sd, Do), w[:, :, t, :, :], None, (sh, sw), hw,
                      (dh, dw), groups)
        y = part if y is None else y + part
    return _finish(_from_slices(y, N, Do), bias, unbatched)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 3-D convolution, the adjoint of :func:`conv3d`, as
    ``torch.nn.functional.conv_transpose3d``.

    Args:
        input: (N, C_in, D, H, W), or unbatched (C_in, D, H, W).
        weight: (C_in, C_out / groups, kd, kh, kw); bias: (C_out,) or None.
        stride, padding, dilation: int or (d, h, w) (padding: ints only).
        output_padding: extra slices at the far end of each axis, < max(stride, dilation).
    Returns:
        (N, C_out, Do, Ho, Wo), Do = (D - 1)s - 2p + d(kd - 1) + op + 1.
    """
    op = "conv_transpose3d"
    x, unbatched = _batched(op, input)
    x, w, groups = _check(op, x, weight, bias, 3, True, groups)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple, got {padding!r}")
    kd = w.shape[2]
    sd, sh, sw = ntuple(op, "stride", stride, 3, 1)
    dd, dh, dw = ntuple(op, "dilation", dilation, 3, 1)
    pd, ph, pw = ntuple(op, "padding", padding, 3, 0)
    od, oh, ow = ntuple(op, "output_padding", output_padding, 3, 0)
    if any(o >= max(s, d) for o, s, d in ((od, sd, dd), (oh, sh, dh), (ow, sw, dw))):
        raise ShapeError(f"{op}: output_padding {(od, oh, ow)} must be smaller than stride "
                         f"{(sd, sh, sw)} or dilation {(dd, dh, dw)}")
    N, D = x.shape[0], x.shape[2]
    full = (D - 1) * sd + dd * (kd - 1) + 1 + od  # before cropping pd at both ends
    if full - 2 * pd < 1:
        raise ShapeError(f"{op}: padding {padding} leaves no output depth for input of shape "
                         f"{x.shape}")
    slices = _depth_slices(x, 0, 1, D)
    span = (D - 1) * sd + 1
    y = None
    for t in range(kd):
        part = _from_slices(conv_transpose2d(slices, w[:, :, t, :, :], None, (sh, sw),
                                             (ph, pw), (oh, ow), groups, (dh, dw)), N, D)
        # (N, O, D, Ho, Wo): input depth i lands at i * sd + t * dd
        if sd > 1:  # spread the D slices sd apart: sd - 1 zero slices after each
            zero = part.new_zeros(part.shape)
            part = reshape(stack([part] + [zero] * (sd - 1), 3),
                           tuple(part.shape[:2]) + (D * sd,) + tuple(part.shape[3:]))
            part = part[:, :, :span, :, :]
        part = pad(part, (0, 0, 0, 0, t * dd, full - t * dd - span))
        y = part if y is None else y + part
    return _finish(y[:, :, pd:full - pd, :, :], bias, unbatched)

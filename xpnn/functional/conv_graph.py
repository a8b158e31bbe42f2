"""The recorded backward of the convolutions (``ConvNd.backward_graph``), for create_graph.

Both gradients of a convolution are convolutions again, written here with ``ConvNd`` itself
on Tensors, so a gradient taken with create_graph=True is recorded and can be differentiated
once more (to any order). With C the conv of stride s, pads p, dilation d, groups g:

    conv:            dX = C_W^T dY  (a transposed conv of dY with W)
                     dW = the conv of X (batch and channels swapped) with dY as the weight,
                          stride d and dilation s, cropped to the kernel size
    conv_transpose:  Y = C_W^T X, so dX = C_W dY and dW = the dW above with the roles of
                     input (dY) and output gradient (X) swapped

The node class is taken from the node (``type(node).apply``), so this file needs no import
of conv.py. Asymmetric pads (padding="same" with an even kernel) go through a transposed
conv without pads and a crop, as the native kernels pad only symmetrically.
"""
from __future__ import annotations

from .first_order import link
from .reduce_basic import sum as _sum
from .shape import permute, reshape, squeeze, unsqueeze


def conv_backward_graph(node, dY):
    """(dX, dW[, db]) of a ``ConvNd`` node as recorded Tensors (None where not needed)."""
    X, W = node.inputs[0], node.inputs[1]
    geo, one_d = node.geo, node.one_d
    if one_d:  # the node runs 1-D convs as 2-D with a unit H axis
        X, W, dY = unsqueeze(X, 2), unsqueeze(W, 2), unsqueeze(dY, 2)
    need_x, need_w = node.needs[0], node.needs[1]
    dX = dW = db = None
    apply = type(node).apply
    if node.transposed:
        if need_x:
            dX = apply(dY, W, geo=_geo(geo), transposed=False)
        if need_w:
            dW = _weight_grad(apply, dY, X, W.shape, geo)
    else:
        if need_x:
            dX = _input_grad(apply, dY, W, X.shape, geo)
        if need_w:
            dW = _weight_grad(apply, X, dY, W.shape, geo)
    if node.has_b and node.needs[2]:
        # an output of PyTorch's convolution_backward node: requires grad where X or W
        # does, differentiates to None
        db = link(_sum(dY, (0, 2, 3)), node.inputs[0], node.inputs[1], zeros=False)
    if one_d:
        dX = None if dX is None else squeeze(dX, 2)
        dW = None if dW is None else squeeze(dW, 2)
    return (dX, dW, db) if node.has_b else (dX, dW)


def _geo(geo, **changes):
    out = dict(geo)
    out["output_padding"] = (0, 0)
    out.update(changes)
    return out


def _input_grad(apply, dY, W, x_shape, geo):
    """C_W^T dY of the shape of X: the transposed conv with the output padding that gives
    back the rows and columns no window reached."""
    (pt, pb), (pl, pr) = geo["pads"]
    (kh, kw), (sh, sw), (dh, dw) = geo["kernel"], geo["stride"], geo["dilation"]
    H, Wd = x_shape[2:]
    Ho, Wo = dY.shape[2:]
    full_h = (Ho - 1) * sh + dh * (kh - 1) + 1  # the padded rows the windows cover
    full_w = (Wo - 1) * sw + dw * (kw - 1) + 1
    out_pad = (H + pt + pb - full_h, Wd + pl + pr - full_w)  # < stride: windows fit
    if pt == pb and pl == pr:
        return apply(dY, W, geo=_geo(geo, output_padding=out_pad), transposed=True)
    full = apply(dY, W, geo=_geo(geo, pads=((0, 0), (0, 0)), output_padding=out_pad),
                 transposed=True)  # the whole padded input, cropped below
    return full[:, :, pt:pt + H, pl:pl + Wd]


def _weight_grad(apply, X, dY, w_shape, geo):
    """dW[o, c, i, j] = sum over n, y, x of dY[n, o, y, x] Xpad[n, c, y s + i d, x s + j d]:
    a conv of X (C/g as the batch, g*N as the channels) with dY as an (O, N) weight, stride d
    and dilation s, cropped to the kernel."""
    g = geo["groups"]
    N, C, H, Wd = X.shape
    Ho, Wo = dY.shape[2], dY.shape[3]
    Xt = reshape(permute(reshape(X, (N, g, C // g, H, Wd)), (2, 1, 0, 3, 4)),
                 (C // g, g * N, H, Wd))
    Wt = permute(dY, (1, 0, 2, 3))  # (O, N, Ho, Wo): group k owns rows k O/g to (k+1) O/g
    spec = _geo(geo, kernel=(Ho, Wo), stride=geo["dilation"], dilation=geo["stride"])
    out = apply(Xt, Wt, geo=spec, transposed=False)  # (C/g, O, >= kh, >= kw)
    kh, kw = w_shape[2], w_shape[3]
    return permute(out, (1, 0, 2, 3))[:, :, :kh, :kw]

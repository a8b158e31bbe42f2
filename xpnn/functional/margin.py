"""Multi-class margin losses (multi_margin_loss, multilabel_margin_loss) and the bilinear
map, composed of differentiable ops (labels become masks; no host reads of labels)."""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError, DtypeError, IndexRangeError, ShapeError
from ..autograd import as_tensor, raw
from .distance import _reduction
from .elementwise import add, clamp, mul, sub, where
from .linalg import matmul
from .loss import reduce_loss
from .reduce import sum
from .shape import permute, reshape, unsqueeze


def _scores(op, input, target):
    """(input as (N, C), the int target array as (N,) or (N, C), whether unbatched)."""
    x = as_tensor(input, op=op)
    if not x._be.is_floating(x.dtype):
        raise DtypeError(f"{op}: expected a floating input, got {B.dtype_name(x.dtype)}")
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ShapeError(f"{op}: expected a non-empty input (N, C) or (C,), got shape "
                         f"{x.shape}")
    y = raw(target, x, op, "target")
    if not x.xp.isdtype(y.dtype, "integral"):
        raise DtypeError(f"{op}: target must hold integer class indices, got "
                        f"{B.dtype_name(y.dtype)}")
    unbatched = x.ndim == 1
    return (unsqueeze(x, 0) if unbatched else x), y, unbatched


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """The multi-class hinge loss, as ``torch.nn.functional.multi_margin_loss``: per sample,
    sum over classes j != y of w[y] * max(0, margin - x[y] + x[j])^p, divided by C.

    Args:
        input: (N, C) or (C,) scores, floating.
        target: (N,) class indices in [0, C) (or () when N is 1).
        p: 1 or 2.
        margin: the margin.
        weight: (C,) per-class weights, or None.
        reduction: "mean", "sum" or "none" (size_average/reduce: PyTorch's legacy pair).
    Returns:
        A scalar, or with "none" (N,) (() for a 0-d target).
    """
    op = "multi_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    if p not in (1, 2):
        raise ArgumentError(f"{op}: only p == 1 and p == 2 are supported, got {p!r}")
    x, y, _ = _scores(op, input, target)
    N, C = x.shape
    xp, dev = x.xp, x._be.device
    if y.ndim > 1 or math.prod(y.shape) != N:  # PyTorch: 0-d or 1-d, one label per sample
        raise ShapeError(f"{op}: target of shape {tuple(y.shape)} does not match input of "
                         f"shape {tuple(input.shape)}: expected ({N},)")
    out_shape = (N,) if y.ndim else ()  # "none" keeps the target's rank, as PyTorch
    y = xp.reshape(y, (N, 1))
    if x._be.on_host and bool(xp.any((y < 0) | (y >= C))):  # free in host memory only
        raise IndexRangeError(f"{op}: target labels must be in [0, {C})")
    hit = y == xp.reshape(xp.arange(C, device=dev), (1, C))  # (N, C): the target class
    x_y = sum(where(hit, x, 0.0), dim=1, keepdim=True)
    z = clamp(add(sub(x, x_y), float(margin)), min=0.0)
    if p == 2:
        z = mul(z, z)
    z = where(hit, 0.0, z)
    if weight is not None:
        w = raw(weight, x, op, "weight")
        if tuple(w.shape) != (C,):
            raise ShapeError(f"{op}: weight of shape {tuple(w.shape)}, expected ({C},)")
        w_y = xp.sum(xp.where(hit, xp.reshape(w, (1, C)), xp.zeros((), dtype=w.dtype,
                                                                     device=dev)),
                     axis=1, keepdims=True)
        z = mul(z, x._result(xp.astype(w_y, x.dtype), x._be))
    loss = sum(z, dim=1) / C
    return reduce_loss(reshape(loss, out_shape), reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """The multi-label hinge loss, as ``torch.nn.functional.multilabel_margin_loss``: per
    sample, sum over its target classes j and the other classes i of
    max(0, 1 - (x[j] - x[i])), divided by C.

    Args:
        input: (N, C) or (C,) scores, floating.
        target: int, input's shape: the sample's target classes, ended by the first -1
            (the entries after it are ignored).
        reduction: "mean", "sum" or "none" (size_average/reduce: PyTorch's legacy pair).
    Returns:
        A scalar, or (N,) (() for an unbatched input) with "none".
    """
    op = "multilabel_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x, y, unbatched = _scores(op, input, target)
    N, C = x.shape
    xp, dev = x.xp, x._be.device
    if tuple(y.shape) != tuple(input.shape):
        raise ShapeError(f"{op}: target of shape {tuple(y.shape)} must have the input's shape "
                         f"{tuple(input.shape)}")
    y = xp.reshape(xp.astype(y, xp.int64), (N, C))
    pos = xp.arange(C, device=dev)
    ended = y < 0
    first = xp.where(xp.any(ended, axis=1), xp.argmax(xp.astype(ended, xp.int8), axis=1), C)
    valid = pos[None, :] < first[:, None]  # (N, K): the labels before the first -1
    label = (y[:, :, None] == pos[None, None, :]) & valid[:, :, None]  # (N, K, C)
    if x._be.on_host and bool(xp.any(valid & (y >= C))):  # free in host memory only
        raise IndexRangeError(f"{op}: target labels must be in [0, {C}) before the first -1")
    is_target = xp.any(label, axis=1)  # (N, C)
    x_k = sum(where(label, unsqueeze(x, 1), 0.0), dim=2)  # (N, K): the score of label k
    z = clamp(add(sub(unsqueeze(x, 1), unsqueeze(x_k, 2)), 1.0), min=0.0)  # (N, K, C)
    z = where(valid[:, :, None] & ~is_target[:, None, :], z, 0.0)
    loss = sum(z, dim=(1, 2)) / C
    return reduce_loss(reshape(loss, ()) if unbatched else loss, reduction)


def bilinear(input1, input2, weight, bias=None):
    """y = x1^T A x2 + b, one (in1, in2) matrix A per output feature, as
    ``torch.nn.functional.bilinear``.

    Args:
        input1: (..., in1); input2: (..., in2) with the same leading dims.
        weight: (out, in1, in2); bias: (out,) or None.
    Returns:
        (..., out).
    """
    op = "bilinear"
    x1 = as_tensor(input1, op=op)
    x2 = as_tensor(input2, like=x1, op=op)
    w = as_tensor(weight, like=x1, op=op)
    if w.ndim != 3 or x1.ndim == 0 or x2.ndim == 0 or x1.shape[-1] != w.shape[1] or \
            x2.shape[-1] != w.shape[2] or x1.shape[:-1] != x2.shape[:-1]:
        raise ShapeError(f"{op}: inputs of shapes {x1.shape} and {x2.shape} and weight of "
                         f"shape {tuple(w.shape)} must be (..., in1), (..., in2) with the same "
                         "leading dims and (out, in1, in2)")
    if bias is not None and tuple(bias.shape) != (w.shape[0],):
        raise ShapeError(f"{op}: bias of shape {tuple(bias.shape)}, expected ({w.shape[0]},)")
    O, I1, I2 = w.shape
    # one GEMM: x1 (..., I1) @ A (I1, O * I2), then a product with x2 summed over I2
    A = reshape(permute(w, (1, 0, 2)), (I1, O * I2))
    Z = reshape(matmul(x1, A), tuple(x1.shape[:-1]) + (O, I2))
    y = sum(mul(Z, unsqueeze(x2, -2)), dim=-1)
    return y if bias is None else add(y, bias)

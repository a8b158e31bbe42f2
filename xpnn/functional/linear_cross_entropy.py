"""``linear_cross_entropy`` (PyTorch 2.13): cross-entropy of a linear map's logits, with
an optional chunked path that never holds the whole (N, C) logits (an LLM's vocabulary head:
C in the tens of thousands).

The reference path is what PyTorch documents the op to equal: ``cross_entropy(linear(input,
weight, bias), target, ...)``, with a K-dim weight (C, d1, ..., in) giving (N, C, d1, ...)
logits. With ``options`` (a :class:`LinearCrossEntropyOptions`), the batch is cut into
chunks of rows and each chunk's loss is a checkpointed call (xpnn.utils.checkpoint): its
logits are made in the forward and dropped, made again in the backward and dropped after its
gradient, so at most one chunk's (rows, C) logits live at a time. Chunk rows: the options'
``batch_chunk_size``, else PyTorch's "aspect_ratio" rule (a chunk's logits about the size
of the input: next_pow2(ceil(N / ceil(C / in_features)))). The chunked path takes 2-D input
with class-index targets and a 2-D weight; other calls take the reference path with a
warning, as PyTorch's do. ``acc_policy``/``acc_dtype`` (PyTorch's accumulation choices) are
accepted and change nothing: xpnn accumulates in the input's dtype.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

from ..autograd import TensorBase, as_tensor, is_grad_enabled
from .._errors import ShapeError
from .linalg import linear
from .loss import cross_entropy
from .shape import cat, reshape


@dataclasses.dataclass(frozen=True)
class LinearCrossEntropyOptions:
    """Opt in to :func:`linear_cross_entropy`'s chunked path (module docstring); the fields
    are PyTorch's."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        size = self.batch_chunk_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or
                                 size < 1):
            raise ValueError(f"LinearCrossEntropyOptions: batch_chunk_size must be a "
                             f"positive int or None, got {size!r}")
        method = self.chunking_method
        if method is not None and method != "auto" and not method.startswith("aspect_ratio"):
            raise ValueError(f"LinearCrossEntropyOptions: chunking_method must be None, "
                             f"'auto' or 'aspect_ratio[:k]', got {method!r}")
        if self.acc_policy not in ("accurate", "balanced", "compact", "auto"):
            raise ValueError(f"LinearCrossEntropyOptions: acc_policy must be one of "
                             f"'accurate', 'balanced', 'compact', 'auto', got "
                             f"{self.acc_policy!r}")


def _logits(x, weight, bias):
    """linear() for a 2-D weight; for (C, d1, ..., in), (N, C, d1, ...) logits."""
    if weight.ndim == 2:
        return linear(x, weight, bias)
    out_shape = tuple(weight.shape[:-1])
    flat = linear(x, reshape(weight, (-1, weight.shape[-1])),
                  None if bias is None else reshape(bias, (-1,)))
    return reshape(flat, tuple(x.shape[:-1]) + out_shape)


def _chunk_rows(options, n, c, d):
    if options.batch_chunk_size is not None:
        return options.batch_chunk_size
    ratio = max(1, math.ceil(c / max(d, 1)))
    rows = math.ceil(n / ratio)
    return 1 << max(0, (rows - 1).bit_length())  # the next power of two


def _chunk_loss(x, target, weight, bias, class_weight, ignore_index, label_smoothing,
                reduction):
    """One chunk's loss: its rows' losses ("none") or their sum ("sum")."""
    return cross_entropy(linear(x, weight, bias), target, class_weight,
                         ignore_index=ignore_index, reduction=reduction,
                         label_smoothing=label_smoothing)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0,
                         options=None):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``.

    Args:
        input: (N, in) or (in,).
        linear_weight: (C, in), or (C, d1, ..., in) for a K-dim loss.
        target: class indices (N,) / (N, d1, ...), or class probabilities.
        linear_bias: (C,) or (C, d1, ...), or None.
        weight, reduction, label_smoothing: as in cross_entropy.
        ignore_index: None means -100, as in cross_entropy.
        options: a LinearCrossEntropyOptions for the chunked path (module docstring).
    Returns:
        the loss, as cross_entropy's.
    """
    name = "linear_cross_entropy"
    x = as_tensor(input, like=linear_weight if isinstance(linear_weight, TensorBase) else None,
                  op=name)
    if x.ndim not in (1, 2):
        raise ShapeError(f"{name}: expected input with dimensionality 1 or 2, got {x.ndim} "
                         f"(shape {tuple(x.shape)})")
    if options is not None and not isinstance(options, LinearCrossEntropyOptions):
        raise TypeError(f"{name}: options must be a LinearCrossEntropyOptions or None, got "
                        f"{type(options).__name__}")
    ignore = -100 if ignore_index is None else ignore_index
    if options is not None:
        chunked = x.ndim == 2 and linear_weight.ndim == 2 and target.ndim == 1 and \
            not target._be.is_inexact(target.dtype) and \
            (linear_bias is None or linear_bias.ndim == 1)
        if not chunked:
            warnings.warn(f"{name}: the chunked path takes 2-D input, class-index targets "
                          f"and a 2-D weight; this call takes the reference path",
                          UserWarning, stacklevel=2)
        elif is_grad_enabled():
            return _chunked(x, linear_weight, target, linear_bias, weight, reduction, ignore,
                            label_smoothing, options)
    return cross_entropy(_logits(x, linear_weight, linear_bias), target, weight,
                         ignore_index=ignore, reduction=reduction,
                         label_smoothing=label_smoothing)


def _chunked(x, w, target, bias, class_weight, reduction, ignore, label_smoothing, options):
    from ..utils.checkpoint import checkpoint  # utils sits above functional
    n = x.shape[0]
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"linear_cross_entropy: reduction must be 'mean', 'sum' or 'none', "
                         f"got {reduction!r}")
    if n == 0:  # no rows, no chunks: the whole (empty) batch's loss, as the reference's
        return _chunk_loss(x, target, w, bias, class_weight, ignore, label_smoothing,
                           reduction)
    rows = _chunk_rows(options, n, w.shape[0], w.shape[1])
    part = "none" if reduction == "none" else "sum"  # a mean divides the sum at the end
    parts = [checkpoint(_chunk_loss, x[a:a + rows], target[a:a + rows], w, bias,
                        class_weight, ignore, label_smoothing, part, use_reentrant=False)
             for a in range(0, n, rows)]
    if reduction == "none":
        return cat(parts)
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    if reduction == "sum":
        return total
    keep = target != ignore  # the weighted mean's denominator, as cross_entropy's
    count = (class_weight[target.masked_fill(~keep, 0)] * keep).sum() \
        if class_weight is not None else keep.sum()
    return total / count.to(total.dtype)


"""Ops across the channel axis of (N, C, ...) inputs: local_response_norm (built from
average pooling over channels, as PyTorch builds it) and channel_shuffle (a reshape and
a transpose). Their gradients come from the ops they are made of."""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import as_tensor
from .elementwise import add, div, mul, pow
from .padding import pad
from .pool import avg_pool2d
from .shape import reshape, transpose


def _channels_first(op, input, name, count):
    """``input`` as a Tensor (N, C, *) with 3 or more dims, and ``count`` an int >= 1."""
    x = as_tensor(input, op=op)
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input (N, C, *) with 3 or more dims, got shape "
                         f"{x.shape}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{op}: {name} must be an int >= 1, got {count!r}")
    return x


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalization across channels (Krizhevsky et al. 2012), as
    ``torch.nn.functional.local_response_norm``:
    y_c = x_c / (k + alpha / size * sum of x^2 over channels c - size//2 .. c + (size-1)//2)
    ^ beta, channels outside the input counting as zeros.

    Args:
        input: (N, C, *) with at least one dim after C, floating.
        size: the number of neighbouring channels, an int >= 1.
        alpha, beta, k: the formula's constants.
    Returns:
        Tensor shaped like input.
    """
    op = "local_response_norm"
    x = _channels_first(op, input, "size", size)
    if not x._be.is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating input, got {B.dtype_name(x.dtype)}")
    if math.prod(x.shape) == 0:
        return x
    N, C = x.shape[:2]
    sq = reshape(mul(x, x), (N, 1, C, -1))  # channels as rows of one plane per sample
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    mean = reshape(avg_pool2d(sq, (size, 1), stride=1), x.shape)
    return div(x, pow(add(mul(mean, float(alpha)), float(k)), float(beta)))


def channel_shuffle(input, groups):
    """Interleave the channels of ``groups`` groups (ShuffleNet, Zhang et al. 2018), as
    ``torch.nn.functional.channel_shuffle``: (N, g * c, *) viewed (N, g, c, *), transposed
    to (N, c, g, *).

    Args:
        input: (N, C, *) with at least 3 dims; C divisible by groups.
        groups: an int >= 1.
    Returns:
        Tensor shaped like input.
    """
    op = "channel_shuffle"
    x = _channels_first(op, input, "groups", groups)
    N, C = x.shape[:2]
    if C % groups:
        raise ValueError(f"{op}: the {C} channels of input {x.shape} are not divisible by "
                         f"groups={groups}")
    rest = tuple(x.shape[2:])
    y = transpose(reshape(x, (N, groups, C // groups) + rest), 1, 2)
    return reshape(y, x.shape)

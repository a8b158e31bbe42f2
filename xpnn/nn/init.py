"""Parameter initialisation, drawn on the host from the seeded NumPy Generator.

Drawing on the host and then copying makes one seed give bit-identical weights on every
backend. Each ``*_`` function fills a Tensor/Parameter in place and returns it.
"""
from __future__ import annotations

import math

from .. import backend as B


def _fill(tensor, host):
    name = B.dtype_name(tensor.dtype)
    if name in ("float32", "float64", "float16"):
        host = host.astype(name)  # round on the host, so every backend gets the same bits
    tensor._assign(tensor._be.asarray(host, dtype=tensor.dtype))
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for an activation (PyTorch's table)."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def fans(shape):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if len(shape) < 2:
        raise ValueError(f"fan in/out need a weight with at least 2 dims, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def uniform_(tensor, a=0.0, b=1.0):
    return _fill(tensor, B.host_rng().uniform(a, b, size=tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    return _fill(tensor, B.host_rng().normal(mean, std, size=tensor.shape))


def constant_(tensor, value):
    return _fill(tensor, B.np.full(tensor.shape, value, dtype=B.np.float64))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot & Bengio (2010): U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor.shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = fans(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fans(tensor.shape)[0 if mode == "fan_in" else 1]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. (2015): U(-b, b), b = gain * sqrt(3 / fan)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))

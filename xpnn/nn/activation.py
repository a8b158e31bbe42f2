"""Activation modules: thin wrappers over xpnn.functional, holding only their settings."""
from __future__ import annotations

import warnings

from .. import functional as F
from .._errors import ArgumentError
from . import init as nn_init
from .module import Module, check_int, new_parameter


class ReLU(Module):
    """max(x, 0). ``inplace`` is accepted for PyTorch code (here on every activation): the
    values are the same, the input is not overwritten."""

    @property
    def _max_pool_commutes(self):  # Sequential may run a following max pooling first
        return type(self).forward is ReLU.forward  # not a subclass with a forward of its own

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return _inplace(self.inplace, "")


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = float(negative_slope), bool(inplace)

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + _inplace(self.inplace)


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = float(alpha), bool(inplace)

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + _inplace(self.inplace)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, input):
        return F.silu(input)

    def extra_repr(self):
        return _inplace(self.inplace, "")


class Sigmoid(Module):
    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        if beta <= 0:
            raise ValueError(f"Softplus: beta must be > 0, got {beta!r}")
        self.beta, self.threshold = beta, threshold  # as given, as PyTorch keeps (and prints) them

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input):
        return F.log_softmax(input, self.dim)


# -- more activations, with torch.nn's signatures ----------------------------------------------
# ``inplace=True`` is accepted for PyTorch code and gives the same values; the input is not
# overwritten (xpnn's ops return new tensors).
def _num(layer, arg, value):
    """``value`` itself (kept as given, as torch.nn keeps it) if it is a real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{layer}: {arg} must be a number, got {value!r}")
    return value


def _inplace(flag, sep=", "):
    return f"{sep}inplace=True" if flag else ""


class Hardtanh(Module):
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None,
                 max_value=None):
        super().__init__()
        if min_value is not None or max_value is not None:  # PyTorch's old names
            warnings.warn("keyword argument `min_value`/`max_value` is deprecated and "
                          "renamed to `min_val`/`max_val`", DeprecationWarning, stacklevel=2)
            min_val = min_val if min_value is None else min_value
            max_val = max_val if max_value is None else max_value
        self.min_val = _num(type(self).__name__, "min_val", min_val)
        self.max_val = _num(type(self).__name__, "max_val", max_val)
        if self.max_val <= self.min_val:
            raise ValueError(f"{type(self).__name__}: max_val {max_val!r} must be greater "
                             f"than min_val {min_val!r}")
        self.inplace = bool(inplace)

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace(self.inplace)}"


class ReLU6(Hardtanh):
    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return _inplace(self.inplace, "")


class _Plain(Module):
    """An activation without settings (``inplace`` accepted, as torch.nn's)."""

    fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, input):
        return type(self).fn(input)

    def extra_repr(self):
        return _inplace(self.inplace, "")


class Mish(_Plain):
    fn = staticmethod(F.mish)


class SELU(_Plain):
    fn = staticmethod(F.selu)


class Hardsigmoid(_Plain):
    fn = staticmethod(F.hardsigmoid)


class Hardswish(_Plain):
    fn = staticmethod(F.hardswish)


class Softsign(Module):
    def forward(self, input):
        return F.softsign(input)


class LogSigmoid(Module):
    def forward(self, input):
        return F.logsigmoid(input)


class Tanhshrink(Module):
    def forward(self, input):
        return F.tanhshrink(input)


class CELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = _num("CELU", "alpha", alpha)
        if self.alpha == 0:
            raise ValueError("CELU: alpha must not be 0")
        self.inplace = bool(inplace)

    def forward(self, input):
        return F.celu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace(self.inplace)}"


class Threshold(Module):
    """y = x where x > threshold, else value."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold = _num("Threshold", "threshold", threshold)
        self.value = _num("Threshold", "value", value)
        self.inplace = bool(inplace)

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{_inplace(self.inplace)}"


class Hardshrink(Module):
    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = _num(type(self).__name__, "lambd", lambd)

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    def __init__(self, lambd=0.5):
        super().__init__(lambd)
        if self.lambd < 0:  # torch raises RuntimeError (at the call)
            raise ArgumentError(f"Softshrink: lambd must be >= 0, got {lambd!r}")

    def forward(self, input):
        return F.softshrink(input, self.lambd)


class PReLU(Module):
    """x where x > 0, else a * x with learned slopes a (He et al. 2015).

    Args:
        num_parameters: 1 (one slope) or the channel count (dim 1 of the input).
        init: the slopes' initial value.
        device, dtype, backend: where the parameter lives.
    Parameters: ``weight`` (num_parameters,).
    """

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None, *, backend=None):
        super().__init__()
        self.num_parameters = check_int("PReLU", "num_parameters", num_parameters)
        self.init = _num("PReLU", "init", init)
        self.weight = new_parameter((num_parameters,), backend, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        nn_init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Softmin(Module):
    def __init__(self, dim=None):
        super().__init__()
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int)):
            raise ValueError(f"Softmin: dim must be an int or None, got {dim!r}")
        self.dim = dim

    def forward(self, input):
        return F.softmin(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class GLU(Module):
    """a * sigmoid(b) for the halves a, b of the input along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(f"GLU: dim must be an int, got {dim!r}")
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class RReLU(Module):
    """Randomized leaky ReLU: in training, each negative entry is scaled by a slope drawn
    from U(lower, upper); in eval, by the mean slope (lower + upper) / 2."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        lower, upper = _num("RReLU", "lower", lower), _num("RReLU", "upper", upper)
        if not lower <= upper:
            raise ValueError(f"RReLU: lower bound {lower!r} must be <= upper bound {upper!r}")
        self.lower, self.upper, self.inplace = lower, upper, bool(inplace)

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + _inplace(self.inplace)


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W) at every position."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             f"(shape {input.shape})")
        return F.softmax(input, -3)

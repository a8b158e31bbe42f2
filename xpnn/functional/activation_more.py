"""More activations, PyTorch's formulas: the :class:`_Local` machinery (Y = f(X) and f'(X)
in one pass) and hardtanh, threshold, shrinks, Mish, softsign, logsigmoid, SELU/CELU,
hardsigmoid/hardswish, tanhshrink, then PReLU and GLU."""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, as_tensor
from .broadcast import quiet
from .first_order import first_order_only, link
from .._errors import ArgumentError, ShapeError
from .activation_base import _in_place, _input, _sigmoid
from .activation_pointwise import softplus
from .scalar_args import number_arg


class _Local(Function):
    """Y = f(X) elementwise. ``f`` also returns f'(X), computed only while recording, so
    backward is one multiply: dX = dY * f'(X)."""

    saved_inputs = ()

    def forward(self, X, **kw):
        Y, self.D = self.f(self.xp, X, self.record, **kw)
        self.kw = kw
        return Y

    def backward(self, dY):
        return dY * self.D

    def backward_graph(self, dY):
        """dY * f'(X) with f' written in recorded ops (``df``), so it differentiates again;
        a piecewise-constant f' is ``D`` itself, linked to X (PyTorch's hardtanh_backward,
        threshold_backward, ...: zeros for X, so the gradient still depends on X)."""
        X = self.inputs[0]
        if self.df is None:
            return link(dY * X._result(self.D, X._be), X)
        return dY * self.df(X, **self.kw)

    df = None  # f'(X) of a Tensor X in recorded ops, where f' is not piecewise constant


def _mask(xp, cond, dtype):
    return xp.astype(cond, dtype)


class Hardtanh(_Local):
    @staticmethod
    def f(xp, X, grad, lo=-1.0, hi=1.0):
        # PyTorch: no gradient at the bounds themselves; a NaN passes its gradient
        return xp.clip(X, lo, hi), _mask(xp, ~((X <= lo) | (X >= hi)), X.dtype) if grad \
            else None


class Threshold(_Local):
    @staticmethod
    def f(xp, X, grad, threshold=0.0, value=0.0):
        keep = ~(X <= threshold)  # a NaN is kept, and passes its gradient (PyTorch)
        Y = xp.where(keep, X, xp.asarray(value, dtype=X.dtype, device=X.device))
        return Y, _mask(xp, keep, X.dtype) if grad else None


class Shrink(_Local):
    """hardshrink (soft=False): x where |x| > lambd, else 0; softshrink: x -+ lambd there."""

    @staticmethod
    def f(xp, X, grad, lambd=0.5, soft=False):
        keep = ~(xp.abs(X) <= lambd)  # a NaN is kept, and passes its gradient (PyTorch)
        Y = X - xp.sign(X) * lambd if soft else X
        Y = xp.where(keep, Y, xp.zeros((), dtype=X.dtype, device=X.device))
        return Y, _mask(xp, keep, X.dtype) if grad else None


@quiet
class Mish(_Local):
    @staticmethod
    def f(xp, X, grad):
        # x tanh(softplus(x)) (Misra 2019); d/dx = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2)
        T = xp.tanh(xp.maximum(X, 0.0) + xp.log1p(xp.exp(-xp.abs(X))))
        D = T + X * _sigmoid(xp, X) * (1 - T * T) if grad else None
        return X * T, D

    @staticmethod
    def df(X):
        T = softplus(X).tanh()
        return T + X * X.sigmoid() * (1 - T * T)


@quiet
class Softsign(_Local):
    @staticmethod
    def f(xp, X, grad):
        A = 1 + xp.abs(X)
        return X / A, 1 / (A * A) if grad else None

    @staticmethod
    def df(X):
        A = 1 + X.abs()
        return 1 / (A * A)


class LogSigmoid(_Local):
    @staticmethod
    def f(xp, X, grad):
        # log sigmoid(x) = min(x, 0) - log1p(e^-|x|); d/dx = sigmoid(-x)
        Y = xp.minimum(X, 0.0) - xp.log1p(xp.exp(-xp.abs(X)))
        return Y, _sigmoid(xp, -X) if grad else None

    @staticmethod
    def df(X):
        return (-X).sigmoid()


class ScaledELU(_Local):
    """scale * (x if x > 0 else alpha (e^(x/width) - 1)): SELU (Klambauer et al. 2017) and
    CELU (Barron 2017, width = alpha)."""

    @staticmethod
    def f(xp, X, grad, alpha=1.0, scale=1.0, width=1.0):
        pos = ~(X <= 0)  # a NaN takes the positive branch: its gradient passes (PyTorch's)
        E = xp.exp(xp.minimum(X, 0.0) / width)  # clamped: exp of a large x would overflow
        Y = scale * xp.where(pos, X, alpha * (E - 1))
        D = scale * xp.where(pos, xp.ones_like(X), (alpha / width) * E) if grad else None
        return Y, D

    @staticmethod
    def df(X, alpha=1.0, scale=1.0, width=1.0):
        E = (X.clamp(max=0.0) / width).exp()
        return scale * ((alpha / width) * E).where(X <= 0, 1.0)


_ONE_SIXTH_F32 = 0.1666666716337204  # PyTorch's hardsigmoid derivative: 1/6 as a float32


class Hardsigmoid(_Local):
    @staticmethod
    def f(xp, X, grad):
        D = _mask(xp, (X > -3) & (X < 3), X.dtype) * _ONE_SIXTH_F32 if grad else None
        return xp.clip(X / 6 + 0.5, 0.0, 1.0), D

    def backward_graph(self, dY):  # PyTorch 2.13: hardsigmoid_backward has no derivative
        return first_order_only(self, (dY,), "hardsigmoid")


@quiet
class Hardswish(_Local):
    @staticmethod
    def f(xp, X, grad):
        # x relu6(x + 3) / 6 (Howard et al. 2019); PyTorch's derivative (2.x): 0 up to -3
        # (inclusive), x/3 + 1/2 below 3, 1 from 3 on (and for NaN)
        Y = X * xp.clip(X + 3, 0.0, 6.0) / 6
        if not grad:
            return Y, None
        one = xp.ones_like(X)
        D = xp.where(X <= -3, 0 * one, xp.where(X < 3, X / 3 + 0.5, one))
        return Y, D

    @staticmethod
    def df(X):
        return (X / 3 + 0.5).where(X < 3, 1.0).where(X > -3, 0.0)


class Tanhshrink(_Local):
    @staticmethod
    def f(xp, X, grad):
        T = xp.tanh(X)
        return X - T, T * T if grad else None

    @staticmethod
    def df(X):
        T = X.tanh()
        return T * T


@quiet
class PReLU(Function):
    """Y = X where X > 0, else W X, with W broadcast over X (one slope per channel)."""

    def forward(self, X, W):
        self.X, self.W = X, W
        return self.xp.where(X > 0, X, W * X)

    def backward(self, dY):
        from .elementwise import unbroadcast
        xp, X, W = self.xp, self.X, self.W
        pos = X > 0
        zero = xp.zeros((), dtype=dY.dtype, device=dY.device)
        dX = xp.where(pos, dY, W * dY) if self.needs[0] else None
        dW = unbroadcast(xp, xp.where(pos, zero, X * dY), W.shape) if self.needs[1] else None
        return dX, dW

    def backward_graph(self, dY):
        from .graph_misc import prelu_graph
        return prelu_graph(self, dY)


@quiet
class GLU(Function):
    """Y = A * sigmoid(B) for the halves A, B of X along ``axis`` (Dauphin et al. 2017)."""

    def forward(self, X, axis=-1):
        xp = self.xp
        h = X.shape[axis] // 2
        lead = (slice(None),) * axis
        A, Bh = X[lead + (slice(0, h), ...)], X[lead + (slice(h, None), ...)]
        S = _sigmoid(xp, Bh)
        self.A, self.S, self.axis = A, S, axis
        return A * S

    def backward(self, dY):
        A, S = self.A, self.S
        return self.xp.concat([dY * S, dY * A * S * (1 - S)], axis=self.axis)

    def backward_graph(self, dY):
        from .graph_misc import glu_graph
        return glu_graph(self, dY)


# PyTorch's SELU constants (Klambauer et al. 2017)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _number(op, name, value):
    value = number_arg(value)  # a 0-d tensor reads as its number, as in PyTorch
    if isinstance(value, bool) or not isinstance(value, (int, float, B.np.number)):
        raise TypeError(f"{op}: {name} must be a number, got {value!r}")
    return float(value)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamp to [min_val, max_val]; no gradient at or beyond the bounds. Integers stay
    integers, as in PyTorch."""
    if inplace:
        return _in_place(hardtanh, input, min_val, max_val)
    x = as_tensor(input, op="hardtanh")
    lo, hi = _number("hardtanh", "min_val", min_val), _number("hardtanh", "max_val", max_val)
    if lo > hi:
        raise ValueError(f"hardtanh: min_val {min_val!r} must not exceed max_val {max_val!r}")
    if not x._be.is_floating(x.dtype):  # integers: integer bounds (PyTorch truncates)
        lo, hi = int(lo), int(hi)
    return Hardtanh.apply(x, lo=lo, hi=hi)


def relu6(input, inplace=False):
    """min(max(x, 0), 6) (hardtanh(x, 0, 6))."""
    return hardtanh(input, 0.0, 6.0, inplace)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else ``value``."""
    if inplace:
        return _in_place(_threshold, input, threshold, value)
    x = as_tensor(input, op="threshold")
    t, v = _number("threshold", "threshold", threshold), _number("threshold", "value", value)
    if not x._be.is_floating(x.dtype):  # x > t for integers is x > floor(t)
        t, v = math.floor(t), int(v)
    return Threshold.apply(x, threshold=t, value=v)


_threshold = threshold  # for threshold(), whose argument hides its name


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    return Shrink.apply(_input("hardshrink", input, False),
                        lambd=_number("hardshrink", "lambd", lambd), soft=False)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    lambd = _number("softshrink", "lambd", lambd)
    if lambd < 0:  # torch: RuntimeError
        raise ArgumentError(f"softshrink: lambd must be >= 0, got {lambd!r}")
    return Shrink.apply(_input("softshrink", input, False), lambd=lambd, soft=True)


def mish(input, inplace=False):
    """x * tanh(softplus(x)) (Misra 2019)."""
    if inplace:
        return _in_place(mish, input)
    return Mish.apply(_input("mish", input, False))


def softsign(input):
    """x / (1 + |x|); integers become the default float dtype."""
    return Softsign.apply(_input("softsign", input))


def logsigmoid(input):
    """log(sigmoid(x)), computed stably."""
    return LogSigmoid.apply(_input("logsigmoid", input, False))


def selu(input, inplace=False):
    """scale * elu(x, alpha) with PyTorch's constants (Klambauer et al. 2017)."""
    if inplace:
        return _in_place(selu, input)
    return ScaledELU.apply(_input("selu", input, False), alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (e^(x/alpha) - 1)) (Barron 2017)."""
    if inplace:
        return _in_place(celu, input, alpha)
    alpha = _number("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return ScaledELU.apply(_input("celu", input, False), alpha=alpha, width=alpha)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    if inplace:
        return _in_place(hardsigmoid, input)
    return Hardsigmoid.apply(_input("hardsigmoid", input, False))


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6 (Howard et al. 2019)."""
    if inplace:
        return _in_place(hardswish, input)
    return Hardswish.apply(_input("hardswish", input, False))


def tanhshrink(input):
    """x - tanh(x); integers become the default float dtype."""
    return Tanhshrink.apply(_input("tanhshrink", input))


def prelu(input, weight):
    """x where x > 0, else weight * x; ``weight`` has 1 entry or one per channel (dim 1).

    Args:
        input: (N, C, ...) or any shape when ``weight`` has one entry.
        weight: (1,) or (C,), learnable slopes.
    """
    x = _input("prelu", input, False)
    w = as_tensor(weight, like=x, op="prelu")
    n = math.prod(w.shape)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if w.ndim > 1 or n not in (1, channels):
        raise ShapeError(f"prelu: weight of shape {w.shape} must have 1 entry or one per "
                         f"channel ({channels}) of the input of shape {x.shape}")
    from .shape import reshape
    if n == 1:
        w = reshape(w, ())
    elif x.ndim > 2:
        w = reshape(w, (n,) + (1,) * (x.ndim - 2))
    return PReLU.apply(x, w)


def glu(input, dim=-1):
    """a * sigmoid(b) for the two halves a, b of ``input`` along ``dim`` (even size)."""
    from .shape import _axis
    x = _input("glu", input, False)
    if x.ndim == 0:
        raise ValueError("glu: does not accept a 0-d tensor")
    d = _axis("glu", dim, x.ndim)
    if x.shape[d] % 2:
        raise ShapeError(f"glu: halving dim {dim} of size {x.shape[d]} needs an even size "
                         f"(input shape {x.shape})")
    return GLU.apply(x, axis=d)

"""Activation functions, each one node with its derivative written under it."""
from __future__ import annotations

import math

from ..autograd import Function, as_tensor

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _sigmoid(xp, X):
    # exp of -|x| never overflows; the two branches are the same function mirrored
    E = xp.exp(-xp.abs(X))
    return xp.where(X >= 0, 1 / (1 + E), E / (1 + E))


def erf(xp, X, be=None):
    """The error function: native where the backend has it, else Abramowitz-Stegun 7.1.26.

    The portable form is accurate to 1.5e-7 absolute, below float32's resolution near 1.
    """
    native = be.fast.get("erf") if be is not None else None
    if native is not None:
        return native(X)
    A = xp.abs(X)
    t = 1 / (1 + 0.3275911 * A)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (
        -1.453152027 + t * 1.061405429))))
    return xp.sign(X) * (1 - poly * xp.exp(-A * A))


class ReLU(Function):
    def forward(self, X):
        self.Y = self.xp.maximum(X, 0)
        return self.Y

    def backward(self, dY):
        # a multiply by the 0/1 mask: NumPy's where() is ~10x slower on random masks
        return dY * self.xp.astype(self.Y > 0, dY.dtype)


class LeakyReLU(Function):
    def forward(self, X, slope=0.01):
        self.pos, self.slope = X > 0, slope
        return self.xp.where(self.pos, X, X * slope)

    def backward(self, dY):
        return self.xp.where(self.pos, dY, dY * self.slope)


class ELU(Function):
    def forward(self, X, alpha=1.0):
        xp = self.xp
        self.pos, self.alpha = X > 0, alpha
        self.E = xp.exp(xp.minimum(X, 0.0))  # clamp: exp of a large positive x would overflow
        return xp.where(self.pos, X, alpha * (self.E - 1))

    def backward(self, dY):
        return self.xp.where(self.pos, dY, dY * (self.alpha * self.E))


class GELU(Function):
    def forward(self, X, approximate="none"):
        xp = self.xp
        self.X, self.approx = X, approximate
        if approximate == "tanh":
            self.T = xp.tanh(_SQRT_2_OVER_PI * (X + 0.044715 * X ** 3))
            return 0.5 * X * (1 + self.T)
        self.Phi = 0.5 * (1 + erf(xp, X * _INV_SQRT_2, self.be))
        return X * self.Phi

    def backward(self, dY):
        xp, X = self.xp, self.X
        if self.approx == "tanh":
            T = self.T
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * X * X)
            return dY * (0.5 * (1 + T) + 0.5 * X * (1 - T * T) * dinner)
        # d/dx x Phi(x) = Phi(x) + x phi(x)
        return dY * (self.Phi + X * (_INV_SQRT_2PI * xp.exp(-0.5 * X * X)))


class Sigmoid(Function):
    def forward(self, X):
        self.Y = _sigmoid(self.xp, X)
        return self.Y

    def backward(self, dY):
        return dY * self.Y * (1 - self.Y)


class SiLU(Function):
    def forward(self, X):
        self.X, self.S = X, _sigmoid(self.xp, X)
        return X * self.S

    def backward(self, dY):
        S = self.S
        return dY * (S * (1 + self.X * (1 - S)))


class Tanh(Function):
    def forward(self, X):
        self.Y = self.xp.tanh(X)
        return self.Y

    def backward(self, dY):
        return dY * (1 - self.Y * self.Y)


class Softplus(Function):
    def forward(self, X, beta=1.0, threshold=20.0):
        xp = self.xp
        self.X, self.beta, self.threshold = X, beta, threshold
        Z = X * beta
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|); above threshold it is z itself (PyTorch)
        soft = (xp.maximum(Z, 0.0) + xp.log1p(xp.exp(-xp.abs(Z)))) / beta
        return xp.where(Z > threshold, X, soft)

    def backward(self, dY):
        Z = self.X * self.beta
        return self.xp.where(Z > self.threshold, dY, dY * _sigmoid(self.xp, Z))


class Softmax(Function):
    def forward(self, X, axis=-1):
        xp = self.xp
        E = xp.exp(X - xp.max(X, axis=axis, keepdims=True))
        self.Y, self.axis = E / xp.sum(E, axis=axis, keepdims=True), axis
        return self.Y

    def backward(self, dY):
        Y = self.Y
        # Jacobian-vector product of softmax: y * (dy - <dy, y>)
        return Y * (dY - self.xp.sum(dY * Y, axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def forward(self, X, axis=-1):
        Y = log_softmax_array(self.xp, X, axis)
        self.Y, self.axis = Y, axis
        return Y

    def backward(self, dY):
        xp = self.xp
        return dY - xp.exp(self.Y) * xp.sum(dY, axis=self.axis, keepdims=True)


def log_softmax_array(xp, X, axis=-1):
    """log softmax on a raw array, stable for any finite logits (max subtracted first)."""
    Z = X - xp.max(X, axis=axis, keepdims=True)
    return Z - xp.log(xp.sum(xp.exp(Z), axis=axis, keepdims=True))


def relu(x):
    return ReLU.apply(as_tensor(x))


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU.apply(as_tensor(x), slope=negative_slope)


def elu(x, alpha=1.0):
    return ELU.apply(as_tensor(x), alpha=alpha)


def gelu(x, approximate="none"):
    """GELU: x * Phi(x); ``approximate="tanh"`` uses the tanh form (Hendrycks & Gimpel 2016)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(as_tensor(x), approximate=approximate)


def sigmoid(x):
    return Sigmoid.apply(as_tensor(x))


def silu(x):
    return SiLU.apply(as_tensor(x))


def tanh(x):
    return Tanh.apply(as_tensor(x))


def softplus(x, beta=1.0, threshold=20.0):
    return Softplus.apply(as_tensor(x), beta=beta, threshold=threshold)


def softmax(x, axis=-1):
    return Softmax.apply(as_tensor(x), axis=axis)


def log_softmax(x, axis=-1):
    return LogSoftmax.apply(as_tensor(x), axis=axis)

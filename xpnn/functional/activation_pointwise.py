"""Pointwise activations: LeakyReLU, ELU, sigmoid, SiLU, tanh, softplus, each one node with
its derivative written under it (ReLU and GELU, with their native kernels, are in
activation.py)."""
from __future__ import annotations

from ..autograd import Function
from .activation_base import _in_place, _input, _sigmoid
from .broadcast import is_sparse_coo, quiet
from .first_order import link


class LeakyReLU(Function):
    saved_inputs = ()

    def forward(self, X, slope=0.01):
        self.pos, self.slope = X > 0, slope
        return self.xp.where(self.pos, X, X * slope)

    def backward(self, dY):
        return self.xp.where(self.pos, dY, dY * self.slope)

    def backward_graph(self, dY):
        # linked to X: PyTorch's leaky_relu_backward node reads it (zeros for X)
        return link(dY.where(self.pos, dY * self.slope), self.inputs[0])


class ELU(Function):
    saved_inputs = ()

    def forward(self, X, alpha=1.0):
        xp = self.xp
        # "not <= 0": a NaN takes the positive branch and its gradient passes (PyTorch's)
        self.pos, self.alpha = ~(X <= 0), alpha
        self.E = xp.exp(xp.minimum(X, 0.0))  # clamp: exp of a large positive x would overflow
        return xp.where(self.pos, X, alpha * (self.E - 1))

    def backward(self, dY):
        return self.xp.where(self.pos, dY, dY * (self.alpha * self.E))

    def backward_graph(self, dY):
        E = self.inputs[0].clamp(max=0.0).exp()
        return dY.where(self.pos, dY * (self.alpha * E))


class Sigmoid(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X):
        self.Y = _sigmoid(self.xp, X)
        return self.Y

    def backward(self, dY):
        return dY * self.Y * (1 - self.Y)

    def backward_graph(self, dY):
        Y = self.inputs[0].sigmoid()
        return dY * Y * (1 - Y)


@quiet  # x sigmoid(x) at x = -inf: -inf * 0 = NaN, silently as in PyTorch
class SiLU(Function):
    def forward(self, X):
        self.X, self.S = X, _sigmoid(self.xp, X)
        return X * self.S

    def backward(self, dY):
        S = self.S
        return dY * (S * (1 + self.X * (1 - S)))

    def backward_graph(self, dY):
        X = self.inputs[0]
        S = X.sigmoid()
        return dY * (S * (1 + X * (1 - S)))


class Tanh(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X):
        self.Y = self.xp.tanh(X)
        return self.Y

    def backward(self, dY):
        return dY * (1 - self.Y * self.Y)

    def backward_graph(self, dY):
        Y = self.inputs[0].tanh()
        return dY * (1 - Y * Y)


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

    def backward_graph(self, dY):
        Z = self.inputs[0] * self.beta
        return dY.where(Z > self.threshold, dY * Z.sigmoid())


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return _in_place(leaky_relu, input, negative_slope)
    return LeakyReLU.apply(_input("leaky_relu", input, False), slope=negative_slope)


def elu(input, alpha=1.0, inplace=False):
    if inplace:
        return _in_place(elu, input, alpha)
    return ELU.apply(_input("elu", input, False), alpha=alpha)


def sigmoid(input):
    if is_sparse_coo(input):  # sparse COO: refused
        return input._sparse_unary("sigmoid")
    return Sigmoid.apply(_input("sigmoid", input))


def silu(input, inplace=False):
    if inplace:
        return _in_place(silu, input)
    return SiLU.apply(_input("silu", input, False))


def tanh(input):
    if is_sparse_coo(input):  # sparse COO
        return input._sparse_unary("tanh")
    return Tanh.apply(_input("tanh", input))


def softplus(input, beta=1.0, threshold=20.0):
    return Softplus.apply(_input("softplus", input, False), beta=beta, threshold=threshold)

"""ONNX conversions of the activation functions (xpnn/functional/activation.py) and of
dropout, which a model exported in eval mode never calls."""
from __future__ import annotations

import math
from importlib import import_module

import numpy as np

from .registry import classes, converts, static, unsupported

A = import_module("xpnn.functional.activation")  # by path: see registry.classes

_UNARY = {"Sigmoid": "Sigmoid", "Tanh": "Tanh", "Softsign": "Softsign",
          "Hardswish": "HardSwish", "Erf": "Erf"}


def _classes(*names):
    return classes("activation", *names)


def _scalar(g, x):
    return lambda v: g.scalar(v, x.dtype)


@converts(*_classes(*_UNARY))
def _unary(g, n):
    return g.op(_UNARY[n.cls.__name__], [n.ins[0].name])


@converts(A.ReLU)
def _relu(g, n):
    x = n.ins[0]
    if np.dtype(x.dtype).kind != "f":  # relu keeps integers integral; ONNX Relu is float
        return g.op("Max", [x.name, g.scalar(0, x.dtype)])
    return g.op("Relu", [x.name])


@converts(A.LeakyReLU)
def _leaky_relu(g, n):
    return g.op("LeakyRelu", [n.ins[0].name], alpha=float(n.p.get("slope", 0.01)))


@converts(A.ELU)
def _elu(g, n):
    return g.op("Elu", [n.ins[0].name], alpha=float(n.p.get("alpha", 1.0)))


@converts(A.GELU)
def _gelu(g, n):
    x = n.ins[0]
    approx = n.p.get("approximate", "none")
    if g.opset >= 20:
        return g.op("Gelu", [x.name], approximate=approx)
    c = _scalar(g, x)
    if approx == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", [x.name, g.op("Mul", [x.name, x.name])])
        inner = g.op("Add", [x.name, g.op("Mul", [cube, c(0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, c(math.sqrt(2 / math.pi))])])
        return g.op("Mul", [g.op("Mul", [x.name, c(0.5)]), g.op("Add", [t, c(1.0)])])
    # x * Phi(x), Phi(x) = 0.5 (1 + erf(x / sqrt 2)): the order of xpnn's forward
    erf = g.op("Erf", [g.op("Mul", [x.name, c(1 / math.sqrt(2))])])
    phi = g.op("Mul", [g.op("Add", [erf, c(1.0)]), c(0.5)])
    return g.op("Mul", [x.name, phi])


@converts(A.SiLU)
def _silu(g, n):
    x = n.ins[0].name
    return g.op("Mul", [x, g.op("Sigmoid", [x])])


@converts(A.Softplus)
def _softplus(g, n):
    x = n.ins[0]
    beta, threshold = float(n.p.get("beta", 1.0)), float(n.p.get("threshold", 20.0))
    z = x.name if beta == 1 else g.op("Mul", [x.name, g.scalar(beta, x.dtype)])
    soft = g.op("Softplus", [z])
    if beta != 1:
        soft = g.op("Div", [soft, g.scalar(beta, x.dtype)])
    # above the threshold the output is the input itself (PyTorch's rule)
    over = g.op("Greater", [z, g.scalar(threshold, x.dtype)])
    return g.op("Where", [over, x.name, soft])


@converts(A.Softmax, A.LogSoftmax)
def _softmax(g, n):
    op_type = "Softmax" if n.cls is A.Softmax else "LogSoftmax"
    return g.op(op_type, [n.ins[0].name], axis=int(n.p.get("axis", -1)))


@converts(*_classes("Hardtanh"))
def _hardtanh(g, n):
    x = n.ins[0]
    return g.op("Clip", [x.name, g.scalar(n.p.get("lo", -1.0), x.dtype),
                         g.scalar(n.p.get("hi", 1.0), x.dtype)])


@converts(*_classes("Threshold"))
def _threshold(g, n):
    x, c = n.ins[0], _scalar(g, n.ins[0])
    keep = g.op("Greater", [x.name, c(n.p.get("threshold", 0.0))])
    return g.op("Where", [keep, x.name, c(n.p.get("value", 0.0))])


@converts(*_classes("Shrink"))
def _shrink(g, n):
    lambd = float(n.p.get("lambd", 0.5))
    return g.op("Shrink", [n.ins[0].name], lambd=lambd,
                bias=lambd if n.p.get("soft", False) else 0.0)


@converts(*_classes("Mish"))
def _mish(g, n):
    x = n.ins[0].name
    if g.opset >= 18:
        return g.op("Mish", [x])
    return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])])


@converts(*_classes("LogSigmoid"))
def _log_sigmoid(g, n):
    x = n.ins[0].name  # log sigmoid(x) = -softplus(-x), stable for large |x|
    return g.op("Neg", [g.op("Softplus", [g.op("Neg", [x])])])


@converts(*_classes("ScaledELU"))
def _scaled_elu(g, n):
    x, c = n.ins[0], _scalar(g, n.ins[0])
    alpha, scale = float(n.p.get("alpha", 1.0)), float(n.p.get("scale", 1.0))
    width = float(n.p.get("width", 1.0))
    if width == 1.0:  # SELU (or a scaled ELU)
        return g.op("Selu", [x.name], alpha=alpha, gamma=scale)
    y = g.op("Celu", [x.name], alpha=alpha) if width == alpha else None
    if y is None:
        raise unsupported(n, f"a scaled ELU with width {width} != alpha {alpha}")
    return y if scale == 1.0 else g.op("Mul", [y, c(scale)])


@converts(*_classes("Hardsigmoid"))
def _hardsigmoid(g, n):
    return g.op("HardSigmoid", [n.ins[0].name], alpha=1 / 6, beta=0.5)


@converts(*_classes("Tanhshrink"))
def _tanhshrink(g, n):
    x = n.ins[0].name
    return g.op("Sub", [x, g.op("Tanh", [x])])


@converts(*_classes("PReLU"))
def _prelu(g, n):
    return g.op("PRelu", [r.name for r in n.ins])  # the slope is already shaped to broadcast


@converts(*_classes("GLU"))
def _glu(g, n):
    x, axis = n.ins[0], int(n.p.get("axis", -1))
    half = static(n, x.shape[axis], "halved size") // 2
    first = g.op("Slice", [x.name, g.ints([0]), g.ints([half]), g.ints([axis])])
    second = g.op("Slice", [x.name, g.ints([half]), g.ints([2 ** 63 - 1]), g.ints([axis])])
    return g.op("Mul", [first, g.op("Sigmoid", [second])])


@converts(*classes("dropout", "Dropout"))
def _dropout(g, n):
    raise unsupported(n, "dropout in training mode is random; export runs the model in eval "
                         "mode, so this call passes training=True itself (F.dropout(x, p, "
                         "training=self.training) follows the mode)")

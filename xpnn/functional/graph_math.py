"""Recorded backwards (``backward_graph``, for create_graph) of the elementwise math whose
first-order backward is written on arrays: moremath.py's :class:`Unary` family (tan, the
inverse and hyperbolic trigonometric functions, log2/log10/exp2) and remainder,
pointwise.py's erfc, erfinv, logit, sinc, xlogy, copysign, fmax/fmin, fmod and frac,
special.py's lgamma and polygamma (digamma), and special_more.py's entr, erfcx, log_ndtr,
ndtr, ndtri, xlog1py and mvlgamma.

Each is the op's own derivative written with xpnn ops on Tensors (recomputed from the
node's inputs), so the gradient is itself recorded and can be differentiated again. Where
the derivative has no closed form in xpnn's ops without cancelling (erfcx' and log_ndtr',
accurate in the first-order backward), it is a Function of its own here
(:class:`ErfcxDerivative`, :class:`LogNdtrDerivative`) with its derivative under it.
Imported by those op files; this module imports only the modules below them (unary.py,
compare.py, broadcast.py), so where a derivative needs the op itself it applies the node's
own class again (``type(node).apply``), and the op file hands in what lives there (digamma,
erfcx's and log_ndtr's array kernels).
"""
from __future__ import annotations

import math

from ..autograd import Function
from .broadcast import quiet, unbroadcast_graph
from .compare import where
from .unary import cos, exp, floor, log, rsqrt, sin, trunc

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _zeros(like, shape):
    """A zero Tensor of ``shape`` on ``like``'s backend and dtype, needing no gradient."""
    xp, A = like.xp, like.array
    return like._result(xp.zeros(tuple(shape), dtype=A.dtype, device=A.device), like._be)


# -- moremath.py's Unary: name -> f'(X) as a Tensor expression (the functions are xpnn's, so
# each derivative is recorded in turn)
# f(X) below is the node's own Unary class applied again (tan, sinh, cosh, exp2)
UNARY_GRAPH = {
    "tan": lambda f, X: _one_plus_square(f(X, "tan")),
    "asin": lambda f, X: rsqrt(1 - X * X),
    "acos": lambda f, X: -rsqrt(1 - X * X),
    "atan": lambda f, X: 1 / (1 + X * X),
    "sinh": lambda f, X: f(X, "cosh"),
    "cosh": lambda f, X: f(X, "sinh"),
    "asinh": lambda f, X: rsqrt(X * X + 1),
    "acosh": lambda f, X: rsqrt(X * X - 1),
    "atanh": lambda f, X: 1 / (1 - X * X),
    "log2": lambda f, X: 1 / (X * _LN2),
    "log10": lambda f, X: 1 / (X * _LN10),
    "exp2": lambda f, X: f(X, "exp2") * _LN2,
}


def _one_plus_square(T):
    return 1 + T * T


def unary_graph(node, dY):
    """dX = dY f'(X) for the :data:`xpnn.functional.moremath.UNARY` function of ``node``."""
    derivative = UNARY_GRAPH.get(node.fn)
    if derivative is None:  # an entry of UNARY without its recorded derivative here
        raise NotImplementedError(f"{node.fn}: no double backward (create_graph) yet")
    return dY * derivative(lambda X, fn: type(node).apply(X, fn=fn), node.inputs[0])


# -- remainders, frac, fmax: piecewise linear ---------------------------------------------------
def remainder_graph(node, dY, rounding):
    """remainder (``rounding="floor"``) and fmod (``"trunc"``): dA = dY, dB = -dY q with q
    the rounded quotient (piecewise constant: no gradient of its own)."""
    A, B = node.inputs
    dA = unbroadcast_graph(dY, A.shape) if node.needs[0] else None
    dB = None
    if node.needs[1]:
        q = (floor if rounding == "floor" else trunc)(A / B)  # recorded, as PyTorch's
        dB = unbroadcast_graph(-dY * q, B.shape)
    return dA, dB


def fmax_graph(node, dY):
    """fmax/fmin: the gradient whole to A where A won (``node.to_a``), else to B."""
    sa, sb = node.shapes
    zero = _zeros(dY, ())
    dA = unbroadcast_graph(where(node.to_a, dY, zero), sa) if node.needs[0] else None
    dB = unbroadcast_graph(where(node.to_a, zero, dY), sb) if node.needs[1] else None
    return dA, dB


def copysign_graph(node, dY):
    """dA = dY copysign(A, B) / A (0 where A == 0), dB = 0, as backward."""
    A, B = node.inputs
    dA = dB = None
    if node.needs[0]:
        zero = (A == 0).array
        ratio = type(node).apply(A, B) / where(zero, 1.0, A)
        dA = unbroadcast_graph(dY * where(zero, 0.0, ratio), A.shape)
    if node.needs[1]:
        dB = _zeros(dY, B.shape)
    return dA, dB


# -- pointwise.py ------------------------------------------------------------------------------
def erfc_graph(node, dY):
    """d erfc = -2/sqrt(pi) e^(-x^2)."""
    X = node.inputs[0]
    return dY * (-_TWO_OVER_SQRT_PI * exp(-(X * X)))


def erfinv_graph(node, dY):
    """d erfinv(y) = sqrt(pi)/2 e^(erfinv(y)^2)."""
    X = type(node).apply(node.inputs[0])
    return dY * (0.5 * math.sqrt(math.pi)) * exp(X * X)


def logit_graph(node, dY):
    """dX = dY / (x (1 - x)), 0 outside [eps, 1 - eps] when eps is given."""
    X = node.inputs[0]
    d = dY / (X * (1 - X))
    if node.eps is None:
        return d
    outside = ((X < node.eps) | (X > 1 - node.eps)).array
    return where(outside, 0.0, d)


def sinc_graph(node, dY):
    """dX = dY (pi x cos(pi x) - sin(pi x)) / (pi x^2), 0 at 0 (a safe divisor there, so
    the second derivative at 0 is finite rather than 0/0)."""
    X = node.inputs[0]
    zero = (X == 0).array
    Xs = where(zero, 1.0, X)
    P = math.pi * Xs
    d = (P * cos(P) - sin(P)) / (P * Xs)
    # at 0 the value 0 but the slope sinc''(0) = -pi^2/3 (PyTorch's double backward: NaN)
    return dY * where(zero, (-math.pi ** 2 / 3) * X, d)


def xlogy_graph(node, dY, log1p=False):
    """xlogy (log1p=False) and xlog1py: dA = xlogy(dY, B) (0 where A == 0 and B is at or
    below the log's pole), dB = dY A / B (dY A / (B + 1))."""
    A, B = node.inputs
    dA = dB = None
    if node.needs[0]:
        g = type(node).apply(dY, B)  # xlogy(dY, B) (xlog1py)
        pole = ((A == 0) & (B <= (-1.0 if log1p else 0.0))).array
        dA = unbroadcast_graph(where(pole, 0.0, g), A.shape)
    if node.needs[1]:
        dB = unbroadcast_graph(dY * A / ((B + 1) if log1p else B), B.shape)
    return dA, dB


# -- special.py: d lgamma = digamma, d polygamma(n) = polygamma(n + 1) --------------------------
def lgamma_graph(node, dY, digamma):
    return dY * digamma(node.inputs[0])


def polygamma_graph(node, dY):
    return dY * type(node).apply(node.inputs[0], n=node.n + 1)


def mvlgamma_graph(node, dY, digamma):
    """d log Gamma_p(a) = sum_j<p digamma(a - j/2)."""
    X = node.inputs[0]
    total = digamma(X)
    for j in range(1, node.p):
        total = total + digamma(X - 0.5 * j)
    return dY * total


# -- special_more.py ---------------------------------------------------------------------------
def entr_graph(node, dY):
    """d(-x log x) = -(1 + log x)."""
    return dY * -(1 + log(node.inputs[0]))


def ndtr_graph(node, dY):
    """d Phi = phi(x) = e^(-x^2/2) / sqrt(2 pi)."""
    X = node.inputs[0]
    return dY * (_INV_SQRT_2PI * exp(-0.5 * (X * X)))


def ndtri_graph(node, dY):
    """d Phi^-1(p) = sqrt(2 pi) e^(x^2/2), x = Phi^-1(p)."""
    X = type(node).apply(node.inputs[0])
    return dY * (math.sqrt(2 * math.pi) * exp(0.5 * (X * X)))


def erfcx_graph(node, dY, parts):
    """dX = dY erfcx'(x); ``parts(be, X)`` is special_more's (erfcx, erfcx') on arrays."""
    return dY * ErfcxDerivative.apply(node.inputs[0], parts=parts, value=type(node))


def log_ndtr_graph(node, dY, parts):
    """dX = dY phi(x)/Phi(x); ``parts(be, X)`` is special_more's (log_ndtr, its slope)."""
    return dY * LogNdtrDerivative.apply(node.inputs[0], parts=parts)


@quiet
class ErfcxDerivative(Function):
    """erfcx'(x) = 2x erfcx(x) - 2/sqrt(pi), without its cancellation for large x (as
    erfcx's backward); erfcx'' = 2 erfcx + 2x erfcx'. ``value`` is the Erfcx op."""

    def forward(self, X, parts=None, value=None):
        self.X, self.parts, self.value = X, parts, value
        return parts(self.be, X)[1]

    def backward(self, dY):
        E, D = self.parts(self.be, self.X)
        return dY * (2 * E + 2 * self.X * D)

    def backward_graph(self, dY):
        X = self.inputs[0]
        D = ErfcxDerivative.apply(X, parts=self.parts, value=self.value)
        return dY * (2 * self.value.apply(X) + 2 * X * D)


@quiet
class LogNdtrDerivative(Function):
    """r(x) = phi(x) / Phi(x), log_ndtr's derivative, finite in the far left tail (as
    log_ndtr's backward); r' = -r (x + r)."""

    saves_output = True

    def forward(self, X, parts=None):
        self.X, self.parts = X, parts
        self.R = parts(self.be, X)[1]
        return self.R

    def backward(self, dY):
        return dY * -(self.R * (self.X + self.R))

    def backward_graph(self, dY):
        X = self.inputs[0]
        R = LogNdtrDerivative.apply(X, parts=self.parts)
        return dY * -(R * (X + R))

"""The one-input elementwise math Functions (neg, exp, expm1, log, log1p, sqrt, rsqrt,
reciprocal, sin, cos, abs) and the piecewise-constant ones (sign, floor, ceil, trunc, round's
kernel: zero gradient), with their public functions. Integers are computed in the default
float dtype where the result is floating (exp of an int64 tensor is float32)."""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, as_tensor
from .._errors import DtypeError, DtypeNotImplemented
from .broadcast import _floating, is_sparse_coo, quiet
from .complex import conj as conj_t  # Tensors: the recorded backwards (a real one as is)
from .compare import where
from .complex_base import conj, refuse_complex


class Neg(Function):
    saved_inputs = ()

    def forward(self, X):
        return -X

    def backward(self, dY):
        return -dY

    def backward_graph(self, dY):
        return -dY


@quiet
class Exp(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X):
        self.Y = self.xp.exp(X)
        return self.Y

    def backward(self, dY):
        return dY * conj(self.xp, self.Y)  # complex: dY * conj(f'(z)), PyTorch's convention

    def backward_graph(self, dY):
        X = self.inputs[0]
        return dY * conj_t(exp(X))


@quiet
class Expm1(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X):
        self.Y = self.xp.expm1(X)
        return self.Y

    def backward(self, dY):
        return dY * (self.Y + 1)

    def backward_graph(self, dY):
        return dY * exp(self.inputs[0])


@quiet
class Log(Function):
    def forward(self, X):
        self.X = X
        return self.xp.log(X)

    def backward(self, dY):
        return dY / conj(self.xp, self.X)

    def backward_graph(self, dY):
        X = self.inputs[0]
        return dY / conj_t(X)


@quiet
class Log1p(Function):
    def forward(self, X):
        self.X = X
        return self.xp.log1p(X)

    def backward(self, dY):
        return dY / (1 + self.X)

    def backward_graph(self, dY):
        return dY / (1 + self.inputs[0])


@quiet
class Sqrt(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X):
        self.Y = self.xp.sqrt(X)
        return self.Y

    def backward(self, dY):
        return dY / (2 * conj(self.xp, self.Y))

    def backward_graph(self, dY):
        X = self.inputs[0]
        return dY / (2 * conj_t(sqrt(X)))


@quiet
class Rsqrt(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X):
        self.Y = 1 / self.xp.sqrt(X)
        return self.Y

    def backward(self, dY):
        Y = self.Y  # d x^(-1/2) = -1/2 x^(-3/2) = -Y^3 / 2
        return dY * (-0.5 * Y * Y * Y)

    def backward_graph(self, dY):
        Y = rsqrt(self.inputs[0])
        return dY * (-0.5 * Y * Y * Y)


@quiet
class Reciprocal(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X):
        self.Y = 1 / X
        return self.Y

    def backward(self, dY):
        return -dY * conj(self.xp, self.Y) * conj(self.xp, self.Y)  # (-dY Y) Y, as before

    def backward_graph(self, dY):
        Y = reciprocal(self.inputs[0])
        return -dY * conj_t(Y) * conj_t(Y)


@quiet
class Sin(Function):
    def forward(self, X):
        self.X = X
        return self.xp.sin(X)

    def backward(self, dY):
        return dY * conj(self.xp, self.xp.cos(self.X))

    def backward_graph(self, dY):
        X = self.inputs[0]
        return dY * conj_t(cos(X))


@quiet
class Cos(Function):
    def forward(self, X):
        self.X = X
        return self.xp.cos(X)

    def backward(self, dY):
        return -dY * conj(self.xp, self.xp.sin(self.X))

    def backward_graph(self, dY):
        X = self.inputs[0]
        return -dY * conj_t(sin(X))


class Abs(Function):
    def forward(self, X):
        self.X = X
        return self.xp.abs(X)

    def backward(self, dY):
        xp, X = self.xp, self.X
        if B.is_complex_dtype(xp, X.dtype):  # d|z| = z / |z| (0 at 0), as sgn
            r = xp.abs(X)
            unit = X / xp.astype(xp.where(r == 0, xp.ones_like(r), r), X.dtype)
            return xp.astype(dY, X.dtype) * unit
        return dY * xp.where(xp.isnan(X), xp.zeros_like(X), xp.sign(X))  # sgn(NaN) = 0

    def backward_graph(self, dY):
        X = self.inputs[0]
        if X.is_complex():  # z / |z|, 0 at 0
            r = abs(X)
            return dY * (X / where(r == 0, 1.0, r))
        return dY * sign(X)


class Constant(Function):
    """A piecewise-constant function (sign, floor, ceil, round, trunc): zero gradient, or
    none where ``no_derivative`` names the op (PyTorch's floor_divide): backward raises."""

    saved_inputs = ()

    def forward(self, X, fn=None, no_derivative=None):
        self.shape, self.no_derivative = X.shape, no_derivative
        Y = getattr(self.xp, fn)(X)
        if fn == "sign" and self.be.is_floating(X.dtype):  # sign(NaN) is 0 in PyTorch
            Y = self.xp.where(self.xp.isnan(X), self.xp.zeros_like(Y), Y)
        return Y

    def backward(self, dY):
        if self.no_derivative is not None:
            raise RuntimeError(f"{self.no_derivative}: derivative for "
                               f"aten::{self.no_derivative} is not implemented")
        return self.xp.zeros_like(dY)

    def backward_graph(self, dY):
        return dY._result(self.backward(dY.array), dY._be)


# -- public functions ------------------------------------------------------------------------
def neg(input):
    if is_sparse_coo(input):  # sparse COO
        return input._sparse_unary("neg")
    x = as_tensor(input, op="neg")
    if x.dtype == x.xp.bool:
        raise DtypeError("neg: negation of a bool tensor is not supported; use ~ or "
                         "logical_not")
    return Neg.apply(x)


negative = neg


_COMPLEX_OK = ("exp", "log", "sqrt", "reciprocal", "sin", "cos", "abs")  # conj in backward


def _unary(cls, name, float_only=True):
    def op(input):
        if is_sparse_coo(input):  # sparse COO
            return input._sparse_unary(name)
        x = as_tensor(input, op=name)
        if x._be.is_complex(x.dtype):
            if name not in _COMPLEX_OK:
                refuse_complex(name, x)
            return cls.apply(x)
        if not float_only and x.dtype == x.xp.bool:  # PyTorch has no bool kernel (abs)
            raise DtypeNotImplemented(f"{name}: not implemented for bool tensors")
        return cls.apply(_floating(x) if float_only else x)
    op.__name__ = op.__qualname__ = name
    return op


exp = _unary(Exp, "exp")
expm1 = _unary(Expm1, "expm1")
log = _unary(Log, "log")
log1p = _unary(Log1p, "log1p")
sqrt = _unary(Sqrt, "sqrt")
rsqrt = _unary(Rsqrt, "rsqrt")
reciprocal = _unary(Reciprocal, "reciprocal")
sin = _unary(Sin, "sin")
cos = _unary(Cos, "cos")
abs = _unary(Abs, "abs", float_only=False)
absolute = abs
exp.__doc__ = "e ** x, elementwise (integers are computed in the default float dtype)."


def _rounding(fn):
    def op(input):
        if is_sparse_coo(input):  # sparse COO
            return input._sparse_unary(fn)
        x = as_tensor(input, op=fn)
        refuse_complex(fn, x)
        if fn != "sign" and x.dtype == x.xp.bool:  # PyTorch has no bool rounding kernel
            raise DtypeNotImplemented(f"{fn}: not implemented for bool tensors, as in PyTorch")
        if not x._be.is_floating(x.dtype) and (fn != "sign" or x.dtype == x.xp.bool):
            return x
        return Constant.apply(x, fn=fn)
    op.__name__ = op.__qualname__ = fn
    op.__doc__ = f"{fn}, elementwise; its gradient is zero."
    return op


sign, floor, ceil, trunc = (_rounding(f) for f in ("sign", "floor", "ceil", "trunc"))

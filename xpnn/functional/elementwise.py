"""Elementwise arithmetic and math: broadcasting ops whose gradients are reduced back.

Type promotion is PyTorch's: a Python number or a 0-d tensor does not change the dtype of a
dimensioned tensor of the same kind (float32 * 2.0 and float32 * tensor(2.0, float64) stay
float32), an integer meeting a float becomes that float, and true division of integers gives
the default float dtype.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor, raw
from .._errors import ArgumentError, DtypeError, ShapeError, ZeroDivision
from .transfer import to
from .intops import IntBinary  # recorded ops, so an ONNX export sees them


def unbroadcast(xp, g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, to get ``shape``."""
    if tuple(g.shape) == tuple(shape):
        return g
    lead = len(g.shape) - len(shape)
    if lead:
        g = xp.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return xp.sum(g, axis=axes, keepdims=True) if axes else g


def unbroadcast_graph(g, shape):
    """:func:`unbroadcast` of a Tensor, recorded (the ``backward_graph`` of broadcasting
    ops)."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(dim=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(dim=axes, keepdim=True) if axes else g


def quiet(cls):
    """Class decorator for ops whose kernels may meet log(0), x/0 or overflow: their forward
    and backward (and ``backward_graph``) run under ``Backend.quiet()``, so NumPy does not
    warn where PyTorch gives inf/NaN silently."""
    forward, backward = cls.forward, cls.backward

    def quiet_forward(self, *xs, **params):
        with self.be.quiet():
            return forward(self, *xs, **params)

    def quiet_backward(self, *dYs):
        with self.be.quiet():
            return backward(self, *dYs)
    cls.forward, cls.backward = quiet_forward, quiet_backward
    graph = cls.__dict__.get("backward_graph")
    if graph is not None:
        def quiet_graph(self, *dYs):
            with self.be.quiet():
                return graph(self, *dYs)
        cls.backward_graph = quiet_graph
    return cls


def _kind(be, dtype):
    """0 bool, 1 integer, 2 floating (PyTorch's promotion categories)."""
    xp = be.xp
    if dtype == xp.bool:
        return 0
    return 2 if xp.isdtype(dtype, "real floating") else 1


def _cast(t, dtype):
    """``t`` in another dtype; differentiable (through ``to``) when both are floating."""
    return to(t, dtype=dtype)


def promote(a, b, op="op", broadcast=True):
    """Two Tensors of one dtype from Tensors, arrays or numbers, by PyTorch's rules; with
    ``broadcast`` (elementwise ops) their shapes must broadcast."""
    if isinstance(a, TensorBase):
        b = as_tensor(b, like=a, op=op)
    else:
        b = as_tensor(b, op=op) if not isinstance(b, TensorBase) else b
        a = as_tensor(a, like=b, op=op)
    sa, sb = a.array.shape, b.array.shape
    if broadcast and sa != sb and sa != () and sb != ():
        _broadcastable(op, tuple(sa), tuple(sb))
    if a.dtype == b.dtype or a._be is not b._be:
        return a, b  # (mixed backends: Function.apply names both)
    be = a._be
    ka, kb = _kind(be, a.dtype), _kind(be, b.dtype)
    za, zb = a.ndim == 0, b.ndim == 0
    if ka == kb:
        if za != zb:  # a 0-d operand takes the dimensioned one's dtype
            return (_cast(a, b.dtype), b) if za else (a, _cast(b, a.dtype))
        dt = be.xp.result_type(a.dtype, b.dtype)
        return (a if a.dtype == dt else _cast(a, dt)), (b if b.dtype == dt else _cast(b, dt))
    # different kinds: the higher kind's dtype wins
    return (_cast(a, b.dtype), b) if kb > ka else (a, _cast(b, a.dtype))


def _broadcastable(op, sa, sb):
    """Raise naming ``op`` unless the shapes broadcast (the same message on every backend)."""
    for x, y in zip(sa[::-1], sb[::-1]):
        if x != y and x != 1 and y != 1:
            raise ShapeError(f"{op}: shapes {sa} and {sb} cannot be broadcast together")


def _floating(t):
    """``t`` itself if floating, else cast to the default float dtype (int -> float ops)."""
    if t._be.is_floating(t.dtype):
        return t
    return _cast(t, t._be.dtype(B.get_default_dtype()))


class Add(Function):
    saved_inputs = ()

    def forward(self, A, B, alpha=1):
        self.shapes, self.alpha = (A.shape, B.shape), alpha
        return A + B if alpha == 1 else A + alpha * B

    def backward(self, dY):
        sa, sb = self.shapes
        dB = None
        if self.needs[1]:
            dB = unbroadcast(self.xp, dY if self.alpha == 1 else dY * self.alpha, sb)
        return unbroadcast(self.xp, dY, sa) if self.needs[0] else None, dB

    def backward_graph(self, dY):
        sa, sb = self.shapes
        dB = unbroadcast_graph(dY if self.alpha == 1 else dY * self.alpha, sb) \
            if self.needs[1] else None
        return unbroadcast_graph(dY, sa) if self.needs[0] else None, dB


class Sub(Function):
    saved_inputs = ()

    def forward(self, A, B, alpha=1):
        self.shapes, self.alpha = (A.shape, B.shape), alpha
        return A - B if alpha == 1 else A - alpha * B

    def backward(self, dY):
        sa, sb = self.shapes
        dB = unbroadcast(self.xp, -dY if self.alpha == 1 else dY * -self.alpha, sb) \
            if self.needs[1] else None
        return unbroadcast(self.xp, dY, sa) if self.needs[0] else None, dB

    def backward_graph(self, dY):
        sa, sb = self.shapes
        dB = unbroadcast_graph(-dY if self.alpha == 1 else dY * -self.alpha, sb) \
            if self.needs[1] else None
        return unbroadcast_graph(dY, sa) if self.needs[0] else None, dB


def _saved_for(needs):
    """Inputs a product's backward reads: B for dA, A for dB (Mul, Div, MatMul)."""
    return (1,) if not needs[1] else (0,) if not needs[0] else (0, 1)


class Mul(Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        self.saved_inputs = _saved_for(self.needs)
        return A * B

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        dA = unbroadcast(xp, dY * B, A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, dY * A, B.shape) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        A, B = self.inputs
        dA = unbroadcast_graph(dY * B, A.shape) if self.needs[0] else None
        dB = unbroadcast_graph(dY * A, B.shape) if self.needs[1] else None
        return dA, dB


@quiet
class Div(Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        self.saved_inputs = (1,) if not self.needs[1] else (0, 1)  # dB reads A and B
        return A / B

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        dA = unbroadcast(xp, dY / B, A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, -dY * A / (B * B), B.shape) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        A, B = self.inputs
        dA = unbroadcast_graph(dY / B, A.shape) if self.needs[0] else None
        dB = unbroadcast_graph(-dY * A / (B * B), B.shape) if self.needs[1] else None
        return dA, dB

@quiet
class Pow(Function):
    saves_output = True

    def forward(self, A, B):
        self.A, self.B = A, B
        self.Y = A ** B
        return self.Y

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        zero = xp.zeros((), dtype=dY.dtype, device=dY.device)
        dA = dB = None
        if self.needs[0]:
            # d(a^b)/da = b a^(b-1), taken as 0 where b == 0 (PyTorch: a^0 is constant)
            dA = unbroadcast(xp, xp.where(B == 0, zero, dY * B * A ** (B - 1)), A.shape)
        if self.needs[1]:
            # d(a^b)/db = a^b log a: 0 where a == 0 and b >= 0, NaN where a < 0 (PyTorch)
            logA = xp.log(xp.where(A > 0, A, xp.ones_like(A)))
            dB = dY * self.Y * logA
            dB = xp.where(A < 0, xp.asarray(float("nan"), dtype=dB.dtype, device=dB.device),
                          xp.where((A == 0) & (B >= 0), zero, dB))
            dB = unbroadcast(xp, dB, B.shape)
        return dA, dB

    def backward_graph(self, dY):
        A, B = self.inputs
        dA = dB = None
        if self.needs[0]:
            dA = unbroadcast_graph(where(B == 0, 0.0, dY * B * A ** (B - 1)), A.shape)
        if self.needs[1]:
            logA = log(where(A > 0, A, 1.0))
            dB = where(A < 0, float("nan"), where((A == 0) & (B >= 0), 0.0, dY * A ** B * logA))
            dB = unbroadcast_graph(dB, B.shape)
        return dA, dB

@quiet
class PowScalar(Function):
    def forward(self, X, p):
        self.X, self.p = X, p
        return X ** p

    def backward(self, dY):
        if self.p == 0:  # x^0 = 1: no gradient, even at x = 0 (0 * 0^-1 would be NaN)
            return self.xp.zeros_like(dY)
        return dY * (self.p * self.X ** (self.p - 1))

    def backward_graph(self, dY):
        if self.p == 0:
            return dY * 0
        return dY * (self.p * self.inputs[0] ** (self.p - 1))

class Maximum(Function):
    """max(A, B) elementwise (sign=-1: min); at a tie each side gets half the gradient, as
    in PyTorch."""

    saved_inputs = ()

    def forward(self, A, B, sign=1):
        xp = self.xp
        self.shapes = (A.shape, B.shape)
        if self.record:
            win = A > B if sign > 0 else A < B
            tie = A == B
            self.wa = xp.astype(win, A.dtype) + 0.5 * xp.astype(tie, A.dtype)
        return xp.maximum(A, B) if sign > 0 else xp.minimum(A, B)

    def backward(self, dY):
        xp, (sa, sb), wa = self.xp, self.shapes, self.wa
        dA = unbroadcast(xp, dY * wa, sa) if self.needs[0] else None
        dB = unbroadcast(xp, dY * (1 - wa), sb) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        (sa, sb), wa = self.shapes, self.wa  # wa: a constant of the inputs' order
        dA = unbroadcast_graph(dY * wa, sa) if self.needs[0] else None
        dB = unbroadcast_graph(dY * (1 - wa), sb) if self.needs[1] else None
        return dA, dB


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
        return dY * self.Y

    def backward_graph(self, dY):
        X = self.inputs[0]
        return dY * exp(X)

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
        return dY / self.X

    def backward_graph(self, dY):
        X = self.inputs[0]
        return dY / X

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
        return dY / (2 * self.Y)

    def backward_graph(self, dY):
        X = self.inputs[0]
        return dY / (2 * sqrt(X))

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
        return -dY * self.Y * self.Y

    def backward_graph(self, dY):
        Y = reciprocal(self.inputs[0])
        return -dY * Y * Y

class Sin(Function):
    def forward(self, X):
        self.X = X
        return self.xp.sin(X)

    def backward(self, dY):
        return dY * self.xp.cos(self.X)

    def backward_graph(self, dY):
        X = self.inputs[0]
        return dY * cos(X)


class Cos(Function):
    def forward(self, X):
        self.X = X
        return self.xp.cos(X)

    def backward(self, dY):
        return -dY * self.xp.sin(self.X)

    def backward_graph(self, dY):
        X = self.inputs[0]
        return -dY * sin(X)


class Abs(Function):
    def forward(self, X):
        self.X = X
        return self.xp.abs(X)

    def backward(self, dY):
        return dY * self.xp.sign(self.X)

    def backward_graph(self, dY):
        X = self.inputs[0]
        return dY * sign(X)


class Clip(Function):
    saved_inputs = ()

    def forward(self, X, lo=None, hi=None):
        xp = self.xp
        if self.record:
            inside = xp.ones(X.shape, dtype=xp.bool, device=X.device)
            if lo is not None:
                inside = inside & (X >= lo)
            if hi is not None:
                inside = inside & (X <= hi)
            self.inside = inside
        if lo is not None and hi is not None and lo > hi:  # PyTorch: hi everywhere (the Array
            lo = hi  # API leaves it unspecified; array-api-strict raises)
        return xp.clip(X, lo, hi)

    def backward(self, dY):
        return dY * self.xp.astype(self.inside, dY.dtype)

    def backward_graph(self, dY):
        return where(self.inside, dY, 0.0)


class Where(Function):
    saved_inputs = ()

    def forward(self, A, B, cond=None):
        self.cond, self.shapes = cond, (A.shape, B.shape)
        return self.xp.where(cond, A, B)

    def backward(self, dY):
        xp, zero = self.xp, self.xp.zeros((), dtype=dY.dtype, device=dY.device)
        sa, sb = self.shapes
        dA = unbroadcast(xp, xp.where(self.cond, dY, zero), sa) if self.needs[0] else None
        dB = unbroadcast(xp, xp.where(self.cond, zero, dY), sb) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        sa, sb = self.shapes
        dA = unbroadcast_graph(where(self.cond, dY, 0.0), sa) if self.needs[0] else None
        dB = unbroadcast_graph(where(self.cond, 0.0, dY), sb) if self.needs[1] else None
        return dA, dB


class Constant(Function):
    """A piecewise-constant function (sign, floor, ceil, round, trunc): zero gradient."""

    saved_inputs = ()

    def forward(self, X, fn=None):
        self.shape = X.shape
        Y = getattr(self.xp, fn)(X)
        if fn == "sign" and self.be.is_floating(X.dtype):  # sign(NaN) is 0 in PyTorch
            Y = self.xp.where(self.xp.isnan(X), self.xp.zeros_like(Y), Y)
        return Y

    def backward(self, dY):
        return self.xp.zeros_like(dY)

    def backward_graph(self, dY):
        return dY._result(self.xp.zeros_like(dY.array), dY._be)


# -- public functions ------------------------------------------------------------------------
def add(input, other, *, alpha=1):
    """input + alpha * other, broadcasting. Two bools add as "or" (PyTorch)."""
    a, b = promote(input, other, "add")
    if a.dtype == a.xp.bool and b.dtype == a.dtype and alpha in (1, True):
        return logical_or(a, b)  # the Array API adds numbers only
    return Add.apply(a, b, alpha=alpha)


def sub(input, other, *, alpha=1):
    """input - alpha * other, broadcasting (two bools refuse, as PyTorch)."""
    a, b = promote(input, other, "sub")
    if a.dtype == a.xp.bool and b.dtype == a.dtype:
        raise DtypeError("sub: subtraction of two bool tensors is not supported; use ^ or "
                         "logical_xor")
    return Sub.apply(a, b, alpha=alpha)


subtract = sub


def mul(input, other):
    """input * other, broadcasting. Two bools multiply as "and" (PyTorch)."""
    a, b = promote(input, other, "mul")
    if a.dtype == a.xp.bool and b.dtype == a.dtype:
        return logical_and(a, b)  # the Array API multiplies numbers only
    return Mul.apply(a, b)


multiply = mul


def div(input, other, *, rounding_mode=None):
    """input / other; integers divide to the default float dtype (``rounding_mode``
    "trunc" or "floor" keeps them integral, without gradient)."""
    a, b = promote(input, other, "div")
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ArgumentError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                                f"{rounding_mode!r}")
        if not a._be.is_floating(a.dtype):  # exact in the integers (floats lose > 2^24)
            check_divisor(a._be, b.array, "div")
            return IntBinary.apply(a, b, op=rounding_mode)
        q = Div.apply(_floating(a), _floating(b))
        q = Constant.apply(q, fn=rounding_mode)
        return q if a._be.is_floating(a.dtype) else _cast(q, a.dtype)
    if not a._be.is_floating(a.dtype):
        a, b = _floating(a), _floating(b)
    return Div.apply(a, b)


divide = true_divide = div


def check_divisor(be, B, op):
    """Raise for an integer divisor array holding a 0, where it is on the host (a check on
    a device would sync): PyTorch raises; NumPy gave 0 or INT_MIN."""
    if be.on_host and bool(be.xp.any(B == 0)):
        raise ZeroDivision(f"{op}: integer division by zero, as in PyTorch")


def _int_div(be, A, B, rounding_mode, op):
    """A // B of two integer arrays, rounded toward -inf ("floor") or 0 ("trunc"); a zero
    divisor raises (:func:`check_divisor`)."""
    xp = be.xp
    check_divisor(be, B, op)
    with be.quiet():
        q = xp.floor_divide(A, B)
        if rounding_mode == "trunc":  # floor and trunc differ for a negative inexact quotient
            q = xp.where((xp.remainder(A, B) != 0) & ((A < 0) != (B < 0)), q + 1, q)
    return q


def pow(input, exponent):
    """input ** exponent; a Python-number exponent takes the one-input path."""
    if isinstance(input, TensorBase) and isinstance(exponent, (int, float, B.np.number)) \
            and not isinstance(exponent, bool):
        # a NumPy float64 exponent would upcast float32: take the Python number it holds
        p = exponent.item() if isinstance(exponent, B.np.number) else exponent
        if isinstance(p, float) and not input._be.is_floating(input.dtype):
            input = _floating(input)
        elif p < 0 and not input._be.is_floating(input.dtype):
            raise DtypeError(f"pow: integers to negative integer powers are not allowed "
                             f"({B.dtype_name(input.dtype)} tensor ** {p})")
        return PowScalar.apply(input, p=p)
    return Pow.apply(*promote(input, exponent, "pow"))


def maximum(input, other):
    return Maximum.apply(*promote(input, other, "maximum"), sign=1)


def minimum(input, other):
    return Maximum.apply(*promote(input, other, "minimum"), sign=-1)


def neg(input):
    x = as_tensor(input, op="neg")
    if x.dtype == x.xp.bool:
        raise DtypeError("neg: negation of a bool tensor is not supported; use ~ or "
                         "logical_not")
    return Neg.apply(x)


negative = neg


def _unary(cls, name, float_only=True):
    def op(input):
        x = as_tensor(input, op=name)
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


def square(input):
    x = as_tensor(input, op="square")
    if x.dtype == x.xp.bool:  # PyTorch squares bools as int64
        x = to(x, dtype=x.xp.int64)
    return Mul.apply(x, x)


def _rounding(fn):
    def op(input):
        x = as_tensor(input, op=fn)
        if not x._be.is_floating(x.dtype) and (fn != "sign" or x.dtype == x.xp.bool):
            return x
        return Constant.apply(x, fn=fn)
    op.__name__ = op.__qualname__ = fn
    op.__doc__ = f"{fn}, elementwise; its gradient is zero."
    return op


sign, floor, ceil, trunc = (_rounding(f) for f in ("sign", "floor", "ceil", "trunc"))


def round(input, decimals=0):
    """Round half to even (as PyTorch), optionally to ``decimals`` places; zero gradient."""
    x = as_tensor(input, op="round")
    if decimals == 0:
        return _rounding("round")(x)
    scale = 10.0 ** decimals
    return div(_rounding("round")(mul(x, scale)), scale)


def lerp(input, end, weight):
    """input + weight * (end - input), as ``torch.lerp`` (``weight`` a number or a tensor;
    differentiable in each tensor)."""
    return add(input, mul(weight, sub(end, input)))


def _less(a, b):
    """The bool array ``a < b`` of two tensors (promoted and broadcast; no gradient, but a
    recorded op, so an ONNX export sees it)."""
    a, b = promote(a, b, "clamp")
    return Compare.apply(a, b, op="lt").array


def clamp(input, min=None, max=None):
    """Clamp to [min, max]; the gradient is zero where the input was clamped. ``min`` and
    ``max`` may be numbers or tensors."""
    x = as_tensor(input, op="clamp")
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    if isinstance(min, TensorBase) or isinstance(max, TensorBase) or B.is_array(min) or \
            B.is_array(max):
        # PyTorch's gradient: to x where min <= x <= max (a tie is x's), to a bound where
        # it wins (maximum/minimum split ties in half)
        if min is not None:
            lo = as_tensor(min, like=x, op="clamp")
            x = where(_less(x, lo), lo, x)
        if max is not None:
            hi = as_tensor(max, like=x, op="clamp")
            x = where(_less(hi, x), hi, x)
        return x
    if isinstance(min, float) or isinstance(max, float):
        x = _floating(x)
    return Clip.apply(x, lo=min, hi=max)


clip = clamp


def nonzero(input, *, as_tuple=False):
    """The indices of the nonzero (True) entries, row-major: an (n, ndim) int64 tensor, or
    with ``as_tuple`` one 1-D int64 tensor per dim, as ``torch.nonzero`` (data-dependent
    sizes: one host sync on a device). No gradient."""
    x = as_tensor(input, op="nonzero")
    xp, be = x.xp, x._be
    arr = x.array if x.ndim else xp.reshape(x.array, (1,))
    idx = [xp.astype(i, xp.int64) for i in xp.nonzero(arr)]
    if as_tuple:  # a 0-d input as a 1-D one (PyTorch)
        return tuple(x._result(i, be) for i in idx)
    if x.ndim == 0:  # (1 or 0 rows, no columns)
        return x._result(xp.zeros((idx[0].shape[0], 0), dtype=xp.int64, device=be.device), be)
    return x._result(xp.stack(idx, axis=1), be)


def argwhere(input):
    """``nonzero(input)``: the (n, ndim) indices of the nonzero entries."""
    return nonzero(input)


def where(condition, input=None, other=None):
    """Elementwise ``condition ? input : other``; differentiable in input and other. With
    the condition alone, ``nonzero(condition, as_tuple=True)`` (PyTorch's one-argument
    form)."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if not isinstance(input, TensorBase) and not isinstance(other, TensorBase) and \
            isinstance(condition, TensorBase):  # two numbers: a new tensor, as PyTorch
        floating = isinstance(input, float) or isinstance(other, float)
        xp, be = condition.xp, condition._be
        dt = be.dtype(B.get_default_dtype()) if floating else \
            xp.bool if isinstance(input, bool) and isinstance(other, bool) else xp.int64
        input = condition._result(xp.asarray(input, dtype=dt, device=be.device), be)
    like = input if isinstance(input, TensorBase) else other
    if not isinstance(like, TensorBase):
        raise TypeError("where: input or other must be a Tensor")
    cond = raw(condition, like, "where", "condition")
    if cond.dtype != like.xp.bool:
        raise TypeError(f"where: condition must be bool, got {B.dtype_name(cond.dtype)}")
    a, b = promote(input, other, "where")
    return Where.apply(a, b, cond=cond)


# -- comparisons and predicates (no gradient) ------------------------------------------------
class Compare(Function):
    """A bool result of two inputs (``op``: lt, le, gt, ge, eq, ne, and, or, xor)."""

    differentiable = False
    OPS = {"lt": lambda A, B: A < B, "le": lambda A, B: A <= B, "gt": lambda A, B: A > B,
           "ge": lambda A, B: A >= B, "eq": lambda A, B: A == B, "ne": lambda A, B: A != B,
           "and": lambda A, B: A & B, "or": lambda A, B: A | B, "xor": lambda A, B: A ^ B}

    def forward(self, A, B, op=None):
        if op in ("and", "or", "xor"):  # on truth values: numbers count as x != 0
            A, B = (X if X.dtype == self.xp.bool else X != 0 for X in (A, B))
        return Compare.OPS[op](A, B)


class Predicate(Function):
    """A bool result of one input (``op``: isnan, isinf, isfinite, not)."""

    differentiable = False

    def forward(self, X, op=None):
        if op == "not":
            return ~X if X.dtype == self.xp.bool else X == 0
        return getattr(self.xp, op)(X)


def _compare(name, op):
    def cmp(input, other):
        return Compare.apply(*promote(input, other, name), op=op)
    cmp.__name__ = cmp.__qualname__ = name
    cmp.__doc__ = f"Elementwise {name}, a bool Tensor (no gradient)."
    return cmp


lt = less = _compare("lt", "lt")
le = less_equal = _compare("le", "le")
gt = greater = _compare("gt", "gt")
ge = greater_equal = _compare("ge", "ge")
eq = _compare("eq", "eq")
ne = not_equal = _compare("ne", "ne")
logical_and = _compare("logical_and", "and")
logical_or = _compare("logical_or", "or")
logical_xor = _compare("logical_xor", "xor")


def _predicate(name):
    def pred(input):
        return Predicate.apply(as_tensor(input, op=name), op=name)
    pred.__name__ = pred.__qualname__ = name
    return pred


isnan, isinf, isfinite = (_predicate(n) for n in ("isnan", "isinf", "isfinite"))


def logical_not(input):
    return Predicate.apply(as_tensor(input, op="logical_not"), op="not")


def masked_fill(input, mask, value):
    """``input`` with ``value`` where the bool ``mask`` (broadcast) is True; the gradient
    flows to input elsewhere (and to ``value`` if it is a tensor)."""
    x = as_tensor(input, op="masked_fill")
    v = value if isinstance(value, TensorBase) else as_tensor(value, like=x, op="masked_fill")
    if v.ndim:
        raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{v.shape}")
    if v.dtype != x.dtype:  # the input's dtype is kept (2.7 into int64 is 2), as PyTorch
        v = _cast(v, x.dtype)
    return where(mask, v, x)

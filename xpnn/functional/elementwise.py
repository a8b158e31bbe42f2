"""Elementwise arithmetic and math: broadcasting ops whose gradients are reduced back."""
from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor


def unbroadcast(xp, g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, to get ``shape``."""
    if tuple(g.shape) == tuple(shape):
        return g
    lead = len(g.shape) - len(shape)
    if lead:
        g = xp.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return xp.sum(g, axis=axes, keepdims=True) if axes else g


def _pair(a, b):
    """Two Tensors from a Tensor and a Tensor/array/scalar, the scalar typed like the tensor.

    An int or bool operand meeting a floating one is cast to its dtype first, as in PyTorch:
    NumPy would make int64 + float32 float64, and array_api_strict refuses the mix.
    """
    if isinstance(a, Tensor):
        b = as_tensor(b, like=a)
    else:
        b = as_tensor(b)
        a = as_tensor(a, like=b)
    fa, fb = _floating(a), _floating(b)
    if fa != fb and a._be is b._be:
        if fa:
            b = Tensor(b.xp.astype(b.data, a.dtype), _be=b._be)
        else:
            a = Tensor(a.xp.astype(a.data, b.dtype), _be=a._be)
    return a, b


def _floating(t):
    return t.xp.isdtype(t.dtype, "real floating")


class Add(Function):
    def forward(self, A, B):
        self.shapes = (A.shape, B.shape)
        return A + B

    def backward(self, dY):
        sa, sb = self.shapes
        return unbroadcast(self.xp, dY, sa), unbroadcast(self.xp, dY, sb)


class Sub(Function):
    def forward(self, A, B):
        self.shapes = (A.shape, B.shape)
        return A - B

    def backward(self, dY):
        sa, sb = self.shapes
        dB = unbroadcast(self.xp, -dY, sb) if self.needs[1] else None
        return unbroadcast(self.xp, dY, sa), dB


class Mul(Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        return A * B

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        dA = unbroadcast(xp, dY * B, A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, dY * A, B.shape) if self.needs[1] else None
        return dA, dB


class Div(Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        return A / B

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        dA = unbroadcast(xp, dY / B, A.shape) if self.needs[0] else None
        dB = unbroadcast(xp, -dY * A / (B * B), B.shape) if self.needs[1] else None
        return dA, dB


class Pow(Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        self.Y = A ** B
        return self.Y

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        # d(a^b)/da = b a^(b-1);  d(a^b)/db = a^b log a
        dA = unbroadcast(xp, dY * B * A ** (B - 1), A.shape) if self.needs[0] else None
        dB = None
        if self.needs[1]:
            logA = xp.log(xp.where(A > 0, A, xp.ones_like(A)))
            dB = unbroadcast(xp, dY * self.Y * logA, B.shape)
        return dA, dB


class PowScalar(Function):
    def forward(self, X, p):
        self.X, self.p = X, p
        return X ** p

    def backward(self, dY):
        return dY * (self.p * self.X ** (self.p - 1))


class Maximum(Function):
    def forward(self, A, B):
        self.mask = A >= B  # a tie sends the whole gradient to A (torch splits it in half)
        self.shapes = (A.shape, B.shape)
        return self.xp.maximum(A, B)

    def backward(self, dY):
        xp, zero = self.xp, self.xp.zeros_like(dY)
        sa, sb = self.shapes
        return (unbroadcast(xp, xp.where(self.mask, dY, zero), sa),
                unbroadcast(xp, xp.where(self.mask, zero, dY), sb))


class Neg(Function):
    def forward(self, X):
        return -X

    def backward(self, dY):
        return -dY


class Exp(Function):
    def forward(self, X):
        self.Y = self.xp.exp(X)
        return self.Y

    def backward(self, dY):
        return dY * self.Y


class Log(Function):
    def forward(self, X):
        self.X = X
        return self.xp.log(X)

    def backward(self, dY):
        return dY / self.X


class Sqrt(Function):
    def forward(self, X):
        self.Y = self.xp.sqrt(X)
        return self.Y

    def backward(self, dY):
        return dY / (2 * self.Y)


class Abs(Function):
    def forward(self, X):
        self.X = X
        return self.xp.abs(X)

    def backward(self, dY):
        return dY * self.xp.sign(self.X)


class Clip(Function):
    def forward(self, X, lo=None, hi=None):
        xp = self.xp
        inside = xp.ones(X.shape, dtype=xp.bool, device=self.be.device)
        if lo is not None:
            inside = inside & (X >= lo)
        if hi is not None:
            inside = inside & (X <= hi)
        self.inside = inside
        return xp.clip(X, lo, hi)

    def backward(self, dY):
        return self.xp.where(self.inside, dY, self.xp.zeros_like(dY))


class Where(Function):
    def forward(self, A, B, cond=None):
        self.cond, self.shapes = cond, (A.shape, B.shape)
        return self.xp.where(cond, A, B)

    def backward(self, dY):
        xp, zero = self.xp, self.xp.zeros_like(dY)
        sa, sb = self.shapes
        dA = unbroadcast(xp, xp.where(self.cond, dY, zero), sa) if self.needs[0] else None
        dB = unbroadcast(xp, xp.where(self.cond, zero, dY), sb) if self.needs[1] else None
        return dA, dB


def add(a, b):
    return Add.apply(*_pair(a, b))


def sub(a, b):
    return Sub.apply(*_pair(a, b))


def mul(a, b):
    return Mul.apply(*_pair(a, b))


def div(a, b):
    return Div.apply(*_pair(a, b))


def pow(a, b):
    """a ** b; a Python-number exponent takes the cheaper one-input path."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        # float(): np.float64 is a float subclass, and as an exponent it would upcast float32
        return PowScalar.apply(a, p=float(b) if isinstance(b, float) else b)
    return Pow.apply(*_pair(a, b))


def maximum(a, b):
    return Maximum.apply(*_pair(a, b))


def minimum(a, b):
    return neg(maximum(neg(as_tensor(a, like=b if isinstance(b, Tensor) else None)),
                       neg(as_tensor(b, like=a if isinstance(a, Tensor) else None))))


def neg(x):
    return Neg.apply(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs(x):
    return Abs.apply(x)


def square(x):
    return Mul.apply(x, x)


def clip(x, min=None, max=None):
    """Clamp to [min, max]; the gradient is zero where the input was clamped."""
    return Clip.apply(x, lo=min, hi=max)


def where(cond, a, b):
    """Elementwise ``cond ? a : b``; differentiable in a and b."""
    a, b = _pair(a, b)
    cond = cond.data if isinstance(cond, Tensor) else cond
    return Where.apply(a, b, cond=cond)


def _compare(op):
    def cmp(a, b):
        a, b = _pair(a, b)
        if a._be is not b._be:
            from ..autograd import _mixed
            _mixed(op.__name__, (a, b))
        return Tensor(op(a.data, b.data), _be=a._be)
    return cmp


def _lt(A, B): return A < B  # noqa: E704
def _le(A, B): return A <= B  # noqa: E704
def _gt(A, B): return A > B  # noqa: E704
def _ge(A, B): return A >= B  # noqa: E704
def _eq(A, B): return A == B  # noqa: E704
def _ne(A, B): return A != B  # noqa: E704


lt, le, gt, ge, eq, ne = (_compare(f) for f in (_lt, _le, _gt, _ge, _eq, _ne))

"""Activation functions, each one node with its derivative written under it."""
from __future__ import annotations

import math
from functools import partial

from .. import backend as B
from .. import cpu
from ..autograd import Function, as_tensor
from .transfer import to
from .._errors import DtypeError

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_INV_SQRT_PI = 1 / math.sqrt(math.pi)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _sigmoid(xp, X):
    # exp of -|x| never overflows; the two branches are the same function mirrored
    E = xp.exp(-xp.abs(X))
    return xp.where(X >= 0, 1 / (1 + E), E / (1 + E))


def erf_portable(be, X):
    """The error function in pure Array API code, accurate to ~1e-15 (float64).

    For |x| < 2.5 the everywhere-positive series erf(x) = 2/sqrt(pi) e^(-x^2)
    sum_n (2x^2)^n x / (1*3*...*(2n+1)) (40 terms; no cancellation); beyond, the continued
    fraction erfc(x) = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) (30
    levels). Both measured against math.erf on a 20,001-point grid over [0, 6]: max error
    1.1e-15.
    """
    xp = be.xp
    A = xp.abs(X)
    near = xp.minimum(A, 2.5)
    x2 = near * near
    term, total = near, near
    for n in range(1, 40):
        term = term * (2 * x2 / (2 * n + 1))
        total = total + term
    series = total * xp.exp(-x2) * _TWO_OVER_SQRT_PI
    far = xp.maximum(A, 2.5)
    K = xp.zeros_like(far)
    for k in range(30, 0, -1):
        K = (k / 2) / (far + K)
    tail = 1 - xp.exp(-far * far) * _INV_SQRT_PI / (far + K)
    return xp.sign(X) * xp.where(A < 2.5, series, tail)


def native_special(name, portable):
    """A table by backend name of the native versions of the special function ``name``:
    SciPy's for NumPy (``portable`` where SciPy is missing), ``torch.special``'s, and
    ``cupyx.scipy.special``'s; every other backend takes ``portable``."""
    def on_numpy(be, X):
        special = B.optional_module("scipy.special")
        return getattr(special, name)(X) if special is not None else portable(be, X)

    def on_torch(be, X):
        return getattr(be.lib.special, name)(X)

    def on_cupy(be, X):
        return getattr(B.optional_module("cupyx.scipy.special"), name)(X)
    return {"numpy": on_numpy, "torch": on_torch, "cupy": on_cupy}


ERF = native_special("erf", erf_portable)


def erf_array(be, X):
    return ERF.get(be.name, erf_portable)(be, X)


class Erf(Function):
    """erf(x); d/dx = 2/sqrt(pi) e^(-x^2)."""

    saved_inputs = ()

    def forward(self, X):
        self.X = X
        return erf_array(self.be, X)

    def backward(self, dY):
        X = self.X
        return dY * (_TWO_OVER_SQRT_PI * self.xp.exp(-(X * X)))

    def backward_graph(self, dY):
        from .elementwise import exp
        X = self.inputs[0]
        return dY * (_TWO_OVER_SQRT_PI * exp(-(X * X)))


def erf(input):
    """The error function, as ``torch.erf`` (integers give the default float dtype)."""
    return Erf.apply(_input("erf", input))


def _relu_portable(be, X):
    return be.xp.maximum(X, 0)


def _relu_backward_portable(be, dY, Y):
    # a multiply by the 0/1 mask: NumPy's where() is ~10x slower on random masks
    return dY * be.xp.astype(Y > 0, dY.dtype)


_ZEROS = {}  # dtype -> a block of _ZERO_BLOCK zeros that NumPy's ReLU compares against
_ZERO_BLOCK = 1 << 15


def _relu_flat(np, x, y):
    """y = maximum(x, 0), block by block against an array of zeros: NumPy 2.4's maximum
    with a scalar operand takes a loop ~2.4x slower than with two arrays (1024 x 256
    float32: 99 vs 41 us), and the result is the same bit for bit (NaN and -0.0 included).
    Arrays with gaps take the scalar."""
    if x.ndim != 1:
        views = cpu.flat_views(x, y)
        if views is None:
            np.maximum(x, 0, out=y)
            return
        x, y = views
    zeros = _ZEROS.get(x.dtype)
    if zeros is None:
        zeros = _ZEROS[x.dtype] = np.zeros(_ZERO_BLOCK, dtype=x.dtype)
    n = x.shape[0]
    for a in range(0, n, _ZERO_BLOCK):
        b = min(n, a + _ZERO_BLOCK)
        np.maximum(x[a:b], zeros[:b - a], out=y[a:b])


def _relu_numpy(be, X):
    """The portable ReLU over pieces of the arrays' memory on xpnn's CPU threads."""
    np = be.lib
    if X.dtype.kind != "f":  # integers (and bools) keep the portable promotion rules
        return _relu_portable(be, X)
    Y = np.empty_like(X)
    cpu.split_flat(partial(_relu_flat, np), X, Y)
    return Y


def _relu_backward_numpy(be, dY, Y):
    np = be.lib
    dX = np.empty_like(dY)
    cpu.split_flat(lambda dy, y, dx: np.multiply(dy, (y > 0).astype(dy.dtype), out=dx),
                   dY, Y, dX)
    return dX


def _relu_backward_cupy(be, dY, Y):
    """dY * (Y > 0) in one kernel (the portable code launches three); integers keep the
    portable promotion rules."""
    if not B.kernel_floats(dY, Y):
        return _relu_backward_portable(be, dY, Y)
    return be.kernel("xpnn_relu_back", "T dy, T y", "T dx",
                     "dx = dy * (y > (T)0 ? (T)1 : (T)0);")(dY, Y)


# Native ReLU kernels by backend name (forward, backward); the others take the portable ones.
RELU = {"numpy": (_relu_numpy, _relu_backward_numpy),
        "cupy": (_relu_portable, _relu_backward_cupy)}
_RELU_PORTABLE = (_relu_portable, _relu_backward_portable)


class ReLU(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X):
        self.Y = RELU.get(self.be.name, _RELU_PORTABLE)[0](self.be, X)
        return self.Y

    def backward(self, dY):
        return RELU.get(self.be.name, _RELU_PORTABLE)[1](self.be, dY, self.Y)

    def backward_graph(self, dY):
        return dY.where(self.inputs[0] > 0, 0.0)


class LeakyReLU(Function):
    saved_inputs = ()

    def forward(self, X, slope=0.01):
        self.pos, self.slope = X > 0, slope
        return self.xp.where(self.pos, X, X * slope)

    def backward(self, dY):
        return self.xp.where(self.pos, dY, dY * self.slope)

    def backward_graph(self, dY):
        return dY.where(self.pos, dY * self.slope)


class ELU(Function):
    saved_inputs = ()

    def forward(self, X, alpha=1.0):
        xp = self.xp
        self.pos, self.alpha = X > 0, alpha
        self.E = xp.exp(xp.minimum(X, 0.0))  # clamp: exp of a large positive x would overflow
        return xp.where(self.pos, X, alpha * (self.E - 1))

    def backward(self, dY):
        return self.xp.where(self.pos, dY, dY * (self.alpha * self.E))

    def backward_graph(self, dY):
        E = self.inputs[0].clamp(max=0.0).exp()
        return dY.where(self.pos, dY * (self.alpha * E))


class GELU(Function):
    def forward(self, X, approximate="none"):
        xp = self.xp
        self.X, self.approx = X, approximate
        if approximate == "tanh":
            self.T = xp.tanh(_SQRT_2_OVER_PI * (X + 0.044715 * X ** 3))
            return 0.5 * X * (1 + self.T)
        self.Phi = 0.5 * (1 + erf_array(self.be, X * _INV_SQRT_2))
        return X * self.Phi

    def backward(self, dY):
        xp, X = self.xp, self.X
        if self.approx == "tanh":
            T = self.T
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * X * X)
            return dY * (0.5 * (1 + T) + 0.5 * X * (1 - T * T) * dinner)
        # d/dx x Phi(x) = Phi(x) + x phi(x)
        return dY * (self.Phi + X * (_INV_SQRT_2PI * xp.exp(-0.5 * X * X)))

    def backward_graph(self, dY):
        X = self.inputs[0]
        if self.approx == "tanh":
            T = (_SQRT_2_OVER_PI * (X + 0.044715 * X ** 3)).tanh()
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * X * X)
            return dY * (0.5 * (1 + T) + 0.5 * X * (1 - T * T) * dinner)
        Phi = 0.5 * (1 + (X * _INV_SQRT_2).erf())
        return dY * (Phi + X * (_INV_SQRT_2PI * (-0.5 * X * X).exp()))


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


class Softmax(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X, axis=-1):
        xp = self.xp
        if X.shape[axis] == 0:  # nothing to normalize (max has no identity): empty, as torch
            self.Y, self.axis = X + 0, axis
            return self.Y
        m = xp.max(X, axis=axis, keepdims=True)
        # a row of -inf gives NaN, as torch, without NumPy's warnings for -inf - -inf or 0/0
        E = xp.exp(X - xp.where(m > -xp.inf, m, 0.0))
        total = xp.sum(E, axis=axis, keepdims=True)
        self.Y, self.axis = E / xp.where(total > 0, total, xp.nan), axis
        return self.Y

    def backward(self, dY):
        Y = self.Y
        # Jacobian-vector product of softmax: y * (dy - <dy, y>)
        return Y * (dY - self.xp.sum(dY * Y, axis=self.axis, keepdims=True))

    def backward_graph(self, dY):
        Y = self.inputs[0].softmax(self.axis)
        return Y * (dY - (dY * Y).sum(dim=self.axis, keepdim=True))


class LogSoftmax(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, X, axis=-1):
        Y = _log_softmax(self.be, X, axis)
        self.Y, self.axis = Y, axis
        return Y

    def backward(self, dY):
        xp = self.xp
        return dY - xp.exp(self.Y) * xp.sum(dY, axis=self.axis, keepdims=True)

    def backward_graph(self, dY):
        P = self.inputs[0].softmax(self.axis)
        return dY - P * dY.sum(dim=self.axis, keepdim=True)


def log_softmax_array(xp, X, axis=-1):
    """log softmax on a raw array, stable for any finite logits (max subtracted first); a
    row of -inf gives NaN, as torch (without NumPy's warnings for -inf - -inf or log(0))."""
    m = xp.max(X, axis=axis, keepdims=True)
    Z = X - xp.where(m > -xp.inf, m, 0.0)
    S = xp.sum(xp.exp(Z), axis=axis, keepdims=True)
    return Z - xp.log(xp.where(S > 0, S, xp.nan))


def _log_softmax_rows(np, X, out, a, b):
    """:func:`log_softmax_array` over axis 1 of rows a:b, written into ``out``."""
    M = np.max(X[a:b], axis=1, keepdims=True)
    M[M == -np.inf] = 0  # a row of -inf: NaN (as torch), without NumPy's warnings
    Z = np.subtract(X[a:b], M, out=out[a:b])
    S = np.sum(np.exp(Z), axis=1, keepdims=True)
    S[S == 0] = np.nan
    Z -= np.log(S, out=S)


def _log_softmax_numpy(be, X, axis):
    """The portable log softmax over blocks of rows on xpnn's CPU threads (a row's result
    does not depend on the others: the same bits): 4096 x 96 float32 0.77 -> 0.46 ms, the
    LSTM benchmark's loss. Rows of a C-contiguous 2-D array along axis 1 only."""
    np = be.lib
    if X.ndim != 2 or axis not in (1, -1) or not X.flags.c_contiguous or \
            X.dtype.kind != "f":
        return log_softmax_array(be.xp, X, axis)
    out = np.empty_like(X)
    cpu.split_rows(partial(_log_softmax_rows, np, X, out), X.shape[0], X.size, grain=1 << 16)
    return out


# Native log softmax by backend name; every other backend takes log_softmax_array.
LOG_SOFTMAX = {"numpy": _log_softmax_numpy}


def _log_softmax(be, X, axis=-1):
    """log softmax of a raw array of backend ``be`` (its native kernel if it has one)."""
    native = LOG_SOFTMAX.get(be.name)
    if X.shape[axis] == 0:  # an empty dim: nothing to normalize (max has no identity)
        return X + 0
    return native(be, X, axis) if native else log_softmax_array(be.xp, X, axis)


# -- public functions ------------------------------------------------------------------------
def _input(op, x, promote=True):
    """The input as a Tensor; integers become the default float dtype where PyTorch promotes
    (``promote=True``) and raise a TypeError where PyTorch refuses (``promote=False``)."""
    x = as_tensor(x, op=op)
    if x._be.is_floating(x.dtype):
        return x
    if not promote:
        raise DtypeError(f"{op}: expected a floating tensor, got {B.dtype_name(x.dtype)} (cast "
                        "it with .float())")
    return x._result(x.xp.astype(x.array, x._be.dtype(B.get_default_dtype())), x._be)


def _dim(op, x, dim, axis, dtype):
    d = dim if axis is None else axis
    if d is None:  # PyTorch's legacy implicit dim: 1 for 2-D and larger inputs, else 0
        d = 0 if x.ndim in (0, 1, 3) else 1
    if dtype is not None:  # a cast in the graph (no-op where x has that dtype already)
        x = to(x, dtype=dtype)
    return x, d


def _in_place(fn, input, *args, **kwargs):
    """``inplace=True``: ``input`` becomes ``fn(input, ...)`` and is returned, as in PyTorch
    (recorded in the graph where ``input`` is; refused on a leaf that requires grad)."""
    if not hasattr(input, "_unary_inplace"):
        return fn(input, *args, **kwargs)
    return input._unary_inplace(fn.__name__ + "_", lambda t: fn(t, *args, **kwargs))


def relu(input, inplace=False):
    """max(x, 0); integers stay integers, as in PyTorch."""
    if inplace:
        return _in_place(relu, input)
    return ReLU.apply(as_tensor(input, op="relu"))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return _in_place(leaky_relu, input, negative_slope)
    return LeakyReLU.apply(_input("leaky_relu", input, False), slope=negative_slope)


def elu(input, alpha=1.0, inplace=False):
    if inplace:
        return _in_place(elu, input, alpha)
    return ELU.apply(_input("elu", input, False), alpha=alpha)


def gelu(input, approximate="none"):
    """GELU: x * Phi(x); ``approximate="tanh"`` uses the tanh form (Hendrycks & Gimpel 2016)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_input("gelu", input, False), approximate=approximate)


def sigmoid(input):
    return Sigmoid.apply(_input("sigmoid", input))


def silu(input, inplace=False):
    if inplace:
        return _in_place(silu, input)
    return SiLU.apply(_input("silu", input, False))


def tanh(input):
    return Tanh.apply(_input("tanh", input))


def softplus(input, beta=1.0, threshold=20.0):
    return Softplus.apply(_input("softplus", input, False), beta=beta, threshold=threshold)


def softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """exp(x) / sum(exp(x)) along ``dim`` (``axis`` is the Array API alias)."""
    x, d = _dim("softmax", as_tensor(input, op="softmax"), dim, axis, dtype)
    return Softmax.apply(_input("softmax", x, False), axis=d)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """log(softmax(x)) along ``dim``, computed stably."""
    x, d = _dim("log_softmax", as_tensor(input, op="log_softmax"), dim, axis, dtype)
    return LogSoftmax.apply(_input("log_softmax", x, False), axis=d)


# -- more activations, PyTorch's formulas ----------------------------------------------------
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
        a piecewise-constant f' is ``D`` itself."""
        X = self.inputs[0]
        D = X._result(self.D, X._be) if self.df is None else self.df(X, **self.kw)
        return dY * D

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
        pos = X > 0
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


# PyTorch's SELU constants (Klambauer et al. 2017)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _number(op, name, value):
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
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd!r}")
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
        raise ValueError(f"prelu: weight of shape {w.shape} must have 1 entry or one per "
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
        raise ValueError(f"glu: halving dim {dim} of size {x.shape[d]} needs an even size "
                         f"(input shape {x.shape})")
    return GLU.apply(x, axis=d)


def softmin(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """softmax(-x) along ``dim``."""
    from .elementwise import neg
    x, d = _dim("softmin", as_tensor(input, op="softmin"), dim, axis, dtype)
    return Softmax.apply(neg(_input("softmin", x, False)), axis=d)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """Samples from the Gumbel-softmax distribution (Jang et al. 2016): softmax((logits +
    g) / tau) with g ~ Gumbel(0, 1) from the backend's generator; ``hard`` returns the
    one-hot argmax with the soft sample's gradient (straight-through)."""
    from .elementwise import add, div, sub
    x = _input("gumbel_softmax", logits, False)
    xp, be = x.xp, x._be
    # -log(E) for E ~ Exponential(1) = -log(-log(1 - U)); 1 - U is in (0, 1]
    E = -xp.log(1 - be.uniform(x.shape, x.dtype))
    tiny = xp.asarray(xp.finfo(x.dtype).smallest_normal, dtype=x.dtype, device=be.device)
    G = -xp.log(xp.maximum(E, tiny))
    y = softmax(div(add(x, x._result(G, be)), tau), dim)
    if not hard:
        return y
    d = dim % max(x.ndim, 1)
    top = xp.argmax(y.array, axis=d, keepdims=True)
    pos = xp.reshape(xp.arange(x.shape[d], device=be.device),
                     (1,) * d + (x.shape[d],) + (1,) * (x.ndim - d - 1))
    onehot = x._result(xp.astype(pos == top, x.dtype), be)
    return add(sub(onehot, y.detach()), y)

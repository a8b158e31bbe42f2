"""Activation functions, each one node with its derivative written under it.

This file holds the ones with native kernels (erf with ``ERF``, ReLU with ``RELU``, GELU on
erf, the softmax family with ``LOG_SOFTMAX``) and re-exports the others: the shared input
helpers in activation_base.py, the pointwise ones in activation_pointwise.py, the
``_Local`` family in activation_more.py."""
from __future__ import annotations

import math
from functools import partial

from .. import backend as B
from .. import cpu
from .._errors import DtypeError
from ..autograd import Function, as_tensor
from .activation_base import _dim, _in_place, _input, _sigmoid
from .broadcast import is_sparse_coo, quiet
from .complex_base import refuse_complex
# the other families live in their own files and are re-exported here, where callers look
from .activation_more import (GLU, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, Mish, PReLU,
                              ScaledELU, Shrink, Softsign, Tanhshrink, Threshold, _Local,
                              _mask, _number, _ONE_SIXTH_F32, _SELU_ALPHA, _SELU_SCALE,
                              _threshold, celu, glu, hardshrink, hardsigmoid, hardswish,
                              hardtanh, logsigmoid, mish, prelu, relu6, selu, softshrink,
                              softsign, tanhshrink, threshold)
from .first_order import link
from .activation_pointwise import (ELU, LeakyReLU, Sigmoid, SiLU, Softplus, Tanh, elu,
                                   leaky_relu, sigmoid, silu, softplus, tanh)

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_INV_SQRT_PI = 1 / math.sqrt(math.pi)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


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
    if is_sparse_coo(input):  # sparse COO
        return input._sparse_unary("erf")
    return Erf.apply(_input("erf", input))


def _relu_portable(be, X):
    return be.xp.maximum(X, 0)


def _relu_backward_portable(be, dY, Y):
    # a multiply by the 0/1 mask: NumPy's where() is ~10x slower on random masks; the mask
    # is "not <= 0", so a NaN passes its gradient, as PyTorch's threshold_backward
    return dY * be.xp.astype(~(Y <= 0), dY.dtype)


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
    """dY where the output Y is not <= 0, as the portable code: Y = max(X, 0) is never
    negative, so that is Y != 0 (one mask instead of a compare and its negation; NaN
    passes, -0.0 stops), times the bool mask itself (NumPy converts it in the loop)."""
    np = be.lib
    dX = np.empty_like(dY)
    cpu.split_flat(lambda dy, y, dx: np.multiply(dy, y != 0, out=dx), dY, Y, dX)
    return dX


def _relu_backward_cupy(be, dY, Y):
    """dY * !(Y <= 0) in one kernel (the portable code launches three); integers keep the
    portable promotion rules."""
    if not B.kernel_floats(dY, Y):
        return _relu_backward_portable(be, dY, Y)
    return be.kernel("xpnn_relu_back", "T dy, T y", "T dx",
                     "dx = dy * (y <= (T)0 ? (T)0 : (T)1);")(dY, Y)


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
        X = self.inputs[0]  # linked: PyTorch's threshold_backward reads X (zeros for it)
        return link(dY.where(~(X <= 0), 0.0), X)


@quiet  # x Phi(x) at x = -inf: -inf * 0 = NaN, silently as in PyTorch
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


@quiet
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


@quiet
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
    """:func:`log_softmax_array` over axis 1 of rows a:b, written into ``out`` (the ufuncs'
    own reductions: NumPy's max and sum wrappers cost a microsecond a call, at every step)."""
    M = np.maximum.reduce(X[a:b], axis=1, keepdims=True)
    # a row of -inf: its max as the lowest finite value, so that no -inf - -inf warns;
    # its exps are then all 0, and the sum 0 gives NaN below (as torch). Other maxima are
    # at least that value: unchanged
    np.maximum(M, np.finfo(M.dtype).min, out=M)
    Z = np.subtract(X[a:b], M, out=out[a:b])
    S = np.add.reduce(np.exp(Z), axis=1, keepdims=True)
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


def relu(input, inplace=False):
    """max(x, 0); integers stay integers, as in PyTorch."""
    if is_sparse_coo(input):  # sparse COO
        return input._sparse_unary("relu")
    if inplace:
        return _in_place(relu, input)
    x = as_tensor(input, op="relu")
    refuse_complex("relu", x)
    if x.dtype == x.xp.bool:  # PyTorch: "Boolean inputs not supported for relu"
        raise DtypeError("relu: bool inputs are not supported (got bool), as in PyTorch")
    return ReLU.apply(x)


def gelu(input, approximate="none"):
    """GELU: x * Phi(x); ``approximate="tanh"`` uses the tanh form (Hendrycks & Gimpel 2016)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_input("gelu", input, False), approximate=approximate)


def softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """exp(x) / sum(exp(x)) along ``dim`` (``axis`` is the Array API alias)."""
    x, d = _dim("softmax", as_tensor(input, op="softmax"), dim, axis, dtype)
    if x.ndim == 0:  # one entry (PyTorch: softmax 1, log_softmax 0), as a 1-vector
        return softmax(x.reshape(1), 0).reshape(())
    return Softmax.apply(_input("softmax", x, False), axis=d)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """log(softmax(x)) along ``dim``, computed stably."""
    x, d = _dim("log_softmax", as_tensor(input, op="log_softmax"), dim, axis, dtype)
    if x.ndim == 0:  # one entry (PyTorch: softmax 1, log_softmax 0), as a 1-vector
        return log_softmax(x.reshape(1), 0).reshape(())
    return LogSoftmax.apply(_input("log_softmax", x, False), axis=d)


def softmin(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """softmax(-x) along ``dim``."""
    from .elementwise import neg
    x, d = _dim("softmin", as_tensor(input, op="softmin"), dim, axis, dtype)
    if x.ndim == 0:
        return softmin(x.reshape(1), 0).reshape(())
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

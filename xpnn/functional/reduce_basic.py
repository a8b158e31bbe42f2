"""The basic reductions: sum, mean, prod, max/min (with indices), amax/amin, argmax/argmin,
any/all, cumsum, and the dim/axis helpers every reduction shares (re-exported by
reduce.py, whose doc gives the dim and axis rules).
"""
from __future__ import annotations

import builtins
import math

from .. import backend as B
from .. import return_types
from ..autograd import Function, TensorBase, as_tensor, no_grad
from .._errors import DtypeError, DtypeNotImplemented, IndexRangeError, ShapeError
from .complex_base import refuse_complex
from .broadcast import quiet
from .scalar_args import int_arg
from .transfer import to
from .intops import BoolReduce  # recorded ops, so an ONNX export sees them

MaxResult = return_types.max
MinResult = return_types.min


def resolve(op, dim, axis, keepdim, keepdims):
    """One (dim, keepdim) from PyTorch's and the Array API's spellings."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: got both dim={dim!r} and axis={axis!r}")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, bool(keepdim)


def _axes(op, dim, nd):
    """The reduced axes as a sorted tuple of non-negative ints."""
    if dim is None:
        return tuple(range(nd))
    dims = (dim,) if not isinstance(dim, (tuple, list)) else dim
    n = builtins.max(nd, 1)
    out = []
    for d in map(int_arg, dims):
        if isinstance(d, bool) or not isinstance(d, (int, B.np.integer)):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {d!r}")
        if not -n <= d < n:
            raise IndexError(f"{op}: dim {d!r} is out of range for a tensor with {nd} dims")
        out.append(int(d) % n)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: dim {dim} names a dim twice")
    return tuple(sorted(out)) if nd else ()


def _expand(xp, g, axes):
    """Reinsert reduced axes as size 1 so ``g`` broadcasts against the input."""
    kept = list(g.shape)
    for a in axes:
        kept.insert(a, 1)
    return xp.reshape(g, tuple(kept)) if tuple(kept) != tuple(g.shape) else g


def _expand_graph(g, axes, keep):
    """:func:`_expand` of a Tensor, recorded (``backward_graph`` of the reductions)."""
    if keep:
        return g
    kept = list(g.shape)
    for a in axes:
        kept.insert(a, 1)
    return g.reshape(tuple(kept)) if tuple(kept) != g.shape else g


def _drop(shape, axes):
    return tuple(d for i, d in enumerate(shape) if i not in axes)


@quiet
class Sum(Function):
    saved_inputs = ()

    def forward(self, X, axes=(), keepdims=False, dtype=None):
        self.shape, self.axes, self.keep = X.shape, axes, keepdims
        return self.xp.sum(X, axis=axes, keepdims=keepdims, dtype=dtype)

    def backward(self, dY):
        g = dY if self.keep else _expand(self.xp, dY, self.axes)
        return self.xp.broadcast_to(g, self.shape)

    def backward_graph(self, dY):
        return _expand_graph(dY, self.axes, self.keep).expand(*self.shape)


@quiet
class Mean(Function):
    saved_inputs = ()

    def forward(self, X, axes=(), keepdims=False):
        self.shape, self.axes, self.keep = X.shape, axes, keepdims
        self.n = math.prod(X.shape[a] for a in axes)
        if not self.n:  # NaN, silently as in PyTorch (NumPy warns "Mean of empty slice")
            with self.be.quiet():
                return self.xp.sum(X, axis=axes, keepdims=keepdims) / 0
        return self.xp.mean(X, axis=axes, keepdims=keepdims)

    def backward(self, dY):
        if not self.n:  # the input is empty
            return self.xp.zeros(self.shape, dtype=dY.dtype, device=dY.device)
        g = dY if self.keep else _expand(self.xp, dY, self.axes)
        return self.xp.broadcast_to(g / self.n, self.shape)

    def backward_graph(self, dY):
        if not self.n:
            return dY._result(self.xp.zeros(self.shape, dtype=dY.dtype,
                                             device=self.be.device), dY._be)
        return (_expand_graph(dY, self.axes, self.keep) / self.n).expand(*self.shape)


@quiet
class Prod(Function):
    saves_output = True

    def forward(self, X, axes=(), keepdims=False, whole=False):
        self.X, self.axes, self.keep, self.whole = X, axes, keepdims, whole
        self.Y = self.xp.prod(X, axis=axes, keepdims=True)
        return self.Y if keepdims else self.xp.reshape(self.Y, _drop(X.shape, axes))

    def backward(self, dY):
        from .prod_grad import prod_grad  # d prod / dx_i = prod_{j != i} x_j, PyTorch's way
        xp, X = self.xp, self.X
        g = dY if self.keep else _expand(xp, dY, self.axes)
        with self.be.quiet():  # prod / x_i where x_i == 0 is discarded by a where
            return g * prod_grad(xp, X, self.Y, tuple(self.axes), self.whole)

    def backward_graph(self, dY):
        from .reduce_graph import prod_graph  # g * the product of the others, recorded
        return prod_graph(self, dY)


class Max(Function):
    """max over axes; tied maxima share the gradient equally (as torch.amax)."""

    saved_inputs = ()

    def forward(self, X, axes=(), keepdims=False, sign=1, nan_slice=False):
        xp = self.xp
        self.shape, self.axes, self.keep = X.shape, axes, keepdims
        Y = xp.max(X, axis=axes, keepdims=True) if sign > 0 else \
            xp.min(X, axis=axes, keepdims=True)
        if self.record:  # a NaN is the max: the NaNs share the gradient (PyTorch's max()),
            # or with ``nan_slice`` (its amax/amin) the whole slice's gradient is NaN
            mask = xp.astype((X == Y) | (xp.isnan(X) & xp.isnan(Y)), X.dtype)
            self.weights = mask / xp.sum(mask, axis=axes, keepdims=True)
            if nan_slice:
                nan = xp.asarray(float("nan"), dtype=X.dtype, device=X.device)
                self.weights = xp.where(xp.isnan(Y), nan, self.weights)
        return Y if keepdims else xp.reshape(Y, _drop(X.shape, axes))

    def backward(self, dY):
        g = dY if self.keep else _expand(self.xp, dY, self.axes)
        return g * self.weights

    def backward_graph(self, dY):
        from .reduce_graph import amax_graph
        return amax_graph(self, dY)


class MaxDim(Function):
    """(values, indices) of the max along one dim (sign=-1: min); the gradient goes to the
    index returned, as in PyTorch."""

    saved_inputs = ()

    def forward(self, X, dim=0, keepdim=False, sign=1):
        xp = self.xp
        self.shape, self.dim, self.keep = X.shape, dim, keepdim
        idx = xp.argmax(X, axis=dim, keepdims=True) if sign > 0 else \
            xp.argmin(X, axis=dim, keepdims=True)
        vals = xp.take_along_axis(X, idx, axis=dim)
        self.idx = idx
        if not keepdim:
            vals = xp.squeeze(vals, axis=dim)
            idx = xp.squeeze(idx, axis=dim)
        return vals, idx

    def backward(self, dV, dI):
        xp = self.xp
        g = dV if self.keep else xp.expand_dims(dV, axis=self.dim)
        n = self.shape[self.dim]
        pos = xp.reshape(xp.arange(n, device=dV.device),
                         (1,) * self.dim + (n,) + (1,) * (len(self.shape) - self.dim - 1))
        return xp.where(pos == self.idx, g, xp.zeros((), dtype=g.dtype, device=g.device))

    def backward_graph(self, dV, dI=None):
        from .reduce_graph import max_dim_graph
        return max_dim_graph(self, dV)


@quiet
class CumSum(Function):
    saved_inputs = ()

    def forward(self, X, axis=0):
        self.axis = axis
        return self.xp.cumulative_sum(X, axis=axis)

    def backward(self, dY):
        xp = self.xp  # reversed cumulative sum
        rev = xp.flip(xp.cumulative_sum(xp.flip(dY, axis=self.axis), axis=self.axis),
                      axis=self.axis)
        return rev

    def backward_graph(self, dY):
        from .reduce_graph import cumsum_graph
        return cumsum_graph(self, dY)


# -- public functions ------------------------------------------------------------------------
def _prep(op, input, dim, axis, keepdim, keepdims):
    x = as_tensor(input, op=op)
    dim, keep = resolve(op, dim, axis, keepdim, keepdims)
    return x, _axes(op, dim, x.ndim), keep


def _float_input(op, x, dtype=None, complex_ok=False):
    if dtype is not None:  # a cast in the graph (no-op where x has that dtype already)
        return to(x, dtype=dtype)
    if not x._be.is_floating(x.dtype) and not (complex_ok and x._be.is_complex(x.dtype)):
        # (both of PyTorch's classes here: RuntimeError for mean/var, NotImplementedError
        # for logcumsumexp's missing integer kernel)
        raise DtypeNotImplemented(f"{op}: expected a floating tensor, got "
                                  f"{B.dtype_name(x.dtype)} (pass dtype= or cast with .float())")
    return x


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Sum over ``dim`` (all dims by default). Integers sum to int64, as in PyTorch."""
    if not isinstance(input, TensorBase) and hasattr(input, "_sparse_matmul"):
        return input.sum(dim, keepdim, dtype=dtype)  # a sparse COO tensor: torch.sparse.sum
    x, axes, keep = _prep("sum", input, dim, axis, keepdim, keepdims)
    if dtype is None and not x._be.is_inexact(x.dtype):
        dtype = x.xp.int64
    if x.dtype == x.xp.bool:  # a count (the Array API sums numbers only)
        x = to(x, dtype=x.xp.int64)
    return Sum.apply(x, axes=axes, keepdims=keep, dtype=x._be.dtype(dtype))


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    x = _float_input("mean", as_tensor(input, op="mean"), dtype, complex_ok=True)
    x, axes, keep = _prep("mean", x, dim, axis, keepdim, keepdims)  # the dtype first
    return Mean.apply(x, axes=axes,
                      keepdims=keep)


def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    x, axes, keep = _prep("prod", input, dim, axis, keepdim, keepdims)
    if dtype is not None:
        x = _float_input("prod", x, dtype)
    elif not x._be.is_inexact(x.dtype) and x.dtype != x.xp.int64:
        # PyTorch: bools and every integer type (uint8 too) to int64
        x = to(x, dtype="int64")
    return Prod.apply(x, axes=axes, keepdims=keep, whole=dim is None and axis is None)


def _max_min(op, sign, input, dim, keepdim, axis, keepdims):
    if isinstance(dim, TensorBase) or B.is_array(dim):  # torch.max(a, b): elementwise
        from .elementwise import maximum, minimum
        return (maximum if sign > 0 else minimum)(input, dim)
    x = as_tensor(input, op=op)
    refuse_complex(op, x)
    if x.dtype == x.xp.bool:  # the Array API's max takes numbers: bools as uint8, and back
        out = _max_min(op, sign, to(x, dtype="uint8"), dim, keepdim, axis, keepdims)
        if isinstance(out, tuple):
            return type(out)(to(out[0], dtype="bool"), out[1])
        return to(out, dtype="bool")
    if axis is not None or isinstance(dim, (tuple, list)):  # Array API meaning: values only
        d, keep = resolve(op, dim, axis, keepdim, keepdims)
        return Max.apply(x, axes=_axes(op, d, x.ndim), keepdims=keep, sign=sign)
    if dim is None:
        if x.ndim and not math.prod(x.shape):
            raise ShapeError(f"{op}: the reduction over an empty tensor of shape {x.shape} "
                             "has no identity")
        return Max.apply(x, axes=_axes(op, None, x.ndim), keepdims=False, sign=sign)
    d = _axes(op, dim, x.ndim)
    _nonempty(op, x, d)
    keep = bool(keepdim if keepdims is None else keepdims)
    result = MaxResult if sign > 0 else MinResult
    if x.ndim == 0:
        return result(x, x._result(x.xp.zeros((), dtype=x.xp.int64, device=x._be.device),
                                   x._be))
    values, indices = MaxDim.apply(x, dim=d[0], keepdim=keep, sign=sign)
    return result(values, indices)


def max(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The maximum: of all entries (``max(x)``), ``(values, indices)`` along a dim
    (``max(x, 1)``, ``max(x, dim=1)``), the elementwise maximum (``max(a, b)``), or the values
    over ``axis`` (the Array API's ``max(x, axis=1)``)."""
    return _max_min("max", 1, input, dim, keepdim, axis, keepdims)


def min(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The minimum; the forms of :func:`max`."""
    return _max_min("min", -1, input, dim, keepdim, axis, keepdims)


def amax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The maximum values over ``dim`` (ties share the gradient)."""
    x, axes, keep = _prep("amax", input, dim, axis, keepdim, keepdims)
    refuse_complex("amax", x)  # (no order)
    _nonempty_all("amax", x, dim if axis is None else axis, axes)
    if x.dtype == x.xp.bool:
        return to(Max.apply(to(x, dtype="uint8"), axes=axes, keepdims=keep, sign=1), dtype="bool")
    return Max.apply(x, axes=axes, keepdims=keep, sign=1, nan_slice=True)


def amin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    x, axes, keep = _prep("amin", input, dim, axis, keepdim, keepdims)
    refuse_complex("amin", x)  # (no order)
    _nonempty_all("amin", x, dim if axis is None else axis, axes)
    if x.dtype == x.xp.bool:
        return to(Max.apply(to(x, dtype="uint8"), axes=axes, keepdims=keep, sign=-1), dtype="bool")
    return Max.apply(x, axes=axes, keepdims=keep, sign=-1, nan_slice=True)


def _nonempty_all(op, x, dim, axes):
    """PyTorch's errors for amax/amin with nothing to reduce: RuntimeError for an empty
    tensor without a dim, IndexError for a reduced dim of size 0."""
    if dim is None and x.ndim and not math.prod(x.shape):
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() "
                           f"== 0 (shape {tuple(x.shape)}); specify the dim")
    for d in axes if dim is not None else ():
        if x.shape[d] == 0:
            raise IndexRangeError(f"{op}(): Expected reduction dim {d} to have non-zero size "
                                  f"(shape {tuple(x.shape)})")


def _nonempty(op, x, dims):
    """PyTorch's IndexError for a max/min/argmax over a dim of size 0."""
    if dims and x.shape[dims[0]] == 0:
        raise IndexRangeError(f"{op}: dim {dims[0]} of the tensor of shape {x.shape} is empty "
                              "(a max or min over it has no value)")


def _arg(op, input, dim, keepdim, axis, keepdims):
    """argmax/argmin as the indices of MaxDim (an op the ONNX export sees, as ArgMax)."""
    from .shape import reshape
    x = as_tensor(input, op=op)
    refuse_complex(op, x, kind="runtime")
    d, keep = resolve(op, dim, axis, keepdim, keepdims)
    sign = 1 if op == "argmax" else -1
    if x.dtype == x.xp.bool:
        raise DtypeError(f"{op}: does not support bool input (cast with .int() first)")
    if d is None and not math.prod(x.shape):
        raise IndexRangeError(f"{op}: the tensor of shape {x.shape} is empty: give a dim")
    if d is not None:
        _nonempty(op, x, _axes(op, d, x.ndim))
    with no_grad():
        if d is None or x.ndim == 0:  # (a 0-d tensor's dim 0 or -1: index 0, 0-d)
            idx = MaxDim.apply(reshape(x, (-1,)), dim=0, keepdim=False, sign=sign)[1]
            return reshape(idx, (1,) * x.ndim) if keep or x.ndim == 0 else idx
        return MaxDim.apply(x, dim=_axes(op, d, x.ndim)[0], keepdim=keep, sign=sign)[1]


def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the maximum (of the flattened tensor when no dim); no gradient."""
    return _arg("argmax", input, dim, keepdim, axis, keepdims)


def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _arg("argmin", input, dim, keepdim, axis, keepdims)


def _bool_reduce(op, input, dim, keepdim, axis, keepdims):
    x = as_tensor(input, op=op)
    d, keep = resolve(op, dim, axis, keepdim, keepdims)
    out = BoolReduce.apply(x, op=op, axes=_axes(op, d, x.ndim), keepdims=keep)
    # PyTorch keeps uint8 for uint8 input (its legacy mask type); bool for the rest
    return to(out, dtype="uint8") if x.dtype == x.xp.uint8 else out


def all(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _bool_reduce("all", input, dim, keepdim, axis, keepdims)


def any(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _bool_reduce("any", input, dim, keepdim, axis, keepdims)


def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim`` (``cumulative_sum`` in the Array API)."""
    x = as_tensor(input, op="cumsum")
    if dtype is not None:
        x = _float_input("cumsum", x, dtype)
    elif not x._be.is_inexact(x.dtype) and x.dtype != x.xp.int64:
        # PyTorch: bools and every integer type (uint8 too) to int64
        x = to(x, dtype="int64")
    if x.ndim == 0:  # a 0-d input stays 0-d (PyTorch), after the dim check
        from .shape import reshape
        _axes("cumsum", dim, 1)
        return reshape(CumSum.apply(reshape(x, (1,)), axis=0), ())
    return CumSum.apply(x, axis=_axes("cumsum", dim, x.ndim)[0])

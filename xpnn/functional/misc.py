"""PyTorch's smaller ``torch.*`` functions that programs call now and then: the complex API
(``real``, ``conj``, ``angle``...: in complex.py, re-exported here), statistics and helpers
built from other ops (``cov``, ``corrcoef``, ``histogram``, ``frexp``, ``select_scatter``...),
count draws (``poisson``, ``binomial``), and top-level forms of Tensor methods
(``torch.clone``, ``torch.relu_``...). The creation functions of the same kind are in
xpnn/creation_more.py.

Everything differentiable here is composed of differentiable ops (or has a hand-written
backward), so its gradient comes from theirs; ``frexp``, ``nextafter``, ``histogram`` and
the draws have none, as in PyTorch.
"""
from __future__ import annotations

import math
import warnings

from .. import backend as B
from .. import return_types
from .._errors import ArgumentError, DtypeError, DtypeNotImplemented, IndexRangeError, \
    ShapeError
from ..autograd import TensorBase, as_tensor, no_grad
from .complex import (Angle, angle, conj, conj_physical, imag, is_conj,  # noqa: F401
                      is_neg, real, resolve_conj, resolve_neg)  # moved there, re-exported
from .complex_base import refuse_complex
from .dtype_refusals import refuse_dtypes
from .elementwise import promote
from .indexing import index_add
from .sampling import binomial, poisson  # noqa: F401 (torch.poisson, torch.binomial)
from .shape import _axis


def _tensor(op, x):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def adjoint(input):
    """The conjugate transpose of the last two dims (``mT`` for real tensors)."""
    x = _tensor("adjoint", input)
    if x.ndim == 0:  # PyTorch 2.13 still takes a 0-d tensor (deprecated): its conjugate
        warnings.warn("adjoint() is deprecated on 0-D tensors. Consider using x.conj().",
                      UserWarning, stacklevel=2)
        return conj(x)
    if x.ndim < 2:
        raise ShapeError(f"adjoint: expected a tensor with at least 2 dimensions, got "
                         f"{x.ndim}")
    return conj(x.mT)


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``, as ``torch.rsub``."""
    x = _tensor("rsub", input)
    return other - (x if alpha == 1 else x * alpha)


# -- statistics --------------------------------------------------------------------------------
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows of ``input`` (observations in its
    columns; a 1-D input is one variable, giving a 0-d result), as ``torch.cov``: frequency
    weights ``fweights`` (integers) and importance weights ``aweights`` (floats) per
    observation, ``correction`` subtracted from the (weighted) count."""
    x = _tensor("cov", input)
    refuse_dtypes("cov", ("bool",), x, runtime=True)
    if x.ndim > 2:
        raise ShapeError(f"cov: expected input to have two or fewer dimensions but got an "
                         f"input with {x.ndim} dimensions")
    refuse_complex("cov", x)  # (PyTorch's takes conjugates; xpnn's has no complex form)
    if not x._be.is_floating(x.dtype):
        x = x.to(B.get_default_dtype())
    X = x.reshape(1, -1) if x.ndim < 2 else x
    n = X.shape[1]
    w = aw = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is None:
            continue
        wt = as_tensor(wt, like=x, op="cov")
        if wt.ndim > 1 or math.prod(wt.shape) != n:
            raise ShapeError(f"cov: expected {name} to have one dimension of size {n} (the "
                             f"number of observations), got shape {tuple(wt.shape)}")
        wt = wt.reshape(n)
        if name == "fweights" and wt._be.is_floating(wt.dtype):
            raise DtypeError(f"cov: expected fweights to have an integral dtype, got "
                             f"{B.dtype_name(wt.dtype)}")
        if name == "aweights" and not wt._be.is_floating(wt.dtype):
            raise DtypeError(f"cov: expected aweights to have a floating point dtype, got "
                             f"{B.dtype_name(wt.dtype)}")
        wt = wt.to(x.dtype)
        if name == "aweights":
            aw = wt
        w = wt if w is None else w * wt
    if w is None:
        total = float(n)
        avg = X.mean(dim=1, keepdim=True)
        norm = total - correction
    else:
        total = w.sum()
        avg = (X * w).sum(dim=1, keepdim=True) / total
        norm = total - correction * ((w * aw).sum() / total if aw is not None else 1)
    if isinstance(norm, float):
        if norm <= 0:
            warnings.warn("cov(): degrees of freedom is <= 0: the correction should be less "
                          "than the number of observations", UserWarning, stacklevel=2)
            norm = 0.0
    else:
        norm = norm.clamp(min=0)
    D = X - avg
    C = (D * w if w is not None else D) @ D.mT
    with x._be.quiet():
        C = C / norm
    return C.reshape(()) if x.ndim < 2 else C


def corrcoef(input):
    """The Pearson correlation coefficients of the rows of ``input``, as ``torch.corrcoef``
    (clipped to [-1, 1])."""
    C = cov(_tensor("corrcoef", input))
    if C.ndim == 0:
        with C._be.quiet():
            return C / C
    d = C.diagonal().sqrt()
    with C._be.quiet():
        C = C / d.reshape(-1, 1) / d.reshape(1, -1)
    return C.clamp(-1, 1)


def uniform_edges(op, be, values, bins, lo_hi, dt):
    """``bins + 1`` equal-width edges over ``lo_hi`` (default: the min and max of the 1-D
    array ``values``, one host read as PyTorch's; no data: [0, 1]), the last edge exactly
    ``hi``; a single point is widened to a unit interval around it, as PyTorch."""
    xp = be.xp
    if lo_hi is not None:
        lo, hi = lo_hi
    elif values.shape[0]:
        lo, hi = float(xp.min(values)), float(xp.max(values))
    else:
        lo, hi = 0.0, 1.0
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ArgumentError(f"{op}: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise ValueError(f"{op}: min ({lo}) must not be larger than max ({hi})")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    step = xp.arange(bins + 1, dtype=dt, device=be.device)
    edges = lo + step * ((hi - lo) / bins)
    return xp.concat([edges[:-1], xp.asarray([hi], dtype=dt, device=be.device)])


def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """A histogram of a floating tensor's entries, as ``torch.histogram``: ``bins`` equal
    bins over ``range`` (default: the data's min and max) or the edges given as a 1-D
    tensor; entries outside are left out, the top edge belongs to the last bin. Returns
    ``(hist, bin_edges)`` in input's dtype; ``weight`` (input's shape) weighs each entry,
    ``density`` divides by the total and the bin widths. No gradient."""
    x = _tensor("histogram", input)
    xp, be = x.xp, x._be
    if not be.is_floating(x.dtype):
        raise DtypeNotImplemented(f"histogram: not implemented for {B.dtype_name(x.dtype)} (a "
                                  "floating tensor is expected, as in PyTorch)")
    A = xp.reshape(x.array, (-1,))
    dt = A.dtype
    if isinstance(bins, TensorBase):
        if range is not None:
            raise ArgumentError("histogram: range can't be given with bin edges as a tensor")
        if bins.ndim != 1 or bins.shape[0] < 2:
            raise ShapeError(f"histogram: bin edges must be a 1-D tensor of at least 2 edges, "
                             f"got shape {tuple(bins.shape)}")
        edges = xp.astype(as_tensor(bins, like=x, op="histogram").array, dt)
    else:
        if isinstance(bins, bool) or not isinstance(bins, int) or bins <= 0:
            raise ArgumentError(f"histogram: bins must be > 0, got {bins!r}")
        lo_hi = None if range is None else tuple(float(v) for v in range)
        edges = uniform_edges("histogram", be, A, bins, lo_hi, dt)
    nb = edges.shape[0] - 1
    inside = (A >= edges[0]) & (A <= edges[-1])
    pos = xp.searchsorted(edges, A, side="right") - 1
    pos = xp.clip(xp.where(inside, pos, xp.zeros_like(pos)), 0, nb - 1)
    if weight is not None:
        w = as_tensor(weight, like=x, op="histogram")
        if tuple(w.shape) != tuple(x.shape):
            raise ShapeError(f"histogram: weight should have the input's shape "
                             f"{tuple(x.shape)}, got {tuple(w.shape)}")
        vals = xp.where(inside, xp.astype(xp.reshape(w.array, (-1,)), dt),
                        xp.zeros((), dtype=dt, device=be.device))
    else:
        vals = xp.astype(inside, dt)
    out = xp.zeros((nb,), dtype=dt, device=be.device)
    hist = index_add(be, out, 0, xp.astype(pos, xp.int64), vals)
    if density:
        with be.quiet():
            hist = hist / (xp.sum(hist) * (edges[1:] - edges[:-1]))
    return return_types.histogram(x._result(hist, be), x._result(edges, be))


# -- bits of floats ---------------------------------------------------------------------------
def frexp(input):
    """Each entry as ``mantissa * 2 ** exponent`` with 0.5 <= |mantissa| < 1 (0, inf and
    NaN as themselves with exponent 0), as ``torch.frexp``: the mantissa in input's dtype,
    the exponent int32. No gradient."""
    x = _tensor("frexp", input)
    xp, be = x.xp, x._be
    if not be.is_floating(x.dtype):
        raise DtypeError(f"frexp: only floating-point dtypes are supported, got "
                         f"{B.dtype_name(x.dtype)}")
    A = x.array
    dt = A.dtype
    with be.quiet():
        finite = xp.isfinite(A) & (A != 0)
        safe = xp.where(finite, xp.abs(A), xp.ones_like(A))
        e = xp.floor(xp.log2(safe)) + 1
        half = xp.floor(e / 2)  # scaled in two steps: 2 ** -e alone can overflow
        two = xp.asarray(2.0, dtype=dt, device=be.device)
        m = safe * xp.pow(two, -half) * xp.pow(two, -(e - half))
        # log2 can be off by one next to a power of two: bring m into [0.5, 1)
        up, down = m >= 1, m < 0.5
        m = xp.where(up, m / 2, xp.where(down, m * 2, m))
        e = e + xp.astype(up, dt) - xp.astype(down, dt)
        mant = xp.where(finite, xp.where(A < 0, -m, m), A)
        expo = xp.where(finite, e, xp.zeros_like(e))
    return return_types.frexp(x._result(mant, be), x._result(xp.astype(expo, xp.int32), be))


def nextafter(input, other):
    """The next floating value after each entry of ``input`` towards ``other``, as
    ``torch.nextafter``. No gradient."""
    x, y = promote(_tensor("nextafter", input), other, "nextafter")
    if not x._be.is_floating(x.dtype):
        raise DtypeNotImplemented(f"nextafter: not implemented for {B.dtype_name(x.dtype)}")
    return x._result(x.xp.nextafter(x.array, y.array), x._be)


# -- indices and scatters ----------------------------------------------------------------------
def _scatter_into(op, input, src, key):
    x = _tensor(op, input)
    src = as_tensor(src, like=x, op=op)
    with no_grad():
        want = tuple(x.detach()[key].shape)
    if tuple(src.shape) != want:
        raise ShapeError(f"{op}: expected src to have the size of the slice {want}, got "
                         f"{tuple(src.shape)}")
    out = x.clone()
    out[key] = src
    return out


def select_scatter(input, src, dim, index):
    """A copy of ``input`` with ``src`` written at ``index`` along ``dim``, as
    ``torch.select_scatter``; differentiable in both."""
    x = _tensor("select_scatter", input)
    d = _axis("select_scatter", dim, x.ndim)
    n = x.shape[d]
    if not -n <= int(index) < n:
        raise IndexRangeError(f"select_scatter: index {index} out of range for dim {dim} of "
                              f"size {n}")
    return _scatter_into("select_scatter", x, src, (slice(None),) * d + (int(index),))


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of ``input`` with ``src`` written at ``start:end:step`` along ``dim``, as
    ``torch.slice_scatter``; differentiable in both."""
    x = _tensor("slice_scatter", input)
    d = _axis("slice_scatter", dim, x.ndim)
    if step <= 0:
        raise ValueError(f"slice_scatter: slice step must be positive, got {step}")
    return _scatter_into("slice_scatter", x, src, (slice(None),) * d + (slice(start, end, step),))


def chain_matmul(*matrices, out=None):
    """The product of 2-D matrices (deprecated in PyTorch for ``linalg.multi_dot``)."""
    warnings.warn("xpnn.chain_matmul is deprecated, as torch.chain_matmul: use "
                  "xpnn.linalg.multi_dot, which takes a list of two or more tensors",
                  UserWarning, stacklevel=2)
    if out is not None:
        raise ArgumentError("chain_matmul: out= is not supported by xpnn")
    if not matrices:
        raise ShapeError("chain_matmul: expected one or more matrices")
    for i, m in enumerate(matrices):  # PyTorch checks every type before any shape
        if not isinstance(m, TensorBase):
            raise TypeError(f"chain_matmul: expected a Tensor as element {i}, got "
                            f"{type(m).__name__}")
    for i, m in enumerate(matrices):
        if _tensor("chain_matmul", m).ndim != 2:
            raise ShapeError(f"chain_matmul: tensor {i} must be 2-D, got {m.ndim}-D")
    if len(matrices) == 1:
        return matrices[0].clone()
    from ..linalg import multi_dot
    return multi_dot(list(matrices))


def matrix_exp(A):
    """``torch.matrix_exp``: :func:`xpnn.linalg.matrix_exp`."""
    from ..linalg import matrix_exp as _matrix_exp
    return _matrix_exp(A)


def orgqr(input, tau):
    """``torch.orgqr``: :func:`xpnn.linalg.householder_product`."""
    from ..linalg import householder_product
    return householder_product(input, tau)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-D ``x``, as ``torch.vander``: N columns (default
    len(x)) of powers x^(N-1) ... x^0, or x^0 ... x^(N-1) with ``increasing``."""
    t = _tensor("vander", x)
    if t.ndim != 1:
        raise ShapeError(f"vander: x must be a one-dimensional tensor, got {t.ndim}-D")
    cols = t.shape[0] if N is None else int(N)
    if cols < 0:
        raise ArgumentError(f"vander: N must be non-negative, got {N}")
    if cols <= 1:
        xp, be = t.xp, t._be
        dt = t.dtype if be.is_inexact(t.dtype) else xp.int64
        return t._result(xp.ones((t.shape[0], cols), dtype=dt, device=be.device), be)
    from ..linalg import vander as _vander
    if not t._be.is_inexact(t.dtype):
        t = t.to("int64")
    out = _vander(t, N=cols)
    return out if increasing else out.flip(-1)


# -- torch.<name>(input, ...) for Tensor methods -----------------------------------------------
def calls_method(name):
    """``torch.<name>(input, ...)``: ``input.<name>(...)``."""
    def fn(input, *args, **kwargs):
        return getattr(_tensor(name, input), name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``input.{name}(...)``, under PyTorch's top-level name ``torch.{name}``."
    return fn


# PyTorch's top-level functions that are a Tensor method of the same name (xpnn/__init__.py
# makes one for each that xpnn's Tensor has)
METHOD_FUNCTIONS = (
    "clone", "detach", "detach_", "is_complex", "is_signed", "is_same_size", "is_nonzero",
    "positive", "ger", "fix", "split_with_sizes", "unsafe_chunk", "unsafe_split",
    "unsafe_split_with_sizes", "index_reduce",
    # in place
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_",
    "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "celu_", "clamp_",
    "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "erf_", "erfc_",
    "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_", "index_put_",
    "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "selu_", "sigmoid_",
    "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "threshold_", "trunc_",
    "xlogy_", "zero_")

_interop = {"threads": None, "set": False}


def get_num_interop_threads():
    """The threads for running independent ops at once: xpnn runs ops one after another, so
    this is what :func:`set_num_interop_threads` stored (PyTorch's default, the core count,
    until then)."""
    import os
    return _interop["threads"] or os.cpu_count() or 1


def set_num_interop_threads(num):
    """Stores ``num`` for :func:`get_num_interop_threads` (xpnn has no inter-op pool); as in
    PyTorch it can be set once."""
    if isinstance(num, bool) or not isinstance(num, int) or num <= 0:
        raise ValueError(f"set_num_interop_threads: expected a positive number of threads, "
                         f"got {num!r}")
    if _interop["set"]:
        raise RuntimeError("set_num_interop_threads: the number of inter-op threads can only "
                           "be set once")
    _interop["threads"], _interop["set"] = num, True


def typename(obj):
    """PyTorch's type name of ``obj``: ``"torch.FloatTensor"`` for a float32 tensor, the
    qualified class name of anything else."""
    if isinstance(obj, TensorBase):
        return obj.type()
    t = obj if isinstance(obj, type) else type(obj)
    module = getattr(t, "__module__", "")
    return t.__qualname__ if module in ("builtins", "__builtin__", None) else \
        f"{module}.{t.__qualname__}"

"""ONNX conversions of the less central ops: RMSNorm, adaptive max pooling to windows of
unequal size, bicubic resampling, p-norms, the inverse trigonometric and hyperbolic
functions, atan2, remainder, frac, hypot, logaddexp, xlogy, scatter, and sort/argsort/topk
(one TopK)."""
from __future__ import annotations

import math

import numpy as np

from .graph import onnx_type
from .registry import classes, converts, static, unsupported

INT64_MAX = 2 ** 63 - 1


def _c(g, x):
    """A scalar maker in ``x``'s dtype."""
    return lambda v: g.scalar(v, x.dtype)


# -- normalization ------------------------------------------------------------------------
@converts(*classes("norm", "RMSNorm"))
def _rms_norm(g, n):
    """X / sqrt(mean(X^2 over the last k axes) + eps) (* weight), in xpnn's order."""
    x, k = n.ins[0], int(n.p.get("k", 1))
    eps = n.p.get("eps")
    if eps is None:
        eps = float(np.finfo(np.dtype(x.dtype)).eps)
    axes = list(range(x.ndim - k, x.ndim))
    ms = g.reduce("ReduceMean", g.op("Mul", [x.name, x.name]), axes, True)
    r = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [ms, _c(g, x)(float(eps))])])])
    y = g.op("Mul", [x.name, r])
    return g.op("Mul", [y, n.ins[1].name]) if len(n.ins) > 1 else y


# -- pooling and resampling -----------------------------------------------------------------
def _bounds(size, out):
    """Window i of ``out`` over ``size`` positions: floor(i size / out) .. ceil((i+1) size /
    out) (PyTorch's adaptive windows)."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


@converts(*classes("pool_indexed", "AdaptiveMaxPool"))
def _adaptive_max_pool(g, n):
    """Max over each adaptive window. A maximum over a rectangle is the maximum over rows of
    the maxima over columns, so each axis is pooled on its own: one Slice and ReduceMax per
    output position (windows of unequal size), or one MaxPool when they are equal."""
    x, out = n.ins[0], tuple(n.p["out"])
    if n.p.get("indices", False):
        raise unsupported(n, "return_indices of adaptive max pooling")
    if out == (1, 1):
        return g.op("GlobalMaxPool", [x.name])
    spatial = static(n, tuple(x.shape[2:]), "spatial size")
    first = 4 - x.ndim  # xpnn pools 1-D inputs as (N, C, 1, L); out is then (1, L_out)
    out = out[first:]
    if all(s % o == 0 for s, o in zip(spatial, out)):
        k = [s // o for s, o in zip(spatial, out)]
        return g.op("MaxPool", [x.name], kernel_shape=k, strides=k)
    y = x.name
    for a, (size, o) in enumerate(zip(spatial, out)):
        axis = 2 + a
        if size == o:
            continue
        parts = [g.reduce("ReduceMax", g.op("Slice", [y, g.ints([lo]), g.ints([hi]),
                                                      g.ints([axis])]), [axis], True)
                 for lo, hi in _bounds(size, o)]
        y = parts[0] if len(parts) == 1 else g.op("Concat", parts, axis=axis)
    return y


@converts(*classes("upsampling", "Blend"))
def _blend(g, n):
    """sum_j X[idx[j]] w[j] along ``axis`` with xpnn's own taps and weights (bicubic)."""
    x, axis = n.ins[0], int(n.p.get("axis", 0))
    shape = [-1] + [1] * (x.ndim - axis - 1)
    y = None
    for ij, wj in zip(n.p["idx"], n.p["w"]):
        taken = g.op("Gather", [x.name, ij.name], axis=axis)
        part = g.op("Mul", [taken, g.op("Reshape", [wj.name, g.ints(shape)])])
        y = part if y is None else g.op("Add", [y, part])
    return y


# -- reductions -----------------------------------------------------------------------------
@converts(*classes("reduce", "PNorm"))
def _p_norm(g, n):
    """(sum |x|^p)^(1/p) over ``axes``."""
    x, p = n.ins[0], float(n.p.get("p", 3.0))
    axes, keep = list(n.p.get("axes", ())), bool(n.p.get("keepdims", False))
    c = _c(g, x)
    powered = g.op("Pow", [g.op("Abs", [x.name]), c(p)])
    return g.op("Pow", [g.reduce("ReduceSum", powered, axes, keep), c(1.0 / p)])


# -- elementwise ----------------------------------------------------------------------------
_TRIG = {"tan": "Tan", "asin": "Asin", "acos": "Acos", "atan": "Atan", "sinh": "Sinh",
         "cosh": "Cosh", "asinh": "Asinh", "acosh": "Acosh", "atanh": "Atanh"}


@converts(*classes("moremath", "Unary"))
def _more_unary(g, n):
    x, fn = n.ins[0], n.p.get("fn")
    c = _c(g, x)
    if fn in _TRIG:
        return g.op(_TRIG[fn], [x.name])
    if fn in ("log2", "log10"):
        return g.op("Div", [g.op("Log", [x.name]), c(math.log(2 if fn == "log2" else 10))])
    if fn == "exp2":  # exp(x ln 2), xpnn's formula
        return g.op("Exp", [g.op("Mul", [x.name, c(math.log(2))])])
    raise unsupported(n, f"no ONNX conversion for {fn!r}")


@converts(*classes("moremath", "Atan2"))
def _atan2(g, n):
    """atan2(a, b) from Atan(a / b) and the quadrant (ONNX has no Atan2): +-pi (the sign of
    a, signed zeros included) where b is negative or -0; a itself where both are zero.
    NaN stays NaN; two infinite arguments give NaN (not +-pi/4 or +-3pi/4)."""
    a, b = n.ins
    c = _c(g, a)

    def negative(r):  # r < 0 or r == -0: 1 / r < 0
        return g.op("Less", [g.op("Div", [c(1.0), r.name]), c(0.0)])
    both_zero = g.op("And", [g.op("Equal", [a.name, c(0.0)]), g.op("Equal", [b.name, c(0.0)])])
    base = g.op("Where", [both_zero, a.name, g.op("Atan", [g.op("Div", [a.name, b.name])])])
    turn = g.op("Where", [negative(a), c(-math.pi), c(math.pi)])
    return g.op("Where", [negative(b), g.op("Add", [base, turn]), base])


@converts(*classes("pointwise", "Fmod"))
def _fmod(g, n):
    a, b = n.ins  # C's fmod: the sign of a
    return g.op("Mod", [a.name, b.name], fmod=1)


@converts(*classes("moremath", "Remainder"))
def _remainder(g, n):
    a, b = n.ins
    if np.dtype(a.dtype).kind in "iu":  # integer Mod with fmod=0 takes the divisor's sign
        return g.op("Mod", [a.name, b.name], fmod=0)
    # a - floor(a / b) b (Python's %)
    q = g.op("Floor", [g.op("Div", [a.name, b.name])])
    return g.op("Sub", [a.name, g.op("Mul", [q, b.name])])


@converts(*classes("pointwise", "Frac"))
def _frac(g, n):
    x = n.ins[0].name  # x - trunc(x), trunc(x) = sign(x) floor(|x|)
    return g.op("Sub", [x, g.op("Mul", [g.op("Sign", [x]), g.op("Floor", [g.op("Abs", [x])])])])


@converts(*classes("moremath", "Hypot"))
def _hypot(g, n):
    """max * sqrt(1 + (min / max)^2), which does not overflow as a^2 + b^2 would."""
    a, b = n.ins
    c = _c(g, a)
    aa, bb = g.op("Abs", [a.name]), g.op("Abs", [b.name])
    hi, lo = g.op("Max", [aa, bb]), g.op("Min", [aa, bb])
    safe = g.op("Where", [g.op("Equal", [hi, c(0.0)]), c(1.0), hi])
    ratio = g.op("Div", [lo, safe])
    return g.op("Mul", [hi, g.op("Sqrt", [g.op("Add", [c(1.0), g.op("Mul", [ratio, ratio])])])])


@converts(*classes("moremath", "LogAddExp"))
def _logaddexp(g, n):
    """max + log1p(exp(-|a - b|)), the max itself where both are the same infinity."""
    a, b = n.ins
    c = _c(g, a)
    hi = g.op("Max", [a.name, b.name])
    gap = g.op("Neg", [g.op("Abs", [g.op("Sub", [a.name, b.name])])])
    y = g.op("Add", [hi, g.op("Log", [g.op("Add", [c(1.0), g.op("Exp", [gap])])])])
    return g.op("Where", [g.op("Equal", [a.name, b.name]),
                          g.op("Add", [hi, c(math.log(2))]), y])


@converts(*classes("pointwise", "Xlogy"))
def _xlogy(g, n):
    a, b = n.ins
    c = _c(g, a)
    nil = g.op("And", [g.op("Equal", [a.name, c(0.0)]), g.op("Not", [g.op("IsNaN", [b.name])])])
    return g.op("Where", [nil, c(0.0), g.op("Mul", [a.name, g.op("Log", [b.name])])])


@converts(*classes("gather", "Scatter"))
def _scatter(g, n):
    """Y = X with Y.flat[pos] = S (or += S): ScatterElements on the flattened tensors; S is
    src's corner of the index's shape."""
    x, src = n.ins
    pos = n.p["pos"]
    if not pos.static:
        raise unsupported(n, "the scatter index is computed in the graph; only a constant "
                             "index exports")
    static(n, (x.shape, src.shape), "input shape")  # flat positions hold the sizes
    corner = [int(d) for d in pos.shape]
    s = src.name
    if tuple(corner) != tuple(src.shape):
        s = g.op("Slice", [s, g.ints([0] * len(corner)), g.ints(corner),
                           g.ints(list(range(len(corner))))])
    if src.dtype != x.dtype:
        s = g.op("Cast", [s], to=onnx_type(x.dtype))
    flat = g.op("Reshape", [x.name, g.ints([-1])])
    idx = g.const(np.asarray(pos.host, dtype=np.int64).reshape(-1), "scatter_pos")
    y = g.op("ScatterElements", [flat, idx, g.op("Reshape", [s, g.ints([-1])])], axis=0,
             reduction="add" if n.p.get("add", False) else None)
    return g.op("Reshape", [y, g.op("Shape", [x.name])])


# -- sorting ----------------------------------------------------------------------------------
@converts(*classes("sorting", "TopK"), dynamic=("k",))
def _topk(g, n):
    """sort, argsort and topk: ONNX's TopK, whose ties come in input order as xpnn's (a
    sort of every entry takes k from the input's shape, dynamic axes included)."""
    x = n.ins[0]
    dim = int(n.p.get("dim", -1)) % x.ndim
    largest = bool(n.p.get("largest", True))
    return g.op("TopK", [x.name, g.dim(n.p["k"])], n_out=2, axis=dim, largest=int(largest),
                sorted=1)

"""ONNX conversions of integer and bool ops (remainder, fmod, floor and trunc division,
bitwise and shift ops, all/any), of cumprod, of batch normalization with the batch's
statistics (BatchNorm without running statistics, which uses them in eval mode too), and of
gather's flat positions computed from an index that is a graph value."""
from __future__ import annotations

from importlib import import_module

import numpy as np

from .graph import onnx_type
from .registry import RECOMPUTED, classes, converts, static, unsupported
from .trace import Dyn

N = import_module("xpnn.functional.norm")  # by path: see registry.classes

_UNSIGNED = {"int8": "uint8", "int16": "uint16", "int32": "uint32", "int64": "uint64"}


# -- integers -------------------------------------------------------------------------------
def _shift(g, a, b, direction):
    """a << b or a >> b with ONNX BitShift, which takes unsigned integers only: a signed
    value is cast to its unsigned twin (two's complement, so a left shift wraps as xpnn's);
    a right shift of a negative a is ~((~a) >> b), which keeps the sign (arithmetic)."""
    twin = _UNSIGNED.get(a.dtype)
    if twin is None:  # unsigned already
        return g.op("BitShift", [a.name, b.name], direction=direction)
    signed, unsigned = onnx_type(a.dtype), onnx_type(twin)

    def shifted(v):
        raw = g.op("BitShift", [g.op("Cast", [v], to=unsigned), g.op("Cast", [b.name],
                                                                        to=unsigned)],
                   direction=direction)
        return g.op("Cast", [raw], to=signed)
    if direction == "LEFT":
        return shifted(a.name)
    one = g.scalar(1, a.dtype)

    def invert(v):  # ~v = -v - 1
        return g.op("Sub", [g.op("Neg", [v]), one])
    negative = g.op("Less", [a.name, g.scalar(0, a.dtype)])
    y = shifted(g.op("Where", [negative, invert(a.name), a.name]))
    return g.op("Where", [negative, invert(y), y])


@converts(*classes("intops", "IntBinary"))
def _int_binary(g, n):
    a, b = n.ins
    op = n.p["op"]
    if op == "remainder":  # Mod with fmod=0 takes the divisor's sign, as Python's %
        return g.op("Mod", [a.name, b.name], fmod=0)
    if op == "fmod":
        return g.op("Mod", [a.name, b.name], fmod=1)
    if op in ("floor", "trunc"):  # (a - r) / b is exact: r is the matching remainder
        r = g.op("Mod", [a.name, b.name], fmod=int(op == "trunc"))
        return g.op("Div", [g.op("Sub", [a.name, r]), b.name])
    if op in ("and", "or", "xor"):
        if g.opset < 18:
            raise unsupported(n, f"bitwise_{op} of integers needs ONNX Bitwise"
                                 f"{op.capitalize()}, which opset {g.opset} lacks; export "
                                 "with opset_version=18 or later")
        return g.op(f"Bitwise{op.capitalize()}", [a.name, b.name])
    if op in ("lshift", "rshift"):
        return _shift(g, a, b, "LEFT" if op == "lshift" else "RIGHT")
    raise unsupported(n, f"no ONNX conversion for {op!r}")


@converts(*classes("intops", "IntInvert"))
def _int_invert(g, n):
    """~x without BitwiseNot (opset 18): -x - 1 for signed integers (two's complement),
    MAX - x for unsigned ones."""
    x = n.ins[0]
    if x.dtype in _UNSIGNED:
        return g.op("Sub", [g.op("Neg", [x.name]), g.scalar(1, x.dtype)])
    top = np.iinfo(np.dtype(x.dtype)).max
    return g.op("Sub", [g.scalar(top, x.dtype), x.name])


@converts(*classes("intops", "BoolReduce"))
def _bool_reduce(g, n):
    """all: no entry is false; any: some entry is true; counted with a ReduceSum, which
    gives all() = True and any() = False over nothing, as xpnn."""
    x, op = n.ins[0], n.p.get("op", "all")
    axes, keep = list(n.p.get("axes", ())), bool(n.p.get("keepdims", False))
    truth = x.name if x.dtype == "bool" else \
        g.op("Not", [g.op("Equal", [x.name, g.scalar(0, x.dtype)])])
    if op == "all":
        truth = g.op("Not", [truth])  # count the false entries
    if not axes and x.ndim:  # nothing reduced (an empty dim tuple)
        return g.op("Not", [truth]) if op == "all" else g.op("Identity", [truth])
    count = g.reduce("ReduceSum", g.op("Cast", [truth], to=onnx_type("int64")), axes, keep)
    zero = g.scalar(0, "int64")
    return g.op("Equal" if op == "all" else "Greater", [count, zero])


# -- cumprod --------------------------------------------------------------------------------
@converts(*classes("scan", "CumProd"))
def _cumprod(g, n):
    """The running product, exact for zeros, signs, integers and infinities (ONNX has no
    CumProd, and exp(cumsum(log |x|)) is not exact): along a static axis a Hillis-Steele
    scan, log2(length) rounds of Mul of the array with itself shifted; along a dynamic axis
    a ReduceProd over a lower-triangular selection (length^2 work)."""
    x, axis = n.ins[0], int(n.p.get("axis", 0))
    length = x.shape[axis]
    if not isinstance(length, Dyn):
        y, s = x.name, 1
        while s < length:
            def part(lo, hi):
                return g.op("Slice", [y, g.ints([lo]), g.ints([hi]), g.ints([axis])])
            y = g.op("Concat", [part(0, s), g.op("Mul", [part(0, length - s),
                                                         part(s, length)])], axis=axis)
            s *= 2
        return y if y != x.name else g.op("Identity", [y])
    # Y[..., i, ...] = prod_j where(j <= i, X[..., j, ...], 1): j on a new axis after i
    size = g.dim(length)
    square = g.op("Concat", [size, size], axis=0)
    ones = g.op("Expand", [g.scalar(True, "bool"), square])
    lower = g.op("Trilu", [ones, g.const(np.asarray(0, dtype=np.int64), "k")], upper=0)
    trailing = x.ndim - axis - 1
    if trailing:
        lower = g.op("Reshape", [lower, g.ints([0, 0] + [1] * trailing)])
    spread = g.op("Unsqueeze", [x.name, g.ints([axis])])
    picked = g.op("Where", [lower, spread, g.scalar(1, x.dtype)])
    return g.reduce("ReduceProd", picked, [axis + 1], False)


# -- batch normalization with the batch's statistics ----------------------------------------
_plain_batch_norm = None


def _batch_stats(p):
    """BatchNorm's mean, inv and centered input when they are the batch's: recomputed."""
    return ("mean", "inv", "xc") if p.get("xc") is not None else ()


RECOMPUTED[N.BatchNorm] = _batch_stats


@converts(N.BatchNorm)
def _batch_norm(g, n):
    """Eval mode with running statistics: ops_nn's BatchNormalization. The batch's
    statistics (a BatchNorm with track_running_stats=False, which uses them in eval too):
    the biased mean and variance over every axis but the channels, in the graph, with the
    module's eps."""
    global _plain_batch_norm
    if "mean" in n.p:
        if _plain_batch_norm is None:
            _plain_batch_norm = import_module("xpnn.onnx.ops_nn")._batch_norm
        return _plain_batch_norm(g, n)
    x = n.ins[0]
    module = None
    if g.root is not None and n.where.path is not None:
        try:
            module = g.root.get_submodule(n.where.path)
        except AttributeError:
            module = None
    eps = getattr(module, "eps", None)
    if not isinstance(eps, (int, float)):
        raise unsupported(n, "batch normalization with the batch's statistics exports only "
                             "from a BatchNorm module (whose eps it reads); call the module, "
                             "or F.batch_norm with running statistics in eval mode")
    C = static(n, x.shape[1], "channel count")
    axes = [0] + list(range(2, x.ndim))
    c = lambda v: g.scalar(v, x.dtype)  # noqa: E731
    centered = g.op("Sub", [x.name, g.reduce("ReduceMean", x.name, axes, True)])
    var = g.reduce("ReduceMean", g.op("Mul", [centered, centered]), axes, True)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, c(float(eps))])])])
    named = dict(zip(n.p.get("affine", ()), n.ins[1:]))
    per_channel = g.ints([C] + [1] * (x.ndim - 2))
    if "weight" in named:
        inv = g.op("Mul", [inv, g.op("Reshape", [named["weight"].name, per_channel])])
    y = g.op("Mul", [centered, inv])
    if "bias" in named:
        y = g.op("Add", [y, g.op("Reshape", [named["bias"].name, per_channel])])
    return y


# -- gather's positions ---------------------------------------------------------------------
@converts(*classes("gather", "FlatPositions"), dynamic=("shape",))
def _flat_positions(g, n):
    """index * stride[dim] + sum over the other axes a of arange(index.shape[a]) *
    stride[a], the strides being the products of the later sizes of ``shape`` (computed in
    the graph where a size follows a dynamic axis)."""
    index, shape, dim = n.ins[0], list(n.p["shape"]), int(n.p.get("dim", 0))

    def stride(a):
        later = shape[a + 1:]
        if not later:
            return g.ints([1])
        return g.op("ReduceProd", [g.ints(later)], keepdims=1)  # no axes: over all
    zero, one = g.scalar(0, "int64"), g.scalar(1, "int64")
    pos = g.op("Mul", [index.name, stride(dim)])
    for a, size in enumerate(index.shape):
        if a == dim or (not isinstance(size, Dyn) and size <= 1):
            continue
        length = g.op("Squeeze", [g.dim(size), g.ints([0])])
        ar = g.op("Range", [zero, length, one])
        view = [1] * a + [-1] + [1] * (index.ndim - a - 1)
        ar = g.op("Reshape", [ar, g.ints(view)])
        pos = g.op("Add", [pos, g.op("Mul", [ar, stride(a)])])
    return pos


@converts(*classes("elementwise", "Lerp"))
def _lerp(g, n):
    """torch.lerp's two formulas: A + W D where |W| < 0.5, else E - D (1 - W), D = E - A."""
    a, e, w = n.ins
    d = g.op("Sub", [e.name, a.name])
    low = g.op("Add", [a.name, g.op("Mul", [w.name, d])])
    rest = g.op("Sub", [g.scalar(1, w.dtype), w.name])
    high = g.op("Sub", [e.name, g.op("Mul", [d, rest])])
    small = g.op("Less", [g.op("Abs", [w.name]), g.scalar(0.5, w.dtype)])
    return g.op("Where", [small, low, high])

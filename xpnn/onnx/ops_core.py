"""ONNX conversions of the elementwise, matrix, shape, indexing and reduction ops
(xpnn/functional: elementwise, linalg, shape, indexing, reduce, embedding, padding,
rearrange, gather, upsampling). Those of the ops that move values by index (indexing,
embedding, padding, rearrange, gather, upsampling) are in ops_index.py, re-exported here."""
from __future__ import annotations

import math
from importlib import import_module

import numpy as np

from .registry import converts, unsupported
from .trace import Dyn
# re-exported where ops_core.py held them before the split (importing it registers them)
from .ops_index import (INT64_MAX, INT64_MIN, Emb, I, _basic_index, _constant_pad,  # noqa: F401
                        _embedding, _flip, _gather_flat, _lerp, _offset, _roll, _take,
                        _triangle)

# by module path: xpnn.functional re-exports functions named like some of its modules
# (norm, embedding, dropout), so attribute access would find those instead
E = import_module("xpnn.functional.elementwise")
L = import_module("xpnn.functional.linalg")
R = import_module("xpnn.functional.reduce")
S = import_module("xpnn.functional.shape")
T = import_module("xpnn.functional.transfer")


def _names(refs):
    return [r.name for r in refs]


# -- elementwise ------------------------------------------------------------------------
def _binary(op_type):
    def convert(g, n):
        a, b = n.ins
        alpha = n.p.get("alpha", 1)
        bn = b.name if alpha == 1 else g.op("Mul", [b.name, g.scalar(alpha, b.dtype)])
        return g.op(op_type, [a.name, bn])
    return convert


converts(E.Add)(_binary("Add"))
converts(E.Sub)(_binary("Sub"))
converts(E.Mul)(_binary("Mul"))
converts(E.Div)(_binary("Div"))
converts(E.Pow)(_binary("Pow"))

_UNARY = {E.Neg: "Neg", E.Exp: "Exp", E.Log: "Log", E.Sqrt: "Sqrt", E.Reciprocal: "Reciprocal",
          E.Sin: "Sin", E.Cos: "Cos", E.Abs: "Abs"}


@converts(*_UNARY)
def _unary(g, n):
    return g.op(_UNARY[n.cls], [n.ins[0].name])


@converts(E.PowScalar)
def _pow_scalar(g, n):
    x = n.ins[0]
    return g.op("Pow", [x.name, g.scalar(n.p["p"], x.dtype)])


@converts(E.Expm1)
def _expm1(g, n):
    x = n.ins[0]
    return g.op("Sub", [g.op("Exp", [x.name]), g.scalar(1, x.dtype)])


@converts(E.Log1p)
def _log1p(g, n):
    x = n.ins[0]
    return g.op("Log", [g.op("Add", [x.name, g.scalar(1, x.dtype)])])


@converts(E.Rsqrt)
def _rsqrt(g, n):
    return g.op("Reciprocal", [g.op("Sqrt", [n.ins[0].name])])


@converts(E.Maximum)
def _maximum(g, n):
    return g.op("Max" if n.p.get("sign", 1) > 0 else "Min", _names(n.ins))


@converts(E.Clip)
def _clip(g, n):
    x = n.ins[0]
    lo, hi = n.p.get("lo"), n.p.get("hi")
    return g.op("Clip", [x.name, "" if lo is None else g.scalar(lo, x.dtype),
                         "" if hi is None else g.scalar(hi, x.dtype)])


@converts(E.Where)
def _where(g, n):
    a, b = n.ins
    return g.op("Where", [n.p["cond"].name, a.name, b.name])


_COMPARE = {"lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual",
            "eq": "Equal", "and": "And", "or": "Or", "xor": "Xor"}


def _as_bool(g, ref):
    """A bool input for And/Or/Xor/Not: bools as they are, numbers as ``x != 0``."""
    if ref.dtype == "bool":
        return ref.name
    return g.op("Not", [g.op("Equal", [ref.name, g.scalar(0, ref.dtype)])])


@converts(E.Compare)
def _compare(g, n):
    a, b = n.ins
    op = n.p["op"]
    if op == "ne":
        return g.op("Not", [g.op("Equal", [a.name, b.name])])
    if op in ("and", "or", "xor"):
        return g.op(_COMPARE[op], [_as_bool(g, a), _as_bool(g, b)])
    return g.op(_COMPARE[op], [a.name, b.name])


@converts(E.Predicate)
def _predicate(g, n):
    x, op = n.ins[0], n.p["op"]
    if op == "not":
        return g.op("Not", [_as_bool(g, x)])
    if op == "isnan":
        return g.op("IsNaN", [x.name])
    if op == "isinf":
        return g.op("IsInf", [x.name])
    # isfinite: neither NaN nor infinite
    return g.op("Not", [g.op("Or", [g.op("IsNaN", [x.name]), g.op("IsInf", [x.name])])])


@converts(E.Constant)
def _rounding(g, n):
    x, fn = n.ins[0], n.p["fn"]
    if fn == "trunc":  # trunc(x) = sign(x) * floor(|x|); ONNX has no Trunc
        return g.op("Mul", [g.op("Sign", [x.name]),
                            g.op("Floor", [g.op("Abs", [x.name])])])
    ops = {"sign": "Sign", "floor": "Floor", "ceil": "Ceil", "round": "Round"}
    if fn not in ops:
        raise unsupported(n, f"no ONNX operator for {fn!r}")
    return g.op(ops[fn], [x.name])  # ONNX Round is half to even, as xpnn's


@converts(E.RoundedDiv)
def _rounded_div(g, n):
    """div(a, b, rounding_mode=...) of floats: Div, then Floor or trunc as above."""
    q = g.op("Div", [x.name for x in n.ins])
    if n.p["mode"] == "trunc":
        return g.op("Mul", [g.op("Sign", [q]), g.op("Floor", [g.op("Abs", [q])])])
    return g.op("Floor", [q])


# -- matrices ---------------------------------------------------------------------------
@converts(L.MatMul)
def _matmul(g, n):
    return g.op("MatMul", _names(n.ins))


@converts(L.Linear)
def _linear(g, n):
    return g.op("Gemm", _names(n.ins), transB=1)  # X (N, in) @ W^T (+ b): W is (out, in)


# -- shapes -----------------------------------------------------------------------------
@converts(S.Reshape, dynamic=("shape",))
def _reshape(g, n):
    shape = list(n.p["shape"])
    dyn = [i for i, d in enumerate(shape) if isinstance(d, Dyn)]
    allowzero = int(0 in shape)
    if len(dyn) == 1 and not allowzero:
        shape[dyn[0]] = -1  # the one dim that follows a dynamic axis: ONNX infers it
    return g.op("Reshape", [n.ins[0].name, g.ints(shape)], allowzero=allowzero or None)


@converts(S.Permute)
def _permute(g, n):
    return g.op("Transpose", [n.ins[0].name], perm=[int(a) for a in n.p["axes"]])


@converts(S.Expand, dynamic=("shape",))
def _expand(g, n):
    return g.op("Expand", [n.ins[0].name, g.ints(n.p["shape"])])


@converts(S.Concat)
def _concat(g, n):
    return g.op("Concat", _names(n.ins), axis=int(n.p.get("axis", 0)))


@converts(S.Stack)
def _stack(g, n):
    axis = int(n.p.get("axis", 0))
    parts = [g.op("Unsqueeze", [r.name, g.ints([axis])]) for r in n.ins]
    return g.op("Concat", parts, axis=axis)


@converts(T.Transfer)
def _transfer(g, n):
    x = n.ins[0]
    target = n.outs[0][1]
    if target == x.dtype:
        return g.op("Identity", [x.name])  # a move between devices: nothing in ONNX
    from .graph import onnx_type
    return g.op("Cast", [x.name], to=onnx_type(target))


# -- reductions -------------------------------------------------------------------------
def _reduce(op_type):
    def convert(g, n):
        x, axes = n.ins[0], tuple(n.p.get("axes", ()))
        keep = bool(n.p.get("keepdims", False))
        y = g.reduce(op_type, x.name, axes, keep) if axes else g.op("Identity", [x.name])
        dtype = n.outs[0][1]
        if dtype != x.dtype:
            from .graph import onnx_type
            y = g.op("Cast", [y], to=onnx_type(dtype))
        return y
    return convert


converts(R.Sum)(_reduce("ReduceSum"))
converts(R.Mean)(_reduce("ReduceMean"))
converts(R.Prod)(_reduce("ReduceProd"))
converts(R.LogSumExp)(_reduce("ReduceLogSumExp"))
converts(R.L2Norm)(_reduce("ReduceL2"))


@converts(R.Max)
def _max(g, n):
    return _reduce("ReduceMax" if n.p.get("sign", 1) > 0 else "ReduceMin")(g, n)


@converts(R.MaxDim)
def _max_dim(g, n):
    x, dim, keep = n.ins[0], int(n.p.get("dim", 0)), int(bool(n.p.get("keepdim", False)))
    top = n.p.get("sign", 1) > 0
    values = g.reduce("ReduceMax" if top else "ReduceMin", x.name, [dim], keep)
    # the first index of the extreme value, as NumPy and PyTorch return it
    indices = g.op("ArgMax" if top else "ArgMin", [x.name], axis=dim, keepdims=keep,
                   select_last_index=0)
    return values, indices


def _count(g, n, x, axes):
    """The number of entries reduced over ``axes`` of ``x``, as a scalar of x's dtype."""
    dims = [x.shape[a] for a in axes]
    if not any(isinstance(d, Dyn) for d in dims):
        return math.prod(dims)
    from .graph import onnx_type
    size = g.op("ReduceProd", [g.ints(dims)], keepdims=0)  # no axes: over all of them
    return g.op("Cast", [size], to=onnx_type(x.dtype))


@converts(R.Var, R.Std)
def _var(g, n):
    x, axes = n.ins[0], tuple(n.p.get("axes", ()))
    keep, correction = bool(n.p.get("keepdims", False)), n.p.get("correction", 0)
    centered = g.op("Sub", [x.name, g.reduce("ReduceMean", x.name, axes, True)])
    square = g.op("Mul", [centered, centered])
    if correction == 0:
        var = g.reduce("ReduceMean", square, axes, keep)
    else:
        total = g.reduce("ReduceSum", square, axes, keep)
        count = _count(g, n, x, axes)
        if isinstance(count, int):
            denom = g.scalar(float(max(count - correction, 0)), x.dtype)
        else:
            denom = g.op("Max", [g.op("Sub", [count, g.scalar(float(correction), x.dtype)]),
                                 g.scalar(0.0, x.dtype)])
        var = g.op("Div", [total, denom])  # 0/0 = NaN and a/0 = inf, as xpnn's
    return g.op("Sqrt", [var]) if n.cls is R.Std else var


@converts(R.CumSum)
def _cumsum(g, n):
    axis = g.const(np.asarray(int(n.p.get("axis", 0)), dtype=np.int64), "axis")
    from .graph import onnx_type
    x, out_dtype = n.ins[0], n.outs[0][1]
    name = x.name if x.dtype == out_dtype else \
        g.op("Cast", [x.name], to=onnx_type(out_dtype))  # bools count as int64 (no bool CumSum)
    return g.op("CumSum", [name, axis])


def _hook_classes():
    try:
        return [import_module("xpnn.nn.hooks")._BackwardHook]
    except (ImportError, AttributeError):
        return []


@converts(*_hook_classes())
def _identity(g, n):
    """The identity node through which a module's full backward hooks see its gradients."""
    names = tuple(g.op("Identity", [r.name]) for r in n.ins)
    return names if len(names) > 1 else names[0]

"""One table of op and layer cases, reused by every check that runs over ops or layers.

test_ops.py runs each OpCase through the float64 gradient check, against PyTorch autograd, a
float32 dtype check and (``rowwise`` cases) the batched-equals-row-by-row check; test_layers.py
runs each LayerCase through backend parity, torch parity, state_dict and row-by-row checks.
Inputs (:class:`Arg`) come from a seeded NumPy Generator: every backend sees the same numbers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import xpnn
import xpnn.functional as F

try:  # torch is optional: the torch-twin checks skip without it
    import torch
    import torch.nn.functional as TF
except ImportError:  # pragma: no cover
    torch = TF = None


@dataclass(frozen=True)
class Arg:
    """One positional input of a case.

    Args:
        shape: its shape.
        kind: "normal" N(0, 1); "positive" U(0.5, 2); "unit" U(0.05, 0.95) (probabilities
            away from 0 and 1); "probs" a softmax over axis 1 (class probabilities);
            "labels" ints in [0, classes); "ignored" labels with every third one -100;
            "mask" a bool array with both values; "index" the int array ``value``.
        grad: whether the input requires grad (only floating kinds can).
        classes: the class count for "labels" / "ignored".
        value: the data for "index".
    """
    shape: tuple = ()
    kind: str = "normal"
    grad: bool = True
    classes: int = 0
    value: tuple = ()


def Int(*values):
    """A fixed int64 index array argument."""
    return Arg((len(values),), "index", grad=False, value=values)


def _draw(arg, rng):
    kind, shape = arg.kind, arg.shape
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "unit":
        return rng.uniform(0.05, 0.95, shape)
    if kind == "probs":
        z = np.exp(rng.standard_normal(shape))
        return z / z.sum(axis=1, keepdims=True)
    if kind in ("labels", "ignored"):
        y = rng.integers(0, arg.classes, shape)
        if kind == "ignored":
            y.reshape(-1)[1::3] = -100  # every third target ignored, never all of them
        return y
    if kind == "mask":
        m = rng.random(shape) < 0.5
        m.reshape(-1)[:2] = (True, False)  # both values present, so neither path is empty
        return m
    if kind == "index":
        return np.asarray(arg.value, dtype=np.int64)
    raise ValueError(f"unknown Arg kind {kind!r}")


def host_inputs(args, seed=0):
    """NumPy inputs for a tuple of Args: float64, int64 or bool."""
    rng = np.random.default_rng(seed)
    return [_draw(a, rng) for a in args]


def is_float(arg):
    return arg.kind in ("normal", "positive", "unit", "probs")


def to_xpnn(args, host, backend, dtype):
    """Tensors on ``backend``: floating inputs cast to ``dtype``, the rest kept as they are."""
    return [xpnn.tensor(h, backend=backend, dtype=dtype if is_float(a) else None,
                        requires_grad=a.grad and is_float(a)) for a, h in zip(args, host)]


def to_torch(args, host, dtype=None):
    """torch tensors for the same inputs (floating ones in ``dtype``, float64 by default)."""
    dtype = dtype or torch.float64
    return [torch.tensor(h, dtype=dtype if is_float(a) else None,
                         requires_grad=a.grad and is_float(a)) for a, h in zip(args, host)]


# -- ops ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpCase:
    """One call of one xpnn.functional op.

    Args:
        name: "<op>:<variant>"; <op> is the xpnn.functional name the case covers.
        fn: fn(*Tensors) -> Tensor, the xpnn call.
        args: an Arg per positional input of fn.
        ref: ref(*torch tensors) -> torch tensor, the same call in PyTorch (None: no twin).
        rowwise: indices of the args batched along axis 0 such that output row i depends
            only on row i of them (and all of the other args); () when that does not hold.
        strict: whether array_api_strict supports the call.
        random: draws random numbers (its values differ between backends and dtypes).
    """
    name: str
    fn: Callable
    args: tuple
    ref: Callable | None = None
    rowwise: tuple = ()
    strict: bool = True
    random: bool = False

    def __repr__(self):
        return self.name


SAME = "same"  # ref=SAME: fn itself works on torch tensors (operators, shared methods)


def _op(name, fn, args, ref=None, rowwise=(), strict=True, random=False):
    return OpCase(name, fn, tuple(args), fn if ref is SAME else ref, tuple(rowwise), strict,
                  random)


def _torch(name):
    """torch.<name> or torch.nn.functional.<name>, or None without torch."""
    return torch and (getattr(TF, name, None) or getattr(torch, name))


A = Arg
S23, S234 = A((2, 3)), A((2, 3, 4))
P23 = A((2, 3), "positive")
MASK23 = A((2, 3), "mask", False)
ROW = (0,)

OPS = [
    # elementwise, through the Tensor operators (broadcasting, scalars on either side)
    _op("add:same", lambda a, b: a + b, [S23, S23], SAME, (0, 1)),
    _op("add:broadcast", lambda a, b: a + b, [A((2, 1, 3)), A((4, 1))], SAME),
    _op("add:scalar", lambda a: 2.5 + a + 1, [S23], SAME, ROW),
    _op("sub:broadcast", lambda a, b: a - b, [S23, A((3,))], SAME, ROW),
    _op("sub:scalar", lambda a: (3 - a) - 0.5, [S23], SAME, ROW),
    _op("mul:broadcast", lambda a, b: a * b, [A((2, 1)), A((1, 3))], SAME),
    _op("mul:scalar", lambda a: 2 * a * -1.5, [S23], SAME, ROW),
    _op("div:broadcast", lambda a, b: a / b, [S23, A((2, 1), "positive")], SAME, (0, 1)),
    _op("div:scalar", lambda a: 2 / a / 4, [P23], SAME, ROW),
    _op("pow:tensors", lambda a, b: a ** b, [P23, A((3,))], SAME, ROW),
    _op("pow:int", lambda a: a ** 3, [S23], SAME, ROW),
    _op("pow:half", lambda a: a ** 0.5, [P23], SAME, ROW),
    _op("pow:rscalar", lambda a: 2 ** a, [S23], SAME, ROW),
    _op("neg", lambda a: -a, [S23], SAME, ROW),
    _op("exp", F.exp, [S23], _torch("exp"), ROW),
    _op("log", F.log, [P23], _torch("log"), ROW),
    _op("sqrt", F.sqrt, [P23], _torch("sqrt"), ROW),
    _op("abs", abs, [S23], SAME, ROW),
    _op("square", F.square, [S23], _torch("square"), ROW),
    _op("clip:both", lambda a: F.clip(a, -0.5, 0.5), [S23], lambda a: a.clamp(-0.5, 0.5), ROW),
    _op("clip:min", lambda a: F.clip(a, min=0.1), [S23], lambda a: a.clamp(min=0.1), ROW),
    _op("clip:max", lambda a: a.clip(max=0.2), [S23], SAME, ROW),
    _op("where", F.where, [MASK23, S23, A((3,))], _torch("where"), (0, 1)),
    _op("where:scalar", lambda c, a: F.where(c, a, 0.5), [MASK23, S23],
        lambda c, a: torch.where(c, a, 0.5), (0, 1)),
    _op("maximum", F.maximum, [S23, A((3,))], _torch("maximum"), ROW),
    _op("minimum", F.minimum, [S23, A((3,))], _torch("minimum"), ROW),
    # matrix products
    _op("matmul:2d", lambda a, b: a @ b, [S23, A((3, 4))], SAME, ROW),
    _op("matmul:batched", F.matmul, [S234, A((2, 4, 2))], _torch("matmul"), (0, 1)),
    _op("matmul:bcast", F.matmul, [A((1, 3, 2)), A((2, 2, 4))], _torch("matmul")),
    _op("matmul:3d@2d", F.matmul, [S234, A((4, 2))], _torch("matmul"), ROW),
    _op("matmul:1d@2d", F.matmul, [A((3,)), A((3, 2))], _torch("matmul")),
    _op("matmul:2d@1d", F.matmul, [S23, A((3,))], _torch("matmul"), ROW),
    _op("matmul:1d@1d", F.matmul, [A((3,)), A((3,))], _torch("matmul")),
    _op("matmul:1d@3d", F.matmul, [A((3,)), A((2, 3, 2))], _torch("matmul")),
    _op("linear:bias", F.linear, [S23, A((4, 3)), A((4,))], _torch("linear"), ROW),
    _op("linear:nobias", F.linear, [S23, A((4, 3))], _torch("linear"), ROW),
    _op("linear:3d", F.linear, [S234, A((2, 4)), A((2,))], _torch("linear"), ROW),
    # reductions (axis None, int, negative, tuple; keepdims); torch says dim/keepdim
    _op("sum:all", lambda x: x.sum(), [S234], SAME),
    _op("sum:axis", lambda x: F.sum(x, axis=1), [S234], lambda x: x.sum(1), ROW),
    _op("sum:keep", lambda x: F.sum(x, (0, 2), keepdims=True), [S234],
        lambda x: x.sum((0, 2), keepdim=True)),
    _op("mean:all", lambda x: x.mean(), [S234], SAME),
    _op("mean:axis", lambda x: F.mean(x, axis=-1), [S234], lambda x: x.mean(-1), ROW),
    _op("mean:keep", lambda x: F.mean(x, (1, 2), keepdims=True), [S234],
        lambda x: x.mean((1, 2), keepdim=True), ROW),
    _op("max:all", lambda x: x.max(), [S234], lambda x: x.amax()),
    _op("max:axis", lambda x: F.max(x, axis=1), [S234], lambda x: x.amax(1), ROW),
    _op("max:keep", lambda x: F.max(x, axis=-1, keepdims=True), [S234],
        lambda x: x.amax(-1, keepdim=True), ROW),
    _op("max:dim", lambda x: F.max(x, 1).values, [S234], lambda x: x.max(1).values, ROW),
    _op("min:dim:keep", lambda x: x.min(dim=-1, keepdim=True)[0], [S234],
        lambda x: x.min(dim=-1, keepdim=True)[0], ROW),
    _op("min:all", lambda x: x.min(), [S234], lambda x: x.amin()),
    _op("min:axis", lambda x: F.min(x, axis=(0, 2)), [S234], lambda x: x.amin((0, 2))),
    _op("min:keep", lambda x: F.min(x, axis=1, keepdims=True), [S234],
        lambda x: x.amin(1, keepdim=True), ROW),
    _op("var:all", lambda x: x.var(), [S234], lambda x: x.var()),
    _op("var:axis", lambda x: F.var(x, axis=1, correction=1), [S234],
        lambda x: x.var(1, correction=1), ROW),
    _op("var:keep", lambda x: F.var(x, (0, 2), keepdims=True), [S234],
        lambda x: x.var((0, 2), keepdim=True)),
    _op("std:axis", lambda x: F.std(x, axis=-1, correction=1), [S234],
        lambda x: x.std(-1, correction=1), ROW),
    _op("logsumexp:last", F.logsumexp, [S234], lambda x: x.logsumexp(-1), ROW),
    _op("logsumexp:keep", lambda x: F.logsumexp(x, (1, 2), keepdims=True), [S234],
        lambda x: x.logsumexp((1, 2), keepdim=True), ROW),
    # shapes and indexing
    _op("reshape", lambda x: x.reshape(x.shape[0], 12), [S234], SAME, ROW),
    _op("reshape:tuple", lambda x: F.reshape(x, (4, -1)), [S234], lambda x: x.reshape(4, -1)),
    _op("flatten", lambda x: F.flatten(x, 1), [S234], lambda x: x.flatten(1), ROW),
    _op("flatten:all", lambda x: F.flatten(x, 0), [S234], lambda x: x.flatten()),
    _op("permute", lambda x: x.permute(2, 0, 1), [S234], SAME),
    _op("transpose", F.transpose, [S234], lambda x: x.transpose(-2, -1), ROW),
    _op("transpose:T", lambda x: x.T, [S23], SAME),
    _op("unsqueeze", lambda x: F.unsqueeze(x, 1), [S23], lambda x: x.unsqueeze(1), ROW),
    _op("squeeze", lambda x: F.squeeze(x, 1), [A((2, 1, 3))], lambda x: x.squeeze(1), ROW),
    _op("squeeze:all", F.squeeze, [A((1, 3, 1))], lambda x: x.squeeze()),
    _op("getitem:slice", lambda x: x[1:, :2], [A((3, 4))], SAME),
    _op("getitem:int", lambda x: x[1, :, 2], [S234], SAME),
    _op("getitem:negative", lambda x: x[-1, ...], [S234], SAME),
    # array_api_strict wants every axis indexed; xpnn adds the Ellipsis NumPy and torch imply
    _op("getitem:partial", lambda x: x[-1], [S234], SAME),
    _op("getitem:step", lambda x: x[:, ::2], [A((3, 4))], SAME, ROW),
    _op("getitem:none", lambda x: x[None, :, 0], [S23], SAME),
    _op("getitem:intarray", lambda x, i: x[i], [A((3, 4)), Int(2, 0, 2, 2)], SAME),
    _op("getitem:columns", lambda x, i: x[:, i], [A((3, 4)), Int(3, 3, 0)], SAME, ROW),
    _op("getitem:pairs", lambda x, i, j: x[i, j], [S234, Int(1, 1, 0), Int(2, 2, -1)], SAME),
    _op("getitem:mask", lambda x, m: x[m], [A((3, 4)), A((3, 4), "mask", False)], SAME),
    _op("getitem:rowmask", lambda x, m: x[m], [A((4, 3)), A((4,), "mask", False)], SAME),
    _op("concat:0", lambda a, b, c: F.concat([a, b, c]), [S23, A((1, 3)), A((3, 3))],
        lambda a, b, c: torch.cat([a, b, c])),
    _op("concat:-1", lambda a, b: F.cat([a, b], axis=-1), [S23, A((2, 2))],
        lambda a, b: torch.cat([a, b], -1), (0, 1)),
    _op("stack:0", lambda a, b: F.stack([a, b]), [S23, S23], lambda a, b: torch.stack([a, b])),
    _op("stack:-1", lambda a, b: F.stack([a, b], axis=-1), [S23, S23],
        lambda a, b: torch.stack([a, b], -1), (0, 1)),
    _op("take:flat", F.take, [A((3, 4)), Int(11, 0, -1, 5, 5)], torch.take),
    _op("erf", F.erf, [S23], _torch("erf"), ROW),
    _op("lgamma", F.lgamma, [A((2, 3), "positive")], _torch("lgamma"), ROW),
    _op("lgamma:negative", lambda x: F.lgamma(x - 2.0), [S23],
        lambda x: torch.lgamma(x - 2.0), ROW),
    # digamma's gradient is trigamma, where torch is off by up to 5e-10 (against SciPy):
    # compared with torch at that tolerance in test_special.py
    _op("digamma", F.digamma, [A((2, 3), "positive")], None, ROW),
    _op("digamma:negative", lambda x: F.digamma(x - 2.0), [S23], None, ROW),
    _op("polygamma:1", lambda x: F.polygamma(1, x), [S23], None, ROW),
    _op("polygamma:3", lambda x: F.polygamma(3, x), [A((2, 3), "positive")],
        lambda x: torch.polygamma(3, x), ROW),
    *[_op(n, getattr(F, n), [A((2, 3), kind)], _torch(n), ROW) for n, kind in [
        ("tan", "unit"), ("asin", "unit"), ("acos", "unit"), ("atan", "normal"),
        ("sinh", "normal"), ("cosh", "normal"), ("asinh", "normal"), ("acosh", "positive"),
        ("atanh", "unit"), ("log2", "positive"), ("log10", "positive"), ("exp2", "normal")]
      if n != "acosh"],
    _op("acosh", lambda x: F.acosh(x + 1.0), [A((2, 3), "positive")],
        lambda x: torch.acosh(x + 1.0), ROW),
    _op("atan2", F.atan2, [S23, A((2, 3), "positive")], _torch("atan2"), (0, 1)),
    _op("hypot", F.hypot, [S23, S23], _torch("hypot"), (0, 1)),
    _op("logaddexp", F.logaddexp, [S23, A((3,))], _torch("logaddexp"), ROW),
    _op("logaddexp2", F.logaddexp2, [S23, A((3,))], _torch("logaddexp2"), ROW),
    # float_power is float64 by definition: cast back for the float32 checks (the gradient
    # goes through the casts)
    _op("float_power", lambda a, b: F.float_power(a, b).to(a.dtype), [P23, A((3,))],
        lambda a, b: torch.float_power(a, b).to(a.dtype), ROW),
    _op("float_power:scalar", lambda a: F.float_power(a, 3).to(a.dtype), [S23],
        lambda a: torch.float_power(a, 3).to(a.dtype), ROW),
    # exponents >= 0: PyTorch 2.13's ldexp gradient is 0 for a negative integer exponent
    # (2 ** -2 in integers); xpnn's is 2 ** other, which the gradient check confirms
    _op("ldexp", lambda a: F.ldexp(a, a.new_tensor([1, 0, 3], dtype=xpnn.int64)), [S23],
        lambda a: torch.ldexp(a, torch.tensor([1, 0, 3])), ROW),
    _op("ldexp:negative", lambda a: F.ldexp(a, a.new_tensor([1, -2, 3], dtype=xpnn.int64)),
        [S23], None, ROW),
    _op("ldexp:float_exponent", F.ldexp, [S23, A((3,))], _torch("ldexp"), ROW),
    _op("index_put", lambda x, v: F.index_put(x, (x.new_tensor([0, 2, -1]).long(),), v),
        [A((4, 3)), A((3, 3))],
        lambda x, v: torch.index_put(x, (torch.tensor([0, 2, -1]),), v)),
    _op("index_put:accumulate", lambda x, v: F.index_put(
        x, (x.new_tensor([1, 1, 3]).long(), x.new_tensor([0, 2, 0]).long()), v, True),
        [A((4, 3, 2)), A((3, 2))], lambda x, v: torch.index_put(
            x, (torch.tensor([1, 1, 3]), torch.tensor([0, 2, 0])), v, True)),
    _op("inner", F.inner, [S23, A((4, 3))], _torch("inner"), ROW),
    _op("inner:scalar", F.inner, [S23, A(())], _torch("inner"), ROW),
    _op("dist", lambda a, b: F.dist(a, b, 3), [S23, A((3,))], lambda a, b: torch.dist(a, b, 3)),
    _op("remainder", F.remainder, [S23, A((2, 3), "positive")], _torch("remainder"), (0, 1)),
    _op("clamp_min", lambda x: F.clamp_min(x, 0.1), [S23], lambda x: torch.clamp_min(x, 0.1),
        ROW),
    _op("clamp_max", lambda x: F.clamp_max(x, 0.1), [S23], lambda x: torch.clamp_max(x, 0.1),
        ROW),
    _op("nan_to_num", F.nan_to_num, [S23], _torch("nan_to_num"), ROW),
    _op("lerp", lambda a, b, w: F.lerp(a, b, w), [S23, S23, S23], _torch("lerp"), (0, 1, 2)),
    _op("lerp:scalar", lambda a, b: F.lerp(a, b, 0.3), [S23, A((3,))],
        lambda a, b: torch.lerp(a, b, 0.3), ROW),
    _op("masked_select", F.masked_select, [S23, MASK23], _torch("masked_select")),
    _op("masked_select:broadcast", F.masked_select, [S23, A((3,), "mask", False)],
        _torch("masked_select")),
    _op("take:0", lambda x, i: F.take(x, i, 0), [A((3, 4)), Int(0, 2, 2)],
        lambda x, i: torch.index_select(x, 0, i)),
    _op("take:1", lambda x, i: F.take(x, i, axis=1), [S234, Int(1, 1, 0, 2)],
        lambda x, i: torch.index_select(x, 1, i), ROW),
    _op("take:-1", lambda x, i: F.take(x, i, axis=-1), [S234, Int(3, 0, 3)],
        lambda x, i: torch.index_select(x, -1, i), ROW),
    # activations
    _op("relu", F.relu, [S234], _torch("relu"), ROW),
    _op("leaky_relu", lambda x: F.leaky_relu(x, 0.1), [S234],
        lambda x: TF.leaky_relu(x, 0.1), ROW),
    _op("elu", F.elu, [S234], _torch("elu"), ROW),
    _op("elu:alpha", lambda x: F.elu(x, 0.5), [S234], lambda x: TF.elu(x, 0.5), ROW),
    _op("gelu:exact", F.gelu, [S234], _torch("gelu"), ROW),
    _op("gelu:tanh", lambda x: F.gelu(x, "tanh"), [S234],
        lambda x: TF.gelu(x, approximate="tanh"), ROW),
    _op("sigmoid", F.sigmoid, [S234], _torch("sigmoid"), ROW),
    _op("silu", F.silu, [S234], _torch("silu"), ROW),
    _op("tanh", F.tanh, [S234], _torch("tanh"), ROW),
    _op("softplus", F.softplus, [S234], _torch("softplus"), ROW),
    _op("softplus:beta", lambda x: F.softplus(x, beta=2.0, threshold=1.0), [S234],
        lambda x: TF.softplus(x, beta=2.0, threshold=1.0), ROW),
    _op("dropout:p0", lambda x: F.dropout(x, 0.0), [S23], lambda x: TF.dropout(x, 0.0), ROW),
    _op("dropout:eval", lambda x: F.dropout(x, 0.5, training=False), [S23],
        lambda x: TF.dropout(x, 0.5, training=False), ROW),
    # the same seed before each call gives the same mask, so finite differences see it too
    _op("dropout:train", lambda x: (xpnn.manual_seed(3), F.dropout(x, 0.5))[1], [S234],
        random=True),
]
# PyTorch's math surface beyond the operators (xpnn.* and Tensor methods call these)
OPS += [
    _op("add:alpha", lambda a, b: F.add(a, b, alpha=-0.5), [S23, A((3,))],
        lambda a, b: torch.add(a, b, alpha=-0.5), ROW),
    _op("sub:alpha", lambda a, b: a.sub(b, alpha=2.0), [S23, S23], SAME, (0, 1)),
    _op("mul:method", lambda a, b: a.mul(b), [S23, A((2, 1))], SAME, (0, 1)),
    _op("div:method", lambda a, b: a.div(b), [S23, P23], SAME, (0, 1)),
    _op("pow:zero", lambda a: a ** 0, [S23], SAME, ROW),
    _op("expm1", F.expm1, [S23], _torch("expm1"), ROW),
    _op("log1p", F.log1p, [P23], _torch("log1p"), ROW),
    _op("rsqrt", F.rsqrt, [P23], _torch("rsqrt"), ROW),
    _op("reciprocal", F.reciprocal, [P23], _torch("reciprocal"), ROW),
    _op("sin", F.sin, [S23], _torch("sin"), ROW),
    _op("cos", F.cos, [S23], _torch("cos"), ROW),
    _op("sign", lambda a: a * F.sign(a), [S23], lambda a: a * torch.sign(a), ROW),
    _op("floor", lambda a: a + F.floor(a * 3), [S23], lambda a: a + torch.floor(a * 3), ROW),
    _op("ceil", lambda a: a + F.ceil(a * 3), [S23], lambda a: a + torch.ceil(a * 3), ROW),
    _op("trunc", lambda a: a + F.trunc(a * 3), [S23], lambda a: a + torch.trunc(a * 3), ROW),
    _op("round", lambda a: a + F.round(a * 3), [S23], lambda a: a + torch.round(a * 3), ROW),
    _op("round:decimals", lambda a: a + F.round(a, decimals=1), [S23],
        lambda a: a + torch.round(a, decimals=1), ROW),
    _op("clamp:tensors", lambda a, lo, hi: F.clamp(a, lo, hi), [S23, A((3,)), A((2, 1))],
        lambda a, lo, hi: torch.clamp(a, lo, hi)),
    _op("masked_fill", lambda a, m: F.masked_fill(a, m, -1.5), [S23, MASK23],
        lambda a, m: a.masked_fill(m, -1.5), (0, 1)),
    _op("maximum:tie", lambda a: F.maximum(a, a * 1), [S23],
        lambda a: torch.maximum(a, a * 1), ROW),
    _op("minimum:tie", lambda a, b: F.minimum(a, F.clamp(b, max=0.0)), [S23, S23],
        lambda a, b: torch.minimum(a, b.clamp(max=0.0)), (0, 1)),
    _op("mm", F.mm, [S23, A((3, 4))], _torch("mm"), ROW),
    _op("bmm", F.bmm, [S234, A((2, 4, 3))], _torch("bmm"), (0, 1)),
    _op("outer", F.outer, [A((3,)), A((4,))], _torch("outer")),
    _op("prod:all", lambda x: F.prod(x), [A((2, 3), "positive")], lambda x: x.prod()),
    _op("prod:dim", lambda x: x.prod(1), [S234], SAME, ROW),
    _op("amax", lambda x: F.amax(x, (0, 2)), [S234], lambda x: torch.amax(x, (0, 2))),
    _op("amin:keep", lambda x: F.amin(x, -1, keepdim=True), [S234],
        lambda x: torch.amin(x, -1, keepdim=True), ROW),
    _op("std:all", lambda x: x.std(), [S234], lambda x: x.std()),
    _op("std:dim", lambda x: F.std(x, 1, keepdim=True), [S234],
        lambda x: x.std(1, keepdim=True), ROW),
    _op("norm:2", lambda x: F.norm(x), [S234], lambda x: torch.norm(x)),
    _op("norm:dim1", lambda x: F.norm(x, 1, dim=-1), [S234], lambda x: torch.norm(x, 1, -1),
        ROW),
    _op("norm:inf", lambda x: x.norm(float("inf"), dim=(1, 2)), [S234], SAME, ROW),
    _op("norm:3", lambda x: x.norm(3), [S234], SAME),
    _op("norm:half", lambda x: x.norm(0.5, dim=1), [S234], SAME, ROW),
    _op("cumsum", lambda x: F.cumsum(x, 1), [S234], lambda x: torch.cumsum(x, 1), ROW),
    _op("cumsum:last", lambda x: x.cumsum(-1), [S234], SAME, ROW),
    _op("view", lambda x: x.view(2, -1), [S234], SAME),
    _op("unflatten", lambda x: F.unflatten(x, 2, (2, 2)), [S234],
        lambda x: x.unflatten(2, (2, 2)), ROW),
    _op("movedim", lambda x: F.movedim(x, 0, -1), [S234], lambda x: torch.movedim(x, 0, -1)),
    _op("swapaxes", lambda x: F.swapaxes(x, 0, 2), [S234], lambda x: x.swapaxes(0, 2)),
    _op("t", F.t, [S23], _torch("t")),
    _op("expand", lambda x: F.expand(x, 4, 2, -1), [A((2, 1))],
        lambda x: x.expand(4, 2, -1)),
    _op("expand:as", lambda x, y: x.expand_as(y), [A((1, 3)), A((2, 3), grad=False)], SAME),
    _op("tile", lambda x: F.tile(x, (2, 1, 3)), [A((2, 3))], lambda x: torch.tile(x, (2, 1, 3))),
    _op("tile:repeat", lambda x: x.repeat(2, 2), [A((1, 3))], SAME),
    _op("broadcast_to", lambda x: F.broadcast_to(x, (2, 3, 4)), [A((3, 1))],
        lambda x: torch.broadcast_to(x, (2, 3, 4))),
    _op("narrow", lambda x: F.narrow(x, 2, 1, 2), [S234], lambda x: x.narrow(2, 1, 2), ROW),
    _op("split", lambda x: F.stack(F.split(x, 2, 2), 0), [S234],
        lambda x: torch.stack(torch.split(x, 2, 2), 0)),
    _op("split:sizes", lambda x: F.cat(F.split(x, [1, 3], -1)[::-1], -1), [S234],
        lambda x: torch.cat(torch.split(x, [1, 3], -1)[::-1], -1), ROW),
    _op("chunk", lambda x: F.chunk(x, 3, 2)[1], [A((2, 3, 5))],
        lambda x: torch.chunk(x, 3, 2)[1], ROW),
    _op("unbind", lambda x: F.unbind(x, 1)[2] * 2, [S234], lambda x: torch.unbind(x, 1)[2] * 2,
        ROW),
    _op("index_select", lambda x, i: F.index_select(x, 1, i), [S234, Int(2, -1, 2)],
        lambda x, i: torch.index_select(x, 1, i % 3), ROW),
    _op("take:negative", lambda x, i: F.take(x, i, axis=1), [A((3, 4)), Int(-1, -1, 0)],
        lambda x, i: torch.index_select(x, 1, i % 4), ROW),
    _op("getitem:rows_repeat", lambda x: x[[0, 0, 2], :], [A((3, 4))], SAME),
    _op("getitem:int_list", lambda x: x[0, [1, 1, 2]], [A((3, 4))], SAME),
    _op("getitem:array_slice", lambda x, i: x[i, :, 1:3], [S234, Int(1, 1, 0)], SAME),
    _op("getitem:negative_list", lambda x: x[[-1, 0, -1]], [A((3, 4))], SAME),
    _op("getitem:mask_slice", lambda x, m: x[m, 1:], [A((4, 3)), A((4,), "mask", False)],
        SAME),
    _op("getitem:row", lambda x: x[0], [A((3, 4))], SAME),
    _op("getitem:last_row", lambda x: x[-1] * x[1], [A((3, 4))], SAME),
    _op("getitem:apart", lambda x, i, j: x[i, :, j], [S234, Int(0, 1, 1), Int(3, 3, -4)],
        SAME),
    _op("getitem:int_and_array", lambda x, i: x[1, :, i], [S234, Int(0, 2, 0)], SAME),
    _op("getitem:ellipsis", lambda x: x[..., 1], [S234], SAME, ROW),
    _op("getitem:tensor_int", lambda x: x[xpnn.tensor(1, backend=x.backend)]
        if isinstance(x, xpnn.Tensor) else x[torch.tensor(1)], [A((3, 4))]),
    _op("dropout1d:eval", lambda x: F.dropout1d(x, 0.5, training=False), [S234],
        lambda x: TF.dropout1d(x, 0.5, training=False), ROW),
    _op("dropout2d:eval", lambda x: F.dropout2d(x, 0.5, False), [A((2, 3, 2, 2))],
        lambda x: TF.dropout2d(x, 0.5, False), ROW),
    _op("dropout3d:p0", lambda x: F.dropout3d(x, 0.0), [A((2, 2, 2, 1, 2))],
        lambda x: TF.dropout3d(x, 0.0), ROW),
    _op("dropout2d:train", lambda x: (xpnn.manual_seed(3), F.dropout2d(x, 0.5))[1],
        [A((2, 3, 2, 2))], random=True),
]
for _ax in (0, 1, -1):
    OPS += [_op(f"{f}:axis{_ax}", lambda x, a=_ax, f=f: getattr(F, f)(x, axis=a), [S234],
                lambda x, a=_ax, f=f: getattr(TF, f)(x, a), ROW if _ax else ())
            for f in ("softmax", "log_softmax")]

# -- losses: every reduction; rowwise only without a reduction ------------------------------
N, C = 4, 3
X = A((N, C))
LBL, IGN = A((N,), "labels", False, C), A((N,), "ignored", False, C)
WC = A((C,), "positive", False)
U = A((N, C), "unit")


def _loss(name, args, keywords=(), batched=(0, 1), **kw):
    """One case per reduction of F.<op> against torch's F.<op> (<op>: ``name`` up to ':').

    The last ``len(keywords)`` args are passed as those keywords; ``kw`` as they are.
    """
    op, k = name.split(":")[0], len(args) - len(keywords)

    def call(lib, r):
        f = getattr(lib, op)
        return lambda *t: f(*t[:k], reduction=r, **dict(zip(keywords, t[k:])), **kw)
    OPS.extend(_op(f"{name}:{r}", call(F, r), args, TF and call(TF, r),
                   batched if r == "none" else ()) for r in ("mean", "sum", "none"))


_loss("mse_loss", [X, X])
_loss("l1_loss", [X, X])
_loss("huber_loss", [X, X])
_loss("huber_loss:delta", [X, X], delta=0.4)
_loss("binary_cross_entropy", [U, U])
_loss("binary_cross_entropy:weight", [U, U, WC], ("weight",))
_loss("binary_cross_entropy_with_logits", [X, U])
_loss("binary_cross_entropy_with_logits:weight", [X, U, A((N, 1), "positive", False)],
      ("weight",), batched=(0, 1, 2))
_loss("binary_cross_entropy_with_logits:pos_weight", [X, U, WC], ("pos_weight",))
_loss("binary_cross_entropy_with_logits:both", [X, U, WC, WC], ("weight", "pos_weight"))
for _name in ("cross_entropy", "nll_loss"):
    _loss(_name, [X, LBL])
    _loss(f"{_name}:weight", [X, LBL, WC], ("weight",))
    _loss(f"{_name}:ignore", [X, IGN])
    _loss(f"{_name}:ignore_weight", [X, IGN, WC], ("weight",))
    _loss(f"{_name}:ignore1", [X, LBL], ignore_index=1)
    _loss(f"{_name}:spatial", [A((2, C, 3)), A((2, 3), "labels", False, C)])
    _loss(f"{_name}:unbatched", [A((C,)), A((), "labels", False, C)], batched=())
PROB = A((N, C), "probs", False)
_loss("cross_entropy:smoothing", [X, LBL], label_smoothing=0.2)
_loss("cross_entropy:smoothing_weight", [X, LBL, WC], ("weight",), label_smoothing=0.2)
_loss("cross_entropy:smoothing_ignore", [X, IGN, WC], ("weight",), label_smoothing=0.2)
_loss("cross_entropy:probs", [X, PROB])
_loss("cross_entropy:probs_weight", [X, PROB, WC], ("weight",))
# linear_cross_entropy (input, linear weight (C, D), labels): the reference path, and the
# chunked one (row chunks of 3, recomputed in the backward)
_XD, _WL = A((N, 5)), A((C, 5))
_LXE = F.LinearCrossEntropyOptions(batch_chunk_size=3)
_loss("linear_cross_entropy", [_XD, _WL, IGN, WC], ("weight",), batched=(0, 2),
      label_smoothing=0.1)
OPS.extend(_op(f"linear_cross_entropy:chunked:{r}", lambda x, w, t, c, r=r: (
    F.linear_cross_entropy(x, w, t, weight=c, reduction=r, options=_LXE)),
    [_XD, _WL, IGN, WC], TF and (lambda x, w, t, c, r=r: TF.linear_cross_entropy(
        x, w, t, weight=c, reduction=r)), (0, 2) if r == "none" else ())
    for r in ("mean", "sum", "none"))
_loss("cross_entropy:probs_smoothing", [X, PROB], label_smoothing=0.3)
_loss("cross_entropy:probs_spatial", [A((2, C, 2, 2)), A((2, C, 2, 2), "probs", False)])

# functional names whose checks live outside this table, and where
ELSEWHERE = {"to": "test_autograd.py::test_to_between_backends_is_differentiable",
             "eq": "comparison, no gradient: test_autograd.py::test_comparisons",
             "ne": "comparison", "lt": "comparison", "le": "comparison", "gt": "comparison",
             "ge": "comparison",
             "logical_and": "no gradient: test_correctness.py::test_predicates_match_torch",
             "logical_or": "predicate", "logical_xor": "predicate", "logical_not": "predicate",
             "isnan": "predicate", "isinf": "predicate", "isfinite": "predicate",
             "all": "predicate", "any": "predicate", "argmax": "predicate",
             "argmin": "predicate",
             "broadcast_shapes": "not an op: test_correctness.py::test_shape_errors",
             "broadcast_tensors": "expand on each: test_correctness.py::test_shape_errors",
             "getitem": "the Tensor operator: the getitem:* cases",
             "nonzero": "indices, no gradient: "
                        "test_ops.py::test_nonzero_where_of_a_condition_and_formatting_as_pytorch",
             "argwhere": "nonzero",
             "floor_divide": "integer-valued, no gradient: "
                             "test_ops.py::test_integer_and_bitwise_ops_are_exact",
             "isclose": "predicate: test_ops.py::test_integer_and_bitwise_ops_are_exact",
             "count_nonzero": "a count: test_ops.py::test_integer_and_bitwise_ops_are_exact",
             "gcd": "integers: test_ops.py::test_integer_and_bitwise_ops_are_exact",
             "bitwise_and": "integers: test_ops.py::test_integer_and_bitwise_ops_are_exact",
             "bitwise_or": "integers", "bitwise_xor": "integers", "bitwise_not": "integers",
             "bitwise_left_shift": "integers", "bitwise_right_shift": "integers",
             "lcm": "integers: test_ops.py::test_integer_and_bitwise_ops_are_exact",
             "allclose": "predicate: test_tensor_methods.py", "equal": "predicate"}


# xpnn.nn classes (in the files LAYERS covers) whose checks live elsewhere, and where
LAYERS_ELSEWHERE = {"Module": "test_layers.py::test_custom_module_with_module_list",
                    "ModuleList": "test_layers.py::test_custom_module_with_module_list",
                    "Parameter": "test_layers.py::test_custom_module_with_module_list"}


# -- layers -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerCase:
    """One module, built the same way from xpnn.nn or torch.nn.

    Args:
        name: a test id.
        build: build(nn, arr) -> Module; ``nn`` is xpnn.nn or torch.nn (the constructors are
            called identically) and ``arr(numpy_array)`` makes that library's array (for loss
            weights).
        args: an Arg per forward input (float32 in the parity checks).
        rowwise: whether output row i depends only on row i of every input.
        train: run in training mode (False: eval()).
    """
    name: str
    build: Callable
    args: tuple
    rowwise: bool = True
    train: bool = True

    def __repr__(self):
        return self.name


def _layer(name, build, args, rowwise=True, train=True):
    return LayerCase(name, build, tuple(args), rowwise, train)


X4, X8 = A((3, 4)), A((3, 8))
LAYERS = [
    _layer("Linear", lambda nn, arr: nn.Linear(4, 3), [X4]),
    _layer("Linear:nobias", lambda nn, arr: nn.Linear(4, 3, bias=False), [X4]),
    _layer("Linear:3d", lambda nn, arr: nn.Linear(4, 2), [A((3, 2, 4))]),
    _layer("Flatten", lambda nn, arr: nn.Flatten(), [A((3, 2, 2))]),
    _layer("Flatten:dims", lambda nn, arr: nn.Flatten(0, 1), [A((3, 2, 2))], rowwise=False),
    _layer("Identity", lambda nn, arr: nn.Identity(), [X4]),
    _layer("Dropout:p0", lambda nn, arr: nn.Dropout(0.0), [X4]),
    _layer("Dropout:eval", lambda nn, arr: nn.Dropout(0.5), [X4], train=False),
    _layer("Dropout1d:eval", lambda nn, arr: nn.Dropout1d(0.5), [A((3, 2, 4))], train=False),
    _layer("Dropout2d:p0", lambda nn, arr: nn.Dropout2d(0.0), [A((3, 2, 2, 2))]),
    _layer("Dropout3d:eval", lambda nn, arr: nn.Dropout3d(0.5), [A((2, 2, 2, 2, 2))],
           train=False),
    _layer("Sequential:mlp", lambda nn, arr: nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.0), nn.Linear(8, 8), nn.Tanh(),
        nn.Identity(), nn.Linear(8, 2)), [X4]),
    _layer("Sequential:nested", lambda nn, arr: nn.Sequential(
        nn.Flatten(), nn.Sequential(nn.Linear(6, 5), nn.GELU()), nn.Linear(5, 3, bias=False)),
        [A((3, 2, 3))]),
]
LAYERS += [_layer(f"{_cls}{_tag}", lambda nn, arr, c=_cls, kw=_kw: getattr(nn, c)(**kw), [X8])
           for _cls, _tag, _kw in [("ReLU", "", {}), ("LeakyReLU", "", {"negative_slope": 0.2}),
                                   ("ELU", "", {"alpha": 0.7}), ("GELU", "", {}),
                                   ("GELU", ":tanh", {"approximate": "tanh"}),
                                   ("SiLU", "", {}), ("Sigmoid", "", {}), ("Tanh", "", {}),
                                   ("Softplus", "", {"beta": 2.0, "threshold": 1.0}),
                                   ("Softmax", "", {"dim": 1}),
                                   ("LogSoftmax", "", {"dim": -1})]]
_W = np.array([0.5, 1.0, 2.0])
for _r in ("mean", "sum", "none"):
    _row = _r == "none"
    LAYERS += [
        _layer(f"CrossEntropyLoss:{_r}", lambda nn, arr, r=_r: nn.CrossEntropyLoss(
            reduction=r), [X, LBL], _row),
        _layer(f"CrossEntropyLoss:weight_smooth_{_r}", lambda nn, arr, r=_r:
               nn.CrossEntropyLoss(weight=arr(_W), reduction=r, label_smoothing=0.1),
               [X, IGN], _row),
        _layer(f"NLLLoss:{_r}", lambda nn, arr, r=_r: nn.NLLLoss(arr(_W), reduction=r),
               [X, LBL], _row),
        _layer(f"MSELoss:{_r}", lambda nn, arr, r=_r: nn.MSELoss(reduction=r), [X, X], _row),
        _layer(f"L1Loss:{_r}", lambda nn, arr, r=_r: nn.L1Loss(reduction=r), [X, X], _row),
        _layer(f"HuberLoss:{_r}", lambda nn, arr, r=_r: nn.HuberLoss(reduction=r, delta=0.5),
               [X, X], _row),
        _layer(f"BCELoss:{_r}", lambda nn, arr, r=_r: nn.BCELoss(arr(_W), reduction=r),
               [U, U], _row),
        _layer(f"BCEWithLogitsLoss:{_r}", lambda nn, arr, r=_r: nn.BCEWithLogitsLoss(
            arr(_W), reduction=r, pos_weight=arr(_W[::-1].copy())), [X, U], _row),
    ]


# == nn modules a PyTorch program needs: containers, Transformer, pools, convs, norms ========
# (test_transformer.py, test_containers.py and test_torch_modules.py hold the float64, API
# and multi-step checks)
import warnings  # noqa: E402


def _forward_as(cls, forward):
    """A subclass of ``cls`` (a torch.nn or an xpnn.nn class) whose forward is
    ``forward(base, module, *inputs)``, ``base`` calling cls's own forward: the same
    parameters and state_dict names, called with masks built inside and one Tensor out."""
    def fwd(self, *xs):
        return forward(lambda *a, **k: cls.forward(self, *a, **k), self, *xs)
    return type(cls.__name__, (cls,), {"forward": fwd})


def _like(x, host):
    """The NumPy array ``host`` in x's library (xpnn: x's backend and device); floating
    masks take x's dtype."""
    floating = host.dtype.kind == "f"
    if isinstance(x, xpnn.Tensor):
        return xpnn.tensor(host, backend=x.backend, device=x.device,
                           dtype=xpnn.backend.dtype_name(x.dtype) if floating else None)
    return torch.tensor(host, dtype=x.dtype if floating else None)


def _quiet(build):
    """``build`` with torch's nested-tensor advice (a UserWarning at construction of a
    seq-first or pre-norm encoder) silenced; xpnn has no nested tensors."""
    def run(nn, arr):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="enable_nested_tensor")
            return build(nn, arr)
    return run


def _hushed(f, m, *xs):
    """Call the base forward with torch's performance advice (a UserWarning on LSTM
    projections, on even 'same' kernels) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return f(*xs)


def _dict_net(nn, arr):
    """ModuleDict, ParameterList and ParameterDict inside one model, torch's or xpnn's."""
    class DictNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleDict({"inp": nn.Linear(4, 3), "act": nn.Tanh()})
            self.blocks["out"] = nn.Linear(3, 2)
            self.scales = nn.ParameterList([nn.Parameter(arr(np.linspace(0.5, 1.5, 3)))])
            self.scales.append(arr(np.array([2.0, -1.0])))  # a plain tensor is wrapped
            self.gains = nn.ParameterDict({"bias": nn.Parameter(arr(np.array([0.1, -0.2])))})

        def forward(self, x):
            h = self.blocks["act"](self.blocks["inp"](x)) * self.scales[0]
            return self.blocks["out"](h) * self.scales[-1] + self.gains["bias"]
    return DictNet()


E8, SEQ, MEM = 8, A((3, 2, 8)), A((4, 2, 8))  # seq-first (T, N, E), memory (S, N, E)
BSEQ, BMEM = A((2, 3, 8)), A((2, 4, 8))  # batch_first
_CAUSAL3 = np.triu(np.full((3, 3), -np.inf), 1)  # generate_square_subsequent_mask(3)
_MEM_BLOCK = np.array([[False, True, False, False], [False, False, True, False],
                       [True, False, False, False]])  # (T, S): True = may not attend
_PAD = np.array([[False, False, False, True], [False, True, False, False]])  # (N, S)
PAD4 = A((2, 4), "index", False, value=((0, 0, 1, 1), (0, 0, 0, 1)))  # 1 = padding
TKW = dict(dim_feedforward=16, dropout=0.0)


def _masked(f, m, tgt, mem):
    """Call a decoder layer with every kind of mask."""
    return f(tgt, mem, tgt_mask=_like(tgt, _CAUSAL3), memory_mask=_like(tgt, _MEM_BLOCK),
             memory_key_padding_mask=_like(tgt, _PAD))


LAYERS += [
    _layer("ModuleDict", _dict_net, [X4]),
    _layer("Bilinear", lambda nn, arr: nn.Bilinear(2, 3, 4), [A((3, 2, 2)), A((3, 2, 3))]),
    # Transformer family (dropout 0 in training mode; masks of every kind)
    _layer("TransformerEncoderLayer:batch_first_gelu_pad", lambda nn, arr: _forward_as(
        nn.TransformerEncoderLayer, lambda f, m, x, p: f(x, src_key_padding_mask=p == 1))(
        E8, 2, activation="gelu", norm_first=True, batch_first=True, **TKW),
        [A((2, 4, 8)), PAD4]),
    _layer("TransformerDecoderLayer:masks", lambda nn, arr: _forward_as(
        nn.TransformerDecoderLayer, _masked)(E8, 2, **TKW), [SEQ, MEM], rowwise=False),
    _layer("TransformerDecoderLayer:norm_first_batch_first", lambda nn, arr: _forward_as(
        nn.TransformerDecoderLayer, lambda f, m, t, s, p: f(
            t, s, tgt_is_causal=True, tgt_mask=_like(t, _CAUSAL3),
            memory_key_padding_mask=p == 1))(
        E8, 2, norm_first=True, batch_first=True, bias=False, activation="gelu", **TKW),
        [BSEQ, BMEM, PAD4]),
    # nn.Transformer: both stacks, their final LayerNorms and every mask at once
    _layer("Transformer", _quiet(lambda nn, arr: _forward_as(nn.Transformer, lambda f, m, s, t: f(
        s, t, src_key_padding_mask=_like(s, _PAD), tgt_mask=_like(t, _CAUSAL3),
        memory_mask=_like(t, _MEM_BLOCK), memory_key_padding_mask=_like(s, _PAD)))(
        E8, 2, 1, 1, **TKW)), [MEM, SEQ], rowwise=False),
    # recurrent: LSTM with a projection (weight_hr_l{k}), 2 layers, bidirectional
    _layer("LSTM:proj", lambda nn, arr: _forward_as(nn.LSTM, lambda *a: _hushed(*a)[0])(
        4, 5, num_layers=2, proj_size=2, bidirectional=True, batch_first=True),
        [A((3, 4, 4))]),
    # normalization
    _layer("BatchNorm3d", lambda nn, arr: nn.BatchNorm3d(3), [A((2, 3, 2, 2, 3))],
           rowwise=False),
    _layer("InstanceNorm1d", lambda nn, arr: nn.InstanceNorm1d(3), [A((2, 3, 5))]),
    _layer("InstanceNorm1d:unbatched_affine", lambda nn, arr: nn.InstanceNorm1d(
        3, affine=True), [A((3, 5))], rowwise=False),
    _layer("InstanceNorm2d:affine_tracked", lambda nn, arr: nn.InstanceNorm2d(
        3, affine=True, track_running_stats=True), [A((2, 3, 3, 2))]),
    _layer("InstanceNorm3d:unbatched", lambda nn, arr: nn.InstanceNorm3d(2, affine=True),
           [A((2, 2, 2, 3))], rowwise=False),
    # pooling: indices, unpooling, adaptive max, unbatched (C, ...) inputs (row = channel)
    _layer("MaxUnpool2d", lambda nn, arr: _forward_as(nn.MaxUnpool2d, lambda f, m, x: f(
        *nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True), output_size=x.shape))(
        3, 2, 1), [A((2, 2, 6, 5))]),
    _layer("MaxUnpool1d:unbatched", lambda nn, arr: _forward_as(
        nn.MaxUnpool1d, lambda f, m, x: f(*nn.MaxPool1d(2, return_indices=True)(x)))(2),
        [A((3, 6))]),
    _layer("MaxPool1d:indices", lambda nn, arr: _forward_as(
        nn.MaxPool1d, lambda f, m, x: f(x)[0] * f(x)[1].float())(3, 2, 1, return_indices=True),
        [A((2, 3, 7))]),
    _layer("AvgPool2d:unbatched", lambda nn, arr: nn.AvgPool2d(2, padding=1, ceil_mode=True),
           [A((3, 4, 5))]),
    _layer("AdaptiveAvgPool2d:none", lambda nn, arr: nn.AdaptiveAvgPool2d((None, 2)),
           [A((2, 3, 4, 5))]),
    _layer("AdaptiveMaxPool2d", lambda nn, arr: nn.AdaptiveMaxPool2d((2, 3)),
           [A((2, 3, 5, 7))]),
    _layer("AdaptiveMaxPool2d:unbatched_none", lambda nn, arr: nn.AdaptiveMaxPool2d((None, 1)),
           [A((3, 4, 5))]),
    _layer("AdaptiveMaxPool1d:indices", lambda nn, arr: _forward_as(
        nn.AdaptiveMaxPool1d, lambda f, m, x: f(x)[0] * f(x)[1].float())(3, return_indices=True),
        [A((2, 3, 8))]),
    # convolution: padding modes, unbatched inputs
    _layer("Conv1d:unbatched_same", lambda nn, arr: _forward_as(nn.Conv1d, _hushed)(
        2, 3, 4, padding="same"), [A((2, 6))], rowwise=False),
    _layer("ConvTranspose2d:unbatched", lambda nn, arr: nn.ConvTranspose2d(2, 3, 3, stride=2),
           [A((2, 3, 2))], rowwise=False),
    _layer("ConvTranspose1d:unbatched", lambda nn, arr: nn.ConvTranspose1d(2, 3, 2),
           [A((2, 4))], rowwise=False),
]
LAYERS += [_layer(f"Conv2d:{_mode}", lambda nn, arr, p=_mode: nn.Conv2d(
    2, 3, (3, 2), stride=(1, 2), padding=(2, 1), padding_mode=p), [A((2, 2, 5, 4))])
    for _mode in ("reflect", "replicate", "circular")]
LAYERS += [
    _layer("Conv1d:circular_same", lambda nn, arr: nn.Conv1d(
        2, 2, 4, padding="same", dilation=2, padding_mode="circular"), [A((2, 2, 7))]),
    _layer("Conv2d:reflect_unbatched", lambda nn, arr: nn.Conv2d(
        2, 2, 3, padding=1, padding_mode="reflect", groups=2), [A((2, 3, 3))], rowwise=False),
    _layer("Conv3d", lambda nn, arr: nn.Conv3d(2, 3, (2, 3, 2), stride=(1, 2, 1),
                                               padding=(1, 1, 0)), [A((2, 2, 3, 4, 3))]),
    _layer("Conv3d:replicate_unbatched", lambda nn, arr: nn.Conv3d(
        2, 2, 3, padding=1, padding_mode="replicate"), [A((2, 3, 3, 3))], rowwise=False),
    _layer("ConvTranspose3d", lambda nn, arr: nn.ConvTranspose3d(
        2, 3, 2, stride=(2, 1, 2), output_padding=(1, 0, 0)), [A((2, 2, 2, 3, 2))]),
]
LAYERS_ELSEWHERE.update({
    "LinearCrossEntropyLoss": "test_linear_cross_entropy.py::test_module_as_torch",
    "ParameterList": "cases.py::ModuleDict (_dict_net) and test_containers.py",
    "ParameterDict": "cases.py::ModuleDict (_dict_net) and test_containers.py"})

# the functional ops of the same round (float64 gradcheck and torch twin each)
OPS += [
    _op("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
        [A((2, 3, 5)), A((3,)), A((3,))],
        TF and (lambda x, w, b: TF.instance_norm(x, weight=w, bias=b)), ROW),
    _op("instance_norm:running", lambda x, m, v: F.instance_norm(x, m, v,
                                                                  use_input_stats=False),
        [A((2, 3, 4)), A((3,), grad=False), A((3,), "positive", False)],
        TF and (lambda x, m, v: TF.instance_norm(x, m, v, use_input_stats=False)), ROW),
    _op("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 3)), [A((2, 1, 3, 5))],
        TF and (lambda x: TF.adaptive_max_pool2d(x, (2, 3))), ROW),
    _op("adaptive_max_pool2d:indices_none", lambda x: F.adaptive_max_pool2d(
        x, (None, 2), return_indices=True)[0], [A((2, 2, 4))],
        TF and (lambda x: TF.adaptive_max_pool2d(x, (None, 2), return_indices=True)[0]), ROW),
    _op("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 3), [A((2, 1, 7))],
        TF and (lambda x: TF.adaptive_max_pool1d(x, 3)), ROW),
    _op("max_unpool2d", lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2,
                                                 output_size=(2, 5)), [A((2, 1, 2, 5))],
        TF and (lambda x: TF.max_unpool2d(*TF.max_pool2d(x, 2, return_indices=True), 2,
                                          output_size=(2, 5))), ROW),
    _op("max_unpool1d", lambda x, i: F.max_unpool1d(x, i.reshape(1, 2, 3), 2),
        [A((1, 2, 3)), Int(0, 3, 5, 1, 2, 4)], _torch("max_unpool1d") and (
            lambda x, i: TF.max_unpool1d(x, i.reshape(1, 2, 3), 2))),
    _op("max_unpool1d:unbatched", lambda x: F.max_unpool1d(
        *F.max_pool1d(x, 2, return_indices=True), 2, output_size=(7,)), [A((2, 7))],
        TF and (lambda x: TF.max_unpool1d(*TF.max_pool1d(x, 2, return_indices=True), 2,
                                          output_size=(7,))), ROW),
    _op("conv2d:unbatched", lambda x, w, b: F.conv2d(x, w, b, padding=1),
        [A((1, 3, 3)), A((2, 1, 2, 2)), A((2,))],
        TF and (lambda x, w, b: TF.conv2d(x, w, b, padding=1))),
    _op("conv1d:unbatched", lambda x, w: F.conv1d(x, w, stride=2), [A((1, 5)), A((2, 1, 3))],
        TF and (lambda x, w: TF.conv1d(x, w, stride=2))),
    _op("conv_transpose2d:unbatched", lambda x, w: F.conv_transpose2d(x, w, stride=2),
        [A((1, 2, 2)), A((1, 2, 2, 2))], TF and (lambda x, w: TF.conv_transpose2d(x, w,
                                                                                  stride=2))),
    _op("conv_transpose1d:unbatched", lambda x, w: F.conv_transpose1d(x, w, padding=1),
        [A((1, 3)), A((1, 2, 3))], TF and (lambda x, w: TF.conv_transpose1d(x, w,
                                                                            padding=1))),
]


# == PyTorch's wider functional surface: activations, losses, distances, padding, resampling,
# gather/scatter, sorting, rearranging, einsum (xpnn/functional/{activation,loss,distance,
# padding,upsampling,gather,sorting,rearrange,einsum}.py). One case per code path, tiny
# inputs: the gradient check costs two forward passes per input element.
def _no_warnings(fn):
    """fn with warnings silenced (PyTorch and xpnn warn about kl_div's reduction="mean")."""
    import warnings

    def call(*t):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*t)
    return call


def _Ix(*rows):
    """A fixed int64 index argument of any shape, from nested tuples."""
    return Arg(np.shape(rows), "index", grad=False, value=rows)


def _loss_none(name, args, batched=(0, 1), **kw):
    """A variant of a loss checked without reduction only (``_loss`` covers the three
    reductions once per loss; they share one code path)."""
    op = name.split(":")[0]
    OPS.append(_op(f"{name}:none", lambda *t: getattr(F, op)(*t, reduction="none", **kw),
                   args, TF and (lambda *t: getattr(TF, op)(*t, reduction="none", **kw)),
                   batched))


A25 = A((2, 5))  # elementwise activations: 10 entries spread over every branch
OPS += [
    _op("hardtanh", lambda x: F.hardtanh(x * 2, -1.5, 0.8), [A25],
        lambda x: TF.hardtanh(x * 2, -1.5, 0.8), ROW),
    _op("relu6", lambda x: F.relu6(x * 5), [A25], lambda x: TF.relu6(x * 5), ROW),
    _op("threshold", lambda x: F.threshold(x, 0.1, -2.0), [A25],
        lambda x: TF.threshold(x, 0.1, -2.0), ROW),
    _op("hardshrink", lambda x: F.hardshrink(x, 0.3), [A25],
        lambda x: TF.hardshrink(x, 0.3), ROW),
    _op("softshrink", F.softshrink, [A25], _torch("softshrink"), ROW),
    _op("mish", F.mish, [A25], _torch("mish"), ROW),
    _op("softsign", F.softsign, [A25], _torch("softsign"), ROW),
    _op("logsigmoid", lambda x: F.logsigmoid(x * 3), [A25], lambda x: TF.logsigmoid(x * 3),
        ROW),
    _op("selu", F.selu, [A25], _torch("selu"), ROW),
    # alpha exact in float32: PyTorch's celu gradient rounds 1/alpha through float32
    _op("celu", lambda x: F.celu(x, 0.75), [A25], lambda x: TF.celu(x, 0.75), ROW),
    _op("hardsigmoid", lambda x: F.hardsigmoid(x * 4), [A25],
        lambda x: TF.hardsigmoid(x * 4), ROW),
    _op("hardswish", lambda x: F.hardswish(x * 4), [A25], lambda x: TF.hardswish(x * 4),
        ROW),
    _op("tanhshrink", F.tanhshrink, [A25], _torch("tanhshrink"), ROW),
    _op("prelu", F.prelu, [A((2, 3, 2)), A((3,))], _torch("prelu"), ROW),
    _op("prelu:single", F.prelu, [S23, A((1,))], _torch("prelu"), ROW),
    _op("glu", lambda x: F.glu(x, 1), [A((2, 4, 1))], lambda x: TF.glu(x, 1), ROW),
    _op("softmin", lambda x: F.softmin(x, 1), [S23], lambda x: TF.softmin(x, 1), ROW),
    _op("gumbel_softmax", lambda x: (xpnn.manual_seed(3), F.gumbel_softmax(x, 0.5))[1],
        [S23], random=True),
    # distances
    _op("cosine_similarity", lambda a, b: F.cosine_similarity(a, b, -1), [A((2, 2, 3)),
        A((2, 3))], lambda a, b: TF.cosine_similarity(a, b, -1), ROW),
    _op("pairwise_distance", F.pairwise_distance, [S23, S23], _torch("pairwise_distance"),
        (0, 1)),
    _op("pairwise_distance:p3", lambda a, b: F.pairwise_distance(a, b, 3), [S23, A((3,))],
        lambda a, b: TF.pairwise_distance(a, b, 3), ROW),
    _op("normalize", lambda x: F.normalize(x, 1, -1), [S23],
        lambda x: TF.normalize(x, 1, -1), ROW),
    # padding: PyTorch's pad order (last dim first), negative pads crop
    _op("pad:constant", lambda x: F.pad(x, (1, 2), value=0.5), [S23],
        lambda x: TF.pad(x, (1, 2), value=0.5), ROW),
    _op("pad:crop", lambda x: F.pad(x, (1, -1, -1, 2)), [S234],
        lambda x: TF.pad(x, (1, -1, -1, 2)), ROW),
    _op("pad:reflect", lambda x: F.pad(x, (1, -1, 2, 0), "reflect"), [A((1, 1, 3, 4))],
        lambda x: TF.pad(x, (1, -1, 2, 0), mode="reflect")),
    _op("pad:replicate", lambda x: F.pad(x, (0, 2, 3, 1), "replicate"), [A((1, 1, 2, 3))],
        lambda x: TF.pad(x, (0, 2, 3, 1), mode="replicate")),
    _op("pad:circular", lambda x: F.pad(x, (3, -1), "circular"), [S234],
        lambda x: TF.pad(x, (3, -1), mode="circular"), ROW),
    # resampling
    _op("interpolate:nearest", lambda x: F.interpolate(x, scale_factor=(1.7, 0.6)),
        [A((1, 1, 3, 4))], lambda x: TF.interpolate(x, scale_factor=(1.7, 0.6))),
    _op("interpolate:nearest_exact", lambda x: F.interpolate(x, size=5, mode="nearest-exact"),
        [A((2, 1, 3))], lambda x: TF.interpolate(x, size=5, mode="nearest-exact"), ROW),
    _op("interpolate:linear", lambda x: F.interpolate(x, scale_factor=1.5, mode="linear"),
        [A((2, 1, 4))], lambda x: TF.interpolate(x, scale_factor=1.5, mode="linear"), ROW),
    _op("interpolate:linear_corners", lambda x: F.interpolate(
        x, size=3, mode="linear", align_corners=True), [A((2, 1, 4))],
        lambda x: TF.interpolate(x, size=3, mode="linear", align_corners=True), ROW),
    _op("interpolate:bilinear", lambda x: F.interpolate(x, size=(4, 3), mode="bilinear"),
        [A((1, 1, 3, 2))], lambda x: TF.interpolate(x, size=(4, 3), mode="bilinear")),
    _op("interpolate:trilinear", lambda x: F.interpolate(x, size=(3, 1, 3), mode="trilinear"),
        [A((1, 1, 2, 2, 2))], lambda x: TF.interpolate(x, size=(3, 1, 3), mode="trilinear")),
    _op("interpolate:area", lambda x: F.interpolate(x, size=3, mode="area"), [A((2, 1, 5))],
        lambda x: TF.interpolate(x, size=3, mode="area"), ROW),
    # antialias=True (upsampling_aa.py): shrinking one axis, growing the other
    _op("interpolate:bilinear_aa", lambda x: F.interpolate(
        x, size=(3, 5), mode="bilinear", antialias=True), [A((2, 1, 7, 3))],
        lambda x: TF.interpolate(x, size=(3, 5), mode="bilinear", antialias=True), ROW),
    _op("interpolate:bicubic_aa_corners", lambda x: F.interpolate(
        x, scale_factor=(0.4, 1.5), mode="bicubic", antialias=True, align_corners=True),
        [A((1, 2, 8, 3))], lambda x: TF.interpolate(
            x, scale_factor=(0.4, 1.5), mode="bicubic", antialias=True, align_corners=True)),
    _op("interpolate:lanczos", lambda x: F.interpolate(
        x, size=(2, 4), mode="lanczos", antialias=True), [A((1, 1, 9, 6))],
        lambda x: TF.interpolate(x, size=(2, 4), mode="lanczos", antialias=True)),
    # spatial transformers (more in test_grid.py); grid positions N(0, 1): some outside
    _op("grid_sample:bilinear", lambda x, g: F.grid_sample(x, g, align_corners=False),
        [A((2, 2, 3, 4)), A((2, 3, 2, 2))],
        lambda x, g: TF.grid_sample(x, g, align_corners=False), (0, 1)),
    _op("grid_sample:border_corners", lambda x, g: F.grid_sample(
        x, g, padding_mode="border", align_corners=True), [A((2, 2, 3, 4)), A((2, 3, 2, 2))],
        lambda x, g: TF.grid_sample(x, g, padding_mode="border", align_corners=True), (0, 1)),
    _op("grid_sample:reflection", lambda x, g: F.grid_sample(
        x, g, padding_mode="reflection", align_corners=False), [A((1, 2, 3, 4)),
                                                              A((1, 4, 3, 2))],
        lambda x, g: TF.grid_sample(x, g, padding_mode="reflection", align_corners=False)),
    _op("grid_sample:nearest", lambda x, g: F.grid_sample(
        x, g, "nearest", "reflection", align_corners=True), [A((2, 2, 3, 4)), A((2, 3, 2, 2))],
        lambda x, g: TF.grid_sample(x, g, "nearest", "reflection", align_corners=True),
        (0, 1)),
    _op("grid_sample:trilinear", lambda x, g: F.grid_sample(x, g, align_corners=False),
        [A((1, 2, 2, 3, 2)), A((1, 2, 2, 2, 3))],
        lambda x, g: TF.grid_sample(x, g, align_corners=False)),
    _op("affine_grid", lambda t: F.affine_grid(t, (2, 1, 3, 4), align_corners=False),
        [A((2, 2, 3))], lambda t: TF.affine_grid(t, (2, 1, 3, 4), align_corners=False)),
    _op("affine_grid:3d", lambda t: F.affine_grid(t, (1, 2, 2, 3, 2), align_corners=True),
        [A((1, 3, 4))], lambda t: TF.affine_grid(t, (1, 2, 2, 3, 2), align_corners=True)),
    _op("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), [A((2, 4, 1, 2))],
        lambda x: TF.pixel_shuffle(x, 2), ROW),
    _op("unfold", lambda x: F.unfold(x, 2), [A((2, 3, 4, 5))], lambda x: TF.unfold(x, 2), ROW),
    _op("unfold:strided", lambda x: F.unfold(x, (3, 2), dilation=(1, 2), padding=1,
                                             stride=(2, 1)), [A((2, 2, 5, 6))],
        lambda x: TF.unfold(x, (3, 2), dilation=(1, 2), padding=1, stride=(2, 1)), ROW),
    _op("unfold:unbatched", lambda x: F.unfold(x, 3, padding=1), [A((2, 3, 3))],
        lambda x: TF.unfold(x, 3, padding=1)),
    _op("fold", lambda x: F.fold(x, (4, 5), 2), [A((2, 12, 12))],
        lambda x: TF.fold(x, (4, 5), 2), ROW),
    _op("fold:strided", lambda x: F.fold(x, (5, 6), (3, 2), dilation=(1, 2), padding=1,
                                         stride=(2, 1)), [A((2, 12, 18))],
        lambda x: TF.fold(x, (5, 6), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1)), ROW),
    _op("pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2), [A((2, 1, 2, 4))],
        lambda x: TF.pixel_unshuffle(x, 2), ROW),
    # gather / scatter (repeated positions add up in the gradient)
    _op("gather", lambda x, i: F.gather(x, 1, i), [S234, _Ix(((0, 2, 1, 1), (2, 2, 0, 1)),
                                                             ((1, 0, 0, 2), (1, 2, 0, 0)))],
        lambda x, i: torch.gather(x, 1, i), (0, 1)),
    _op("gather:smaller", lambda x, i: F.gather(x, -1, i), [S234, _Ix(((3, 0, 3),
                                                                       (1, 1, 2)))],
        lambda x, i: torch.gather(x, -1, i)),
    _op("scatter", lambda x, i, s: F.scatter(x, 1, i, s),
        [S234, _Ix(((0, 2, 1, 1), (2, 1, 0, 0)), ((1, 0, 2, 2), (0, 2, 1, 0))), A((2, 2, 4))],
        lambda x, i, s: torch.scatter(x, 1, i, s), (0, 1, 2)),
    _op("scatter:value", lambda x, i: F.scatter(x, 0, i, value=1.5),
        [A((3, 4)), _Ix((2, 0, 1, 1),)], lambda x, i: torch.scatter(x, 0, i, value=1.5)),
    _op("scatter_add", lambda x, i, s: F.scatter_add(x, 1, i, s),
        [S234, _Ix(((0, 2, 1, 1), (2, 2, 0, 1)), ((1, 0, 0, 2), (1, 2, 0, 0))), A((2, 2, 4))],
        lambda x, i, s: torch.scatter_add(x, 1, i, s), (0, 1, 2)),
    # sorting: the values are differentiable
    _op("sort", lambda x: F.sort(x, 0, descending=True)[0], [S234],
        lambda x: torch.sort(x, 0, descending=True)[0]),
    _op("topk", lambda x: F.topk(x, 2, dim=1).values, [S234],
        lambda x: torch.topk(x, 2, dim=1).values, ROW),
    # rearranging
    _op("flip", lambda x: F.flip(x, (0, 2)), [S234], lambda x: torch.flip(x, (0, 2))),
    _op("fliplr", F.fliplr, [S23], _torch("fliplr"), ROW),
    _op("flipud", F.flipud, [S23], _torch("flipud")),
    _op("roll", lambda x: F.roll(x, (1, -3), (0, 2)), [S234],
        lambda x: torch.roll(x, (1, -3), (0, 2))),
    _op("roll:flat", lambda x: F.roll(x, 5), [S23], lambda x: torch.roll(x, 5)),
    _op("repeat_interleave", lambda x, r: F.repeat_interleave(x, r, dim=-1),
        [S234, _Ix(2, 0, 1, 3)], lambda x, r: torch.repeat_interleave(x, r, dim=-1)),
    _op("repeat_interleave:flat", lambda x: F.repeat_interleave(x, 3), [S23],
        lambda x: torch.repeat_interleave(x, 3)),
    _op("tril", lambda x: F.tril(x, -1), [S234], lambda x: torch.tril(x, -1), ROW),
    _op("triu", lambda x: F.triu(x, 1), [S234], lambda x: torch.triu(x, 1), ROW),
    _op("diag", lambda x: F.diag(x, 1), [A((3,))], lambda x: torch.diag(x, 1)),
    _op("diag:matrix", lambda x: F.diag(x, -1), [A((3, 4))], lambda x: torch.diag(x, -1)),
    _op("diag_embed", lambda x: F.diag_embed(x, 1, 0, 2), [S23],
        lambda x: torch.diag_embed(x, 1, 0, 2)),
    _op("diag_embed:last", F.diag_embed, [S234], _torch("diag_embed"), ROW),
    _op("diagflat", lambda x: F.diagflat(x, -1), [S23], lambda x: torch.diagflat(x, -1)),
    _op("diagonal", lambda x: F.diagonal(x, 1, 2, 0), [S234],
        lambda x: torch.diagonal(x, 1, 2, 0)),
    _op("diagonal_scatter", lambda x, s: F.diagonal_scatter(x, s, -1, 1, 2), [S234, A((2, 2))],
        lambda x, s: torch.diagonal_scatter(x, s, -1, 1, 2)),
]
for _eq, _shapes in [("bij,bjk->bik", [S234.shape, (2, 4, 2)]), ("i,j->ij", [(3,), (2,)]),
                     ("bij->j", [S234.shape]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
                     ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
                     ("bhqd,bhkd->bhqk", [(1, 2, 3, 2), (1, 2, 2, 2)]),
                     ("ij,ij->i", [(1, 3), (2, 3)]),
                     ("bn,anm,bm->ba", [(2, 3), (2, 3, 2), (2, 2)])]:
    OPS.append(_op(f"einsum:{_eq}", lambda *t, e=_eq: F.einsum(e, *t), [A(s) for s in _shapes],
                   lambda *t, e=_eq: torch.einsum(e, *t)))

# losses: two rows; the three reductions once per loss, variants without reduction
X2, P2, U2, V2 = A((2, C)), A((2, C), "positive"), A((2, C), "unit"), A((2,))
SGN_2, SGN_2C, BIN_2C = _Ix(1, -1), _Ix((1, -1, 1), (-1, -1, 1)), _Ix((1, 0, 1), (0, 0, 1))
_loss("smooth_l1_loss", [X2, X2], beta=0.5)
_loss_none("smooth_l1_loss:beta0", [X2, X2], beta=0.0)
_loss("poisson_nll_loss", [X2, P2])
_loss_none("poisson_nll_loss:rate", [P2, P2], log_input=False)
_loss_none("poisson_nll_loss:full", [X2, P2], full=True)
_loss("gaussian_nll_loss", [X2, X2, P2], batched=(0, 1, 2))
_loss_none("gaussian_nll_loss:homoscedastic", [X2, X2, A((2, 1), "positive")], (0, 1, 2))
_loss_none("gaussian_nll_loss:short", [X2, X2, A((2,), "positive")], (0, 1, 2), full=True)
_loss("soft_margin_loss", [X2, SGN_2C])
_loss("multilabel_soft_margin_loss", [X2, BIN_2C])
OPS.append(_op("multilabel_soft_margin_loss:weight", lambda x, t, w: F.multilabel_soft_margin_loss(
    x, t, w, reduction="none"), [X2, BIN_2C, WC], TF and (
    lambda x, t, w: TF.multilabel_soft_margin_loss(x, t, w, reduction="none")), (0, 1)))
_loss("cosine_embedding_loss", [X2, X2, SGN_2], batched=(0, 1, 2), margin=0.3)
_loss_none("cosine_embedding_loss:unbatched", [A((C,)), A((C,)), Arg((), "index", False,
                                                                     value=-1)],
           (), margin=-0.9)
_loss("margin_ranking_loss", [V2, V2, SGN_2], batched=(0, 1, 2), margin=0.2)
_loss("triplet_margin_loss", [X2, X2, X2], batched=(0, 1, 2))
_loss_none("triplet_margin_loss:swap_p1", [X2, X2, X2], (0, 1, 2), p=1, swap=True,
           margin=2.0)
_loss("triplet_margin_with_distance_loss", [X2, X2, X2], batched=(0, 1, 2))
_loss_none("triplet_margin_with_distance_loss:swap", [X2, X2, X2], (0, 1, 2), swap=True,
           margin=0.5)
_loss("hinge_embedding_loss", [X2, SGN_2C], margin=0.5)
for _r in ("batchmean", "sum", "none", "mean"):
    OPS.append(_op(f"kl_div:{_r}", _no_warnings(lambda x, t, r=_r: F.kl_div(x, t, reduction=r)),
                   [X2, U2],
                   _no_warnings(lambda x, t, r=_r: TF.kl_div(x, t, reduction=r)),
                   (0, 1) if _r == "none" else ()))
_loss_none("kl_div:log_target", [X2, X2], log_target=True)

ELSEWHERE.update({
    "one_hot": "integer result, no gradient: test_functional_more.py::test_one_hot",
    "argsort": "no gradient: test_functional_more.py::test_sort_argsort_topk_indices"})

# -- their modules: one case each (the functional cases cover the variants) ------------------
LAYERS += [_layer(f"{_cls}{_tag}", lambda nn, arr, c=_cls, kw=_kw: getattr(nn, c)(**kw), [X8])
           for _cls, _tag, _kw in [
               ("Hardtanh", "", {"min_val": -0.5, "max_val": 0.7}), ("ReLU6", "", {}),
               ("Mish", "", {}), ("Softsign", "", {}), ("LogSigmoid", "", {}),
               ("Threshold", "", {"threshold": 0.1, "value": 20.0}),
               ("PReLU", "", {"num_parameters": 8, "init": 0.1}), ("SELU", "", {}),
               ("CELU", "", {"alpha": 0.75}), ("Hardsigmoid", "", {}), ("Hardswish", "", {}),
               ("Tanhshrink", "", {}), ("Softmin", "", {"dim": 1}), ("GLU", "", {}),
               ("Hardshrink", "", {"lambd": 0.3}), ("Softshrink", "", {}),
               ("Unflatten", "", {"dim": 1, "unflattened_size": (2, 4)})]]
LAYERS += [  # each loss module once, the reductions spread over them
    _layer("SmoothL1Loss:mean", lambda nn, arr: nn.SmoothL1Loss(beta=0.5), [X2, X2], False),
    _layer("PoissonNLLLoss:none", lambda nn, arr: nn.PoissonNLLLoss(
        full=True, reduction="none"), [X2, P2]),
    _layer("GaussianNLLLoss:sum", lambda nn, arr: nn.GaussianNLLLoss(reduction="sum"),
           [X2, X2, P2], False),
    _layer("SoftMarginLoss:none", lambda nn, arr: nn.SoftMarginLoss(reduction="none"),
           [X2, SGN_2C]),
    _layer("MultiLabelSoftMarginLoss:mean", lambda nn, arr: nn.MultiLabelSoftMarginLoss(
        arr(_W)), [X2, BIN_2C], False),
    _layer("CosineEmbeddingLoss:none", lambda nn, arr: nn.CosineEmbeddingLoss(
        0.1, reduction="none"), [X2, X2, SGN_2]),
    _layer("MarginRankingLoss:sum", lambda nn, arr: nn.MarginRankingLoss(
        0.2, reduction="sum"), [V2, V2, SGN_2], False),
    _layer("TripletMarginLoss:none", lambda nn, arr: nn.TripletMarginLoss(reduction="none"),
           [X2, X2, X2]),
    _layer("TripletMarginWithDistanceLoss:none", lambda nn, arr:
           nn.TripletMarginWithDistanceLoss(reduction="none"), [X2, X2, X2]),
    _layer("HingeEmbeddingLoss:mean", lambda nn, arr: nn.HingeEmbeddingLoss(0.5),
           [X2, SGN_2C], False),
    _layer("KLDivLoss:batchmean", lambda nn, arr: nn.KLDivLoss(reduction="batchmean"),
           [X2, U2], False),
    _layer("KLDivLoss:none", lambda nn, arr: nn.KLDivLoss(reduction="none", log_target=True),
           [X2, X2]),
]
IMG, SEQ, VOL = A((2, 1, 3, 3)), A((2, 2, 4)), A((1, 1, 2, 2, 2))
LAYERS += [
    _layer("ZeroPad1d", lambda nn, arr: nn.ZeroPad1d(2), [SEQ]),
    _layer("ZeroPad2d", lambda nn, arr: nn.ZeroPad2d((1, 0, 2, -1)), [IMG]),
    _layer("ZeroPad3d", lambda nn, arr: nn.ZeroPad3d(1), [VOL]),
    _layer("ConstantPad1d", lambda nn, arr: nn.ConstantPad1d((1, 2), 0.5), [SEQ]),
    _layer("ConstantPad2d", lambda nn, arr: nn.ConstantPad2d(1, -1.0), [IMG]),
    _layer("ConstantPad3d", lambda nn, arr: nn.ConstantPad3d((1, 0, 0, 1, 1, 0), 2.0), [VOL]),
    _layer("ReflectionPad1d", lambda nn, arr: nn.ReflectionPad1d(3), [SEQ]),
    _layer("ReflectionPad2d", lambda nn, arr: nn.ReflectionPad2d((1, 2, 2, 0)), [IMG]),
    _layer("ReflectionPad3d", lambda nn, arr: nn.ReflectionPad3d(1), [VOL]),
    _layer("ReplicationPad1d", lambda nn, arr: nn.ReplicationPad1d((3, 1)), [SEQ]),
    _layer("ReplicationPad2d", lambda nn, arr: nn.ReplicationPad2d(2), [IMG]),
    _layer("ReplicationPad3d", lambda nn, arr: nn.ReplicationPad3d((0, 1, 1, 0, 2, 1)), [VOL]),
    _layer("CircularPad1d", lambda nn, arr: nn.CircularPad1d((2, 4)), [SEQ]),
    _layer("CircularPad2d", lambda nn, arr: nn.CircularPad2d((1, 1, 3, 0)), [IMG]),
    _layer("CircularPad3d", lambda nn, arr: nn.CircularPad3d(1), [VOL]),
    _layer("PixelShuffle", lambda nn, arr: nn.PixelShuffle(2), [A((2, 4, 1, 2))]),
    _layer("Unfold", lambda nn, arr: nn.Unfold(2, stride=2), [A((2, 3, 4, 4))]),
    _layer("Fold", lambda nn, arr: nn.Fold((4, 4), 2, stride=2), [A((2, 12, 4))]),
    _layer("PixelUnshuffle", lambda nn, arr: nn.PixelUnshuffle(2), [A((2, 1, 2, 4))]),
    _layer("Upsample", lambda nn, arr: nn.Upsample(scale_factor=2), [IMG]),
    _layer("Upsample:bilinear", lambda nn, arr: nn.Upsample(
        scale_factor=(1.5, 0.7), mode="bilinear", align_corners=True), [IMG]),
    _layer("UpsamplingNearest2d", lambda nn, arr: nn.UpsamplingNearest2d(size=(4, 5)), [IMG]),
    _layer("UpsamplingBilinear2d", lambda nn, arr: nn.UpsamplingBilinear2d(scale_factor=2),
           [IMG]),
    _layer("CosineSimilarity", lambda nn, arr: nn.CosineSimilarity(), [X2, X2]),
    _layer("PairwiseDistance", lambda nn, arr: nn.PairwiseDistance(1.0, keepdim=True),
           [X2, X2]),
]

# == more layers and their functional forms: RMSNorm, 3-D pools, EmbeddingBag, ... ==========
# (tests/test_layers_more.py holds their error and mode checks)
OPS += [
    _op("rms_norm", lambda x, w: F.rms_norm(x, (3, 4), w), [S234, A((3, 4))],
        TF and (lambda x, w: TF.rms_norm(x, (3, 4), w)), ROW),
    _op("rms_norm:eps_noweight", lambda x: F.rms_norm(x, 4, eps=0.1), [S234],
        TF and (lambda x: TF.rms_norm(x, (4,), eps=0.1)), ROW),
]
LAYERS += [
    _layer("RMSNorm", lambda nn, arr: nn.RMSNorm(8), [X8]),
    _layer("RMSNorm:shape_noaffine", lambda nn, arr: nn.RMSNorm((2, 4), 1e-3, False),
           [A((3, 2, 4))]),
]
VOL2 = A((2, 2, 3, 4, 3))
OPS += [
    _op("conv3d", lambda x, w, b: F.conv3d(x, w, b, (2, 1, 1), (1, 0, 1), (1, 2, 1)),
        [VOL2, A((2, 2, 2, 2, 2)), A((2,))],
        TF and (lambda x, w, b: TF.conv3d(x, w, b, (2, 1, 1), (1, 0, 1), (1, 2, 1))), ROW),
    _op("conv3d:same_groups", lambda x, w: F.conv3d(x, w, padding="same", groups=2),
        [VOL2, A((2, 1, 2, 1, 2))],
        TF and _no_warnings(lambda x, w: TF.conv3d(x, w, padding="same", groups=2)), ROW),
    _op("conv_transpose3d", lambda x, w, b: F.conv_transpose3d(x, w, b, 2, 1, (1, 0, 1)),
        [A((2, 2, 2, 2, 2)), A((2, 1, 2, 3, 2)), A((1,))],
        TF and (lambda x, w, b: TF.conv_transpose3d(x, w, b, 2, 1, (1, 0, 1))), ROW),
    # 3-D pools: a 2-D pass, then a 1-D pass over depth; indices feed a product to be checked
    _op("max_pool3d", lambda x: F.max_pool3d(x, (2, 3, 2), (1, 2, 1), (1, 1, 0), (1, 1, 2),
                                             True),
        [VOL2], TF and (lambda x: TF.max_pool3d(x, (2, 3, 2), (1, 2, 1), (1, 1, 0),
                                                (1, 1, 2), True)), ROW),
    _op("max_pool3d:indices_unbatched", lambda x: (lambda y, i: y * i)(
        *F.max_pool3d(x, 2, 1, 1, return_indices=True)), [A((2, 2, 3, 3))],
        TF and (lambda x: (lambda y, i: y * i)(*TF.max_pool3d(x, 2, 1, 1,
                                                               return_indices=True)))),
    _op("avg_pool3d", lambda x: F.avg_pool3d(x, (3, 2, 2), (2, 1, 2), 1, True, False),
        [VOL2], TF and (lambda x: TF.avg_pool3d(x, (3, 2, 2), (2, 1, 2), 1, True, False)),
        ROW),
    _op("avg_pool3d:divisor", lambda x: F.avg_pool3d(x, 2, 1, (0, 1, 0),
                                                     divisor_override=3),
        [VOL2], TF and (lambda x: TF.avg_pool3d(x, 2, 1, (0, 1, 0), divisor_override=3)),
        ROW),
    _op("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, (2, None, 2)), [VOL2],
        TF and (lambda x: TF.adaptive_avg_pool3d(x, (2, None, 2))), ROW),
    _op("adaptive_max_pool3d", lambda x: (lambda y, i: y * i)(
        *F.adaptive_max_pool3d(x, (2, 3, 2), True)), [VOL2],
        TF and (lambda x: (lambda y, i: y * i)(*TF.adaptive_max_pool3d(x, (2, 3, 2), True))),
        ROW),
    _op("lp_pool2d", lambda x: F.lp_pool2d(x, 2, (2, 3), 1), [A((2, 2, 3, 4))],
        TF and (lambda x: TF.lp_pool2d(x, 2, (2, 3), 1)), ROW),
    _op("lp_pool1d", lambda x: F.lp_pool1d(x, 1.5, 2, ceil_mode=True), [A((2, 2, 5),
                                                                         "positive")],
        TF and (lambda x: TF.lp_pool1d(x, 1.5, 2, ceil_mode=True)), ROW),
    _op("lp_pool3d", lambda x: F.lp_pool3d(x, 3, 2), [A((2, 1, 2, 2, 4), "positive")],
        TF and (lambda x: TF.lp_pool3d(x, 3, 2)), ROW),
    _op("lp_pool2d:inf", lambda x: F.lp_pool2d(x, float("inf"), 2), [A((2, 2, 4, 4))],
        TF and (lambda x: TF.lp_pool2d(x, float("inf"), 2)), ROW),
    _op("lp_pool1d:-inf", lambda x: F.lp_pool1d(x, -float("inf"), 2, ceil_mode=True),
        [A((2, 2, 5))], TF and (lambda x: TF.lp_pool1d(x, -float("inf"), 2, ceil_mode=True)),
        ROW),
]
LAYERS += [
    _layer("MaxPool3d", lambda nn, arr: nn.MaxPool3d(2, 1, padding=1), [VOL2]),
    _layer("AvgPool3d:unbatched", lambda nn, arr: nn.AvgPool3d(
        (2, 2, 3), padding=(1, 0, 1), ceil_mode=True, count_include_pad=False),
        [A((2, 3, 4, 3))]),
    _layer("AdaptiveAvgPool3d", lambda nn, arr: nn.AdaptiveAvgPool3d((1, 2, 2)), [VOL2]),
    _layer("AdaptiveMaxPool3d", lambda nn, arr: nn.AdaptiveMaxPool3d(2), [VOL2]),
    _layer("LPPool1d", lambda nn, arr: nn.LPPool1d(2, 3, 2), [A((3, 2, 7))]),
    _layer("LPPool2d", lambda nn, arr: nn.LPPool2d(2, (2, 3)), [A((2, 2, 4, 6))]),
]
# embedding bags: weight first (the differentiable input), then ids, offsets, sample weights
BAG_IDS, BAG_OFFS = Int(1, 2, 3, 4, 1, 1, 0), Int(0, 2, 2, 5)
OPS += [
    _op("embedding_bag", lambda w, i: F.embedding_bag(i, w), [A((5, 3)), _Ix((1, 2, 3),
                                                                             (0, 4, 4))],
        TF and (lambda w, i: TF.embedding_bag(i, w))),
    _op("embedding_bag:sum_weights_pad", lambda w, i, o, p: F.embedding_bag(
        i, w, o, mode="sum", per_sample_weights=p, padding_idx=1),
        [A((5, 3)), BAG_IDS, BAG_OFFS, A((7,))], TF and (lambda w, i, o, p: TF.embedding_bag(
            i, w, o, mode="sum", per_sample_weights=p, padding_idx=1))),
    _op("embedding_bag:mean_last_offset", lambda w, i, o: F.embedding_bag(
        i, w, o, include_last_offset=True, padding_idx=0), [A((5, 3)), BAG_IDS,
                                                           Int(0, 3, 3, 7)],
        TF and (lambda w, i, o: TF.embedding_bag(i, w, o, include_last_offset=True,
                                                 padding_idx=0))),
    _op("embedding_bag:max", lambda w, i, o: F.embedding_bag(i, w, o, mode="max"),
        [A((5, 3)), BAG_IDS, BAG_OFFS],
        TF and (lambda w, i, o: TF.embedding_bag(i, w, o, mode="max"))),
    _op("embedding_bag:max_2d_pad", lambda w, i: F.embedding_bag(i, w, mode="max",
                                                                 padding_idx=3),
        [A((5, 3)), _Ix((1, 3, 1), (3, 3, 3), (4, 0, 2))],
        TF and (lambda w, i: TF.embedding_bag(i, w, mode="max", padding_idx=3))),
]
LAYERS += [
    _layer("EmbeddingBag:sum_pad", lambda nn, arr: nn.EmbeddingBag(5, 3, mode="sum",
                                                                   padding_idx=2),
           [_Ix((1, 2, 3), (0, 4, 2), (2, 2, 2))]),
    _layer("EmbeddingBag:max_offsets", lambda nn, arr: _forward_as(
        nn.EmbeddingBag, lambda f, m, i, o: f(i, o))(5, 3, mode="max"), [BAG_IDS, BAG_OFFS],
        rowwise=False),
]
# channel ops, alpha dropout, rrelu, margin losses, bilinear
OPS += [
    _op("local_response_norm", lambda x: F.local_response_norm(x, 3, 0.1, 0.6, 1.5),
        [A((2, 5, 2, 2))], TF and (lambda x: TF.local_response_norm(x, 3, 0.1, 0.6, 1.5)),
        ROW),
    _op("local_response_norm:3d", lambda x: F.local_response_norm(x, 2), [A((2, 4, 3))],
        TF and (lambda x: TF.local_response_norm(x, 2)), ROW),
    _op("channel_shuffle", lambda x: F.channel_shuffle(x, 3), [A((2, 6, 2))],
        TF and (lambda x: TF.channel_shuffle(x, 3)), ROW),
    _op("rrelu:eval", lambda x: F.rrelu(x, 0.1, 0.3), [S234],
        TF and (lambda x: TF.rrelu(x, 0.1, 0.3)), ROW),
    _op("rrelu:train", lambda x: (xpnn.manual_seed(3), F.rrelu(x, training=True))[1], [S234],
        random=True),
    _op("alpha_dropout:eval", lambda x: F.alpha_dropout(x, 0.5), [S23],
        TF and (lambda x: TF.alpha_dropout(x, 0.5)), ROW),
    _op("alpha_dropout:train", lambda x: (xpnn.manual_seed(3), F.alpha_dropout(
        x, 0.3, True))[1], [S234], random=True),
    _op("feature_alpha_dropout:train", lambda x: (xpnn.manual_seed(3), F.feature_alpha_dropout(
        x, 0.5, True))[1], [A((2, 3, 2, 2))], random=True),
    _op("multi_margin_loss", lambda x, y: F.multi_margin_loss(x, y), [A((2, 4)), Int(1, 3)],
        TF and (lambda x, y: TF.multi_margin_loss(x, y))),
    _op("multi_margin_loss:p2_weight_none", lambda x, y, w: F.multi_margin_loss(
        x, y, 2, 0.7, w, reduction="none"), [A((3, 4)), Int(1, 3, 0), A((4,), "positive",
                                                                        False)],
        TF and (lambda x, y, w: TF.multi_margin_loss(x, y, 2, 0.7, w, reduction="none")),
        (0, 1)),
    _op("multilabel_margin_loss", lambda x, y: F.multilabel_margin_loss(x, y),
        [A((2, 4)), _Ix((3, 0, -1, 1), (1, 2, 0, 3))],
        TF and (lambda x, y: TF.multilabel_margin_loss(x, y))),
    _op("multilabel_margin_loss:none", lambda x, y: F.multilabel_margin_loss(
        x, y, reduction="none"), [A((2, 4)), _Ix((-1, 0, 2, 1), (2, 2, -1, 3))],
        TF and (lambda x, y: TF.multilabel_margin_loss(x, y, reduction="none")), (0, 1)),
    _op("bilinear", F.bilinear, [A((2, 3)), A((2, 4)), A((2, 3, 4)), A((2,))],
        _torch("bilinear"), (0, 1)),
]
LAYERS += [
    _layer("LocalResponseNorm", lambda nn, arr: nn.LocalResponseNorm(3), [A((2, 4, 2, 3))]),
    _layer("Softmax2d", lambda nn, arr: nn.Softmax2d(), [A((2, 3, 2, 2))]),
    _layer("ChannelShuffle", lambda nn, arr: nn.ChannelShuffle(2), [A((2, 4, 3))]),
    _layer("RReLU:eval", lambda nn, arr: nn.RReLU(0.2, 0.4), [X8], train=False),
    _layer("AlphaDropout:eval", lambda nn, arr: nn.AlphaDropout(0.5), [X8], train=False),
    _layer("FeatureAlphaDropout:p0", lambda nn, arr: nn.FeatureAlphaDropout(0.0),
           [A((2, 3, 2))]),
    _layer("MultiMarginLoss:none", lambda nn, arr: nn.MultiMarginLoss(
        margin=0.5, weight=arr(np.array([1.0, 2.0, 0.5])), reduction="none"),
           [A((3, 3)), Int(0, 2, 1)]),
    _layer("MultiLabelMarginLoss:sum", lambda nn, arr: nn.MultiLabelMarginLoss(
        reduction="sum"), [A((2, 3)), _Ix((2, -1, 0), (0, 1, -1))], rowwise=False),
]

# -- scans, statistics, products and elementwise extras (functional/scan.py, stats.py,
# products.py, pointwise.py); indices, NaNs, zeros and errors: test_math_more.py ----------
S35, U23 = A((3, 5)), A((2, 3), "unit")
Q2 = (0.1, 0.65)
OPS += [
    _op("cumprod", lambda x: F.cumprod(x, 1), [S234], lambda x: torch.cumprod(x, 1), ROW),
    _op("cumprod:method", lambda x: x.cumprod(0), [S234], SAME),
    _op("logcumsumexp", lambda x: F.logcumsumexp(x, -1), [S234],
        lambda x: torch.logcumsumexp(x, -1), ROW),
    _op("logcumsumexp:long", lambda x: x.logcumsumexp(0), [A((9, 2))], SAME),
    _op("cummax", lambda x: F.cummax(x, 1).values, [S234], lambda x: torch.cummax(x, 1).values,
        ROW),
    _op("cummin", lambda x: x.cummin(-1)[0], [S234], SAME, ROW),
    _op("diff", lambda x: F.diff(x, 2, 1), [S234], lambda x: torch.diff(x, 2, 1), ROW),
    _op("diff:pend", lambda x, p: F.diff(x, prepend=p, append=p), [S234, A((2, 3, 1))],
        lambda x, p: torch.diff(x, prepend=p, append=p), (0, 1)),
    _op("trapezoid", lambda y: F.trapezoid(y, dx=0.5), [S234],
        lambda y: torch.trapezoid(y, dx=0.5), ROW),
    _op("trapezoid:x", lambda y, x: F.trapezoid(y, x, dim=1), [S234, A((3,))],
        lambda y, x: torch.trapezoid(y, x, dim=1), ROW),
    _op("cumulative_trapezoid", lambda y, x: F.cumulative_trapezoid(y, x), [S234, S234],
        lambda y, x: torch.cumulative_trapezoid(y, x), (0, 1)),
    _op("var_mean", lambda x: F.stack(F.var_mean(x, 1), -1), [S234],
        lambda x: torch.stack(torch.var_mean(x, 1), -1), ROW),
    _op("std_mean", lambda x: F.stack(F.std_mean(x, -1, correction=0), -1), [S234],
        lambda x: torch.stack(torch.std_mean(x, -1, correction=0), -1), ROW),
    _op("median:all", F.median, [S35], _torch("median")),
    _op("median:dim", lambda x: x.median(1).values, [S234], SAME, ROW),
    _op("nanmedian", lambda x: F.nanmedian(x, -1, True)[0], [S234],
        lambda x: torch.nanmedian(x, -1, True)[0], ROW),
    _op("kthvalue", lambda x: F.kthvalue(x, 2, 1).values, [S234],
        lambda x: torch.kthvalue(x, 2, 1).values, ROW),
    _op("mode", lambda x: F.mode(F.round(x * 2), 1).values + x[:, 0], [S234],
        lambda x: torch.mode(torch.round(x * 2), 1).values + x[:, 0], ROW),
    _op("quantile", lambda x: F.quantile(x, 0.3, dim=1), [S234],
        lambda x: torch.quantile(x, 0.3, dim=1), ROW),
    _op("quantile:all", lambda x: F.quantile(x, Q2), [S35],
        lambda x: torch.quantile(x, torch.tensor(Q2, dtype=x.dtype))),
    _op("quantile:midpoint", lambda x: x.quantile(0.4, -1, True, interpolation="midpoint"),
        [S234], SAME, ROW),
    _op("nanquantile", lambda x: F.nanquantile(x, 0.8, 0, interpolation="lower"), [S35],
        lambda x: torch.nanquantile(x, 0.8, 0, interpolation="lower")),
    _op("nanmean", lambda x: F.nanmean(x, 1), [S234], lambda x: torch.nanmean(x, 1), ROW),
    _op("nansum", lambda x: F.nansum(x, (0, 2)), [S234], lambda x: torch.nansum(x, (0, 2))),
    _op("aminmax", lambda x: (lambda r: r.max * 2 - r.min)(F.aminmax(x, dim=1)), [S234],
        lambda x: (lambda r: r.max * 2 - r.min)(torch.aminmax(x, dim=1)), ROW),
    _op("dot", F.dot, [A((3,)), A((3,))], _torch("dot")),
    _op("vdot", F.vdot, [A((4,)), A((4,))], _torch("vdot")),
    _op("mv", F.mv, [S23, A((3,))], _torch("mv"), ROW),
    _op("addmm", lambda c, a, b: F.addmm(c, a, b, beta=0.5, alpha=-2), [A((2, 4)), S23,
                                                                          A((3, 4))],
        lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=-2), (0, 1)),
    _op("addmm:bias", F.addmm, [A((4,)), S23, A((3, 4))], _torch("addmm")),
    _op("addmv", lambda c, a, v: c.addmv(a, v, alpha=3), [A((2,)), S23, A((3,))], SAME),
    _op("addbmm", F.addbmm, [A((3, 2)), A((4, 3, 5)), A((4, 5, 2))], _torch("addbmm")),
    _op("baddbmm", lambda c, a, b: F.baddbmm(c, a, b, beta=2), [A((2, 3, 1)), S234,
                                                                  A((2, 4, 2))],
        lambda c, a, b: torch.baddbmm(c, a, b, beta=2), (0, 1, 2)),
    _op("addcmul", lambda c, a, b: F.addcmul(c, a, b, value=0.5), [S23, S23, A((3,))],
        lambda c, a, b: torch.addcmul(c, a, b, value=0.5), (0, 1)),
    _op("addcdiv", lambda c, a, b: c.addcdiv(a, b, value=-2), [S23, A((2, 1)), P23], SAME,
        (0, 1, 2)),
    _op("trace", F.trace, [A((3, 4))], _torch("trace")),
    _op("kron", F.kron, [S23, A((2, 1, 2))], _torch("kron")),
    _op("cross", lambda a, b: F.cross(a, b, dim=1), [A((4, 3)), A((4, 3))],
        lambda a, b: torch.cross(a, b, dim=1), (0, 1)),
    _op("cross:default", F.cross, [A((3, 2, 3)), A((3, 1, 3))],
        lambda a, b: torch.cross(a, b, dim=0)),
    _op("tensordot", F.tensordot, [S234, A((3, 4, 2))], _torch("tensordot")),
    _op("tensordot:lists", lambda a, b: F.tensordot(a, b, ([0, 2], [1, 0])),
        [S234, A((4, 2, 3))], lambda a, b: torch.tensordot(a, b, ([0, 2], [1, 0]))),
    _op("fmod", F.fmod, [S23, P23], _torch("fmod"), (0, 1)),
    _op("fmod:scalar", lambda a: a.fmod(-0.3), [S23], SAME, ROW),
    _op("frac", lambda a: F.frac(a * 3), [S23], lambda a: torch.frac(a * 3), ROW),
    _op("sgn", lambda a: a * F.sgn(a), [S23], lambda a: a * torch.sgn(a), ROW),
    _op("logit", F.logit, [U23], _torch("logit"), ROW),
    _op("logit:eps", lambda a: a.logit(0.3), [U23], SAME, ROW),
    _op("xlogy", F.xlogy, [S23, P23], _torch("xlogy"), (0, 1)),
    _op("sinc", F.sinc, [S23], _torch("sinc"), ROW),
    _op("deg2rad", F.deg2rad, [S23], _torch("deg2rad"), ROW),
    _op("rad2deg", F.rad2deg, [S23], _torch("rad2deg"), ROW),
    _op("copysign", F.copysign, [S23, S23], _torch("copysign"), (0, 1)),
    _op("erfc", F.erfc, [S23], _torch("erfc"), ROW),
    _op("erfinv", lambda a: F.erfinv(a * 1.8 - 0.9), [A((2, 3), "unit")],
        lambda a: torch.erfinv(a * 1.8 - 0.9), ROW),
    _op("fmax", F.fmax, [S23, A((3,))], _torch("fmax"), ROW),
    _op("fmin", lambda a, b: a.fmin(b), [S23, S23], SAME, (0, 1)),
]
ELSEWHERE.update({
    "heaviside": "no gradient (as PyTorch): test_math_more.py::test_heaviside_signbit",
    "signbit": "bool: test_math_more.py::test_heaviside_signbit"})


# -- shape, index and set ops (layout.py, indexops.py, setops.py, cdist.py) ---------------
def _both(name, f, args, rowwise=()):
    """A case whose call ``f(lib, *tensors)`` reads the same in xpnn and torch."""
    OPS.append(_op(name, lambda *t: f(xpnn, *t), args, torch and (lambda *t: f(torch, *t)),
                   rowwise))


def _ix(x, lib, rows):
    """A fixed int64 index tensor beside ``x`` (same backend and device)."""
    return x.new_tensor(rows, dtype=lib.int64)


_SR_INDEX = [[0, 1, 0, 1, 2, 1], [3, 3, 0, 0, 0, 2]]
for _name, _f, _args, _rows in [
    ("meshgrid:xy", lambda L, a, b: L.stack(L.meshgrid(a, b, indexing="xy")),
     [A((3,)), A((2,))], ()),
    ("meshgrid:ij", lambda L, a, b, c: L.stack(L.meshgrid([a, b, c], indexing="ij")),
     [A((2,)), A(()), A((3,))], ()),
    ("tensor_split:sections", lambda L, x: L.cat(L.tensor_split(x, 3, dim=-1)[::-1], -1),
     [S234], ROW),
    ("tensor_split:indices", lambda L, x: L.cat(L.tensor_split(x, [1, -1], 1)[::-1], 1),
     [S234], ROW),
    ("hsplit", lambda L, x: L.hsplit(x, [1])[1] * 2, [S234], ROW),
    ("vsplit", lambda L, x: L.vsplit(x, 2)[1], [A((4, 3))], ()),
    ("dsplit", lambda L, x: L.dsplit(x, 2)[0], [S234], ROW),
    ("rot90", lambda L, x: L.rot90(x, 1, (0, 2)), [S234], ()),
    ("rot90:minus1", lambda L, x: L.rot90(x, -1, (1, 2)), [S234], ROW),
    ("rot90:2", lambda L, x: x.rot90(2), [S23], ()),
    ("hstack", lambda L, a, b: L.hstack([a, b]), [S23, A((2, 2))], (0, 1)),
    ("hstack:1d", lambda L, a, b: L.hstack((a, b)), [A((3,)), A((2,))], ()),
    ("vstack", lambda L, a, b: L.vstack([a, b]), [A((3,)), S23], ()),
    ("dstack", lambda L, a, b: L.dstack([a, b]), [S23, A((2, 3, 2))], (0, 1)),
    ("column_stack", lambda L, a, b: L.column_stack([a, b]), [A((3,)), A((3, 2))], (0, 1)),
    ("ravel", lambda L, x: L.ravel(x.transpose(0, 2)), [S234], ()),
    ("select", lambda L, x: L.select(x, -1, 2), [S234], ROW),
    ("select:method", lambda L, x: x.select(1, -1), [S234], ROW),
    ("atleast_1d", lambda L, x: L.atleast_1d(x), [A(())], ()),
    ("atleast_2d", lambda L, x: L.atleast_2d(x), [A((3,))], ()),
    ("atleast_3d", lambda L, a, b: L.cat([t.reshape(-1) for t in L.atleast_3d(a, b)]),
     [A((3,)), S23], ()),
    ("block_diag", lambda L, a, b, c: L.block_diag(a, b, c), [A(()), A((2,)), S23], ()),
    ("cartesian_prod", lambda L, a, b: L.cartesian_prod(a, b), [A((2,)), A((3,))], ()),
    ("combinations", lambda L, a: L.combinations(a), [A((4,))], ()),
    ("combinations:replacement", lambda L, a: L.combinations(a, 3, True), [A((3,))], ()),
    ("msort", lambda L, x: L.msort(x), [A((4, 3))], ()),
    ("take_along_dim", lambda L, x: L.take_along_dim(
        x, _ix(x, L, [[[0, 3], [1, 1], [2, 0]]]), 2), [S234], ()),
    ("take_along_dim:flat", lambda L, x, i: L.take_along_dim(x, i), [S234, Int(5, 23, 0, 5)],
     ()),
    ("index_add", lambda L, x, i, s: L.index_add(x, 1, i, s, alpha=0.5),
     [S234, Int(2, 0, 2), A((2, 3, 4))], (0, 2)),
    ("index_add:method", lambda L, x, i, s: x.index_add(0, i, s), [A((3, 4)), Int(1, 1),
                                                                   A((2, 4))], ()),
    ("index_copy", lambda L, x, i, s: L.index_copy(x, 2, i, s), [S234, Int(3, 0), A((2, 3, 2))],
     (0, 2)),
    ("index_fill", lambda L, x, i: L.index_fill(x, 1, i, -1.5), [S234, Int(0, 2)], ROW),
    ("index_fill:tensor", lambda L, x, i, v: x.index_fill(-1, i, v), [S234, Int(3, 1),
                                                                       A(())], ()),
    ("masked_scatter", lambda L, x, m, s: L.masked_scatter(x, m, s), [S23, MASK23, A((8,))],
     ()),
    ("masked_scatter:broadcast", lambda L, x, m, s: x.masked_scatter(m, s),
     [S234, A((4,), "mask", False), A((30,))], ()),
    ("cdist", lambda L, a, b: L.cdist(a, b), [A((4, 3)), A((5, 3))], ()),
    ("cdist:mm", lambda L, a, b: L.cdist(a, b), [A((30, 3)), A((4, 3))], ()),
    ("cdist:batched", lambda L, a, b: L.cdist(a, b, 1.5), [S234, A((5, 4))], ()),
    ("cdist:p1", lambda L, a, b: L.cdist(a, b, 1), [A((4, 3)), A((5, 3))], ()),
    ("cdist:p0.5", lambda L, a, b: L.cdist(a, b, 0.5), [A((4, 3)), A((5, 3))], ()),
    ("cdist:inf", lambda L, a, b: L.cdist(a, b, float("inf")), [A((4, 3)), A((5, 3))], ()),
    ("pdist", lambda L, x: L.nn.functional.pdist(x), [A((5, 3))], ()),
    ("pdist:p3", lambda L, x: L.nn.functional.pdist(x, 3), [A((5, 3))], ()),
]:
    _both(_name, _f, _args, _rows)
for _red in ("sum", "prod", "mean", "amax", "amin"):
    for _inc in (True, False):
        _both(f"scatter_reduce:{_red}{'' if _inc else ':exclude'}",
              lambda L, x, s, r=_red, inc=_inc: L.scatter_reduce(
                  x, 1, _ix(x, L, _SR_INDEX), s, r, include_self=inc),
              [A((2, 4)), A((2, 6))])
_both("scatter_reduce:method", lambda L, x, s: x.scatter_reduce(0, _ix(x, L, [[1, 1, 0]]), s,
                                                                "amax"), [S23, S23])
ELSEWHERE.update({n: "no gradient: test_setops.py" for n in (
    "unique", "unique_consecutive", "bincount", "histc", "searchsorted", "bucketize", "isin",
    "isneginf", "isposinf")})

# put, index_put with a bool mask, scatter's reduce="multiply" and addr
# (test_sweep_methods.py has their in-place forms against torch)
_both("put", lambda L, x, s: L.put(x, _ix(x, L, [0, 4, -1]), s), [S23, A((3,))])
_both("put:accumulate", lambda L, x, s: x.put(_ix(x, L, [[4, 4], [0, 1]]), s, True),
      [S23, A((2, 2))])
_both("index_put:mask", lambda L, x, s: L.index_put(
    x, (x.new_tensor([True, False, True, True], dtype=L.bool), _ix(x, L, [2, 0, 0])), s),
      [A((4, 3)), A((3,))])
_both("addr", lambda L, c, u, v: L.addr(c, u, v, beta=0.5, alpha=2), [S23, A((2,)), A((3,))])
OPS.append(_op("scatter:multiply", lambda x, s: F.scatter(
    x, 1, _ix(x, xpnn, [[0, 0], [2, 1]]), s, reduce="multiply"), [S23, A((2, 2))]))
ELSEWHERE["isreal"] = "predicate, no gradient: test_sweep_methods.py"

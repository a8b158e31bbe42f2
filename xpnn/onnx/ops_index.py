"""ONNX conversions of the ops that move values by index (xpnn/functional: indexing's basic
indexing and take, embedding, padding, rearrange's flip/roll/triangle, gather, upsampling's
lerp): Slice, Gather, Pad, Concat and Trilu graphs; ops_core.py re-exports them."""
from __future__ import annotations

import math
from importlib import import_module

import numpy as np

from .registry import classes, converts, static, unsupported
from .trace import Dyn

INT64_MAX, INT64_MIN = 2 ** 63 - 1, -2 ** 63

# by module path: xpnn.functional re-exports functions named like some of its modules
# (norm, embedding, dropout), so attribute access would find those instead
Emb = import_module("xpnn.functional.embedding")
I = import_module("xpnn.functional.indexing")


# -- indexing ---------------------------------------------------------------------------
@converts(I.BasicIndex, dynamic=("key",))
def _basic_index(g, n):
    """x[key] for ints, slices and None (every axis listed): one Slice, then Squeeze for the
    ints and Unsqueeze for the Nones."""
    x, key = n.ins[0], n.p["key"]
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out = 0
    for k in key:
        if k is None:
            unsqueeze.append(out)
            out += 1
            continue
        if isinstance(k, slice):
            if k != slice(None):
                step = 1 if k.step is None else k.step
                starts.append((0 if step > 0 else -1) if k.start is None else k.start)
                ends.append((INT64_MAX if step > 0 else INT64_MIN) if k.stop is None
                            else k.stop)
                axes.append(axis)
                steps.append(step)
            out += 1
        else:  # an int (non-negative after xpnn's normalization)
            starts.append(k)
            ends.append(k + 1 if not isinstance(k, Dyn) else Dyn(k + 1, k.k, k.syms, k.c + 1))
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    y = x.name
    if axes:
        y = g.op("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if squeeze:
        y = g.op("Squeeze", [y, g.ints(squeeze)])
    if unsqueeze:
        y = g.op("Unsqueeze", [y, g.ints(unsqueeze)])
    if y == x.name:
        y = g.op("Identity", [y])
    return y


@converts(I.Take)
def _take(g, n):
    return g.op("Gather", [n.ins[0].name, n.p["indices"].name], axis=int(n.p.get("axis", 0)))


@converts(Emb.Embedding)
def _embedding(g, n):
    return g.op("Gather", [n.ins[0].name, n.p["ids"].name], axis=0)


# -- padding, rearranging, gathering, resampling ----------------------------------------
def _offset(n, a, b):
    """a - b for two sizes that may follow a dynamic axis, if the difference does not."""
    if isinstance(a, Dyn) or isinstance(b, Dyn):
        if not (isinstance(a, Dyn) and isinstance(b, Dyn) and (a.k, a.syms) == (b.k, b.syms)):
            raise unsupported(n, "its padding follows a dynamic axis")
    return int(a) - int(b)


@converts(*classes("padding", "ConstantPad"), dynamic=("shape", "src", "dst"))
def _constant_pad(g, n):
    """Y = X[src] placed at dst in a ``shape`` array of ``value``: a Slice (negative pads
    crop), then a Pad."""
    x = n.ins[0]
    shape, src, dst = n.p["shape"], n.p["src"], n.p["dst"]
    starts, ends, axes, before, after = [], [], [], [], []
    for d, (s_, t, size) in enumerate(zip(src, dst, shape)):
        if s_ != slice(None):
            starts.append(s_.start)
            ends.append(s_.stop)
            axes.append(d)
        if t == slice(None):
            before.append(0)
            after.append(0)
        else:
            before.append(int(static(n, t.start, "padding")))
            after.append(_offset(n, size, t.stop))
    y = x.name
    if axes:
        y = g.op("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes)])
    return g.op("Pad", [y, g.ints(before + after), g.scalar(n.p.get("value", 0), x.dtype)],
                mode="constant")


@converts(*classes("rearrange", "Flip"))
def _flip(g, n):
    axes = [int(a) for a in n.p.get("axes", ())]
    return g.op("Slice", [n.ins[0].name, g.ints([-1] * len(axes)),
                          g.ints([INT64_MIN] * len(axes)), g.ints(axes),
                          g.ints([-1] * len(axes))])


@converts(*classes("rearrange", "Roll"))
def _roll(g, n):
    """Each axis rolled as two Slices and a Concat; without axes, the flattened tensor."""
    x, shifts, axes = n.ins[0], list(n.p.get("shifts", ())), n.p.get("axes")
    flat = axes is None
    if flat:
        y = g.op("Reshape", [x.name, g.ints([-1])])
        axes, sizes = [0], [math.prod(static(n, x.shape, "shape"))]
    else:
        y, sizes = x.name, [static(n, x.shape[a], "rolled size") for a in axes]
    for shift, axis, length in zip(shifts, axes, sizes):
        k = int(shift) % length if length else 0
        if k:  # the last k entries move to the front
            tail = g.op("Slice", [y, g.ints([length - k]), g.ints([length]), g.ints([axis])])
            head = g.op("Slice", [y, g.ints([0]), g.ints([length - k]), g.ints([axis])])
            y = g.op("Concat", [tail, head], axis=int(axis))
    if flat:
        y = g.op("Reshape", [y, g.op("Shape", [x.name])])
    return y if y != x.name else g.op("Identity", [y])


@converts(*classes("rearrange", "Triangle"))
def _triangle(g, n):
    k = g.const(np.asarray(int(n.p.get("k", 0)), dtype=np.int64), "k")
    return g.op("Trilu", [n.ins[0].name, k], upper=0 if n.p.get("lower", True) else 1)


@converts(*classes("gather", "Gather"))
def _gather_flat(g, n):
    """X at flat positions ``pos``: a Gather from X reshaped to one axis."""
    flat = g.op("Reshape", [n.ins[0].name, g.ints([-1])])
    return g.op("Gather", [flat, n.p["pos"].name], axis=0)


@converts(*classes("upsampling", "Lerp"))
def _lerp(g, n):
    """X[i0] w0 + X[i1] w1 along ``axis``: linear resampling with xpnn's own indices and
    weights, so the result is xpnn's to the last bit of the weights."""
    x, axis = n.ins[0], int(n.p.get("axis", 0))
    shape = [-1] + [1] * (x.ndim - axis - 1)
    parts = []
    for i, w in (("i0", "w0"), ("i1", "w1")):
        taken = g.op("Gather", [x.name, n.p[i].name], axis=axis)
        parts.append(g.op("Mul", [taken, g.op("Reshape", [n.p[w].name, g.ints(shape)])]))
    return g.op("Add", parts)

"""The op graph of an ExportedProgram: the traces of one forward merged into ops whose params
hold :class:`Ref` (where an array comes from) and :class:`xpnn.onnx.trace.Dyn` (an int that
follows the dynamic sizes) leaves, and its replay on new inputs."""
from __future__ import annotations

import math

from .. import backend as B
from ..onnx import trace as OT
from ..tensor import Tensor
from ._trace import ExportError, Ref, link


class Op:
    """One op of the graph: its Function class, input Refs, params, output count, a name
    for printing, where it was called, and its outputs' (shape, dtype name) as traced."""

    __slots__ = ("cls", "args", "params", "n_out", "name", "where", "metas")


class Graph:
    """ops, outputs (Refs), out_spec (see ``_trace.flatten``), consts {name: array}."""

    def __init__(self, ops, outputs, out_spec, consts):
        self.ops, self.outputs, self.out_spec, self.consts = ops, outputs, out_spec, consts


def _snake(name):
    """PyTorch-like node names: "BatchNorm" -> "batch_norm", "ReLU" -> "relu"."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and 0 < i < len(name) - 1 and name[i - 1].islower() \
                and name[i + 1].islower():
            out.append("_")
        out.append(ch.lower())
    return "".join(out).strip("_") or "op"


def build(traces, sizes, param_of):
    """Merge ``traces`` ((calls, inputs, outputs, spec) each, the first at the example
    inputs) into a :class:`Graph`; raises ExportError where they disagree."""
    linked = [link(t[0], t[1], t[2], param_of) for t in traces]
    (calls, _, _, spec), (lk, outs) = traces[0], linked[0]
    for (c2, _, _, s2), _ in zip(traces[1:], linked[1:]):
        if len(c2) != len(calls) or any(a.cls is not b.cls for a, b in zip(calls, c2)) \
                or s2 != spec:
            raise ExportError(
                "xpnn.export.export: the forward ran different ops when traced again with "
                "other input values or dynamic sizes (Python control flow on tensor values "
                "or on a dynamic size); make the branch not depend on them, or export "
                "that size static")
    live = _live(lk, outs)
    index = {k: i for i, k in enumerate(sorted(live))}
    consts, const_of, ops, taken = {}, {}, [], {}

    def leaf(a, bs):
        if any(b.kind != a.kind or b.key != a.key for b in bs):
            raise OT.Mismatch("an array comes from a different place in another trace")
        key, tensor = a.key, getattr(a, "tensor", True)
        if a.kind == "in":
            return Ref("in", key, tensor)
        if a.kind == "node":
            return Ref("node", (index[key[0]], key[1]), tensor)
        if a.kind == "param":
            return Ref("param", key, tensor)
        host, others = B.to_numpy(a.array), [B.to_numpy(b.array) for b in bs]
        if all(OT.same_array(host, o) for o in others):
            name = const_of.get(id(a.array))
            if name is None:
                name = const_of[id(a.array)] = f"c_lifted_tensor_{len(consts)}"
                consts[name] = a.array
            return Ref("const", name, tensor)
        flat = [x.reshape(-1) for x in [host] + others]
        if host.size and all(x.size and (x == x[0]).all() and x[0] == flat[0][0]
                             for x in flat) and any(o.shape != host.shape for o in others):
            shape = OT.merge(tuple(host.shape), [tuple(o.shape) for o in others], sizes)
            value = flat[0][0].item()
            return Ref("fill", (shape, value, str(host.dtype)), tensor)
        raise OT.Mismatch("a constant array changed with the input values or sizes (it was "
                          "computed outside xpnn's ops: from .array or NumPy, a random draw, "
                          "or batch statistics such as BatchNorm's in train mode)")
    per_trace = [t[0] for t in linked]
    for k in sorted(live):
        c = calls[k]
        what = f"{c.cls.__name__} called {c.where}"
        try:
            args = [leaf(a, [lt[k][0][i] for lt in per_trace[1:]])
                    for i, a in enumerate(lk[k][0])]
            params = OT.merge(lk[k][1], [lt[k][1] for lt in per_trace[1:]], sizes, leaf)
        except OT.Mismatch as exc:
            raise ExportError(f"xpnn.export.export: {what}: {exc}") from None
        op = Op()
        base = _snake(c.cls.__name__)
        n = taken.get(base, 0)
        taken[base] = n + 1
        op.cls, op.args, op.params, op.n_out = c.cls, args, params, len(c.outs)
        op.name, op.where = base if n == 0 else f"{base}_{n}", str(c.where)
        op.metas = [_meta(o, [tr[0][k].outs[j] for tr in traces[1:]], sizes)
                    for j, o in enumerate(c.outs)]
        ops.append(op)
    try:
        outputs = [leaf(a, [lt[1][i] for lt in linked[1:]]) for i, a in enumerate(outs)]
    except OT.Mismatch as exc:
        raise ExportError(f"xpnn.export.export: an output of the forward: {exc}") from None
    return Graph(ops, outputs, spec, consts)


def _meta(a, bs, sizes):
    if not B.is_array(a):
        return None
    shape = tuple(a.shape)
    try:
        shape = OT.merge(shape, [tuple(b.shape) for b in bs if B.is_array(b)], sizes)
    except OT.Mismatch:
        pass
    return shape, B.dtype_name(a.dtype)


def _live(linked, outputs):
    live, stack = set(), list(outputs)
    while stack:
        s = stack.pop()
        if s.kind == "node" and s.key[0] not in live:
            live.add(s.key[0])
            ins, params = linked[s.key[0]]
            stack += ins + OT.srcs(params)
    return live


# -- replay ----------------------------------------------------------------------------------
def size_of(d, syms):
    """The int of ``d`` (an int or a Dyn) at the dynamic sizes ``syms``."""
    if isinstance(d, OT.Dyn):
        return d.k * math.prod(syms[s] for s in d.syms) + d.c
    return d


def replay(graph, inputs, values, syms):
    """Run the graph's ops on ``inputs`` (Tensors); ``values(ref)`` gives a param or const
    Tensor; ``syms``: {symbol: size}. Returns the output Tensors in order."""
    env = {}
    first = inputs[0] if inputs else None

    def get(ref):
        if ref.kind == "in":
            t = inputs[ref.key]
        elif ref.kind == "node":
            t = env[ref.key]
        elif ref.kind == "fill":
            shape, value, dtype = ref.key
            be = (first._be if first is not None else B.default_backend())
            t = Tensor(be.xp.full(tuple(size_of(d, syms) for d in shape), value,
                                  dtype=be.dtype(dtype), device=be.device), _be=be)
        else:
            t = values(ref)
        return t if ref.tensor else t.array

    def resolve(v):
        if isinstance(v, Ref):
            return get(v)
        if isinstance(v, OT.Dyn):
            return size_of(v, syms)
        if isinstance(v, slice):
            return slice(resolve(v.start), resolve(v.stop), resolve(v.step))
        if isinstance(v, (tuple, list)) and not hasattr(v, "_fields"):
            return type(v)(resolve(x) for x in v)
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        return v
    for k, op in enumerate(graph.ops):
        out = op.cls.apply(*[get(r) for r in op.args], **resolve(op.params))
        outs = out if isinstance(out, tuple) else (out,)
        for j, o in enumerate(outs):
            env[(k, j)] = o
    return [get(r) for r in graph.outputs]

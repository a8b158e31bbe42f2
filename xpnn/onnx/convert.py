"""From traces to a graph: where each array comes from, what the traces agree on, and the
conversion of every op the outputs depend on."""
from __future__ import annotations

import numpy as np

from .. import __version__
from .. import backend as B
from . import trace as T
from .errors import ExportError, UnsupportedOperatorError
from .graph import Graph, Ref
from .registry import CONVERTERS, RECOMPUTED, REFUSED, UNREAD, static, unsupported


class _Op:
    """What a converter gets: ``ins`` (Refs), ``p`` (params), ``outs`` ((shape, dtype))."""

    __slots__ = ("cls", "where", "ins", "p", "outs")


class Converter:
    """Links the traces' arrays to their sources, checks that the traces agree, and converts
    the ops the outputs depend on."""

    def __init__(self, model, first, extra, sizes, opset):
        self.model, self.first, self.extra, self.sizes = model, first, extra, sizes
        self.loose = set()  # values whose shape only the one-longer traces fit
        self.opset = opset
        named = list(model.named_parameters()) + list(model.named_buffers()) \
            if model is not None else []
        self.param_of = {id(t.array): n for n, t in named}
        self.arrays = {n: t.array for n, t in named}
        self.names, self.shapes, self.consts = {}, {}, {}

    # -- linking: where every array comes from ----------------------------------------
    def _link(self, tr):
        """Per node: (input Srcs, params with arrays as Srcs); and the output Srcs."""
        made = {id(a): ("in", i) for i, a in enumerate(tr.inputs)}

        def src(arr):
            hit = made.get(id(arr))
            if hit is not None:
                return T.Src(hit[0], hit[1:] if hit[0] == "node" else hit[1], arr)
            name = self.param_of.get(id(arr))
            if name is not None:
                return T.Src("param", name, arr)
            return T.Src("const", None, arr)

        def walk(v):
            if B.is_array(v):
                return src(v)
            if isinstance(v, (tuple, list)):
                return type(v)(walk(x) for x in v)
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            return v
        linked = []
        for k, node in enumerate(tr.nodes):
            if getattr(node.cls, "_ctx_style", False):
                raise UnsupportedOperatorError(
                    f"xpnn.onnx.export: cannot export the custom autograd.Function "
                    f"{node.cls.__name__} called {node.where}: it has no ONNX conversion")
            linked.append(([src(a) for a in node.inputs], walk(node.params)))
            for j, a in enumerate(node.outs):
                if B.is_array(a):
                    made[id(a)] = ("node", k, j)
        return linked, [src(a) for a in tr.outputs]

    def _live(self, linked, outputs):
        """Indices of the nodes the outputs depend on, and the graph inputs they read."""
        live, inputs, stack = set(), set(), list(outputs)
        while stack:
            s = stack.pop()
            if s.kind == "in":
                inputs.add(s.key)
            elif s.kind == "node" and s.key[0] not in live:
                live.add(s.key[0])
                ins, params = linked[s.key[0]]
                stack += ins + T.srcs(params)
        return live, inputs

    # -- merging the traces -------------------------------------------------------------
    def _ref(self, g, a, bs, what):
        if any(b.kind != a.kind or b.key != a.key for b in bs):
            raise T.Mismatch(f"{what} comes from a different place in another trace (the ops "
                             "run depend on the input values or sizes)")
        if a.kind in ("in", "node"):
            key = ("in", a.key) if a.kind == "in" else ("node",) + tuple(a.key)
            shape, dtype = self.shapes[key]
            return Ref(g, "value", shape, dtype, name=self.names[key])
        if a.kind == "param":
            return g.params[a.key]
        cached = self.consts.get(id(a.array))
        if cached is not None:
            return cached
        host, others = B.to_numpy(a.array), [B.to_numpy(b.array) for b in bs]
        dtype = str(host.dtype)
        if all(T.same_array(host, o) for o in others):
            ref = self.consts[id(a.array)] = Ref(g, "const", host.shape, dtype, host=host)
            return ref
        flat = [x.reshape(-1) for x in [host] + others]
        if host.size and all(x.size and T.same_array(x, np.full_like(x, flat[0][0]))
                             for x in flat) and any(o.shape != host.shape for o in others):
            shape = T.merge(tuple(host.shape), [tuple(o.shape) for o in others], self.sizes)
            ref = self.consts[id(a.array)] = Ref(g, "fill", shape, dtype, host=flat[0][0])
            return ref
        tri = _triangle([host] + others)
        if tri is not None:  # a causal mask, whose size follows the sequence axis
            shape = T.merge(tuple(host.shape), [tuple(o.shape) for o in others], self.sizes)
            ref = self.consts[id(a.array)] = Ref(g, "tri", shape, dtype, host=tri)
            return ref
        prog = _progression([host] + others)
        if prog is not None and any(o.shape != host.shape for o in others):
            # positions (arange(T)), whose length (and start) follow a dynamic axis
            starts, step = prog
            shape = T.merge(tuple(host.shape), [tuple(o.shape) for o in others], self.sizes)
            if host.dtype.kind == "f" and len(set(starts)) > 1:
                raise T.Mismatch(f"{what} is a {dtype} arange whose start changes with the "
                                 "input sizes; make it an integer arange (then .float())")
            start = T.merge(starts[0], starts[1:], self.sizes)
            ref = self.consts[id(a.array)] = Ref(g, "range", shape, dtype, host=(start, step))
            return ref
        shape = f"{tuple(host.shape)}" if host.ndim else "0-d"
        raise T.Mismatch(f"{what} is a {shape} {dtype} array computed outside xpnn's ops "
                         "(host values, raw array code, comparisons, argmax, an index that "
                         "counts from the end of a dynamic axis) that changes with the input "
                         "values or sizes (or is random), so a trace cannot record it; compute "
                         "it with xpnn ops from the inputs")

    def _value_shape(self, key, a, bs, what):
        shapes = [tuple(b.shape) for b in bs]
        try:
            shape = T.merge(tuple(a.shape), shapes, self.sizes)
        except T.Mismatch as exc:
            # a length that follows an axis but not linearly (a strided convolution's):
            # fitted on the one-longer traces alone and declared unknown on a graph output;
            # an op that needs it as an argument is still checked, and refused
            try:
                shape = T.merge(tuple(a.shape), shapes[:len(self.sizes.varied)],
                                self.sizes.without_checks())
            except T.Mismatch:
                raise ExportError(f"xpnn.onnx.export: {what} has shape {tuple(a.shape)}, "
                                  f"which changes with the input values ({exc})") from None
            self.loose.add(key)
        self.shapes[key] = (shape, B.dtype_name(a.dtype))

    # -- the whole conversion -------------------------------------------------------------
    def run(self, names, axes_of, out_names, out_axes):
        first, extra = self.first, self.extra
        linked, outputs = self._link(first)
        others = [self._link(tr) for tr in extra]
        live, used = self._live(linked, outputs)
        for i, name in enumerate(names):
            if i not in used:
                for k in sorted(live):  # an op that cannot export is the likelier cause
                    if first.nodes[k].cls in REFUSED:
                        node = first.nodes[k]
                        raise unsupported(node, REFUSED[node.cls])
                raise ExportError(_unused_input(name, i, linked, first))
        for tr in extra:
            if len(tr.nodes) != len(first.nodes) or len(tr.outputs) != len(first.outputs) \
                    or any(a.cls is not b.cls for a, b in zip(first.nodes, tr.nodes)):
                raise ExportError(_diverged(first, tr))
        g = Graph(self.opset, {})
        g.root, g.params = self.model, _Params(g, self.arrays)
        for name in list(self.arrays) + list(out_names):
            g.reserve(name)
        inputs = []
        for i, (name, t) in enumerate(zip(names, first.inputs)):
            g.reserve(name)
            dims = [axes_of[i].get(a, int(d)) for a, d in enumerate(t.shape)]
            for a, sym in axes_of[i].items():
                g.symbols.setdefault(sym, (name, a))
            inputs.append((name, B.dtype_name(t.dtype), dims))
            self.names[("in", i)] = name
            self._value_shape(("in", i), t, [tr.inputs[i] for tr in extra],
                              f"input {name!r}")
        for k in sorted(live):
            self._convert(g, k, linked[k], [o[0][k] for o in others])
        return self._finish(g, inputs, outputs, others, out_names, out_axes)

    def _convert(self, g, k, mine, theirs):
        node = self.first.nodes[k]
        if node.cls in REFUSED:
            raise unsupported(node, REFUSED[node.cls])
        entry = None
        for cls in node.cls.__mro__:
            entry = CONVERTERS.get(cls)
            if entry is not None:
                break
        if entry is None:
            raise UnsupportedOperatorError(
                f"xpnn.onnx.export: cannot export {node.cls.__name__} ({node.cls.__module__}) "
                f"called {node.where}: there is no ONNX conversion for this op (see "
                "xpnn.onnx.supported_ops())")
        fn, dynamic = entry
        skip = RECOMPUTED.get(cls, lambda p: ())(node.params)
        if skip:  # values the converter computes in the graph: not compared, not passed
            mine = (mine[0], {key: v for key, v in mine[1].items() if key not in skip})
            theirs = [(t[0], {key: v for key, v in t[1].items() if key not in skip})
                      for t in theirs]
        unread = UNREAD.get(cls)
        if unread is not None:
            mine, theirs = (mine[0], unread(mine[1])), [(t[0], unread(t[1])) for t in theirs]
        op = _Op()
        op.cls, op.where = node.cls, node.where
        try:
            op.ins = [self._ref(g, a, [t[0][j] for t in theirs], f"input {j}")
                      for j, a in enumerate(mine[0])]
            op.p = T.merge(mine[1], [t[1] for t in theirs], self.sizes,
                           leaf=lambda a, bs: self._ref(g, a, bs, "an array argument"))
        except T.Mismatch as exc:
            raise ExportError(f"xpnn.onnx.export: {node.cls.__name__} called {node.where}: "
                              f"{exc}") from None
        for key, value in op.p.items():
            if key not in dynamic:
                static(op, value, f"argument {key!r}")
        for j, a in enumerate(node.outs):
            self._value_shape(("node", k, j), a, [tr.nodes[k].outs[j] for tr in self.extra],
                              f"output {j} of {node.cls.__name__} called {node.where}")
        op.outs = [self.shapes[("node", k, j)] for j in range(len(node.outs))]
        g.scope = node.where.path or ""
        try:
            res = fn(g, op)
        except ExportError:
            raise
        except Exception as exc:
            raise unsupported(op, f"{type(exc).__name__}: {exc}") from exc
        res = res if isinstance(res, tuple) else (res,)
        for j, name in enumerate(res):
            self.names[("node", k, j)] = name

    def _finish(self, g, inputs, outputs, others, out_names, out_axes):
        outs = []
        g.scope = ""
        for i, (s, name) in enumerate(zip(outputs, out_names)):
            if s.kind in ("in", "node"):
                key = ("in", s.key) if s.kind == "in" else ("node",) + tuple(s.key)
                value, (shape, dtype) = self.names[key], self.shapes[key]
            else:
                try:
                    ref = self._ref(g, s, [o[1][i] for o in others], f"output {name!r}")
                except T.Mismatch as exc:
                    raise ExportError(f"xpnn.onnx.export: {exc}") from None
                value, shape, dtype = ref.name, ref.shape, ref.dtype
            given = out_axes.get(name, {})
            dims = []
            loose = s.kind in ("in", "node") and key in self.loose
            for a, d in enumerate(shape):
                if isinstance(d, T.Dyn) and loose:  # not k * sizes + c: left unnamed
                    dims.append(given.get(a, f"{name}_dim{a}"))
                elif isinstance(d, T.Dyn):
                    simple = d.k == 1 and d.c == 0 and len(d.syms) == 1
                    dims.append(given.get(a, d.syms[0] if simple else d.describe()))
                elif a in given:
                    raise ValueError(f"xpnn.onnx.export: dynamic_axes marks axis {a} of "
                                     f"output {name!r} dynamic, but its size ({d}) does not "
                                     "follow any dynamic input axis")
                else:
                    dims.append(int(d))
            outs.append((name, value, dtype, dims))
        return g.model(inputs, outs, __version__)


class _Params(dict):
    """{state_dict name: Ref} of the model's parameters and buffers, made on first use (a
    host copy each)."""

    def __init__(self, g, arrays):
        super().__init__()
        self.g, self.arrays = g, arrays

    def __missing__(self, name):
        a = self.arrays[name]
        ref = self[name] = Ref(self.g, "param", tuple(a.shape), B.dtype_name(a.dtype),
                               host=B.to_numpy(a), label=name)
        return ref

    def get(self, name, default=None):
        return self[name] if name in self.arrays else default


def _triangle(arrays):
    """(a, b, k) if every array is ``a`` on and below diagonal k of its last two axes and
    ``b`` above it (leading axes of size 1), else None: causal masks, bool or additive."""
    mats = []
    for x in arrays:
        if x.ndim < 2 or any(d != 1 for d in x.shape[:-2]) or 0 in x.shape[-2:]:
            return None
        mats.append(x.reshape(x.shape[-2:]))
    first = max(mats, key=lambda m: m.size)  # a 1 x 1 mask (traced at T = 1) has no b
    a, b = first[-1, 0], first[0, -1]
    for k in range(-2, 3):
        if all(np.array_equal(np.where(np.arange(m.shape[1])[None, :] <=
                                       np.arange(m.shape[0])[:, None] + k, a, b), m)
               for m in mats):
            return a, b, k
    return None


def _progression(arrays):
    """([start per array], step) if every array is ``start + step * i`` along its one axis
    longer than 1, with one step for all, bit for bit as the graph computes it (i cast to
    the dtype, times step, plus start), else None: positions made by arange."""
    if any(x.dtype.kind not in "iuf" or x.size == 0 or sum(d != 1 for d in x.shape) > 1
           for x in arrays):
        return None
    flat = [x.reshape(-1) for x in arrays]
    steps = {x[1] - x[0] for x in flat if x.size > 1}
    if len(steps) != 1:
        return None
    step = steps.pop()
    for x in flat:
        want = np.arange(x.size).astype(x.dtype) * step + x[0]
        if want.dtype != x.dtype or not np.array_equal(want, x):
            return None
    return [x[0].item() for x in flat], step.item()


def _unused_input(name, i, linked, tr):
    last = None
    for k, (ins, params) in enumerate(linked):
        if any(s.kind == "in" and s.key == i for s in ins + T.srcs(params)):
            last = k
    msg = (f"xpnn.onnx.export: input {name!r} does not reach the outputs through xpnn's ops, "
           "so the exported model would ignore it. ")
    if last is None:
        return msg + "The forward never passed it to an op."
    node = tr.nodes[last]
    return msg + (f"Its last recorded use is {node.cls.__name__} called {node.where}; after "
                  "that the forward used its values outside the ops (through .array, NumPy, "
                  "or comparisons and logical ops, which are not recorded). A bool attention "
                  "mask in nn.MultiheadAttention is one such case: pass a float mask (0 where "
                  "allowed, -inf where masked) instead.")


def _diverged(first, other):
    for a, b in zip(first.nodes, other.nodes):
        if a.cls is not b.cls:
            return (f"xpnn.onnx.export: the forward ran different ops when traced again with "
                    f"other input sizes or values ({a.cls.__name__} called {a.where} became "
                    f"{b.cls.__name__}): control flow that depends on the inputs cannot be "
                    "exported by tracing")
    return (f"xpnn.onnx.export: the forward ran {len(first.nodes)} ops in one trace and "
            f"{len(other.nodes)} in another (with other input sizes or values): control flow "
            "that depends on the inputs cannot be exported by tracing")



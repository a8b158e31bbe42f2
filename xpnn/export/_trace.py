"""Tracing a forward for ``xpnn.export``: every ``Function.apply`` is recorded with its class,
input arrays, keyword params and outputs (the recorder of xpnn/onnx/trace.py, keeping which
params were Tensors), and where each array an op reads comes from.

Sources of an array (:class:`Ref`): ``in`` (user input i), ``node`` (output j of op k),
``param`` (a parameter or buffer, by state_dict name), ``const`` (any other array: a
constant built by the forward), ``fill`` (a constant of one repeated value whose shape follows
a dynamic axis: an RNN's zero initial state).
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import TensorBase
from ..onnx import trace as OT


class ExportError(RuntimeError):
    """A forward that ``xpnn.export.export`` cannot capture (the message says why)."""


class Ref:
    """Where an array an op reads comes from (see the module docstring); ``tensor`` tells
    whether the op got it as a Tensor (always for inputs) or as a bare array (a param)."""

    __slots__ = ("kind", "key", "tensor")

    def __init__(self, kind, key, tensor=True):
        self.kind, self.key, self.tensor = kind, key, tensor

    def __repr__(self):
        return f"Ref({self.kind}, {self.key!r})"


class _Leaf:
    """An array in a recorded op's params; ``tensor``: it was passed as a Tensor."""

    __slots__ = ("array", "tensor")

    def __init__(self, array, tensor):
        self.array, self.tensor = array, tensor


def _leaves(v):
    if isinstance(v, TensorBase):
        return _Leaf(v.array, True)
    if B.is_array(v):
        return _Leaf(v, False)
    if isinstance(v, (tuple, list)) and not hasattr(v, "_fields"):
        return type(v)(_leaves(x) for x in v)
    if isinstance(v, dict):
        return {k: _leaves(x) for k, x in v.items()}
    return v


class Call:
    """One recorded op call: class, input arrays, params (arrays as :class:`_Leaf`), output
    arrays, and where it was called (:class:`xpnn.onnx.trace.Where`)."""

    __slots__ = ("cls", "inputs", "params", "outs", "where", "versions")


class Recorder(OT.Recorder):
    """xpnn/onnx's recorder, keeping which params were Tensors."""

    exporting = False  # the ops run as in eager mode (no ONNX-only paths)

    def record(self, cls, inputs, params, outs):
        if OT.threading.get_ident() != self._thread:
            return
        outs = outs if isinstance(outs, tuple) else (outs,)
        c = Call()
        c.cls, c.where = cls, self._where()
        c.inputs = tuple(t.array if isinstance(t, TensorBase) else t for t in inputs)
        c.params = _leaves(dict(params))
        c.outs = tuple(o.array if isinstance(o, TensorBase) else o for o in outs)
        c.versions = [(o, o._vc[0]) for o in outs if isinstance(o, TensorBase)]
        self.nodes.append(c)


def flatten(out, leaves):
    """The structure of a forward's result as JSON-able data, its Tensors appended to
    ``leaves``: ``{"t": i}``, ``{"tuple": [...]}``, ``{"list": [...]}``, ``{"dict": [[key,
    spec], ...]}`` or None."""
    if out is None:
        return None
    if isinstance(out, TensorBase) or B.is_array(out):
        leaves.append(out.array if isinstance(out, TensorBase) else out)
        return {"t": len(leaves) - 1}
    if isinstance(out, (tuple, list)) and not hasattr(out, "_fields"):
        kind = "tuple" if isinstance(out, tuple) else "list"
        return {kind: [flatten(o, leaves) for o in out]}
    if isinstance(out, dict) and all(isinstance(k, (str, int)) for k in out):
        return {"dict": [[k, flatten(v, leaves)] for k, v in out.items()]}
    raise ExportError(f"xpnn.export.export: the model returned a {type(out).__name__}; "
                      "outputs must be Tensors, or tuples, lists and dicts (str or int keys) "
                      "of them, or None")


def run(model, args, kwargs, slots, arrays, modules):
    """Trace ``model(*args, **kwargs)`` with ``arrays`` in the input ``slots`` (see
    :func:`xpnn.onnx.trace.run`); returns (calls, input arrays, output arrays, out spec)."""
    rec, out, inputs = OT.traced(model, args, kwargs, slots, arrays, modules, Recorder,
                                 "xpnn.export.export", ExportError)
    for c in rec.nodes:
        if getattr(c.cls, "_ctx_style", False):
            raise ExportError(f"xpnn.export.export: the custom autograd.Function "
                              f"{c.cls.__name__} called {c.where} cannot be exported (only "
                              "xpnn's own ops can be replayed and saved)")
    leaves = []
    spec = flatten(out, leaves)
    return rec.nodes, inputs, leaves, spec


class ParamSrc(OT.Src):
    """A Src found in an op's params; ``tensor``: the op got a Tensor, not an array."""

    __slots__ = ("tensor",)

    def __init__(self, kind, key, array, tensor):
        super().__init__(kind, key, array)
        self.tensor = tensor


def link(calls, inputs, outputs, param_of):
    """Per call: (input Srcs, params with arrays as Srcs), and the outputs' Srcs (the
    :class:`xpnn.onnx.trace.Src` of every array: its kind, key and array)."""
    made = {id(a): ("in", i) for i, a in enumerate(inputs)}

    def src(arr):
        hit = made.get(id(arr))
        if hit is not None:
            return OT.Src(hit[0], hit[1], arr)
        name = param_of.get(id(arr))
        if name is not None:
            return OT.Src("param", name, arr)
        return OT.Src("const", None, arr)

    def walk(v):
        if isinstance(v, _Leaf):
            s = src(v.array)
            return ParamSrc(s.kind, s.key, s.array, v.tensor)
        if isinstance(v, (tuple, list)) and not hasattr(v, "_fields"):
            return type(v)(walk(x) for x in v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v
    linked = []
    for k, c in enumerate(calls):
        linked.append(([src(a) for a in c.inputs], walk(c.params)))
        for j, a in enumerate(c.outs):
            if B.is_array(a):
                made[id(a)] = ("node", (k, j))
    return linked, [src(a) for a in outputs]

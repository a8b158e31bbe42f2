"""Building the ONNX graph: nodes, initializers, dynamic sizes, and the final ModelProto."""
from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

from .errors import ExportError
from .trace import Dyn

# The IR version each supported opset is written with (pinned, not the installed onnx's
# newest): the oldest IR that carries the opset, which every runtime of that opset reads.
IR_VERSION = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10}

INT64 = np.int64


def onnx_type(dtype_name):
    """The TensorProto element type of an xpnn dtype name ("float32", "int64", ...)."""
    try:
        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype_name))
    except TypeError:  # bfloat16: NumPy has no such dtype to carry the values
        raise ExportError(f"xpnn.onnx.export: dtype {dtype_name} cannot be exported; cast "
                          "the model with .float() first") from None


class Ref:
    """One input of a traced op as a converter sees it.

    Attributes:
        kind: "value" (computed in the graph), "param" (a model parameter or buffer, stored
            under its state_dict name), "const" (any other array), "fill" (a constant of one
            repeated value whose shape follows a dynamic axis), "tri" (a triangular mask
            whose shape follows a dynamic axis), "range" (``start + step * i`` along its
            one long axis, whose length follows a dynamic axis: positions by arange).
        shape: tuple of ints (:class:`Dyn` where a dynamic axis enters).
        dtype: dtype name, "float32" etc.
        host: the values (NumPy) of a param or const; the repeated value of a fill; (value
            on and below diagonal k, value above, k) of a tri; (start, step) of a range (the
            start a :class:`Dyn` where it follows a dynamic axis).
    """

    __slots__ = ("g", "kind", "shape", "dtype", "host", "label", "_name")

    def __init__(self, g, kind, shape, dtype, host=None, label=None, name=None):
        self.g, self.kind, self.shape, self.dtype = g, kind, tuple(shape), dtype
        self.host, self.label, self._name = host, label, name

    @property
    def static(self):
        """True when the values are known at export time."""
        return self.kind in ("param", "const")

    @property
    def ndim(self):
        return len(self.shape)

    def is_zero(self):
        """True for a constant that is all zeros (an RNN's default initial state)."""
        if self.kind == "fill":
            return float(self.host) == 0.0
        return self.static and not np.any(self.host)

    @property
    def name(self):
        if self._name is None:
            self._name = self.g.materialize(self)
        return self._name


class Graph:
    """Accumulates ONNX nodes and initializers for one export.

    Args:
        opset: the default-domain opset version.
        symbols: {symbol: (graph input name, axis)} for the dynamic sizes.
    """

    def __init__(self, opset, symbols):
        self.opset, self.symbols = opset, symbols
        self.nodes, self.inits, self.scope = [], {}, ""
        self._taken, self._count, self._cache = set(), {}, {}
        self.root, self.params = None, {}  # the Module exported; {state_dict name: Ref}

    # -- names --------------------------------------------------------------------------
    def reserve(self, name):
        if name in self._taken:
            raise ExportError(f"xpnn.onnx.export: the name {name!r} is used twice (input, "
                              "output and parameter names must differ)")
        self._taken.add(name)
        return name

    def fresh(self, base):
        n = self._count.get(base, 0)
        while f"{base}_{n}" in self._taken:
            n += 1
        self._count[base] = n + 1
        return self.reserve(f"{base}_{n}")

    # -- nodes --------------------------------------------------------------------------
    def op(self, op_type, inputs, n_out=1, **attrs):
        """Add one node; returns its output name (a tuple of names when n_out > 1)."""
        scope = "/" + self.scope.replace(".", "/") if self.scope else ""
        node_name = self.fresh(f"{scope}/{op_type}")
        outs = [self.reserve(f"{node_name}_output_{i}") for i in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=node_name,
                                           **attrs))
        return outs[0] if n_out == 1 else tuple(outs)

    def reduce(self, op_type, x, axes, keepdims):
        """A Reduce* node over ``axes``: an attribute up to opset 17, an input from 18 on
        (ReduceSum has taken an input since 13)."""
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.op(op_type, [x], axes=axes, keepdims=int(keepdims))

    # -- constants ----------------------------------------------------------------------
    def const(self, arr, base="const", name=None):
        """An initializer holding ``arr`` (a NumPy array); returns its name."""
        arr = np.asarray(arr)
        name = self.reserve(name) if name is not None else self.fresh(base)
        arr = np.asarray(arr, order="C")  # not ascontiguousarray, which makes 0-d 1-d
        self.inits[name] = numpy_helper.from_array(arr, name)
        return name

    def scalar(self, value, dtype):
        """A 0-d constant of ``dtype`` (shared by every use of the same value)."""
        key = ("scalar", dtype, repr(value))
        if key not in self._cache:
            self._cache[key] = self.const(np.asarray(value, dtype=dtype), "scalar")
        return self._cache[key]

    def ints(self, values):
        """A 1-D int64 tensor of ``values``; :class:`Dyn` entries are computed from the
        graph inputs' shapes at run time."""
        values = list(values)
        if not any(isinstance(v, Dyn) for v in values):
            key = ("ints", tuple(int(v) for v in values))
            if key not in self._cache:
                self._cache[key] = self.const(np.asarray(values, dtype=INT64).reshape(-1),
                                              "ints")
            return self._cache[key]
        pieces, run = [], []
        for v in values:
            if isinstance(v, Dyn):
                if run:
                    pieces.append(self.ints(run))
                    run = []
                pieces.append(self.dim(v))
            else:
                run.append(int(v))
        if run:
            pieces.append(self.ints(run))
        return pieces[0] if len(pieces) == 1 else self.op("Concat", pieces, axis=0)

    def dim(self, d):
        """A [1] int64 tensor holding the int or :class:`Dyn` ``d`` at run time."""
        if not isinstance(d, Dyn):
            return self.ints([d])
        key = ("dim", d.expr)
        if key in self._cache:
            return self._cache[key]
        out = None
        for s in d.syms:
            src, axis = self.symbols[s]
            size = self._cache.get(("sym", s))
            if size is None:
                saved, self.scope = self.scope, ""
                size = self.op("Shape", [src], start=axis, end=axis + 1)
                self.scope = saved
                self._cache[("sym", s)] = size
            out = size if out is None else self.op("Mul", [out, size])
        if d.k != 1:
            out = self.op("Mul", [out, self.ints([d.k])])
        if d.c:
            out = self.op("Add", [out, self.ints([d.c])])
        self._cache[key] = out
        return out

    def materialize(self, ref):
        """The graph name of a const or fill Ref (params and values are named up front)."""
        if ref.kind == "param":  # under its state_dict name (reserved by the caller)
            if ref.label not in self.inits:
                self.inits[ref.label] = numpy_helper.from_array(
                    np.asarray(ref.host, order="C"), ref.label)
            return ref.label
        if ref.kind == "const":
            if any(isinstance(d, Dyn) for d in ref.shape):
                raise ExportError("internal: a constant with a dynamic shape")
            return self.const(ref.host.astype(ref.dtype, copy=False), "const")
        if ref.kind == "fill":
            return self.op("Expand", [self.scalar(ref.host, ref.dtype), self.ints(ref.shape)])
        if ref.kind == "tri":  # a on and below diagonal k, b above: a causal mask
            a, b, k = ref.host
            ones = self.op("Expand", [self.scalar(True, "bool"), self.ints(ref.shape)])
            lower = self.op("Trilu", [ones, self.const(np.asarray(k, dtype=INT64), "k")],
                            upper=0)
            if ref.dtype == "bool" and bool(a) != bool(b):  # no Where for bools in ORT
                return lower if bool(a) else self.op("Not", [lower])
            return self.op("Where", [lower, self.scalar(a, ref.dtype),
                                     self.scalar(b, ref.dtype)])
        if ref.kind == "range":  # start + step * i, i < the length of its one long axis
            start, step = ref.host
            count = self.op("Reshape", [self.dim(next(d for d in ref.shape
                                                      if isinstance(d, Dyn))), self.ints([])])
            out = self.op("Range", [self.scalar(0, "int64"), count, self.scalar(1, "int64")])
            if ref.dtype != "int64":
                out = self.op("Cast", [out], to=onnx_type(ref.dtype))
            if step != 1:
                out = self.op("Mul", [out, self.scalar(step, ref.dtype)])
            if isinstance(start, Dyn):  # arange(T - 1, -1, -1): an int start
                first = self.dim(start)
                if ref.dtype != "int64":
                    first = self.op("Cast", [first], to=onnx_type(ref.dtype))
                out = self.op("Add", [out, first])
            elif start != 0:
                out = self.op("Add", [out, self.scalar(start, ref.dtype)])
            return out if len(ref.shape) == 1 else \
                self.op("Reshape", [out, self.ints(ref.shape)])
        raise ExportError(f"internal: a {ref.kind} without a name")

    # -- the model ----------------------------------------------------------------------
    def model(self, inputs, outputs, producer_version):
        """The ModelProto.

        Args:
            inputs: [(name, dtype name, dims)] of the graph inputs; dims hold ints or
                dim_param strings.
            outputs: [(name, graph value, dtype name, dims)].
        """
        claimed = set()
        produced = {o for n in self.nodes for o in n.output}
        renames = {}
        for name, value, _, _ in outputs:
            if value in produced and value not in claimed:
                renames[value] = name
                claimed.add(value)
            else:
                self.nodes.append(helper.make_node("Identity", [value], [name],
                                                   name=f"/Identity_{name}"))
        for n in self.nodes:
            n.input[:] = [renames.get(v, v) for v in n.input]
            n.output[:] = [renames.get(v, v) for v in n.output]
        self._prune([name for name, _, _, _ in outputs])
        graph = helper.make_graph(
            self.nodes, "xpnn",
            [helper.make_tensor_value_info(n, onnx_type(dt), dims) for n, dt, dims in inputs],
            [helper.make_tensor_value_info(n, onnx_type(dt), dims)
             for n, _, dt, dims in outputs],
            initializer=list(self.inits.values()))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name="xpnn", producer_version=producer_version)
        model.ir_version = IR_VERSION[self.opset]
        return model

    def _prune(self, wanted):
        """Drop nodes and initializers that no output depends on."""
        need, keep = set(wanted), []
        for n in reversed(self.nodes):
            if any(o in need for o in n.output):
                keep.append(n)
                need.update(i for i in n.input if i)
        self.nodes = keep[::-1]
        self.inits = {k: t for k, t in self.inits.items() if k in need}


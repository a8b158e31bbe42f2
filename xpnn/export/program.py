"""``ExportedProgram``: the captured op graph, its weights and signature, ``.module()`` (a
Module that replays the graph) and the printed listing.

The listing follows PyTorch's ``ExportedProgram: class GraphModule...`` layout: a ``forward``
whose arguments are the lifted parameters (``p_<name>``), buffers (``b_<name>``) and user
inputs with their dtype and shape (``"f32[batch, 4]"``), then one line per op,
``name: "dtype[shape]" = <xpnn Function class>(inputs, params)``, preceded by a comment
saying which module called it, and ``return (...)``. The ops are xpnn's Function classes
(``functional.gemm.Linear``), not aten names.
"""
from __future__ import annotations

import copy
import enum
from collections import namedtuple

from ..autograd import TensorBase
from ..nn.module import Module, Parameter
from ..onnx import trace as OT
from ..tensor import Tensor
from ._graph import replay, size_of

_SHORT = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16",
          "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8",
          "bool": "b8", "complex64": "c64", "complex128": "c128"}

TensorArgument = namedtuple("TensorArgument", ["name"])


class InputKind(enum.Enum):
    USER_INPUT = 1
    PARAMETER = 2
    BUFFER = 3
    CONSTANT_TENSOR = 4


class OutputKind(enum.Enum):
    USER_OUTPUT = 1


class InputSpec(namedtuple("InputSpec", ["kind", "arg", "target", "persistent"])):
    """One input of the graph: its kind, ``arg.name`` and (for weights) the state_dict key."""


class OutputSpec(namedtuple("OutputSpec", ["kind", "arg", "target"])):
    """One output of the graph."""


class ExportGraphSignature:
    """The graph's inputs (parameters, buffers, then user inputs) and outputs, as
    ``torch.export.ExportGraphSignature``."""

    def __init__(self, input_specs, output_specs):
        self.input_specs, self.output_specs = list(input_specs), list(output_specs)

    def _names(self, kind):
        return [s.arg.name for s in self.input_specs if s.kind is kind]

    @property
    def user_inputs(self):
        return tuple(self._names(InputKind.USER_INPUT))

    @property
    def user_outputs(self):
        return tuple(s.arg.name for s in self.output_specs)

    @property
    def parameters(self):
        return [s.target for s in self.input_specs if s.kind is InputKind.PARAMETER]

    @property
    def buffers(self):
        return [s.target for s in self.input_specs if s.kind is InputKind.BUFFER]

    def __str__(self):
        lines = ["", "# inputs"]
        for s in self.input_specs:
            tail = "" if s.target is None else f" target={s.target!r}"
            if s.kind is InputKind.BUFFER:
                tail += f" persistent={s.persistent}"
            lines.append(f"{s.arg.name}: {s.kind.name}{tail}")
        lines += ["", "# outputs"] + [f"{s.arg.name}: {s.kind.name}" for s in self.output_specs]
        return "\n".join(lines) + "\n"


def lifted_name(kind, target):
    return ("p_" if kind is InputKind.PARAMETER else "b_") + target.replace(".", "_")


def unflatten(spec, leaves):
    """The output structure ``spec`` (see ``_trace.flatten``) filled with ``leaves``."""
    if spec is None:
        return None
    if "t" in spec:
        return leaves[spec["t"]]
    if "tuple" in spec:
        return tuple(unflatten(s, leaves) for s in spec["tuple"])
    if "list" in spec:
        return [unflatten(s, leaves) for s in spec["list"]]
    return {k: unflatten(s, leaves) for k, s in spec["dict"]}


class UserInput:
    """A user input: name, slot (position or keyword, then indices), traced shape (Dims on
    the dynamic axes), dtype name."""

    __slots__ = ("name", "slot", "shape", "dtype")

    def __init__(self, name, slot, shape, dtype):
        self.name, self.slot, self.shape, self.dtype = name, tuple(slot), tuple(shape), dtype


class GraphModule(Module):
    """What ``ExportedProgram.module()`` returns: the weights as its own parameters and
    buffers (under their original state_dict names), and a forward that checks the input
    shapes and replays the graph's ops (differentiable)."""

    def __init__(self, program, state):
        super().__init__()
        object.__setattr__(self, "_program", program)
        object.__setattr__(self, "_consts", {})
        kinds = {s.target: s for s in program.graph_signature.input_specs if s.target}
        for name, t in state.items():
            *path, leaf = name.split(".")
            owner = self
            for part in path:
                if part not in owner._modules:
                    owner.add_module(part, Module())
                owner = owner._modules[part]
            spec = kinds[name]
            if spec.kind is InputKind.PARAMETER:
                owner.register_parameter(leaf, Parameter(t, requires_grad=t.requires_grad))
            else:
                owner.register_buffer(leaf, t, persistent=spec.persistent)

    def forward(self, *args, **kwargs):
        ep = self._program
        tensors, syms = [], {}
        for inp in ep._inputs:
            head, rest = inp.slot[0], inp.slot[1:]
            try:
                v = args[head] if isinstance(head, int) else kwargs[head]
                for j in rest:
                    v = v[j]
            except (IndexError, KeyError, TypeError):
                raise TypeError(f"GraphModule.forward: missing the input {inp.name!r} (the "
                                "program was exported with it)") from None
            if not isinstance(v, TensorBase):
                v = Tensor(v)
            _check_shape(inp, tuple(v.shape), syms)
            tensors.append(v)
        state = dict(self.named_parameters(remove_duplicate=False))
        state.update(self.named_buffers(remove_duplicate=False))

        def values(ref):
            if ref.kind == "param":
                return state[ref.key]
            t = self._consts.get(ref.key)
            if t is None:
                t = self._consts[ref.key] = Tensor(ep._consts[ref.key])
            return t
        outs = replay(ep._graph, tensors, values, syms)
        return unflatten(ep._graph.out_spec, outs)


def _check_shape(inp, shape, syms):
    if len(shape) != len(inp.shape):
        raise AssertionError(f"Guard failed: {inp.name}.dim() == {len(inp.shape)}")
    for axis, (want, got) in enumerate(zip(inp.shape, shape)):
        where = f"{inp.name}.size()[{axis}]"
        if not hasattr(want, "min"):  # a static axis
            if got != want:
                raise AssertionError(f"Guard failed: {where} == {want}")
            continue
        if got < want.min:
            raise AssertionError(f"Guard failed: {where} >= {want.min}")
        if want.max is not None and got > want.max:
            raise AssertionError(f"Guard failed: {where} <= {want.max}")
        if syms.setdefault(want.__name__, got) != got:
            raise AssertionError(f"Guard failed: {where} == {syms[want.__name__]} (the size of "
                                 f"Dim {want.__name__!r} in an earlier input)")


class ExportedProgram:
    """A forward captured by :func:`xpnn.export.export`: the op graph, the weights
    (``state_dict``), ``graph_signature``, ``example_inputs``; run it with ``.module()``."""

    def __init__(self, graph, inputs, specs, state, persistent, example_inputs, training):
        self._graph, self._inputs, self._state = graph, list(inputs), dict(state)
        self._consts = graph.consts
        self._persistent = set(persistent)
        self.graph_signature = ExportGraphSignature(*specs)
        self.example_inputs = example_inputs
        self._training = training

    @property
    def state_dict(self):
        """{state_dict key: Tensor} of the parameters and persistent buffers."""
        return {k: v for k, v in self._state.items() if k in self._persistent}

    @property
    def constants(self):
        """The non-persistent buffers and the constant arrays the graph reads."""
        out = {k: v for k, v in self._state.items() if k not in self._persistent}
        out.update({k: Tensor(a) for k, a in self._consts.items()})
        return out

    @property
    def range_constraints(self):
        return {d.__name__: d.describe() for inp in self._inputs for d in inp.shape
                if hasattr(d, "min")}

    def module(self):
        """A :class:`GraphModule` replaying the graph, with copies of the weights as its
        parameters and buffers (so fine-tuning it leaves this program alone)."""
        state = {k: Tensor(v.array, _be=v._be).clone().detach().requires_grad_(
            v.requires_grad) for k, v in self._state.items()}
        m = GraphModule(self, state)
        m.train(self._training)
        return m

    def run_decompositions(self, decomp_table=None, decompose_custom_triton_ops=False):
        """The program itself: its ops are already xpnn's primitive Functions."""
        return self

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Unable to call ExportedProgram directly. You should use "
                           "`exported_program.module()` instead.")

    def __deepcopy__(self, memo):
        new = copy.copy(self)
        new._state = {k: v.clone().detach() for k, v in self._state.items()}
        return new

    # -- printing -----------------------------------------------------------------------
    def __str__(self):
        users = {i: inp.name for i, inp in enumerate(self._inputs)}
        lifted = {s.target: s.arg.name for s in self.graph_signature.input_specs if s.target}
        ops = self._graph.ops

        def ref_name(r):
            if r.kind == "in":
                return users[r.key]
            if r.kind == "node":
                k, j = r.key
                return ops[k].name if ops[k].n_out == 1 else f"{ops[k].name}[{j}]"
            if r.kind == "param":
                return lifted.get(r.key, r.key)
            if r.kind == "fill":
                shape, value, dtype = r.key
                return f"full({_shape(shape)}, {value!r}, dtype={dtype})"
            return r.key

        def show(v):
            if hasattr(v, "kind") and hasattr(v, "tensor"):
                return ref_name(v)
            if isinstance(v, OT.Dyn):
                return v.describe()
            if isinstance(v, (tuple, list)) and not hasattr(v, "_fields"):
                inner = ", ".join(show(x) for x in v)
                return f"({inner}{',' if len(v) == 1 else ''})" if isinstance(v, tuple) \
                    else f"[{inner}]"
            if isinstance(v, dict):
                return "{" + ", ".join(f"{k!r}: {show(x)}" for k, x in v.items()) + "}"
            text = repr(v)
            return text if len(text) <= 60 else text[:57] + "..."
        heads = []
        for s in self.graph_signature.input_specs:
            t = self._state.get(s.target) if s.target else None
            if t is not None:
                heads.append(f'{s.arg.name}: "{_meta(tuple(t.shape), t.dtype)}"')
        heads += [f'{inp.name}: "{_meta(inp.shape, inp.dtype)}"' for inp in self._inputs]
        body = []
        for op in ops:
            cls = f"{op.cls.__module__.removeprefix('xpnn.')}.{op.cls.__qualname__}"
            args = [ref_name(r) for r in op.args] + \
                [f"{k}={show(v)}" for k, v in op.params.items()]
            metas = ", ".join(f'"{_meta(*m)}"' for m in op.metas if m is not None)
            body.append(f"# {op.where}")
            body.append(f"{op.name}: {metas or 'None'} = {cls}({', '.join(args)})")
            body.append("")
        outs = ", ".join(ref_name(r) for r in self._graph.outputs)
        lines = ["ExportedProgram:", "    class GraphModule(torch.nn.Module):",
                 f"        def forward(self, {', '.join(heads)}):"]
        lines += [("            " + b) if b else "" for b in body]
        lines.append(f"            return ({outs}{',' if len(self._graph.outputs) == 1 else ''})")
        lines += ["", "Graph signature: "]
        lines += ["    " + x if x else "" for x in str(self.graph_signature).split("\n")[1:]]
        ranges = ", ".join(f"{k}: {v}" for k, v in self.range_constraints.items())
        lines.append(f"Range constraints: {{{ranges}}}")
        return "\n".join(lines) + "\n"

    __repr__ = __str__


def _shape(shape):
    return "[" + ", ".join(d.describe() if isinstance(d, OT.Dyn) else
                           getattr(d, "__name__", str(d)) for d in shape) + "]"


def _meta(shape, dtype):
    from ..dtypes import dtype_name
    name = dtype_name(dtype)
    return f"{_SHORT.get(name, name)}{_shape(shape)}"


__all__ = ["ExportedProgram", "ExportGraphSignature", "GraphModule", "InputKind", "InputSpec",
           "OutputKind", "OutputSpec", "TensorArgument", "size_of"]

"""Tracing a forward pass at the level of xpnn's Functions (comparing traces: trace_compare.py).

While ``xpnn.autograd.function_base._tracer`` holds a :class:`Recorder`, every
``Function.apply`` reports its class, input tensors, keyword parameters and output tensors.
A tensor is known by the identity of its backend array: a graph input, an op's output, a
model parameter (by its state_dict name) or, for anything else an op consumes, a constant.

Sizes that follow a dynamic axis (a Reshape target, a slice bound) are found by tracing again
with that axis one longer, or one shorter where the model refuses longer (:func:`merge`):
an int that changes becomes a :class:`Dyn`, an
expression ``k * prod(symbols) + c`` in the dynamic sizes. The inputs of every extra trace are
also rolled by one along each axis and rescaled (:func:`varied_inputs`), so a value that the
forward computed from an input outside xpnn's ops (which the trace cannot see) shows up as a
constant that changed, and is refused rather than frozen into the file.
"""
from __future__ import annotations

import os
import sys
import threading

from .. import autograd
from ..autograd import function_base  # owns _tracer, which Function.apply reads
from .. import backend as B
from ..autograd import TensorBase
from ..tensor import Tensor
from .errors import ExportError
from .trace_compare import (Dyn, Mismatch, Sizes, Src, check_inputs,  # noqa: F401
                            check_sizes, merge, same_array, srcs, varied_inputs)

_XPNN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class Where:
    """Where an op was called: the innermost Module (dotted path, class name) and, when the
    call comes from user code inside it (or from no Module), that source line."""

    __slots__ = ("path", "kind", "site")

    def __init__(self, path, kind, site):
        self.path, self.kind, self.site = path, kind, site

    def __str__(self):
        if self.path is None:
            where = "outside any Module"
        else:
            where = f"in module {self.path or '<root>'!r} ({self.kind})"
        return where + (f" at {self.site}" if self.site else "")


def _arrays(v):
    """``v`` with every Tensor replaced by its array as it is now."""
    if isinstance(v, TensorBase):
        return v.array
    if isinstance(v, (tuple, list)):
        return type(v)(_arrays(x) for x in v)
    if isinstance(v, dict):
        return {k: _arrays(x) for k, x in v.items()}
    return v


class Node:
    """One recorded op call. Tensors are kept as the arrays they held at the call: an
    in-place op later rebinds a tensor to a new array, and whoever read it before read the
    old one. ``versions`` holds (output tensor, its version then) to catch in-place changes
    that no op recorded."""

    __slots__ = ("cls", "inputs", "params", "outs", "where", "versions")

    def __init__(self, cls, inputs, params, outs, where):
        self.cls, self.where = cls, where
        self.inputs, self.params = _arrays(tuple(inputs)), _arrays(dict(params))
        self.outs = tuple(o.array if isinstance(o, TensorBase) else o for o in outs)
        self.versions = [(o, o._vc[0]) for o in outs if isinstance(o, TensorBase)]


class Recorder:
    """The object set as ``function_base._tracer``: keeps every op call in order.

    Args:
        modules: id(module) -> (dotted path, class name) for the exported model's modules.
        stack: the modules whose forward is running, innermost last (kept by forward hooks,
            see :func:`_track`), or None to find them on the Python call stack instead.
    """

    exporting = True  # ops with an export-only path (embedding_bag) check for it

    def __init__(self, modules, stack=None):
        self.nodes = []
        self._modules, self._stack = modules, stack
        self._thread = threading.get_ident()

    def record(self, cls, inputs, params, outs):
        if threading.get_ident() != self._thread:
            return  # another thread's ops (a training loop next door) are not the model's
        outs = outs if isinstance(outs, tuple) else (outs,)
        self.nodes.append(Node(cls, inputs, params, outs, self._where()))

    def _where(self):
        # The source line is the innermost one outside xpnn, if it lies inside the module's
        # forward (or there is no module), not the line far up that called the whole model.
        frame, site = sys._getframe(2), None
        module = self._stack[-1] if self._stack else None
        stop = getattr(getattr(type(module), "forward", None), "__code__", None)
        while frame is not None:
            code = frame.f_code
            if site is None and not code.co_filename.startswith(_XPNN_DIR):
                site = f"{os.path.basename(code.co_filename)}:{frame.f_lineno}"
            if self._stack is None and code.co_argcount and code.co_varnames[0] == "self":
                hit = self._modules.get(id(frame.f_locals.get("self")))
                if hit is not None:  # no hooks: the innermost method of a known module
                    return Where(*hit, site)
            if code is stop:
                break
            frame = frame.f_back
        if module is None:
            return Where(None, None, site)
        return Where(*self._modules[id(module)], site)


def _track(model, stack):
    """Forward hooks on every module of ``model`` that keep ``stack`` (the modules whose
    forward runs, innermost last); returns their handles, or None where the Module class has
    no hooks."""
    if not hasattr(model, "register_forward_pre_hook"):
        return None
    def enter(mod, args):
        stack.append(mod)

    def leave(mod, args, out):
        stack.pop()

    handles = []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(enter, prepend=True))
        handles.append(m.register_forward_hook(leave, always_call=True))
    return handles


class Trace:
    """One traced forward: the recorded nodes, the input arrays (as they were before the
    forward, which may rebind its input tensors in place) and the flat outputs."""

    def __init__(self, nodes, inputs, outputs):
        self.nodes, self.inputs, self.outputs = nodes, inputs, outputs


def _input_tensor(arr):
    """A fresh input: floating inputs require grad and pass through one (unrecorded) op, so
    in-place changes inside the forward are recorded like any op, as PyTorch's tracer does."""
    be = B.backend_of(arr)
    copy = be.xp.asarray(arr, copy=True)
    if not be.is_floating(copy.dtype):
        return Tensor(copy, _be=be)
    leaf = Tensor(copy, requires_grad=True, _be=be)
    return leaf * 1


def flatten(out):
    """The Tensors of a forward's result (a Tensor, an array, nested tuples/lists/dicts), in
    order; None entries are skipped."""
    if out is None:
        return []
    if isinstance(out, TensorBase):
        return [out]
    if B.is_array(out):
        return [Tensor(out)]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flatten(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in flatten(o)]
    raise ExportError(f"xpnn.onnx.export: the model returned a {type(out).__name__}; outputs "
                      "must be Tensors (or tuples, lists, dicts of them)")


def _placed(container, path, value):
    """``container`` with ``value`` at ``path`` (indices into nested tuples and lists), the
    containers on the way copied."""
    if not path:
        return value
    items = list(container)
    items[path[0]] = _placed(items[path[0]], path[1:], value)
    if hasattr(container, "_fields"):  # a named tuple
        return type(container)(*items)
    return tuple(items) if isinstance(container, tuple) else items


def run(model, args, kwargs, slots, arrays, modules):
    """Trace ``model(*args, **kwargs)`` with ``arrays`` in the input ``slots``.

    Args:
        slots: (positional index or keyword name) of each input Tensor, or a tuple of it
            and the indices into the nested tuples and lists that hold the Tensor.
        arrays: the backend array for each slot.
        modules: id(module) -> (path, class name), for :class:`Where` (empty for a plain
            function).
    """
    rec, out, inputs = traced(model, args, kwargs, slots, arrays, modules, Recorder,
                              "xpnn.onnx.export", ExportError)
    return Trace(rec.nodes, inputs, [t.array for t in flatten(out)])


def traced(model, args, kwargs, slots, arrays, modules, recorder, what, error):
    """The recording behind :func:`run` (and xpnn.export's): ``model`` called with
    ``arrays`` in ``slots`` under a ``recorder(modules, stack)`` set as the tracer; refuses
    (``error``, naming ``what``) a nested trace and in-place writes no op recorded.
    Returns (the recorder, the model's output, the input arrays)."""
    if function_base._tracer is not None:
        raise error(f"{what}: another export is already tracing (exports cannot be nested "
                    "or run from two threads at once)")
    inputs = [_input_tensor(a) for a in arrays]
    before = [(t.array, t._vc[0]) for t in inputs]
    args, kwargs = list(args), dict(kwargs)
    for slot, t in zip(slots, inputs):
        head, rest = (slot[0], slot[1:]) if isinstance(slot, tuple) else (slot, ())
        where = args if isinstance(head, int) else kwargs
        where[head] = _placed(where[head], rest, t)
    stack = []
    handles = _track(model, stack) if modules else []
    rec = recorder(modules, None if handles is None else stack)
    function_base._tracer = rec
    try:
        with autograd.enable_grad():
            out = model(*args, **kwargs)
    finally:
        function_base._tracer = None
        for h in handles or ():
            h.remove()
    for i, (t, (arr, version)) in enumerate(zip(inputs, before)):
        if t._vc[0] != version and t.array is arr:
            raise error(f"{what}: input {i} was changed in place by code that no op "
                        "recorded (an integer input, or a write under no_grad() or through "
                        ".array); use the out-of-place op")
    for node in rec.nodes:
        for t, version in node.versions:
            if t._vc[0] != version and any(t.array is o for o in node.outs):
                raise error(
                    f"{what}: the output of {node.cls.__name__} called {node.where} was "
                    "changed in place by code that no op recorded (an in-place op under "
                    "no_grad(), or a write through .array), so the traced graph would "
                    "compute something else; use the out-of-place op")
    return rec, out, [a for a, _ in before]


def first_that_runs(trace, tries, error, message):
    """(index, ``trace(arrays)``) of the first of ``tries`` ((make the input arrays, what
    they are)) whose trace runs; an ``error`` raised by a trace propagates, and if every try
    fails, ``error(message(what, exc))`` is raised from the first failure."""
    failed = None
    for i, (make, what) in enumerate(tries):
        try:
            return i, trace(make())
        except error:
            raise
        except Exception as exc:
            failed = failed or (what, exc)
    what, exc = failed
    raise error(message(what, exc)) from exc

"""Tracing a forward pass at the level of xpnn's Functions, and comparing traces.

While ``xpnn.autograd.function_base._tracer`` holds a :class:`Recorder`, every
``Function.apply`` reports its class, input tensors, keyword parameters and output tensors. A tensor is known by the
identity of its backend array: a graph input, an op's output, a model parameter (by its
state_dict name) or, for anything else an op consumes, a constant.

Sizes that follow a dynamic axis (a Reshape target, a slice bound) are found by tracing again
with that axis one longer (:func:`merge`): an int that changes becomes a :class:`Dyn`, an
expression ``k * prod(symbols) + c`` in the dynamic sizes. The inputs of every extra trace are
also rolled by one along each axis and rescaled (:func:`varied_inputs`), so a value that the
forward computed from an input outside xpnn's ops (which the trace cannot see) shows up as a
constant that changed, and is refused rather than frozen into the file.
"""
from __future__ import annotations

import math
import os
import sys
import threading

import numpy as np

from .. import autograd
from ..autograd import function_base  # owns _tracer, which Function.apply reads
from .. import backend as B
from ..autograd import TensorBase
from ..tensor import Tensor
from .errors import ExportError

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
    if function_base._tracer is not None:
        raise ExportError("xpnn.onnx.export: another export is already tracing (exports "
                          "cannot be nested or run from two threads at once)")
    inputs = [_input_tensor(a) for a in arrays]
    before = [(t.array, t._vc[0]) for t in inputs]
    args, kwargs = list(args), dict(kwargs)
    for slot, t in zip(slots, inputs):
        head, rest = (slot[0], slot[1:]) if isinstance(slot, tuple) else (slot, ())
        where = args if isinstance(head, int) else kwargs
        where[head] = _placed(where[head], rest, t)
    stack = []
    handles = _track(model, stack) if modules else []
    rec = Recorder(modules, None if handles is None else stack)
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
            raise ExportError(f"xpnn.onnx.export: input {i} was changed in place by code that "
                              "no op recorded (an integer input, or a write under no_grad() "
                              "or through .array); use the out-of-place op")
    for node in rec.nodes:
        for t, version in node.versions:
            if t._vc[0] != version and any(t.array is o for o in node.outs):
                raise ExportError(
                    f"xpnn.onnx.export: the output of {node.cls.__name__} called {node.where} "
                    "was changed in place by code that no op recorded (an in-place op under "
                    "no_grad(), or a write through .array), so the traced graph would compute "
                    "something else; use the out-of-place op")
    return Trace(rec.nodes, [a for a, _ in before], [t.array for t in flatten(out)])


# -- comparing traces ---------------------------------------------------------------------
class Dyn(int):
    """An int that follows dynamic axes: ``k * prod(symbol sizes) + c``; its int value is the
    one of the first trace."""

    def __new__(cls, value, k, syms, c):
        obj = int.__new__(cls, value)
        obj.k, obj.syms, obj.c = k, tuple(syms), c
        return obj

    @property
    def expr(self):
        return self.k, self.syms, self.c

    def describe(self):
        term = "*".join(([str(self.k)] if self.k != 1 else []) + list(self.syms))
        return term + (f"{self.c:+d}" if self.c else "")


class Mismatch(Exception):
    """Two traces disagree about a value (reported by the caller with its context)."""


class Sizes:
    """The dynamic sizes: their values in the first trace and in each extra trace (one
    extra trace per symbol, growing that symbol only; a single extra trace without symbols
    when nothing is dynamic)."""

    def __init__(self, base, varied, checks=()):
        self.base = base      # {symbol: size in trace A}
        self.varied = varied  # per extra trace: (symbol or None, its size there)
        self.checks = list(checks)  # after those: {symbol: size} of each check trace

    def without_checks(self):
        return Sizes(self.base, self.varied)

    def fit(self, a, bs):
        """``a`` (trace A) and ``bs`` (the extra traces, the check traces last) as a Dyn,
        or Mismatch: a size fitted on the one-longer traces must also predict the check
        traces (every axis longer at once, the inputs negated), so a size that is not
        linear in the axes (``T // 2``) is refused instead of written wrong."""
        n = len(self.varied)
        fitted = self._fit(a, bs[:n])
        for b, at in zip(bs[n:], self.checks):
            want = fitted if not isinstance(fitted, Dyn) else \
                fitted.k * math.prod(at[s] for s in fitted.syms) + fitted.c
            if b != want:
                how = f"{fitted.describe()} = {want}" if isinstance(fitted, Dyn) else \
                    f"{a}, as it stayed when each axis grew by one"
                raise Mismatch(f"{a} becomes {b} when the dynamic axes are {at} (expected "
                               f"{how}): a size that does not follow k * (product of dynamic "
                               "sizes) + c, such as T // 2 or a strided length, or a value "
                               "that depends on the inputs")
        return fitted

    def _fit(self, a, bs):
        if all(b == a for b in bs):
            return a
        deps = [i for i, b in enumerate(bs) if b != a]
        syms = [self.varied[i][0] for i in deps]
        if None in syms:
            raise Mismatch(f"{a} changed to {bs[deps[0]]} when only the input values changed")
        base = math.prod(self.base[s] for s in syms)
        if a % base == 0 and a // base:
            k = a // base
            if all(bs[i] == k * base // self.base[s] * self.varied[i][1]
                   for i, s in zip(deps, syms)):
                return Dyn(a, k, syms, 0)
        if len(syms) == 1:
            s, (_, n) = syms[0], self.varied[deps[0]]
            step, grow = bs[deps[0]] - a, n - self.base[s]
            if step % grow == 0:
                k = step // grow
                return Dyn(a, k, syms, a - k * self.base[s])
        raise Mismatch(f"{a} becomes {[bs[i] for i in deps]} when {syms} grow, which is not "
                       "k * (product of dynamic sizes) + c")


class Src:
    """Where an array an op reads comes from: kind "in" (graph input i), "node" (output j of
    node k), "param" (a parameter or buffer, by name) or "const" (anything else)."""

    __slots__ = ("kind", "key", "array")

    def __init__(self, kind, key, array):
        self.kind, self.key, self.array = kind, key, array


def merge(a, bs, sizes, leaf=None):
    """``a`` with every int that differs in ``bs`` (the same structure from the extra traces)
    replaced by a :class:`Dyn`; raises Mismatch where other values differ. ``leaf(a, bs)``
    merges :class:`Src` entries."""
    if isinstance(a, Src):
        if any(not isinstance(b, Src) for b in bs):
            raise Mismatch("an array became another kind of value")
        return leaf(a, bs)
    if isinstance(a, (bool, str)) or a is None:
        if any(b != a for b in bs):
            raise Mismatch(f"{a!r} became {[b for b in bs if b != a][0]!r}")
        return a
    if isinstance(a, (int, np.integer)):
        a = int(a)
        return a if all(b == a for b in bs) else sizes.fit(a, [int(b) for b in bs])
    if isinstance(a, (float, np.floating)):
        if any(not (b == a or (b != b and a != a)) for b in bs):
            raise Mismatch(f"{a!r} became {[b for b in bs if b != a][0]!r}")
        return a
    if isinstance(a, (tuple, list)):
        if any(type(b) is not type(a) or len(b) != len(a) for b in bs):
            raise Mismatch(f"{a!r} changed length or type")
        return type(a)(merge(x, [b[i] for b in bs], sizes, leaf) for i, x in enumerate(a))
    if isinstance(a, slice):
        return slice(*(merge(getattr(a, f), [getattr(b, f) for b in bs], sizes, leaf)
                       for f in ("start", "stop", "step")))
    if isinstance(a, dict):
        if any(b.keys() != a.keys() for b in bs):
            raise Mismatch("the parameter names changed")
        return {k: merge(v, [b[k] for b in bs], sizes, leaf) for k, v in a.items()}
    if callable(a) and all(callable(b) for b in bs):
        return a  # a callback (a backward hook's): behaviour, not data the graph holds
    if any(b is not a and b != a for b in bs):
        raise Mismatch(f"{a!r} changed")
    return a


def same_array(a, b):
    """True if two host arrays have one shape, dtype and value (NaN equal to NaN)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def check_inputs(arrays, axes_of, grown):
    """The input arrays of the check trace: every dynamic axis longer (``grown``: {symbol:
    new size}, repeating entries), rolled by one along every axis and floating values
    negated (infinities kept), so sizes that are not linear in the axes, masks that only
    looked like a fill or a causal triangle, and branches on the values' signs show up."""
    return _perturbed(arrays, axes_of, lambda name, n: grown[name],
                      lambda host: np.where(np.isfinite(host), -host, host))


def varied_inputs(arrays, axes_of, symbol, grow):
    """The input arrays of an extra trace: each rolled by one along every axis, floating ones
    scaled by 17/16 (zeros, signs and infinities kept), and ``grow`` entries longer along the
    axes named ``symbol`` (repeating existing entries, so integer ids and masks stay valid).
    Anything the forward computed from the inputs outside the ops then changes."""
    return _perturbed(arrays, axes_of,
                      lambda name, n: n + grow if name == symbol else n,
                      lambda host: host * host.dtype.type(1.0625))


def _perturbed(arrays, axes_of, length, scale):
    """Each input array rolled by one along every axis, its dynamic axes made ``length(name,
    size)`` long by repeating entries, and ``scale(host)`` applied to floating values."""
    out = []
    for arr, axes in zip(arrays, axes_of):
        be = B.backend_of(arr)
        host = B.to_numpy(arr)
        for ax in range(host.ndim):
            if host.shape[ax] > 1:
                host = np.roll(host, 1, axis=ax)
        for ax, name in axes.items():
            n = host.shape[ax]
            host = np.take(host, np.arange(length(name, n)) % n, axis=ax)
        if host.dtype.kind in "fc":
            host = scale(host)
        out.append(be.asarray(np.ascontiguousarray(host), dtype=B.dtype_name(arr.dtype)))
    return out

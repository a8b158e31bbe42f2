"""``xpnn.onnx.export``: trace, compare traces, convert op by op, check, write."""
from __future__ import annotations

import inspect
import os

import onnx

from .. import backend as B
from ..autograd import TensorBase
from ..nn.module import Module
# importing them fills the converter table
from . import ops_activation, ops_core, ops_more, ops_nn  # noqa: F401
from . import ops_extra  # noqa: F401  (after ops_nn: it extends BatchNorm's converter)
from . import trace as T
from .convert import Converter
from .errors import ExportError
from .graph import IR_VERSION
from .registry import CONVERTERS


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=17):
    """Export ``model`` to an ONNX file by tracing one forward pass (see xpnn/onnx)."""
    if opset_version not in IR_VERSION:
        raise ValueError(f"xpnn.onnx.export: opset_version must be one of "
                         f"{sorted(IR_VERSION)}, got {opset_version!r}")
    if not callable(model):
        raise TypeError(f"xpnn.onnx.export: model must be a Module or a callable, got "
                        f"{type(model).__name__}")
    args, kwargs = _split(args)
    slots, arrays, names = _inputs(model, args, kwargs, input_names)
    axes_of, out_axes = _dynamic_axes(dynamic_axes, names, arrays)
    base = _symbol_sizes(names, arrays, axes_of)
    is_module = isinstance(model, Module)
    modules = {id(m): (p, type(m).__name__) for p, m in model.named_modules()} \
        if is_module else {}
    modes = [(m, m.training) for m in model.modules()] if is_module else []
    if is_module:
        model.eval()  # PyTorch exports in eval mode unless told otherwise
    try:
        first = T.run(model, args, kwargs, slots, arrays, modules)
        extra, varied = [], []
        for sym in (list(base) or [None]):
            # one longer; one shorter where the model refuses one longer (a GPT traced at its
            # block size) and the axis stays at least 2 long (1 would broadcast)
            grows = [1, -1] if sym and base[sym] > 2 else [1]
            tries = [(lambda g=g: T.varied_inputs(arrays, axes_of, sym, g),
                      f"dynamic axis {sym!r} one {'longer' if g > 0 else 'shorter'}" if sym
                      else "its inputs rolled and rescaled") for g in grows]
            i, trace = _first_that_runs(model, args, kwargs, slots, modules, tries,
                                        "to find the sizes that follow the inputs", bool(sym))
            extra.append(trace)
            varied.append((sym, base[sym] + grows[i]) if sym else (None, None))
        # a check trace at a third size of every dynamic axis, the values negated: twice as
        # long plus one, or, where the model refuses that (a position table, a block size),
        # the nearest sizes not traced yet
        checks = T.check_sizes(base, varied)
        tries = [(lambda at=at: T.check_inputs(arrays, axes_of, at),
                  f"its dynamic axes at {at} and its inputs negated") for at in checks]
        i, trace = _first_that_runs(model, args, kwargs, slots, modules, tries,
                                    "to check that sizes and constants follow the inputs",
                                    bool(base))
        extra.append(trace)
        grown = checks[i]
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    sizes = T.Sizes(base, varied, [grown])
    outs = _output_names(output_names, len(first.outputs))
    for key in out_axes:
        if key not in outs:
            raise ValueError(f"xpnn.onnx.export: dynamic_axes names {key!r}, which is neither "
                             f"an input {names} nor an output {outs}")
    proto = Converter(model if is_module else None, first, extra, sizes, opset_version).run(
        names, axes_of, outs, out_axes)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # a converter bug: report it, write nothing
        raise ExportError(f"xpnn.onnx.export: the ONNX model failed onnx.checker "
                          f"(full_check=True): {exc}") from exc
    _write(proto, f)
    return proto


def _first_that_runs(model, args, kwargs, slots, modules, tries, why, resized):
    """(index, trace) of the first of ``tries`` whose trace runs (:func:`trace.first_that_runs`);
    if every try fails the first failure is reported (with a hint on dynamic axes where
    ``resized``: the tries changed sizes)."""
    hint = ("; a model that takes only some sizes on an axis (a U-Net: multiples of its "
            "total stride) cannot have that axis dynamic, export it static") \
        if resized else ""
    return T.first_that_runs(
        lambda arrays: T.run(model, args, kwargs, slots, arrays, modules), tries, ExportError,
        lambda what, exc: f"xpnn.onnx.export: the model failed when traced again with {what} "
                          f"({why}): {type(exc).__name__}: {exc}{hint}")


# -- arguments ------------------------------------------------------------------------------
def _split(args):
    """PyTorch's ``args``: a Tensor, or a tuple whose last item may be a dict of kwargs."""
    if not isinstance(args, tuple):
        args = (args,)
    if args and isinstance(args[-1], dict):
        return args[:-1], dict(args[-1])
    return args, {}


def _is_tensor(x):
    return isinstance(x, TensorBase) or B.is_array(x)


def _found(value, path, out):
    """(path, Tensor) for each Tensor in ``value``, looking into tuples and lists (PyTorch
    flattens them: ``lstm(x, (h0, c0))``)."""
    if _is_tensor(value):
        out.append((path, value))
    elif isinstance(value, (tuple, list)):
        for j, item in enumerate(value):
            _found(item, path + (j,), out)


def _inputs(model, args, kwargs, input_names):
    """(slots, arrays, names) of the Tensor arguments, positional first. A slot is the
    argument's position or keyword, followed by indices into nested tuples and lists."""
    found = []
    for i, a in enumerate(args):
        _found(a, (i,), found)
    for k, v in kwargs.items():
        _found(v, (k,), found)
    slots = [path[0] if len(path) == 1 else path for path, _ in found]
    arrays = [a.array if isinstance(a, TensorBase) else a for _, a in found]
    if not arrays:
        raise ValueError("xpnn.onnx.export: args holds no Tensor to feed the model")
    try:
        fn = model.forward if isinstance(model, Module) else model
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []

    def name(path):
        head = path[0]
        base = (params[head] if head < len(params) else f"input_{head}") \
            if isinstance(head, int) else head
        return "_".join([base] + [str(j) for j in path[1:]])
    names = [name(path) for path, _ in found]
    if input_names is not None:
        input_names = list(input_names)
        if len(input_names) > len(names):
            raise ValueError(f"xpnn.onnx.export: {len(input_names)} input_names for "
                             f"{len(names)} input Tensors")
        names[:len(input_names)] = input_names
    if len(set(names)) != len(names):
        raise ValueError(f"xpnn.onnx.export: input names must be unique, got {names}")
    return slots, arrays, names


def _output_names(output_names, count):
    names = ["output"] if count == 1 else [f"output_{i}" for i in range(count)]
    if output_names is not None:
        output_names = list(output_names)
        if len(output_names) > count:
            raise ValueError(f"xpnn.onnx.export: {len(output_names)} output_names for a model "
                             f"with {count} output Tensors")
        names[:len(output_names)] = output_names
    if len(set(names)) != len(names):
        raise ValueError(f"xpnn.onnx.export: output names must be unique, got {names}")
    return names


def _axes_dict(key, axes):
    if isinstance(axes, dict):
        return {int(a): str(n) for a, n in axes.items()}
    if isinstance(axes, (list, tuple)):
        return {int(a): f"{key}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    raise TypeError(f"xpnn.onnx.export: dynamic_axes[{key!r}] must be a dict {{axis: name}} "
                    f"or a list of axes, got {type(axes).__name__}")


def _dynamic_axes(dynamic_axes, names, arrays):
    """({axis: symbol} per input, {output name: {axis: name}})."""
    axes_of, out_axes = [{} for _ in names], {}
    for key, axes in (dynamic_axes or {}).items():
        axes = _axes_dict(key, axes)
        if key not in names:
            out_axes[key] = axes
            continue
        ndim = len(arrays[names.index(key)].shape)
        for a, sym in axes.items():
            if not -ndim <= a < ndim:
                raise ValueError(f"xpnn.onnx.export: dynamic_axes[{key!r}] names axis {a}; "
                                 f"the input has {ndim} dims")
            axes_of[names.index(key)][a % ndim] = sym
    return axes_of, out_axes


def _symbol_sizes(names, arrays, axes_of):
    sizes = {}
    for name, arr, axes in zip(names, arrays, axes_of):
        for a, sym in axes.items():
            n = int(arr.shape[a])
            if sizes.setdefault(sym, n) != n:
                raise ValueError(f"xpnn.onnx.export: dynamic axis {sym!r} has size "
                                 f"{sizes[sym]} in one input and {n} in {name!r} (axis {a})")
    return sizes


def _write(proto, f):
    if f is None:
        return
    data = proto.SerializeToString()
    if hasattr(f, "write"):
        f.write(data)
        return
    from ..io.atomic import atomic_write
    atomic_write(os.fspath(f), [data])  # all or nothing: no half-written file


def supported_ops():
    """The names of the xpnn Function classes that export converts, sorted."""
    return sorted(f"{c.__module__.rsplit('.', 1)[-1]}.{c.__name__}" for c in CONVERTERS)

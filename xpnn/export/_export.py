"""``xpnn.export.export``: trace the forward at the example inputs, again at other values and
dynamic sizes, and merge the traces into an :class:`ExportedProgram`."""
from __future__ import annotations

from .. import backend as B
from ..nn.module import Module
from ..onnx import trace as OT
from ..onnx.trace_compare import check_sizes
from . import _trace
from ._graph import build
from ._trace import ExportError
from .dims import parse, user_inputs
from .program import (ExportedProgram, InputKind, InputSpec, OutputKind, OutputSpec,
                      TensorArgument, UserInput, lifted_name)


def export(mod, args, kwargs=None, *, dynamic_shapes=None, strict=False,
           preserve_module_call_signature=()):
    """Capture ``mod``'s forward on ``args``/``kwargs`` as an :class:`ExportedProgram`.

    The module runs in its current mode (call ``.eval()`` first for inference). Python
    control flow is captured as traced; a forward whose ops or constants change with the
    input values, or with a dynamic size, is refused.

    Args:
        mod: an ``nn.Module``.
        args: tuple of example positional inputs (Tensors, or tuples/lists of them, or
            plain Python values, which are baked in).
        kwargs: dict of example keyword inputs.
        dynamic_shapes: per input, ``{axis: Dim}`` or a list with a Dim (or None) per
            axis; as a dict keyed by forward's argument names or a tuple by position. Axes
            not named are static: ``ep.module()`` refuses another size.
        strict, preserve_module_call_signature: accepted for PyTorch compatibility.
    Returns:
        ExportedProgram.
    Raises:
        ExportError (a RuntimeError): the forward cannot be captured (the message says why).
        NotImplementedError: the forward updates a buffer (BatchNorm in train mode).
    """
    if not isinstance(mod, Module):
        raise ValueError(f"Expected `mod` to be an instance of `torch.nn.Module`, got "
                         f"{type(mod)}.")
    if not isinstance(args, tuple):
        raise ValueError(f"Expecting `args` to be a tuple of example positional inputs, got "
                         f"{type(args)}")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ValueError(f"Expecting `kwargs` to be a dictionary of example keyword inputs, "
                         f"got {type(kwargs)}")
    kwargs = dict(kwargs or {})
    slots, arrays, names, params = user_inputs(mod, args, kwargs)
    dims = parse(dynamic_shapes, slots, arrays, params, kwargs)
    axes_of = [{a: d.__name__ for a, d in axes.items()} for axes in dims]
    base = {}
    for arr, axes in zip(arrays, axes_of):
        for a, sym in axes.items():
            base.setdefault(sym, int(arr.shape[a]))
    modules = {id(m): (p, type(m).__name__) for p, m in mod.named_modules()}
    named_p = list(mod.named_parameters())
    named_b = list(mod.named_buffers())
    param_of = {id(t.array): n for n, t in named_p + named_b}
    kept = [(t, t.array, B.backend_of(t.array).xp.asarray(t.array, copy=True))
            for _, t in named_b]
    try:
        first = _trace.run(mod, args, kwargs, slots, arrays, modules)
        _refuse_buffer_updates(named_b, kept)
        extra, varied = [], []
        for sym in (list(base) or [None]):
            grows = [1, -1] if sym and base[sym] > 2 else [1]
            tries = [(lambda g=g: OT.varied_inputs(arrays, axes_of, sym, g),
                      f"Dim {sym!r} one {'longer' if g > 0 else 'shorter'}" if sym
                      else "other input values") for g in grows]
            i, trace = _first_that_runs(mod, args, kwargs, slots, modules, tries)
            extra.append(trace)
            varied.append((sym, base[sym] + grows[i]) if sym else (None, None))
        checks = check_sizes(base, varied)
        tries = [(lambda at=at: OT.check_inputs(arrays, axes_of, at),
                  f"the Dims at {at} and other input values") for at in checks]
        i, trace = _first_that_runs(mod, args, kwargs, slots, modules, tries)
    finally:
        for t, arr, saved in kept:  # the traces leave the buffers as they were
            if t.array is arr and B.backend_of(arr).xp.any(arr != saved):
                arr[...] = saved
    sizes = OT.Sizes(base, varied, [checks[i]])
    graph = build([first] + extra + [trace], sizes, param_of)
    persistent = [n for n, _ in named_p] + [n for n, _ in named_b if _persistent(mod, n)]
    inputs = [UserInput(name, slot, [dims[n].get(a, s) for a, s in enumerate(arr.shape)],
                        B.dtype_name(arr.dtype))
              for n, (name, slot, arr) in enumerate(zip(names, slots, arrays))]
    specs = ([InputSpec(InputKind.PARAMETER, TensorArgument(lifted_name(
        InputKind.PARAMETER, n)), n, None) for n, _ in named_p]
        + [InputSpec(InputKind.BUFFER, TensorArgument(lifted_name(InputKind.BUFFER, n)), n,
                     _persistent(mod, n)) for n, _ in named_b]
        + [InputSpec(InputKind.USER_INPUT, TensorArgument(u.name), None, None)
           for u in inputs])
    outs = [OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(_out_name(r, graph, names)),
                       None) for r in graph.outputs]
    state = {n: t for n, t in named_p + named_b}
    return ExportedProgram(graph, inputs, (specs, outs), state, persistent,
                           (tuple(args), kwargs), mod.training)


def _out_name(ref, graph, names):
    if ref.kind == "node":
        op = graph.ops[ref.key[0]]
        return op.name if op.n_out == 1 else f"{op.name}_{ref.key[1]}"
    if ref.kind == "in":
        return names[ref.key]
    if ref.kind == "param":
        return ref.key.replace(".", "_")
    return str(ref.key if ref.kind == "const" else "full")


def _persistent(mod, name):
    owner, _, leaf = name.rpartition(".")
    sub = mod.get_submodule(owner) if owner else mod
    return leaf not in sub.__dict__.get("_non_persistent", ())


def _refuse_buffer_updates(named_b, kept):
    for (name, t), (_, arr, saved) in zip(named_b, kept):
        xp = B.backend_of(arr).xp
        if t.array is not arr or tuple(arr.shape) != tuple(saved.shape) or \
                bool(xp.any(arr != saved)):
            raise NotImplementedError(
                f"xpnn.export.export: the forward updates the buffer {name!r} in place (a "
                "BatchNorm in train mode updating its running statistics); xpnn cannot "
                "export buffer mutations (PyTorch exports them as extra outputs): call "
                "model.eval() before exporting")


def _first_that_runs(mod, args, kwargs, slots, modules, tries):
    return OT.first_that_runs(
        lambda arrays: _trace.run(mod, args, kwargs, slots, arrays, modules), tries,
        ExportError,
        lambda what, exc: f"xpnn.export.export: the forward failed when traced again with "
                          f"{what} (to find which sizes follow the inputs): "
                          f"{type(exc).__name__}: {exc}; a model that only takes some sizes "
                          "on an axis cannot have it dynamic")

"""Define-by-run reverse-mode autograd: grad modes, TensorBase, Function, backward() and grad().

``TensorBase`` is the data-and-autograd half of a Tensor: the backend array, its gradient and
its place in the graph. :class:`xpnn.tensor.Tensor` adds the math methods, each a line that
calls an op of ``xpnn.functional``. The split keeps the imports one way: the ops build on this
module, and Tensor builds on the ops.

A :class:`Function` instance is one node of the graph. ``apply`` decides, before ``forward``
runs, whether the call is recorded and which inputs need a gradient (``self.record``,
``self.needs``), so ``forward`` saves only what ``backward`` will use and an unrecorded call
prepares nothing. ``backward`` gets dL/dY for each output and returns dL/dX for each input,
written with the same ``xp`` calls as the forward, so the chain rule is visible.

With ``create_graph=True`` a second sweep (:func:`_run_graph`) calls each node's
``backward_graph`` instead, on Tensors and with recording on: higher-order gradients.

Every tensor carries a version counter that in-place changes bump. A node remembers the
versions of the tensors its backward reads and refuses to run if one changed, as PyTorch does.

Where each part lives: the grad modes in :mod:`.grad_mode`, TensorBase in :mod:`.tensor_base`,
Function and ``apply`` in :mod:`.function_base`, the reverse sweep in :mod:`.engine` (its
``create_graph`` twin in :mod:`.engine_graph`, leaf delivery in :mod:`.leaves`), the
coercion helpers the ops use in :mod:`.coerce`; this module holds the entry points
:func:`backward` and :func:`grad` and re-exports the rest. The hooks set from outside live
with their readers: ``engine._anomaly`` (detect_anomaly) and ``function_base._tracer``
(exporters, checkpoint); reading ``autograd._anomaly``/``autograd._tracer`` still works.
"""
from __future__ import annotations

import contextlib
import warnings

from .._errors import ShapeError
from . import engine as _engine
from . import function_base as _function_base
from .coerce import Variable, _VariableMeta, as_tensor, raw, unwrap
from .engine import (_METADATA_ONLY, _STRUCTURE, _call_ctx_backward, _free, _metadata_only,
                     _numel, _output_hooks, _plain, _pruned, _raise_freed, _raise_modified,
                     _root_grad, _run, _seeded, _slots, _topo_order)
from .engine_graph import (_call_ctx_backward_graph, _deliver_graph_leaf, _graph_step,
                           _output_hooks_graph, _run_graph)
from .function_base import (ALL, AccumulateGrad, Function, _apply_ctx, _ctx_forward, _mixed,
                            _remember_versions)
from . import graph  # torch.autograd.graph: saved_tensors_hooks
from . import forward_ad  # torch.autograd.forward_ad: dual tensors over the double-vjp trick
from .grad_mode import (_GradMode, _mode, enable_grad, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled, no_grad, set_grad_enabled)
from .leaves import _accumulate, _deliver_leaf, _hooked, _Leaves
from .tensor_base import TensorBase, _init, _RemovableHandle, link_view


def __getattr__(name):
    """``autograd._anomaly`` and ``autograd._tracer``: read from the module that owns each (set
    them there: ``engine._anomaly``, ``function_base._tracer``)."""
    if name == "_anomaly":
        return _engine._anomaly
    if name == "_tracer":
        return _function_base._tracer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- backward --------------------------------------------------------------------------------
def _quiet(roots):
    """The roots' backend's quiet context (no NumPy floating-point warnings) for a sweep:
    every backward of the sweep runs in it (torch warns for no inf or NaN), so the ``quiet``
    decorator of the ops (functional/broadcast.py) needs to cover their forwards only."""
    first = roots[0] if roots else None
    return first._be.quiet() if isinstance(first, TensorBase) else contextlib.nullcontext()


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    Args:
        tensors: a Tensor (or a sequence of them) to differentiate.
        grad_tensors: dL/d(tensor) for each (None: 1 for a one-element tensor).
        retain_graph: keep the graph for another backward.
        create_graph: record the backward itself (higher-order gradients; see
            :func:`_run_graph`); implies ``retain_graph`` unless it is False.
        grad_variables: PyTorch's deprecated name of ``grad_tensors`` (FutureWarning).
        inputs: accumulate only into these leaves (a sequence, or a dict of them).
    """
    if grad_variables is not None:
        warnings.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.",
                      FutureWarning, stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("backward: `grad_tensors` and `grad_variables` (deprecated) "
                               "arguments both passed; only use `grad_tensors`")
        grad_tensors = grad_variables
    if isinstance(inputs, dict):
        inputs = list(inputs.values())
    roots = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    grads = list(grad_tensors) if isinstance(grad_tensors, (list, tuple)) else \
        [grad_tensors] * len(roots)
    only = capture = None
    if inputs is not None:
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not ins:
            raise RuntimeError("backward: 'inputs' cannot be empty (leave it out to "
                               "accumulate into every leaf)")
        only = {id(t) for t in ins if t._node is None}
        # a non-leaf among the inputs gets its gradient in .grad too, as in PyTorch
        inner = [t for t in ins if t._node is not None]
        capture = {(id(t._node), t._idx): [t, None] for t in inner} or None
    if create_graph:
        with _quiet(roots):
            _run_graph(roots, grads, retain_graph is not False, capture=capture, only=only)
        for t, g in (capture or {}).values():
            if g is not None:
                t._grad = g if t._grad is None else t._grad + g
        return
    with _quiet(roots):  # gradients summed from inf and -inf: NaN, silently as torch
        _run(roots, grads, bool(retain_graph), capture=capture, only=only)
    for t, g in (capture or {}).values():
        if g is not None:
            t._grad = t._result(t.xp.asarray(g, copy=True), t._be) if t._grad is None else \
                t._result(t._grad.array + g, t._be)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned instead of accumulated.

    ``inputs``: a Tensor, a sequence of them, or a dict of them (the gradients then come
    back as a dict with the same keys, as in PyTorch 2.13). ``only_inputs``: PyTorch's
    deprecated flag, ignored (False warns, as PyTorch does). ``is_grads_batched``: each
    grad_output has a leading batch dim; the result is the gradient for each slice, stacked
    (a loop of backward passes here, not vmap).

    Returns:
        tuple with one Tensor per input (None for an input the outputs do not depend on,
        if ``allow_unused``; zeros with ``materialize_grads``).
    """
    if isinstance(inputs, dict):
        got = grad(outputs, list(inputs.values()), grad_outputs, retain_graph, create_graph,
                   allow_unused=allow_unused, is_grads_batched=is_grads_batched,
                   materialize_grads=materialize_grads)
        return dict(zip(inputs.keys(), got))
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to "
                      "True). To accumulate gradient for other parts of the graph, please "
                      "use xpnn.autograd.backward.", FutureWarning, stacklevel=2)
    if materialize_grads and allow_unused is False:
        raise ValueError("grad: allow_unused must be True or left out when "
                         "materialize_grads=True, got allow_unused=False")
    roots = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    ins = [inputs] if isinstance(inputs, TensorBase) else list(inputs)
    if not ins:
        raise RuntimeError("grad: inputs cannot be empty")
    grads = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else \
        [grad_outputs] * len(roots)
    if len(grads) != len(roots):
        raise RuntimeError(f"grad: got {len(roots)} outputs and {len(grads)} grad_outputs")
    if is_grads_batched:
        return _grad_batched(roots, ins, grads, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    capture, keys = {}, []
    for i, t in enumerate(ins):
        if not t._rg:
            raise RuntimeError(f"grad: input {i} does not require grad")
        key = id(t) if t._node is None else (id(t._node), t._idx)
        keys.append(key)
        capture.setdefault(key, [i, None])  # an input listed twice gets the gradient twice
    if create_graph:
        with _quiet(roots):
            _run_graph(roots, grads, retain_graph is not False, capture=capture, only=set(),
                       prune=True)
    else:
        with _quiet(roots):  # as in backward
            _run(roots, grads, bool(retain_graph), capture=capture, only=set(), prune=True)
    out = [capture[key][1] for key in keys]
    result = []
    for i, (t, g) in enumerate(zip(ins, out)):
        if g is None:
            if materialize_grads:
                g = t.xp.zeros(t.array.shape, dtype=t.dtype, device=t._be.device)
            elif not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute "
                                   "the outputs; pass allow_unused=True")
        result.append(g if g is None or isinstance(g, TensorBase) else t._result(g, t._be))
    return tuple(result)


def _grad_batched(roots, ins, grads, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """:func:`grad` with ``is_grads_batched``: one pass per slice of the grad_outputs'
    leading dim, the results stacked."""
    from ..functional import stack  # the ops build on this module
    n = None
    for g in grads:
        if g is not None:
            if n is not None and g.shape[0] != n:
                raise ShapeError(f"grad: is_grads_batched needs grad_outputs with one batch "
                                 f"size, got {n} and {g.shape[0]}")
            n = g.shape[0]
    if n is None:
        raise RuntimeError("grad: is_grads_batched=True needs grad_outputs")
    per = []
    for b in range(n):
        keep = True if b < n - 1 else retain_graph
        per.append(grad(roots, ins, [None if g is None else g[b] for g in grads], keep,
                        create_graph, allow_unused=allow_unused,
                        materialize_grads=materialize_grads))
    return tuple(None if per[0][i] is None else stack([p[i] for p in per])
                 for i in range(len(ins)))

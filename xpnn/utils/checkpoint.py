"""``torch.utils.checkpoint``: activation checkpointing, trading compute for memory.

``checkpoint(function, *args)`` runs ``function`` without recording its graph, so none of
its intermediate values are kept, and recomputes it, recorded, when the gradient reaches
it. One node stands for the whole call in the graph. Its inputs are the Tensor arguments
and every Tensor requiring grad that the function reads from elsewhere (a module's
parameters, found while the forward runs), so the gradients reach them the usual way:
``backward()`` accumulates them, ``autograd.grad`` returns them, hooks run. The random
state is put back for the recomputation (``preserve_rng_state``), so dropout draws the same
masks twice.

``use_reentrant`` keeps PyTorch's meaning where it shows: with True (the default when it is
not given, with PyTorch's warning) keyword arguments are refused, and a call whose Tensor
arguments all lack ``requires_grad`` warns and records nothing; with False the parameters
the function reads still get their gradients in that case.
"""
from __future__ import annotations

import warnings

from .. import autograd
from ..autograd import function_base  # owns _tracer, which Function.apply reads
from .. import backend_rng_state as S
from ..autograd import Function, TensorBase, enable_grad, is_grad_enabled, no_grad

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Reads:
    """An op recorder for the un-recorded forward: the Tensors requiring grad that ops read
    (made outside the function, as nothing inside it records)."""

    def __init__(self):
        self.seen = {}

    def record(self, cls, inputs, params, outs):
        for t in inputs:
            if isinstance(t, TensorBase) and t._rg:
                self.seen.setdefault(id(t), t)


class _Call:
    """What the checkpoint node keeps between the forward and the recomputation."""

    def __init__(self, function, args, kwargs, rng):
        self.function, self.args, self.kwargs, self.rng = function, args, kwargs, rng
        self.outputs = None


class CheckpointFunction(Function):
    """The node of one checkpointed call: inputs are the Tensor arguments, then the Tensors
    requiring grad the function reads; backward recomputes the call, recorded, and returns
    the gradients for them all."""

    @staticmethod
    def forward(ctx, call, n_args, *tensors):
        ctx.call, ctx.n_args = call, n_args
        ctx.save_for_backward(*tensors)
        return call.outputs

    @staticmethod
    def backward(ctx, *grads):
        call, tensors = ctx.call, ctx.saved_tensors
        n = ctx.n_args
        # create_graph=True (the engine runs this with recording on): the call is recomputed
        # on the arguments themselves and its gradient recorded, so it depends on them as
        # PyTorch's non-reentrant checkpoint's does; otherwise on detached copies
        graph = is_grad_enabled()
        fresh = list(tensors[:n]) if graph else \
            [t.detach().requires_grad_(t.requires_grad) for t in tensors[:n]]
        it = iter(fresh)
        args = [next(it) if isinstance(a, TensorBase) else a for a in call.args]
        now = S.get_rng_state() if call.rng is not None else None
        try:
            if call.rng is not None:
                S.set_rng_state(call.rng)
            with enable_grad():
                outs = call.function(*args, **call.kwargs)
        finally:
            if now is not None:
                S.set_rng_state(now)
        outs = outs if isinstance(outs, tuple) else (outs,)
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if isinstance(o, TensorBase) and o.requires_grad and g is not None]
        wrt = [t for t in fresh if t.requires_grad] + list(tensors[n:])
        found = autograd.grad([o for o, _ in pairs], wrt, [g for _, g in pairs],
                              allow_unused=True, create_graph=graph) \
            if pairs and wrt else [None] * len(wrt)
        found = iter(found)
        arg_grads = [next(found) if t.requires_grad else None for t in fresh]
        return (None, None) + tuple(arg_grads) + tuple(found)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)`` checkpointed (module docstring): the same result, with
    its intermediate values recomputed during backward instead of kept."""
    if use_reentrant is None:
        warnings.warn("xpnn.utils.checkpoint: the use_reentrant parameter should be passed "
                      "explicitly (as in PyTorch); use_reentrant=False is recommended",
                      UserWarning, stacklevel=2)
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError(f"checkpoint: unexpected keyword arguments {', '.join(kwargs)} "
                         f"(keyword arguments need use_reentrant=False)")
    if use_reentrant and context_fn is not None:
        raise ValueError("checkpoint: context_fn is only supported with use_reentrant=False")
    tensors = [a for a in args if isinstance(a, TensorBase)]
    if not is_grad_enabled() or function_base._tracer is not None:
        return function(*args, **kwargs)  # nothing to save (or an export tracing the ops)
    if use_reentrant and not any(t.requires_grad for t in tensors):
        warnings.warn("checkpoint: none of the inputs have requires_grad=True; the gradients "
                      "will be None", UserWarning, stacklevel=2)
        with no_grad():
            return function(*args, **kwargs)
    call = _Call(function, args, kwargs, S.get_rng_state() if preserve_rng_state else None)
    reads = _Reads()
    function_base._tracer = reads
    try:
        with no_grad():
            call.outputs = function(*args, **kwargs)
    finally:
        function_base._tracer = None
    inputs = {id(t) for t in tensors}
    others = [t for key, t in reads.seen.items() if key not in inputs]
    if not any(t.requires_grad for t in tensors) and not others:
        return call.outputs
    return CheckpointFunction.apply(call, len(tensors), *tensors, *others)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """``functions`` (a Sequential or a list of modules/functions) applied in turn to
    ``input``, in ``segments`` chunks, each checkpointed but the last, as
    ``torch.utils.checkpoint.checkpoint_sequential``."""
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)
    if segments <= 0:
        raise ValueError(f"checkpoint_sequential: segments must be positive, got {segments}")
    size = max(1, len(functions) // segments)

    def run(start, end):
        def forward(x):
            for fn in functions[start:end]:
                x = fn(x)
            return x
        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end + 1), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(functions))(input)

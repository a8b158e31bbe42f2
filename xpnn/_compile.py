"""``torch.compile`` and ``torch.compiler``: xpnn has no compiler, so compiling changes
nothing: the model or function comes back as it was and runs eagerly, with the same results.
They exist so that programs written for PyTorch 2 run unchanged.
"""
from __future__ import annotations

_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """PyTorch's ``torch.compile``, which in xpnn returns ``model`` unchanged: xpnn has no
    graph compiler (no TorchDynamo, no Inductor), so the model runs eagerly as before.

    Works as ``model = xpnn.compile(model)``, as ``@xpnn.compile`` and as
    ``@xpnn.compile(mode="max-autotune")``. The arguments are checked as PyTorch checks
    them (a known ``mode``; not both ``mode`` and ``options``) and otherwise ignored.

    Args:
        model: a Module or a function; None returns a decorator.
        fullgraph, dynamic, backend, mode, options, disable: PyTorch's options; no effect.
    Returns:
        ``model`` itself (or a decorator that returns its argument).
    """
    if mode not in _MODES:
        raise RuntimeError(f"compile: unrecognized mode={mode!r}, should be one of: "
                           f"{', '.join(m for m in _MODES if m)}")
    if mode is not None and options is not None:
        raise RuntimeError("compile: either mode or options can be specified, but both can't "
                           "be specified at the same time")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"compile: options must be a dict, got {type(options).__name__}")
    if not (isinstance(backend, str) or callable(backend)):
        raise TypeError(f"compile: backend must be a name or a callable, got "
                        f"{type(backend).__name__}")
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                  mode=mode, options=options, disable=disable)
    if not callable(model):
        raise TypeError(f"compile: model must be a Module or a function, got "
                        f"{type(model).__name__}")
    return model


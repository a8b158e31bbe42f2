"""``torch.jit``: xpnn has no TorchScript, so scripting and tracing change nothing, as
``xpnn.compile`` does: ``script`` and ``trace`` return the model or function as it was, and it
runs eagerly with the same results. The decorators and queries that model code uses inside
``forward`` (``@jit.ignore``, ``@jit.unused``, ``jit.is_scripting()``, ``jit.Final``,
``jit.annotate``, ``fork``/``wait``) work, so such code runs unchanged. Saving TorchScript
archives (``jit.save``/``jit.load``) is refused, naming the alternatives: ``xpnn.save`` for
weights and whole modules, ``xpnn.onnx.export`` for a graph other runtimes load.
"""
from __future__ import annotations

import typing

from .nn.module import Module

Final = typing.Final

__all__ = ["Final", "ScriptFunction", "ScriptModule", "annotate", "export", "fork", "freeze",
           "ignore", "interface", "is_scripting", "is_tracing", "load",
           "optimize_for_inference", "save", "script", "script_if_tracing", "trace",
           "trace_module", "unused", "wait"]


class ScriptModule(Module):
    """TorchScript's module class; ``script`` returns the module itself, never one of
    these, so ``isinstance(m, jit.ScriptModule)`` is False as for an eager PyTorch module."""


class ScriptFunction:
    """TorchScript's function class (for isinstance checks; nothing is an instance)."""


def _callable(op, obj):
    if not callable(obj):
        raise TypeError(f"jit.{op}: expected a Module or a function, got {type(obj).__name__}")
    return obj


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """``obj`` itself: it runs eagerly (xpnn has no TorchScript compiler)."""
    return _callable("script", obj)


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):
    """``func`` itself: it runs eagerly, so control flow keeps depending on the inputs (a
    traced PyTorch function freezes the branches the example took)."""
    return _callable("trace", func)


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None,
                 check_tolerance=1e-5, strict=True, _force_outplace=False,
                 _module_class=None, _compilation_unit=None, example_inputs_is_kwarg=False,
                 _store_inputs=True):
    return _callable("trace_module", mod)


def script_if_tracing(fn):
    return fn


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod


def ignore(drop=False, **kwargs):
    """``@jit.ignore`` and ``@jit.ignore(drop=True)``: the function as it is."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def is_scripting():
    """False: xpnn's code always runs eagerly."""
    return False


def is_tracing():
    return False


def annotate(the_type, the_value):
    return the_value


class Future:
    """What :func:`fork` returns: the call's result, already computed (``wait`` takes it)."""

    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def done(self):
        return True


def fork(func, *args, **kwargs):
    """``func(*args, **kwargs)``, run now (TorchScript would run it in parallel)."""
    return Future(func(*args, **kwargs))


def wait(future):
    return future.wait()


def save(m, f, _extra_files=None):
    raise NotImplementedError("jit.save: xpnn has no TorchScript archives; save the weights or "
                              "the whole module with xpnn.save, or a graph with "
                              "xpnn.onnx.export")


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    raise NotImplementedError("jit.load: xpnn cannot read TorchScript archives; load modules "
                              "saved with xpnn.save by xpnn.load")

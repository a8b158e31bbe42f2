"""The table of converters, one per xpnn Function class."""
from __future__ import annotations

from importlib import import_module

from .errors import UnsupportedOperatorError

CONVERTERS = {}  # Function class -> (converter, names of params that may follow a dynamic axis)
# Function class -> fn(params of the first trace) -> names of the params that the op computed
# from its inputs outside the trace (batch statistics) and that its converter recomputes in
# the graph: they are left out of the comparison of traces and out of ``node.p``
RECOMPUTED = {}
# Function class -> fn(params) -> the params with the parts its converter never reads set to
# None, before the traces are compared: a size there that follows a dynamic axis but not
# linearly (a strided pooling's output length) then does not stop the export
UNREAD = {}
# Function class -> why it cannot be exported (said in its UnsupportedOperatorError, also
# when an input that only such an op read is what the export trips on first)
REFUSED = {}


def converts(*classes, dynamic=()):
    """Register ``fn(g, node)`` as the ONNX conversion of ``classes``.

    The converter gets the :class:`~xpnn.onnx.graph.Graph` and the node (``ins``: one
    :class:`~xpnn.onnx.graph.Ref` per input tensor; ``p``: the op's keyword parameters, arrays
    replaced by Refs and sizes that follow a dynamic axis by ``Dyn``; ``outs``: (shape, dtype)
    per output) and returns the graph name of each output (a name, or a tuple of them).
    ``dynamic`` names the params it accepts as Dyn; any other param that follows a dynamic
    axis is refused before it runs.
    """
    def register(fn):
        for cls in classes:
            CONVERTERS[cls] = (fn, frozenset(dynamic))
        return fn
    return register


def classes(module, *names):
    """The Function classes ``names`` of ``xpnn.functional.<module>`` that this engine has
    (ops appear as the engine grows; a converter for a missing one is simply not used).
    Imported by module path: xpnn.functional re-exports functions named like some of its
    modules (norm, embedding, dropout), which attribute access would find instead."""
    try:
        mod = import_module(f"xpnn.functional.{module}")
    except ImportError:
        return []
    return [getattr(mod, name) for name in names if hasattr(mod, name)]


def unsupported(node, why):
    """An UnsupportedOperatorError naming the op, where it was called, and why."""
    return UnsupportedOperatorError(
        f"xpnn.onnx.export: cannot export {node.cls.__name__} "
        f"({node.cls.__module__}) called {node.where}: {why}")


def static(node, value, what):
    """``value`` (an int or a structure of ints) if no dynamic axis enters it, else raise."""
    from .trace import Dyn

    def walk(v):
        if isinstance(v, Dyn):
            raise unsupported(node, f"its {what} follows a dynamic axis ({v.describe()}); "
                                    "export with that axis static")
        if isinstance(v, (tuple, list)):
            for x in v:
                walk(x)
    walk(value)
    return value

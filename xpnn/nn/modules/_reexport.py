"""The one helper behind xpnn.nn.modules: a PyTorch module path re-exporting xpnn.nn's
classes."""
from __future__ import annotations

import importlib


def reexport(namespace, module, names, fallback=()):
    """Put into ``namespace`` (a module's globals) each of PyTorch's ``names`` for that
    module that xpnn implements: from ``xpnn.nn``, else from the ``fallback`` modules
    (e.g. base classes xpnn.nn does not export).

    Returns:
        (``__all__``: the names present, ``__getattr__`` for the module: a name PyTorch has
        there but xpnn does not raises an AttributeError that says so).
    """
    nn = importlib.import_module("xpnn.nn")
    spaces = [nn] + [importlib.import_module(m) for m in fallback]
    present = []
    for name in names:
        obj = next((getattr(s, name) for s in spaces if hasattr(s, name)), None)
        if obj is not None:
            namespace[name] = obj
            present.append(name)

    def __getattr__(attr):  # noqa: N807 - PEP 562's module __getattr__
        if attr in names:
            raise AttributeError(f"module {module!r} has no attribute {attr!r}: xpnn does not "
                                 f"implement torch.nn.{attr} (it has {present})")
        raise AttributeError(f"module {module!r} has no attribute {attr!r}")

    return present, __getattr__

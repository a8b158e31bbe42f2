"""``torch.compiler``: the switches PyTorch 2 programs call around compiled code. xpnn has
no compiler (see :func:`xpnn.compile`), so nothing is ever being compiled."""
from __future__ import annotations

from ._compile import compile


def is_compiling():
    """False: xpnn never traces (``torch.compiler.is_compiling``)."""
    return False


def disable(fn=None, recursive=True, *, reason=None):
    """``torch.compiler.disable``: the function itself (nothing is compiled in xpnn)."""
    if fn is None:
        return lambda f: f
    return fn


def reset():
    """``torch.compiler.reset``: nothing to clear."""


__all__ = ["compile", "disable", "is_compiling", "reset"]

"""xpnn.version: what ``torch.version`` tells a program about the build it runs on.

``__version__`` is xpnn's own (``xpnn.__version__``); ``cuda`` is the CUDA runtime version
of the installed CuPy (``"12.4"``), read when first asked for, or None where there is no
CuPy with a working CUDA runtime, as a CPU build of PyTorch has None. xpnn is not built
against CUDA or ROCm (``hip`` is None) and has no debug build (``debug`` is False).
"""
from __future__ import annotations

__version__ = "0.2.0"
hip = None
debug = False


def _cuda():
    from .backend import optional_module
    cupy = optional_module("cupy")
    if cupy is None:
        return None
    try:
        v = cupy.cuda.runtime.runtimeGetVersion()  # 12040 for CUDA 12.4
    except Exception:  # CuPy without a CUDA runtime it can load
        return None
    return f"{v // 1000}.{v % 1000 // 10}"


def __getattr__(name):
    if name == "cuda":
        return _cuda()
    raise AttributeError(f"module 'xpnn.version' has no attribute {name!r}")

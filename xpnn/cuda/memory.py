"""torch.cuda's memory figures (``torch.cuda.memory``): what training scripts log.

Without CUDA each is 0, as on a CPU build of PyTorch. On the torch backend they are torch's
own. On CuPy they come from CuPy's default memory pool, which caches freed blocks for reuse:
``memory_allocated`` is what the pool has handed out and not got back
(``MemoryPool.used_bytes``) and ``memory_reserved`` what it holds from the driver
(``total_bytes``). The pool keeps no peak of either; it only grows until
``empty_cache()``, so ``max_memory_reserved`` is what it holds now, and
``max_memory_allocated`` is that too: an upper bound of the peak in use (the blocks it
holds were each in use once, not necessarily at the same time). ``reset_peak_memory_stats``
therefore has nothing to reset on CuPy; call ``empty_cache()`` first for a fresh bound.
"""
from __future__ import annotations

from .. import backend as B
from . import _kind, is_available


def _source():
    """("torch", torch) / ("cupy", the pool) / (None, None) where there is no CUDA."""
    if not is_available():
        return None, None
    kind = _kind()
    lib = B.optional_module(kind)
    return (kind, lib) if kind == "torch" else (kind, lib.get_default_memory_pool())


def memory_allocated(device=None):
    """Bytes of tensor memory in use on the GPU (0 without CUDA)."""
    kind, src = _source()
    if kind == "torch":
        return src.cuda.memory_allocated(device)
    return 0 if src is None else src.used_bytes()


def memory_reserved(device=None):
    """Bytes the allocator holds from the driver, in use or cached (0 without CUDA)."""
    kind, src = _source()
    if kind == "torch":
        return src.cuda.memory_reserved(device)
    return 0 if src is None else src.total_bytes()


def max_memory_allocated(device=None):
    """The peak of :func:`memory_allocated` since the start or the last reset (torch); on
    CuPy an upper bound of it (module docstring); 0 without CUDA."""
    kind, src = _source()
    if kind == "torch":
        return src.cuda.max_memory_allocated(device)
    return 0 if src is None else src.total_bytes()


def max_memory_reserved(device=None):
    """The peak of :func:`memory_reserved` (on CuPy: what the pool holds now, its peak since
    the last ``empty_cache``); 0 without CUDA."""
    kind, src = _source()
    if kind == "torch":
        return src.cuda.max_memory_reserved(device)
    return 0 if src is None else src.total_bytes()


def reset_peak_memory_stats(device=None):
    """Start the peaks afresh (torch); nothing to do on CuPy (module docstring) or without
    CUDA."""
    kind, src = _source()
    if kind == "torch":
        src.cuda.reset_peak_memory_stats(device)


reset_max_memory_allocated = reset_peak_memory_stats

"""xpnn.io: tensors, state dicts, whole modules and checkpoints as safetensors files (never
pickle), written atomically, validated before anything is loaded.

    xpnn.save(model.state_dict(), "w.safetensors"); model.load_state_dict(xpnn.load(...))
    xpnn.save(model, "m.safetensors"); model = xpnn.load("m.safetensors")
    xpnn.save_checkpoint("ckpt.safetensors", model, opt, sched, epoch=3, step=1200)
    info = xpnn.load_checkpoint("ckpt.safetensors", model, opt, sched)   # info["epoch"] == 3
"""
from .atomic import atomic_write, clean_stale
from .checkpoint import load_checkpoint, save_checkpoint
from .format import CheckpointError
from .safe import (UnsafeGlobalError, add_safe_globals, clear_safe_globals, get_safe_globals,
                   safe_globals)
from .serialize import load, save
from .weights import load_file, read_metadata

__all__ = ["CheckpointError", "UnsafeGlobalError", "add_safe_globals", "atomic_write",
           "clean_stale", "clear_safe_globals", "get_safe_globals", "load", "load_checkpoint",
           "load_file", "read_metadata", "safe_globals", "save", "save_checkpoint"]

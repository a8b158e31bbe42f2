"""``torch.serialization``'s names: save and load (safetensors files, never pickle) and the
safe-globals allow list that decides which classes a saved module may be rebuilt from.

    xpnn.serialization.add_safe_globals([MyNet])      # for the whole process
    with xpnn.serialization.safe_globals([MyNet]):     # for this block only
        model = xpnn.load("model.safetensors")

xpnn's own classes (``xpnn.nn``'s layers) and functions (``xpnn.functional``) need no
allowing. The machinery lives in xpnn/io (serialize.py, tree.py, recipe.py).
"""
from .io import (CheckpointError, UnsafeGlobalError, add_safe_globals, clear_safe_globals,
                 get_safe_globals, load, safe_globals, save)

DEFAULT_PROTOCOL = 2  # PyTorch's; accepted by save(pickle_protocol=) and otherwise unused

__all__ = ["CheckpointError", "DEFAULT_PROTOCOL", "UnsafeGlobalError", "add_safe_globals",
           "clear_safe_globals", "get_safe_globals", "load", "safe_globals", "save"]

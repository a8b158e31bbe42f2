"""xpnn.io: weights and checkpoints as safetensors files, written atomically, validated
before anything is loaded.

    xpnn.save(model, "w.safetensors"); xpnn.load(model, "w.safetensors", backend="torch")
    xpnn.save_checkpoint("ckpt.safetensors", model, opt, sched, epoch=3, step=1200)
    info = xpnn.load_checkpoint("ckpt.safetensors", model, opt, sched)   # info["epoch"] == 3
"""
from .atomic import atomic_write, clean_stale
from .checkpoint import load_checkpoint, save_checkpoint
from .format import CheckpointError
from .weights import load, load_file, read_metadata, save

__all__ = ["CheckpointError", "atomic_write", "clean_stale", "load", "load_checkpoint",
           "load_file", "read_metadata", "save", "save_checkpoint"]

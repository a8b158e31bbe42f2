"""xpnn.utils: ``data`` (datasets, samplers, DataLoader), ``dlpack``, ``checkpoint``
(activation checkpointing) and ``hooks``, under PyTorch's module paths; ``tensorboard`` is
imported when used."""
from . import checkpoint, data, dlpack, hooks

__all__ = ["checkpoint", "data", "dlpack", "hooks"]

"""xpnn.utils: ``data`` (datasets, samplers, DataLoader), ``dlpack``, ``checkpoint``
(activation checkpointing), ``hooks`` and ``benchmark`` (Timer), under PyTorch's module
paths; ``tensorboard`` is imported when used."""
from . import benchmark, checkpoint, data, dlpack, hooks

__all__ = ["benchmark", "checkpoint", "data", "dlpack", "hooks"]

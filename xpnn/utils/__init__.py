"""xpnn.utils: ``data`` (datasets, samplers, DataLoader), ``dlpack`` and ``checkpoint``
(activation checkpointing), under PyTorch's module paths."""
from . import checkpoint, data, dlpack

__all__ = ["checkpoint", "data", "dlpack"]

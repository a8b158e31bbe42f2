"""xpnn.utils: ``data`` (datasets, samplers, DataLoader), ``dlpack``, ``checkpoint``
(activation checkpointing), ``hooks``, ``benchmark`` (Timer), ``flop_counter`` and
``model_zoo``, under PyTorch's module paths; ``tensorboard`` is imported when used."""
from . import benchmark, checkpoint, data, dlpack, flop_counter, hooks, model_zoo

__all__ = ["benchmark", "checkpoint", "data", "dlpack", "flop_counter", "hooks", "model_zoo"]

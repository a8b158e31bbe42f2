"""xpnn.nn.parallel: DistributedDataParallel (PyTorch's module path)."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]

"""xpnn.nn.parallel: DistributedDataParallel and DataParallel (PyTorch's module path)."""
from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]

"""xpnn.utils: ``data`` (datasets, samplers, DataLoader) and ``dlpack``, under PyTorch's
module paths."""
from . import data, dlpack

__all__ = ["data", "dlpack"]

"""xpnn.utils.data: datasets, samplers and the DataLoader under PyTorch's module path."""
from ...data.loader import DataLoader

__all__ = ["DataLoader"]

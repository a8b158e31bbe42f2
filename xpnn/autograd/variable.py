"""torch.autograd.variable's module path: ``Variable`` (PyTorch before 0.4; it returns the
Tensor itself)."""
from . import Variable  # noqa: F401

__all__ = ["Variable"]

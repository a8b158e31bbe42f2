"""Unflatten: split one dim into several (the inverse of nn.Flatten)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class Unflatten(Module):
    """Splits dim ``dim`` into ``unflattened_size`` (one entry may be -1).

    Shapes: (*, prod(unflattened_size), *) -> (*, *unflattened_size, *).
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(f"Unflatten: dim must be an int, got {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not unflattened_size or any(
                isinstance(s, bool) or not isinstance(s, int) or (s < 1 and s != -1)
                for s in unflattened_size):
            raise ValueError(f"Unflatten: unflattened_size must be a tuple of ints >= 1 (one "
                             f"may be -1), got {unflattened_size!r}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input):
        return F.unflatten(input, self.dim, tuple(self.unflattened_size))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

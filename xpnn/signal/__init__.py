"""``torch.signal``: the window functions of :mod:`xpnn.signal.windows`."""
from . import windows

__all__ = ["windows"]

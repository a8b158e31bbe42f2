"""Padding layers (torch.nn's names): Zero-, Constant-, Reflection-, Replication- and
CircularPad in 1, 2 and 3 dims, each a call of :func:`xpnn.functional.pad`."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class _PadNd(Module):
    """Pads the last ``nd`` dims by ``padding``: an int (every side) or 2 * nd ints
    (left, right, top, bottom, front, back: the last dim first)."""

    nd, mode = 1, "constant"

    def __init__(self, padding):
        super().__init__()
        n = 2 * self.nd
        if isinstance(padding, int) and not isinstance(padding, bool):
            padding = (padding,) * n
        if not isinstance(padding, (tuple, list)) or len(padding) != n or any(
                isinstance(p, bool) or not isinstance(p, int) for p in padding):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {n} "
                             f"ints, got {padding!r}")
        self.padding = tuple(padding)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{type(self).__name__}: value must be a number, got {value!r}")
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim of (C, W) or (N, C, W) with ``value``."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dims of (C, H, W) or (N, C, H, W) with ``value``."""

    nd = 2


class ConstantPad3d(_ConstantPadNd):
    nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    pass


class ZeroPad2d(_ZeroPadNd):
    nd = 2


class ZeroPad3d(_ZeroPadNd):
    nd = 3


class ReflectionPad1d(_PadNd):
    """Mirror padding (the edge not repeated); each pad must be less than the dim's size."""

    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    nd = 2


class ReflectionPad3d(ReflectionPad1d):
    nd = 3


class ReplicationPad1d(_PadNd):
    """Padding by repeating the edge value."""

    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    nd = 2


class ReplicationPad3d(ReplicationPad1d):
    nd = 3


class CircularPad1d(_PadNd):
    """Padding that wraps around (the input's other end)."""

    mode = "circular"


class CircularPad2d(CircularPad1d):
    nd = 2


class CircularPad3d(CircularPad1d):
    nd = 3

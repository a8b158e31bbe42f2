"""Upsample (and the fixed-mode UpsamplingNearest2d / UpsamplingBilinear2d): a module
holding :func:`xpnn.functional.interpolate`'s settings."""
from __future__ import annotations

from .. import functional as F
from .._errors import UnsupportedError
from ..functional.upsampling import MODES
from .module import Module


class Upsample(Module):
    """Resample (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size`` or by
    ``scale_factor``, with ``mode`` "nearest", "nearest-exact", "linear", "bilinear",
    "trilinear" or "area" (see :func:`xpnn.functional.interpolate`)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        name = type(self).__name__
        if mode not in MODES:
            raise UnsupportedError(f"{name}: mode must be one of {MODES}, got {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{name}: exactly one of size and scale_factor must be given, got "
                             f"size={size!r}, scale_factor={scale_factor!r}")
        self.name, self.size = name, size
        factors = scale_factor if isinstance(scale_factor, tuple) else (scale_factor,)
        if scale_factor is not None and any(isinstance(f, bool) or not isinstance(
                f, (int, float)) or f <= 0 for f in factors):
            raise ValueError(f"{name}: scale_factor must be a positive number or a tuple of "
                             f"them, got {scale_factor!r}")
        self.scale_factor = tuple(float(f) for f in scale_factor) if isinstance(
            scale_factor, tuple) else (float(scale_factor) if scale_factor else None)
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else \
            f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear with ``align_corners=True`` (this older module's fixed choice)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)

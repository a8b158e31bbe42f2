"""PixelShuffle and PixelUnshuffle: channels to space and back (Shi et al. 2016)."""
from __future__ import annotations

from .. import functional as F
from .module import Module, check_int


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r) for r = ``upscale_factor``."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = check_int("PixelShuffle", "upscale_factor", upscale_factor)

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W) for r = ``downscale_factor``."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = check_int("PixelUnshuffle", "downscale_factor",
                                          downscale_factor)

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """(N, g * c, *) -> the same shape with the channels of the g groups interleaved."""

    def __init__(self, groups):
        super().__init__()
        self.groups = check_int("ChannelShuffle", "groups", groups)

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"

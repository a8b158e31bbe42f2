"""Unfold and Fold: the sliding blocks of images as columns, and back (im2col, col2im)."""
from __future__ import annotations

from .. import functional as F
from ..functional.fold import _geometry
from .module import Module


class Unfold(Module):
    """(N, C, H, W) -> (N, C kh kw, L), as ``torch.nn.Unfold`` (see F.unfold)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride
        _geometry("Unfold", kernel_size, dilation, padding, stride)  # checked now

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """(N, C kh kw, L) -> (N, C, H, W) of ``output_size``, overlaps added, as
    ``torch.nn.Fold`` (see F.fold)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride
        _geometry("Fold", kernel_size, dilation, padding, stride)  # checked now

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")

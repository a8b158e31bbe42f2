"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d (no parameters)."""
from __future__ import annotations

from .. import functional as F
from ..functional.conv import ntuple
from .module import Module


class _Pool(Module):
    nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        name, nd = type(self).__name__, self.nd
        self.kernel_size = ntuple(name, "kernel_size", kernel_size, nd, 1)
        self.stride = self.kernel_size if stride is None else \
            ntuple(name, "stride", stride, nd, 1)
        self.padding = ntuple(name, "padding", padding, nd, 0)
        self.dilation = ntuple(name, "dilation", dilation, nd, 1)
        for p, k, d in zip(self.padding, self.kernel_size, self.dilation):
            if 2 * p > d * (k - 1) + 1:
                raise ValueError(f"{name}: padding {self.padding} must be at most half the "
                                 f"kernel {self.kernel_size}")
        self.ceil_mode = bool(ceil_mode)

    def _check_input(self, x):
        if x.ndim != self.nd + 2:
            dims = "(N, C, L)" if self.nd == 1 else "(N, C, H, W)"
            raise ValueError(f"{self!r}: expected a {self.nd + 2}-D input {dims}, got shape "
                             f"{x.shape}")

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}" + (", ceil_mode=True" if self.ceil_mode else ""))


class MaxPool2d(_Pool):
    """Max over (kh, kw) windows of (N, C, H, W); stride defaults to the kernel size.

    Args: kernel_size, stride, padding (-inf, at most half the kernel), dilation, ceil_mode.
    The gradient goes to the first maximum of each window, as in PyTorch.
    """

    def forward(self, x):
        self._check_input(x)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode)


class MaxPool1d(_Pool):
    """Max over windows of (N, C, L); arguments as :class:`MaxPool2d`, ints."""

    nd = 1

    def forward(self, x):
        self._check_input(x)
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode)


class AvgPool2d(_Pool):
    """Mean over (kh, kw) windows of (N, C, H, W).

    Args: kernel_size, stride, padding (zeros), ceil_mode; count_include_pad: divide by the
    full window including padding (PyTorch's default); divisor_override: a fixed divisor.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x):
        self._check_input(x)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AvgPool1d(_Pool):
    """Mean over windows of (N, C, L); arguments as :class:`AvgPool2d`, ints."""

    nd = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x):
        self._check_input(x)
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    """Average pooling of (N, C, H, W) to (N, C, oh, ow) whatever H and W are.

    Args: output_size: int or (oh, ow); 1 is global average pooling.
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = ntuple("AdaptiveAvgPool2d", "output_size", output_size, 2, 1)

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"{self!r}: expected a 4-D input (N, C, H, W), got shape "
                             f"{x.shape}")
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    """Average pooling of (N, C, L) to (N, C, output_size)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = ntuple("AdaptiveAvgPool1d", "output_size", output_size, 1, 1)[0]

    def forward(self, x):
        if x.ndim != 3:
            raise ValueError(f"{self!r}: expected a 3-D input (N, C, L), got shape {x.shape}")
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"

"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d (PyTorch layouts)."""
from __future__ import annotations

import math

from .. import functional as F
from ..functional.conv import ntuple
from . import init
from .module import Module, check_int, new_parameter


class _ConvNd(Module):
    """Shared construction: argument checks, parameters and PyTorch's default init."""

    nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", output_padding=0, *,
                 backend=None, device=None, dtype=None):
        super().__init__()
        name, nd = type(self).__name__, self.nd
        self.in_channels = check_int(name, "in_channels", in_channels)
        self.out_channels = check_int(name, "out_channels", out_channels)
        self.groups = check_int(name, "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.kernel_size = ntuple(name, "kernel_size", kernel_size, nd, 1)
        self.stride = ntuple(name, "stride", stride, nd, 1)
        self.dilation = ntuple(name, "dilation", dilation, nd, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self.transposed:
                raise ValueError(f"{name}: padding must be an int, a tuple" +
                                 ("" if self.transposed else ", 'same' or 'valid'") +
                                 f", got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride "
                                 f"{self.stride}")
            self.padding = padding
        else:
            self.padding = ntuple(name, "padding", padding, nd, 0)
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        self.output_padding = ntuple(name, "output_padding", output_padding, nd, 0)
        if self.transposed:
            for o, s, d in zip(self.output_padding, self.stride, self.dilation):
                if o >= max(s, d):
                    raise ValueError(f"{name}: output_padding {self.output_padding} must be "
                                     f"smaller than stride {self.stride} or dilation "
                                     f"{self.dilation}")
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = new_parameter(shape, backend, device, dtype)
        self.bias = new_parameter((out_channels,), backend, device, dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch's default: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)); same for bias
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = init.fans(self.weight.shape)[0]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x):
        want = self.nd + 2
        if x.ndim != want or x.shape[1] != self.in_channels:
            dims = "(N, C, L)" if self.nd == 1 else "(N, C, H, W)"
            raise ValueError(f"{self!r}: expected input {dims} with C={self.in_channels}, got "
                             f"shape {x.shape}")

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self.nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.transposed and self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C_in, H, W).

    Args:
        in_channels, out_channels: ints >= 1, divisible by groups.
        kernel_size, stride, dilation: int or (h, w).
        padding: int, (h, w), "same" (stride 1; odd total padding goes bottom/right) or
            "valid".
        groups: channel groups (groups == in_channels: depthwise).
        bias: learn a (out_channels,) bias.
        padding_mode: only "zeros".
        backend, device, dtype: where the parameters live.
    Shapes: (N, C_in, H, W) -> (N, C_out, Ho, Wo); weight (C_out, C_in/groups, kh, kw).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", *, backend=None,
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, backend=backend, device=device,
                         dtype=dtype)

    def forward(self, x):
        self._check_input(x)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L); arguments as :class:`Conv2d`, ints.

    Shapes: (N, C_in, L) -> (N, C_out, Lo); weight (C_out, C_in/groups, k).
    """

    nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", *, backend=None,
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, backend=backend, device=device,
                         dtype=dtype)

    def forward(self, x):
        self._check_input(x)
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution ("deconvolution"), the adjoint of Conv2d.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias:
            as the Conv2d it is the adjoint of (padding: ints only).
        output_padding: extra rows/cols at the bottom/right, < max(stride, dilation).
    Shapes: (N, C_in, H, W) -> (N, C_out, Ho, Wo), Ho = (H-1)s - 2p + d(kh-1) + op + 1;
    weight (C_in, C_out/groups, kh, kw).
    """

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros", *,
                 backend=None, device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, backend=backend,
                         device=device, dtype=dtype)

    def forward(self, x):
        self._check_input(x)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-D convolution over (N, C_in, L); weight (C_in, C_out/groups, k)."""

    nd = 1

    def forward(self, x):
        self._check_input(x)
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)

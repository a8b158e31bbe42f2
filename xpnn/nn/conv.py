"""Convolution layers: Conv1d/2d/3d, ConvTranspose1d/2d/3d (PyTorch layouts).

Each takes batched (N, C, ...) or unbatched (C, ...) input. Conv1d/Conv2d's ``padding_mode``
"reflect", "replicate" and "circular" pad the input with F.pad here, as torch.nn does, then
convolve with no padding.

Conv3d and ConvTranspose3d call F.conv3d and F.conv_transpose3d (functional/conv3d.py),
which are built from the 2-D ops.
"""
from __future__ import annotations

import math

from .. import functional as F
from ..functional.conv import conv_pads, ntuple
from .._errors import ArgumentError, ShapeError
from . import init
from .module import Module, check_int, new_parameter

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


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
        if padding_mode not in PADDING_MODES or (self.transposed and
                                                 padding_mode != "zeros"):
            allowed = ("'zeros'",) if self.transposed else tuple(map(repr, PADDING_MODES))
            raise ValueError(f"{name}: padding_mode must be {' or '.join(allowed)}, got "
                             f"{padding_mode!r}")
        self.padding_mode = padding_mode
        self.output_padding = ntuple(name, "output_padding", output_padding, nd, 0)
        if self.transposed:
            for o, s, d in zip(self.output_padding, self.stride, self.dilation):
                if o >= max(s, d):
                    raise ArgumentError(f"{name}: output_padding {self.output_padding} must be "
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
        nd = self.nd
        if x.ndim not in (nd + 1, nd + 2) or x.shape[x.ndim - nd - 1] != self.in_channels:
            dims = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[nd]
            raise ShapeError(f"{self!r}: expected input {dims} with C={self.in_channels}, got "
                             f"shape {x.shape} (an unbatched input has no N)")

    def _padded(self, x):
        """(input, padding for F.conv): the input padded here for the non-zero modes."""
        if self.padding_mode == "zeros":
            return x, self.padding
        pads = conv_pads(type(self).__name__, self.padding, self.kernel_size, self.dilation,
                         self.stride)
        flat = tuple(p for pair in reversed(pads) for p in pair)  # F.pad: last dim first
        return F.pad(x, flat, mode=self.padding_mode), 0

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
        if self.bias is None:
            s += ", bias=False"
        return s + ("" if self.padding_mode == "zeros" else
                    f", padding_mode={self.padding_mode}")


class _Conv(_ConvNd):
    """PyTorch's constructor signature of the (not transposed) convolutions: no
    output_padding, so positional arguments land where PyTorch puts them."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", *, backend=None,
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, backend=backend, device=device,
                         dtype=dtype)


class Conv2d(_Conv):
    """2-D convolution (cross-correlation) over (N, C_in, H, W).

    Args:
        in_channels, out_channels: ints >= 1, divisible by groups.
        kernel_size, stride, dilation: int or (h, w).
        padding: int, (h, w), "same" (stride 1; odd total padding goes bottom/right) or
            "valid".
        groups: channel groups (groups == in_channels: depthwise).
        bias: learn a (out_channels,) bias.
        padding_mode: "zeros", "reflect", "replicate" or "circular" (what the padding
            holds).
        backend, device, dtype: where the parameters live.
    Shapes: (N, C_in, H, W) -> (N, C_out, Ho, Wo) (unbatched (C_in, H, W) -> (C_out, Ho,
    Wo)); weight (C_out, C_in/groups, kh, kw).
    """

    def forward(self, input):
        self._check_input(input)
        input, padding = self._padded(input)
        return F.conv2d(input, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L); arguments as :class:`Conv2d`, ints.

    Shapes: (N, C_in, L) -> (N, C_out, Lo) (unbatched (C_in, L) -> (C_out, Lo)); weight
    (C_out, C_in/groups, k).
    """

    nd = 1

    def forward(self, input):
        self._check_input(input)
        input, padding = self._padded(input)
        return F.conv1d(input, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution ("deconvolution"), the adjoint of Conv2d.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias:
            as the Conv2d it is the adjoint of (padding: ints only).
        output_padding: extra rows/cols at the bottom/right, < max(stride, dilation).
        padding_mode: only "zeros" (as in PyTorch).
    Shapes: (N, C_in, H, W) -> (N, C_out, Ho, Wo) (or unbatched, without N),
    Ho = (H-1)s - 2p + d(kh-1) + op + 1;
    weight (C_in, C_out/groups, kh, kw).
    """

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros", *,
                 backend=None, device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, backend=backend,
                         device=device, dtype=dtype)

    def _output_padding(self, x, output_size):
        """The output_padding that gives ``output_size`` (spatial sizes, optionally led by
        N and C, or by C for an unbatched input), as torch.nn's forward(x, output_size)."""
        if output_size is None:
            return self.output_padding
        nd, lead = self.nd, x.ndim - self.nd
        size = tuple(int(n) for n in output_size)
        if len(size) == lead + nd:
            size = size[lead:]
        if len(size) != nd:
            raise ShapeError(f"{type(self).__name__}: for a {x.ndim}-D input, output_size must "
                             f"have {nd} or {lead + nd} elements, got {tuple(output_size)}")
        least = tuple((n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                      zip(x.shape[lead:], self.stride, self.padding, self.dilation,
                          self.kernel_size))
        most = tuple(m + s - 1 for m, s in zip(least, self.stride))
        if any(not lo <= n <= hi for n, lo, hi in zip(size, least, most)):
            raise ShapeError(f"{type(self).__name__}: requested an output size of {size}, but "
                             f"valid sizes range from {least} to {most} (for an input of "
                             f"shape {x.shape})")
        return tuple(n - lo for n, lo in zip(size, least))

    def forward(self, input, output_size=None):
        """(N, C_in, ...) -> (N, C_out, ...); ``output_size`` picks among the sizes a
        stride > 1 allows (it sets output_padding for this call)."""
        self._check_input(input)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-D convolution over (N, C_in, L); weight (C_in, C_out/groups, k)."""

    nd = 1

    def forward(self, input, output_size=None):
        self._check_input(input)
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W); arguments as :class:`Conv2d`, with
    (d, h, w) triples. Shapes: (N, C_in, D, H, W) -> (N, C_out, Do, Ho, Wo) (or unbatched,
    without N); weight (C_out, C_in/groups, kd, kh, kw)."""

    nd = 3

    def forward(self, input):
        self._check_input(input)
        input, padding = self._padded(input)
        return F.conv3d(input, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class ConvTranspose3d(ConvTranspose2d):
    """Transposed 3-D convolution over (N, C_in, D, H, W), the adjoint of Conv3d; arguments
    as :class:`ConvTranspose2d` with (d, h, w) triples; weight (C_in, C_out/groups, kd, kh,
    kw)."""

    nd = 3

    def forward(self, input, output_size=None):
        self._check_input(input)
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)

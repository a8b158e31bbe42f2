"""Pooling layers: MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d,
AdaptiveMaxPool1d/2d/3d, MaxUnpool1d/2d/3d, LPPool1d/2d/3d (no parameters). Every one takes
batched (N, C, ...) or unbatched (C, ...) input, as PyTorch's do."""
from __future__ import annotations

from .. import functional as F
from .._errors import ArgumentError, ShapeError
from ..functional.conv import ntuple
from .module import Module


def _check_rank(layer, x, nd):
    """Raise naming the layer unless x is (N, C, *spatial) or unbatched (C, *spatial)."""
    if x.ndim not in (nd + 1, nd + 2):
        dims = {1: "L", 2: "H, W", 3: "D, H, W"}[nd]
        raise ShapeError(f"{layer!r}: expected a {nd + 2}-D input (N, C, {dims}), got shape "
                         f"{x.shape} (an unbatched {nd + 1}-D input (C, {dims}) is accepted "
                         "too)")


def _window(module, kernel_size, stride, padding):
    """A pooling module's kernel_size, stride (default: the kernel) and padding as nd-tuples,
    checked."""
    name, nd = type(module).__name__, module.nd
    module.kernel_size = ntuple(name, "kernel_size", kernel_size, nd, 1)
    module.stride = module.kernel_size if stride is None else \
        ntuple(name, "stride", stride, nd, 1)
    module.padding = ntuple(name, "padding", padding, nd, 0)


class _Pool(Module):
    nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        name, nd = type(self).__name__, self.nd
        _window(self, kernel_size, stride, padding)
        # the arguments as given, for a repr like PyTorch's (which keeps them unexpanded)
        self._given = (kernel_size, kernel_size if stride is None else stride, padding,
                       dilation)
        self.dilation = ntuple(name, "dilation", dilation, nd, 1)
        for p, k, d in zip(self.padding, self.kernel_size, self.dilation):
            if 2 * p > d * (k - 1) + 1:
                raise ArgumentError(f"{name}: padding {self.padding} must be at most half the "
                                    f"kernel {self.kernel_size}")
        self.ceil_mode = bool(ceil_mode)

    def _check_input(self, x):
        _check_rank(self, x, self.nd)

    def extra_repr(self):  # MaxPool's, as PyTorch prints it
        k, s, p, d = self._given
        return (f"kernel_size={k}, stride={s}, padding={p}, dilation={d}, "
                f"ceil_mode={self.ceil_mode}")


class MaxPool2d(_Pool):
    """Max over (kh, kw) windows of (N, C, H, W) or (C, H, W); stride defaults to the kernel.

    Args: kernel_size, stride, padding (-inf, at most half the kernel), dilation;
    return_indices: also return the flat index (row * W + col) of each maximum, for
    :class:`MaxUnpool2d`; ceil_mode (PyTorch's argument order).
    The gradient goes to the first maximum of each window, as in PyTorch.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = bool(return_indices)

    @property
    def _max_pool_plain(self):  # Sequential may run it before a ReLU (see there)
        return not self.return_indices and type(self).forward is MaxPool2d.forward

    def forward(self, input):
        self._check_input(input)
        pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[self.nd]
        return pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                    self.ceil_mode, self.return_indices)


class MaxPool1d(MaxPool2d):
    """Max over windows of (N, C, L) or (C, L); arguments as :class:`MaxPool2d`, ints."""

    nd = 1


class MaxPool3d(MaxPool2d):
    """Max over (kd, kh, kw) windows of (N, C, D, H, W) or (C, D, H, W); arguments as
    :class:`MaxPool2d`, with (d, h, w) triples; indices are flat (d * H * W + h * W + w)."""

    nd = 3


class AvgPool2d(_Pool):
    """Mean over (kh, kw) windows of (N, C, H, W) or (C, H, W).

    Args: kernel_size, stride, padding (zeros), ceil_mode; count_include_pad: divide by the
    full window including padding (PyTorch's default); divisor_override: a fixed divisor.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def extra_repr(self):  # as PyTorch prints it: the arguments as given
        k, s, p, _ = self._given
        return f"kernel_size={k}, stride={s}, padding={p}"

    def forward(self, input):
        self._check_input(input)
        pool = F.avg_pool2d if self.nd == 2 else F.avg_pool3d
        return pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                    self.count_include_pad, self.divisor_override)


class AvgPool3d(AvgPool2d):
    """Mean over (kd, kh, kw) windows of (N, C, D, H, W) or (C, D, H, W); arguments as
    :class:`AvgPool2d`, with (d, h, w) triples."""

    nd = 3


class AvgPool1d(_Pool):
    """Mean over windows of (N, C, L) or (C, L); arguments as :class:`AvgPool2d`, ints."""

    nd = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def extra_repr(self):  # PyTorch's AvgPool1d keeps its arguments as 1-tuples and prints them
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        self._check_input(input)
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


def _adaptive_size(layer, output_size, nd):
    """output_size as given (an int or a tuple of nd entries, each an int >= 1 or None,
    None keeping that input size), validated at construction."""
    vals = (output_size,) * nd if output_size is None or isinstance(output_size, int) \
        else output_size
    ok = isinstance(vals, (tuple, list)) and len(vals) == nd and all(
        v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)
        for v in vals)
    if not ok:
        raise ValueError(f"{layer}: output_size must be an int >= 1, None or a tuple of {nd} "
                         f"of those, got {output_size!r}")
    return output_size if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)


class _Adaptive(Module):
    nd = 2

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _adaptive_size(type(self).__name__, output_size, self.nd)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_Adaptive):
    """Average pooling of (N, C, H, W) or (C, H, W) to (..., oh, ow) whatever H and W are.

    Args: output_size: int or (oh, ow), an entry None keeping that input size; 1 is global
    average pooling.
    """

    def forward(self, input):
        _check_rank(self, input, 2)
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool1d(_Adaptive):
    """Average pooling of (N, C, L) or (C, L) to length output_size."""

    nd = 1

    def forward(self, input):
        _check_rank(self, input, 1)
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool3d(_Adaptive):
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) to (..., od, oh, ow); output_size
    as :class:`AdaptiveAvgPool2d`, with (d, h, w) triples."""

    nd = 3

    def forward(self, input):
        _check_rank(self, input, 3)
        return F.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool2d(_Adaptive):
    """Max pooling of (N, C, H, W) or (C, H, W) to (..., oh, ow) whatever H and W are.

    Args: output_size: as :class:`AdaptiveAvgPool2d`; return_indices: also return the flat
    index of each maximum (for :class:`MaxUnpool2d`).
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = bool(return_indices)

    def forward(self, input):
        _check_rank(self, input, self.nd)
        pool = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d,
                3: F.adaptive_max_pool3d}[self.nd]
        return pool(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """Max pooling of (N, C, L) or (C, L) to length output_size; as
    :class:`AdaptiveMaxPool2d`."""

    nd = 1


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) to (..., od, oh, ow); as
    :class:`AdaptiveMaxPool2d`, indices flat (d * H * W + h * W + w)."""

    nd = 3


class MaxUnpool2d(Module):
    """The partial inverse of MaxPool2d: values back at their indices, zeros elsewhere.

    Args: kernel_size, stride (default kernel_size), padding: those of the MaxPool2d.
    forward(input, indices, output_size=None): input and indices (N, C, H, W) or (C, H, W)
    from ``MaxPool2d(return_indices=True)``; output_size resolves an ambiguous size.
    """

    nd = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        _window(self, kernel_size, stride, padding)

    def forward(self, input, indices, output_size=None):
        _check_rank(self, input, self.nd)
        unpool = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[self.nd]
        return unpool(input, indices, self.kernel_size, self.stride, self.padding,
                      output_size)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


class MaxUnpool1d(MaxUnpool2d):
    """The partial inverse of MaxPool1d over (N, C, L) or (C, L); as :class:`MaxUnpool2d`."""

    nd = 1


class MaxUnpool3d(MaxUnpool2d):
    """The partial inverse of MaxPool3d over (N, C, D, H, W) or (C, D, H, W); as
    :class:`MaxUnpool2d`, with (d, h, w) triples."""

    nd = 3


class LPPool2d(Module):
    """Power-average pooling of (N, C, H, W) or (C, H, W): (sum of x^p over each window)^(1/p).

    Args: norm_type: p, a non-zero number; kernel_size: int or (kh, kw); stride: default
    kernel_size; ceil_mode: keep a last partial window.
    """

    nd = 2

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        name = type(self).__name__
        if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or \
                norm_type == 0:
            raise ValueError(f"{name}: norm_type must be a non-zero number, got {norm_type!r}")
        ntuple(name, "kernel_size", kernel_size, self.nd, 1)
        if stride is not None:
            ntuple(name, "stride", stride, self.nd, 1)
        self.norm_type, self.kernel_size, self.stride = norm_type, kernel_size, stride
        self.ceil_mode = bool(ceil_mode)

    def forward(self, input):
        _check_rank(self, input, self.nd)
        pool = {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d}[self.nd]
        return pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(LPPool2d):
    """Power-average pooling of (N, C, L) or (C, L); arguments as :class:`LPPool2d`, ints."""

    nd = 1


class LPPool3d(LPPool2d):
    """Power-average pooling of (N, C, D, H, W) or (C, D, H, W); arguments as
    :class:`LPPool2d`, with (d, h, w) triples."""

    nd = 3

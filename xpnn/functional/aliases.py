"""torch.nn.functional's alternative spellings of existing ops: the in-place activations
(``relu_`` ...), the ``*_with_indices`` pooling forms, and the deprecated ``upsample*``
functions (which warn, then call :func:`interpolate`, as PyTorch's do).

Each is a thin call into the op it names, so values, gradients and graph recording are that
op's; nothing here is on a hot path of the existing layers.
"""
from __future__ import annotations

import warnings

from .activation import _in_place, celu, elu, hardtanh, leaky_relu, relu, selu, threshold
from .dropout import rrelu
from .pool import max_pool1d, max_pool2d
from .pool3d import adaptive_max_pool3d, max_pool3d
from .pool_indexed import adaptive_max_pool1d, adaptive_max_pool2d
from .upsampling import interpolate

# -- in-place activations: ``input`` becomes the activation of itself and is returned ----


def relu_(input):
    """In-place :func:`relu` (``F.relu(input, inplace=True)``)."""
    return relu(input, inplace=True)


def elu_(input, alpha=1.0):
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def selu_(input):
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu_(input, alpha=1.0):
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def threshold_(input, threshold, value):
    """In-place :func:`threshold`: entries <= ``threshold`` become ``value``."""
    return _threshold(input, threshold, value, inplace=True)


_threshold = threshold


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In-place :func:`rrelu` (recorded in the graph; refused on a leaf that requires
    grad, as every in-place op)."""
    return _in_place(rrelu, input, lower, upper, training)


# -- pooling that always returns (values, indices) ----------------------------------------


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """:func:`max_pool1d` returning ``(values, int64 indices)`` whatever ``return_indices``
    says (PyTorch's signature keeps the flag, unused)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """:func:`max_pool2d` returning ``(values, int64 indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """:func:`max_pool3d` returning ``(values, int64 indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """:func:`adaptive_max_pool1d` returning ``(values, int64 indices)``."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """:func:`adaptive_max_pool2d` returning ``(values, int64 indices)``."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """:func:`adaptive_max_pool3d` returning ``(values, int64 indices)``."""
    return adaptive_max_pool3d(input, output_size, True)


# -- deprecated resampling spellings ------------------------------------------------------


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated spelling of :func:`interpolate` (warns, as PyTorch does)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate "
                  "instead.", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode="nearest")``."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use "
                  "nn.functional.interpolate instead.", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode="bilinear",
    align_corners=True)`` (PyTorch's choice of corners for this spelling)."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use "
                  "nn.functional.interpolate instead.", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)

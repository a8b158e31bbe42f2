"""Folding an eval-mode batch normalization into the convolution or linear layer before it
(PyTorch's ``torch.nn.utils.fusion``): one layer computing the same function, for inference.

With s = gamma / sqrt(running_var + eps) per channel: W' = W * s (along the output channels)
and b' = (b - running_mean) * s + beta.
"""
from __future__ import annotations

import copy

from ... import creation
from ..module import Parameter


def _check_eval(fn, layer, bn):
    if layer.training or bn.training:
        raise AssertionError(f"{fn}: Fusion only for eval! Call .eval() on both modules "
                             f"(training: {type(layer).__name__}={layer.training}, "
                             f"{type(bn).__name__}={bn.training})")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError(f"{fn}: bn.running_mean and bn.running_var must not be None "
                             "(track_running_stats=True is needed)")


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of ``conv`` (eval mode) whose weight and bias include ``bn`` (eval mode).

    Args:
        conv: a convolution (ConvNd or, with ``transpose=True``, ConvTransposeNd).
        bn: the BatchNorm after it, with running statistics.
        transpose: whether the weight's output channels are its axis 1 (transposed).
    Returns:
        A new convolution; ``conv`` and ``bn`` are unchanged.
    """
    _check_eval("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight,
        bn.bias, transpose)
    return fused


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The fused convolution's (weight, bias) as Parameters (see the module docstring).

    Args:
        conv_w: (C_out, C_in/groups, *k), or (C_in, C_out/groups, *k) with ``transpose``.
        conv_b: (C_out,) or None. bn_rm, bn_rv: (C_out,) running mean and variance.
        bn_eps: float. bn_w, bn_b: (C_out,) affine weight and bias, or None.
    Returns:
        (Parameter like conv_w, Parameter (C_out,) of conv_b's dtype, else conv_w's).
    """
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    conv_b = creation.zeros_like(bn_rm) if conv_b is None else conv_b
    bn_w = creation.ones_like(bn_rm) if bn_w is None else bn_w
    bn_b = creation.zeros_like(bn_rm) if bn_b is None else bn_b
    rsqrt = (bn_rv + bn_eps).rsqrt()
    shape = ((1, -1) if transpose else (-1, 1)) + (1,) * (conv_w.ndim - 2)
    w = (conv_w * (bn_w * rsqrt).reshape(shape)).to(dtype=w_dtype)
    b = ((conv_b - bn_rm) * rsqrt * bn_w + bn_b).to(dtype=b_dtype)
    return Parameter(w, conv_w.requires_grad), Parameter(b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` (eval mode) whose weight and bias include ``bn`` (eval mode,
    ``num_features`` equal to ``linear.out_features``, or 1).

    Returns:
        A new Linear; ``linear`` and ``bn`` are unchanged.
    """
    _check_eval("fuse_linear_bn_eval", linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(f"fuse_linear_bn_eval: to fuse, linear.out_features == "
                             f"bn.num_features or bn.num_features == 1, got "
                             f"linear.out_features={linear.out_features} and "
                             f"bn.num_features={bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight,
        bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The fused Linear's (weight, bias) as Parameters.

    Args:
        linear_w: (out, in). linear_b: (out,) or None. bn_rm, bn_rv, bn_w, bn_b: (out,) or
        (1,), the BatchNorm's running statistics and affine parameters. bn_eps: float.
    Returns:
        (Parameter (out, in), Parameter (out,)).
    """
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    linear_b = creation.zeros_like(bn_rm) if linear_b is None else linear_b
    scale = bn_w * (bn_rv + bn_eps).rsqrt()
    w = linear_w * scale.unsqueeze(-1).to(dtype=w_dtype)
    b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=b_dtype)
    return Parameter(w, linear_w.requires_grad), Parameter(b, linear_b.requires_grad)


__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]

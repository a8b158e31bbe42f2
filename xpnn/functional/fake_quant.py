"""Fake quantization, as ``torch.fake_quantize_per_tensor_affine`` and
``torch.fake_quantize_per_channel_affine``: quantize to integers in [quant_min, quant_max]
and dequantize back, in the input's float dtype, with the straight-through gradient of
quantization-aware training (Jacob et al., 2018, https://arxiv.org/abs/1712.05877).

PyTorch's kernels, reproduced value for value: the scale is read as float32 and its inverse
``1 / scale`` taken in float32; q = round_half_even(x * inv) + zero_point (an integer zero
point) or round_half_even(x * inv + zero_point) (a float one, per channel); the output is
(clamp(q, quant_min, quant_max) - zero_point) * scale, and the gradient passes where q fell
inside [quant_min, quant_max] (a NaN input gives quant_min and no gradient). Per tensor the
arithmetic is float32's for every input dtype (a float64 input gets float32 values back, in
float64), per channel the input's (float32 for half and bfloat16).
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor
from .compare import where


class FakeQuantize(Function):
    saved_inputs = ()

    def forward(self, X, scale=None, zero_point=None, qmin=0, qmax=0, float_zp=False,
                in_float32=False):
        xp = self.xp
        # half and bfloat16 compute in float32, as PyTorch's kernels; so does every dtype
        # per tensor (PyTorch's float64 results are float32 values there)
        wide = X.dtype if X.dtype in (xp.float32, xp.float64) and not in_float32 else \
            xp.float32
        inv = xp.astype(1.0 / scale, wide)           # float32's inverse, as PyTorch's
        scale, zp = xp.astype(scale, wide), xp.astype(zero_point, wide)
        Xw = xp.astype(X, wide)
        Q = xp.round(Xw * inv + zp) if float_zp else xp.round(Xw * inv) + zp
        inside = (Q >= qmin) & (Q <= qmax)           # False at NaN and at +-inf
        if self.record:
            self.inside = inside
        Q = xp.clip(xp.where(xp.isnan(Q), xp.asarray(qmin, dtype=wide, device=X.device), Q),
                    float(qmin), float(qmax))
        if float_zp:  # PyTorch's (q - zp) * scale in double, rounded once: q - zp is inexact
            Q, zp, scale = (xp.astype(v, xp.float64) for v in (Q, zp, scale))
        return xp.astype((Q - zp) * scale, X.dtype)

    def backward(self, dY):
        return dY * self.xp.astype(self.inside, dY.dtype)

    def backward_graph(self, dY):
        return where(self.inside, dY, 0.0)


def _input(name, input):
    x = as_tensor(input, op=name)
    if not x._be.is_floating(x.dtype):
        raise NotImplementedError(f"{name}: expected a floating point input, got "
                                  f"{B.dtype_name(x.dtype)}")
    return x


def _check_range(name, quant_min, quant_max):
    if quant_min > quant_max:
        raise RuntimeError(f"{name}: `quant_min` should be less than or equal to "
                           f"`quant_max` (got {quant_min} and {quant_max})")


def _qparam(name, arg, value, x, dtypes):
    """A scale or zero point as an array on ``x``'s device, of its float32 / int32 kind."""
    if isinstance(value, TensorBase):
        if value.requires_grad:
            raise RuntimeError(f"{name}: not differentiable with respect to argument "
                               f"'{arg}'; this input cannot have requires_grad=True")
        kind = B.dtype_name(value.dtype)
        if kind not in dtypes:
            raise RuntimeError(f"{name}: {arg} must be {' or '.join(dtypes)}, found {kind}")
        return value.array
    return x.xp.asarray(value, dtype=getattr(x.xp, dtypes[0]), device=x.device)


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max):
    """Quantize ``input`` to integers with one ``scale`` and ``zero_point`` and dequantize
    back (``torch.fake_quantize_per_tensor_affine``).

    Args:
        input: a floating tensor, any shape.
        scale: a float, or a one-element float32 tensor.
        zero_point: an int in [quant_min, quant_max], or a one-element int32 (or float)
            tensor.
        quant_min, quant_max: the integer range (0, 255 for uint8; -128, 127 for int8).
    Returns:
        A tensor of ``input``'s shape and dtype; its gradient is ``input``'s where the
        rounded value fell inside the range, zero elsewhere.
    """
    name = "fake_quantize_per_tensor_affine"
    x = _input(name, input)
    _check_range(name, quant_min, quant_max)
    for arg, value in (("scale", scale), ("zero_point", zero_point)):
        if isinstance(value, TensorBase) and value.numel() != 1:
            raise RuntimeError(f"{name}: {arg} must hold one element, got shape "
                               f"{tuple(value.shape)}")
    if not isinstance(zero_point, TensorBase) and not quant_min <= zero_point <= quant_max:
        raise RuntimeError(f"{name}: `zero_point` must be between `quant_min` and "
                           f"`quant_max` (got {zero_point} outside [{quant_min}, "
                           f"{quant_max}])")
    xp = x.xp
    s = xp.reshape(_qparam(name, "scale", scale, x, ("float32", "float64")), ())
    z = xp.reshape(_qparam(name, "zero_point", zero_point, x,
                           ("int32", "int64", "float32", "float16")), ())
    s = xp.astype(s, xp.float32)
    return FakeQuantize.apply(x, scale=s, zero_point=z, qmin=quant_min, qmax=quant_max,
                              in_float32=True)


def fake_quantize_per_channel_affine(input, scale, zero_point, axis, quant_min, quant_max):
    """Quantize ``input`` with one ``scale`` and ``zero_point`` per slice along ``axis`` and
    dequantize back (``torch.fake_quantize_per_channel_affine``).

    Args:
        input: a floating tensor.
        scale: a 1-D float32 tensor of ``input.shape[axis]`` scales.
        zero_point: a 1-D int32 (or float32 / float16) tensor of as many zero points, in
            [quant_min, quant_max].
        axis: the channel dim, in [0, input.dim()).
        quant_min, quant_max: the integer range.
    Returns:
        A tensor of ``input``'s shape and dtype, with the straight-through gradient.
    """
    name = "fake_quantize_per_channel_affine"
    x = _input(name, input)
    _check_range(name, quant_min, quant_max)
    if not isinstance(scale, TensorBase) or not isinstance(zero_point, TensorBase):
        raise TypeError(f"{name}: scale and zero_point must be tensors, got "
                        f"{type(scale).__name__} and {type(zero_point).__name__}")
    if scale.ndim != 1:
        raise RuntimeError(f"{name}: scale should be a 1-D tensor, got shape "
                           f"{tuple(scale.shape)}")
    if zero_point.ndim != 1:
        raise RuntimeError(f"{name}: zero_point should be a 1-D tensor, got shape "
                           f"{tuple(zero_point.shape)}")
    if not 0 <= axis < x.ndim:
        raise RuntimeError(f"{name}: `axis` must be between 0 and number of dimensions of "
                           f"input ({x.ndim}), got {axis}")
    if scale.shape[0] != zero_point.shape[0]:
        raise RuntimeError(f"{name}: scale and zero-point need to have the same dimensions, "
                           f"got {tuple(scale.shape)} and {tuple(zero_point.shape)}")
    if scale.shape[0] != x.shape[axis]:
        raise RuntimeError(f"{name}: dimensions of scale and zero-point are not consistent "
                           f"with input tensor: {scale.shape[0]} channels for input shape "
                           f"{tuple(x.shape)} on axis {axis}")
    xp = x.xp
    s = _qparam(name, "scale", scale, x, ("float32", "bfloat16"))
    z = _qparam(name, "zero_point", zero_point, x, ("int32", "float32", "float16"))
    if zero_point.numel() and (int(xp.min(z)) < quant_min or int(xp.max(z)) > quant_max):
        raise RuntimeError(f"{name}: `zero_point` must be between `quant_min` and "
                           f"`quant_max` ([{quant_min}, {quant_max}])")
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    s = xp.reshape(xp.astype(s, xp.float32), tuple(shape))
    return FakeQuantize.apply(x, scale=s, zero_point=xp.reshape(z, tuple(shape)),
                              qmin=quant_min, qmax=quant_max,
                              float_zp=B.dtype_name(zero_point.dtype) != "int32")

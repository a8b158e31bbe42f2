"""Normalization layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, RMSNorm,
GroupNorm, LocalResponseNorm (PyTorch names, defaults and buffers)."""
from __future__ import annotations

import warnings

from .. import functional as F
from .._errors import ShapeError
from . import init
from .module import Module, check_int, new_parameter, placement


def _check_eps(name, eps):
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps <= 0:
        raise ValueError(f"{name}: eps must be a number > 0, got {eps!r}")
    return float(eps)


class _NormBase(Module):
    """Shared by the batch and instance norms (PyTorch's _NormBase): weight, bias,
    running_mean/var, num_batches_tracked."""

    ranks = (4,)
    dims = "(N, C, H, W)"
    _optional_state = ("num_batches_tracked",)  # older checkpoints lack it (PyTorch too)
    _version = 2  # state_dict()._metadata's version, as PyTorch's _NormBase

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, bias=True, backend=None, device=None, dtype=None):
        super().__init__()
        self._setup(num_features, eps, momentum, affine, track_running_stats, bias, backend,
                    device, dtype)

    def _setup(self, num_features, eps, momentum, affine, track_running_stats, bias, backend,
               device, dtype):
        name = type(self).__name__
        self.num_features = check_int(name, "num_features", num_features)
        self.eps = _check_eps(name, eps)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(
                momentum, (int, float)) or not 0 <= momentum <= 1):
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        shape = (num_features,)
        self.weight = new_parameter(shape, backend, device, dtype) if affine else None
        self.bias = new_parameter(shape, backend, device, dtype) if affine and bias else None
        if track_running_stats:
            be, dt = placement(backend, device, dtype)
            xp = be.xp
            self.register_buffer("running_mean", xp.zeros(shape, dtype=dt, device=be.device))
            self.register_buffer("running_var", xp.ones(shape, dtype=dt, device=be.device))
            self.register_buffer("num_batches_tracked",
                                 xp.zeros((), dtype=xp.int64, device=be.device))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self.reset_parameters()

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches tracked (with running stats)."""
        if self.track_running_stats:  # buffers: nothing is recorded
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        """The running statistics reset, weight 1 and bias 0 (as PyTorch's)."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        if input.ndim not in self.ranks or input.shape[1] != self.num_features:
            raise ShapeError(f"{self!r}: expected input {self.dims} with C={self.num_features}"
                             f", got shape {input.shape}")
        use_batch = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average: weight 1/batches seen
                xp = self.running_mean.xp
                momentum = 1 / xp.astype(self.num_batches_tracked.array,
                                         self.running_mean.dtype)
        track = self.training and self.track_running_stats
        return F.batch_norm(input, self.running_mean if track or not use_batch else None,
                            self.running_var if track or not use_batch else None,
                            self.weight, self.bias, use_batch, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """BatchNorm1d/2d/3d and SyncBatchNorm (PyTorch's _BatchNorm, which isinstance checks
    name to find them; the instance norms are _NormBase only, as PyTorch's)."""


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W): statistics per channel over N, H and W.

    Args:
        num_features: C.
        eps: added to the variance.
        momentum: running = (1 - momentum) running + momentum * batch (unbiased variance);
            None: a cumulative average.
        affine: learn weight (ones) and bias (zeros).
        track_running_stats: keep running statistics for eval; if False, eval also uses
            batch statistics.
        bias: with ``affine``, learn the bias too (False: weight alone).
        backend, device, dtype: where parameters and buffers live.
    Buffers: running_mean, running_var, num_batches_tracked (as PyTorch's state_dict).
    """


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L); arguments as :class:`BatchNorm2d`."""

    ranks = (2, 3)
    dims = "(N, C) or (N, C, L)"


class BatchNorm3d(_BatchNorm):
    """Batch normalization over (N, C, D, H, W); arguments as :class:`BatchNorm2d`."""

    ranks = (5,)
    dims = "(N, C, D, H, W)"


class _InstanceNorm(_NormBase):
    """Shared by InstanceNorm1d/2d/3d: torch's defaults (no affine, no running statistics);
    an input with one dim fewer is a single unbatched sample."""

    spatial = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, *, bias=True, backend=None, device=None,
                 dtype=None):
        Module.__init__(self)
        self._setup(num_features, eps, momentum, affine, track_running_stats, bias, backend,
                    device, dtype)

    def forward(self, input):
        name, k = type(self).__name__, self.spatial
        if input.ndim not in (k + 1, k + 2):
            dims = {1: "L", 2: "H, W", 3: "D, H, W"}[k]
            raise ShapeError(f"{self!r}: expected input (N, C, {dims}) or unbatched "
                             f"(C, {dims}), got shape {input.shape}")
        unbatched = input.ndim == k + 1
        if unbatched:
            input = F.unsqueeze(input, 0)
        if input.shape[1] != self.num_features:
            if self.affine or self.track_running_stats:
                raise ShapeError(f"{self!r}: expected input with C={self.num_features} at "
                                 f"dim {0 if unbatched else 1}, got shape "
                                 f"{input.shape[1:] if unbatched else input.shape}")
            warnings.warn(f"{name}: input has {input.shape[1]} channels but num_features="
                          f"{self.num_features}; num_features is unused with affine=False "
                          "and track_running_stats=False", UserWarning, stacklevel=2)
        use_input_stats = self.training or not self.track_running_stats
        y = F.instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats, 0.0 if self.momentum is None else self.momentum,
                            self.eps)
        return F.squeeze(y, 0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization over (N, C, L) or unbatched (C, L): each (sample, channel)
    row standardized over its positions.

    Args:
        num_features: C.
        eps: added to the variance.
        momentum: for the running statistics (None counts as 0, as in torch).
        affine: learn per-channel weight (ones) and bias (zeros); default False.
        track_running_stats: keep running_mean/running_var (batch averages of the instance
            statistics) and use them in eval; default False.
        backend, device, dtype: where parameters and buffers live.
    """

    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization over (N, C, H, W) or (C, H, W); arguments as
    :class:`InstanceNorm1d`."""


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization over (N, C, D, H, W) or (C, D, H, W); arguments as
    :class:`InstanceNorm1d`."""

    spatial = 3


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` dims.

    Args:
        normalized_shape: int or tuple of ints >= 1.
        eps: added to the variance.
        elementwise_affine: learn weight (ones) and bias (zeros) of normalized_shape.
        bias: learn the bias (with elementwise_affine).
    Shapes: (..., *normalized_shape) -> the same.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *,
                 backend=None, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        for n in shape:
            check_int("LayerNorm", "normalized_shape", n)
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must not be empty")
        self.normalized_shape, self.eps = shape, _check_eps("LayerNorm", eps)
        self.elementwise_affine = bool(elementwise_affine)
        affine = self.elementwise_affine
        self.weight = new_parameter(shape, backend, device, dtype) if affine else None
        self.bias = new_parameter(shape, backend, device, dtype) if affine and bias else None
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input):
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
            raise ShapeError(f"{self!r}: input of shape {input.shape} does not end with "
                             f"{self.normalized_shape}")
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """Root mean square normalization over the trailing ``normalized_shape`` dims.

    Args:
        normalized_shape: int or tuple of ints >= 1.
        eps: added to the mean square; None: the machine epsilon of the input's dtype.
        elementwise_affine: learn a weight (ones) of normalized_shape.
    Shapes: (..., *normalized_shape) -> the same.
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, *, backend=None,
                 device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        for n in shape:
            check_int("RMSNorm", "normalized_shape", n)
        if not shape:
            raise ValueError("RMSNorm: normalized_shape must not be empty")
        self.normalized_shape = shape
        self.eps = None if eps is None else _check_eps("RMSNorm", eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = new_parameter(shape, backend, device, dtype) if elementwise_affine \
            else None
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x):  # PyTorch's RMSNorm names its argument x
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Group normalization: per sample, over groups of channels and all positions.

    Args:
        num_groups: divides num_channels.
        num_channels: C.
        eps: added to the variance.
        affine: learn per-channel weight (ones) and bias (zeros).
        bias: with ``affine``, learn the bias too.
    Shapes: (N, C, *) -> the same.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, bias=True,
                 backend=None, device=None, dtype=None):
        super().__init__()
        self.num_groups = check_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = check_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups={num_groups} must divide "
                             f"num_channels={num_channels}")
        self.eps, self.affine = _check_eps("GroupNorm", eps), bool(affine)
        shape = (num_channels,)
        self.weight = new_parameter(shape, backend, device, dtype) if affine else None
        self.bias = new_parameter(shape, backend, device, dtype) if affine and bias else None
        if affine:
            init.ones_(self.weight)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ShapeError(f"{self!r}: expected input (N, C, ...) with C={self.num_channels}"
                             f", got shape {input.shape}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class LocalResponseNorm(Module):
    """Local response normalization across channels (AlexNet): x divided by
    (k + alpha / size * sum of x^2 over ``size`` neighbouring channels) ^ beta.

    Args: size: channels in the sum (int >= 1); alpha, beta, k: the constants.
    Shapes: (N, C, *) with at least one dim after C -> the same.
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = check_int("LocalResponseNorm", "size", size)
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

"""The per-sample normalizations: layer_norm and rms_norm (over trailing dims) and group_norm
(over groups of channels; instance_norm in norm.py uses it with one group per channel), one
Function each (LayerNorm, RMSNorm, GroupNorm) with its backward, on the shared statistics
of norm_stats.py."""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, as_tensor
from .broadcast import quiet
from .._errors import DtypeError, ShapeError
from .norm_stats import (_affine, _affine_grads, _affine_grads_graph, _channel_shape, _stats,
                         _stats_graph, _standardized_backward, _standardized_backward_graph,
                         _trailing)


@quiet
class LayerNorm(Function):
    """Normalize over the last k axes; weight and bias have those k axes' shape."""

    saved_inputs = (1,)

    def forward(self, X, *params, k=1, eps=1e-5, affine=()):
        xp = self.xp
        named = dict(zip(affine, params))
        self.axes = tuple(range(X.ndim - k, X.ndim))
        C, _, inv = _stats(xp, X, self.axes, eps)
        Xhat = C * inv
        self.Xhat, self.inv, self.affine, self.eps = Xhat, inv, affine, eps
        self.W = named.get("weight")
        Y = Xhat if self.W is None else Xhat * self.W
        return Y + named["bias"] if "bias" in named else Y

    def backward(self, dY):
        xp, Xhat = self.xp, self.Xhat
        lead = tuple(range(dY.ndim - len(self.axes)))
        dX = None
        if self.needs[0]:
            dXhat = dY if self.W is None else dY * self.W
            dX = _standardized_backward(xp, dXhat, Xhat, self.inv, self.axes)
        grads = {"weight": xp.sum(dY * Xhat, axis=lead) if "weight" in self.affine else None,
                 "bias": xp.sum(dY, axis=lead) if "bias" in self.affine else None}
        return (dX,) + _affine_grads(self.needs, self.affine, grads)

    def backward_graph(self, dY):
        """backward in recorded ops (create_graph), the statistics recomputed from X."""
        X = self.inputs[0]
        W = dict(zip(self.affine, self.inputs[1:])).get("weight")
        Xhat, inv = _stats_graph(X, self.axes, self.eps)
        dX = None
        if self.needs[0]:
            dX = _standardized_backward_graph(dY if W is None else dY * W, Xhat, inv,
                                              self.axes)
        lead = tuple(range(dY.ndim - len(self.axes)))
        tie = (X,) if W is None else (X, W)  # native_layer_norm_backward's inputs
        return (dX,) + _affine_grads_graph(self.needs, self.affine, dY, Xhat, lead, tie)


@quiet
class RMSNorm(Function):
    """Scale by the root mean square over the last k axes, Xhat = X * r with
    r = 1 / sqrt(mean(X^2) + eps), then ``* weight``. With G = dY * weight and M values per
    statistic, dX = r * (G - Xhat * mean(G * Xhat)) (r depends on X through mean(X^2))."""

    saved_inputs = (1,)

    def forward(self, X, *params, k=1, eps=None):
        xp = self.xp
        self.axes = tuple(range(X.ndim - k, X.ndim))
        self.r = 1 / xp.sqrt(xp.mean(X * X, axis=self.axes, keepdims=True) + eps)
        self.eps = eps
        self.Xhat = X * self.r
        self.W = params[0] if params else None
        return self.Xhat if self.W is None else self.Xhat * self.W

    def backward(self, dY):
        xp, Xhat = self.xp, self.Xhat
        dX = dW = None
        if self.needs[0]:
            G = dY if self.W is None else dY * self.W
            dX = self.r * (G - Xhat * xp.mean(G * Xhat, axis=self.axes, keepdims=True))
        if self.W is not None and self.needs[1]:
            dW = xp.sum(dY * Xhat, axis=tuple(range(dY.ndim - len(self.axes))))
        return (dX,) if self.W is None else (dX, dW)

    def backward_graph(self, dY):
        from .graph_misc import rms_norm_graph  # r and Xhat recomputed, recorded
        return rms_norm_graph(self, dY)


@quiet
class GroupNorm(Function):
    """Normalize each sample over groups of C/G channels (and all spatial positions)."""

    saved_inputs = (1,)

    def forward(self, X, *params, groups=1, eps=1e-5, affine=()):
        xp = self.xp
        named = dict(zip(affine, params))
        self.shape = X.shape
        per_group = math.prod(X.shape[1:]) // groups
        Xg = xp.reshape(X, (X.shape[0], groups, per_group))
        C, _, inv = _stats(xp, Xg, (2,), eps)
        Xhat = xp.reshape(C * inv, X.shape)
        cs = _channel_shape(X.ndim)
        self.Xhat, self.inv, self.groups, self.affine = Xhat, inv, groups, affine
        self.eps = eps
        self.W = xp.reshape(named["weight"], cs) if "weight" in named else None
        Y = Xhat if self.W is None else Xhat * self.W
        return Y + xp.reshape(named["bias"], cs) if "bias" in named else Y

    def backward(self, dY):
        xp, Xhat, N = self.xp, self.Xhat, dY.shape[0]
        axes = (0,) + tuple(range(2, dY.ndim))
        dX = None
        if self.needs[0]:
            dXhat = dY if self.W is None else dY * self.W
            g = (N, self.groups, math.prod(self.shape[1:]) // self.groups)
            dX = _standardized_backward(xp, xp.reshape(dXhat, g), xp.reshape(Xhat, g),
                                        self.inv, (2,))
            dX = xp.reshape(dX, self.shape)
        grads = {"weight": xp.sum(dY * Xhat, axis=axes) if "weight" in self.affine else None,
                 "bias": xp.sum(dY, axis=axes) if "bias" in self.affine else None}
        return (dX,) + _affine_grads(self.needs, self.affine, grads)

    def backward_graph(self, dY):
        """backward in recorded ops (create_graph), the statistics recomputed from X."""
        X = self.inputs[0]
        W = dict(zip(self.affine, self.inputs[1:])).get("weight")
        g = (X.shape[0], self.groups, math.prod(X.shape[1:]) // self.groups)
        Xhat_g, inv = _stats_graph(X.reshape(g), (2,), self.eps)
        Xhat = Xhat_g.reshape(X.shape)
        dX = None
        if self.needs[0]:
            dXhat = dY if W is None else dY * W.reshape(_channel_shape(X.ndim))
            dX = _standardized_backward_graph(dXhat.reshape(g), Xhat_g, inv,
                                              (2,)).reshape(X.shape)
        axes = (0,) + tuple(range(2, X.ndim))
        return (dX,) + _affine_grads_graph(self.needs, self.affine, dY, Xhat, axes)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization (Ba et al. 2016), as ``torch.nn.functional.layer_norm``.

    Args:
        x: (..., *normalized_shape).
        normalized_shape: int or tuple, the trailing dims to normalize over.
        weight, bias: normalized_shape, or None.
    Returns:
        Tensor shaped like x.
    """
    x = as_tensor(x, op="layer_norm")
    shape = _trailing("layer_norm", x, normalized_shape)
    k = len(shape)
    args, affine = _affine("layer_norm", x, weight, bias, shape)
    return LayerNorm.apply(*args, k=k, eps=eps, affine=affine)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Root mean square layer normalization (Zhang & Sennrich 2019), as
    ``torch.nn.functional.rms_norm``: x / sqrt(mean(x^2) + eps) * weight over the trailing
    dims, with no centering and no bias.

    Args:
        input: (..., *normalized_shape), floating.
        normalized_shape: int or tuple, the trailing dims to normalize over.
        weight: normalized_shape, or None.
        eps: added to the mean square; None: the machine epsilon of input's dtype.
    Returns:
        Tensor shaped like input.
    """
    x = as_tensor(input, op="rms_norm")
    if not x._be.is_floating(x.dtype):
        raise DtypeError(f"rms_norm: expected a floating input, got {B.dtype_name(x.dtype)}")
    shape = _trailing("rms_norm", x, normalized_shape)
    k = len(shape)
    args, _ = _affine("rms_norm", x, weight, None, shape)
    if eps is None:
        eps = float(x.xp.finfo(x.dtype).eps)
    return RMSNorm.apply(*args, k=k, eps=eps)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization (Wu & He 2018), as ``torch.nn.functional.group_norm``.

    Args:
        x: (N, C, *).
        num_groups: divides C.
        weight, bias: (C,) or None.
    Returns:
        Tensor shaped like x.
    """
    x = as_tensor(x, op="group_norm")
    if x.ndim < 2:
        raise ShapeError(f"group_norm: expected an input (N, C, ...), got shape {x.shape}")
    C = x.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1 \
            or C % num_groups:
        raise ShapeError(f"group_norm: num_groups={num_groups!r} must be an int >= 1 that "
                         f"divides the {C} channels of input {x.shape}")
    args, affine = _affine("group_norm", x, weight, bias, (C,))
    return GroupNorm.apply(*args, groups=num_groups, eps=eps, affine=affine)

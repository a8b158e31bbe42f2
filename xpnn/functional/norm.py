"""Normalization: batch_norm, layer_norm, group_norm (and instance_norm, which is group_norm
with one group per channel, or batch_norm's eval form with running statistics), rms_norm;
each one node with its backward.

The first three standardize X over some axes, Xhat = (X - mean) / sqrt(var + eps) with the
biased variance, then apply a per-feature affine map. With dXhat = dL/dXhat and M values per
statistic, the chain rule through mean and var gives (Ioffe & Szegedy 2015, eq. after 3)

    dX = inv * (dXhat - mean(dXhat) - Xhat * mean(dXhat * Xhat)),   inv = 1/sqrt(var + eps).

Here: batch_norm (BatchNorm) and instance_norm. layer_norm, rms_norm and group_norm (LayerNorm,
RMSNorm, GroupNorm) are in norm_layer.py, the shared statistics, backward and affine helpers
in norm_stats.py; all re-exported here.
"""
from __future__ import annotations

import math

from ..autograd import Function, as_tensor, raw
from .broadcast import quiet
from .._errors import ShapeError
from .first_order import link
# re-exported where norm.py held them before the split (nn/sync_batchnorm.py, onnx, functional)
from .norm_stats import (_affine, _affine_grads, _affine_grads_graph, _channel_shape,  # noqa: F401
                         _standardized_backward, _standardized_backward_graph, _stats,
                         _stats_graph, _trailing, from_per_channel, per_channel)
from .norm_layer import (GroupNorm, LayerNorm, RMSNorm, group_norm, layer_norm,  # noqa: F401
                         rms_norm)


@quiet
class BatchNorm(Function):
    """Normalize over every axis but 1 (channels) with given statistics: the batch's in
    training (the gradient then flows through them), the running ones in eval; then
    ``* weight + bias`` per channel (``affine`` names which of the two were passed).

    In training, :func:`batch_norm` passes the centered input ``Xc = X - mean`` as a
    (C, M) matrix; per-channel sums are then row sums and row dot products (``vecdot``),
    one pass each, with no temporaries the size of X.
    """

    saved_inputs = ()

    def forward(self, X, *params, mean=None, inv=None, xc=None, affine=(), eps=1e-5):
        xp = self.xp
        named = dict(zip(affine, params))
        W, B = named.get("weight"), named.get("bias")
        self.affine, self.shape, self.eps = affine, X.shape, eps
        scale = inv if W is None else W * inv
        self.inv, self.scale, self.training = inv, scale, xc is not None
        if xc is not None:  # training: Y = Xc * scale + b, in (C, M) order
            self.Xc = xc
            Ym = xc * xp.reshape(scale, (-1, 1))
            if B is not None:
                Ym += xp.reshape(B, (-1, 1))  # Ym is fresh: in place saves a pass
            return from_per_channel(xp, Ym, X.shape)
        # eval: Y = X * scale + (b - mean * scale), broadcast in X's own order
        cs = _channel_shape(X.ndim)
        shift = -mean * scale if B is None else B - mean * scale
        self.X, self.mean = X, mean
        return X * xp.reshape(scale, cs) + xp.reshape(shift, cs)

    def backward(self, dY):
        xp, need = self.xp, dict(zip(self.affine, self.needs[1:]))
        need_w, need_b = need.get("weight", False), need.get("bias", False)
        dYm = per_channel(xp, dY)
        M = dYm.shape[1]
        sum_dy = xp.sum(dYm, axis=1) if (need_b or self.training) else None
        if self.training:
            Xc = self.Xc
        elif need_w:
            Xc = per_channel(xp, self.X) - xp.reshape(self.mean, (-1, 1))
        # sum(dY * Xhat) with Xhat = Xc * inv
        sum_dy_xhat = self.inv * xp.vecdot(dYm, Xc, axis=-1) if (need_w or self.training) \
            else None
        dX = None
        if self.needs[0]:
            if self.training:
                # dX = scale * (dY - mean(dY) - Xhat * mean(dY * Xhat))
                b = xp.reshape(self.scale * self.inv * sum_dy_xhat / M, (-1, 1))
                dXm = dYm * xp.reshape(self.scale, (-1, 1))
                dXm -= Xc * b
                dXm -= xp.reshape(self.scale * sum_dy / M, (-1, 1))
                dX = from_per_channel(xp, dXm, self.shape)
            else:  # running statistics are constants
                dX = dY * xp.reshape(self.scale, _channel_shape(dY.ndim))
        return (dX,) + _affine_grads(self.needs, self.affine,
                                     {"weight": sum_dy_xhat, "bias": sum_dy})

    def backward_graph(self, dY):
        """backward in recorded ops (create_graph), the batch statistics recomputed from X;
        running statistics are constants."""
        X = self.inputs[0]
        W = dict(zip(self.affine, self.inputs[1:])).get("weight")
        cs = _channel_shape(X.ndim)
        axes = (0,) + tuple(range(2, X.ndim))
        if self.training:
            Xhat, inv = _stats_graph(X, axes, self.eps)
        else:
            inv = X._result(self.inv, X._be).reshape(cs)
            Xhat = (X - X._result(self.mean, X._be).reshape(cs)) * inv
        dX = None
        if self.needs[0]:
            dXhat = dY if W is None else dY * W.reshape(cs)
            # running statistics: linked to X as an output of PyTorch's backward node
            dX = _standardized_backward_graph(dXhat, Xhat, inv, axes) if self.training \
                else link(dXhat * inv, X, zeros=False)
        tie = (X,) if W is None else (X, W)  # native_batch_norm_backward's inputs
        return (dX,) + _affine_grads_graph(self.needs, self.affine, dY, Xhat, axes, tie)


# -- public functions ----------------------------------------------------------------------


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization (Ioffe & Szegedy 2015), as ``torch.nn.functional.batch_norm``.

    Args:
        input: (N, C), (N, C, L) or (N, C, H, W).
        running_mean, running_var: (C,) arrays or None. In training they are updated in
            place: r = (1 - momentum) r + momentum * batch_stat, with the unbiased batch
            variance; in eval they normalize the input.
        weight, bias: (C,) or None.
        training: use (and return gradients through) the batch statistics.
        momentum: a float, or a 0-d array (a cumulative average passes 1/batches_seen).
        eps: added to the variance.
    Returns:
        Tensor shaped like input.
    """
    x = as_tensor(input, op="batch_norm")
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input (N, C, ...), got shape {x.shape}")
    C = x.shape[1]
    rm, rv = raw(running_mean, x, "batch_norm", "running_mean"), \
        raw(running_var, x, "batch_norm", "running_var")
    for r, name in ((rm, "running_mean"), (rv, "running_var")):
        if r is not None and tuple(r.shape) != (C,):
            raise ShapeError(f"batch_norm: {name} of shape {tuple(r.shape)} does not match "
                             f"the {C} channels of input {x.shape}")
    if not training and (rm is None or rv is None):
        raise ValueError("batch_norm: eval mode needs running_mean and running_var")
    M = math.prod(x.shape) // C
    if training and M == 1:
        raise ShapeError(f"batch_norm: expected more than 1 value per channel in training, got"
                         f" input of shape {x.shape}")
    args, affine = _affine("batch_norm", x, weight, bias, (C,))
    xp = x.xp
    xc = None
    if training and M == 0:  # an empty batch: empty output, running stats kept (as torch)
        mean = xp.sum(per_channel(xp, x.array), axis=1)  # zeros (C,), like x
        inv = mean + 1
    elif training:
        with x._be.quiet():  # a NaN or inf in the batch: NaN statistics, silently as torch
            Xm = per_channel(xp, x.array)
            mean = xp.mean(Xm, axis=1)
            xc = Xm - xp.reshape(mean, (-1, 1))
            var = xp.vecdot(xc, xc, axis=-1) / M  # biased, as the normalization uses
            inv = 1 / xp.sqrt(var + eps)
            if rm is not None:
                rm[...] = (1 - momentum) * rm + momentum * mean
            if rv is not None:
                rv[...] = (1 - momentum) * rv + momentum * (var * (M / (M - 1)))
    else:
        mean, inv = rm, 1 / xp.sqrt(rv + eps)
    return BatchNorm.apply(*args, mean=mean, inv=inv, xc=xc, affine=affine, eps=eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalization (Ulyanov et al. 2016), as ``torch.nn.functional.instance_norm``:
    each (sample, channel) plane is standardized over its own positions.

    Args:
        input: (N, C, *) with at least one position.
        running_mean, running_var: (C,) arrays or None. With use_input_stats they are
            updated in place, r = (1 - momentum) r + momentum * stat, stat being the batch
            average of the per-instance mean and unbiased variance; without, they normalize.
        weight, bias: (C,) or None.
        use_input_stats: normalize with each instance's own statistics (else the running
            ones, which are then constants for the gradient).
        momentum: a float; eps: added to the variance.
    Returns:
        Tensor shaped like input.
    """
    op = "instance_norm"
    x = as_tensor(input, op=op)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected an input (N, C, *) with at least one spatial dim, "
                         f"got shape {x.shape}")
    N, C = x.shape[0], x.shape[1]
    M = math.prod(x.shape[2:])
    rm, rv = raw(running_mean, x, op, "running_mean"), raw(running_var, x, op, "running_var")
    for r, name in ((rm, "running_mean"), (rv, "running_var")):
        if r is not None and tuple(r.shape) != (C,):
            raise ShapeError(f"{op}: {name} of shape {tuple(r.shape)} does not match the {C} "
                             f"channels of input {x.shape}")
    if not use_input_stats:
        if rm is None or rv is None:
            raise ValueError(f"{op}: use_input_stats=False needs running_mean and running_var")
        args, affine = _affine(op, x, weight, bias, (C,))
        xp = x.xp
        return BatchNorm.apply(*args, mean=rm, inv=1 / xp.sqrt(rv + eps), xc=None,
                               affine=affine)
    if M < 2:
        raise ShapeError(f"{op}: expected more than 1 position per instance, got input of "
                         f"shape {x.shape}")
    if rm is not None or rv is not None:
        xp = x.xp
        X = xp.reshape(x.array, (N, C, M))
        if rm is not None:
            rm[...] = (1 - momentum) * rm + momentum * xp.mean(xp.mean(X, axis=2), axis=0)
        if rv is not None:
            var = xp.var(X, axis=2, correction=1)
            rv[...] = (1 - momentum) * rv + momentum * xp.mean(var, axis=0)
    args, affine = _affine(op, x, weight, bias, (C,))
    return GroupNorm.apply(*args, groups=C, eps=eps, affine=affine)

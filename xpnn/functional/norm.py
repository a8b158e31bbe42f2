"""Normalization: batch_norm, layer_norm, group_norm (and instance_norm, which is group_norm
with one group per channel, or batch_norm's eval form with running statistics), rms_norm;
each one node with its backward.

The first three standardize X over some axes, Xhat = (X - mean) / sqrt(var + eps) with the
biased variance, then apply a per-feature affine map. With dXhat = dL/dXhat and M values per
statistic, the chain rule through mean and var gives (Ioffe & Szegedy 2015, eq. after 3)

    dX = inv * (dXhat - mean(dXhat) - Xhat * mean(dXhat * Xhat)),   inv = 1/sqrt(var + eps).
"""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, as_tensor, raw
from .._errors import DtypeError, ShapeError


def _stats(xp, X, axes, eps):
    """(X - mean, biased variance, 1 / sqrt(var + eps)) over ``axes`` (the variance as the
    mean of squares: xp.var warns on torch when there are no values, an empty batch)."""
    C = X - xp.mean(X, axis=axes, keepdims=True)
    var = xp.mean(C * C, axis=axes, keepdims=True)
    return C, var, 1 / xp.sqrt(var + eps)


def _standardized_backward(xp, dXhat, Xhat, inv, axes):
    """dX from dXhat for Xhat standardized over ``axes`` (the formula in the module doc)."""
    m1 = xp.mean(dXhat, axis=axes, keepdims=True)
    m2 = xp.mean(dXhat * Xhat, axis=axes, keepdims=True)
    return inv * (dXhat - m1 - Xhat * m2)


def _stats_graph(X, axes, eps):
    """:func:`_stats` of a Tensor in recorded ops (create_graph): (Xhat, inv)."""
    C = X - X.mean(dim=axes, keepdim=True)
    inv = ((C * C).mean(dim=axes, keepdim=True) + eps).rsqrt()
    return C * inv, inv


def _standardized_backward_graph(dXhat, Xhat, inv, axes):
    """:func:`_standardized_backward` of Tensors, recorded."""
    m1 = dXhat.mean(dim=axes, keepdim=True)
    m2 = (dXhat * Xhat).mean(dim=axes, keepdim=True)
    return inv * (dXhat - m1 - Xhat * m2)


def _affine_grads_graph(needs, affine, dY, Xhat, axes):
    """The weight and bias gradients, recorded: sums of dY * Xhat and dY over ``axes``."""
    def total(t):
        return t.sum(dim=axes) if axes else t
    grads = {"weight": total(dY * Xhat) if "weight" in affine else None,
             "bias": total(dY) if "bias" in affine else None}
    return _affine_grads(needs, affine, grads)


def _channel_shape(ndim):
    return (1, -1) + (1,) * (ndim - 2)


def per_channel(xp, A):
    """(N, C, *S) -> (C, prod(S)*N): channels first, the batch last. Free (a view) when A
    lies in (C, *S, N) memory, as conv outputs do (see conv.py); a copy otherwise."""
    nd = len(A.shape)
    return xp.reshape(xp.permute_dims(A, tuple(range(1, nd)) + (0,)),
                      (A.shape[1], math.prod(A.shape) // max(A.shape[1], 1)))


def from_per_channel(xp, Am, shape):
    """Inverse of :func:`per_channel`: (C, M) -> an (N, C, *S) view."""
    nd = len(shape)
    A = xp.reshape(Am, (shape[1],) + tuple(shape[2:]) + (shape[0],))
    return xp.permute_dims(A, (nd - 1,) + tuple(range(nd - 1)))


def _affine_grads(needs, names, grads):
    """The gradients of the optional affine inputs, in the order they were passed."""
    return tuple(grads[name] if need else None for name, need in zip(names, needs[1:]))


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
            dX = _standardized_backward_graph(dXhat, Xhat, inv, axes) if self.training \
                else dXhat * inv
        return (dX,) + _affine_grads_graph(self.needs, self.affine, dY, Xhat, axes)


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
        return (dX,) + _affine_grads_graph(self.needs, self.affine, dY, Xhat, lead)


class RMSNorm(Function):
    """Scale by the root mean square over the last k axes, Xhat = X * r with
    r = 1 / sqrt(mean(X^2) + eps), then ``* weight``. With G = dY * weight and M values per
    statistic, dX = r * (G - Xhat * mean(G * Xhat)) (r depends on X through mean(X^2))."""

    saved_inputs = (1,)

    def forward(self, X, *params, k=1, eps=None):
        xp = self.xp
        self.axes = tuple(range(X.ndim - k, X.ndim))
        self.r = 1 / xp.sqrt(xp.mean(X * X, axis=self.axes, keepdims=True) + eps)
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


# -- public functions ----------------------------------------------------------------------


def _trailing(op, x, normalized_shape):
    """``normalized_shape`` as a tuple that ends ``x``'s shape, or a ValueError."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ShapeError(f"{op}: input of shape {x.shape} does not end with normalized_shape "
                         f"{shape}")
    return shape


def _affine(op, x, weight, bias, shape):
    """(the Tensors to pass: x, then weight and bias if given, checked against ``shape``;
    the names of the affine ones passed)."""
    args, names = [x], []
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is None:
            continue
        names.append(name)
        if tuple(t.shape) != tuple(shape):
            raise ShapeError(f"{op}: {name} of shape {tuple(t.shape)}, expected {tuple(shape)}"
                             f" for input of shape {x.shape}")
        if t.dtype != x.dtype:
            raise DtypeError(f"{op}: input dtype {x.dtype} differs from {name} dtype {t.dtype}")
        args.append(as_tensor(t, like=x, op=op))
    return args, tuple(names)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization (Ioffe & Szegedy 2015), as ``torch.nn.functional.batch_norm``.

    Args:
        x: (N, C), (N, C, L) or (N, C, H, W).
        running_mean, running_var: (C,) arrays or None. In training they are updated in
            place: r = (1 - momentum) r + momentum * batch_stat, with the unbiased batch
            variance; in eval they normalize x.
        weight, bias: (C,) or None.
        training: use (and return gradients through) the batch statistics.
        momentum: a float, or a 0-d array (a cumulative average passes 1/batches_seen).
        eps: added to the variance.
    Returns:
        Tensor shaped like x.
    """
    x = as_tensor(x, op="batch_norm")
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

"""The per-sample normalizations: layer_norm and rms_norm (over trailing dims) and group_norm
(over groups of channels; instance_norm in norm.py uses it with one group per channel), one
Function each (LayerNorm, RMSNorm, GroupNorm) with its backward, on the shared statistics
of norm_stats.py; layer_norm has native NumPy kernels (``LAYER_NORM``)."""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, as_tensor
from .broadcast import quiet
from .._errors import DtypeError, ShapeError
from .norm_stats import (_affine, _affine_grads, _affine_grads_graph, _channel_shape, _stats,
                         _stats_graph, _standardized_backward, _standardized_backward_graph,
                         _standardized_dx, _trailing)


def _rows(np, A, D):
    """A as an (M, D) matrix of its rows of D values (a view), or None where A's memory is
    not one C-ordered block of a float type NumPy's kernels below are written for."""
    if A.dtype.kind != "f" or A.dtype.itemsize < 4 or not A.flags.c_contiguous or D == 0 \
            or A.size == 0:
        return None
    return A.reshape(A.size // D, D)


def _layer_norm_numpy(be, X, W, b, k, eps):
    """(Y, Xhat, inv) of the portable forward below with fewer passes over memory: the
    row means by one BLAS matrix-vector product and the variance by einsum's fused
    multiply-sum (NumPy's mean of C * C writes and reads a temporary; 2048 x 128 float32:
    167 -> 49 us). Arrays of this size stream from beyond the core's L2 cache, so passes,
    not arithmetic, set the time. None where it does not apply."""
    np = be.lib
    D = math.prod(X.shape[X.ndim - k:])
    X2 = _rows(np, X, D)
    if X2 is None or any(p is not None and p.dtype != X.dtype for p in (W, b)):
        return None
    mean = X2 @ np.ones(D, dtype=X.dtype)
    mean /= D
    Xhat = np.subtract(X2, mean[:, None])
    var = np.einsum("ij,ij->i", Xhat, Xhat)
    var /= D
    var += eps
    inv = np.sqrt(var, out=var)
    np.divide(1, inv, out=inv)
    Xhat *= inv[:, None]
    Y = Xhat if W is None else Xhat * np.reshape(W, (D,))
    if b is not None and Y is Xhat:
        Y = Y + np.reshape(b, (D,))
    elif b is not None:
        Y += np.reshape(b, (D,))
    stat_shape = X.shape[:X.ndim - k] + (1,) * k
    return (np.reshape(Y, X.shape), np.reshape(Xhat, X.shape),
            np.reshape(inv, stat_shape))


def _layer_norm_backward_numpy(be, dY, Xhat, inv, W, k, need_x, need_w, need_b):
    """(dX, dW, db) of the portable backward below, None where not needed, with fewer
    passes: the sums of dY and dY W over a row by BLAS matrix-vector products, those of
    dY Xhat and dXhat Xhat by einsum (no temporaries); dX from them as the portable code
    builds it (norm_stats._standardized_dx).
    None where it does not apply."""
    np = be.lib
    D = math.prod(dY.shape[dY.ndim - k:])
    dY2, Xh = _rows(np, dY, D), _rows(np, Xhat, D)
    if dY2 is None or Xh is None or dY.dtype != Xhat.dtype:
        return None
    dX = dW = db = None
    if need_w:
        dW = np.reshape(np.einsum("ij,ij->j", dY2, Xh), W.shape)
    if need_b:
        db = np.reshape(np.ones(dY2.shape[0], dtype=dY.dtype) @ dY2, dY.shape[dY.ndim - k:])
    if need_x:
        w = np.ones(D, dtype=dY.dtype) if W is None else np.reshape(W, (D,))
        dXhat = dY2 if W is None else dY2 * w
        m1 = dY2 @ w
        m1 /= D
        m2 = np.einsum("ij,ij->i", dXhat, Xh)
        m2 /= D
        dX = np.reshape(_standardized_dx(dXhat, Xh, np.reshape(inv, (-1, 1)), m1[:, None],
                                         m2[:, None]), dY.shape)
    return dX, dW, db


# Native layer norm kernels by backend name: (forward, backward), each None where it does
# not apply; the others (and those cases) take the portable code.
LAYER_NORM = {"numpy": (_layer_norm_numpy, _layer_norm_backward_numpy)}


@quiet
class LayerNorm(Function):
    """Normalize over the last k axes; weight and bias have those k axes' shape."""

    saved_inputs = (1,)

    def forward(self, X, *params, k=1, eps=1e-5, affine=()):
        xp = self.xp
        named = dict(zip(affine, params))
        self.axes = tuple(range(X.ndim - k, X.ndim))
        self.affine, self.eps, self.W = affine, eps, named.get("weight")
        native = LAYER_NORM.get(self.be.name)
        done = native[0](self.be, X, self.W, named.get("bias"), k, eps) if native else None
        if done is not None:
            Y, self.Xhat, self.inv = done
            return Y
        C, _, inv = _stats(xp, X, self.axes, eps)
        Xhat = C * inv
        self.Xhat, self.inv = Xhat, inv
        Y = Xhat if self.W is None else Xhat * self.W
        return Y + named["bias"] if "bias" in named else Y

    def backward(self, dY):
        xp, Xhat = self.xp, self.Xhat
        native = LAYER_NORM.get(self.be.name)
        if native:
            need = dict(zip(self.affine, self.needs[1:]))
            done = native[1](self.be, dY, Xhat, self.inv, self.W, len(self.axes),
                             self.needs[0], need.get("weight", False),
                             need.get("bias", False))
            if done is not None:
                dX, dW, db = done
                return (dX,) + _affine_grads(self.needs, self.affine,
                                             {"weight": dW, "bias": db})
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


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization (Ba et al. 2016), as ``torch.nn.functional.layer_norm``.

    Args:
        input: (..., *normalized_shape).
        normalized_shape: int or tuple, the trailing dims to normalize over.
        weight, bias: normalized_shape, or None.
    Returns:
        Tensor shaped like input.
    """
    x = as_tensor(input, op="layer_norm")
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


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization (Wu & He 2018), as ``torch.nn.functional.group_norm``.

    Args:
        input: (N, C, *).
        num_groups: divides C.
        weight, bias: (C,) or None.
    Returns:
        Tensor shaped like input.
    """
    x = as_tensor(input, op="group_norm")
    if x.ndim < 2:
        raise ShapeError(f"group_norm: expected an input (N, C, ...), got shape {x.shape}")
    C = x.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1 \
            or C % num_groups:
        raise ShapeError(f"group_norm: num_groups={num_groups!r} must be an int >= 1 that "
                         f"divides the {C} channels of input {x.shape}")
    args, affine = _affine("group_norm", x, weight, bias, (C,))
    return GroupNorm.apply(*args, groups=num_groups, eps=eps, affine=affine)

"""Elementwise losses (MSE, L1, Huber, BCE, BCE with logits): a per-element value and its
derivatives in one node (:class:`_Pointwise`), then the reduction; target broadcasting and
dtype promotion as PyTorch's."""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, TensorBase, _mixed, as_tensor, raw
from .broadcast import quiet
from .activation import _sigmoid
from .._errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError
from .loss_reduce import _check_reduction, _reduce_backward, _reduce_forward, legacy_reduction


@quiet
class _Pointwise(Function):
    """A loss made of a per-element value and its derivatives, then a reduction."""

    def forward(self, X, T, reduction="mean", **kw):
        L, self.dX, self.dT = self.pointwise(self.xp, X, T, **kw)
        self.reduction, self.n, self.kw = reduction, math.prod(X.shape), kw
        return _reduce_forward(self.be, L, reduction, self.n)

    def backward(self, dY):
        g = _reduce_backward(self.be, dY, self.reduction, self.n)
        dT = self.dT * g if self.needs[1] and self.dT is not None else None
        return self.dX * g, dT

    def _graph_factor(self, dY):
        """The reduced output's gradient per element, a Tensor (recorded)."""
        return dY if self.reduction != "mean" else dY / self.n

    def backward_graph(self, dY):
        """backward's product with the derivatives recomputed from the inputs in recorded
        ops (``grads``: Tensors in, dL/dX and dL/dT per element out), for create_graph."""
        if self.grads is None:
            raise NotImplementedError(f"double backward of {type(self).__name__} is not "
                                      "supported by xpnn (create_graph=True)")
        X, T = self.inputs
        G, GT = self.grads(X, T, **self.kw)
        g = self._graph_factor(dY)
        return G * g, (GT * g if self.needs[1] else None)

    grads = None


class MSE(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T):
        D = X - T
        return D * D, 2 * D, -2 * D

    def backward_graph(self, dY):
        """2 (x - t) g for x, its negative for t, recorded."""
        X, T = self.inputs
        dX = (X - T) * (2 * self._graph_factor(dY))
        return dX, (-dX if self.needs[1] else None)


class L1(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T):
        D = X - T
        S = xp.where(xp.isnan(D), xp.zeros_like(D), xp.sign(D))  # sign(NaN) is 0 in PyTorch
        return xp.abs(D), S, -S

    @staticmethod
    def grads(X, T):
        S = (X - T).sign()
        return S, -S


class Huber(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T, delta=1.0):
        D = X - T
        A = xp.abs(D)
        L = xp.where(A < delta, 0.5 * D * D, delta * (A - 0.5 * delta))
        G = xp.clip(D, -delta, delta)
        return L, G, -G

    @staticmethod
    def grads(X, T, delta=1.0):
        G = (X - T).clamp(-delta, delta)
        return G, -G


# PyTorch's 1e-12 floor of P (1 - P) in the BCE gradient, which its kernels hold as a float32
# (float64 gradients at P = 0 or 1 are 1 / 9.999999960041972e-13)
_BCE_EPS = 9.999999960041972e-13


class BCE(_Pointwise):
    @staticmethod
    def pointwise(xp, P, T, weight=None):
        # log clamped at -100 and the derivative's denominator at 1e-12, as PyTorch does
        # (log 0 taken as -100 directly: NumPy warns for log(0); out of [0, 1], on a device
        # where nothing checks it, the log stays NaN)
        some, room = P != 0, P != 1
        logp = xp.maximum(xp.where(some, xp.log(xp.where(some, P, 1.0)), -100.0), -100.0)
        log1mp = xp.maximum(xp.where(room, xp.log1p(xp.where(room, -P, 0.0)), -100.0),
                            -100.0)
        L = -(T * logp + (1 - T) * log1mp)
        G = (P - T) / xp.maximum(P * (1 - P), _BCE_EPS)
        # dL/dT = -logit(P) = log((1 - P) / P), unclamped as PyTorch's: +inf at P == 0,
        # -inf at P == 1
        inside = some & room
        odds = xp.where(inside, P / xp.where(room, 1 - P, 1.0), 1.0)
        inf = xp.full(P.shape, math.inf, dtype=P.dtype, device=P.device)
        GT = xp.where(inside, -xp.log(odds), xp.where(some, -inf, inf))
        if weight is not None:
            L, G, GT = L * weight, G * weight, GT * weight
        return L, G, GT

    @staticmethod
    def grads(P, T, weight=None):
        G = (P - T) / (P * (1 - P)).clamp(min=_BCE_EPS)
        GT = -(P / (1 - P)).log()
        if weight is not None:
            w = P._result(weight, P._be)
            G, GT = G * w, GT * w
        return G, GT


class BCEWithLogits(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T, pos_weight=None, weight=None):
        # -[pw t log s(x) + (1-t) log(1-s(x))], with log s(x) = -softplus(-x) computed stably
        sp_neg = xp.maximum(-X, 0.0) + xp.log1p(xp.exp(-xp.abs(X)))  # softplus(-x)
        S = _sigmoid(xp, X)
        if pos_weight is None:
            L, G, GT = (1 - T) * X + sp_neg, S - T, -X
        else:
            c = 1 + (pos_weight - 1) * T
            L = (1 - T) * X + c * sp_neg
            G = S * c - pos_weight * T
            GT = (pos_weight - 1) * sp_neg - X
        if weight is not None:
            L, G, GT = L * weight, G * weight, GT * weight
        return L, G, GT

    def backward_graph(self, dY):
        """The gradients above, recorded: (sigmoid(x) c - pw t) w g for x, ((pw - 1)
        softplus(-x) - x) w g for t, with c = 1 + (pw - 1) t."""
        from .activation import softplus
        X, T = self.inputs
        pw, w = self.kw.get("pos_weight"), self.kw.get("weight")
        g = self._graph_factor(dY)
        if w is not None:
            g = g * X._result(w, X._be)
        if pw is None:
            return (X.sigmoid() - T) * g, (-X * g if self.needs[1] else None)
        pw = X._result(pw, X._be)
        dX = (X.sigmoid() * (1 + (pw - 1) * T) - pw * T) * g
        return dX, (((pw - 1) * softplus(-X) - X) * g if self.needs[1] else None)


# losses that broadcast a target of another shape with PyTorch's warning; the BCE pair
# refuses one, soft_margin_loss broadcasts only the target, the others broadcast silently
_WARN_BROADCAST = ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss")
_SAME_SHAPE = ("binary_cross_entropy", "binary_cross_entropy_with_logits")
# losses whose result keeps the input's dtype when the target's differs (PyTorch's kernels)
_INPUT_DTYPE = ("huber_loss", "soft_margin_loss")


def _broadcast_pair(name, input, target):
    """input and target broadcast to one shape as PyTorch's loss does (only called when
    their shapes differ)."""
    from .shape import broadcast_shapes, expand
    if name in _SAME_SHAPE:
        raise ShapeError(f"{name}: target of shape {tuple(target.shape)} must have the "
                         f"input's shape {tuple(input.shape)}")
    try:
        shape = broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ShapeError(f"{name}: input of shape {input.shape} and target of shape "
                         f"{target.shape} differ and cannot be broadcast together") from None
    if name == "soft_margin_loss" and shape != tuple(input.shape):
        raise ShapeError(f"{name}: target of shape {tuple(target.shape)} broadcasts the "
                         f"input of shape {tuple(input.shape)} to {shape}")
    if name in _WARN_BROADCAST:
        import warnings
        warnings.warn(f"{name}: target of shape {tuple(target.shape)} differs from the input "
                      f"of shape {tuple(input.shape)}; both are broadcast to {shape}, which "
                      "is likely a mistake. Give them the same shape.", UserWarning,
                      stacklevel=4)
    return expand(input, shape), expand(target, shape)


def _promote_pair(name, input, target):
    """input and target in one dtype as PyTorch's loss takes them (only called when their
    dtypes differ): the promoted dtype, the input's for huber and soft margin; BCE refuses."""
    from .promotion import promote_types
    if name == "binary_cross_entropy" or name == "binary_cross_entropy_with_logits" and \
            not target._be.is_floating(target.dtype):
        raise DtypeError(f"{name}: input dtype {B.dtype_name(input.dtype)} and target dtype "
                         f"{B.dtype_name(target.dtype)} differ")
    dtype = input.dtype if name in _INPUT_DTYPE else \
        promote_types(B.dtype_name(input.dtype), B.dtype_name(target.dtype))
    return input.to(dtype), target.to(dtype)


def _pointwise(cls, name, input, target, reduction, **kw):
    _check_reduction(name, reduction)
    input = as_tensor(input, op=name)
    target = as_tensor(target, like=input, op=name)
    if input.shape != target.shape:
        input, target = _broadcast_pair(name, input, target)
    if input._be is not target._be:  # before the dtype check: torch.float32 != np.float32
        _mixed(name, (input, target))
    if input.dtype != target.dtype:
        input, target = _promote_pair(name, input, target)
    if not input._be.is_floating(input.dtype) and (cls is not L1 or reduction == "mean"):
        raise DtypeNotImplemented(f"{name}: expected floating inputs, got "
                                  f"{B.dtype_name(input.dtype)}")
    kw = {k: raw(v, input, name, k) if isinstance(v, TensorBase) or B.is_array(v) else v
          for k, v in kw.items()}
    for k in ("weight", "pos_weight"):
        v = kw.get(k)
        if v is not None and v.shape != input.shape and not _broadcasts_to(v.shape, input.shape):
            raise ShapeError(f"{name}: {k} of shape {tuple(v.shape)} does not broadcast to "
                             f"the input's shape {tuple(input.shape)}")
    return cls.apply(input, target, reduction=reduction, **kw)


def _broadcasts_to(shape, to):
    """Whether ``shape`` broadcasts to ``to`` without growing it."""
    return len(shape) <= len(to) and all(a in (1, b) for a, b in zip(shape[::-1], to[::-1]))


def _weighted(cls, name, input, target, reduction, weight, **kw):
    """A pointwise loss times ``weight`` (the input's shape), then summed; "mean" divides by
    the weights' sum for mse/l1 and averages for huber (PyTorch 2.13's weighted losses)."""
    from .elementwise import div, mul
    from .reduce import mean, sum as _sum
    _check_reduction(name, reduction)
    w = as_tensor(weight, like=input, op=name)
    if tuple(w.shape) != tuple(as_tensor(input, op=name).shape):
        raise ValueError(f"{name}: weight of shape {tuple(w.shape)} must have the input's "
                         f"shape {tuple(input.shape)}")
    L = mul(_pointwise(cls, name, input, target, "none", **kw), w)
    if reduction == "none":
        return L
    if reduction == "sum":
        return _sum(L)
    return mean(L) if name == "huber_loss" else div(_sum(L), _sum(w))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error, (input - target)^2 reduced (weighted by ``weight``, the input's
    shape, if given)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        return _weighted(MSE, "mse_loss", input, target, reduction, weight)
    return _pointwise(MSE, "mse_loss", input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error, |input - target| reduced (weighted as mse_loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        return _weighted(L1, "l1_loss", input, target, reduction, weight)
    return _pointwise(L1, "l1_loss", input, target, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber loss: quadratic within ``delta`` of the target, linear beyond (weighted as
    mse_loss)."""
    if delta <= 0:  # torch: RuntimeError
        raise ArgumentError(f"huber_loss: delta must be > 0, got {delta!r}")
    if weight is not None:
        return _weighted(Huber, "huber_loss", input, target, reduction, weight, delta=delta)
    return _pointwise(Huber, "huber_loss", input, target, reduction, delta=delta)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """BCE of probabilities in [0, 1] against targets in [0, 1]."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x = as_tensor(input, op="binary_cross_entropy")
    # PyTorch refuses probabilities outside [0, 1] (NaN too); checked where it is free (a
    # device would sync)
    if x._be.on_host and x._be.is_floating(x.dtype) and \
            not bool(x.xp.all((x.array >= 0) & (x.array <= 1))):
        raise ArgumentError("binary_cross_entropy: all elements of input should be between "
                            "0 and 1")
    return _pointwise(BCE, "binary_cross_entropy", x, target, reduction, weight=weight)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Sigmoid + BCE fused, stable for any logit; ``pos_weight`` scales positive targets."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    from .dtype_refusals import refuse_dtypes  # PyTorch: no integer log_sigmoid kernel
    refuse_dtypes("binary_cross_entropy_with_logits", ("bool", "integer"), input)
    return _pointwise(BCEWithLogits, "binary_cross_entropy_with_logits", input, target,
                      reduction, pos_weight=pos_weight, weight=weight)


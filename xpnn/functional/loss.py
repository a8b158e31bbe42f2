"""Losses. Each is one fused node; reductions follow PyTorch ("mean", "sum", "none")."""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, TensorBase, _mixed, as_tensor, raw
from .activation import _sigmoid, log_softmax_array
from .shape import permute, reshape

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce_forward(xp, L, reduction, denom):
    if reduction == "none":
        return L
    total = xp.sum(L)
    return total / denom if reduction == "mean" else total


def _reduce_backward(dY, reduction, denom):
    """The per-element factor that dL/d(element) carries from the reduced output."""
    if reduction == "none":
        return dY
    return dY / denom if reduction == "mean" else dY


# -- classification: log-softmax + NLL fused -----------------------------------------------
def _class_coeffs(xp, be, C, dtype, target, weight, ignore_index, smoothing, name):
    """K (N, C) and the mean's denominator so that loss_i = -sum_c K_ic logp_ic.

    Integer targets: K = (1-s) w[y] onehot(y) + (s/C) w, rows of ignored targets zeroed,
    denominator sum_i w[y_i] (PyTorch's weighted mean). Probability targets: K = w q with q
    smoothed, denominator N.
    """
    if xp.isdtype(target.dtype, "integral"):
        valid = target != ignore_index
        bad = valid & ((target < 0) | (target >= C))
        if be.on_host:  # free where the labels are in host memory; a device would sync
            if bool(xp.any(bad)):
                t = be.to_numpy(target)
                v = be.to_numpy(valid)
                lo, hi = t[v].min(), t[v].max()
                raise IndexError(f"{name}: target labels must be in [0, {C}) (C = {C} "
                                 f"classes), got values in [{lo}, {hi}]")
            bad = None
        onehot = xp.astype(target[:, None] == xp.arange(C, device=be.device)[None, :], dtype)
        w_row = xp.ones(target.shape, dtype=dtype, device=be.device) if weight is None else \
            xp.sum(onehot * weight[None, :], axis=1)
        w_row = w_row * xp.astype(valid, dtype)
        K = onehot * ((1 - smoothing) * w_row)[:, None]
        if smoothing:
            w = 1.0 if weight is None else weight[None, :]
            K = K + (smoothing / C) * w * xp.astype(valid, dtype)[:, None]
        if bad is not None:
            # on a device, an out-of-range label makes its loss NaN instead of a host check
            # per call; fit's non-finite guard then stops at the next sync
            K = xp.where(bad[:, None], xp.asarray(float("nan"), dtype=dtype, device=be.device),
                         K)
        return K, xp.sum(w_row)
    if target.dtype != dtype:
        raise TypeError(f"{name}: probability targets must have the input's dtype {dtype}, "
                        f"got {target.dtype}")
    q = target if not smoothing else target * (1 - smoothing) + smoothing / C
    K = q if weight is None else q * weight[None, :]
    return K, target.shape[0]


class CrossEntropy(Function):
    def forward(self, X, target=None, weight=None, ignore_index=-100, reduction="mean",
                smoothing=0.0, log_probs=False):
        xp = self.xp
        K, denom = _class_coeffs(xp, self.be, X.shape[1], X.dtype, target, weight,
                                 ignore_index, smoothing,
                                 "nll_loss" if log_probs else "cross_entropy")
        LP = X if log_probs else log_softmax_array(xp, X, axis=1)
        self.K, self.LP, self.denom = K, LP, denom
        self.reduction, self.log_probs = reduction, log_probs
        return _reduce_forward(xp, -xp.sum(K * LP, axis=1), reduction, denom)

    def backward(self, dY):
        xp, K = self.xp, self.K
        g = _reduce_backward(dY, self.reduction, self.denom)
        g = g[:, None] if self.reduction == "none" else g
        if self.log_probs:  # nll_loss: d/dlogp_ic = -K_ic
            return -K * g
        # d/dx_ic of -sum_c K_ic logsoftmax_ic = softmax_ic * sum_c K_ic - K_ic
        P = xp.exp(self.LP)
        return (P * xp.sum(K, axis=1, keepdims=True) - K) * g


def _classification(name, input, target, weight, ignore_index, reduction, label_smoothing,
                    log_probs):
    _check_reduction(name, reduction)
    input = as_tensor(input, op=name)
    tgt = raw(target, input, name, "target")
    w = raw(weight, input, name, "weight")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if input.ndim < 1:
        raise ValueError(f"{name}: input must be (N, C) or (N, C, d1, ...), got {input.shape}")
    xp = input.xp
    if tgt is None:
        raise TypeError(f"{name}: target must be a Tensor or an array, got None")
    integral = xp.isdtype(tgt.dtype, "integral")
    if input.ndim == 1:  # an unbatched (C,) input
        out = _classification(name, reshape(input, (1, -1)),
                              xp.reshape(tgt, (1,) if integral else (1, -1)), weight,
                              ignore_index, reduction, label_smoothing, log_probs)
        return reshape(out, ()) if reduction == "none" else out
    C = input.shape[1]
    want = (input.shape[0],) + input.shape[2:] if integral else input.shape
    if tuple(tgt.shape) != want:
        kind = "class indices" if integral else "class probabilities"
        raise ValueError(f"{name}: input of shape {input.shape} needs target ({kind}) of shape "
                         f"{want}, got {tuple(tgt.shape)}")
    if w is not None and tuple(w.shape) != (C,):
        raise ValueError(f"{name}: weight must have shape ({C},), got {tuple(w.shape)}")
    spatial = input.shape[2:]
    if spatial:  # (N, C, d...) -> (N*d..., C): classes last, one row per position
        order = (0,) + tuple(range(2, input.ndim)) + (1,)
        input = reshape(permute(input, order), (-1, C))
        tgt = xp.reshape(tgt, (-1,)) if integral else \
            xp.reshape(xp.permute_dims(tgt, order), (-1, C))
    out = CrossEntropy.apply(input, target=tgt, weight=w, ignore_index=ignore_index,
                             reduction=reduction, smoothing=label_smoothing,
                             log_probs=log_probs)
    if spatial and reduction == "none":
        out = reshape(out, (-1,) + spatial)
    return out


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy from logits, fused with log-softmax (stable for huge logits).

    Args:
        input: logits (N, C), (C,) or (N, C, d1, ...).
        target: integer class indices (N,) / (N, d1, ...) in [0, C), or class probabilities
            with the input's shape and dtype.
        weight: optional per-class weights (C,).
        ignore_index: integer targets equal to it contribute nothing.
        reduction: "mean" (weighted mean over non-ignored targets), "sum" or "none".
        label_smoothing: mix the target with the uniform distribution by this amount.
    Returns:
        0-d loss (or (N, ...) with reduction="none"), the input's dtype.
    """
    return _classification("cross_entropy", input, target, weight, ignore_index, reduction,
                           label_smoothing, log_probs=False)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of integer targets given log-probabilities (N, C)."""
    return _classification("nll_loss", input, target, weight, ignore_index, reduction, 0.0,
                           log_probs=True)


# -- elementwise losses -------------------------------------------------------------------
class _Pointwise(Function):
    """A loss made of a per-element value and its derivatives, then a reduction."""

    def forward(self, X, T, reduction="mean", **kw):
        L, self.dX, self.dT = self.pointwise(self.xp, X, T, **kw)
        self.reduction, self.n = reduction, math.prod(X.shape)
        return _reduce_forward(self.xp, L, reduction, self.n)

    def backward(self, dY):
        g = _reduce_backward(dY, self.reduction, self.n)
        dT = self.dT * g if self.needs[1] and self.dT is not None else None
        return self.dX * g, dT


class MSE(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T):
        D = X - T
        return D * D, 2 * D, -2 * D


class L1(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T):
        D = X - T
        S = xp.sign(D)
        return xp.abs(D), S, -S


class Huber(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T, delta=1.0):
        D = X - T
        A = xp.abs(D)
        L = xp.where(A < delta, 0.5 * D * D, delta * (A - 0.5 * delta))
        G = xp.clip(D, -delta, delta)
        return L, G, -G


class BCE(_Pointwise):
    @staticmethod
    def pointwise(xp, P, T, weight=None):
        # log clamped at -100 and the derivative's denominator at 1e-12, as PyTorch does
        logp = xp.maximum(xp.log(P), -100.0)
        log1mp = xp.maximum(xp.log1p(-P), -100.0)
        L = -(T * logp + (1 - T) * log1mp)
        G = (P - T) / xp.maximum(P * (1 - P), 1e-12)
        GT = log1mp - logp
        if weight is not None:
            L, G, GT = L * weight, G * weight, GT * weight
        return L, G, GT


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


def _pointwise(cls, name, input, target, reduction, **kw):
    _check_reduction(name, reduction)
    input = as_tensor(input, op=name)
    target = as_tensor(target, like=input, op=name)
    if input.shape != target.shape:
        raise ValueError(f"{name}: input of shape {input.shape} and target of shape "
                         f"{target.shape} differ")
    if input._be is not target._be:  # before the dtype check: torch.float32 != np.float32
        _mixed(name, (input, target))
    if input.dtype != target.dtype:
        raise TypeError(f"{name}: input dtype {input.dtype} and target dtype {target.dtype} "
                        "differ")
    kw = {k: raw(v, input, name, k) if isinstance(v, TensorBase) or B.is_array(v) else v
          for k, v in kw.items()}
    return cls.apply(input, target, reduction=reduction, **kw)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error, (input - target)^2 reduced."""
    return _pointwise(MSE, "mse_loss", input, target, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error, |input - target| reduced."""
    return _pointwise(L1, "l1_loss", input, target, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss: quadratic within ``delta`` of the target, linear beyond."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}")
    return _pointwise(Huber, "huber_loss", input, target, reduction, delta=delta)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """BCE of probabilities in [0, 1] against targets in [0, 1]."""
    return _pointwise(BCE, "binary_cross_entropy", input, target, reduction, weight=weight)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + BCE fused, stable for any logit; ``pos_weight`` scales positive targets."""
    return _pointwise(BCEWithLogits, "binary_cross_entropy_with_logits", input, target,
                      reduction, pos_weight=pos_weight, weight=weight)

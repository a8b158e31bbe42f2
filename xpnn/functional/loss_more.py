"""More losses with PyTorch's formulas: smooth L1, KL divergence, Poisson and Gaussian NLL,
soft margin and multi-label soft margin (most built on :class:`.loss_pointwise._Pointwise`)."""
from __future__ import annotations

import math
import warnings

from .. import backend as B
from .._errors import ArgumentError, DtypeError
from ..autograd import Function, as_tensor
from .broadcast import quiet
from .activation import _sigmoid
from .shape import reshape
from .loss_pointwise import BCEWithLogits, _Pointwise, _pointwise
from .loss_reduce import (_REDUCTIONS, _check_reduction, _reduce_backward, _reduce_forward,
                          legacy_reduction, reduce_loss)


def _float_pair(name, input, target):
    """input (floating, else TypeError as PyTorch) and target in its dtype (integer targets,
    such as +-1 labels, are promoted as PyTorch does)."""
    x = as_tensor(input, op=name)
    if not x._be.is_floating(x.dtype):
        raise TypeError(f"{name}: expected a floating input, got {B.dtype_name(x.dtype)}")
    t = as_tensor(target, like=x, op=name)
    if t._be is x._be and not t._be.is_floating(t.dtype):
        t = t._result(t.xp.astype(t.array, x.dtype), t._be)
    return x, t


class SmoothL1(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T, beta=1.0):
        D = X - T
        if beta == 0:  # PyTorch: l1_loss
            S = xp.sign(D)
            return xp.abs(D), S, -S
        A = xp.abs(D)
        L = xp.where(A < beta, 0.5 * D * D / beta, A - 0.5 * beta)
        G = xp.clip(D / beta, -1.0, 1.0)
        return L, G, -G

    @staticmethod
    def grads(X, T, beta=1.0):
        G = (X - T).sign() if beta == 0 else ((X - T) / beta).clamp(-1.0, 1.0)
        return G, -G


class KLDiv(_Pointwise):
    """target * (log target - input) per element (``log_target``: e^t (t - input))."""

    @staticmethod
    def pointwise(xp, X, T, log_target=False):
        if log_target:
            E = xp.exp(T)
            return E * (T - X), -E, E * (T - X + 1)
        # xlogy(t, t): 0 at t == 0, NaN below (PyTorch); log() only sees positive values
        pos = T > 0
        logT = xp.log(xp.where(pos, T, xp.ones_like(T)))
        nan = xp.asarray(float("nan"), dtype=T.dtype, device=T.device)
        tlogt = xp.where(pos, T * logT, xp.where(T == 0, xp.zeros_like(T), nan))
        # d/dt: log t + 1 - input, NaN where t <= 0 (PyTorch differentiates xlogy(t, t):
        # t / t there)
        return tlogt - T * X, -T, xp.where(pos, logT + 1, nan) - X

    @staticmethod
    def grads(X, T, log_target=False):
        if log_target:
            E = T.exp()
            return -E, E * (T - X + 1)
        pos = T > 0
        return -T, (T.where(pos, 1.0).log() + 1).where(pos, math.nan) - X


class PoissonNLL(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T, log_input=True, full=False, eps=1e-8):
        if log_input:  # input is log(rate): e^x - t x
            E = xp.exp(X)
            L, G, GT = E - T * X, E - T, -X
        else:  # input is the rate: x - t log(x + eps)
            logX = xp.log(X + eps)
            L, G, GT = X - T * logX, 1 - T / (X + eps), -logX
        if full:  # Stirling's approximation of log(t!), only where t > 1
            big = T > 1
            Ts = xp.where(big, T, xp.ones_like(T))
            logT = xp.log(Ts)
            zero = xp.zeros_like(T)
            L = L + xp.where(big, Ts * logT - Ts + 0.5 * xp.log((2 * math.pi) * Ts), zero)
            GT = GT + xp.where(big, logT + 0.5 / Ts, zero)
        return L, G, GT

    @staticmethod
    def grads(X, T, log_input=True, full=False, eps=1e-8):
        if log_input:
            G, GT = X.exp() - T, -X
        else:
            G, GT = 1 - T / (X + eps), -(X + eps).log()
        if full:
            big = T > 1
            Ts = T.where(big, 1.0)
            GT = GT + (Ts.log() + 0.5 / Ts).where(big, 0.0)
        return G, GT


class SoftMargin(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T):
        Z = -T * X  # log(1 + e^z), computed stably
        S = _sigmoid(xp, Z)
        return xp.maximum(Z, 0.0) + xp.log1p(xp.exp(-xp.abs(Z))), -T * S, -X * S

    @staticmethod
    def grads(X, T):
        S = (-T * X).sigmoid()
        return -T * S, -X * S


@quiet
class GaussianNLL(Function):
    """0.5 (log v + (x - t)^2 / v) with v = max(var, eps), broadcast. As in PyTorch the clamp
    is invisible to the gradient (PyTorch clamps under no_grad)."""

    saved_inputs = ()  # backward reads the difference and the clamped variance it made

    def forward(self, X, T, V, full=False, eps=1e-6, reduction="mean"):
        xp = self.xp
        Vc = xp.maximum(V, eps)
        D = X - T
        L = 0.5 * (xp.log(Vc) + D * D / Vc)
        if full:
            L = L + 0.5 * math.log(2 * math.pi)
        self.D, self.Vc, self.shapes = D, Vc, (X.shape, T.shape, V.shape)
        self.reduction, self.n = reduction, math.prod(L.shape)
        return _reduce_forward(self.be, L, reduction, self.n)

    def backward(self, dY):
        from .elementwise import unbroadcast
        xp, D, Vc = self.xp, self.D, self.Vc
        g = _reduce_backward(self.be, dY, self.reduction, self.n)
        sx, st, sv = self.shapes
        dD = g * D / Vc
        dV = g * (0.5 / Vc - 0.5 * D * D / (Vc * Vc)) if self.needs[2] else None
        return (unbroadcast(xp, dD, sx) if self.needs[0] else None,
                unbroadcast(xp, -dD, st) if self.needs[1] else None,
                None if dV is None else unbroadcast(xp, xp.broadcast_to(dV, D.shape), sv))

    def backward_graph(self, dY):
        """backward recomputed in recorded ops; the clamp of var is a constant shift."""
        from .elementwise import unbroadcast_graph
        X, T, V = self.inputs
        Vc = V + V._result(self.Vc - V.array, V._be)
        D = X - T
        g = dY if self.reduction != "mean" else dY / self.n
        sx, st, sv = self.shapes
        dD = g * D / Vc
        dV = g * (0.5 / Vc - 0.5 * D * D / (Vc * Vc)) if self.needs[2] else None
        return (unbroadcast_graph(dD, sx) if self.needs[0] else None,
                unbroadcast_graph(-dD, st) if self.needs[1] else None,
                None if dV is None else unbroadcast_graph(dV, sv))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, for d = input - target
    (beta = 0: the L1 loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    beta = float(beta)
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss: beta must be >= 0, got {beta!r}")
    x, t = _float_pair("smooth_l1_loss", input, target)
    return _pointwise(SmoothL1, "smooth_l1_loss", x, t, reduction, beta=beta)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence of ``target`` from ``input`` (log-probabilities): target * (log target -
    input), summed and divided by the batch size with reduction="batchmean" (the true KL
    divergence); "mean" divides by every element, as in PyTorch.

    Args:
        input: log-probabilities, any shape.
        target: probabilities (log-probabilities with ``log_target=True``), input's shape.
    """
    legacy = size_average is not None or reduce is not None
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean" and not legacy:   # PyTorch's warning, word for word
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"kl_div: reduction must be one of {_REDUCTIONS + ('batchmean',)}, "
                         f"got {reduction!r}")
    x = as_tensor(input, op="kl_div")
    t = as_tensor(target, like=x, op="kl_div")
    for name, v in (("input", x), ("target", t)):  # PyTorch refuses either
        if not (v._be.is_floating(v.dtype) or v._be.is_complex(v.dtype)):
            raise DtypeError(f"kl_div: integral inputs are not supported, got {name} of "
                             f"{B.dtype_name(v.dtype)}")
    batch = reduction == "batchmean"
    out = _pointwise(KLDiv, "kl_div", x, target, "sum" if batch else reduction,
                     log_target=bool(log_target))
    return out / x.shape[0] if batch and x.ndim else out


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Negative log-likelihood of ``target`` under Poisson(rate): e^input - target * input
    (``log_input``), or input - target * log(input + eps); ``full`` adds Stirling's term."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, t = _float_pair("poisson_nll_loss", input, target)
    return _pointwise(PoissonNLL, "poisson_nll_loss", x, t, reduction,
                      log_input=bool(log_input), full=bool(full), eps=float(eps))


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input)) for targets +-1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, t = _float_pair("soft_margin_loss", input, target)
    return _pointwise(SoftMargin, "soft_margin_loss", x, t, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood 0.5 (log var + (input - target)^2 / var), var
    clamped at ``eps``; ``full`` adds 0.5 log(2 pi).

    Args:
        input: expectations (N, *).
        target: samples, input's shape (or broadcastable to it).
        var: variances: input's shape, input's shape without its last dim or with one dim
            of size 1 (homoscedastic), or a Python float.
    """
    _check_reduction("gaussian_nll_loss", reduction)
    x, t = _float_pair("gaussian_nll_loss", input, target)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
        v = x._result(x.xp.full(x.shape, float(var), dtype=x.dtype, device=x._be.device),
                      x._be)
    else:
        v = as_tensor(var, like=x, op="gaussian_nll_loss")
        if v._be.on_host and bool(v.xp.any(v.array < 0)):
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    if v.shape != x.shape:
        if v.shape == x.shape[:-1]:
            v = reshape(v, v.shape + (1,))
        elif not (v.ndim == x.ndim and
                  sum(b for a, b in zip(x.shape, v.shape) if a != b) == 1):
            raise ValueError(f"gaussian_nll_loss: var of shape {v.shape} is of incorrect size "
                             f"for input of shape {x.shape}")
    if not v._be.is_floating(v.dtype):
        v = v._result(v.xp.astype(v.array, x.dtype), v._be)
    return GaussianNLL.apply(x, t, v, full=bool(full), eps=float(eps), reduction=reduction)



def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-class logistic loss -(t log sigmoid(x) + (1 - t) log sigmoid(-x)), weighted,
    averaged over the classes (the last dim), then reduced over the batch.

    Args:
        input: logits (N, C) or (C,); target: 0/1 labels of the same shape; weight: (C,).
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("multilabel_soft_margin_loss", reduction)
    from .reduce import mean
    x, t = _float_pair("multilabel_soft_margin_loss", input, target)
    loss = _pointwise(BCEWithLogits, "multilabel_soft_margin_loss", x, t, "none",
                      weight=weight)
    return reduce_loss(mean(loss, dim=-1) if x.ndim else loss, reduction)

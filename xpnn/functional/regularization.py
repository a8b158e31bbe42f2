"""Regularization: L1/L2 weight penalties to add to any loss, and channel dropout.

    loss = F.cross_entropy(model(x), y) + F.l2_penalty(model, 5e-4) + F.l1_penalty(model, 1e-5)

``l2_penalty(params, c)`` is c/2 * sum(p^2), whose gradient c*p is exactly what SGD's
``weight_decay=c`` adds (Adam's ``weight_decay`` too, which is why AdamW decouples it).
Each penalty is one node over all the parameters, however many there are.
"""
from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor


def _params(op, params, skip_1d):
    """Parameters from a Module or an iterable of Tensors, optionally without 1-D ones
    (biases and normalization scales are usually left out of weight penalties)."""
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    params = list(params)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Tensors or a Module, got a {type(p).__name__}")
    if skip_1d:
        params = [p for p in params if p.ndim > 1]
    if not params:
        raise ValueError(f"{op}: no parameters to penalize")
    be = params[0]._be
    for p in params:
        if p._be is not be:
            raise TypeError(f"{op}: parameters live on different backends/devices "
                            f"({be.name}:{be.device} vs {p._be.name}:{p._be.device})")
    return params


def _coeff(op, coeff):
    if isinstance(coeff, bool) or not isinstance(coeff, (int, float)) or coeff < 0:
        raise ValueError(f"{op}: coeff must be a number >= 0, got {coeff!r}")
    return float(coeff)


class L1Penalty(Function):
    def forward(self, *Ps, coeff=1.0):
        xp = self.xp
        self.Ps, self.coeff = Ps, coeff
        return coeff * sum(xp.sum(xp.abs(P)) for P in Ps)

    def backward(self, dY):
        # d|p|/dp = sign(p), 0 at 0 (the subgradient PyTorch's abs() uses)
        return tuple((dY * self.coeff) * self.xp.sign(P) if need else None
                     for P, need in zip(self.Ps, self.needs))


class L2Penalty(Function):
    def forward(self, *Ps, coeff=1.0):
        xp = self.xp
        self.Ps, self.coeff = Ps, coeff
        return (0.5 * coeff) * sum(xp.sum(P * P) for P in Ps)

    def backward(self, dY):
        return tuple((dY * self.coeff) * P if need else None
                     for P, need in zip(self.Ps, self.needs))


def l1_penalty(params, coeff=1.0, skip_1d=False):
    """coeff * sum(|p|) over the parameters (lasso; drives weights to exactly 0).

    Args:
        params: a Module or an iterable of Tensors, all on one backend.
        coeff: float >= 0.
        skip_1d: leave out 1-D parameters (biases, norm scales).
    Returns:
        a 0-d Tensor of the parameters' dtype.
    """
    coeff = _coeff("l1_penalty", coeff)
    return L1Penalty.apply(*_params("l1_penalty", params, skip_1d), coeff=coeff)


def l2_penalty(params, coeff=1.0, skip_1d=False):
    """coeff/2 * sum(p^2) over the parameters (ridge); its gradient is coeff * p.

    Args, Returns: as :func:`l1_penalty`.
    """
    coeff = _coeff("l2_penalty", coeff)
    return L2Penalty.apply(*_params("l2_penalty", params, skip_1d), coeff=coeff)


class ChannelDropout(Function):
    def forward(self, X, p=0.5):
        # one draw per (sample, channel), broadcast over the spatial dims
        shape = tuple(X.shape[:2]) + (1,) * (X.ndim - 2)
        keep = self.be.uniform(shape, X.dtype) >= p
        self.M = self.xp.astype(keep, X.dtype) * (1 / (1 - p))
        return X * self.M

    def backward(self, dY):
        return dY * self.M


def dropout2d(x, p=0.5, training=True):
    """Zero whole channels with probability p, scale the rest by 1/(1-p) (Tompson et al.
    2015, "spatial dropout"), as ``torch.nn.functional.dropout2d``.

    Args:
        x: (N, C, H, W); one draw per (n, c).
        p: probability in [0, 1].
        training: the identity when False.
    Returns:
        Tensor shaped like x.
    """
    return _channel_dropout("dropout2d", x, p, training, 4)


def dropout1d(x, p=0.5, training=True):
    """Channel dropout for (N, C, L) inputs, as ``torch.nn.functional.dropout1d``."""
    return _channel_dropout("dropout1d", x, p, training, 3)


def _channel_dropout(op, x, p, training, ndim):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{op}: p must be a probability in [0, 1], got {p!r}")
    x = as_tensor(x)
    if x.ndim != ndim:
        raise ValueError(f"{op}: expected a {ndim}-D input (N, C, ...), got shape {x.shape}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    return ChannelDropout.apply(x, p=p)

"""Regularization: L1/L2 weight penalties to add to any loss.

    loss = F.cross_entropy(model(x), y) + F.l2_penalty(model, 5e-4) + F.l1_penalty(model, 1e-5)

``l2_penalty(params, c)`` is c/2 * sum(p^2), whose gradient c*p is exactly what SGD's
``weight_decay=c`` adds (Adam's ``weight_decay`` too, which is why AdamW decouples it).
Each penalty is one node over all the parameters, however many there are.
"""
from __future__ import annotations

from ..autograd import Function, TensorBase


def _params(op, params, skip_1d):
    """Parameters from a Module or an iterable of Tensors, optionally without 1-D ones
    (biases and normalization scales are usually left out of weight penalties)."""
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    params = list(params)
    for p in params:
        if not isinstance(p, TensorBase):
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

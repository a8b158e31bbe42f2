"""Muon, PyTorch's (torch.optim.Muon) update formula."""
from __future__ import annotations

import math

from .optimizer import Optimizer, check_hyper, zeros_like_param


def newton_schulz(xp, G, coefficients, steps, eps):
    """The quintic Newton-Schulz iteration towards the orthogonal factor of a 2-D ``G``
    (Jordan et al., https://github.com/KellerJordan/Muon): X = G / max(||G||_F, eps), then
    ``steps`` times A = X X^T; X = a X + (b A + c A A) X, on the wide orientation."""
    a, b, c = (float(v) for v in coefficients)
    tall = G.shape[0] > G.shape[1]
    X = xp.matrix_transpose(G) if tall else G
    norm = xp.sqrt(xp.sum(X * X))
    X = X / xp.maximum(norm, xp.asarray(eps, dtype=X.dtype, device=norm.device))
    for _ in range(steps):
        A = xp.matmul(X, xp.matrix_transpose(X))
        B = b * A + c * xp.matmul(A, A)
        X = a * X + xp.matmul(B, X)
    return xp.matrix_transpose(X) if tall else X


def _adjusted_lr(lr, how, shape):
    A, B = shape[:2]
    if how is None or how == "original":
        return lr * math.sqrt(max(1.0, A / B))
    return lr * 0.2 * math.sqrt(max(A, B))  # "match_rms_adamw" (Liu et al. 2025)


class Muon(Optimizer):
    """Muon: "MomentUm Orthogonalized by Newton-schulz" (Jordan et al. 2024,
    https://kellerjordan.github.io/posts/muon/), with Moonshot's learning-rate matching
    (Liu et al., "Muon is Scalable for LLM Training", https://arxiv.org/abs/2502.16982).
    For 2-D parameters only (hidden-layer weights); use AdamW for the others.

    Per step, with ``g`` the gradient, as torch.optim.Muon computes it::

        B = momentum * B + (1 - momentum) * g                (momentum_buffer)
        U = g + momentum * (B - g)  if nesterov  else  B
        O = NewtonSchulz_{ns_steps}^{ns_coefficients}(U; eps)
        p = p * (1 - lr * weight_decay)
        p = p - AdjustLR(lr, shape) * O
            AdjustLR: lr * sqrt(max(1, A / B)) ("original", default) or
                      lr * 0.2 * sqrt(max(A, B)) ("match_rms_adamw")

    PyTorch runs the Newton-Schulz iteration in bfloat16; xpnn runs it in the parameter's
    dtype (the Array API has no bfloat16), so updates agree with PyTorch's to bfloat16
    precision, not bit for bit.

    Args:
        params: 2-D Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0); weight_decay: decoupled (>= 0); momentum (>= 0);
        nesterov: use the Nesterov form; ns_coefficients: (a, b, c); eps: the norm floor;
        ns_steps: Newton-Schulz iterations (< 100); adjust_lr_fn: None, "original" or
        "match_rms_adamw".
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-07, ns_steps=5,
                 adjust_lr_fn=None):
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Muon: adjust_lr_fn must be None, 'original' or "
                             f"'match_rms_adamw', got {adjust_lr_fn!r}")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      nesterov=bool(nesterov),
                                      ns_coefficients=tuple(ns_coefficients), eps=eps,
                                      ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2-D parameters; got a parameter "
                                     f"of shape {tuple(p.shape)}")

    def _validate(self, group):
        for key in ("lr", "weight_decay", "momentum", "eps"):
            check_hyper("Muon", key, group[key])
        steps = group["ns_steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps < 100:
            raise ValueError(f"Muon: ns_steps must be an int in [0, 100), got {steps!r}")
        if len(group["ns_coefficients"]) != 3:
            raise ValueError("Muon: ns_coefficients must be 3 numbers (a, b, c), got "
                             f"{group['ns_coefficients']!r}")

    def init_state(self, param, group=None):
        """A zero momentum buffer shaped like the param (PyTorch keeps no step count)."""
        state = self.state[param] = {}
        state["momentum_buffer"] = zeros_like_param(param)
        return state

    def _update_group(self, group):
        lr, wd, mu = float(group["lr"]), float(group["weight_decay"]), float(group["momentum"])
        plain = dict(group, weight_decay=0.0, decoupled_weight_decay=False, maximize=False)
        for p, g, state in self._params_with_grad(plain):
            xp = p.xp
            if g.ndim != 2:
                raise ValueError(f"Muon: the gradient must be 2-D, got shape {tuple(g.shape)}")
            B_t = state["momentum_buffer"]
            B = B_t.array
            B += (g - B) * (1.0 - mu)
            B_t.array = B
            U = g + (B - g) * mu if group["nesterov"] else B
            O = newton_schulz(xp, U, group["ns_coefficients"], int(group["ns_steps"]),
                              float(group["eps"]))
            if wd != 0.0:
                p.array *= 1.0 - lr * wd
            p.array -= O * _adjusted_lr(lr, group["adjust_lr_fn"], tuple(p.array.shape))

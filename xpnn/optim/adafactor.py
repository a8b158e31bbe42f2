"""Adafactor, PyTorch's (torch 2.5+) update formula."""
from __future__ import annotations

import math

from ..tensor import Tensor
from .optimizer import Optimizer, check_hyper, slot_tensor, zeros_like_param


class Adafactor(Optimizer):
    """Adafactor: Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory
    Cost" (ICML 2018), https://arxiv.org/abs/1804.04235, in PyTorch's variant (no first
    moment, relative step size, update clipping by RMS).

    Per step t, with ``g`` the gradient (``-g`` if maximize), eps1 = eps[0] (the dtype's
    machine epsilon when None), eps2 = eps[1]::

        beta2_t = t ** beta2_decay
        rho = min(lr, 1 / sqrt(t))
        alpha = max(eps2, rms(p)) * rho
        p = p * (1 - lr * weight_decay)
        if p has >= 2 dims (the last two factored):
            R = R + beta2_t * (mean(g^2, dim=-1) - R)      (row_var, shape [..., n, 1])
            C = C + beta2_t * (mean(g^2, dim=-2) - C)      (col_var, shape [..., 1, m])
            v = (R @ C) / max(mean(R, dim=-2), eps1)
        else:
            v = V = V + beta2_t * (g^2 - V)                 (variance, shaped like p)
        u = g / sqrt(max(v, eps1^2))
        p = p - alpha / max(1, rms(u) / d) * u

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: the cap on the relative step size (>= 0).
        beta2_decay: exponent of the second-moment decay (<= 0).
        eps: (eps1, eps2): eps1 bounds the second moment below (None: the dtype's eps),
            eps2 the parameter RMS.
        d: clipping threshold on the update RMS (>= 1).
        weight_decay: decoupled weight decay (>= 0).
        foreach: PyTorch's implementation switch (one code path here).
        maximize: ascend the objective instead of descending.
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay,
                                      eps=tuple(eps) if isinstance(eps, list) else eps, d=d,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=bool(maximize)))

    def _validate(self, group):
        name = "Adafactor"
        check_hyper(name, "lr", group["lr"])
        check_hyper(name, "weight_decay", group["weight_decay"])
        check_hyper(name, "d", group["d"], 1.0)
        bd = group["beta2_decay"]
        if isinstance(bd, bool) or not isinstance(bd, (int, float)) or not bd <= 0:
            raise ValueError(f"{name}: beta2_decay must be a number <= 0, got {bd!r}")
        eps = group["eps"]
        if isinstance(eps, (str, bytes)) or not hasattr(eps, "__len__") or len(eps) != 2:
            raise ValueError(f"{name}: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        if eps[0] is not None:
            check_hyper(name, "eps[0]", eps[0])
        check_hyper(name, "eps[1]", eps[1])

    def init_state(self, param, group=None):
        """Step 0; row_var [..., n, 1] and col_var [..., 1, m] for a param of >= 2 dims,
        else ``variance`` shaped like the param (PyTorch's slots)."""
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0.0)
        shape = tuple(param.array.shape)
        if len(shape) > 1:
            xp, dt, dev = param.xp, param.array.dtype, param._be.device
            state["row_var"] = slot_tensor(param, xp.zeros(shape[:-1] + (1,), dtype=dt,
                                                           device=dev))
            state["col_var"] = slot_tensor(param, xp.zeros(shape[:-2] + (1, shape[-1]),
                                                           dtype=dt, device=dev))
        else:
            state["variance"] = zeros_like_param(param)
        return state

    def _convert_slot(self, p, idx, slot, value):
        """A loaded slot; the factored ``row_var``/``col_var`` are not shaped like ``p``."""
        if slot not in ("row_var", "col_var"):
            return super()._convert_slot(p, idx, slot, value)
        value = value.array if isinstance(value, Tensor) else value
        shape = tuple(p.shape)
        want = shape[:-1] + (1,) if slot == "row_var" else shape[:-2] + (1, shape[-1])
        if len(shape) < 2 or tuple(value.shape) != want:
            raise ValueError(f"Adafactor.load_state_dict: slot {slot!r} of param {idx} has "
                             f"shape {tuple(value.shape)}, expected {want} for a param of "
                             f"shape {shape}")
        return slot_tensor(p, p._be.asarray(value, dtype=p.dtype))

    def _update_group(self, group):
        lr, d, wd = float(group["lr"]), float(group["d"]), float(group["weight_decay"])
        decay, (eps1, eps2) = float(group["beta2_decay"]), group["eps"]
        # the weight decay here is Adafactor's own (after alpha reads the parameter's RMS)
        plain = dict(group, weight_decay=0.0, decoupled_weight_decay=False)
        for p, g, state in self._params_with_grad(plain):
            xp, dt, dev = p.xp, p.array.dtype, p._be.device
            t = self._next_step(p, state)
            beta2_t = float(t) ** decay
            rho = min(lr, 1.0 / math.sqrt(t))
            e1 = float(xp.finfo(dt).eps) if eps1 is None else float(eps1)
            n = math.prod(p.array.shape)

            def const(v):
                return xp.asarray(v, dtype=dt, device=dev)
            rms_p = xp.sqrt(xp.sum(p.array * p.array)) / math.sqrt(n)
            alpha = xp.maximum(rms_p, const(eps2)) * rho
            if wd != 0.0:
                p.array *= 1.0 - lr * wd
            sq = g * g
            if g.ndim > 1:
                R_t, C_t = state["row_var"], state["col_var"]
                R, C = R_t.array, C_t.array
                R += (xp.sum(sq, axis=-1, keepdims=True) / g.shape[-1] - R) * beta2_t
                C += (xp.sum(sq, axis=-2, keepdims=True) / g.shape[-2] - C) * beta2_t
                R_t.array, C_t.array = R, C
                v = xp.matmul(R, C)
                v /= xp.maximum(xp.mean(R, axis=-2, keepdims=True), const(e1))
            else:
                V_t = state["variance"]
                V = V_t.array
                V += (sq - V) * beta2_t
                V_t.array = V
                v = V
            u = g / xp.sqrt(xp.maximum(v, const(e1 * e1)))
            rms_u = xp.sqrt(xp.sum(u * u)) / (math.sqrt(n) * d)
            u *= alpha / xp.maximum(rms_u, const(1.0))
            p.array -= u

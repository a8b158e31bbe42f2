"""Adagrad, PyTorch's update formula."""
from __future__ import annotations

from ..functional.indexing import index_add
from .optimizer import Optimizer, check_flags, check_hyper, full_like_param
from .sparse_adam import grad_rows


class Adagrad(Optimizer):
    """Adagrad: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization" (JMLR 2011), https://jmlr.org/papers/v12/duchi11a.html.

    Per step t, with ``g`` the gradient (``-g`` if maximize, plus ``weight_decay * p``)::

        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2                      (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0).
        lr_decay: learning-rate decay per step (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        initial_accumulator_value: starting value of the squared-gradient sum (>= 0).
        eps: added to the denominator (>= 0).
        foreach, differentiable, fused: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
        maximize: ascend the objective instead of descending.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        check_flags("Adagrad", foreach, False, differentiable, fused)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:  # PyTorch creates Adagrad's state eagerly
            for p in group["params"]:
                self.init_state(p, group)

    def _validate(self, group):
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_hyper("Adagrad", key, group[key])

    def init_state(self, param, group=None):
        """Step 0 and a sum filled with ``initial_accumulator_value``, allocated like param."""
        group = self._group_of(param) if group is None else group
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0)
        state["sum"] = full_like_param(param, group["initial_accumulator_value"])
        return state

    def _sparse_step(self, p, group):
        """A sparse ``.grad`` (Embedding(sparse=True)), as torch: the gradient coalesced,
        then only its rows update the sum and the parameter; weight decay refused."""
        state = self.state.get(p) or self.init_state(p, group)
        t = self._next_step(p, state)  # torch counts the step before the check
        if float(group["weight_decay"]) != 0.0:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        rows, g = grad_rows("Adagrad", p, group["maximize"], coalesce=True)
        clr = float(group["lr"]) / (1.0 + (t - 1) * float(group["lr_decay"]))
        be, xp, total_t = p._be, p.xp, state["sum"]
        total_t.array = index_add(be, total_t.array, 0, rows, g * g)
        std = xp.sqrt(xp.take(total_t.array, rows, axis=0)) + float(group["eps"])
        p.array = index_add(be, p.array, 0, rows, (g / std) * -clr)

    def _update_group(self, group):
        lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
        for p, g, state in self._params_with_grad(group):
            t = self._next_step(p, state)
            clr = lr / (1.0 + (t - 1) * lr_decay)
            total_t = state["sum"]  # its array as it is now, written back (see Adam)
            total = total_t.array
            total += g * g
            total_t.array = total
            std = p._be.xp.sqrt(total)
            std += eps
            update = g / std
            update *= clr
            p.array -= update

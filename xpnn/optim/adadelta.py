"""Adadelta, PyTorch's update formula."""
from __future__ import annotations

from .optimizer import Optimizer, check_flags, check_hyper, zeros_like_param


class Adadelta(Optimizer):
    """Adadelta: Zeiler, "ADADELTA: An Adaptive Learning Rate Method" (2012),
    https://arxiv.org/abs/1212.5701.

    Per step, with ``g`` the gradient (``-g`` if maximize, plus ``weight_decay * p``)::

        v = rho * v + (1 - rho) * g^2
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta^2
        p = p - lr * delta

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: factor applied to delta (>= 0); 1.0 is the paper's method.
        rho: decay rate of both running averages, in [0, 1].
        eps: added inside both square roots (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        foreach, capturable, differentiable: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
        maximize: ascend the objective instead of descending.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_flags("Adadelta", foreach, capturable, differentiable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable,
                                      foreach=foreach, differentiable=differentiable))

    def _validate(self, group):
        check_hyper("Adadelta", "lr", group["lr"])
        check_hyper("Adadelta", "rho", group["rho"], 0.0, 1.0, high_open=False)
        check_hyper("Adadelta", "eps", group["eps"])
        check_hyper("Adadelta", "weight_decay", group["weight_decay"])

    def init_state(self, param, group=None):
        """Step 0 and zero running averages of the squared gradient and squared update."""
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0)
        state["square_avg"] = zeros_like_param(param)
        state["acc_delta"] = zeros_like_param(param)
        return state

    def _update_group(self, group):
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        for p, g, state in self._params_with_grad(group):
            xp = p.xp
            self._next_step(p, state)
            v_t, u_t = state["square_avg"], state["acc_delta"]
            v, u = v_t.array, u_t.array
            sq = g * g
            sq *= 1.0 - rho
            v *= rho
            v += sq
            delta = xp.sqrt(u + eps)
            delta /= xp.sqrt(v + eps)
            delta *= g
            sq = delta * delta
            sq *= 1.0 - rho
            u *= rho
            u += sq
            # written back: a namespace whose in-place operators return new arrays still
            # keeps its state (for NumPy, torch, CuPy they are the same arrays)
            v_t.array, u_t.array = v, u
            delta *= lr
            p.array -= delta

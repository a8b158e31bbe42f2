"""RMSprop (plain and centered, with optional momentum), PyTorch's update formulas."""
from __future__ import annotations

from .optimizer import Optimizer, check_flags, check_hyper, zeros_like_param


class RMSprop(Optimizer):
    """RMSprop: Hinton, Neural Networks for Machine Learning, lecture 6e,
    https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf; the centered
    variant from Graves, "Generating Sequences With Recurrent Neural Networks" (2013),
    https://arxiv.org/abs/1308.0850.

    Per step, with ``g`` the gradient (``-g`` if maximize, plus ``weight_decay * p``)::

        s = alpha * s + (1 - alpha) * g^2
        a = alpha * a + (1 - alpha) * g;   d = sqrt(s - a^2) + eps     (centered)
                                            d = sqrt(s) + eps           (otherwise)
        b = momentum * b + g / d;  p = p - lr * b        (momentum > 0)
        p = p - lr * g / d                               (otherwise)

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0).
        alpha: smoothing constant of the squared-gradient average (>= 0).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        momentum: momentum factor (>= 0).
        centered: normalise by the estimated variance instead of the second moment.
        capturable, foreach, differentiable: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
        maximize: ascend the objective instead of descending.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_flags("RMSprop", foreach, capturable, differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _validate(self, group):
        for key in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            check_hyper("RMSprop", key, group[key])

    def init_state(self, param, group=None):
        """Zero squared-gradient average, plus momentum buffer / gradient average if used."""
        group = self._group_of(param) if group is None else group
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0)
        state["square_avg"] = zeros_like_param(param)
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_like_param(param)
        if group["centered"]:
            state["grad_avg"] = zeros_like_param(param)
        return state

    def _update_group(self, group):
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        momentum, centered = float(group["momentum"]), group["centered"]
        for p, g, state in self._params_with_grad(group):
            self._next_step(p, state)
            # each slot's array as it is now, written back (see Adam's _adam_portable)
            s_t = state["square_avg"]
            s = s_t.array
            sq = g * g
            sq *= 1.0 - alpha
            s *= alpha
            s += sq
            s_t.array = s
            if centered:
                a_t = state["grad_avg"]
                a = a_t.array
                a -= g  # a = alpha*a + (1-alpha)*g as g + alpha*(a - g): no temporary
                a *= alpha
                a += g
                a_t.array = a
                denom = p._be.xp.sqrt(s - a * a)
            else:
                denom = p._be.xp.sqrt(s)
            denom += eps
            if momentum > 0.0:
                buf_t = state["momentum_buffer"]
                buf = buf_t.array
                buf *= momentum
                buf += g / denom
                buf_t.array = buf
                p.array -= buf * lr
            else:
                update = g / denom
                update *= lr
                p.array -= update

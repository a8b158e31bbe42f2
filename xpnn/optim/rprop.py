"""Rprop (resilient backpropagation), PyTorch's update formula."""
from __future__ import annotations

from .optimizer import (Optimizer, check_flags, check_hyper, check_pair, full_like_param,
                        zeros_like_param)


class Rprop(Optimizer):
    """Rprop: Riedmiller & Braun, "A Direct Adaptive Method for Faster Backpropagation
    Learning: The RPROP Algorithm" (ICNN 1993), https://doi.org/10.1109/ICNN.1993.298623.
    Full-batch training: only the signs of the gradients are used.

    Per step, elementwise, with ``g`` the gradient (``-g`` if maximize) and ``prev`` the
    previous step's (masked) gradient::

        s = g * prev
        step_size = clip(step_size * (eta_plus if s > 0, eta_minus if s < 0, 1 if s == 0),
                         step_size_min, step_size_max)
        g = 0 where s < 0                (a sign change: skip this element once)
        p = p - sign(g) * step_size
        prev = g

    Every branch is an elementwise ``where``, so a step reads nothing from the device.

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: the initial step size of every element (>= 0).
        etas: (eta_minus, eta_plus), with 0 < eta_minus < 1 < eta_plus.
        step_sizes: (step_size_min, step_size_max), 0 <= min <= max.
        capturable, foreach, differentiable: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
        maximize: ascend the objective instead of descending.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_flags("Rprop", foreach, capturable, differentiable)
        super().__init__(params, dict(
            lr=lr, etas=tuple(etas) if isinstance(etas, list) else etas,
            step_sizes=tuple(step_sizes) if isinstance(step_sizes, list) else step_sizes,
            foreach=foreach, maximize=maximize, differentiable=differentiable,
            capturable=capturable))

    def _validate(self, group):
        check_hyper("Rprop", "lr", group["lr"])
        eta_minus, eta_plus = check_pair("Rprop", "etas", group["etas"])
        if not 0.0 < eta_minus < 1.0 < eta_plus:
            raise ValueError(f"Rprop: etas must satisfy 0 < etas[0] < 1 < etas[1], got "
                             f"{group['etas']!r}")
        low, high = check_pair("Rprop", "step_sizes", group["step_sizes"])
        if low > high:
            raise ValueError(f"Rprop: step_sizes must be (min, max) with min <= max, got "
                             f"{group['step_sizes']!r}")

    def init_state(self, param, group=None):
        """Step 0, a zero previous gradient, and every step size set to the group's lr."""
        group = self._group_of(param) if group is None else group
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0)
        state["prev"] = zeros_like_param(param)
        state["step_size"] = full_like_param(param, group["lr"])
        return state

    def _update_group(self, group):
        eta_minus, eta_plus = (float(e) for e in group["etas"])
        low, high = (float(s) for s in group["step_sizes"])
        for p, g, state in self._params_with_grad(group):
            xp = p.xp
            self._next_step(p, state)
            prev_t, size_t = state["prev"], state["step_size"]  # their arrays as they are
            s = g * prev_t.array  # now, and new ones written back (see Adam)
            factor = xp.where(s > 0, eta_plus, xp.where(s < 0, eta_minus, xp.ones_like(s)))
            size = size_t.array
            size *= factor
            size = size_t.array = xp.clip(size, low, high)
            g = xp.where(s < 0, 0.0, g)  # a new array: the caller's gradient is untouched
            update = xp.sign(g)
            update *= size
            p.array -= update
            prev_t.array = g

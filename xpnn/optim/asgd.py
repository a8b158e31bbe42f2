"""ASGD (averaged stochastic gradient descent), PyTorch's update formula."""
from __future__ import annotations

from .optimizer import Optimizer, check_flags, check_hyper, zeros_like_param


class ASGD(Optimizer):
    """Averaged SGD: Polyak & Juditsky, "Acceleration of Stochastic Approximation by
    Averaging" (SIAM J. Control Optim. 1992), https://doi.org/10.1137/0330046, with the
    step-size schedule of Bottou, "Stochastic Gradient Descent Tricks" (2012),
    https://leon.bottou.org/publications/pdf/tricks-2012.pdf.

    Per step t, with ``g`` the gradient (``-g`` if maximize, plus ``weight_decay * p``)::

        p = p * (1 - lambd * eta) - eta * g
        ax = p                     if mu == 1
        ax = ax + mu * (p - ax)    otherwise          (the running average of p)
        eta = lr / (1 + lambd * lr * t)^alpha
        mu = 1 / max(1, t - t0)

    ``eta`` and ``mu`` depend on t only: they are computed as Python numbers (mirrored on
    the host, like the step; stored as 0-d Tensors as in PyTorch), so a step reads nothing
    from the device. The averaged parameters are ``optimizer.state[p]["ax"]``.

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0).
        lambd: decay term (>= 0).
        alpha: power of the eta schedule (>= 0).
        t0: the step at which averaging starts (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        foreach, differentiable, capturable: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
        maximize: ascend the objective instead of descending.
    """

    _count_slots = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        check_flags("ASGD", foreach, capturable, differentiable)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _validate(self, group):
        for key in ("lr", "lambd", "alpha", "t0", "weight_decay"):
            check_hyper("ASGD", key, group[key])

    def init_state(self, param, group=None):
        """Step 0, eta = lr, mu = 1 and a zero average ``ax``."""
        group = self._group_of(param) if group is None else group
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0)
        self._new_scalar(param, state, "eta", float(group["lr"]))
        self._new_scalar(param, state, "mu", 1.0)
        state["ax"] = zeros_like_param(param)
        return state

    def _update_group(self, group):
        lr, lambd = float(group["lr"]), float(group["lambd"])
        alpha, t0 = float(group["alpha"]), float(group["t0"])
        for p, g, state in self._params_with_grad(group):
            t = self._next_step(p, state)
            eta_m, mu_m = self._mirror_of(p, state, "eta"), self._mirror_of(p, state, "mu")
            eta, mu = eta_m[3], mu_m[3]
            p.array *= 1.0 - lambd * eta
            p.array -= g * eta
            ax_t = state["ax"]  # its array as it is now, written back (see Adam)
            if mu != 1.0:
                ax = ax_t.array
                ax += (p.array - ax) * mu
                ax_t.array = ax
            else:  # copied into ax's own array: p keeps changing in place
                ax_t._writable()[...] = p.array
            self._write(eta_m, lr / (1.0 + lambd * lr * t) ** alpha)
            self._write(mu_m, 1.0 / max(1.0, t - t0))

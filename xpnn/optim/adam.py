"""Adam and AdamW (with AMSGrad), PyTorch's update formulas."""
from __future__ import annotations

import math

from .optimizer import Optimizer, check_flags, check_hyper, zeros_like_param


def check_betas(owner, betas):
    """Raise unless ``betas`` is a pair of numbers in [0, 1), quoting what was passed."""
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2) in [0, 1), got "
                         f"{betas!r}")
    check_hyper(owner, "betas[0]", betas[0], 0.0, 1.0)
    check_hyper(owner, "betas[1]", betas[1], 0.0, 1.0)


class Adam(Optimizer):
    """Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015),
    https://arxiv.org/abs/1412.6980; AMSGrad from Reddi et al., "On the Convergence of Adam
    and Beyond" (ICLR 2018), https://openreview.net/forum?id=ryQu7f-RZ.

    Per step t, with ``g`` the gradient (``-g`` if maximize)::

        g = g + weight_decay * p          (L2; or p *= 1 - lr*weight_decay if decoupled)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2       (AMSGrad: vmax = max(vmax, v), used for v)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    computed as ``p -= (lr * sqrt(bc2) / bc1) * m / (sqrt(v) + eps * sqrt(bc2))``, the same
    value with the bias corrections folded into two Python floats per step.

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0).
        betas: decay rates (beta1, beta2) of the first and second moments, each in [0, 1).
        eps: added to the denominator for numerical stability (>= 0).
        weight_decay: L2 penalty (>= 0); decoupled (AdamW) if ``decoupled_weight_decay``.
        amsgrad: keep the running maximum of the second moment (AMSGrad).
        maximize: ascend the objective instead of descending.
        decoupled_weight_decay: shrink the weights directly (AdamW) instead of adding
            ``weight_decay * p`` to the gradient.
        foreach, capturable, differentiable, fused: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        check_flags(type(self).__name__, foreach, capturable, differentiable, fused)
        super().__init__(params, dict(lr=lr, betas=tuple(betas) if isinstance(betas, list)
                                      else betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=bool(amsgrad), maximize=bool(maximize),
                                      decoupled_weight_decay=bool(decoupled_weight_decay)))

    def _validate(self, group):
        name = type(self).__name__
        check_hyper(name, "lr", group["lr"])
        check_betas(name, group["betas"])
        check_hyper(name, "eps", group["eps"])
        check_hyper(name, "weight_decay", group["weight_decay"])

    def init_state(self, param, group=None):
        """Zero first and second moments (and their running max with AMSGrad); step 0."""
        group = self._group_of(param) if group is None else group
        state = {"step": 0, "exp_avg": zeros_like_param(param),
                 "exp_avg_sq": zeros_like_param(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like_param(param)
        self.state[param] = state
        return state

    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        amsgrad, one_minus_beta2 = group["amsgrad"], 1.0 - beta2
        last_t = 0  # bias corrections depend only on t: recompute when it changes
        for p, g, state in self._params_with_grad(group):
            t = state["step"] = state["step"] + 1
            if t != last_t:
                last_t = t
                bc2_sqrt = math.sqrt(1.0 - beta2 ** t)
                step_size = lr * bc2_sqrt / (1.0 - beta1 ** t)
                eps_hat = eps * bc2_sqrt
            m, v = state["exp_avg"], state["exp_avg_sq"]
            # m = beta1*m + (1-beta1)*g written as g + beta1*(m - g): no temporary
            m -= g
            m *= beta1
            m += g
            sq = g * g
            sq *= one_minus_beta2
            v *= beta2
            v += sq
            # written back: a namespace whose in-place operators return new arrays still
            # keeps its state (for NumPy, torch, CuPy they are the same arrays)
            state["exp_avg"], state["exp_avg_sq"] = m, v
            if amsgrad:
                v = state["max_exp_avg_sq"] = p._be.xp.maximum(state["max_exp_avg_sq"], v)
            denom = p._be.xp.sqrt(v)
            denom += eps_hat
            update = m / denom
            update *= step_size
            p.array -= update


class AdamW(Adam):
    """Adam with decoupled weight decay: Loshchilov & Hutter, "Decoupled Weight Decay
    Regularization" (ICLR 2019), https://arxiv.org/abs/1711.05101.

    Each step first shrinks the weights, ``p *= 1 - lr * weight_decay``, then applies the
    Adam update (see :class:`Adam`) to the undecayed gradient.

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0).
        betas: (beta1, beta2), each in [0, 1).
        eps: denominator term (>= 0).
        weight_decay: decoupled decay rate (>= 0), 1e-2 by default as in PyTorch.
        amsgrad: use AMSGrad's running maximum of the second moment.
        maximize: ascend the objective instead of descending.
        foreach, capturable, differentiable, fused: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW decouples whatever an Adam state dict said
            group["decoupled_weight_decay"] = True

"""Adam's relatives: Adamax, NAdam and RAdam, PyTorch's update formulas.

Everything that depends only on the step count (bias corrections, NAdam's momentum
schedule, RAdam's rectification) is a Python float computed on the host from the step's
host mirror (see xpnn/optim/optimizer.py), so a step never reads a device value.
"""
from __future__ import annotations

import math

from .adam import as_betas, check_adam_group, lerp_, second_moment_
from .optimizer import Optimizer, check_flags, check_hyper, zeros_like_param


class _AdamFamily(Optimizer):
    """Shared validation and zero moments of the Adam variants."""

    def _validate(self, group):
        check_adam_group(type(self).__name__, group)

    def init_state(self, param, group=None):
        """Step 0 and zero first and second moments (``exp_avg``, ``exp_avg_sq``)."""
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0)
        state["exp_avg"], state["exp_avg_sq"] = zeros_like_param(param), zeros_like_param(param)
        return state


class Adamax(_AdamFamily):
    """Adamax, the infinity-norm variant of Adam: Kingma & Ba, "Adam: A Method for
    Stochastic Optimization" (ICLR 2015), section 7.1, https://arxiv.org/abs/1412.6980.

    Per step t, with ``g`` the gradient (``-g`` if maximize, plus ``weight_decay * p``)::

        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1^t) * m / u

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0).
        betas: (beta1, beta2), decay rates of the first moment and of the infinity norm,
            each in [0, 1).
        eps: added to ``|g|`` (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        foreach, differentiable, capturable: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
        maximize: ascend the objective instead of descending.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        check_flags("Adamax", foreach, capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=as_betas(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def init_state(self, param, group=None):
        """Step 0, zero first moment ``exp_avg`` and zero infinity norm ``exp_inf``."""
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0)
        state["exp_avg"], state["exp_inf"] = zeros_like_param(param), zeros_like_param(param)
        return state

    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        for p, g, state in self._params_with_grad(group):
            t = self._next_step(p, state)
            m_t, u_t = state["exp_avg"], state["exp_inf"]  # arrays written back (see Adam)
            m = m_t.array = lerp_(m_t.array, g, beta1)
            u = u_t.array
            u *= beta2
            u = u_t.array = p.xp.maximum(u, p.xp.abs(g) + eps)
            update = m / u
            update *= lr / (1.0 - beta1 ** t)
            p.array -= update


class NAdam(_AdamFamily):
    """NAdam, Adam with Nesterov momentum: Dozat, "Incorporating Nesterov Momentum into
    Adam" (ICLR 2016 workshop), https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ;
    decoupled weight decay as in Loshchilov & Hutter, https://arxiv.org/abs/1711.05101.

    Per step t, with ``g`` the gradient (``-g`` if maximize)::

        g = g + weight_decay * p          (or p *= 1 - lr*weight_decay if decoupled)
        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay));   mu_prod = mu_prod * mu_t
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr * (1 - mu_t) / (1 - mu_prod) * g / d
              - lr * mu_{t+1} / (1 - mu_prod * mu_{t+1}) * m / d

    ``mu_product`` is computed as a Python number (the momentum schedule depends on t
    only), mirrored on the host like the step and stored as a 0-d Tensor as in PyTorch.

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0).
        betas: (beta1, beta2), each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: weight decay (>= 0), L2 unless ``decoupled_weight_decay``.
        momentum_decay: the momentum schedule's decay psi (>= 0).
        decoupled_weight_decay: shrink the weights directly (NAdamW) instead of adding
            ``weight_decay * p`` to the gradient.
        foreach, capturable, differentiable: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
        maximize: ascend the objective instead of descending.
    """

    _count_slots = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        check_flags("NAdam", foreach, capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=as_betas(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable))

    def _validate(self, group):
        super()._validate(group)
        check_hyper("NAdam", "momentum_decay", group["momentum_decay"])

    def init_state(self, param, group=None):
        """Step 0, ``mu_product`` 1 and zero first and second moments."""
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0)
        self._new_scalar(param, state, "mu_product", 1.0)
        state["exp_avg"], state["exp_avg_sq"] = zeros_like_param(param), zeros_like_param(param)
        return state

    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        psi = float(group["momentum_decay"])
        for p, g, state in self._params_with_grad(group):
            t = self._next_step(p, state)
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            mirror = self._mirror_of(p, state, "mu_product")
            mu_product = mirror[3] * mu
            self._write(mirror, mu_product)
            m_t, v_t = state["exp_avg"], state["exp_avg_sq"]  # written back (see Adam)
            m = m_t.array = lerp_(m_t.array, g, beta1)
            v = v_t.array = second_moment_(v_t.array, g, beta2)
            denom = p.xp.sqrt(v / (1.0 - beta2 ** t))
            denom += eps
            update = g / denom
            update *= lr * (1.0 - mu) / (1.0 - mu_product)
            p.array -= update
            update = m / denom
            update *= lr * mu_next / (1.0 - mu_product * mu_next)
            p.array -= update


class RAdam(_AdamFamily):
    """RAdam, Adam with a rectified adaptive rate: Liu et al., "On the Variance of the
    Adaptive Learning Rate and Beyond" (ICLR 2020), https://arxiv.org/abs/1908.03265.

    Per step t, with ``g`` the gradient (``-g`` if maximize)::

        g = g + weight_decay * p          (or p *= 1 - lr*weight_decay if decoupled)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - lr * m / (1 - beta1^t) * r * sqrt(1 - beta2^t) / (sqrt(v) + eps)
        else:
            p = p - lr * m / (1 - beta1^t)

    ``rho_t`` depends on t only, so the branch is taken on the host.

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0).
        betas: (beta1, beta2), each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: weight decay (>= 0), L2 unless ``decoupled_weight_decay``.
        decoupled_weight_decay: shrink the weights directly (as AdamW) instead.
        foreach, capturable, differentiable: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
        maximize: ascend the objective instead of descending.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        check_flags("RAdam", foreach, capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=as_betas(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        for p, g, state in self._params_with_grad(group):
            t = self._next_step(p, state)
            m_t, v_t = state["exp_avg"], state["exp_avg_sq"]  # written back (see Adam)
            m = m_t.array = lerp_(m_t.array, g, beta1)
            v = v_t.array = second_moment_(v_t.array, g, beta2)
            bc2 = 1.0 - beta2 ** t
            rho_t = rho_inf - 2.0 * t * beta2 ** t / bc2
            update = m / (1.0 - beta1 ** t)
            update *= lr
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                 ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                denom = p.xp.sqrt(v)
                denom += eps
                update *= math.sqrt(bc2) / denom
                update *= rect
            p.array -= update

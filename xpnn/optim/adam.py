"""Adam and AdamW (with AMSGrad), PyTorch's update formulas."""
from __future__ import annotations

import math
from functools import partial

from .. import backend as B
from .. import cpu
from .optimizer import Optimizer, check_flags, check_hyper, zeros_like_param


def check_betas(owner, betas):
    """Raise unless ``betas`` is a pair of numbers in [0, 1), quoting what was passed."""
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2) in [0, 1), got "
                         f"{betas!r}")
    check_hyper(owner, "betas[0]", betas[0], 0.0, 1.0)
    check_hyper(owner, "betas[1]", betas[1], 0.0, 1.0)


def as_betas(betas):
    """``betas`` as stored in a group: a list (from JSON, say) becomes a tuple."""
    return tuple(betas) if isinstance(betas, list) else betas


def check_adam_group(owner, group):
    """Raise unless the lr, betas, eps and weight decay of an Adam-like group are valid."""
    check_hyper(owner, "lr", group["lr"])
    check_betas(owner, group["betas"])
    check_hyper(owner, "eps", group["eps"])
    check_hyper(owner, "weight_decay", group["weight_decay"])


def lerp_(m, g, beta):
    """``m = beta * m + (1 - beta) * g`` in place, as ``g + beta * (m - g)``: no temporary."""
    m -= g
    m *= beta
    m += g
    return m


def second_moment_(v, g, beta2):
    """``v = beta2 * v + (1 - beta2) * g^2`` in place."""
    sq = g * g
    sq *= 1.0 - beta2
    v *= beta2
    v += sq
    return v


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

    _sparse_refusal = ("Adam does not support sparse gradients, please consider SparseAdam "
                       "instead")  # AdamW's too (a subclass of Adam in torch)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        check_flags(type(self).__name__, foreach, capturable, differentiable, fused)
        super().__init__(params, dict(lr=lr, betas=as_betas(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    _complex_params = True  # each part updated apart, as PyTorch's view_as_real

    def _validate(self, group):
        check_adam_group(type(self).__name__, group)

    def init_state(self, param, group=None):
        """Zero first and second moments (and their running max with AMSGrad); step 0."""
        group = self._group_of(param) if group is None else group
        state = self.state[param] = {}
        self._new_scalar(param, state, "step", 0)
        state["exp_avg"], state["exp_avg_sq"] = zeros_like_param(param), zeros_like_param(param)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like_param(param)
        return state

    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        amsgrad = group["amsgrad"]
        last_t, jobs = 0, []  # bias corrections depend only on t: recompute when it changes
        for p, g, state in self._params_with_grad(group):
            t = self._next_step(p, state)
            if t != last_t:
                last_t = t
                bc2_sqrt = math.sqrt(1.0 - beta2 ** t)
                step_size = lr * bc2_sqrt / (1.0 - beta1 ** t)
                eps_hat = eps * bc2_sqrt
            if p._be.is_complex(p.dtype):
                _adam_complex((p, g, state, step_size, eps_hat), beta1, beta2, amsgrad)
                continue
            jobs.append((p, g, state, step_size, eps_hat))
        native = ADAM.get(jobs[0][0]._be.name) if jobs else None
        if native is None or not native(jobs, beta1, beta2, amsgrad):
            for job in jobs:
                _adam_portable(job, beta1, beta2, amsgrad)


def _descend(xp, p, m, v, step_size, eps_hat):
    """p - step_size m / (sqrt(v) + eps_hat), in place where the namespace allows."""
    denom = xp.sqrt(v)
    denom += eps_hat
    update = m / denom
    update *= step_size
    p -= update
    return p


def _adam_portable(job, beta1, beta2, amsgrad):
    """One parameter's Adam update in Array API operators, in place where they allow."""
    p, g, state, step_size, eps_hat = job
    m_t, v_t = state["exp_avg"], state["exp_avg_sq"]
    # the arrays the slot Tensors hold now (a user's in-place change included), written
    # back: a namespace whose in-place operators return new arrays still keeps its state
    # (for NumPy, torch, CuPy they are the same arrays)
    m = m_t.array = lerp_(m_t.array, g, beta1)
    v = v_t.array = second_moment_(v_t.array, g, beta2)
    if amsgrad:
        vmax_t = state["max_exp_avg_sq"]
        v = vmax_t.array = p._be.xp.maximum(vmax_t.array, v)
    p.array = _descend(p._be.xp, p.array, m, v, step_size, eps_hat)


def _adam_complex(job, beta1, beta2, amsgrad):
    """A complex parameter's update as PyTorch's (on ``view_as_real``): the real and the
    imaginary parts are two real parameters, each with its own moments. The slots stay
    complex, the second moment holding Re: v(Re g), Im: v(Im g)."""
    p, g, state, step_size, eps_hat = job
    xp = p._be.xp
    m_t, v_t = state["exp_avg"], state["exp_avg_sq"]
    re, im = xp.real, xp.imag
    m = m_t.array = g + beta1 * (m_t.array - g)
    sq = re(g) * re(g) + im(g) * im(g) * 1j  # the parts squared apart
    v = v_t.array = beta2 * v_t.array + (1.0 - beta2) * sq
    if amsgrad:
        vmax_t = state["max_exp_avg_sq"]
        vmax = vmax_t.array
        v = vmax_t.array = xp.maximum(re(vmax), re(v)) + xp.maximum(im(vmax), im(v)) * 1j
    upd = re(m) / (xp.sqrt(re(v)) + eps_hat) + im(m) / (xp.sqrt(im(v)) + eps_hat) * 1j
    p.array = p.array - step_size * upd


def _adam_numpy(jobs, beta1, beta2, amsgrad):
    """The portable update, operation for operation, on pieces of the flattened parameters,
    split over xpnn's CPU threads (xpnn/cpu/) so that each gets about as many elements.
    Returns False (nothing done) unless every array is contiguous and on NumPy."""
    if amsgrad:
        return False
    be = jobs[0][0]._be
    np = be.lib
    pieces, total = [], 0
    for p, g, state, step_size, eps_hat in jobs:
        if p._be is not be:
            return False
        arrays = (p.array, g, state["exp_avg"].array, state["exp_avg_sq"].array)
        if any(type(a) is not type(arrays[0]) or not a.flags.c_contiguous for a in arrays):
            return False
        flat = tuple(a.reshape(-1) for a in arrays)
        pieces.append((flat, step_size, eps_hat))
        total += flat[0].shape[0]
    n = cpu.workers(total, 1 << 16)
    if n == 1:
        _adam_pieces(np, pieces, beta1, beta2)
        return True
    share, tasks, todo, room = -(-total // n), [], [], -(-total // n)
    for flat, step_size, eps_hat in pieces:  # cut the params into n runs of ~share elements
        size, start = flat[0].shape[0], 0
        while start < size:
            take = min(room, size - start)
            todo.append((tuple(a[start:start + take] for a in flat), step_size, eps_hat))
            start, room = start + take, room - take
            if room == 0:
                tasks.append(todo)
                todo, room = [], share
    if todo:
        tasks.append(todo)
    cpu.parallel([partial(_adam_pieces, np, t, beta1, beta2) for t in tasks])
    return True


def _adam_pieces(np, pieces, beta1, beta2):
    """The portable update's operations on views of the flattened arrays (in place)."""
    for (P, G, M, V), step_size, eps_hat in pieces:
        lerp_(M, G, beta1)
        second_moment_(V, G, beta2)
        _descend(np, P, M, V, step_size, eps_hat)


def _adam_cupy(jobs, beta1, beta2, amsgrad):
    """The portable update as one CUDA kernel per parameter (the portable code launches
    eleven), each operation rounded as the portable code rounds it. Returns False (nothing
    done) with AMSGrad or unless every parameter is float32 or float64 on CuPy, with its
    gradient and moments of the same dtype."""
    be = jobs[0][0]._be
    if amsgrad or any(p._be is not be or
                      not B.kernel_floats(p.array, g, s["exp_avg"].array,
                                          s["exp_avg_sq"].array)
                      for p, g, s, *_ in jobs):
        return False
    update = be.kernel(
        "xpnn_adam", "T g, T step_size, T eps_hat, T beta1, T beta2, T one_minus_beta2",
        "T p, T m, T v",
        # lerp_, second_moment_ and _descend, operator for operator
        "m = add_rn(mul_rn(sub_rn(m, g), beta1), g);"
        "v = add_rn(mul_rn(v, beta2), mul_rn(mul_rn(g, g), one_minus_beta2));"
        "p = sub_rn(p, mul_rn(div_rn(m, add_rn(sqrt_rn(v), eps_hat)), step_size));")
    for p, g, state, step_size, eps_hat in jobs:
        update(g, step_size, eps_hat, beta1, beta2, 1.0 - beta2, p.array,
               state["exp_avg"].array, state["exp_avg_sq"].array)
    return True


# Native Adam updates by backend name; each returns False where it does not apply.
ADAM = {"numpy": _adam_numpy, "cupy": _adam_cupy}


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

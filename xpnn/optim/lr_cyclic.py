"""Cyclic schedules: cosine annealing with warm restarts (SGDR), the cyclical learning
rate (CLR) and the 1cycle policy; CyclicLR and OneCycleLR also cycle the momentum. Values
match torch.optim.lr_scheduler.
"""
from __future__ import annotations

import math
import numbers

from .lr_base import LRScheduler, _callable_state, _check_int, _check_optimizer, _per_group
from .optimizer import check_hyper


def _set_momentum(group, value, use_beta1):
    """Write a momentum: Adam-style optimizers keep it as ``betas[0]``."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _check_momentum(owner, optimizer):
    """Whether the optimizer's momentum is ``betas[0]``; raise if it has none."""
    defaults = optimizer.defaults
    if "momentum" not in defaults and "betas" not in defaults:
        raise ValueError(f"{owner}: cycle_momentum=True needs an optimizer with 'momentum' "
                         f"or 'betas'; {type(optimizer).__name__} has neither")
    return "betas" in defaults


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts, SGDR: Loshchilov & Hutter, "SGDR: Stochastic
    Gradient Descent with Warm Restarts" (ICLR 2017), https://arxiv.org/abs/1608.03983.

    Rate: eta_min + (base - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2, where T_cur counts
    epochs since the last restart and T_i (first ``T_0``) is multiplied by ``T_mult`` at
    each restart. ``step(epoch)`` may be given a fractional epoch (e.g. ``e + i / iters``
    once per batch), as in PyTorch.

    Args:
        optimizer: the Optimizer to schedule.
        T_0: epochs until the first restart (int >= 1).
        T_mult: growth factor of the period after each restart (int >= 1).
        eta_min: the lowest rate (>= 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        name = "CosineAnnealingWarmRestarts"
        self.T_0 = self.T_i = _check_int(name, "T_0", T_0, 1)
        self.T_mult = _check_int(name, "T_mult", T_mult, 1)
        self.eta_min = check_hyper(name, "eta_min", eta_min)
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lo, phase = self.eta_min, math.cos(math.pi * self.T_cur / self.T_i)
        return [lo + (b - lo) * (1 + phase) / 2 for b in self.base_lrs]

    def step(self, epoch=None):
        """Advance one epoch, or go to ``epoch`` (a number >= 0, fractions allowed)."""
        self._step_count += 1
        self._jump(epoch)

    def _jump(self, epoch):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            if not isinstance(epoch, numbers.Real) or isinstance(epoch, bool) or epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts.step: epoch must be a number "
                                 f">= 0, got {epoch!r}")
            if epoch < self.T_0:
                self.T_i, self.T_cur = self.T_0, epoch
            elif self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:  # the restart n with T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult ** n
        self.last_epoch = math.floor(epoch)
        self._apply(self.get_lr())


class CyclicLR(LRScheduler):
    """The cyclical learning rate: Smith, "Cyclical Learning Rates for Training Neural
    Networks" (WACV 2017), https://arxiv.org/abs/1506.01186. Call ``step()`` after every
    batch.

    The rate goes from ``base_lr`` up to ``max_lr`` in ``step_size_up`` steps and back in
    ``step_size_down``; the amplitude is scaled per cycle (``"triangular"``: 1,
    ``"triangular2"``: halved each cycle) or per step (``"exp_range"``: gamma**step), or by
    ``scale_fn``. With ``cycle_momentum`` the momentum (``momentum`` or ``betas[0]``) moves
    the other way, between ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer: the Optimizer to schedule.
        base_lr: the lowest rate, or one per param group (sets the groups' rates).
        max_lr: the highest rate, or one per param group.
        step_size_up: steps of the rising half (> 0).
        step_size_down: steps of the falling half (>= 0); ``step_size_up`` if None.
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"`` (ignored with
            ``scale_fn``).
        gamma: the base of ``"exp_range"``'s scaling (>= 0).
        scale_fn: a custom scaling, a function of the cycle or step number into [0, 1].
        scale_mode: ``"cycle"`` or ``"iterations"``: what ``scale_fn`` is a function of.
        cycle_momentum: also cycle the momentum (the optimizer must have one).
        base_momentum: the lowest momentum, or one per group.
        max_momentum: the highest momentum, or one per group.
        last_epoch: see :class:`LRScheduler` (here: the index of the last batch).
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        name = "CyclicLR"
        _check_optimizer(name, optimizer)
        base_lrs = _per_group(name, "base_lr", optimizer, base_lr)
        self.max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        up = check_hyper(name, "step_size_up", step_size_up)
        down = up if step_size_down is None else check_hyper(name, "step_size_down",
                                                             step_size_down)
        if up == 0.0:
            raise ValueError(f"{name}: step_size_up must be > 0, got {step_size_up!r}")
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"{name}: mode must be 'triangular', 'triangular2' or "
                             f"'exp_range' (or pass scale_fn), got {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"{name}: scale_fn must be a function, got "
                            f"{type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{name}: scale_mode must be 'cycle' or 'iterations', got "
                             f"{scale_mode!r}")
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode, self.gamma = mode, check_hyper(name, "gamma", gamma)
        self._scale_fn_custom = scale_fn
        # as in PyTorch, the built-in modes fix what their scaling is a function of
        self.scale_mode = scale_mode if scale_fn is not None else \
            "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self.use_beta1 = _check_momentum(name, optimizer)
            self.base_momentums = _per_group(name, "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group(name, "max_momentum", optimizer, max_momentum)
        if last_epoch == -1:
            for i, group in enumerate(optimizer.param_groups):
                group["lr"] = base_lrs[i]
                if self.cycle_momentum:
                    hi, lo = self.max_momentums[i], self.base_momentums[i]
                    _set_momentum(group, hi, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs  # after the first step, as PyTorch does

    def scale_fn(self, x):
        """The amplitude's scale at cycle (or step) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        e = self.last_epoch
        cycle = math.floor(1 + e / self.total_size)
        x = 1.0 + e / self.total_size - cycle  # the position in the cycle, in [0, 1)
        if x <= self.step_ratio:
            height = x / self.step_ratio
        else:
            height = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else e)
        lrs = [b + (m - b) * height * scale for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(self.optimizer.param_groups, self.base_momentums,
                                     self.max_momentums):
                _set_momentum(group, hi - (hi - lo) * height * scale, self.use_beta1)
        return lrs

    def state_dict(self):
        out = super().state_dict()
        fn = out.pop("_scale_fn_custom")  # no functions in a state dict (as PyTorch, last)
        out["_scale_fn_custom"] = None if fn is None else _callable_state([fn])[0]
        return out

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        attrs = state_dict.pop("_scale_fn_custom", None)
        super().load_state_dict(state_dict)
        if attrs is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(attrs)


# the keys of a phase of OneCycleLR (PyTorch's)
_PHASE_KEYS = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")


class OneCycleLR(LRScheduler):
    """The 1cycle policy: Smith & Topin, "Super-Convergence" (2017),
    https://arxiv.org/abs/1708.07120. Call ``step()`` after every batch.

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start``
    of ``total_steps``, then anneals to ``max_lr / (div_factor * final_div_factor)``
    (with ``three_phase``: back to the initial rate first, then to the minimum). With
    ``cycle_momentum`` the momentum (SGD's ``momentum``, Adam's ``betas[0]``) moves the
    other way, between ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer: the Optimizer to schedule.
        max_lr: the peak rate, or one per param group.
        total_steps: steps of the cycle; or give ``epochs`` and ``steps_per_epoch``.
        epochs: epochs of the cycle (with ``steps_per_epoch``).
        steps_per_epoch: steps per epoch (with ``epochs``).
        pct_start: fraction of the cycle spent rising, in [0, 1].
        anneal_strategy: ``"cos"`` or ``"linear"``.
        cycle_momentum: also cycle the momentum (the optimizer must have one).
        base_momentum: the lowest momentum (at the peak rate), or one per group.
        max_momentum: the highest momentum, or one per group.
        div_factor: initial rate = max_lr / div_factor (> 0).
        final_div_factor: final rate = initial rate / final_div_factor (> 0).
        three_phase: use the three-phase variant.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        name = "OneCycleLR"
        _check_optimizer(name, optimizer)
        if total_steps is not None:
            self.total_steps = _check_int(name, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _check_int(name, "epochs", epochs, 1) * \
                _check_int(name, "steps_per_epoch", steps_per_epoch, 1)
        else:
            raise ValueError(f"{name}: give total_steps, or both epochs and steps_per_epoch")
        pct_start = check_hyper(name, "pct_start", pct_start, 0.0, 1.0, False)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        for key, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if check_hyper(name, key, value) == 0.0:
                raise ValueError(f"{name}: {key} must be > 0, got {value!r}")
        n = self.total_steps
        up = float(pct_start * n) - 1
        if three_phase:
            phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (float(2 * pct_start * n) - 2, "max_lr", "initial_lr",
                       "base_momentum", "max_momentum"),
                      (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        # PyTorch's attributes (and so its state-dict keys): each phase's last step and
        # the group keys of its start and end rates and momenta; the annealing's name
        self._schedule_phases = [dict(zip(_PHASE_KEYS, phase)) for phase in phases]
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self.use_beta1 = _check_momentum(name, optimizer)
            highs = _per_group(name, "max_momentum", optimizer, max_momentum)
            lows = _per_group(name, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, hi, lo in zip(optimizer.param_groups, highs, lows):
                    _set_momentum(group, hi, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, but total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            phases = self._schedule_phases
            for i, phase in enumerate(phases):
                end, lr0, lr1, m0, m1 = (phase[k] for k in _PHASE_KEYS)
                if t <= end or i == len(phases) - 1:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self._anneal(group[m0], group[m1], pct),
                                      self.use_beta1)
                    break
                start = end
        return lrs

    def load_state_dict(self, state_dict):
        """PyTorch's state dict, or xpnn's older one (``phases`` as tuples,
        ``anneal_strategy``)."""
        state_dict = dict(state_dict)
        if "phases" in state_dict:
            state_dict["_schedule_phases"] = [dict(zip(_PHASE_KEYS, phase))
                                              for phase in state_dict.pop("phases")]
        if "anneal_strategy" in state_dict:
            state_dict["_anneal_func_type"] = state_dict.pop("anneal_strategy")
        super().load_state_dict(state_dict)


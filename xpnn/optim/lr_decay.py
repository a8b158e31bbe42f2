"""Schedules that are a function of the epoch: step, multi-step, exponential, linear,
constant, polynomial and cosine decay, and the user-function schedules (LambdaLR,
MultiplicativeLR). Values match torch.optim.lr_scheduler.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter

from .lr_base import LRScheduler, _callable_state, _check_int, _lambdas, _torch_order
from .optimizer import check_hyper


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: base * gamma**(e // step_size).

    Args:
        optimizer: the Optimizer to schedule.
        step_size: period of the decay, in epochs (int >= 1; a whole float such as the
            1.0 of PyTorch's text classification tutorial is taken as that int).
        gamma: multiplicative factor (>= 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if isinstance(step_size, float) and step_size.is_integer():
            step_size = int(step_size)
        self.step_size = _check_int("StepLR", "step_size", step_size, 1)
        self.gamma = check_hyper("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _closed_form(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone epoch (twice if listed twice).

    Args:
        optimizer: the Optimizer to schedule.
        milestones: epoch indices (ints >= 0).
        gamma: multiplicative factor (>= 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = sorted(_check_int("MultiStepLR", "milestones[i]", m, 0)
                                 for m in milestones)
        self.gamma = check_hyper("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        hits = self.milestones.count(self.last_epoch)
        if hits == 0:
            return self._current()
        return [lr * self.gamma ** hits for lr in self._current()]

    def _closed_form(self):
        passed = bisect_right(self.milestones, self.last_epoch)
        return [b * self.gamma ** passed for b in self.base_lrs]

    def state_dict(self):
        """PyTorch's state: the milestones as a ``collections.Counter`` (epoch: times)."""
        out = super().state_dict()
        out["milestones"] = Counter(self.milestones)
        return out

    def load_state_dict(self, state_dict):
        """Accepts the milestones as a Counter (PyTorch's, and xpnn's now) or a list."""
        state_dict = dict(state_dict)
        milestones = state_dict.get("milestones")
        if isinstance(milestones, dict):
            state_dict["milestones"] = sorted(Counter(milestones).elements())
        elif milestones is not None:
            state_dict["milestones"] = sorted(milestones)
        super().load_state_dict(state_dict)


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: base * gamma**e.

    Args:
        optimizer: the Optimizer to schedule.
        gamma: multiplicative factor (>= 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = check_hyper("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _closed_form(self):
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters``.

    Rate at epoch e: base * (start + (end - start) * min(e, total_iters) / total_iters).

    Args:
        optimizer: the Optimizer to schedule.
        start_factor: factor at epoch 0, in (0, 1].
        end_factor: factor from epoch ``total_iters`` on, in [0, 1].
        total_iters: epochs of the ramp (int >= 1).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        name = type(self).__name__
        self.start_factor = check_hyper(name, "start_factor", start_factor, 0.0, 1.0, False)
        if self.start_factor == 0.0:
            raise ValueError(f"{name}: start_factor must be in (0, 1], got {start_factor!r}")
        self.end_factor = check_hyper(name, "end_factor", end_factor, 0.0, 1.0, False)
        self.total_iters = _check_int(name, "total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, s, f, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if e == 0:
            return [lr * s for lr in self._current()]
        if self._is_initial or e > n:
            return self._current()
        # the ratio of the factor at e to the factor at e - 1
        ratio = 1.0 + (f - s) / (n * s + (e - 1) * (f - s))
        return [lr * ratio for lr in self._current()]

    def _closed_form(self):
        e, s, f, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        return [b * (s + (f - s) * min(n, e) / n) for b in self.base_lrs]


class LinearWarmup(LinearLR):
    """Linear warm-up: ramp the rate from ``start_factor * lr`` to ``lr`` in ``warmup_steps``.

    The same schedule as ``LinearLR(optimizer, start_factor, 1.0, warmup_steps)``; chain a
    decay after it with :class:`SequentialLR` or :func:`warmup_cosine`.

    Args:
        optimizer: the Optimizer to schedule.
        warmup_steps: steps of the ramp (int >= 1).
        start_factor: factor of the first step, in (0, 1].
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, warmup_steps, start_factor=0.1, last_epoch=-1):
        super().__init__(optimizer, start_factor, 1.0, warmup_steps, last_epoch)


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base rate to ``eta_min`` over ``T_max`` epochs (SGDR without
    restarts: Loshchilov & Hutter, https://arxiv.org/abs/1608.03983).

    Rate at epoch e: eta_min + (base - eta_min) * (1 + cos(pi * e / T_max)) / 2; past
    ``T_max`` it climbs back, as PyTorch's does.

    Args:
        optimizer: the Optimizer to schedule.
        T_max: half-period in epochs (int >= 1).
        eta_min: the lowest rate (>= 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = _check_int("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = check_hyper("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and e > 0:  # first step after resuming: closed form
            return self._closed_form()
        if (e - 1 - T) % (2 * T) == 0:  # leaving the trough: the recursion divides by ~0
            return [lr + (b - lo) * (1 - math.cos(math.pi / T)) / 2
                    for lr, b in zip(self._current(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (lr - lo) + lo for lr in self._current()]

    def _closed_form(self):
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        return [lo + (b - lo) * (1 + math.cos(math.pi * e / T)) / 2 for b in self.base_lrs]


class ConstantLR(LRScheduler):
    """Multiply the rate by ``factor`` until epoch ``total_iters``, then restore it.

    Rate at epoch e: base * factor for e < total_iters, base afterwards.

    Args:
        optimizer: the Optimizer to schedule.
        factor: the factor, in [0, 1].
        total_iters: the epoch at which the base rate comes back (int >= 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        self.factor = check_hyper("ConstantLR", "factor", factor, 0.0, 1.0, False)
        self.total_iters = _check_int("ConstantLR", "total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, f = self.last_epoch, self.factor
        if e == 0:
            return [lr * f for lr in self._current()]
        if e != self.total_iters:
            return self._current()
        if f == 0.0:  # the rate is 0 now: dividing cannot restore it, the base rate can
            return list(self.base_lrs)
        return [lr * (1.0 / f) for lr in self._current()]

    def _closed_form(self):
        f, done = self.factor, self.last_epoch >= self.total_iters
        return [b * (f + done * (1.0 - f)) for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Polynomial decay to zero over ``total_iters`` epochs.

    Rate at epoch e: base * (1 - min(e, total_iters) / total_iters) ** power.

    Args:
        optimizer: the Optimizer to schedule.
        total_iters: epochs of the decay (int >= 1).
        power: the polynomial's power (>= 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = _check_int("PolynomialLR", "total_iters", total_iters, 1)
        self.power = check_hyper("PolynomialLR", "power", power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, n = self.last_epoch, self.total_iters
        if self._is_initial or e > n:
            return self._current()
        # the ratio of the factor at e to the factor at e - 1
        ratio = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [lr * ratio for lr in self._current()]

    def _closed_form(self):
        e, n = self.last_epoch, self.total_iters
        return [b * (1.0 - min(n, e) / n) ** self.power for b in self.base_lrs]


class _FunctionSchedule(LRScheduler):
    """LambdaLR and MultiplicativeLR: rates from user functions of the epoch.

    Their state dict holds no functions (as in PyTorch): a plain function saves None, a
    callable object its ``__dict__``, restored into the scheduler's own callables.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _lambdas(type(self).__name__, optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        out = _torch_order({k: (list(v) if isinstance(v, list) else v)
                            for k, v in self.__dict__.items()
                            if k not in ("optimizer", "lr_lambdas")})
        out["lr_lambdas"] = _callable_state(self.lr_lambdas)
        return out

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        saved = state_dict.pop("lr_lambdas", None) or []
        state_dict.pop("_get_lr_called_within_step", None)  # PyTorch's; no use here
        self.__dict__.update(state_dict)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)


class LambdaLR(_FunctionSchedule):
    """Set the rate to the base rate times a function of the epoch: base * lr_lambda(e).

    Args:
        optimizer: the Optimizer to schedule.
        lr_lambda: a function of the epoch index giving a factor, or one per param group.
        last_epoch: see :class:`LRScheduler`.
    """

    def get_lr(self):
        return [b * fn(self.last_epoch) for fn, b in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_FunctionSchedule):
    """Multiply the rate by a function of the epoch every epoch: lr * lr_lambda(e).

    Args:
        optimizer: the Optimizer to schedule.
        lr_lambda: a function of the epoch index giving a factor, or one per param group.
        last_epoch: see :class:`LRScheduler`.
    """

    def get_lr(self):
        if self._is_initial:
            return self._current()
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._current())]

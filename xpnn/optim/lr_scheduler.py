"""Learning-rate schedules, giving the same values as torch.optim.lr_scheduler.

A scheduler rewrites ``group["lr"]`` of its optimizer each time ``step()`` is called (once
per epoch or per batch, after ``optimizer.step()``). As in PyTorch, most schedules are
*chainable*: ``get_lr`` derives the next rate from the current ``group["lr"]``, so two
schedulers can act on one optimizer; ``_closed_form`` gives the rate at an epoch from the
base rate, which ``SequentialLR`` uses when it hands over to the next schedule.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from itertools import pairwise

from .optimizer import Optimizer, check_hyper


def _check_optimizer(owner, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected an xpnn Optimizer, got {type(optimizer).__name__}")


def _check_int(owner, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return value


class LRScheduler:
    """Base of the epoch-indexed schedules.

    Args:
        optimizer: the Optimizer whose groups' ``"lr"`` to set.
        last_epoch: index of the last epoch done; -1 starts fresh (and records each group's
            ``"initial_lr"``); a value >= 0 resumes and needs ``"initial_lr"`` in the groups.
    Attributes:
        base_lrs: each group's ``"initial_lr"``.
        last_epoch: the epoch index of the current rates.
    """

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"{name}: last_epoch must be an int >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{name}: resuming with last_epoch={last_epoch} needs "
                               f"'initial_lr' in param_groups[{i}] (load the optimizer's "
                               "state dict first)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """The constructor's step: sets the rates of epoch ``last_epoch + 1``."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The rates for ``self.last_epoch``, derived from the groups' current rates.

        Returns:
            list of float, one per param group.
        """
        raise NotImplementedError

    def _closed_form(self):
        """The rates for ``self.last_epoch`` from ``base_lrs`` (None: not available)."""

    def _current(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self):
        """Advance one epoch and write the new rates into the optimizer."""
        self._step_count += 1
        self.last_epoch += 1
        self._apply(self.get_lr())

    def _jump(self, epoch):
        """Set ``last_epoch = epoch`` and its rates in closed form (SequentialLR's hand-over)."""
        self.last_epoch = epoch
        values = self._closed_form()
        self._apply(self.get_lr() if values is None else values)

    def _apply(self, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = self._current()

    def get_last_lr(self):
        """The rates the last ``step()`` set, one per param group (a new list)."""
        return list(self._last_lr)

    def state_dict(self):
        """Every attribute but the optimizer, as plain Python values."""
        return {k: (list(v) if isinstance(v, list) else v)
                for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore the attributes saved by :meth:`state_dict`."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: base * gamma**(e // step_size).

    Args:
        optimizer: the Optimizer to schedule.
        step_size: period of the decay, in epochs (int >= 1).
        gamma: multiplicative factor (>= 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
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


class SequentialLR(LRScheduler):
    """Run schedulers one after another, switching at the milestone epochs.

    At milestone ``milestones[i]`` scheduler ``i + 1`` restarts from epoch 0 (from the base
    rates), as in PyTorch.

    Args:
        optimizer: the Optimizer every scheduler acts on.
        schedulers: list of LRSchedulers built on ``optimizer``.
        milestones: ``len(schedulers) - 1`` increasing epoch indices.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_optimizer("SequentialLR", optimizer)
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("SequentialLR: expected at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or getattr(s, "_needs_metric", False):
                raise TypeError(f"SequentialLR: schedulers[{i}] is a {type(s).__name__}; "
                                "expected an epoch-indexed LRScheduler")
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: schedulers[{i}] ({type(s).__name__}) acts "
                                 "on another optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones for "
                             f"{len(schedulers)} schedulers, got {milestones!r}")
        if any(b <= a for a, b in pairwise(milestones)):
            raise ValueError(f"SequentialLR: milestones must increase, got {milestones!r}")
        self.optimizer = optimizer
        self._schedulers, self._milestones = schedulers, milestones
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:  # undo what the schedulers' constructors did
            group["lr"] = group["initial_lr"]
        for s in schedulers:
            s.last_epoch -= 1
        first = schedulers[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._jump(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        out = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        out["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return out

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        subs = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for s, sd in zip(self._schedulers, subs):
            s.load_state_dict(sd)


def warmup_cosine(optimizer, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    """Linear warm-up for ``warmup_steps`` then cosine annealing to ``eta_min``.

    Args:
        optimizer: the Optimizer to schedule.
        warmup_steps: steps of the linear ramp (int >= 1).
        total_steps: all steps; the cosine runs for ``total_steps - warmup_steps``.
        start_factor: the warm-up's first factor, in (0, 1].
        eta_min: the final rate (>= 0).
    Returns:
        SequentialLR
    """
    _check_int("warmup_cosine", "total_steps", total_steps, 2)
    if isinstance(warmup_steps, int) and not 1 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_cosine: need 1 <= warmup_steps < total_steps, got "
                         f"warmup_steps={warmup_steps!r}, total_steps={total_steps!r}")
    warm = LinearWarmup(optimizer, warmup_steps, start_factor)
    cosine = CosineAnnealingLR(optimizer, total_steps - warmup_steps, eta_min)
    return SequentialLR(optimizer, [warm, cosine], [warmup_steps])


# also reachable here, as in torch.optim.lr_scheduler (they subclass LRScheduler)
from .lr_policies import OneCycleLR, ReduceLROnPlateau  # noqa: E402, F401

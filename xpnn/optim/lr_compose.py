"""Schedulers built from schedulers: SequentialLR (one after another, switching at
milestones) and ChainedScheduler (all at once, each step), plus ``warmup_cosine``."""
from __future__ import annotations

from bisect import bisect_right
from itertools import pairwise

from .lr_base import LRScheduler, _check_int, _check_optimizer
from .lr_decay import CosineAnnealingLR, LinearWarmup
from .lr_plateau import ReduceLROnPlateau


def _check_schedulers(owner, schedulers, optimizer):
    """Raise unless every scheduler is an epoch-indexed LRScheduler on ``optimizer``."""
    if not schedulers:
        raise ValueError(f"{owner}: expected at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        # PyTorch's exception types: ValueError for a ReduceLROnPlateau, TypeError otherwise
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{owner}: schedulers[{i}] is a ReduceLROnPlateau, which needs "
                             "a metric at each step; expected an epoch-indexed LRScheduler")
        if not isinstance(s, LRScheduler):
            raise TypeError(f"{owner}: schedulers[{i}] is a {type(s).__name__}; expected an "
                            "epoch-indexed LRScheduler")
        if s.optimizer is not optimizer:
            raise ValueError(f"{owner}: schedulers[{i}] ({type(s).__name__}) acts on another "
                             "optimizer")


def _undo_first_steps(scheduler):
    """Step back every leaf scheduler by the step its constructor took (as PyTorch)."""
    for s in scheduler._schedulers:
        if hasattr(s, "_schedulers"):
            _undo_first_steps(s)
        else:
            s.last_epoch -= 1


class _Composite(LRScheduler):
    """State dicts of schedulers that hold schedulers: their own, then each child's."""

    def state_dict(self):
        out = {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
               if k not in ("optimizer", "_schedulers")}
        out["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return out

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        subs = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for s, sd in zip(self._schedulers, subs):
            s.load_state_dict(sd)


class SequentialLR(_Composite):
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
        _check_schedulers("SequentialLR", schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones for "
                             f"{len(schedulers)} schedulers, got {milestones!r}")
        if any(b <= a for a, b in pairwise(milestones)):
            raise ValueError(f"SequentialLR: milestones must increase, got {milestones!r}")
        self._schedulers, self._milestones = schedulers, milestones
        super().__init__(optimizer, last_epoch)

    def _start(self):
        """Undo the schedulers' own first steps and take the first one's, from the base."""
        self.last_epoch += 1
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        _undo_first_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
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


class ChainedScheduler(_Composite):
    """Step several schedulers together: each ``step()`` calls every scheduler's ``step()``
    in order, so chainable schedules compose (e.g. a warm-up times a decay).

    Args:
        schedulers: LRSchedulers built on one optimizer.
        optimizer: that optimizer (default: the first scheduler's).
    """

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if optimizer is None and schedulers:
            optimizer = getattr(schedulers[0], "optimizer", None)
        _check_schedulers("ChainedScheduler", schedulers, optimizer)
        self._schedulers = schedulers
        super().__init__(optimizer)

    def _start(self):
        """The schedulers have set the first rates already."""
        self._last_lr = self._current()

    def step(self):
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current()

    def state_dict(self):
        """PyTorch's keys: ``_last_lr`` and each scheduler's state (no epoch of its own)."""
        out = super().state_dict()
        out.pop("last_epoch", None)
        return out


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

"""Schedules that are more than a function of the epoch: OneCycleLR, which also cycles the
momentum, and ReduceLROnPlateau, which follows a metric. Values match PyTorch's.

Both are importable from ``xpnn.optim.lr_scheduler`` too, as in ``torch.optim``.
"""
from __future__ import annotations

import math

from .lr_scheduler import LRScheduler, _check_int, _check_optimizer
from .optimizer import check_hyper


def _per_group(owner, name, optimizer, value):
    """A list with one value per param group (a scalar is repeated)."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: expected {n} values of {name} (one per param group), "
                             f"got {len(value)}")
        return [check_hyper(owner, f"{name}[{i}]", v) for i, v in enumerate(value)]
    return [check_hyper(owner, name, value)] * n


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
        self.anneal_strategy = anneal_strategy
        n = self.total_steps
        up = float(pct_start * n) - 1
        if three_phase:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (float(2 * pct_start * n) - 2, "max_lr", "initial_lr",
                            "base_momentum", "max_momentum"),
                           (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            defaults = optimizer.defaults
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError(f"{name}: cycle_momentum=True needs an optimizer with "
                                 f"'momentum' or 'betas'; {type(optimizer).__name__} has "
                                 "neither")
            self.use_beta1 = "betas" in defaults
            highs = _per_group(name, "max_momentum", optimizer, max_momentum)
            lows = _per_group(name, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, hi, lo in zip(optimizer.param_groups, highs, lows):
                    self._set_momentum(group, hi)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
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
            for i, (end, lr0, lr1, m0, m1) in enumerate(self.phases):
                if t <= end or i == len(self.phases) - 1:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Divide the rate by ``1 / factor`` when a metric has stopped improving.

    After more than ``patience`` epochs without improvement (by ``threshold``, relative or
    absolute), every group's rate becomes ``max(lr * factor, min_lr)``, then ``cooldown``
    epochs pass before bad epochs count again. Call ``step(metric)`` once per epoch.

    Args:
        optimizer: the Optimizer to schedule.
        mode: ``"min"`` (lower is better) or ``"max"``.
        factor: multiplicative factor, in [0, 1).
        patience: bad epochs tolerated before reducing (int >= 0).
        threshold: the margin an improvement must beat (>= 0).
        threshold_mode: ``"rel"`` (best * (1 -/+ threshold)) or ``"abs"`` (best -/+ threshold).
        cooldown: epochs to wait after a reduction (int >= 0).
        min_lr: the lowest rate, or one per param group (>= 0).
        eps: reductions smaller than this are skipped (>= 0).
    """

    _needs_metric = True

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        name = "ReduceLROnPlateau"
        _check_optimizer(name, optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_hyper(name, "factor", factor, 0.0, 1.0)
        self.patience = _check_int(name, "patience", patience, 0)
        self.threshold = check_hyper(name, "threshold", threshold)
        self.cooldown = _check_int(name, "cooldown", cooldown, 0)
        self.min_lrs = _per_group(name, "min_lr", optimizer, min_lr)
        self.eps = check_hyper(name, "eps", eps)
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = self._current()

    def _is_better(self, a, best):
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (1.0 + self.threshold) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def step(self, metrics):
        """Record one epoch's metric and reduce the rates if it has plateaued.

        Args:
            metrics: a number, 0-d array or one-element Tensor (read on the host).
        """
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, floor)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current()

"""ReduceLROnPlateau: a schedule driven by a metric instead of the epoch (PyTorch's rules)."""
from __future__ import annotations

import math
import warnings

from .lr_base import LRScheduler, _check_int, _check_optimizer, _per_group
from .optimizer import check_hyper


# PyTorch's state-dict keys of ReduceLROnPlateau, in its order
_TORCH_ORDER = ("factor", "default_min_lr", "min_lrs", "patience", "cooldown", "eps",
                "last_epoch", "_last_lr", "mode_worse", "mode", "threshold", "threshold_mode",
                "best", "cooldown_counter", "num_bad_epochs")


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

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        name = "ReduceLROnPlateau"
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_hyper(name, "factor", factor, 0.0, 1.0)
        self.patience = _check_int(name, "patience", patience, 0)
        self.threshold = check_hyper(name, "threshold", threshold)
        self.cooldown = _check_int(name, "cooldown", cooldown, 0)
        self.eps = check_hyper(name, "eps", eps)
        _check_optimizer(name, optimizer)
        _per_group(name, "min_lr", optimizer, min_lr)  # checked; kept as given (PyTorch)
        several = isinstance(min_lr, (list, tuple))
        self.min_lrs = list(min_lr) if several else [min_lr] * len(optimizer.param_groups)
        # a single min_lr also covers groups added later with add_param_group
        self.default_min_lr = None if several else min_lr
        super().__init__(optimizer, last_epoch=0)

    def _start(self):
        """No base rates and no first step: the rates change only when a metric stalls."""
        # the worst value for the mode (PyTorch's attribute: the state_dicts have the same keys)
        self.mode_worse = math.inf if self.mode == "min" else -math.inf
        self.best = self.mode_worse
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = self._current()

    def state_dict(self):
        """Every attribute but the optimizer, in PyTorch's key order."""
        state = super().state_dict()
        out = {k: state[k] for k in _TORCH_ORDER if k in state}
        out.update((k, v) for k, v in state.items() if k not in out)
        return out

    def _is_better(self, a, best):
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (1.0 + self.threshold) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def step(self, metrics, epoch=None):
        """Record one epoch's metric and reduce the rates if it has plateaued.

        Args:
            metrics: a number, 0-d array or one-element Tensor (read on the host, once
                per epoch).
            epoch: deprecated, as in PyTorch: the epoch index to record.
        """
        current = float(metrics)
        if epoch is None:
            self.last_epoch += 1
        else:
            warnings.warn("ReduceLROnPlateau.step: the epoch argument is deprecated (as in "
                          "PyTorch)", UserWarning, stacklevel=2)
            self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current()

    def _reduce(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):  # a group was added with add_param_group
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} "
                                   f"param groups but min_lr gave {len(self.min_lrs)} values; "
                                   "set the scheduler's min_lrs to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new

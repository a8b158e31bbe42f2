"""Callbacks for :func:`xpnn.fit`: early stopping, checkpoints, lr schedules, CSV/JSON logs.

A callback sees the run through ``self.ctx`` (a :class:`FitContext`): the model, the
optimizer, the History so far, the epoch and global step, and ``stop_training``, which it may
set. Hooks get host-side ``logs`` (dict of floats) only at epoch end, so no hook forces a
device sync inside an epoch.
"""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

from .io.atomic import atomic_write


class FitContext:
    """What callbacks can see and steer during :func:`xpnn.fit`. In a process group,
    ``rank`` and ``world_size`` say where this process is; every rank gets the same logs,
    and callbacks that write files do so on rank 0 only (``is_writer``)."""

    def __init__(self, model, optimizer, history, epochs, rank=0, world_size=1):
        self.model, self.optimizer, self.history, self.epochs = model, optimizer, history, epochs
        self.epoch, self.global_step, self.stop_training = 0, 0, False
        self.rank, self.world_size = rank, world_size

    @property
    def is_writer(self):
        """This process writes the run's files (rank 0, or the only process)."""
        return self.rank == 0


class Callback:
    """Base class: override the hooks you need. ``epoch`` is 0-based."""

    ctx = None

    def set_context(self, ctx):
        self.ctx = ctx

    def on_train_begin(self):
        pass

    def on_epoch_begin(self, epoch):
        pass

    def on_batch_end(self, step):
        """After each optimizer step (``step``: 0-based within the epoch); no loss value is
        passed, as reading it would sync the device."""

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self):
        pass


def _mode_for(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if ("acc" in monitor and "loss" not in monitor) else "min"


def _monitored(name, logs, monitor):
    if monitor not in logs:
        raise KeyError(f"{name}: monitor {monitor!r} is not in the epoch logs, which have "
                       f"{sorted(logs)}; pass val= to fit for 'val_*' keys")
    value = logs[monitor]
    return float(value)


class _Monitor:
    """Tracks the best value of a logged quantity."""

    def __init__(self, monitor, mode, min_delta=0.0):
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def improved(self, value):
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: a key of the epoch logs, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        patience: epochs without improvement before stopping (>= 0).
        min_delta: smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracies, else min).
        restore_best_weights: at the end, load the weights of the best epoch (a copy is kept
            on the device, so this costs one model's memory there).
    Attributes:
        best, best_epoch, stopped_epoch (0-based; None if it never stopped early).
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode_for(monitor, mode)
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self):
        self._m = _Monitor(self.monitor, self.mode, self.min_delta)
        self.wait, self.best_epoch, self.stopped_epoch, self._weights = 0, None, None, None

    @property
    def best(self):
        return self._m.best

    def on_epoch_end(self, epoch, logs):
        value = _monitored("EarlyStopping", logs, self.monitor)
        if self._m.improved(value):
            self._m.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._weights = _snapshot(self.ctx.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.ctx.stop_training = True

    def on_train_end(self):
        if self.restore_best_weights and self._weights is not None:
            self.ctx.model.load_state_dict(self._weights)


def _snapshot(model):
    """A device-side copy of the state dict (no host round trip)."""
    from .backend import backend_of
    return {k: backend_of(v).xp.asarray(v, copy=True) for k, v in model.state_dict().items()}


class ModelCheckpoint(Callback):
    """Save the model (or a full training checkpoint) at the end of epochs.

    Args:
        path: file name; may use ``{epoch}`` (1-based) and any log key, e.g.
            ``"ckpt-{epoch:02d}-{val_accuracy:.3f}.safetensors"``.
        monitor: log key deciding "best" when ``save_best_only``.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        save_best_only: save only when ``monitor`` improves.
        save_optimizer: write ``xpnn.save_checkpoint(path, model, optimizer, scheduler,
            epoch=, step=)`` (resumable) instead of the weights alone
            (``xpnn.save(model.state_dict(), path)``).
        scheduler: an lr scheduler whose state goes into a full checkpoint.
    Attributes:
        saved: the paths written, in order.
    """

    def __init__(self, path, monitor="val_loss", mode="auto", save_best_only=False,
                 save_optimizer=False, scheduler=None):
        self.path, self.monitor = os.fspath(path), monitor
        self.mode = _mode_for(monitor, mode)
        self.save_best_only, self.save_optimizer, self.scheduler = save_best_only, \
            save_optimizer, scheduler
        self.saved = []

    def on_train_begin(self):
        self._m = _Monitor(self.monitor, self.mode)

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only:
            value = _monitored("ModelCheckpoint", logs, self.monitor)
            if not self._m.improved(value):
                return
            self._m.best = value
        scalars = {k: v for k, v in logs.items() if isinstance(v, (int, float))}
        try:
            path = self.path.format(epoch=epoch + 1, **scalars)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint: cannot fill the path {self.path!r} from epoch "
                             f"and logs {sorted(scalars)}: {e}") from None
        self.saved.append(path)
        if not self.ctx.is_writer:  # fit waits for rank 0's file before the next epoch
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:  # imported late: xpnn.io is optional here and imports safetensors
            from . import io as xio
        except ImportError as e:
            raise RuntimeError(f"ModelCheckpoint needs xpnn.io (safetensors): {e}") from None
        if self.save_optimizer:
            xio.save_checkpoint(path, self.ctx.model, self.ctx.optimizer, self.scheduler,
                                epoch=epoch + 1, step=self.ctx.global_step)
        else:  # a DistributedDataParallel's weights under the wrapped module's names
            from .io.checkpoint import plain_module
            xio.save(plain_module(self.ctx.model).state_dict(), path)


class LearningRateScheduler(Callback):
    """Step an lr scheduler from ``xpnn.optim`` every epoch or every optimizer step.

    Args:
        scheduler: any object with ``step()`` (or ``step(value)`` when ``monitor`` is set,
            as plateau schedulers need).
        interval: ``"epoch"`` or ``"step"``.
        monitor: log key passed to ``step`` at epoch end (e.g. ``"val_loss"``).
    """

    def __init__(self, scheduler, interval="epoch", monitor=None):
        if interval not in ("epoch", "step"):
            raise ValueError(f"LearningRateScheduler: interval must be 'epoch' or 'step', "
                             f"got {interval!r}")
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"LearningRateScheduler: {type(scheduler).__name__} has no "
                            "step() method")
        if monitor is not None and interval != "epoch":
            raise ValueError("LearningRateScheduler: monitor needs interval='epoch'")
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor

    def on_batch_end(self, step):
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs):
        if self.interval != "epoch":
            return
        if self.monitor is None:
            self.scheduler.step()
        else:
            self.scheduler.step(_monitored("LearningRateScheduler", logs, self.monitor))


def _scalar_logs(logs):
    return {k: v for k, v in logs.items() if isinstance(v, (int, float)) or v is None}


class CSVLogger(Callback):
    """Append one CSV row of scalar logs per epoch (``epoch`` first, 1-based).

    Args:
        path: the CSV file.
        append: keep an existing file's rows (resuming) instead of starting afresh.
    """

    def __init__(self, path, append=False):
        self.path, self.append = os.fspath(path), append

    def on_train_begin(self):
        self._fields = None
        if not self.append and os.path.exists(self.path) and self.ctx.is_writer:
            os.remove(self.path)

    def on_epoch_end(self, epoch, logs):
        if not self.ctx.is_writer:
            return
        row = {"epoch": epoch + 1, **_scalar_logs(logs)}
        new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        if self._fields is None:
            self._fields = list(row)
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self._fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)


class JSONLogger(Callback):
    """Rewrite a JSON file holding the whole History after every epoch (atomically).

    Array-valued logs (a confusion matrix) are stored as nested lists.
    """

    def __init__(self, path):
        self.path = os.fspath(path)

    def on_epoch_end(self, epoch, logs):
        if not self.ctx.is_writer:
            return
        atomic_write(self.path, [json.dumps(self.ctx.history.to_dict(), indent=1).encode()])

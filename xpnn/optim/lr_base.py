"""The base of every learning-rate scheduler, and the argument checks they share.

The scheduler modules import one way: ``lr_scheduler`` (the public module) imports the
family modules (``lr_decay``, ``lr_cyclic``, ``lr_plateau``, and ``lr_compose``, which
builds on the first and third), which import this one, which imports only ``optimizer``.
"""
from __future__ import annotations

import types
import warnings

from .optimizer import Optimizer, check_hyper


def _check_optimizer(owner, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected an xpnn Optimizer, got {type(optimizer).__name__}")


def _check_int(owner, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return value


def _per_group(owner, name, optimizer, value):
    """A list with one value per param group (a scalar is repeated), each checked >= 0."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: expected {n} values of {name} (one per param group), "
                             f"got {len(value)}")
        return [check_hyper(owner, f"{name}[{i}]", v) for i, v in enumerate(value)]
    return [check_hyper(owner, name, value)] * n


def _lambdas(owner, optimizer, lr_lambda):
    """One callable per param group (a single one is repeated), as LambdaLR takes them."""
    n = len(optimizer.param_groups)
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != n:
            raise ValueError(f"{owner}: expected {n} lr_lambdas (one per param group), got "
                             f"{len(lr_lambda)}")
        fns = list(lr_lambda)
    else:
        fns = [lr_lambda] * n
    for i, fn in enumerate(fns):
        if not callable(fn):
            raise TypeError(f"{owner}: lr_lambda must be a function of the epoch, but "
                            f"lr_lambda[{i}] is a {type(fn).__name__}")
    return fns


# the base's attributes, last in a state dict as in PyTorch (after the schedule's own);
# _get_lr_called_within_step is PyTorch's flag of being inside step(), False between steps
_BASE_KEYS = ("base_lrs", "last_epoch", "_step_count", "_is_initial",
              "_get_lr_called_within_step", "_last_lr")


def _torch_order(state):
    """``state`` (attributes of a scheduler) in PyTorch's key order: the schedule's own
    attributes first, then the base's (with PyTorch's ``_get_lr_called_within_step``)."""
    out = {k: v for k, v in state.items() if k not in _BASE_KEYS}
    if "_is_initial" in state:
        state = dict(state, _get_lr_called_within_step=False)
    out.update((k, state[k]) for k in _BASE_KEYS if k in state)
    return out


def _callable_state(fns):
    """PyTorch's state of user callables: a plain function saves nothing (None), a
    callable object its ``__dict__``."""
    return [None if isinstance(fn, types.FunctionType) or not hasattr(fn, "__dict__")
            else dict(fn.__dict__) for fn in fns]


class LRScheduler:
    """Base of the learning-rate schedulers (PyTorch's ``LRScheduler``).

    A scheduler rewrites ``group["lr"]`` of its optimizer each time ``step()`` is called
    (once per epoch or per batch, after ``optimizer.step()``). Most schedules are
    *chainable*: ``get_lr`` derives the next rate from the current ``group["lr"]``, so two
    schedulers can act on one optimizer, and a group added later with
    ``optimizer.add_param_group`` is scheduled too. ``_closed_form`` gives the rate at an
    epoch from ``base_lrs`` (``step(epoch)`` and ``SequentialLR``'s hand-over use it).

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
        self.last_epoch = last_epoch
        self._start()

    def _start(self):
        """Record the base rates and set the first rates (the constructor's step).
        Combinators and metric-driven schedules replace this."""
        name = type(self).__name__
        for i, group in enumerate(self.optimizer.param_groups):
            if self.last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{name}: resuming with last_epoch={self.last_epoch} needs "
                               f"'initial_lr' in param_groups[{i}] (load the optimizer's "
                               "state dict first)")
        self.base_lrs = [group["initial_lr"] for group in self.optimizer.param_groups]
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
        """The rates for ``self.last_epoch`` from ``base_lrs`` (None: not available). A user's
        subclass gives them under PyTorch's name for this hook, ``_get_closed_form_lr``."""
        closed_form = getattr(self, "_get_closed_form_lr", None)
        return None if closed_form is None else closed_form()

    def _current(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self, epoch=None):
        """Advance one epoch and write the new rates into the optimizer.

        Args:
            epoch: deprecated, as in PyTorch: jump to this epoch (closed form where the
                schedule has one) instead of advancing by one.
        """
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            self._apply(self.get_lr())
        else:
            warnings.warn(f"{type(self).__name__}.step: the epoch argument is deprecated "
                          "(as in PyTorch); call step() once per epoch", UserWarning,
                          stacklevel=2)
            self._jump(epoch)

    def _jump(self, epoch):
        """Set ``last_epoch = epoch`` and its rates in closed form (SequentialLR's hand-over)."""
        self.last_epoch = epoch
        values = self._closed_form()
        self._apply(self.get_lr() if values is None else values)

    def _apply(self, lrs):
        groups = self.optimizer.param_groups
        if len(lrs) != len(groups):
            raise ValueError(f"{type(self).__name__}: the optimizer has {len(groups)} param "
                             f"groups but the schedule gives {len(lrs)} rates; a group added "
                             "with add_param_group after the scheduler was made has no base "
                             "rate here (make the scheduler after adding every group)")
        for group, lr in zip(groups, lrs):
            group["lr"] = lr
        self._last_lr = self._current()

    def get_last_lr(self):
        """The rates the last ``step()`` set, one per param group (a new list)."""
        return list(self._last_lr)

    def state_dict(self):
        """Every attribute but the optimizer, as plain Python values, in PyTorch's order
        and with PyTorch's keys."""
        return _torch_order({k: (list(v) if isinstance(v, list) else v)
                             for k, v in self.__dict__.items() if k != "optimizer"})

    def load_state_dict(self, state_dict):
        """Restore the attributes saved by :meth:`state_dict` (PyTorch's too)."""
        state_dict = dict(state_dict)
        state_dict.pop("_get_lr_called_within_step", None)  # PyTorch's; no use here
        self.__dict__.update(state_dict)

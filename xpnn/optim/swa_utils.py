"""Weight averaging, as ``torch.optim.swa_utils``: :class:`AveragedModel` (SWA's running
mean, or an exponential moving average), :class:`SWALR` and :func:`update_bn`.

SWA: Izmailov et al., "Averaging Weights Leads to Wider Optima and Better Generalization"
(2018), https://arxiv.org/abs/1803.05407.

``AveragedModel.update_parameters`` reads nothing on the host: whether this is the first
update (copy) or a later one (average) is chosen on the device from ``n_averaged``, so a
step that also updates an EMA still makes no host round trip.
"""
from __future__ import annotations

import copy
import itertools
import math

from ..autograd import no_grad
from ..nn.module import Module
from ..nn.norm import _BatchNorm, _InstanceNorm
from ..tensor import Tensor
from .lr_base import LRScheduler, _check_optimizer


def get_ema_avg_fn(decay=0.999):
    """``avg_fn`` of an exponential moving average: ``decay * ema + (1 - decay) * p``."""
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """``avg_fn`` of SWA's running mean: ``avg + (p - avg) / (n + 1)``."""
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def get_ema_multi_avg_fn(decay=0.999):
    """``multi_avg_fn`` of an exponential moving average, updating a list in place."""
    def ema_update(ema_param_list, current_param_list, num_averaged):
        for ema, cur in zip(ema_param_list, current_param_list):
            if ema.xp.isdtype(ema.dtype, "real floating"):
                ema.lerp_(cur, 1 - decay)
            else:
                ema.copy_(ema * decay + cur * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """``multi_avg_fn`` of SWA's running mean, updating a list in place."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        for avg, cur in zip(averaged_param_list, current_param_list):
            if avg.xp.isdtype(avg.dtype, "real floating"):
                weight = 1.0 / (num_averaged + 1)
                if isinstance(weight, Tensor):
                    weight = weight.to(avg.dtype)
                avg.lerp_(cur, weight)
            else:
                avg.copy_(avg + (cur - avg) // (num_averaged + 1))
    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and, with ``use_buffers``, buffers) are the
    average of the model's over the calls of :meth:`update_parameters`.

    Args:
        model: the Module to average (deep-copied here).
        device: where to keep the copy (``.to(device)``), or None for the model's place.
        avg_fn: ``avg_fn(averaged, current, num_averaged) -> new averaged`` per tensor.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, num_averaged)`` updating
            the lists in place (used when ``avg_fn`` is None); default: SWA's running mean.
        use_buffers: average the buffers too (else they are copied from ``model``).
    Attributes:
        module: the averaged copy; ``n_averaged``: int64 0-d buffer, the number of updates.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers=False):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be a Module, got "
                            f"{type(model).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        like = next(itertools.chain(self.module.parameters(), self.module.buffers()), None)
        xp, dev = (like.xp, like.array.device) if like is not None else (None, None)
        if xp is None:
            raise ValueError("AveragedModel: the model has no parameters or buffers")
        self.register_buffer("n_averaged", xp.zeros((), dtype=xp.int64, device=dev))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model):
        if self.use_buffers:
            return list(itertools.chain(model.parameters(), model.buffers()))
        return list(model.parameters())

    def update_parameters(self, model):
        """Fold ``model``'s current values into the average (the first call copies them)."""
        mine, theirs = self._tensors(self.module), self._tensors(model)
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} "
                             f"tensors to average, the averaged copy {len(mine)}")
        with no_grad():
            first = self.n_averaged == 0
            current = [p.detach().to(a.device) for a, p in zip(mine, theirs)]
            if self.avg_fn is not None:
                for a, p in zip(mine, current):
                    n = self.n_averaged.to(a.device)
                    a.copy_(p.where(first, self.avg_fn(a.detach(), p, n)))
            else:
                fn = self.multi_avg_fn or get_swa_multi_avg_fn()
                fn([a.detach() for a in mine], current, self.n_averaged)
                for a, p in zip(mine, current):  # the first update is a copy
                    a.copy_(p.where(first, a))
            self.n_averaged += 1
            if not self.use_buffers:  # the buffers (BatchNorm's statistics) follow the model
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    b_avg.copy_(b_model.detach().to(b_avg.device))


def update_bn(loader, model, device=None):
    """Recompute the BatchNorm running statistics of ``model`` over one pass of ``loader``
    (a cumulative average over the batches), as needed after averaging weights.

    Args:
        loader: an iterable of batches; a list/tuple batch contributes its first item.
        model: the Module whose BatchNorm layers to update (training mode is restored).
        device: if given, each input is moved there first.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's rate to its ``swa_lr`` over ``anneal_epochs`` steps, then hold
    it (the schedule of SWA's averaging phase).

    Args:
        optimizer: the Optimizer.
        swa_lr: the target rate, one float or one per param group.
        anneal_epochs: steps of the annealing (an int >= 0).
        anneal_strategy: "cos" or "linear".
        last_epoch: as for every scheduler.
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        _check_optimizer("SWALR", optimizer)
        groups = optimizer.param_groups
        swa_lrs = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(groups)
        if len(swa_lrs) != len(groups):
            raise ValueError(f"SWALR: expected {len(groups)} values for swa_lr, got "
                             f"{len(swa_lrs)}")
        for lr, group in zip(swa_lrs, groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) or \
                anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be an int >= 0, got {anneal_epochs!r}")
        # PyTorch's attribute name (and so its state-dict key)
        self._anneal_strategy, self.anneal_epochs = anneal_strategy, anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t):
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    def load_state_dict(self, state_dict):
        """PyTorch's state dict, or xpnn's older one (``anneal_strategy``)."""
        state_dict = dict(state_dict)
        if "anneal_strategy" in state_dict:
            state_dict["_anneal_strategy"] = state_dict.pop("anneal_strategy")
        super().load_state_dict(state_dict)

    def get_lr(self):
        # the rate before annealing is recovered from the current one, so a rate changed by
        # hand or by another scheduler is annealed from (PyTorch's rule)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self._anneal(max(0.0, min(1.0, (step - 1) / span)))
        alpha = self._anneal(max(0.0, min(1.0, step / span)))
        out = []
        for group in self.optimizer.param_groups:
            swa, lr = group["swa_lr"], group["lr"]
            start = swa if prev_alpha == 1 else (lr - prev_alpha * swa) / (1 - prev_alpha)
            out.append(swa * alpha + start * (1 - alpha))
        return out


__all__ = ["AveragedModel", "SWALR", "get_ema_avg_fn", "get_ema_multi_avg_fn",
           "get_swa_avg_fn", "get_swa_multi_avg_fn", "update_bn"]

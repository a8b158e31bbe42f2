"""Pruning by masks (PyTorch's ``torch.nn.utils.prune``): pruning ``module.<name>`` moves the
parameter to ``<name>_orig``, keeps a 0/1 buffer ``<name>_mask``, and a forward pre-hook sets
the plain attribute ``<name> = <name>_orig * <name>_mask`` before each call, so the pruned
entries get no gradient signal. Pruning the same tensor again prunes among the entries (or
channels) still kept; :func:`remove` makes the pruning permanent.

Masks are computed once, when pruning (host reads are fine there); the forward pays one
product. Random methods draw from xpnn's seeded generator.

Here: the pruning methods and the functions; BasePruningMethod, PruningContainer, Identity
and the checks of ``amount`` are in _prune_base.py, re-exported here.
"""
from __future__ import annotations

from collections.abc import Iterable

from ... import functional as F
from ...autograd import no_grad
from ...creation import ones_like, rand, rand_like, zeros
from ...tensor import Tensor
# the machinery every method shares, re-exported where prune.py held it before the split
from ._prune_base import (BasePruningMethod, Identity, PruningContainer,  # noqa: F401
                          _channel_mask, _check_amount, _check_structured, _count)


# -- methods --------------------------------------------------------------------------------
def _zeroed(default_mask, flat_indices):
    """A copy of ``default_mask`` with the entries at ``flat_indices`` (None: none) set to 0."""
    mask = default_mask.clone()
    if flat_indices is None:
        return mask
    flat = mask.reshape(-1)
    flat[flat_indices] = 0
    return flat.reshape(default_mask.shape)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries chosen at random."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _count(self.amount, t.numel())
        return _zeroed(default_mask, rand_like(t).reshape(-1).topk(k).indices if k else None)

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries of smallest absolute value."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _count(self.amount, t.numel())
        return _zeroed(default_mask,
                       t.abs().reshape(-1).topk(k, largest=False).indices if k else None)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` channels along ``dim``, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _check_amount(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask):
        _check_structured(t, self.dim)
        size = t.shape[self.dim]
        k = _count(self.amount, size)
        if not k:
            return default_mask
        keep = zeros(size, dtype=t.dtype, device=t.device)
        keep[rand(size, device=t.device).topk(size - k).indices] = 1
        return _channel_mask(t, self.dim % t.ndim, keep) * default_mask

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm (``n``: an int,
    float, ``inf``, ``-inf``, ``"fro"`` or ``"nuc"`` as :func:`xpnn.norm`)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _check_amount(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask):
        _check_structured(t, self.dim)
        dim = self.dim % t.ndim
        size = t.shape[dim]
        k = _count(self.amount, size)
        if not k:
            return default_mask
        norms = F.norm(t, self.n, dim=tuple(d for d in range(t.ndim) if d != dim))
        keep = zeros(size, dtype=t.dtype, device=t.device)
        keep[norms.topk(size - k).indices] = 1
        return _channel_mask(t, dim, keep) * default_mask

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise ValueError(f"prune: the mask's shape {tuple(self.mask.shape)} differs from "
                             f"the tensor's {tuple(default_mask.shape)}")
        return default_mask * self.mask.to(default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


# -- functions ------------------------------------------------------------------------------
def identity(module, name):
    """Register pruning of ``module.<name>`` with an all-ones mask. Returns ``module``."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` random entries of ``module.<name>`` (an int, or a fraction in
    [0, 1]). Returns ``module``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` of smallest absolute value (of
    ``importance_scores`` when given). Returns ``module``."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``. Returns
    ``module``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` of smallest ``n``-norm. Returns
    ``module``."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` where ``mask`` is 0. Returns ``module``."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the tensors of ``parameters`` (``(module, name)`` pairs) together: the method
    (unstructured, e.g. :class:`L1Unstructured` with ``amount=``) ranks all their entries
    at once.

    Args:
        parameters: an iterable of (module, name).
        pruning_method: an unstructured BasePruningMethod subclass.
        importance_scores: a dict {(module, name): Tensor of its shape}, or None.
        kwargs: the method's arguments (``amount=``).
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    if importance_scores is not None and not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    parameters = list(parameters)
    importance_scores = importance_scores or {}
    scores = F.cat([importance_scores.get((m, n), getattr(m, n)).detach().reshape(-1)
                    for m, n in parameters])
    masks = F.cat([getattr(m, n + "_mask", None).reshape(-1)
                   if isinstance(getattr(m, n + "_mask", None), Tensor)
                   else ones_like(getattr(m, n)).reshape(-1) for m, n in parameters])
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f"global_unstructured(): only 'unstructured' PRUNING_TYPE supported "
                        f"for the pruning_method, got {method.PRUNING_TYPE!r}")
    container = PruningContainer(method)
    with no_grad():
        final = container.compute_mask(scores, masks)
    start = 0
    for m, n in parameters:
        p = getattr(m, n)
        custom_from_mask(m, n, final[start:start + p.numel()].reshape(p.shape))
        start += p.numel()


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent (drop ``_orig``, ``_mask`` and the
    hook). Returns ``module``."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            module._hook_flags.pop(key, None)
            return module
    raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned "
                     f"before pruning can be removed")


def is_pruned(module):
    """Whether ``module`` or a submodule has a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for _, sub in module.named_modules() for hook in sub._forward_pre_hooks.values())


__all__ = ["BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured",
           "LnStructured", "PruningContainer", "RandomStructured", "RandomUnstructured",
           "custom_from_mask", "global_unstructured", "identity", "is_pruned", "l1_unstructured",
           "ln_structured", "random_structured", "random_unstructured", "remove"]

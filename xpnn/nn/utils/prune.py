"""Pruning by masks (PyTorch's ``torch.nn.utils.prune``): pruning ``module.<name>`` moves the
parameter to ``<name>_orig``, keeps a 0/1 buffer ``<name>_mask``, and a forward pre-hook sets
the plain attribute ``<name> = <name>_orig * <name>_mask`` before each call, so the pruned
entries get no gradient signal. Pruning the same tensor again prunes among the entries (or
channels) still kept; :func:`remove` makes the pruning permanent.

Masks are computed once, when pruning (host reads are fine there); the forward pays one
product. Random methods draw from xpnn's seeded generator.
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable

from ... import functional as F
from ...autograd import no_grad
from ...creation import ones_like, rand, rand_like, zeros
from ...tensor import Tensor


# -- amounts --------------------------------------------------------------------------------
def _check_amount(amount):
    """An int >= 0 (entries) or a float in [0, 1] (a fraction)."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"prune: invalid type for amount: {type(amount).__name__} (expected "
                        f"an int >= 0 or a float in [0, 1])")
    if (isinstance(amount, numbers.Integral) and amount < 0) or \
            (not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"prune: amount={amount!r} should either be a float in the range "
                         f"[0, 1] or a non-negative integer")


def _count(amount, size):
    """How many of ``size`` entries (or channels) ``amount`` prunes."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"prune: amount={amount} should be smaller than the number of "
                             f"parameters to prune={size}")
        return int(amount)
    return round(amount * size)


def _check_structured(t, dim):
    if t.ndim <= 1:
        raise ValueError(f"prune: structured pruning can only be applied to multidimensional "
                         f"tensors, got shape {tuple(t.shape)}")
    if dim >= t.ndim:
        raise IndexError(f"prune: invalid index {dim} for a tensor of size {tuple(t.shape)}")


def _channel_mask(t, dim, keep):
    """A 0/1 mask of t's shape keeping the channels ``keep`` (a 0/1 vector) along ``dim``."""
    shape = [1] * t.ndim
    shape[dim] = t.shape[dim]
    return keep.to(t.dtype).reshape(shape) * ones_like(t)


# -- methods --------------------------------------------------------------------------------
class BasePruningMethod:
    """A pruning method: ``compute_mask(t, default_mask)`` gives the new mask; the instance is
    the forward pre-hook that applies it."""

    PRUNING_TYPE = None  # "unstructured", "structured" or "global"
    _tensor_name = None

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    def compute_mask(self, t, default_mask):
        raise NotImplementedError(f"{type(self).__name__} must implement compute_mask")

    def apply_mask(self, module):
        """``<name>_orig * <name>_mask`` (recorded by autograd through ``_orig``)."""
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(orig.dtype) * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)`` (combined with an earlier
        pruning of it), ranking entries by ``importance_scores`` (default: the tensor)."""
        old, old_key = None, None
        for key, hook in module._forward_pre_hooks.items():
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                old, old_key = hook, key
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:
            if not isinstance(old, PruningContainer):
                old = PruningContainer(old)
            old.add_pruning_method(method)
            method = old
        orig = getattr(module, name)
        if importance_scores is None:
            importance_scores = orig
        elif tuple(importance_scores.shape) != tuple(orig.shape):
            raise ValueError(f"prune: importance_scores of shape {tuple(importance_scores.shape)}"
                             f" should match the shape of {name} {tuple(orig.shape)}")
        first = old is None
        if first:
            if name not in module._parameters:
                raise ValueError(f"prune: {type(module).__name__} has no parameter named "
                                 f"{name!r}")
            delattr(module, name)
            module.register_parameter(name + "_orig", orig)
            default_mask = ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            with no_grad():
                mask = method.compute_mask(importance_scores.detach(), default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
        except Exception:
            if first:  # put the parameter back as it was
                delattr(module, name + "_orig")
                module.register_parameter(name, orig)
            raise
        if old_key is not None:
            del module._forward_pre_hooks[old_key]
            module._hook_flags.pop(old_key, None)
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` times the mask this method computes for it (nothing registered)."""
        scores = t if importance_scores is None else importance_scores
        mask = ones_like(t) if default_mask is None else default_mask
        with no_grad():
            mask = self.compute_mask(scores.detach(), mask)
        return t * mask

    def remove(self, module):
        """Make the pruning permanent: ``<name>`` becomes a Parameter again, holding the
        pruned values; ``<name>_orig`` and ``<name>_mask`` go."""
        name = self._tensor_name
        with no_grad():
            weight = self.apply_mask(module)
        if hasattr(module, name):
            delattr(module, name)
        orig = getattr(module, name + "_orig")
        orig._assign(weight.array)
        delattr(module, name + "_orig")
        delattr(module, name + "_mask")
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """Successive prunings of one tensor; the last one prunes among what the earlier ones
    kept."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1 and not isinstance(args[0], Iterable):
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        elif len(args) == 1:
            for method in args[0]:
                self.add_pruning_method(method)
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"prune: {type(method).__name__} is not a BasePruningMethod "
                            f"subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"prune: can only add pruning methods acting on the parameter "
                             f"named {self._tensor_name!r} to this PruningContainer, got "
                             f"{method._tensor_name!r}")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        """The last method's mask over the entries (or channels) ``default_mask`` keeps."""
        method = self._pruning_methods[-1]
        mask = default_mask.to(t.dtype)
        if method.PRUNING_TYPE == "unstructured":
            kept = mask == 1
            new = mask.clone()
            new[kept] = method.compute_mask(t[kept], mask[kept]).to(mask.dtype)
            return new
        if method.PRUNING_TYPE == "structured":
            dim = method.dim % t.ndim
            others = tuple(d for d in range(t.ndim) if d != dim)
            idx = (mask.sum(others) != 0).nonzero().reshape(-1)  # the channels still kept
            part = method.compute_mask(t.index_select(dim, idx), mask.index_select(dim, idx))
            return mask.index_copy(dim, idx, part.to(mask.dtype))
        if method.PRUNING_TYPE == "global":
            return method.compute_mask(t, mask).to(mask.dtype)
        raise ValueError(f"prune: unrecognized PRUNING_TYPE {method.PRUNING_TYPE!r}")


class Identity(BasePruningMethod):
    """Prunes nothing (the mask is all ones)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


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

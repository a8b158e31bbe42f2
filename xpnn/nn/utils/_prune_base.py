"""The machinery of ``torch.nn.utils.prune`` (prune.py) that every pruning method shares:
the checks and counts of ``amount`` and of structured pruning's ``dim``, BasePruningMethod
(registering ``<name>_orig``, ``<name>_mask`` and the forward pre-hook, ``remove``),
PruningContainer (successive prunings of one tensor) and Identity."""
from __future__ import annotations

import numbers
from collections.abc import Iterable

from ...autograd import no_grad
from ...creation import ones_like


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

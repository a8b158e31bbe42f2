"""Calling a module with other tensors in place of its parameters and buffers (PyTorch's
``torch.func.functional_call``, also at ``torch.nn.utils.stateless``): meta-learning,
ensembles of weights, per-sample gradients through a model built once.
"""
from __future__ import annotations

from ... import backend as B
from ...tensor import Tensor

_ABSENT = object()


def _merged(dicts):
    if isinstance(dicts, dict):
        return dict(dicts)
    if not isinstance(dicts, (tuple, list)) or \
            not all(isinstance(d, dict) for d in dicts):
        raise TypeError(f"functional_call: parameter_and_buffer_dicts must be a dict or a "
                        f"tuple of dicts, got {type(dicts).__name__}")
    merged = {}
    for d in dicts:
        repeated = sorted(k for k in d if k in merged)
        if repeated:
            raise ValueError(f"functional_call: {repeated} appeared in multiple dictionaries; "
                             "behavior of functional call is ambiguous")
        merged.update(d)
    return merged


def _tied(module, given):
    """Add to ``given`` every other name of a tensor given under one of its names."""
    names = {}
    for kind in ("_parameters", "_buffers"):
        for name, t in module._named_members(kind, "", True, False):
            names.setdefault(id(t), []).append(name)
    out = dict(given)
    for group in names.values():
        if len(group) < 2:
            continue
        present = [n for n in group if n in given]
        if len(present) > 1 and any(given[n] is not given[present[0]] for n in present):
            raise ValueError(f"functional_call got multiple values for keys {present}, which "
                             "are tied. Consider using tie_weights=False")
        if present:
            for n in group:
                out.setdefault(n, given[present[0]])
    return out


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with the named tensors standing in for its parameters and
    buffers for the call's duration (gradients flow to the given tensors, not to the
    module's own); the module is restored afterwards, even if the call raises.

    Args:
        module: the Module to call.
        parameter_and_buffer_dicts: {dotted name: Tensor or array}, or a tuple of such dicts
            (no name in two of them); names as ``state_dict`` gives them.
        args: the positional inputs (one non-tuple value is one input). kwargs: keyword
            inputs.
        tie_weights: a tensor the module holds under two names (tied weights) is replaced
            under both when given under one.
        strict: every parameter and buffer must be given, and nothing else.
    Returns:
        What ``module`` returns.

    The stand-ins are attributes of the owning modules for the call (the registries keep
    the module's own tensors); buffers a training-mode call updates in place (BatchNorm's
    running statistics) are the given tensors. PyTorch keeps this function at
    ``torch.nn.utils.stateless`` deprecated in favour of ``torch.func``; xpnn has it here.
    """
    given = _merged(parameter_and_buffer_dicts)
    known = {n for n, _ in module._named_members("_parameters", "", True, False)} | \
        {n for n, _ in module._named_members("_buffers", "", True, False)}
    if tie_weights:
        given = _tied(module, given)
    if strict:
        missing = sorted(known - set(given))
        unexpected = sorted(set(given) - known)
        if missing or unexpected:
            lines = [f"Unexpected key(s): {', '.join(map(repr, unexpected))}."] * \
                bool(unexpected) + [f"Missing key(s): {', '.join(map(repr, missing))}."] * \
                bool(missing)
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t" +
                               "\n\t".join(lines))
    saved = []
    try:
        for name, value in given.items():
            path, _, attr = name.rpartition(".")
            owner = module.get_submodule(path)
            if isinstance(getattr(type(owner), attr, None), property):
                raise ValueError(f"functional_call: {name!r} is computed by a property (a "
                                 "parametrized tensor?); give the tensors it is computed "
                                 f"from instead ({path + '.' if path else ''}"
                                 f"parametrizations.{attr}.original...)")
            if not isinstance(value, Tensor):
                if not B.is_array(value):
                    raise TypeError(f"functional_call: {name!r} is a {type(value).__name__}, "
                                    "not a Tensor or an array")
                value = Tensor(value)
            saved.append((owner, attr, owner.__dict__.get(attr, _ABSENT)))
            object.__setattr__(owner, attr, value)
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for owner, attr, old in reversed(saved):
            if old is _ABSENT:
                object.__delattr__(owner, attr)
            else:
                object.__setattr__(owner, attr, old)


__all__ = ["functional_call"]

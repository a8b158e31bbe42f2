"""Containers with torch.nn's names and behaviour: ModuleDict here, ParameterList and
ParameterDict in container_params.py (re-exported).

(Sequential and ModuleList live in sequential.py.) Each holds its items as
registered children or parameters, so they appear in ``state_dict`` under their keys
("blocks.conv.weight", "scales.0", "gains.alpha"), in insertion order, as in PyTorch.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .container_params import ParameterDict, ParameterList
from .module import Module

__all__ = ["ModuleDict", "ParameterDict", "ParameterList"]


def _check_key(container, key):
    if not isinstance(key, str):
        raise TypeError(f"{container}: keys must be strings, got {type(key).__name__} "
                        f"({key!r})")
    if "." in key or key == "":
        raise KeyError(f"{container}: key {key!r} must be non-empty and contain no '.' "
                       "(it becomes part of state_dict names)")
    return key


class _NotAPair(TypeError, ValueError):
    """An update item that is not iterable: PyTorch's TypeError (a ValueError, as xpnn
    raised before)."""


def _pairs(container, items, sort_plain=False):
    """(key, value) pairs from a mapping (a ModuleDict or ParameterDict too) or an iterable
    of pairs, in order; with ``sort_plain``, a plain dict's by key (ParameterDict's rule in
    PyTorch)."""
    if isinstance(items, (ModuleDict, ParameterDict)):
        return list(items.items())
    if isinstance(items, Mapping):
        if sort_plain and not isinstance(items, OrderedDict):
            return sorted(items.items())
        return list(items.items())
    pairs = []
    for i, item in enumerate(items):  # PyTorch: TypeError if not iterable, else ValueError
        if not isinstance(item, Iterable):
            raise _NotAPair(f"{container}.update: item {i} must be a (key, value) pair, got "
                            f"{type(item).__name__}")
        item = tuple(item)
        if len(item) != 2:
            raise ValueError(f"{container}.update: item {i} must be a (key, value) pair, got "
                             f"{len(item)} elements")
        pairs.append(item)
    return pairs


class ModuleDict(Module):
    """An ordered dict of Modules, each registered under its key.

    Args:
        modules: a mapping or an iterable of (key, Module) pairs (keys: strings without '.').
    ``md["conv"]``, ``md["conv"] = m``, ``del md["conv"]``, ``len``, ``in``, iteration over
    keys, ``keys/values/items/update/pop/clear`` behave as a dict's.
    """

    _recipe_from_tree = True  # whole-module saves store the items, not the arguments

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"ModuleDict: value for {key!r} must be a Module, got "
                            f"{type(module).__name__}")
        # add_module: PyTorch's checks (a key that is an attribute, "forward", is refused)
        self.add_module(_check_key("ModuleDict", key), module)

    def __delitem__(self, key):
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        if not isinstance(modules, (Mapping, Iterable)):
            raise TypeError(f"ModuleDict.update: expected a mapping or pairs, got "
                            f"{type(modules).__name__}")
        for key, module in _pairs("ModuleDict", modules):
            self[key] = module

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def clear(self):
        for key in list(self._modules):
            del self[key]

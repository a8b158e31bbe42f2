"""Containers with torch.nn's names and behaviour: ModuleDict, ParameterList, ParameterDict.

(Sequential and ModuleList live in module.py beside Module.) Each holds its items as
registered children or parameters, so they appear in ``state_dict`` under their keys
("blocks.conv.weight", "scales.0", "gains.alpha"), in insertion order, as in PyTorch.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .. import backend as B
from ..tensor import Tensor
from .module import Module, Parameter


def _check_key(container, key):
    if not isinstance(key, str):
        raise TypeError(f"{container}: keys must be strings, got {type(key).__name__} "
                        f"({key!r})")
    if "." in key or key == "":
        raise KeyError(f"{container}: key {key!r} must be non-empty and contain no '.' "
                       "(it becomes part of state_dict names)")
    return key


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
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"{container}.update: item {i} must be a (key, value) pair, got "
                             f"{type(item).__name__}")
        pairs.append(tuple(item))
    return pairs


def _as_parameter(container, value):
    """A Parameter for a Tensor or a backend array (torch wraps plain tensors too); None
    stays None; anything else is refused."""
    if value is None or isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor) or B.is_array(value):
        return Parameter(value)
    raise TypeError(f"{container}: expected a Parameter, a Tensor or an array, got "
                    f"{type(value).__name__}")


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
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: value for {key!r} must be a Module, got "
                            f"{type(module).__name__}")
        setattr(self, _check_key("ModuleDict", key), module)

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


class ParameterList(Module):
    """A list of Parameters registered as "0", "1", ... (Tensors and arrays are wrapped as
    Parameters, as torch does).

    Args:
        values: an iterable of Parameters, Tensors or arrays.
    Indexing (ints, negative ints, slices), assignment, ``len``, iteration, ``append``,
    ``extend`` and ``+=`` behave as a list's.
    """

    _recipe_from_tree = True  # whole-module saves store the items, not the arguments

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, i):
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"ParameterList: indices must be ints or slices, got "
                            f"{type(i).__name__}")
        if not -n <= i < n:
            raise IndexError(f"ParameterList: index {i} is out of range for {n} parameters")
        return str(i % n)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ParameterList([self._parameters[str(k)] for k in range(len(self))[i]])
        return self._parameters[self._index(i)]

    def __setitem__(self, i, value):
        setattr(self, self._index(i), _as_parameter("ParameterList", value))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters[str(i)] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        setattr(self, str(len(self)), _as_parameter("ParameterList", value))
        return self

    def extend(self, values):
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(f"ParameterList.extend: expected an iterable of parameters, got "
                            f"{type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(f"({i}): Parameter containing: [{_describe(p)}]"
                         for i, p in enumerate(self))

    def __repr__(self):
        body = self.extra_repr()
        return f"{type(self).__name__}(" + ("\n    " + body.replace("\n", "\n    ") + "\n"
                                            if body else "") + ")"


class _MissingKey(KeyError, AttributeError):
    """A ParameterDict key that is not there: a KeyError, as a dict's, and torch's
    AttributeError."""


class ParameterDict(Module):
    """An ordered dict of Parameters registered under their keys (Tensors and arrays are
    wrapped as Parameters).

    Args:
        parameters: a mapping or an iterable of (key, value) pairs.
    The dict API: ``pd[k]``, ``pd[k] = v``, ``del pd[k]``, ``len``, ``in``, iteration over
    keys, ``keys/values/items/get/pop/popitem/setdefault/update/clear/copy``.
    """

    _recipe_from_tree = True  # whole-module saves store the items, not the arguments

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._parameters:  # torch looks keys up as attributes: AttributeError
            raise _MissingKey(key)
        return self._parameters[key]

    def __setitem__(self, key, value):
        setattr(self, _check_key("ParameterDict", key), _as_parameter("ParameterDict", value))

    def __delitem__(self, key):
        if key not in self._parameters:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key):
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        if not self._parameters:
            raise KeyError("ParameterDict.popitem: the dict is empty")
        key = next(reversed(self._parameters))
        return key, self.pop(key)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, parameters):
        if not isinstance(parameters, (Mapping, Iterable)):
            raise TypeError(f"ParameterDict.update: expected a mapping or pairs, got "
                            f"{type(parameters).__name__}")
        for key, value in _pairs("ParameterDict", parameters, sort_plain=True):
            self[key] = value

    def clear(self):
        for key in list(self._parameters):
            del self[key]

    def copy(self):
        """A new ParameterDict holding the same Parameters (not copies), as torch's."""
        return ParameterDict(OrderedDict(self._parameters))

    def extra_repr(self):
        return "\n".join(f"({k}): Parameter containing: [{_describe(p)}]"
                         for k, p in self.items())

    __repr__ = ParameterList.__repr__


def _describe(p):
    if p is None:
        return "None"
    size = "x".join(str(n) for n in p.shape)
    return f"{p.backend} {B.dtype_name(p.dtype)} of size {size}"

"""ParameterList and ParameterDict with torch.nn's semantics: they hold any object, and a
Tensor (or a backend array) put in becomes a Parameter, registered under its index or key
("scales.0", "gains.alpha" in ``state_dict``); a Module put in becomes a child; anything
else is kept as a plain attribute, as PyTorch's containers do since 1.12.
"""
from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .. import backend as B
from ..tensor import Tensor
from .module import Module, Parameter


def _wrap(value):
    """A Tensor or backend array as a Parameter (a Parameter stays itself); other values
    are kept as they are."""
    if isinstance(value, Parameter) or not (isinstance(value, Tensor) or B.is_array(value)):
        return value
    return Parameter(value)


def _describe(value):
    """PyTorch's text for one entry of a ParameterList/ParameterDict repr."""
    if not isinstance(value, Tensor):
        return f"Object of type: {type(value).__name__}"
    kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
    size = "x".join(str(n) for n in value.shape)
    where = f" ({value.device})" if getattr(value.device, "type", "cpu") == "cuda" else ""
    return f"{kind} containing: [{{}} of size {size}{where}]"


def _put(module, name, value):
    """Set entry ``name``; None over a registered Parameter keeps the slot, as PyTorch's
    ``setattr``, and None elsewhere is a plain attribute."""
    if value is None and name not in module._parameters and name not in module._modules:
        module.__dict__.pop(name, None)
        object.__setattr__(module, name, None)
        return
    setattr(module, name, value)


class ParameterList(Module):
    """A list whose Tensors are registered Parameters named "0", "1", ... (Tensors and
    arrays are wrapped as Parameters; other objects are held as they are, as in PyTorch).

    Args:
        values: an iterable of Parameters, Tensors, arrays or other objects.
    Indexing (ints, negative ints, slices: a new ParameterList), assignment, ``len``,
    iteration, ``append``, ``extend`` and ``+=`` behave as a list's. Calling it raises.
    """

    _recipe_from_tree = True  # whole-module saves store the items, not the arguments

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, i):
        n = len(self)
        try:
            i = operator.index(i)
        except TypeError:
            raise TypeError(f"ParameterList: indices must be ints or slices, got "
                            f"{type(i).__name__}") from None
        if not -n <= i < n:
            raise IndexError(f"ParameterList: index {i} is out of range for {n} parameters")
        return str(i % n)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return type(self)([self[k] for k in range(len(self))[i]])
        return getattr(self, self._index(i))

    def __setitem__(self, i, value):
        _put(self, self._index(i), _wrap(value))

    def __len__(self):
        # the entries are the attributes "0" ... "n-1" (however they were set: a
        # whole-module load registers the Parameters directly)
        n = 0
        while str(n) in self.__dict__:
            n += 1
        return n

    def __iter__(self):
        return iter([getattr(self, str(i)) for i in range(len(self))])

    def __iadd__(self, values):
        return self.extend(values)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def append(self, value):
        _put(self, str(len(self)), _wrap(value))
        return self

    def extend(self, values):
        if not isinstance(values, Iterable) or isinstance(values, Tensor) or \
                B.is_array(values):  # a Tensor iterates, but is one value
            raise TypeError(f"ParameterList.extend: expected an iterable of values, got "
                            f"{type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(f"  ({i}): " + _describe(p).format(f"xpnn.{B.dtype_name(p.dtype)}"
                                                              if isinstance(p, Tensor) else "")
                         for i, p in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


class _NotAPair(TypeError, ValueError):
    """An update item that is not iterable: PyTorch's TypeError (a ValueError, as xpnn
    raised before)."""


class _MissingKey(KeyError, AttributeError):
    """A ParameterDict key that is not there: a KeyError, as a dict's, and torch's
    AttributeError."""


class ParameterDict(Module):
    """An ordered dict whose Tensors are registered Parameters under their keys (Tensors
    and arrays are wrapped as Parameters; other objects are held as they are).

    Args:
        parameters: a mapping or an iterable of (key, value) pairs; a plain dict's items
            are added sorted by key (an OrderedDict, a ParameterDict and pairs keep their
            order), as PyTorch's.
    The dict API: ``pd[k]``, ``pd[k] = v``, ``del pd[k]``, ``len``, ``in``, iteration and
    ``reversed`` over keys, ``keys/values/items/get/pop/popitem/setdefault/update/clear/
    copy/fromkeys`` and ``|``, ``|=``. Calling it raises.
    """

    _recipe_from_tree = True  # whole-module saves store the items, not the arguments

    def __init__(self, parameters=None):
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    def _order(self):
        """The keys in order: those set through the dict API, then any Parameter or child
        registered directly (a whole-module load sets them without ``__setitem__``)."""
        keys = self.__dict__.setdefault("_keys", {})
        for name in list(self._parameters) + list(self._modules):
            keys.setdefault(name, None)
        return keys

    @staticmethod
    def _check(key):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {type(key).__name__} "
                            f"({key!r})")
        return key

    def __getitem__(self, key):
        if self._check(key) not in self._order():  # torch: AttributeError; a dict: KeyError
            raise _MissingKey(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        keys = self._order()
        if "." in self._check(key) or key == "":
            raise KeyError(f"ParameterDict: key {key!r} must be non-empty and contain no "
                           "'.' (it becomes part of state_dict names)")
        if key not in keys and hasattr(self, key):
            raise KeyError(f"ParameterDict: attribute {key!r} already exists")
        _put(self, key, _wrap(value))
        keys[key] = None

    def __delitem__(self, key):
        keys = self._order()
        if self._check(key) not in keys:
            raise KeyError(key)
        del keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._order())

    def __iter__(self):
        return iter(list(self._order()))

    def __reversed__(self):
        return reversed(list(self._order()))

    def __contains__(self, key):
        return key in self._order()

    def keys(self):
        return self._order().keys()

    def values(self):
        return [self[k] for k in self._order()]

    def items(self):
        return [(k, self[k]) for k in self._order()]

    def get(self, key, default=None):
        return self[key] if key in self else default

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        if not len(self):
            raise KeyError("ParameterDict.popitem: the dict is empty")
        key = next(reversed(self))
        return key, self.pop(key)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, parameters):
        if not isinstance(parameters, Iterable):
            raise TypeError(f"ParameterDict.update: expected a mapping or (key, value) "
                            f"pairs, got {type(parameters).__name__}")
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = list(parameters.items())
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = []
            for i, item in enumerate(parameters):  # PyTorch: TypeError, then ValueError
                if not isinstance(item, Iterable):
                    raise _NotAPair(f"ParameterDict.update: item {i} must be a (key, value) "
                                    f"pair, got {type(item).__name__}")
                item = tuple(item)
                if len(item) != 2:
                    raise ValueError(f"ParameterDict.update: item {i} must be a (key, "
                                     f"value) pair, got {len(item)} elements")
                pairs.append(item)
        for key, value in pairs:
            self[key] = value

    def clear(self):
        for key in list(self):
            del self[key]

    def copy(self):
        """A new ParameterDict holding the same values (not copies), as torch's."""
        return ParameterDict(OrderedDict(self.items()))

    def fromkeys(self, keys, default=None):
        """A new ParameterDict with ``keys``, each holding ``default``."""
        return ParameterDict([(k, default) for k in keys])

    def __or__(self, other):  # other: anything update() takes, as PyTorch's
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other):
        if not isinstance(other, ParameterDict):
            return NotImplemented
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other):
        self.update(other)
        return self

    def extra_repr(self):
        return "\n".join(f"  ({k}): " + _describe(p).format(p.type() if isinstance(p, Tensor)
                                                              else "")
                         for k, p in self.items())

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")

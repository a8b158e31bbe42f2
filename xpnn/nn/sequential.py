"""Sequential and ModuleList: children named "0", "1", ... in order, with PyTorch's
indexing, slicing, insertion and renumbering."""
from __future__ import annotations

import operator
from collections import OrderedDict

from .module import Module, _hooked


class _Numbered(Module):
    """What Sequential and ModuleList share: children named "0", "1", ... in order, set,
    deleted (renumbering, as PyTorch), popped, counted and iterated by position."""

    def __setitem__(self, i, module):
        name = list(self._modules)[_index(type(self).__name__, i, len(self))]
        setattr(self, name, _checked(type(self).__name__, module))

    def __delitem__(self, i):
        mods = list(self._modules.values())
        del mods[i if isinstance(i, slice) else _index(type(self).__name__, i, len(mods))]
        _renumber(self, mods)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def pop(self, key):
        """Remove the module at ``key`` (an int or a slice) and return it, as PyTorch's
        (which has no default position)."""
        module = self[key]
        del self[key]
        return module

    def __dir__(self):
        # PyTorch leaves the numbered children's names out
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_Numbered):
    """Modules applied in order; indexable, iterable, and named "0", "1", ... as in PyTorch.

    One reordering, which changes no value: a ReLU followed by a max pooling (the usual
    conv, ReLU, pool block) runs as the pooling, then the ReLU, so the ReLU and its gradient
    touch a quarter of the elements (2x2 pools). max(relu(x)) == relu(max(x)) exactly, and
    the gradient reaches the same input element: the window's first maximum when it is
    positive, nothing otherwise (relu' = 0 there either way). Not done when either module
    has hooks (they would see other tensors) or the pooling returns indices.
    """

    # its constructor's arguments are its children: xpnn.load rebuilds it empty and adds the
    # saved children (see xpnn/io/recipe.py), so ``Sequential(*generator)`` saves too
    _recipe_from_tree = True

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            modules = list(modules[0].items())
        else:
            modules = [(str(i), m) for i, m in enumerate(modules)]
        for name, m in modules:
            if m is not None and not isinstance(m, Module):
                raise TypeError(f"Sequential: item {name} is a {type(m).__name__}, not a "
                                "Module")
            self.add_module(name, m)  # PyTorch's name checks ("a.b"); None allowed, as there

    def forward(self, input):
        mods = list(self._modules.values())
        i, n = 0, len(mods)
        while i < n:
            m = mods[i]
            if i + 1 < n and m._max_pool_commutes and mods[i + 1]._max_pool_plain and \
                    not _hooked(m) and not _hooked(mods[i + 1]):
                input = m(mods[i + 1](input))  # ReLU, MaxPool run as MaxPool, ReLU: see the class
                i += 2
                continue
            input = m(input)
            i += 1
        return input

    def __getitem__(self, i):
        if isinstance(i, slice):  # the children keep their names (and state_dict keys)
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[_index("Sequential", i, len(self))]

    def __add__(self, other):
        if not isinstance(other, Sequential):  # PyTorch raises ValueError here
            raise ValueError(f"Sequential + {type(other).__name__}: only a Sequential can "
                             "be added to a Sequential")
        return Sequential(*self, *other)

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential += {type(other).__name__}: only a Sequential can "
                             "be added to a Sequential")
        return self.extend(list(other))

    def __mul__(self, n):
        return Sequential(*(list(self) * _factor(n)))

    __rmul__ = __mul__

    def __imul__(self, n):
        """Repeat the children in place (the same module objects), as PyTorch's."""
        return self.extend(list(self) * (_factor(n) - 1))

    def append(self, module):
        setattr(self, str(len(self)), _checked("Sequential", module))
        return self

    def extend(self, modules):
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index, module):
        mods = list(self._modules.values())
        n = len(mods)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for "
                             f"{n} modules")
        mods.insert(index % (n + 1) if index < 0 else index, _checked("Sequential", module,
                                                                        insert=True))
        _renumber(self, mods)
        return self

class ModuleList(_Numbered):
    """A list of Modules whose parameters are registered (named "0", "1", ...)."""

    _recipe_from_tree = True  # as Sequential's

    def __init__(self, modules=None):
        super().__init__()
        for m in modules if modules is not None else ():
            self.append(m)

    def __repr__(self):
        """As PyTorch's: a run of neighbours that print alike is one line, "(0-2): 3 x ..."."""
        runs = []  # [first, last, text]
        for name, m in self._modules.items():
            text = repr(m)
            if runs and runs[-1][2] == text:
                runs[-1][1] = name
            else:
                runs.append([name, name, text])
        if not runs:
            return self._get_name() + "()"
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {int(b) - int(a) + 1} x ") +
                 text.replace("\n", "\n  ") for a, b, text in runs]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def append(self, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"ModuleList: cannot append a {type(module).__name__}")
        self.add_module(str(len(self)), module)  # None is kept in the list, as PyTorch
        return self

    def extend(self, modules):
        for m in list(modules):
            self.append(m)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else \
            mods[_index("ModuleList", i, len(mods))]

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, _checked("ModuleList", module))
        _renumber(self, mods)


def _index(container, i, n):
    """``i`` (an int or anything with ``__index__``, negatives from the end) checked
    against ``n`` items."""
    try:
        i = operator.index(i)
    except TypeError:
        raise TypeError(f"{container}: indices must be ints or slices, got "
                        f"{type(i).__name__}") from None
    if not -n <= i < n:
        raise IndexError(f"{container}: index {i} is out of range for {n} modules")
    return i % n


class _NotAModule(TypeError, AssertionError):
    """A non-Module given to ``insert``: TypeError, and PyTorch's AssertionError."""


def _checked(container, module, insert=False):
    if not isinstance(module, Module):
        raise (_NotAModule if insert else TypeError)(
            f"{container}: expected a Module, got {type(module).__name__}")
    return module


def _factor(n):
    """A repetition count for ``Sequential * n``: PyTorch's TypeError for a non-int and
    ValueError for n <= 0."""
    if not isinstance(n, int):
        raise TypeError(f"unsupported operand type(s) for *: 'Sequential' and "
                        f"'{type(n).__name__}'")
    if n <= 0:
        raise ValueError(f"Sequential: non-positive multiplication factor {n}")
    return n


def _renumber(container, modules):
    """Make ``modules`` the container's children, named "0", "1", ... in order."""
    for name in list(container._modules):
        delattr(container, name)
    for i, m in enumerate(modules):
        container.add_module(str(i), m)

"""Which classes and functions a file may name: PyTorch's safe-globals API and the names
objects are saved under.

The rule: ``xpnn.load`` uses a class (to rebuild a module) or a function (passed to a
constructor) only if it is xpnn's own (a Module class of xpnn, a function of
xpnn.functional) or allowed through :func:`add_safe_globals` / :func:`safe_globals`; with
``weights_only=False`` (PyTorch's "I trust this file") also a Module class of a module the
program has already imported. Nothing is ever imported, and every name in a file is checked
before anything is built.
"""
from __future__ import annotations

import pickle  # for UnpicklingError only: xpnn never pickles or unpickles
import sys
import threading
import types

from .format import CheckpointError

PLAIN = ("None, bool, int, float, str, lists, tuples, dicts, Tensors, arrays, NumPy scalars, "
         "dtypes, devices, Modules and module-level functions or classes")


class Unstorable(TypeError):
    """An object ``xpnn.save`` cannot store; ``where`` says where it sits in what was saved."""

    def __init__(self, where, obj, allowed=PLAIN):
        self.where, self.obj = where, obj
        kind = "class" if isinstance(obj, type) else "function" if callable(obj) else None
        self.what = what = f"the {kind} {getattr(obj, '__qualname__', obj)!r}" if kind else \
            f"a {type(obj).__module__}.{type(obj).__qualname__}"
        super().__init__(f"{where} is {what}, which xpnn.save cannot store (it never "
                         f"pickles); it stores {allowed}")


class UnsafeGlobalError(CheckpointError, pickle.UnpicklingError):
    """A file names a class or function that is neither xpnn's own nor allowed. (Also a
    ``pickle.UnpicklingError``, which PyTorch raises for the same case.)"""


# -- safe globals (torch.serialization's API) --------------------------------------------------
_lock = threading.Lock()
_allowed = []  # (object, name it is saved under or None)


def _check_globals(items, who):
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"{who}: expected a list of classes/functions or (object, name) "
                        f"pairs, got {type(items).__name__}")
    out = []
    for item in items:
        obj, name = item if (isinstance(item, tuple) and len(item) == 2 and
                             isinstance(item[1], str)) else (item, None)
        if not callable(obj):
            raise TypeError(f"{who}: {obj!r} is not a class or a function")
        out.append((obj, name))
    return out


def add_safe_globals(safe_globals):
    """Allow ``xpnn.load`` to rebuild these classes (and pass these functions), for the
    whole process: ``add_safe_globals([MyNet])``, or ``[(MyNet, "old.module.MyNet")]``
    when the file names the class as another path did."""
    items = _check_globals(safe_globals, "add_safe_globals")
    with _lock:
        _allowed.extend(items)


def get_safe_globals():
    """The objects allowed by :func:`add_safe_globals` (pairs for renamed ones)."""
    with _lock:
        return [obj if name is None else (obj, name) for obj, name in _allowed]


def clear_safe_globals():
    """Forget every object :func:`add_safe_globals` allowed."""
    with _lock:
        _allowed.clear()


class safe_globals:  # noqa: N801 - PyTorch's name
    """``with safe_globals([MyNet]): model = xpnn.load(f)``: allowed inside the block only."""

    def __init__(self, safe_globals):
        self.items = _check_globals(safe_globals, "safe_globals")

    def __enter__(self):
        with _lock:
            self.before = list(_allowed)
            _allowed.extend(self.items)
        return self

    def __exit__(self, *exc):
        with _lock:
            _allowed[:] = self.before


def _qualified(obj):
    mod, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return f"{mod}.{qual}" if isinstance(mod, str) and isinstance(qual, str) else None


def _xpnn_names():
    """{name: object} for xpnn's own Modules and functional ops, under their full paths
    and their public ones ("xpnn.nn.Linear", "xpnn.functional.gelu")."""
    from .. import functional, nn
    from ..nn.module import Module
    table, stack = {}, [Module]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] == "xpnn":
            table[_qualified(cls)] = cls
            if getattr(nn, cls.__name__, None) is cls:
                table[f"xpnn.nn.{cls.__name__}"] = cls
    for name in dir(functional):
        obj = getattr(functional, name)
        if isinstance(obj, types.FunctionType) and obj.__module__.startswith("xpnn."):
            table[_qualified(obj)] = obj
            table[f"xpnn.functional.{name}"] = obj
    return table


def global_name(obj, where):
    """The name a class or function is saved under; refuses what cannot be found by name."""
    name = getattr(obj, "__name__", None)
    mod = getattr(obj, "__module__", None) or ""
    if mod.split(".")[0] == "xpnn" and isinstance(name, str):
        from .. import functional, nn
        for space, stem in ((nn, "xpnn.nn"), (functional, "xpnn.functional")):
            if getattr(space, name, None) is obj:
                return f"{stem}.{name}"
    full = _qualified(obj)
    target = sys.modules.get(mod)
    for part in (getattr(obj, "__qualname__", None) or "<?>").split("."):
        target = getattr(target, part, None)
    if full is None or "<" in full or target is not obj:
        raise Unstorable(where, obj, "module-level functions and classes (found again by "
                         "name), not lambdas, local definitions or other objects")
    return full


def _imported_module_class(name):
    """The Module subclass ``name`` ("pkg.mod.Outer.Cls") names in an imported module."""
    from ..nn.module import Module
    parts = str(name).split(".")
    for i in range(len(parts) - 1, 0, -1):
        mod = sys.modules.get(".".join(parts[:i]))
        if mod is not None:
            obj = mod
            for part in parts[i:]:
                obj = getattr(obj, part, None)
            if isinstance(obj, type) and issubclass(obj, Module):
                return obj
    return None


class Resolver:
    """Names in one file to objects, by the rule above (the allow list read once)."""

    def __init__(self, path, trust_imported=False):
        self.path, self.trust_imported = path, trust_imported
        self.known = _xpnn_names()
        with _lock:
            self.allowed = {(name or _qualified(obj)): obj for obj, name in _allowed}

    def resolve(self, name, module_class=False):
        """The object a saved name stands for: xpnn's own, allowed by the safe globals, or
        (``weights_only=False``, for a Module class) found in a module this program has
        already imported. Nothing is ever imported."""
        obj = self.known.get(name, self.allowed.get(name))
        if obj is None and module_class and self.trust_imported:
            obj = _imported_module_class(name)
        if obj is None:
            short = str(name).rpartition(".")[2]
            how = (f"allow it with xpnn.serialization.add_safe_globals([{short}]) or `with "
                   f"xpnn.serialization.safe_globals([{short}]):`")
            if not module_class:
                why = "a function or class passed to a constructor must be allowed"
            elif self.trust_imported:
                why = ("weights_only=False rebuilds Module classes of modules this program "
                       "has already imported, and this is not one")
            else:
                why = ("or load with weights_only=False to rebuild the Module classes of "
                       "modules this program has already imported")
            raise UnsafeGlobalError(self.path, f"the file names {name!r}, which is not one of "
                                    f"xpnn's classes or functions. If you trust the file, "
                                    f"{how}; {why} (xpnn never imports or runs what a file "
                                    "names)", key="xpnn.modules")
        return obj

"""Rebuilding saved modules from their recipes (the layout is in recipe.py): construct each
node's class with its arguments, lay the saved tree over what the constructors made, assign
the weights where ``map_location`` puts them."""
from __future__ import annotations

import numpy as np

from .. import backend as B
from ..autograd import no_grad
from .format import MODULES_KEY, CheckpointError
from .recipe import _bad, check_nodes, globals_in
from .safe import Resolver, _qualified
from .tree import where_of

PLACEMENT_ARGS = ("backend", "device", "dtype")  # the file decides where weights go


class Rebuilder:
    """Rebuilds the modules of one file (shared modules come back shared)."""

    def __init__(self, path, nodes, dec, tree, trust_imported=False):
        self.path, self.nodes, self.dec = path, nodes, dec
        dec.rebuilder = self
        check_nodes(path, nodes)
        self.resolver = Resolver(path, trust_imported)
        from ..nn.module import Module
        self.classes = []
        for node in nodes:
            cls = self.resolve(node["class"], module_class=True)
            if not (isinstance(cls, type) and issubclass(cls, Module)):
                raise _bad(path, f"{node['class']} is not a Module class")
            self.classes.append(cls)
        for name in sorted(globals_in([nodes, tree], set())):
            self.resolve(name)  # refuse before building anything
        self.memo, self.owner, self.building, self.done = {}, {}, set(), {}
        self.pending_grad, self.pending_np = [], []

    def resolve(self, name, module_class=False):
        return self.resolver.resolve(name, module_class)

    # -- building ---------------------------------------------------------------------
    def build(self, i):
        """Module of node ``i``, constructed from its recipe (once per file)."""
        if i in self.memo:
            return self.memo[i]
        if i in self.building:
            raise _bad(self.path, f"node {i} is among its own constructor arguments")
        self.building.add(i)
        node, cls = self.nodes[i], self.classes[i]
        if cls.__dict__.get("_recipe_from_tree"):
            args, kwargs = (), {}
        else:
            args = [self.dec.value(a) for a in node["args"]]
            kwargs = {k: self.dec.value(v) for k, v in node["kwargs"].items()}
        try:
            obj = cls(*args, **kwargs)
        except Exception as e:
            raise CheckpointError(self.path, f"rebuilding {node['class']} (node {i}) from its "
                                  f"saved arguments failed: {type(e).__name__}: {e}",
                                  key=MODULES_KEY) from e
        self.building.discard(i)
        self.memo[i], self.owner[id(obj)] = obj, i
        return obj

    def module(self, ref):
        """A ``$module`` reference: the rebuilt module, with its weights when ``ref`` holds
        them (the object tree), bare when it is a constructor argument."""
        i = ref["$module"]
        if type(i) is not int or not 0 <= i < len(self.nodes):
            raise ValueError(f"$module {i!r} is not a node number")
        if "state" not in ref:
            obj = self.build(i)
            self.reconcile(obj, i, None, {})
            return obj
        state, tied = ref["state"], ref.get("tied", {})
        if not isinstance(state, dict) or not isinstance(tied, dict):
            raise ValueError("a module's state and tied entries must be objects")
        arrays = {k: self.dec.value(r) if "$sparse" in r else self.dec.array(r)
                  for k, r in state.items()}  # a sparse buffer comes back a SparseTensor
        dense = [a for a in arrays.values() if not getattr(a, "is_sparse", False)]
        main = B.backend_of(dense[0]) if dense else \
            self.dec.placer.backend(where_of(B.default_backend()))
        from ..nn.module import rebuild_on
        rng = B.host_rng().bit_generator.state  # constructors draw initial weights from it
        try:
            with rebuild_on(main), no_grad():
                obj = self.build(i)
                self.reconcile(obj, i, "", arrays)
        finally:
            B.host_rng().bit_generator.state = rng
        self._load_weights(obj, i, arrays, tied, main)
        return obj

    def _load_weights(self, obj, i, arrays, tied, main):
        from ..nn.module import _move
        try:
            obj.load_state_dict(arrays, strict=True, assign=True)
        except (KeyError, ValueError, TypeError, RuntimeError) as e:
            raise CheckpointError(self.path, f"{self.nodes[i]['class']} rebuilt from its "
                                  f"recipe does not fit the saved weights: {e}",
                                  key=MODULES_KEY) from None
        slots = {key: (mod, name) for key, mod, name, _ in obj._state_slots()}
        for key, first in tied.items():
            if key not in slots or first not in slots:
                raise ValueError(f"tied key {key!r} or {first!r} is not in the state")
            (mod, name), (mod0, name0) = slots[key], slots[first]
            t = getattr(mod0, name0)
            if name in mod._parameters:
                mod._parameters[name] = t
            else:
                mod._buffers[name] = t
            object.__setattr__(mod, name, t)
        for p, flag in self.pending_grad:
            p.requires_grad_(flag)
        for mod, name, dtype in self.pending_np:
            t = mod._buffers[name]
            arr = _move(t.array, main, dtype)
            if arr is not t.array:
                t.array, t._be = arr, main
                t._bump()
        self.pending_grad, self.pending_np = [], []

    # -- the saved tree over what the constructors made ---------------------------------
    def reconcile(self, obj, i, path, arrays):
        """Make ``obj``'s children, parameters and buffers those of node ``i``. ``path``:
        its key prefix in ``arrays`` (None: a constructor argument, no weights)."""
        if self.done.get(i) or (i in self.done and path is None):
            return
        self.done[i] = path is not None
        node = self.nodes[i]
        if node["children"] is None:  # a gone argument module: as its constructor made it
            return
        want = []
        for name, j in node["children"]:
            child = None if j is None else self.memo.get(j)
            if j is not None and child is None:
                cur = obj._modules.get(name)
                if cur is not None and id(cur) not in self.owner and \
                        type(cur) is self.classes[j] and self.sig_obj(cur) == self.sig_node(j):
                    child = self.memo[j] = cur
                    self.owner[id(cur)] = j
                else:
                    child = self.build(j)
            want.append((name, child))
        self._set_children(obj, want)
        self._set_parameters(obj, node, path, arrays)
        self._set_buffers(obj, node, path, arrays)
        object.__setattr__(obj, "training", node["training"])
        for name, value in node.get("attributes", {}).items():
            if name in obj._parameters or name in obj._modules or name in obj._buffers or \
                    (name not in obj.__dict__ and hasattr(type(obj), name)):
                raise _bad(self.path, f"{type(obj).__name__} cannot take the saved attribute "
                           f"{name!r}")
            object.__setattr__(obj, name, self.dec.value(value))
        for (name, j), (_, child) in zip(node["children"], want):
            if child is not None:
                self.reconcile(child, j, None if path is None else f"{path}{name}.", arrays)

    def _new_name(self, obj, name):
        if (name.startswith("__") and name.endswith("__")) or hasattr(type(obj), name):
            raise _bad(self.path, f"{type(obj).__name__} cannot hold a member named {name!r}")

    def _drop(self, obj, registry, keep):
        for name in [n for n in registry if n not in keep]:
            registry.pop(name)
            obj.__dict__.pop(name, None)

    def _set_children(self, obj, want):
        from ..nn.module import Module
        self._drop(obj, obj._modules, {n for n, _ in want})
        for name, child in want:
            if name in obj._modules and obj._modules[name] is child:
                continue
            if name not in obj._modules:
                self._new_name(obj, name)
            if child is None:
                obj._modules[name] = None
                object.__setattr__(obj, name, None)
            else:
                Module.__setattr__(obj, name, child)
        for name, _ in want:
            obj._modules.move_to_end(name)

    def _weight(self, obj, name, path, arrays):
        arr = arrays.get(path + name)
        if arr is None:
            raise _bad(self.path, f"{type(obj).__name__} {path!r} holds {name!r}, whose "
                       "weights are not in the file")
        if name not in obj.__dict__:
            self._new_name(obj, name)
        return arr

    def _set_parameters(self, obj, node, path, arrays):
        from ..nn.module import Module, Parameter
        saved = node["parameters"]
        self._drop(obj, obj._parameters, {n for n, _ in saved})
        for name, flag in saved:
            cur = obj._parameters.get(name)
            if flag is None:
                obj._parameters[name] = None
                object.__setattr__(obj, name, None)
                continue
            if cur is None:
                if path is None:
                    continue
                Module.__setattr__(obj, name, Parameter(self._weight(obj, name, path, arrays),
                                                        requires_grad=False))
            self.pending_grad.append((obj._parameters[name], flag))
        for name, _ in saved:
            if name in obj._parameters:
                obj._parameters.move_to_end(name)

    def _set_buffers(self, obj, node, path, arrays):
        from ..tensor import Tensor
        saved = node["buffers"]
        self._drop(obj, obj._buffers, {b[0] for b in saved})
        skip = obj.__dict__.setdefault("_non_persistent", set())
        for entry in saved:
            name, persistent = entry[0], entry[1]
            if persistent is None:
                obj._buffers[name] = None
                object.__setattr__(obj, name, None)
                skip.discard(name)
                continue
            if obj._buffers.get(name) is None:
                if not persistent:
                    raise _bad(self.path, f"{type(obj).__name__}: non-persistent buffer "
                               f"{name!r} is not saved (as in PyTorch) and its constructor "
                               "did not make it")
                if path is None:
                    continue
                t = Tensor(self._weight(obj, name, path, arrays))
                obj._buffers[name] = t
                object.__setattr__(obj, name, t)
            if persistent:
                skip.discard(name)
            else:
                skip.add(name)
                self.pending_np.append((obj, name, entry[2]))
        for entry in saved:
            if entry[0] in obj._buffers:
                obj._buffers.move_to_end(entry[0])

    # -- "was this child made as saved?" ------------------------------------------------
    def sig_obj(self, m):
        """A comparable summary of a live module's recipe (placement arguments left out:
        the file decides where weights go)."""
        return self._sig_recipe(type(m), m.__dict__.get("_recipe", ((), {})))

    def _sig_recipe(self, cls, recipe):
        if cls.__dict__.get("_recipe_from_tree"):
            return ("module", _qualified(cls))
        args, kwargs = recipe
        return ("module", _qualified(cls), tuple(self._sig(a) for a in args),
                tuple((k, self._sig(v)) for k, v in kwargs.items()
                      if k not in PLACEMENT_ARGS))

    def _sig(self, v):
        from ..autograd import TensorBase
        from ..nn.module import ArgModule, Module
        from .tree import _is_device
        if isinstance(v, ArgModule):
            live = v()
            if live is not None:
                return self.sig_obj(live)
            return self._sig_recipe(v.cls, v.recipe)
        if v is None or isinstance(v, str) and not isinstance(v, B.DType):
            return v
        if isinstance(v, (bool, int, float)):
            return (type(v).__name__, repr(v))
        if isinstance(v, np.generic):
            return ("scalar",)
        if isinstance(v, TensorBase) or B.is_array(v):
            return ("tensor", tuple(v.shape), B.dtype_name(v.dtype))
        if isinstance(v, B.DType) or B._is_dtype(v):
            return ("dtype", B.dtype_name(v))
        if _is_device(v):
            return ("device",)
        if isinstance(v, (list, tuple)):
            return (type(v).__name__ if type(v) in (list, tuple) else "tuple",
                    tuple(self._sig(x) for x in v))
        if isinstance(v, dict):
            return ("dict", tuple((self._sig(k), self._sig(x)) for k, x in v.items()))
        if isinstance(v, Module):
            return self.sig_obj(v)
        if callable(v):
            return ("global", _qualified(v))
        return ("?", id(v))

    def sig_node(self, i):
        node, cls = self.nodes[i], self.classes[i]
        if cls.__dict__.get("_recipe_from_tree"):
            return ("module", _qualified(cls))
        return ("module", _qualified(cls), tuple(self._sig_json(a) for a in node["args"]),
                tuple((k, self._sig_json(v)) for k, v in node["kwargs"].items()
                      if k not in PLACEMENT_ARGS))

    def _sig_json(self, j):
        if isinstance(j, list):
            return ("list", tuple(self._sig_json(x) for x in j))
        if j is None or isinstance(j, str):
            return j
        if not isinstance(j, dict):
            return (type(j).__name__, repr(j))
        if "$tensor" in j:
            tag, shape, _, _ = self.dec.entries.get(j["$tensor"], (None, None, 0, 0))
            from .format import NAMES
            return ("tensor", shape, NAMES.get(tag))
        if "$float" in j:
            return ("float", repr(float(j["$float"])))
        if "$tuple" in j:
            return ("tuple", tuple(self._sig_json(x) for x in j["$tuple"]))
        for tag in ("$dict", "$odict"):
            if tag in j:
                return ("dict", tuple((self._sig_json(k), self._sig_json(v))
                                      for k, v in j[tag]))
        if "$scalar" in j:
            return ("scalar",)
        if "$dtype" in j:
            return ("dtype", j["$dtype"])
        if "$device" in j:
            return ("device",)
        if "$module" in j:
            return self.sig_node(j["$module"])
        if "$global" in j:
            return ("global", _qualified(self.resolve(j["$global"])))
        return ("dict", tuple((k, self._sig_json(v)) for k, v in j.items()))

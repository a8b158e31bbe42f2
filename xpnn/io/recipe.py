"""Whole Modules in a file without pickle: the recipe, not the object.

``Module.__new__`` records the arguments each module was constructed with. Saving a module
stores, for every distinct module of the tree, its class and those arguments and what it
holds (metadata entry ``xpnn.modules``, a JSON list indexed by node number):

    {"class": "xpnn.nn.Linear",             the class's name (module path and qualname)
     "args": [...], "kwargs": {...},         constructor arguments in tree.py's JSON;
                                             a Module among them is {"$module": i}
     "children": [[name, i or null], ...],   ``_modules`` in order (null: a None slot)
     "parameters": [[name, requires_grad or null], ...],
     "buffers": [[name, true] | [name, false, dtype] | [name, null], ...],
                                             persistent | non-persistent (not saved: the
                                             constructor makes it; cast to dtype) | None
     "training": true,
     "attributes": {name: value, ...}}       plain attributes (optional): set again after
                                             the constructor, so ``dropout.p = 0.1`` or
                                             ``bn.momentum = None`` set later comes back

A module given to a constructor that no longer exists when saving (TransformerEncoder drops
its ``encoder_layer`` template; recipes hold Modules weakly) is a node with only its class
and arguments, and children, parameters and buffers null: rebuilt as its constructor makes
it.

The object tree refers to a module as {"$module": i, "state": {key: {"$tensor": ...}},
"tied": {key: first key}}: its ``state_dict`` (stored under the module's path + key, so a
model saved alone is a plain state-dict file) and the keys that share one Parameter.
Containers whose arguments are their children (Sequential, ModuleList: a class attribute
``_recipe_from_tree = True`` of the class itself) are stored with no arguments.

Loading (rebuild.py) calls each node's class with its arguments, using only the classes and
functions that safe.py's rule allows (xpnn's own, the safe globals, and with
``weights_only=False`` Module classes the program has already imported); every name is
checked before anything is built, and nothing is imported. A child the constructor made is
kept when its class and arguments are the saved ones, else the saved child replaces it, so a
module changed after construction (a layer swapped or appended, a parameter added, dropped,
tied or frozen) comes back as it was saved. The weights are then assigned with their saved
dtypes, on the devices ``map_location`` picks. Plain attributes (public names holding None,
bools, numbers, strings, dtypes, or lists and tuples of them) are saved and set again after
the constructor; anything else set after construction is not saved.
"""
from __future__ import annotations

import inspect

from .. import backend as B
from .format import MODULES_KEY, CheckpointError
from .safe import Unstorable, global_name
from .tree import marked

RECIPE_TYPES = ("None, bool, int, float, str, lists/tuples/dicts of them, dtypes, devices, "
                "Tensors, arrays, Modules and module-level functions or classes")


# -- saving ------------------------------------------------------------------------------------
class Recorder:
    """Collects module nodes for an :class:`~xpnn.io.tree.Encoder`."""

    def __init__(self, enc):
        self.enc, self.nodes, self.index, self.with_state, self.keep = enc, [], {}, set(), []

    def module(self, m, name):
        """The object-tree JSON of module ``m`` saved at ``name`` (with its state the first
        time it is met)."""
        ref = {}
        if id(m) not in self.with_state:
            self.with_state.add(id(m))
            state, first, tied = {}, {}, {}
            for key, t in m.state_dict(keep_vars=True).items():
                if getattr(t, "is_sparse", False):  # a sparse buffer: its $sparse JSON
                    state[key] = self.enc.value(t.detach(), f"{name}.{key}" if name else key,
                                                key)
                    continue
                r = self.enc.tensor(t, f"{name}.{key}" if name else key, shared=False)
                state[key] = {"$tensor": r["$tensor"], "on": r["on"]}
                k0 = first.setdefault(id(t), key)
                if k0 != key:
                    tied[key] = k0
            ref["state"] = state
            if tied:
                ref["tied"] = tied
        return {"$module": self.node(m, name), **ref}

    def gone(self, arg, path):
        """A node for a constructor's Module argument that no longer exists (an
        ``ArgModule`` whose module was freed): its class and recipe only, rebuilt as its
        constructor makes it (children, parameters and buffers null)."""
        idx = len(self.nodes)
        self.nodes.append(None)
        self.nodes[idx] = {**self._recipe_json(arg.cls, arg.recipe, path),
                           "children": None, "parameters": None, "buffers": None,
                           "training": True}
        return idx

    def _recipe_json(self, cls, recipe, path):
        label = f"{cls.__name__} {path!r}" if path else f"the saved {cls.__name__}"
        cname = global_name(cls, f"the class of {label}")
        args, kwargs = ((), {}) if cls.__dict__.get("_recipe_from_tree") else recipe
        stem = f"{path}.__args__" if path else "__args__"
        self.enc.in_recipe += 1
        try:
            enc_args = [self.enc.value(a, f"{stem}.{i}", f"#{i}") for i, a in enumerate(args)]
            enc_kwargs = {k: self.enc.value(v, f"{stem}.{k}", f"{k!r}")
                          for k, v in kwargs.items()}
        except Unstorable as e:
            raise TypeError(f"save: cannot record how to rebuild {label}: its argument "
                            f"{_arg_label(cls, e.where)} is {e.what} ({_short(e.obj)}); "
                            f"constructor arguments must be {RECIPE_TYPES}. To store the "
                            "weights alone save model.state_dict() instead") from None
        finally:
            self.enc.in_recipe -= 1
        return {"class": cname, "args": enc_args, "kwargs": enc_kwargs}

    def node(self, m, path):
        """The node number of module ``m`` (recording it and its subtree the first time)."""
        idx = self.index.get(id(m))
        if idx is not None:
            return idx
        idx = self.index[id(m)] = len(self.nodes)
        self.nodes.append(None)
        self.keep.append(m)
        cls = type(m)
        if "_recipe" not in m.__dict__:
            raise TypeError(f"save: {cls.__name__} {path!r} has no recorded constructor "
                            "arguments (made without calling its class?)")
        recipe = self._recipe_json(cls, m.__dict__["_recipe"], path)
        children = [[n, None if c is None else self.node(c, f"{path}.{n}" if path else n)]
                    for n, c in m._modules.items()]
        skip = m.__dict__.get("_non_persistent", ())
        held = set(m._parameters) | set(m._modules) | set(m._buffers)
        attributes = {k: self.enc.value(v, f"{path}.{k}", k) for k, v in m.__dict__.items()
                      if _name_ok(k) and not k.startswith("_") and k != "training" and
                      k not in held and _plain(v)}
        self.nodes[idx] = {
            **recipe, "children": children,
            "parameters": [[n, None if p is None else bool(p.requires_grad)]
                           for n, p in m._parameters.items()],
            "buffers": [[n, None] if b is None else [n, True] if n not in skip else
                        [n, False, B.dtype_name(b.dtype)] for n, b in m._buffers.items()],
            "training": bool(m.training), **({"attributes": attributes} if attributes else {})}
        return idx


def _plain(v, depth=0):
    """Whether ``v`` is a plain attribute value to save (see the module docstring)."""
    if v is None or type(v) in (bool, int, float, str) or isinstance(v, B.DType):
        return True
    return type(v) in (list, tuple) and depth < 3 and len(v) <= 64 and \
        all(_plain(x, depth + 1) for x in v)


def _short(obj):
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def _arg_label(cls, where):
    """'activation' for "#4" of TransformerEncoderLayer (positional index to name)."""
    if not where.startswith("#"):
        return where
    pos, _, rest = where[1:].partition("[")
    try:
        params = [p for p in inspect.signature(cls.__init__).parameters.values()][1:]
        p = params[int(pos)] if int(pos) < len(params) else params[-1]
        name = repr(p.name) if p.kind != p.VAR_POSITIONAL else f"*{p.name}"
    except (TypeError, ValueError, IndexError):
        name = f"#{pos}"
    return name + (f"[{rest}" if rest else "")


# -- validation (before anything is built) ---------------------------------------------------
def _bad(path, msg):
    return CheckpointError(path, f"the module tree is malformed: {msg}", key=MODULES_KEY)


def _name_ok(n):
    return isinstance(n, str) and n != "" and "." not in n


def check_nodes(path, nodes):
    """Validate the ``xpnn.modules`` JSON before anything is built."""
    if not isinstance(nodes, list):
        raise _bad(path, "not a list")
    n = len(nodes)
    keys = {"class", "args", "kwargs", "children", "parameters", "buffers", "training"}
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or set(node) - {"attributes"} != keys:
            raise _bad(path, f"node {i} must have exactly the keys {sorted(keys)} (and "
                       "optionally 'attributes')")
        attrs = node.get("attributes", {})
        if not isinstance(attrs, dict) or not all(
                _name_ok(k) and not k.startswith("_") and k != "training" for k in attrs):
            raise _bad(path, f"node {i} ({str(node['class'])[:80]}) has malformed attributes")
        held = [node[k] for k in ("children", "parameters", "buffers")]
        if held == [None] * 3:  # an argument module that was gone: as its constructor makes it
            node, held = dict(node, children=[], parameters=[], buffers=[]), [[], [], []]
        ok = (isinstance(node["class"], str) and isinstance(node["args"], list) and
              isinstance(node["kwargs"], dict) and isinstance(node["training"], bool) and
              all(isinstance(h, list) for h in held) and
              all(isinstance(k, str) for k in node["kwargs"]) and
              all(isinstance(c, list) and len(c) == 2 and _name_ok(c[0]) and
                  (c[1] is None or (type(c[1]) is int and 0 <= c[1] < n))
                  for c in node["children"]) and
              all(isinstance(p, list) and len(p) == 2 and _name_ok(p[0]) and
                  (p[1] is None or isinstance(p[1], bool)) for p in node["parameters"]) and
              all(isinstance(b, list) and _name_ok(b[0]) and
                  ((len(b) == 2 and (b[1] is True or b[1] is None)) or
                   (len(b) == 3 and b[1] is False and b[2] in B.DTYPES))
                  for b in node["buffers"]))
        if not ok:
            raise _bad(path, f"node {i} ({str(node['class'])[:80]}) has a malformed entry")


def globals_in(j, out):
    """Every ``$global`` name in a JSON tree (one that is not a string as its repr)."""
    return marked(j, "$global", out, repr)

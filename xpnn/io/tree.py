"""Nested Python objects <-> JSON plus named tensors: what ``xpnn.save`` writes into a
safetensors file's metadata instead of a pickle.

JSON carries None, bools, ints, strings, lists and finite floats as themselves; everything
else is a one-key object tagged with ``$``:

    {"$tensor": name, "on": "torch:cuda:0", "kind": "tensor"|"parameter"|"array",
     "requires_grad": true}           a tensor stored under ``name`` in the file; ``on`` is
                                      where it was saved from ("backend:device")
    {"$float": "inf"|"-inf"|"nan"}    JSON has no such numbers
    {"$tuple": [...]}                 a tuple (lists stay lists)
    {"$dict": [[k, v], ...]}          a dict whose keys are not all strings (an optimizer's
                                      state by parameter index: ints stay ints) or that has
                                      keys starting with "$"
    {"$odict": [[k, v], ...]}         an OrderedDict
    {"$scalar": v, "dtype": "float32"}   a NumPy scalar
    {"$dtype": "float32"}, {"$device": "cuda:0"}
    {"$module": i, ...}               a Module (see recipe.py)
    {"$global": "pkg.mod.name"}       a module-level function or class, resolved on load
                                      only if it is xpnn's own or allowed (safe globals)
    {"$sparse": [indices, values], "size": [...], "coalesced": b}
                                      a sparse COO tensor: its two tensors (references
                                      as above, named "<name>.indices"/"<name>.values")

Host-side code: NumPy is imported here.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from .. import backend as B
from ..autograd import TensorBase
from .._sparse_build import build
from .._sparse_coo import SparseTensor
from ..tensor import Tensor
from .format import CheckpointError, host_array, to_backend, to_host
from .safe import Unstorable, global_name

TAGS = ("$tensor", "$float", "$tuple", "$dict", "$odict", "$scalar", "$dtype", "$device",
        "$module", "$global", "$sparse")
# -- where tensors live ------------------------------------------------------------------------
def where_of(be):
    """"backend:device" for a Backend ("numpy:cpu", "torch:cuda:0", "cupy:0")."""
    return f"{be.name}:{B.device_key(be)}"


def location_of(on):
    """PyTorch's location string ("cpu", "cuda:0") of an ``on`` string, for map_location
    dicts and callables."""
    name, _, dev = on.partition(":")
    if name == "cupy":
        return f"cuda:{dev}"
    if name == "torch":
        return dev
    if name == "array_api_strict" and dev not in ("", "CPU_DEVICE"):
        return dev
    return "cpu"


def _is_device(obj):
    if isinstance(obj, B.device):
        return True
    mod, name = type(obj).__module__, type(obj).__name__
    return (mod.startswith("torch") and name == "device") or \
        (mod.startswith("cupy") and name == "Device") or \
        (mod.startswith("array_api_strict") and name == "Device")


def device_text(obj):
    """A device of any library as text: "cpu", "cuda:1", "device1"."""
    mod = type(obj).__module__
    if mod.startswith("cupy"):
        return f"cuda:{obj.id}"
    text = str(obj)
    return text.split("'")[1] if mod.startswith("array_api_strict") and "'" in text else text


class Placer:
    """Where each loaded tensor goes: ``map_location`` as ``torch.load`` reads it.

    None: the backend and device it was saved from when available here, else NumPy. A
    device or backend ("cpu", "cuda:1", "torch", ``xpnn.device``, ``torch.device``): that
    place, seen from the saved backend (on the NumPy/CuPy pair "cpu" is NumPy). A dict:
    {saved location: new location}, locations as PyTorch writes them ("cpu", "cuda:0"). A
    callable ``fn(tensor, location)``: gets the tensor on the host and returns it placed
    (a Tensor or an array), or None for the default.
    """

    def __init__(self, map_location, who="load"):
        self.map, self.who, self.cache = map_location, who, {}
        self.fn = map_location if callable(map_location) and not (
            isinstance(map_location, (type, B.Backend)) or _is_device(map_location)) else None
        if map_location is not None and self.fn is None and not (
                isinstance(map_location, (str, dict, B.Backend)) or _is_device(map_location)):
            raise TypeError(f"{who}: map_location must be None, a device or backend name, a "
                            "device, a dict {saved location: location} or a callable "
                            f"(tensor, location) -> tensor; got {type(map_location).__name__}")

    def _saved(self, on):
        name, _, dev = on.partition(":")
        try:
            return B.get_backend(name, int(dev) if name == "cupy" else (dev or None))
        except (B.BackendError, ValueError, TypeError):
            return None  # not installed here, or no such device: NumPy stands in

    def _resolve(self, spec, base):
        try:
            return B.resolve_to(base, (spec,), {}, self.who)[0]
        except TypeError:
            raise TypeError(f"{self.who}: map_location {spec!r} is neither a device nor a "
                            "backend name") from None

    def backend(self, on):
        """The Backend for tensors saved at ``on`` (not for a callable map_location)."""
        be = self.cache.get(on)
        if be is None:
            base = self._saved(on) or B.get_backend("numpy")
            spec = None if self.fn is not None else self.map
            if isinstance(spec, dict):
                spec = spec.get(location_of(on))
            be = self.cache[on] = base if spec is None else self._resolve(spec, base)
        return be

    def place(self, path, name, host, tag, on):
        """``host`` (a NumPy array from the file) as an array where it belongs."""
        if self.fn is not None:
            host_be = B.get_backend("torch") if tag == "BF16" else B.get_backend("numpy")
            moved = self.fn(Tensor(to_backend(path, name, host, tag, host_be)), location_of(on))
            if moved is not None:
                arr = moved.array if isinstance(moved, TensorBase) else moved
                if not B.is_array(arr):
                    raise TypeError(f"{self.who}: map_location returned a "
                                    f"{type(moved).__name__} for {name!r}; expected a "
                                    "Tensor, an array or None")
                return arr
            return to_backend(path, name, host, tag, self.backend(on))
        return to_backend(path, name, host, tag, self.backend(on))


# -- encoding ------------------------------------------------------------------------------------
class Encoder:
    """Turns an object into JSON, collecting its tensors as host arrays under unique names.

    Tensors met twice (the same object) are stored once and load back as one object; module
    state dicts are stored key by key, duplicates included, so a saved model's file is a
    plain state dict to ``safetensors``/PyTorch.
    """

    def __init__(self):
        self.tensors = OrderedDict()   # file name -> (dtype tag, host array)
        self.names = {}                # id(Tensor or array) -> file name
        self.keep = []                 # holds what ``names`` refers to by id
        self.recorder = None           # a recipe.Recorder: how Modules are stored
        self.in_recipe = 0             # > 0 while encoding constructor arguments

    def unique(self, name):
        name = name or "_"
        while name in self.tensors or name == "__metadata__":
            name += "_"  # dotted paths can collide ("a.b"+"c" vs "a"+"b.c")
        return name

    def tensor(self, obj, name, shared=True):
        """The JSON reference of a Tensor or array, storing its data unless already stored
        (``shared=False``: always store, under this name)."""
        arr = obj.array if isinstance(obj, TensorBase) else obj
        stored = self.names.get(id(obj), self.names.get(id(arr))) if shared else None
        if stored is None:
            stored = self.unique(name)
            self.tensors[stored] = to_host(stored, arr)
            self.names.setdefault(id(obj), stored)
            self.names.setdefault(id(arr), stored)
            self.keep.append(obj)
        ref = {"$tensor": stored, "on": where_of(B.backend_of(arr))}
        if isinstance(obj, TensorBase):
            from ..nn.module import Parameter  # late: xpnn.nn imports the ops
            ref["kind"] = "parameter" if isinstance(obj, Parameter) else "tensor"
            if obj.requires_grad:
                ref["requires_grad"] = True
        else:
            ref["kind"] = "array"
        return ref

    def value(self, obj, name, where):
        """JSON for ``obj``; ``name`` is the file-name stem of tensors inside it, ``where``
        its place in the saved object (for errors)."""
        if obj is None or isinstance(obj, (bool, str)) and not isinstance(obj, B.DType):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"$float": repr(float(obj))}
        if isinstance(obj, TensorBase) or (B.is_array(obj) and not isinstance(obj, np.generic)):
            return self.tensor(obj, name)
        if isinstance(obj, SparseTensor):  # its parts, stored as tensors
            return {"$sparse": [self.tensor(obj._indices(), join(name, "indices")),
                                self.tensor(obj._values().detach(), join(name, "values"))],
                    "size": list(obj.shape), "coalesced": obj.is_coalesced(),
                    "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.generic):
            if obj.dtype.kind not in "biuf":
                raise Unstorable(where, obj)
            return {"$scalar": self.value(obj.item(), name, where), "dtype": obj.dtype.name}
        if isinstance(obj, B.DType) or (B._is_dtype(obj) and not isinstance(obj, str)):
            return {"$dtype": B.dtype_name(obj)}
        if _is_device(obj):
            return {"$device": device_text(obj)}
        if isinstance(obj, (list, tuple)):
            items = [self.value(v, join(name, i), f"{where}[{i}]") for i, v in enumerate(obj)]
            return items if isinstance(obj, list) else {"$tuple": items}
        if isinstance(obj, dict):
            return self._dict(obj, name, where)
        from ..nn.module import ArgModule, Module  # late: xpnn.nn imports the ops
        if isinstance(obj, ArgModule):  # a Module a recipe holds weakly
            if self.recorder is None:
                raise Unstorable(where, obj, "Modules only with a recipe.Recorder attached")
            live = obj()
            if live is None:
                return {"$module": self.recorder.gone(obj, name)}
            obj = live
        if isinstance(obj, Module):
            if self.recorder is None:
                raise Unstorable(where, obj, "Modules only with a recipe.Recorder attached")
            if self.in_recipe:  # an argument: the recipe only (its weights live elsewhere)
                return {"$module": self.recorder.node(obj, name)}
            return self.recorder.module(obj, name)
        if callable(obj):
            return {"$global": global_name(obj, where)}
        raise Unstorable(where, obj)

    def _dict(self, obj, name, where):
        plain = all(isinstance(k, str) and not k.startswith("$") for k in obj)
        if plain and not isinstance(obj, OrderedDict):
            return {k: self.value(v, join(name, k), f"{where}[{k!r}]") for k, v in obj.items()}
        tag = "$odict" if isinstance(obj, OrderedDict) else "$dict"
        return {tag: [[self.value(k, join(name, f"key{i}"), f"{where} key {k!r}"),
                       self.value(v, join(name, k), f"{where}[{k!r}]")]
                      for i, (k, v) in enumerate(obj.items())]}


def join(name, key):
    """The file name of ``key`` inside ``name`` ("optimizer" + 0 -> "optimizer.0")."""
    return f"{name}.{key}" if name else str(key)


# -- decoding ------------------------------------------------------------------------------------
class Decoder:
    """The inverse of :class:`Encoder` for one file: JSON back to objects, tensors placed by
    a :class:`Placer`. Malformed JSON raises ValueError/TypeError/KeyError (the caller names
    the file)."""

    def __init__(self, path, buf, entries, placer, rebuilder=None):
        self.path, self.buf, self.entries, self.placer = path, buf, entries, placer
        self.rebuilder = rebuilder
        self.arrays, self.objects = {}, {}

    def array(self, ref):
        """The placed array of a ``$tensor`` reference (each file tensor converted once)."""
        name = ref["$tensor"]
        arr = self.arrays.get(name)
        if arr is None:
            if not isinstance(name, str) or name not in self.entries:
                raise KeyError(f"tensor {name!r} is referenced but not in the file")
            tag, shape, begin, end = self.entries[name]
            on = ref.get("on", "numpy:cpu")
            if not isinstance(on, str):
                raise TypeError(f"'on' of tensor {name!r} must be a string")
            arr = self.arrays[name] = self.placer.place(
                self.path, name, host_array(self.buf, tag, shape, begin, end), tag, on)
        return arr

    def tensor(self, ref):
        key = (ref["$tensor"], ref.get("kind"), bool(ref.get("requires_grad")))
        obj = self.objects.get(key)
        if obj is None:
            arr = self.array(ref)
            kind = ref.get("kind", "tensor")
            if kind == "array":
                obj = arr
            elif kind == "parameter":
                from ..nn.module import Parameter
                obj = Parameter(arr, requires_grad=bool(ref.get("requires_grad")))
            elif kind == "tensor":
                obj = Tensor(arr, requires_grad=bool(ref.get("requires_grad")))
            else:
                raise ValueError(f"unknown tensor kind {kind!r}")
            self.objects[key] = obj
        return obj

    def value(self, j):
        if isinstance(j, list):
            return [self.value(v) for v in j]
        if not isinstance(j, dict):
            if j is None or isinstance(j, (bool, int, float, str)):
                return j
            raise TypeError(f"unexpected JSON value {j!r}")
        tag = next((t for t in TAGS if t in j), None)
        if tag is None:
            return {k: self.value(v) for k, v in j.items()}
        val = j[tag]
        if tag == "$tensor":
            return self.tensor(j)
        if tag == "$float":
            return float({"inf": "inf", "-inf": "-inf", "nan": "nan"}[val])
        if tag == "$tuple":
            return tuple(self.value(v) for v in _list(val))
        if tag in ("$dict", "$odict"):
            pairs = [(hashable(self.value(k)), self.value(v)) for k, v in _pairs(val)]
            return OrderedDict(pairs) if tag == "$odict" else dict(pairs)
        if tag == "$scalar":
            dtype, v = np.dtype(j["dtype"]), self.value(val)
            if dtype.kind not in "biuf" or not isinstance(v, (bool, int, float)):
                raise ValueError(f"scalar {v!r} of dtype {dtype} is not a number")
            return dtype.type(v)
        if tag == "$dtype":
            if val not in B.DTYPES:
                raise ValueError(f"unknown dtype {val!r}")
            return B.DType(val)
        if tag == "$device":
            return B.device(str(val))
        if tag == "$sparse":
            return _sparse(self, j, val)
        if self.rebuilder is None:
            raise ValueError(f"{tag} outside a module file")
        if tag == "$module":
            return self.rebuilder.module(j)
        return self.rebuilder.resolve(val)


def _sparse(dec, j, val):
    """A sparse COO tensor from its JSON: indices and values references, size, flags; the
    parts are checked as ``sparse_coo_tensor`` checks them (indices within the size)."""
    parts = _list(val)
    if len(parts) != 2:
        raise ValueError("$sparse needs [indices, values]")
    size = [int(n) for n in _list(j["size"])]
    i, v = (dec.tensor(dict(p, kind="tensor", requires_grad=False)) for p in parts)
    out = build(i, v, size, is_coalesced=bool(j.get("coalesced", False)))
    return out.requires_grad_() if j.get("requires_grad") else out


def _list(val):
    if not isinstance(val, list):
        raise TypeError(f"expected a list, got {type(val).__name__}")
    return val


def _pairs(val):
    if not all(isinstance(p, list) and len(p) == 2 for p in _list(val)):
        raise TypeError("expected a list of [key, value] pairs")
    return val


def hashable(k):
    """A decoded dict key: JSON lists (keys that were tuples) become tuples again."""
    return tuple(hashable(x) for x in k) if isinstance(k, (list, tuple)) else k


def marked(j, key, out, odd):
    """Every value of ``key`` in the dicts of a JSON tree, added to the set ``out``; a value
    that is not a string is added as ``odd(value)``."""
    if isinstance(j, list):
        for v in j:
            marked(v, key, out, odd)
    elif isinstance(j, dict):
        if key in j:
            name = j[key]
            out.add(name if isinstance(name, str) else odd(name))
        for v in j.values():
            marked(v, key, out, odd)
    return out


def refs(j, out):
    """Every tensor name a JSON tree refers to (to find stray or missing tensors); None
    stands for a reference that is not a name at all."""
    return marked(j, "$tensor", out, lambda name: None)


def check_refs(path, tree, entries, key="xpnn.object", others=None):
    """Every referenced tensor is in the file and every file tensor is referenced (but
    those whose names start with ``others``, which belong to something else: a
    checkpoint's model weights). ``key``: the metadata entry holding ``tree``."""
    named = refs(tree, set())
    if None in named:
        raise CheckpointError(path, "a $tensor reference is not a string", key=key)
    missing = sorted(n for n in named if n not in entries)
    stray = sorted(k for k in entries if k not in named
                   and not (others and k.startswith(others)))
    if missing or stray:
        raise CheckpointError(path, f"tensors referenced but absent {missing}, present but "
                              f"unreferenced {stray}", key=(missing or stray)[0])

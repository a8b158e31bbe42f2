"""``xpnn.export.save`` / ``load``: an ExportedProgram as a zip of ``graph.json`` (the ops,
each Function class by qualified name, params as JSON values) and ``weights.safetensors``
(the parameters, buffers and constants). Nothing is pickled; on load an op class is looked
up only among xpnn's own Function classes.

JSON encoding of a param value: None, bool, int, str and finite floats as themselves; a list
as a JSON list; ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``, ``{"slice": [start,
stop, step]}``, ``{"float": "nan"|"inf"|"-inf"}``, ``{"complex": [re, im]}``,
``{"ellipsis": true}``, ``{"dtype": name, "of": "xpnn"|"backend"}``, ``{"dyn": [value, k,
symbols, c]}`` (a size that follows the Dims), ``{"ref": kind, "key": key, "tensor":
bool}`` (an array: user input, op output, weight, constant or fill). Anything else is
refused at save time.

Host-side code (NumPy is used for the weights, as in xpnn/io).
"""
from __future__ import annotations

import io
import json
import math
import os
import sys
import zipfile

from .. import backend as B
from .._dtype_class import dtype as _AnyDtype
from ..autograd import Function
from ..dtypes import DType, dtype_name
from ..io import format as F
from ..onnx import trace as OT
from ..tensor import Tensor
from ._graph import Graph, Op
from ._trace import Ref
from .dims import Dim
from .program import (ExportedProgram, InputKind, InputSpec, OutputKind, OutputSpec,
                      TensorArgument, UserInput)

FORMAT, VERSION = "xpnn.export", 1


class _Refused(TypeError):
    pass


def _enc(v, where):
    if isinstance(v, Ref):
        key = v.key
        if v.kind == "fill":
            key = [_enc(tuple(key[0]), where), _enc(key[1], where), key[2]]
        elif v.kind == "node":
            key = list(key)
        return {"ref": v.kind, "key": key, "tensor": v.tensor}
    if isinstance(v, OT.Dyn):
        return {"dyn": [int(v), v.k, list(v.syms), v.c]}
    if isinstance(v, DType):
        return {"dtype": str(v), "of": "xpnn"}
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int) and type(v) is int:
        return v
    if isinstance(v, float) and type(v) is float:
        return v if math.isfinite(v) else {"float": repr(v)}
    if isinstance(v, complex):
        return {"complex": [_enc(v.real, where), _enc(v.imag, where)]}
    if v is Ellipsis:
        return {"ellipsis": True}
    if isinstance(v, slice):
        return {"slice": [_enc(v.start, where), _enc(v.stop, where), _enc(v.step, where)]}
    if isinstance(v, tuple) and not hasattr(v, "_fields"):
        return {"tuple": [_enc(x, where) for x in v]}
    if isinstance(v, list):
        return [_enc(x, where) for x in v]
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        return {"dict": [[k, _enc(x, where)] for k, x in v.items()]}
    if isinstance(v, _AnyDtype):
        return {"dtype": dtype_name(v), "of": "backend"}
    raise _Refused(f"xpnn.export.save: {where} holds a {type(v).__module__}."
                   f"{type(v).__qualname__} ({str(v)[:60]!r}), which cannot be saved as JSON "
                   "(ints, floats, bools, strings, None, tuples, lists, dicts, slices and "
                   "dtypes can)")


def _dec(v, be):
    if isinstance(v, list):
        return [_dec(x, be) for x in v]
    if not isinstance(v, dict):
        return v
    if "ref" in v:
        key = v["key"]
        if v["ref"] == "fill":
            key = (_dec(key[0], be), _dec(key[1], be), key[2])
        elif v["ref"] == "node":
            key = tuple(key)
        return Ref(v["ref"], key, v["tensor"])
    if "dyn" in v:
        value, k, syms, c = v["dyn"]
        return OT.Dyn(value, k, syms, c)
    if "dtype" in v:
        return DType(v["dtype"]) if v["of"] == "xpnn" else be.dtype(v["dtype"])
    if "float" in v:
        return float(v["float"])
    if "complex" in v:
        return complex(*v["complex"])
    if "ellipsis" in v:
        return Ellipsis
    if "slice" in v:
        return slice(*(_dec(x, be) for x in v["slice"]))
    if "tuple" in v:
        return tuple(_dec(x, be) for x in v["tuple"])
    if "dict" in v:
        return {k: _dec(x, be) for k, x in v["dict"]}
    raise ValueError(f"xpnn.export.load: unknown value {v!r} in graph.json")


def _dim(d):
    if isinstance(d, Dim):
        return {"dim": d.__name__, "min": d.min, "max": d.max}
    return int(d)


def save(ep, f, *, extra_files=None, opset_version=None, pickle_protocol=None):
    """Write ``ep`` to ``f`` (a path, written atomically, or a binary file object) as a zip
    of graph.json and weights.safetensors; raises TypeError (before writing anything) where
    an op's params hold a value JSON cannot carry."""
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"The 'ep' parameter must be an instance of 'ExportedProgram', got "
                        f"'{type(ep).__name__}' instead.")
    ops = []
    for op in ep._graph.ops:
        where = f"the params of op {op.name} ({op.cls.__qualname__})"
        try:
            params = _enc(op.params, where)
        except _Refused as exc:
            raise TypeError(str(exc)) from None
        ops.append({"op": f"{op.cls.__module__}:{op.cls.__qualname__}", "args": [
            _enc(r, where) for r in op.args], "params": params, "n_out": op.n_out,
            "name": op.name, "where": op.where,
            "metas": [None if m is None else [[_dim_or_int(d) for d in m[0]], m[1]]
                      for m in op.metas]})
    sig = ep.graph_signature
    doc = {"format": FORMAT, "version": VERSION, "training": ep._training, "ops": ops,
           "outputs": [_enc(r, "an output") for r in ep._graph.outputs],
           "out_spec": ep._graph.out_spec,
           "inputs": [{"name": u.name, "slot": list(u.slot), "dtype": u.dtype,
                       "shape": [_dim(d) for d in u.shape]} for u in ep._inputs],
           "input_specs": [[s.kind.name, s.arg.name, s.target, s.persistent]
                           for s in sig.input_specs],
           "output_specs": [s.arg.name for s in sig.output_specs],
           "persistent": sorted(ep._persistent),
           "state": list(ep._state), "consts": list(ep._graph.consts)}
    arrays = {f"state.{k}": F.to_host(k, t.array) for k, t in ep._state.items()}
    arrays.update({f"const.{k}": F.to_host(k, a) for k, a in ep._graph.consts.items()})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("graph.json", json.dumps(doc))
        z.writestr("weights.safetensors", b"".join(bytes(c) for c in F.encode(
            arrays, {F.VERSION_KEY: "1"})))
    data = buf.getvalue()
    if hasattr(f, "write"):
        f.write(data)
        return
    from ..io.atomic import atomic_write
    atomic_write(os.fspath(f), [data])  # all or nothing: no half-written file


def _dim_or_int(d):
    if isinstance(d, OT.Dyn):
        return {"dyn": [int(d), d.k, list(d.syms), d.c]}
    return int(d)


def _resolve(name):
    mod_name, _, qual = name.partition(":")
    if not (mod_name == "xpnn" or mod_name.startswith("xpnn.")):
        raise ValueError(f"xpnn.export.load: op {name!r} is not one of xpnn's Function "
                         "classes; refusing to load it")
    obj = sys.modules.get(mod_name)  # only modules already loaded: a file imports nothing
    if obj is None:
        raise ValueError(f"xpnn.export.load: op {name!r} names a module xpnn has not "
                         "loaded; refusing to import it")
    for part in qual.split("."):
        obj = getattr(obj, part, None)
    if not (isinstance(obj, type) and issubclass(obj, Function)) or obj._ctx_style:
        raise ValueError(f"xpnn.export.load: {name!r} is not one of xpnn's Function classes")
    return obj


def load(f, *, extra_files=None, expected_opset_version=None):
    """Read an ExportedProgram written by :func:`save` (a path or a binary file object);
    the weights go to the default backend."""
    name = os.fspath(f) if not hasattr(f, "read") else getattr(f, "name", "<file>")
    try:
        z = zipfile.ZipFile(f if hasattr(f, "read") else os.fspath(f))
        doc = json.loads(z.read("graph.json"))
        weights = z.read("weights.safetensors")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise RuntimeError(f"xpnn.export.load: {name} is not a program written by "
                           f"xpnn.export.save ({exc})") from None
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise RuntimeError(f"xpnn.export.load: {name} has format {doc.get('format')!r} "
                           f"version {doc.get('version')!r}; expected {FORMAT} {VERSION}")
    be = B.default_backend()
    _, entries = F.decode(weights, name)
    arrays = {k: F.to_backend(name, k, F.host_array(weights, tag, shape, b, e), tag, be)
              for k, (tag, shape, b, e) in entries.items()}
    ops = []
    for d in doc["ops"]:
        op = Op()
        op.cls, op.args = _resolve(d["op"]), [_dec(r, be) for r in d["args"]]
        op.params, op.n_out = _dec(d["params"], be), d["n_out"]
        op.name, op.where = d["name"], d["where"]
        op.metas = [None if m is None else (tuple(_dec(x, be) for x in m[0]), m[1])
                    for m in d["metas"]]
        ops.append(op)
    consts = {k: arrays[f"const.{k}"] for k in doc["consts"]}
    graph = Graph(ops, [_dec(r, be) for r in doc["outputs"]], doc["out_spec"], consts)
    inputs = [UserInput(u["name"], [tuple(s) if isinstance(s, list) else s
                                    for s in u["slot"]],
                        [Dim(d["dim"], min=d["min"], max=d["max"]) if isinstance(d, dict)
                         else d for d in u["shape"]], u["dtype"]) for u in doc["inputs"]]
    specs = [InputSpec(InputKind[k], TensorArgument(n), t, p)
             for k, n, t, p in doc["input_specs"]]
    outs = [OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(n), None)
            for n in doc["output_specs"]]
    params = {s.target for s in specs if s.kind is InputKind.PARAMETER}
    state = {k: Tensor(arrays[f"state.{k}"], requires_grad=k in params, _be=be)
             for k in doc["state"]}
    return ExportedProgram(graph, inputs, (specs, outs), state, doc["persistent"],
                           None, doc["training"])

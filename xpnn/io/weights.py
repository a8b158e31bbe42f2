"""Loading a safetensors file's tensors into a Module or a dict (``xpnn.load(model, path)``),
load_file and read_metadata."""
from __future__ import annotations

import json
import os
from collections import OrderedDict

from .. import backend as B
from ..autograd import TensorBase as Tensor
from .format import NAMES, OBJECT_KEY, CheckpointError, decode, host_array, to_backend


def _module_type():
    from ..nn.module import Module  # late: xpnn.nn imports the ops, which import autograd
    return Module


def named_arrays(obj, who):
    """{name: backend array} from a Module (its state_dict) or a dict of arrays/Tensors."""
    if isinstance(obj, _module_type()):
        return dict(obj.state_dict())
    if not isinstance(obj, dict):
        raise TypeError(f"{who}: expected a Module or a dict of arrays, got "
                        f"{type(obj).__name__}")
    out = {}
    for k, v in obj.items():
        if not isinstance(k, str) or not k or k == "__metadata__":
            raise TypeError(f"{who}: keys must be non-empty strings other than "
                            f"'__metadata__', got {k!r}")
        v = v.array if isinstance(v, Tensor) else v
        if not B.is_array(v):
            raise TypeError(f"{who}: key {k!r} is a {type(v).__name__}, not an array or "
                            "Tensor")
        out[k] = v
    return out


def read(path, require_digest=False):
    """Read and fully validate a file. Returns (bytes, metadata, entries) as ``decode`` does."""
    with open(os.fspath(path), "rb") as f:  # OSError already names the file
        buf = f.read()
    meta, entries = decode(buf, os.fspath(path), require_digest)
    return buf, meta, entries


def stage(path, buf, entries, targets, what, strict=True, backend=None, prefix=""):
    """Check file tensors against the arrays they will replace, then copy them over.

    Args:
        path, buf, entries: a file read by :func:`read`.
        targets: {key: current array}; shapes and dtypes must match the file's.
        what: how to name the target in errors ("model Sequential").
        strict: missing or unexpected keys are an error.
        backend: a Backend to put every array on; None: each target's own backend.
        prefix: file keys are ``prefix + key`` (checkpoints keep model tensors under
            "model."); file keys outside the prefix are ignored.
    Returns:
        {key: new backend array}. Nothing is assigned: the caller does that.
    """
    found = {k[len(prefix):]: v for k, v in entries.items() if k.startswith(prefix)}
    missing = [k for k in targets if k not in found]
    unexpected = [k for k in found if k not in targets]
    if strict and (missing or unexpected):
        raise CheckpointError(path, f"keys do not match {what}: missing {missing}, "
                              f"unexpected {unexpected}", key=prefix + (missing or
                                                                        unexpected)[0])
    for k, (tag, shape, _, _) in found.items():
        if k not in targets:
            continue
        cur = targets[k]
        if shape != tuple(cur.shape):
            raise CheckpointError(path, f"shape {shape} in the file but {tuple(cur.shape)} "
                                  f"in {what}", key=prefix + k)
        if NAMES[tag] != B.dtype_name(cur.dtype):
            raise CheckpointError(path, f"dtype {NAMES[tag]} in the file but "
                                  f"{B.dtype_name(cur.dtype)} in {what} (cast with "
                                  ".to(dtype=...) before loading)", key=prefix + k)
    staged = {}
    for k, (tag, shape, begin, end) in found.items():
        if k in targets:
            be = backend if backend is not None else B.backend_of(targets[k])
            staged[k] = to_backend(path, prefix + k, host_array(buf, tag, shape, begin, end),
                                   tag, be)
    return staged


def parse_json(path, meta, key):
    """The JSON in metadata entry ``key``; CheckpointError naming file and key if invalid."""
    try:
        return json.loads(meta[key])
    except (ValueError, RecursionError) as e:
        raise CheckpointError(path, f"{key} is not valid JSON ({e})", key=key) from None


def state_entries(path, meta, entries):
    """{state_dict key: entry} of a file: for a saved Module its state dict's keys (not the
    tensors its constructor arguments hold), else every tensor by its name."""
    if OBJECT_KEY not in meta:
        return entries
    tree = parse_json(path, meta, OBJECT_KEY)
    if isinstance(tree, dict) and "$module" in tree and isinstance(tree.get("state"), dict):
        tree = tree["state"]
    if isinstance(tree, dict) and all(isinstance(v, dict) and "$tensor" in v and
                                      v["$tensor"] in entries for v in tree.values()):
        return OrderedDict((k, entries[v["$tensor"]]) for k, v in tree.items())
    return entries


def load_into(target, path, backend=None, device=None, strict=True):
    """Load a safetensors file into a Module (or a dict), validating everything first
    (``xpnn.load(model, path)``, the older form of xpnn.load).

    Args:
        target: a Module, or a dict: empty to receive every tensor, else the keys to fill.
        path: a file written by ``xpnn.save``, ``safetensors`` or PyTorch. For a file
            holding a whole saved Module, its state dict is what loads.
        backend, device: move the target there and load onto it (any backend, whatever
            the file was saved from); None keeps each parameter where it is.
        strict: missing or unexpected keys are an error.
    Returns:
        the target. On any error (CheckpointError names the file and key) it is unchanged.
    """
    buf, meta, entries = read(path)
    entries = state_entries(os.fspath(path), meta, entries)
    be = None if backend is None else B.get_backend(backend, device)
    if isinstance(target, _module_type()):
        targets = dict(target.state_dict())
        staged = stage(path, buf, entries, targets, f"model {type(target).__name__}",
                       strict, be)
        if be is not None:
            target.to(be.name, be.device)
        target.load_state_dict(staged, strict=strict)
        return target
    if not isinstance(target, dict):
        raise TypeError(f"load: target must be a Module or a dict, got "
                        f"{type(target).__name__}")
    if not target:
        be = be or B.get_backend(None)
        target.update({k: to_backend(path, k, host_array(buf, tag, shape, b, e), tag, be)
                       for k, (tag, shape, b, e) in entries.items()})
        return target
    targets = named_arrays(target, "load")
    staged = stage(path, buf, entries, targets, "the target dict", strict, be)
    for k, arr in staged.items():
        if isinstance(target[k], Tensor):
            target[k].array, target[k]._be = arr, B.backend_of(arr)
            target[k]._bump()
        else:
            target[k] = arr
    return target


def load_file(path, backend=None, device=None):
    """Every tensor of a safetensors file as {name: array} on one backend (default: the
    default backend), in file order."""
    buf, _, entries = read(path)
    be = B.get_backend(backend, device)
    return {k: to_backend(path, k, host_array(buf, tag, shape, b, e), tag, be)
            for k, (tag, shape, b, e) in entries.items()}


def read_metadata(path):
    """The ``__metadata__`` {str: str} of a safetensors file (validated like a load)."""
    return read(path)[1]

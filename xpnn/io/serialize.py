"""xpnn.save / xpnn.load with PyTorch's signatures, writing safetensors files (no pickle).

    xpnn.save(model.state_dict(), "w.safetensors"); model.load_state_dict(xpnn.load(...))
    xpnn.save({"epoch": 3, "model": sd, "optimizer": opt.state_dict()}, f)
    xpnn.save(model, "m.safetensors"); model = xpnn.load("m.safetensors")
    xpnn.load(model, "w.safetensors")            # older form: loads into the model

File layout: the tensors, named by where they sit in the saved object ("0.weight",
"model.0.weight", "optimizer.state.0.exp_avg"; a model or state dict saved alone is a plain
state-dict file that ``safetensors``/PyTorch read), and in ``__metadata__``:

    "xpnn.version"   "1"
    "xpnn.object"    the saved object as JSON, tensors by reference (tree.py)
    "xpnn.modules"   the module tree, when the object holds Modules (recipe.py)
    "xpnn.sha256"    the digest of header and data (format.py)
    ...              the caller's ``metadata=`` entries (keys not starting with "xpnn.")
"""
from __future__ import annotations

import io
import json
import os
import warnings

from .. import backend as B
from ..tensor import Tensor
from .atomic import atomic_write
from .checkpoint import as_object as checkpoint_as_object
from .format import (MODULES_KEY, OBJECT_KEY, VERSION_KEY, CheckpointError, decode, encode,
                     host_array)
from .rebuild import Rebuilder
from .recipe import Recorder
from .safe import Unstorable
from .tree import Decoder, Encoder, Placer, check_refs
from .torch_zip import is_torch_zip, load_torch_zip
from .weights import load_into, parse_json

VERSION = "1"
PICKLE_PROTOCOL = 2  # torch.serialization.DEFAULT_PROTOCOL: accepted, and meaningless here


def _module_type():
    from ..nn.module import Module  # late: xpnn.nn imports the ops, which import autograd
    return Module


def _no_pickle(who, pickle_module, extra=""):
    if pickle_module is not None:
        raise TypeError(f"{who}: pickle_module={pickle_module!r} is not supported: xpnn "
                        "never pickles (files are safetensors with a JSON header)" + extra)


def save(obj, f, pickle_module=None, pickle_protocol=PICKLE_PROTOCOL,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False, *,
         metadata=None):
    """Write ``obj`` to ``f`` as a safetensors file (``torch.save``'s signature, no pickle).

    Args:
        obj: a Tensor or array; a state dict; a Module (its recipe and weights: see
            xpnn/io/recipe.py); or dicts, lists and tuples of these and of None, bools,
            ints, floats and strings (an optimizer's ``state_dict()``, a checkpoint dict).
        f: a path (written atomically: a crash leaves the old file) or a binary file object.
        pickle_module, pickle_protocol, _use_new_zipfile_serialization: PyTorch's; only
            their defaults are accepted. _disable_byteorder_record: accepted and unused
            (safetensors is always little-endian).
        metadata: {str: str} stored in the header (keys starting with "xpnn." are
            xpnn's own).
    Returns:
        the path written (str), or None for a file object.
    Raises:
        TypeError: something in ``obj`` cannot be stored (the message says where).
        FileNotFoundError: the destination folder does not exist.
    """
    _no_pickle("save", pickle_module, "; to store metadata pass metadata={...}"
               if isinstance(pickle_module, dict) else "")
    if pickle_protocol != PICKLE_PROTOCOL:
        raise NotImplementedError(f"save: pickle_protocol={pickle_protocol!r} is not "
                                  f"supported; files are safetensors (only the default "
                                  f"{PICKLE_PROTOCOL} is accepted)")
    if _use_new_zipfile_serialization is not True:
        raise NotImplementedError("save: _use_new_zipfile_serialization=False (PyTorch's "
                                  "legacy format) is not supported; files are safetensors")
    meta = _user_metadata(metadata)
    enc = Encoder()
    enc.recorder = Recorder(enc)
    try:
        root = enc.value(obj, "tensor" if isinstance(obj, Tensor) or B.is_array(obj) else "",
                         "the saved object")
    except Unstorable as e:
        raise TypeError(f"save: {e}") from None
    meta[VERSION_KEY] = VERSION
    meta[OBJECT_KEY] = json.dumps(root, separators=(",", ":"), allow_nan=False)
    if enc.recorder.nodes:
        meta[MODULES_KEY] = json.dumps(enc.recorder.nodes, separators=(",", ":"),
                                       allow_nan=False)
    chunks = encode(enc.tensors, meta)
    if isinstance(f, (str, bytes, os.PathLike)):
        return atomic_write(os.fsdecode(f), chunks)
    if not hasattr(f, "write") or isinstance(f, io.TextIOBase):
        raise TypeError(f"save: f must be a path or a file object open in binary mode "
                        f"('wb'), got {f!r}")
    try:
        for chunk in chunks:
            f.write(chunk)
    except TypeError as e:
        raise TypeError(f"save: cannot write bytes to {f!r} (open it in binary mode, "
                        f"'wb'): {e}") from None
    return None


def _user_metadata(metadata):
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TypeError(f"save: metadata must be a dict of str to str, got "
                        f"{type(metadata).__name__}")
    bad = [k for k in metadata if isinstance(k, str) and k.startswith("xpnn.")]
    if bad:
        raise ValueError(f"save: metadata keys starting with 'xpnn.' are reserved, got {bad}")
    return dict(metadata)


def load(f, *args, map_location=None, pickle_module=None, weights_only=None, mmap=None,
         backend=None, device=None, strict=True, **pickle_load_args):
    """Read what :func:`save` wrote (``torch.load``'s signature; nothing in the file is run).

    ``xpnn.load(f, map_location=None, weights_only=True)`` returns the saved object; a
    safetensors file from elsewhere (``safetensors.torch.save_file``) comes back as a
    {name: Tensor} state dict. ``xpnn.load(model_or_dict, path, backend=None, device=None,
    strict=True)``, the older form, loads into ``model_or_dict`` and returns it.

    Args:
        f: a path or a binary file object.
        map_location: where tensors go (see :class:`~xpnn.io.tree.Placer`): None (where
            they were saved from when available here, else NumPy), a device or backend
            name ("cpu", "cuda:0", "torch"), a device, a dict {saved: new location} or a
            callable ``(tensor, location) -> tensor``.
        weights_only: True or None (PyTorch's default): modules are rebuilt only from
            xpnn's classes and those allowed by ``xpnn.serialization.add_safe_globals``.
            False (PyTorch's "I trust this file"): also from the Module classes of modules
            this program has already imported (``torch.load(f, weights_only=False)`` of a
            model whose class the program defines). Either way nothing is imported, no
            function or class the file names is called except a Module class's
            constructor, and no pickle is read.
        backend, device: xpnn's spelling of map_location (a backend and device).
        mmap: accepted (PyTorch's memory-mapping switch); the file is read whole either
            way, with a warning when True.
    Raises:
        CheckpointError (a ValueError) naming the file and entry for a bad file;
        UnsafeGlobalError (a CheckpointError and pickle.UnpicklingError) for a class that
        is not allowed.
    """
    if isinstance(f, (_module_type(), dict)):
        return _load_into(f, args, pickle_load_args, backend, device, strict, map_location)
    if len(args) > 2:
        raise TypeError(f"load() takes at most 3 positional arguments ({1 + len(args)} given)")
    if args:
        map_location = args[0]
    if len(args) > 1:
        pickle_module = args[1]
    _no_pickle("load", pickle_module)
    if pickle_load_args:
        raise TypeError(f"load: unexpected arguments {sorted(pickle_load_args)} (PyTorch "
                        "passes these to the unpickler; xpnn has none)")
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be a bool or None, got {weights_only!r}")
    if mmap:  # the same values either way: read whole, said once per call site
        warnings.warn("load: mmap=True maps nothing in xpnn: the file is read and validated "
                      "whole before anything is built (the tensors are the same)",
                      UserWarning, stacklevel=2)
    if not strict:
        raise TypeError("load: strict= applies to loading into a model: "
                        "xpnn.load(model, path, strict=False)")
    if backend is not None or device is not None:
        if map_location is not None:
            raise TypeError("load: give map_location or backend=/device=, not both")
        map_location = B.get_backend(backend, device)
    placer = Placer(map_location)
    path, buf = _read(f)
    if is_torch_zip(buf):  # torch.save's own format (torch_zip.py): read without unpickling code
        return load_torch_zip(path, buf, placer)
    meta, entries = decode(buf, path)
    if OBJECT_KEY in meta:
        return _load_object(path, buf, meta, entries, placer, weights_only is False)
    if meta.get("format") == "xpnn.checkpoint":
        return checkpoint_as_object(path, buf, meta, entries, placer)
    # a plain safetensors file (safetensors, PyTorch, older xpnn): a state dict
    return {k: Tensor(placer.place(path, k, host_array(buf, tag, shape, b, e), tag, "numpy:cpu"))
            for k, (tag, shape, b, e) in entries.items()}


def _read(f):
    if isinstance(f, (str, bytes, os.PathLike)):
        path = os.fsdecode(f)
        with open(path, "rb") as fh:  # OSError already names the file
            return path, fh.read()
    if not hasattr(f, "read") or isinstance(f, io.TextIOBase):
        raise TypeError(f"load: f must be a path or a file object open in binary mode "
                        f"('rb'), got {f!r}")
    buf = f.read()
    if isinstance(buf, str):
        raise TypeError(f"load: {f!r} returned text; open it in binary mode ('rb')")
    return str(getattr(f, "name", "<file object>")), buf


def _load_object(path, buf, meta, entries, placer, trust_imported=False):
    if meta.get(VERSION_KEY) != VERSION:
        raise CheckpointError(path, f"written by xpnn with format version "
                              f"{meta.get(VERSION_KEY)!r}; this xpnn reads version {VERSION}",
                              key=VERSION_KEY)
    if "xpnn.sha256" not in meta:
        raise CheckpointError(path, "no xpnn.sha256 digest beside the xpnn.object entry: not "
                              "written by xpnn.save", key="__metadata__")
    tree = parse_json(path, meta, OBJECT_KEY)
    nodes = parse_json(path, meta, MODULES_KEY) if MODULES_KEY in meta else None
    check_refs(path, [tree, nodes], entries)
    dec = Decoder(path, buf, entries, placer)
    if nodes is not None or '"$global"' in meta[OBJECT_KEY]:
        Rebuilder(path, [] if nodes is None else nodes, dec, tree, trust_imported)
    try:
        return dec.value(tree)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as e:
        raise CheckpointError(path, f"the saved object is malformed ({type(e).__name__}: "
                              f"{e})", key=OBJECT_KEY) from None


def _load_into(target, args, extra, backend, device, strict, map_location):
    """The older form: ``load(model_or_dict, path, backend=None, device=None, strict=True)``."""
    if map_location is not None or extra:
        raise TypeError(f"load(model, path): unexpected arguments "
                        f"{sorted(extra) + (['map_location'] if map_location else [])}; "
                        "this form takes backend=, device= and strict=")
    if not 1 <= len(args) <= 4:
        raise TypeError("load(model, path, backend=None, device=None, strict=True): give the "
                        "path after the model")
    names = ("backend", "device", "strict")
    given = dict(zip(names, args[1:]))
    backend = given.get("backend", backend)
    device = given.get("device", device)
    strict = given.get("strict", strict)
    return load_into(target, args[0], backend, device, strict)

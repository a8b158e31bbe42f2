"""save_checkpoint / load_checkpoint: everything a run needs to resume bit for bit.

One safetensors file holds:
    model.<name>           the model's state_dict tensors
    optimizer.<...>, extra.<...>, rng.<...>
                           arrays found inside the optimizer state, the user's extras and
                           the generator states (torch's is a uint8 tensor)
    __metadata__           "format": "xpnn.checkpoint", "version", "xpnn.sha256" (the file
                           digest) and "xpnn.state": JSON with epoch, step, the optimizer's and
                           scheduler's state dicts, every RNG state and the extras, where each
                           array is a {"$tensor": name} reference to the tensors above.

Loading reads and checks the whole file, converts every array, and only then assigns; if
assigning fails part way (an optimizer that rejects the state), everything is rolled back.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

from .. import backend as B
from .. import backend_rng_state as S
from ..autograd import TensorBase as Tensor
from .atomic import atomic_write
from .format import CheckpointError, encode, host_array, to_backend, to_host
from .tree import check_refs, hashable
from .weights import _module_type, read, stage

FORMAT, VERSION = "xpnn.checkpoint", "1"
STATE_KEY = "xpnn.state"


# -- nested Python state <-> JSON + named arrays ------------------------------------------------
def _encode(obj, name, tensors):
    """JSON-able form of ``obj``; arrays go into ``tensors`` under a unique ``name``."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        # JSON has no inf/nan; a tagged string keeps them (a loss can be inf)
        return obj if math.isfinite(obj) else {"$float": repr(obj)}
    if isinstance(obj, Tensor):
        obj = obj.array
    if isinstance(obj, np.generic):
        return {"$scalar": _encode(np.asarray(obj), name, tensors)}
    if B.is_array(obj):
        while name in tensors:  # dotted paths can collide ("a.b"+"c" vs "a"+"b.c")
            name += "_"
        tensors[name] = to_host(name, obj)
        return {"$tensor": name}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, f"{name}.{i}", tensors) for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else {"$tuple": items}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: _encode(v, f"{name}.{k}", tensors) for k, v in obj.items()}
        # int keys (optimizer state by parameter index) would turn into strings in JSON
        return {"$items": [[_encode(k, f"{name}.key{i}", tensors),
                            _encode(v, f"{name}.{k}", tensors)]
                           for i, (k, v) in enumerate(obj.items())]}
    raise TypeError(f"save_checkpoint: cannot store {name} of type {type(obj).__name__}; "
                    "use None, bool, int, float, str, lists, tuples, dicts and arrays")


def _decode(obj, arrays):
    """Inverse of :func:`_encode`; ``arrays(name)`` returns the array stored under name."""
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (tag, val), = obj.items()
        if tag == "$tensor":
            return arrays(val)
        if tag == "$float":
            return float({"inf": "inf", "-inf": "-inf", "nan": "nan"}[val])
        if tag == "$scalar":
            return _decode(val, arrays)[()]
        if tag == "$tuple":
            return tuple(_decode(v, arrays) for v in val)
        if tag == "$items":
            return {hashable(_decode(k, arrays)): _decode(v, arrays) for k, v in val}
    return {k: _decode(v, arrays) for k, v in obj.items()}


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"save_checkpoint: {name} must be an int >= 0, got {value!r}")
    return value


def plain_module(model):
    """A DistributedDataParallel's wrapped module, any other model as it is: checkpoints
    hold the plain module's names, so they resume on any number of ranks or in one
    process."""
    from ..nn.parallel import DistributedDataParallel
    return model.module if isinstance(model, DistributedDataParallel) else model


# -- public ----------------------------------------------------------------------------------
def save_checkpoint(path, model, optimizer=None, scheduler=None, *, epoch=0, step=0,
                    extra=None):
    """Atomically write model, optimizer, scheduler, progress and every RNG state.

    Args:
        path: the checkpoint file (safetensors; the previous file survives any crash).
        model: the Module (a DistributedDataParallel's wrapped module is saved).
        optimizer: anything with ``state_dict()`` (xpnn.optim optimizers), or None.
        scheduler: an lr scheduler with ``state_dict()``, or None.
        epoch: epochs completed (int >= 0): resuming starts at this epoch.
        step: optimizer steps taken so far (int >= 0).
        extra: JSON-like user data (dicts, lists, numbers, strings, arrays), or None.
    Returns:
        the path written (str).
    """
    if not isinstance(model, _module_type()):
        raise TypeError(f"save_checkpoint: model must be a Module, got {type(model).__name__}")
    model = plain_module(model)
    tensors = {f"model.{k}": to_host(k, v) for k, v in model.state_dict().items()}
    state = {"epoch": _check_count("epoch", epoch), "step": _check_count("step", step),
             "optimizer": None if optimizer is None else
             _encode(optimizer.state_dict(), "optimizer", tensors),
             "scheduler": None if scheduler is None else
             _encode(scheduler.state_dict(), "scheduler", tensors),
             "rng": _encode(S.get_rng_state(), "rng", tensors),
             "extra": _encode(extra, "extra", tensors)}
    meta = {"format": FORMAT, "version": VERSION,
            STATE_KEY: json.dumps(state, separators=(",", ":"), allow_nan=False)}
    # a missing folder is made, as ModelCheckpoint makes it
    os.makedirs(os.path.dirname(os.path.abspath(os.fspath(path))), exist_ok=True)
    return atomic_write(path, encode(tensors, meta))


def _parse_state(path, meta, entries):
    if meta.get("format") != FORMAT:
        raise CheckpointError(path, f"not an xpnn checkpoint (metadata format is "
                              f"{meta.get('format')!r}, expected {FORMAT!r}); weights files "
                              "load with xpnn.load", key="__metadata__")
    if meta.get("version") != VERSION:
        raise CheckpointError(path, f"checkpoint version {meta.get('version')!r}; this xpnn "
                              f"reads version {VERSION}", key="__metadata__")
    try:
        state = json.loads(meta[STATE_KEY])
        if not isinstance(state, dict) or not {"epoch", "step", "optimizer", "scheduler",
                                                "rng", "extra"} <= set(state):
            raise ValueError("missing entries")
        for k in ("epoch", "step"):
            _check_count(k, state[k])
    except (KeyError, ValueError, RecursionError) as e:
        raise CheckpointError(path, f"the checkpoint state is malformed ({e})",
                              key=STATE_KEY) from None
    check_refs(path, state, entries, key=STATE_KEY, others="model.")
    return state


def load_checkpoint(path, model, optimizer=None, scheduler=None, *, backend=None,
                    device=None, strict=True, restore_rng=True):
    """Restore what :func:`save_checkpoint` wrote; the run then continues exactly.

    Args:
        path: a checkpoint file.
        model: the Module to fill (same architecture; any backend; a
            DistributedDataParallel fills its wrapped module).
        optimizer, scheduler: objects with ``load_state_dict``, or None to skip them.
        backend, device: move the model (and so the optimizer state) there first; None
            keeps the model where it is.
        strict: the model's keys must match the file's exactly.
        restore_rng: restore the host and every backend's generator state.
    Returns:
        dict with ``epoch``, ``step`` and ``extra`` as saved.
    Raises:
        CheckpointError naming the file and key; model, optimizer, scheduler and RNG are
        then exactly as before the call.
    """
    buf, meta, entries = read(path, require_digest=True)
    state = _parse_state(path, meta, entries)
    for part, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None and state[part] is None:
            raise CheckpointError(path, f"a {part} was given but the checkpoint holds no "
                                  f"{part} state", key=STATE_KEY)
    be = None if backend is None else B.get_backend(backend, device)
    model = plain_module(model)
    old = list(model.parameters())
    old_be = old[0]._be if old else None
    target_be = be or old_be or B.get_backend(None)
    staged = stage(path, buf, entries, dict(model.state_dict()),
                   f"model {type(model).__name__}", strict, be, prefix="model.")

    def on_device(name):
        tag, shape, b, e = entries[name]
        return to_backend(path, name, host_array(buf, tag, shape, b, e), tag, target_be)

    def on_host(name):
        tag, shape, b, e = entries[name]
        return host_array(buf, tag, shape, b, e).copy()  # writable (torch.from_numpy wants it)

    try:
        trees = {k: _decode(state[k], on_host if k == "rng" else on_device)
                 for k in ("optimizer", "scheduler", "rng", "extra")}
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as e:
        raise CheckpointError(path, f"the checkpoint state is malformed ({e!r})",
                              key=STATE_KEY) from None
    _apply(path, model, optimizer, scheduler, staged, trees, be, old_be, strict, restore_rng)
    return {"epoch": state["epoch"], "step": state["step"], "extra": trees["extra"]}


def _apply(path, model, optimizer, scheduler, staged, trees, be, old_be, strict, restore_rng):
    """Assign everything; on any failure put every part back and raise CheckpointError."""
    # copies: the model's state_dict shares its arrays, which loading overwrites in place
    before = {"model": {k: v.clone() for k, v in model.state_dict().items()},
              "rng": S.get_rng_state(),
              "optimizer": None if optimizer is None else optimizer.state_dict(),
              "scheduler": None if scheduler is None else scheduler.state_dict()}
    part = "model"
    try:
        if be is not None:
            model.to(be.name, be.device)
        model.load_state_dict(staged, strict=strict)
        if optimizer is not None:
            part = "optimizer"
            optimizer.load_state_dict(trees["optimizer"])
        if scheduler is not None:
            part = "scheduler"
            scheduler.load_state_dict(trees["scheduler"])
        if restore_rng:
            part = "rng"
            S.set_rng_state(trees["rng"])
    except Exception as e:
        if be is not None and old_be is not None:
            model.to(old_be.name, old_be.device)
        model.load_state_dict(before["model"], strict=False)
        if optimizer is not None:
            optimizer.load_state_dict(before["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(before["scheduler"])
        S.set_rng_state(before["rng"])
        raise CheckpointError(path, f"could not restore the {part} state, nothing was "
                              f"changed: {type(e).__name__}: {e}", key=STATE_KEY) from e


def resume_fit(path, model, optimizer, callbacks, train):
    """What ``xpnn.fit(resume_from=path)`` does before its first epoch.

    Loads the checkpoint into the model and optimizer, and into the lr scheduler held by a
    callback (``LearningRateScheduler`` or ``ModelCheckpoint(scheduler=...)``), with every
    RNG state. A DataLoader with its own seeded generator (``DataLoader(seed=...)``) is not
    in the checkpoint: fit tells the loader each epoch's number (``set_epoch``), and the
    loader replays the shuffles of the epochs it missed.

    Args:
        path: the checkpoint file.
        model, optimizer: as given to fit.
        callbacks: fit's callbacks.
        train: fit's training loader.
    Returns:
        (epoch to start at, global step so far).
    """
    scheduler = next((cb.scheduler for cb in callbacks
                      if getattr(cb, "scheduler", None) is not None), None)
    info = load_checkpoint(path, model, optimizer, scheduler)
    return info["epoch"], info["step"]


def as_object(path, buf, meta, entries, placer):
    """What ``xpnn.load(path)`` returns for a checkpoint: {"epoch", "step", "model" (a state
    dict of Tensors), "optimizer", "scheduler", "extra"}, tensors placed by ``placer``
    (an :class:`xpnn.io.tree.Placer`); the RNG states stay in the file."""
    from ..tensor import Tensor
    state = _parse_state(path, meta, entries)

    def placed(name):
        tag, shape, b, e = entries[name]
        return placer.place(path, name, host_array(buf, tag, shape, b, e), tag, "numpy:cpu")

    try:
        out = {k: state[k] for k in ("epoch", "step")}
        out["model"] = {k[len("model."):]: Tensor(placed(k)) for k in entries
                        if k.startswith("model.")}
        out.update({k: _decode(state[k], placed) for k in ("optimizer", "scheduler", "extra")})
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as e:
        raise CheckpointError(path, f"the checkpoint state is malformed ({e!r})",
                              key=STATE_KEY) from None
    return out

"""Where ``fit``, ``evaluate`` and ``predict`` get their batches: ``(X, y)`` arrays turned into a
DataLoader on the model's backend (split between the ranks of a process group), and
``_World``, the process group ``fit`` runs in.
"""
from __future__ import annotations

import numpy as np

from . import backend as B
from .tensor import Tensor
from .data.loader import DataLoader
from .distributed import group as dist


def _model_backend(model):
    for p in model.parameters():
        return p._be
    return B.get_backend(None)


def _in_model_dtype(a, model, be):
    """A NumPy float array as a Tensor in the model's float dtype when that is float64 (host
    float64 data is otherwise narrowed to float32, which a float64 model refuses); anything
    else as it is."""
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
        return a
    for p in model.parameters():
        if p._be.is_floating(p.dtype):
            if B.dtype_name(p.dtype) == "float64":
                return Tensor(be.asarray(a, dtype="float64"), _be=be)
            break
    return a


def _as_loader(data, model, batch_size, shuffle, name, world=None):
    """A DataLoader for ``(X, y)`` arrays, or the iterable as it is. With ``world`` (a
    :class:`_World` of several ranks) arrays are split between the ranks: by a
    DistributedSampler when ``shuffle`` (equal shares, so every rank runs the same steps),
    else every ``world.size``-th sample from ``world.rank`` (validation: none twice)."""
    if isinstance(data, tuple) and len(data) == 2 and hasattr(data[0], "shape"):
        be = _model_backend(model)
        X, y = (_in_model_dtype(a, model, be) for a in data)
        kw = dict(batch_size=batch_size, backend=be.name, device=be.device)
        if world is None or world.size == 1:
            return DataLoader(X, y, shuffle=shuffle, **kw)
        if shuffle:
            from .utils.data import DistributedSampler
            sampler = DistributedSampler(range(len(X)), world.size, world.rank, seed=world.seed)
            return DataLoader(X, y, sampler=sampler, **kw)
        return DataLoader(X, y, sampler=_EveryNth(len(X), world.rank, world.size), **kw)
    if isinstance(data, DataLoader):
        be = _model_backend(model)
        if data.be is not be and any(True for _ in model.parameters()):
            raise ValueError(f"{name}: the model's parameters are on {be.name}:{be.device} but "
                             f"the loader yields {data.be.name}:{data.be.device} batches; make "
                             f"the DataLoader with backend={be.name!r}")
    if not hasattr(data, "__iter__"):
        raise TypeError(f"{name}: expected a DataLoader, an iterable of (x, y) batches or an "
                        f"(X, y) tuple of arrays, got {type(data).__name__}")
    return data


class _EveryNth:
    """Samples ``rank, rank + size, ...`` of ``n``: a rank's share for validation, with no
    sample repeated (a DistributedSampler pads the shares to equal lengths)."""

    def __init__(self, n, rank, size):
        self.indices = range(rank, n, size)

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


class _World:
    """The process group ``fit`` runs in: ``rank``, ``size`` (1 outside a group) and a
    shuffle ``seed`` that rank 0 drew and every rank shares. ``_World(alone=True)`` is this
    process alone, whatever group it is in."""

    def __init__(self, alone=False):
        self.rank, self.size, self.seed = 0, 1, 0
        if not alone and dist.is_initialized() and dist.get_world_size() > 1:
            self.rank, self.size = dist.get_rank(), dist.get_world_size()
            seed = [int(B.host_rng().integers(2 ** 31))]
            dist.broadcast_object_list(seed)
            self.seed = seed[0]

    def __bool__(self):  # a group of several ranks
        return self.size > 1

    def check(self, model, train):
        """Refuse what would make the ranks train apart or hang."""
        from .nn.parallel import DistributedDataParallel
        if not isinstance(model, DistributedDataParallel):
            raise TypeError(f"fit: running in a process group of {self.size} ranks, but the "
                            f"model is a {type(model).__name__}, not a DistributedDataParallel:"
                            f" each rank would train its own copy. Wrap it: model = "
                            f"xpnn.nn.parallel.DistributedDataParallel(model)")
        lengths = [None] * self.size
        dist.all_gather_object(lengths, len(train) if hasattr(train, "__len__") else None)
        if len(set(lengths)) > 1:
            raise ValueError(f"fit: the ranks' training loaders have different lengths "
                             f"{lengths} (batches per rank); every rank must run the same "
                             f"steps (a DistributedSampler gives equal shares)")

    def sum(self, vector):
        """``vector`` (float64, host) summed over the ranks."""
        vector = np.ascontiguousarray(vector, dtype=np.float64)
        if self:
            dist.all_reduce(vector)
        return vector

    def agree(self, value):
        """Rank 0's ``value`` on every rank (so every rank's callbacks decide alike)."""
        if not self:
            return value
        box = [value]
        dist.broadcast_object_list(box)
        return box[0]


def _pairs(batches, what="fit: each training batch"):
    for batch in batches:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"{what} must be an (x, y) pair, got {type(batch).__name__} "
                            f"(a loader of inputs alone has no labels to score)")
        yield batch


def _finite(arr, world):
    """All of ``arr`` finite on every rank (a host read, and in a group an all-reduce: used
    only where a step must be skipped, which all ranks must do together)."""
    ok = np.all(np.isfinite(np.asarray(B.to_numpy(arr), dtype=np.float64)))
    return bool(world.sum([float(ok)])[0] == world.size)

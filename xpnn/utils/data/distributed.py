"""DistributedSampler: each of ``num_replicas`` processes loads its own share of a dataset.

PyTorch's semantics: every rank builds the same epoch order (a permutation seeded by
``seed + epoch``, the same on every rank; or ``0..n-1``), pads it by repeating its start
until it divides evenly (or, with ``drop_last``, cuts the tail), and takes every
``num_replicas``-th index from ``rank`` on. When ``num_replicas`` divides ``len(dataset)``,
each sample goes to exactly one rank per epoch. Call ``set_epoch(epoch)`` before each epoch
(``DataLoader.set_epoch`` passes it on), or every epoch repeats the first one's order.
"""
from __future__ import annotations

import importlib
import math
import numbers

import numpy as np  # host data only: indices

from ..._errors import ArgumentError
from .sampler import Sampler, _bool


def _process_group(num_replicas, rank):
    """``(num_replicas, rank)``, filling what is None from xpnn.distributed's process
    group."""
    if num_replicas is not None and rank is not None:
        return num_replicas, rank
    try:
        dist = importlib.import_module("xpnn.distributed")
    except ModuleNotFoundError as e:
        if e.name != "xpnn.distributed":
            raise
        dist = None
    ready = dist is not None and getattr(dist, "is_available", lambda: True)() and \
        getattr(dist, "is_initialized", lambda: False)()
    if not ready:
        # torch: ValueError; ArgumentError is RuntimeError too, as xpnn raised before
        raise ArgumentError("DistributedSampler: num_replicas and rank were not given and no "
                           "process group is initialized (xpnn.distributed."
                           "init_process_group); pass num_replicas= and rank= explicitly")
    return (dist.get_world_size() if num_replicas is None else num_replicas,
            dist.get_rank() if rank is None else rank)


def _int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"DistributedSampler: {name} must be an int, got {value!r}")
    return int(value)


class DistributedSampler(Sampler):
    """This rank's share of each epoch's indices.

    Args:
        dataset: a map-style dataset (its length is used).
        num_replicas: number of processes (default: the process group's world size).
        rank: this process's rank in ``[0, num_replicas)`` (default: the group's rank).
        shuffle: a new permutation each epoch, from ``seed + epoch``.
        seed: shared by every rank (it must be the same on all of them).
        drop_last: cut the tail so every rank gets ``floor(n / num_replicas)`` samples
            (False: pad by repeating samples to ``ceil(n / num_replicas)`` each).
    Attributes:
        num_samples: indices per epoch on this rank; total_size: over all ranks.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        num_replicas, rank = _process_group(num_replicas, rank)
        num_replicas, rank = _int("num_replicas", num_replicas), _int("rank", rank)
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got "
                             f"{num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank}, rank should be in the "
                             f"interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle = _bool("DistributedSampler", "shuffle", shuffle)
        self.drop_last = _bool("DistributedSampler", "drop_last", drop_last)
        self.seed, self.epoch = _int("seed", seed), 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        """The epoch the next iteration belongs to (it seeds the shuffle)."""
        self.epoch = _int("epoch", epoch)

    def _indices(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n, dtype=np.int64)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                order = np.concatenate([order, np.tile(order, -(-pad // n))[:pad]])
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64, copy=False)

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self):
        return self.num_samples

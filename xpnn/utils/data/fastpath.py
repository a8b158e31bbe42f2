"""The DataLoader's fast path: batches gathered straight from a TensorDataset's tensors.

The tensors are placed on the loader's backend once. Each epoch, the batch sampler's indices
are drawn on the host (a whole epoch at once for this package's samplers, else up to
``CHUNK`` indices at a time), checked there against the dataset's length, mapped through any
``Subset`` chain, and copied to the device in one transfer; each batch is then a slice of
that index array and one ``take`` per tensor. Nothing is read back from the device.
Unshuffled sequential batches are plain slices (no index array at all).
"""
from __future__ import annotations

import numpy as np  # host data only: indices, and arrays handed to DataLoader(X, y)

from ... import backend as B
from ...autograd import TensorBase
from ...tensor import Tensor
from .collate import EmptyBatchError
from .dataset import Subset, TensorDataset, _ArrayDataset, _as_sample_tensor
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

# samplers whose whole epoch comes as one NumPy array (``_indices()``), same draws as iter()
VECTOR_SAMPLERS = (SequentialSampler, RandomSampler, SubsetRandomSampler,
                   WeightedRandomSampler, DistributedSampler)
CHUNK = 1 << 16  # indices per host-to-device copy for samplers read one batch at a time


class IndexTypeError(TypeError, IndexError):
    """Indices that are not integers (torch: IndexError from indexing a tensor)."""


def is_array(x):
    """A Tensor, a NumPy array or an array of a backend: the ``DataLoader(X, y)`` form."""
    return isinstance(x, (TensorBase, np.ndarray)) or B.is_array(x)


def array_dataset(X, y, be, on_device):
    """The dataset and backend of ``DataLoader(X, y)``, checked once: float64 becomes
    float32, integer (and bool) ``y`` int64. ``be`` None: the arrays' own backend (the
    default backend for NumPy data)."""
    keep = isinstance(X, TensorBase)  # a float64 Tensor stays float64 (made on purpose)
    X = X.array if keep else X
    if be is None:
        be = B.default_backend() if isinstance(X, (np.ndarray, np.generic)) else \
            B.backend_of(X)
    where = be if on_device else B.get_backend("numpy")
    xs = _as_sample_tensor(X, where, "DataLoader: X", False, narrow=not keep)
    tensors = [xs]
    if y is not None:
        ys = _as_sample_tensor(y.array if isinstance(y, TensorBase) else y, where,
                               "DataLoader: y", True, narrow=not isinstance(y, TensorBase))
        if ys.shape[0] != xs.shape[0]:
            raise ValueError(f"DataLoader: X has {xs.shape[0]} samples (shape "
                             f"{tuple(xs.shape)}) but y has {ys.shape[0]} (shape "
                             f"{tuple(ys.shape)}); they must match")
        tensors.append(ys)
    if xs.shape[0] == 0:
        raise ValueError("DataLoader: the dataset is empty (X has 0 samples)")
    return _ArrayDataset(tensors), be


def tensor_source(dataset):
    """``(TensorDataset, index map or None)`` when batches of ``dataset`` can be gathered
    straight from a TensorDataset's tensors (through Subsets), else None."""
    index_map = None
    while isinstance(dataset, Subset):
        if type(dataset).__getitem__ is not Subset.__getitem__:
            return None
        idx = dataset.indices
        idx = np.asarray(B.to_numpy(idx.array) if isinstance(idx, TensorBase) else idx)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            return None
        idx = idx.astype(np.int64)
        index_map = idx if index_map is None else idx[index_map]
        dataset = dataset.dataset
    if not isinstance(dataset, TensorDataset) or not dataset.tensors or \
            type(dataset).__getitem__ not in (TensorDataset.__getitem__,
                                              _ArrayDataset.__getitem__):
        return None
    if index_map is not None and index_map.size:
        n = len(dataset)
        if index_map.min() < -n or index_map.max() >= n:
            raise IndexError(f"DataLoader: a Subset index is out of range for the "
                             f"TensorDataset of {n} samples under it")
        index_map = np.where(index_map < 0, index_map + n, index_map)
    return dataset, index_map


class FastPath:
    """A TensorDataset's arrays on the gathering backend, and the batches of an epoch.

    Args:
        dataset, index_map: from :func:`tensor_source`.
        be: the loader's Backend (where batches go).
        on_device: gather on ``be`` (the arrays copied there once), or where the dataset
            lives, copying each batch over.
    """

    def __init__(self, dataset, index_map, be, on_device):
        self.be = be
        self.gbe = be if on_device else dataset.tensors[0]._be
        self.arrays = [t.array if t._be is self.gbe else self.gbe.asarray(t.array)
                       for t in dataset.tensors]  # once per loader, across backends
        self.index_map = index_map
        # DataLoader(X, y) yields (xb, yb) or xb; a TensorDataset a list (default_collate)
        self.form = ("list" if type(dataset) is not _ArrayDataset else
                     "single" if len(self.arrays) == 1 else "tuple")

    def _emit(self, arrays):
        be = self.be
        if self.gbe is not be:
            arrays = [be.asarray(a) for a in arrays]
        ts = [Tensor(a, _be=be) for a in arrays]
        return ts if self.form == "list" else ts[0] if self.form == "single" else tuple(ts)

    def batches(self, dataset, batch_sampler):
        """Yield one epoch's batches of ``dataset`` in ``batch_sampler``'s order."""
        bs = batch_sampler
        if self.index_map is None and type(bs) is BatchSampler and \
                type(bs.sampler) is SequentialSampler and bs.sampler.data_source is dataset:
            n, b = len(dataset), bs.batch_size
            stop = n - n % b if bs.drop_last else n
            for i in range(0, stop, b):
                yield self._emit([a[i:min(i + b, stop), ...] for a in self.arrays])
            return
        xp = self.gbe.xp
        for chunk, sizes in self._index_chunks(bs, len(dataset)):
            idx = self.gbe.asarray(chunk)  # one host-to-device copy for many batches
            at = 0
            for s in sizes:
                part = idx[at:at + s]
                at += s
                yield self._emit([xp.take(a, part, axis=0) for a in self.arrays])

    def _index_chunks(self, bs, m):
        """The epoch's indices as host int64 arrays, each with its batches' sizes."""
        if type(bs) is BatchSampler and type(bs.sampler) in VECTOR_SAMPLERS:
            idx = bs.sampler._indices()
            b, k = bs.batch_size, len(idx)
            stop = k - k % b if bs.drop_last else k
            sizes = [b] * (stop // b) + ([stop % b] if stop % b else [])
            yield self._checked(idx[:stop], m), sizes
            return
        parts, sizes, count = [], [], 0
        for batch in bs:
            if isinstance(batch, (str, bytes)) or not hasattr(batch, "__iter__"):
                raise TypeError(f"DataLoader: the batch_sampler must give a list of indices "
                                f"per batch, got {type(batch).__name__} {batch!r}")
            arr = np.asarray(batch if isinstance(batch, np.ndarray) else list(batch))
            if arr.size == 0:
                raise EmptyBatchError("DataLoader: the batch_sampler gave an empty batch "
                                      "(default_collate needs at least one sample)")
            arr = arr.reshape(-1)
            parts.append(arr)
            sizes.append(arr.size)
            count += arr.size
            if count >= CHUNK:
                yield self._checked(np.concatenate(parts), m), sizes
                parts, sizes, count = [], [], 0
        if sizes:
            yield self._checked(np.concatenate(parts), m), sizes

    def _checked(self, idx, m):
        """Host indices checked against the dataset's length ``m``, negatives wrapped, mapped
        through the Subset chain."""
        if idx.size == 0:
            return idx.astype(np.int64)
        if idx.dtype.kind not in "iu":
            raise IndexTypeError(f"DataLoader: the sampler must give integer indices for a "
                                 f"TensorDataset, got dtype {idx.dtype}")
        lo, hi = int(idx.min()), int(idx.max())
        if lo < -m or hi >= m:
            raise IndexError(f"DataLoader: the sampler gave index {lo if lo < -m else hi}, "
                             f"out of range for a dataset of {m} samples")
        idx = idx.astype(np.int64, copy=False)
        if lo < 0:
            idx = np.where(idx < 0, idx + m, idx)
        return idx if self.index_map is None else self.index_map[idx]

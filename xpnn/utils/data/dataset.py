"""Datasets with PyTorch's semantics: ``Dataset``, ``IterableDataset``, ``TensorDataset``,
``ConcatDataset``, ``ChainDataset``, ``StackDataset``, ``Subset`` and ``random_split``.

A map-style dataset is anything with ``__getitem__`` and ``__len__``; an iterable-style one
has ``__iter__``. ``TensorDataset`` is the one the DataLoader recognises for its fast path
(the whole set on the device, one gather per batch), also under ``Subset`` and
``random_split``.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings

import numpy as np  # host data only: indices and the arrays handed to TensorDataset

from ... import backend as B
from ...autograd import TensorBase
from ...tensor import Tensor
from .sampler import host_generator


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(index)`` and usually
    ``__len__``. ``a + b`` concatenates two datasets (a :class:`ConcatDataset`)."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """An iterable-style dataset: subclasses define ``__iter__``. With ``num_workers > 0``
    every worker iterates its own copy; shard with :func:`get_worker_info` to avoid
    duplicates, as in PyTorch. ``a + b`` chains two of them (a :class:`ChainDataset`).
    As in PyTorch (an abstract ``__iter__``), a class without ``__iter__`` cannot be
    instantiated."""

    def __new__(cls, *args, **kwargs):
        if cls.__iter__ is IterableDataset.__iter__:
            raise TypeError(f"Can't instantiate {cls.__name__}: an IterableDataset must "
                            f"define __iter__")
        return super().__new__(cls)

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


def _as_sample_tensor(a, be, where, labels, narrow=True):
    """``a`` as a Tensor with a sample axis. Tensors stay as they are; other arrays become
    Tensors (NumPy and lists on ``be``, backend arrays where they live) with float64 narrowed
    to float32 (no silent float64; not with ``narrow=False``: the array of a float64 Tensor
    the user made) and integer labels made int64: every integer array when ``labels`` is
    True, 1-D ones (one integer per sample) when it is None."""
    if isinstance(a, TensorBase):
        t = a if isinstance(a, Tensor) else Tensor(a.array, _be=a._be)
        if t.ndim == 0:
            raise SampleAxisError(f"{where}: a tensor must have a sample axis, got a 0-d "
                                  f"tensor")
        return t
    if B.is_array(a) and not isinstance(a, (np.ndarray, np.generic)):
        src = B.backend_of(a)
        name = B.dtype_name(a.dtype)
        arr = a
    else:
        arr = np.asarray(a)
        name = arr.dtype.name
    if len(arr.shape) == 0:
        raise SampleAxisError(f"{where}: an array must have a sample axis, got a 0-d "
                              f"array")
    kind = "b" if name == "bool" else "f" if name in B.FLOAT_DTYPES else \
        "i" if name in B.DTYPES else "?"
    if kind == "?":
        raise TypeError(f"{where}: arrays must be numeric, got dtype {name}")
    target = name
    if name == "float64" and narrow:
        target = "float32"
    elif (labels and kind in "ib") or (labels is None and kind == "i" and len(arr.shape) == 1):
        target = "int64"
    if isinstance(arr, np.ndarray):  # host data: narrowed here, then one copy over
        return Tensor(be.asarray(arr.astype(target, copy=False)), _be=be)
    if target != name:
        arr = src.xp.astype(arr, src.dtype(target))
    return Tensor(arr, _be=src)


class DatasetSizeError(ValueError, AssertionError):
    """Datasets or tensors of mismatched (or no) sizes: a ValueError, and an AssertionError
    as PyTorch's ``assert`` raises for TensorDataset and ConcatDataset."""


class SampleAxisError(ValueError, IndexError):
    """No sample axis: a 0-d tensor, or no tensor at all, in a TensorDataset (torch:
    IndexError)."""


class DatasetKindError(TypeError, AssertionError):
    """A map-style dataset given to ChainDataset, an iterable one to ConcatDataset (torch:
    AssertionError)."""


class SplitLengthTypeError(TypeError, ValueError):
    """random_split lengths that are neither ints nor fractions (torch: TypeError)."""


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dim, as
    ``torch.utils.data.TensorDataset``: ``dataset[i] == tuple(t[i] for t in tensors)``.

    Args:
        *tensors: Tensors, backend arrays or NumPy arrays of shape (n, ...), same n. Tensors
            are kept as they are; a backend array is wrapped where it lives; NumPy data goes
            to the default backend (like ``xpnn.tensor``). Arrays that are not Tensors get
            float64 narrowed to float32 and 1-D integer arrays (class labels) made int64.
    Attributes:
        tensors: the tuple of Tensors.
    """

    def __init__(self, *tensors):
        be = B.default_backend()
        self.tensors = tuple(_as_sample_tensor(t, be, "TensorDataset", None) for t in tensors)
        sizes = [t.shape[0] for t in self.tensors]
        if len(set(sizes)) > 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
            raise DatasetSizeError(f"TensorDataset: size mismatch between tensors: first dims "
                             f"{sizes} (shapes {shapes}); they must be equal")

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        if not self.tensors:  # torch: IndexError from tensors[0]
            raise SampleAxisError("TensorDataset: a dataset of no tensors has no length")
        return self.tensors[0].shape[0]


class _ArrayDataset(TensorDataset):
    """The dataset of ``DataLoader(X, y)``: TensorDataset's rows, but a sample is ``x`` alone
    when there is no ``y`` (as a tensor used as a dataset in PyTorch)."""

    def __init__(self, tensors):  # noqa: super().__init__ is skipped: tensors are ready
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        row = tuple(t[index] for t in self.tensors)
        return row[0] if len(row) == 1 else row


class ConcatDataset(Dataset):
    """Map-style datasets one after the other.

    Args:
        datasets: an iterable of map-style datasets (not IterableDataset).
    Attributes:
        cumulative_sizes: end offset of each dataset.
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise DatasetSizeError("ConcatDataset: datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise DatasetKindError(f"ConcatDataset does not support IterableDataset "
                                       f"(dataset {i} is {type(d).__name__}); use "
                                       f"ChainDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index {idx} should not "
                                 f"exceed dataset length {n}")
            idx += n
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {idx} is out of range for {n} samples")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other (chained lazily)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise DatasetKindError(f"ChainDataset only supports IterableDataset "
                                       f"(dataset {i} is {type(d).__name__})")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class StackDataset(Dataset):
    """Datasets of equal length side by side: sample ``i`` is the tuple (``*datasets``) or
    the dict (``**datasets``) of their ``i``-th samples, as ``torch.utils.data.StackDataset``.

    Args:
        *args: map-style datasets, giving tuple samples; or
        **kwargs: named map-style datasets, giving dict samples (not both).
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: give the datasets either positionally (tuple "
                             "samples) or by name (dict samples), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed")
        self.datasets = args if args else kwargs
        sizes = [len(d) for d in (args or kwargs.values())]
        if len(set(sizes)) > 1:
            raise ValueError(f"StackDataset: size mismatch between datasets: {sizes}")
        self._length = sizes[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices):
        """The samples at ``indices`` (a list), as a list, each dataset read through its own
        ``__getitems__`` where it has one (the DataLoader's batched fetch)."""
        def column(d):
            got = d.__getitems__(indices) if hasattr(d, "__getitems__") else \
                [d[i] for i in indices]
            if len(got) != len(indices):
                raise ValueError(f"StackDataset: a nested __getitems__ returned {len(got)} "
                                 f"samples for {len(indices)} indices")
            return got
        if isinstance(self.datasets, dict):
            cols = {k: column(d) for k, d in self.datasets.items()}
            return [{k: c[j] for k, c in cols.items()} for j in range(len(indices))]
        cols = [column(d) for d in self.datasets]
        return [tuple(c[j] for c in cols) for j in range(len(indices))]

    def __len__(self):
        return self._length


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: a map-style dataset.
        indices: a sequence of ints (host data).
    """

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        """The samples at ``indices`` (a list), as a list: the dataset's own
        ``__getitems__`` where it has one (the DataLoader's batched fetch)."""
        picked = [self.indices[i] for i in indices]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(picked)
        return [self.dataset[i] for i in picked]

    def __len__(self):
        return len(self.indices)


def _split_lengths(n, lengths):
    """Integer lengths from ``lengths`` (ints, or fractions summing to 1) for ``n`` samples,
    handing the remainder of the floors out round-robin (PyTorch's rule)."""
    lengths = [k.item() if isinstance(k, TensorBase) else k for k in lengths]
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:  # fractions (as PyTorch reads it)
        out = []
        for i, f in enumerate(lengths):
            if not 0 <= f <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and "
                                 f"1, got {f!r}")
            out.append(int(math.floor(n * f)))
        for i in range(n - sum(out)):
            out[i % len(out)] += 1
        for i, k in enumerate(out):
            if k == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0. This might "
                              "result in an empty dataset.", stacklevel=3)
        return out
    for i, k in enumerate(lengths):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise SplitLengthTypeError(f"random_split: lengths must be ints summing to "
                                       f"len(dataset) or fractions summing to 1, got "
                                       f"{lengths!r} (entry {i} is {k!r})")
        if k < 0:
            raise ValueError(f"random_split: lengths must be non-negative ints or fractions "
                             f"summing to 1, got {lengths!r} (entry {i} is {k!r})")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal "
                         f"the length of the input dataset ({n})")
    return [int(k) for k in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    Args:
        dataset: a map-style dataset.
        lengths: ints summing to ``len(dataset)``, or fractions summing to 1 (each split gets
            ``floor(n * f)``, then the leftover samples go one each to the first splits).
        generator: an ``xpnn.Generator`` (or a ``numpy.random.Generator``); None draws from
            xpnn's host generator, which ``xpnn.manual_seed`` seeds.
    Returns:
        list of Subset, one per length.
    """
    sizes = _split_lengths(len(dataset), lengths)
    perm = host_generator(generator, "random_split").permutation(sum(sizes)).tolist()
    return [Subset(dataset, perm[end - k:end])
            for end, k in zip(itertools.accumulate(sizes), sizes)]

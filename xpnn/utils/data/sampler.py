"""Samplers with PyTorch's semantics: which dataset indices an epoch visits, in what order.

Indices are host data (Python ints), drawn from a host NumPy Generator: the sampler's own
(``generator=``: an ``xpnn.Generator`` or a ``numpy.random.Generator``), or xpnn's host
generator, which ``xpnn.manual_seed`` seeds (``generator=None``). Each sampler of this module
also draws a whole epoch at once as a NumPy int64 array (``_indices()``); the DataLoader's
fast path uses that, and ``__iter__`` yields the same numbers one at a time.
"""
from __future__ import annotations

import numbers

import numpy as np  # host data only: indices and weights

from ... import backend as B
from ..._errors import ArgumentError
from ...creation import Generator, as_tensor


def host_generator(generator, where):
    """The NumPy Generator that ``generator`` (None, an ``xpnn.Generator`` or a
    ``numpy.random.Generator``) draws host indices from."""
    if generator is None:
        return B.host_rng()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, Generator):
        return generator.for_backend(B.get_backend("numpy"))
    raise TypeError(f"{where}: generator must be an xpnn.Generator, a numpy.random.Generator "
                    f"or None, got {type(generator).__name__}")


def generator_state(generator):
    """Host data that :func:`set_generator_state` restores (None for ``generator=None``)."""
    if isinstance(generator, np.random.Generator):
        return generator.bit_generator.state
    if isinstance(generator, Generator):
        return generator.get_state()
    return None


def set_generator_state(generator, state):
    if isinstance(generator, np.random.Generator):
        generator.bit_generator.state = state
    elif isinstance(generator, Generator):
        generator.set_state(state)


def _positive_int(where, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{where}: {name} should be a positive integer value, but got "
                         f"{name}={value!r}")
    return int(value)


class _NotBoolError(TypeError, ValueError):
    """RandomSampler's non-bool ``replacement``: torch raises TypeError there (ValueError in
    the other samplers), xpnn raised ValueError before."""


def _bool(where, name, value, error=ValueError):
    if not isinstance(value, bool):
        raise error(f"{where}: {name} should be a boolean value, but got "
                    f"{name}={value!r}")
    return value


class Sampler:
    """Base class: subclasses define ``__iter__`` (dataset indices) and usually
    ``__len__``."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} should implement __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _indices(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in random order: a fresh permutation each epoch, or draws with replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices independently (True) or go through
            permutations (False: every index once per ``len(data_source)`` samples).
        num_samples: samples per epoch (default ``len(data_source)``).
        generator: an ``xpnn.Generator`` or ``numpy.random.Generator`` that the draws advance;
            None draws from xpnn's host generator (reproducible under ``xpnn.manual_seed``).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _bool("RandomSampler", "replacement", replacement,
                                 _NotBoolError)
        self._num_samples = num_samples
        self.generator = generator
        host_generator(generator, "RandomSampler")  # type check now
        _positive_int("RandomSampler", "num_samples", self.num_samples)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _indices(self):
        n, k = len(self.data_source), self.num_samples
        if n == 0:
            raise ValueError("RandomSampler: the data source is empty")
        rng = host_generator(self.generator, "RandomSampler")
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=np.int64)
        parts = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            parts.append(rng.permutation(n)[:k % n])
        return np.concatenate(parts).astype(np.int64, copy=False)

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a fresh random order each epoch.

    Args:
        indices: a sequence of dataset indices.
        generator: as for :class:`RandomSampler`.
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator
        host_generator(generator, "SubsetRandomSampler")

    def _indices(self):
        idx = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        return idx[host_generator(self.generator, "SubsetRandomSampler").permutation(len(idx))]

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probabilities
    proportional to ``weights`` (``torch.multinomial``'s meaning).

    Args:
        weights: 1-D sequence of non-negative weights (need not sum to one).
        num_samples: samples per epoch.
        replacement: draw with replacement (an index can repeat) or without.
        generator: as for :class:`RandomSampler`.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        self.num_samples = _positive_int("WeightedRandomSampler", "num_samples", num_samples)
        self.replacement = _bool("WeightedRandomSampler", "replacement", replacement)
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but "
                             f"given weights have shape {tuple(w.shape)}")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ArgumentError("WeightedRandomSampler: weights must be finite, non-negative "
                                "and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ArgumentError(f"WeightedRandomSampler: cannot draw num_samples="
                                f"{num_samples} without replacement from "
                                f"{np.count_nonzero(w)} non-zero weights")
        # a float64 CPU Tensor, as PyTorch's (draws read it on the host, per epoch)
        self.weights = as_tensor(w, backend="numpy")
        self.generator = generator
        host_generator(generator, "WeightedRandomSampler")

    def _indices(self):
        rng = host_generator(self.generator, "WeightedRandomSampler")
        w = np.asarray(self.weights.numpy(), dtype=np.float64)
        return rng.choice(len(w), size=self.num_samples, replace=self.replacement,
                          p=w / w.sum()).astype(np.int64, copy=False)

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: a Sampler or any iterable of indices.
        batch_size: indices per batch (>= 1).
        drop_last: drop the last batch if it has fewer than ``batch_size`` indices.
    Example:
        ``list(BatchSampler(SequentialSampler(range(5)), 2, False)) == [[0, 1], [2, 3], [4]]``
    """

    def __init__(self, sampler, batch_size, drop_last):
        self.sampler = sampler
        self.batch_size = _positive_int("BatchSampler", "batch_size", batch_size)
        self.drop_last = _bool("BatchSampler", "drop_last", drop_last)

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: the dataset decides what comes next."""

    def __iter__(self):
        while True:
            yield None


def loader_samplers(dataset, iterable, batch_size, shuffle, sampler, batch_sampler, drop_last,
                    generator):
    """PyTorch's rules for a DataLoader's ``batch_size`` / ``shuffle`` / ``sampler`` /
    ``batch_sampler`` / ``drop_last``: checked, defaults filled in.

    Returns:
        (batch_size or None, shuffle, sampler, batch_sampler or None, drop_last).
    """
    if iterable:
        for name, value in (("shuffle", shuffle), ("sampler", sampler),
                            ("batch_sampler", batch_sampler)):
            if value is not None and value is not False:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"{name} option, but got {name}={value!r}")
    shuffle = bool(shuffle)
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                             "batch_size, shuffle, sampler, and drop_last")
        batch_size, drop_last = None, False
    elif batch_size is None and drop_last:
        raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                         "mutually exclusive with drop_last")
    if sampler is None:
        sampler = _InfiniteConstantSampler() if iterable else \
            RandomSampler(dataset, generator=generator) if shuffle else \
            SequentialSampler(dataset)
    if batch_size is not None and batch_sampler is None:
        batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))
    return (None if batch_size is None else int(batch_size)), shuffle, sampler, \
        batch_sampler, bool(drop_last)

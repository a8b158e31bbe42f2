"""DataLoader: batches from a dataset, with PyTorch's arguments and semantics.

Three ways a batch is made, decided once per loader:

* the fast path: a ``TensorDataset`` (also under ``Subset`` / ``random_split``, and the
  ``DataLoader(X, y)`` form) with the default collate. The tensors sit on the loader's
  backend once; each epoch's indices come from the sampler on the host, cross to the device
  in one copy, and each batch is one ``take`` per tensor. No device-to-host transfer while
  iterating; index checks run on the host indices.
* in this process (``num_workers=0``): ``collate_fn([dataset[i] for i in indices])``.
* in worker processes (``num_workers > 0``): the same, in ``num_workers`` processes that
  send host data back; this process puts it on the backend, in sampler order.

Batches are Tensors on the loader's backend: ``backend=``/``device=`` if given, else the
TensorDataset's (or the arrays') backend, else the default backend. Host data (NumPy,
Python numbers, NumPy-backend Tensors) is placed there; Tensors a dataset already put on a
device backend stay where they are unless ``backend=``/``device=`` names another.
"""
from __future__ import annotations

import inspect
import itertools
import multiprocessing
import numbers
import weakref

import numpy as np  # host data only: indices, and arrays handed to DataLoader(X, y)

from ... import backend as B
from ...tensor import Tensor
from ._worker import WorkerAssertionError, WorkerPool, _Host, check_worker_options
from .collate import collate, convert, default_collate, default_convert, tree_map
from .dataset import IterableDataset
from .fastpath import FastPath, array_dataset, is_array, tensor_source
from .resume import ResumeMixin
from .sampler import BatchSampler, host_generator, loader_samplers

_OLDER_POSITIONAL = ("batch_size", "shuffle", "drop_last", "backend", "device", "seed",
                     "on_device")
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
           "persistent_workers")


class _One(int):
    """``batch_size``'s default, 1, told apart from an explicit 1 (``DataLoader(X, y)``
    keeps its older default of 32)."""

    def __repr__(self):
        return "1"


_ONE = _One(1)


class _LoaderIter:
    """One pass over a DataLoader (``iter(loader)``)."""

    def __init__(self, loader, gen):
        self._loader, self._gen = loader, gen

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def __len__(self):
        return len(self._loader)

    def close(self):
        self._gen.close()


class DataLoader(ResumeMixin):
    """Batches of a dataset, as ``torch.utils.data.DataLoader`` (same arguments).

    Args:
        dataset: a map-style dataset (``__getitem__``/``__len__``), an
            :class:`IterableDataset`, or an array / Tensor ``X`` (the older
            ``DataLoader(X, y)`` form, see below).
        batch_size: samples per batch (default 1); None loads single samples
            (``collate_fn`` defaults to ``default_convert`` then).
        shuffle: a new random order every epoch (a :class:`RandomSampler`).
        sampler: the indices of an epoch (a Sampler or any iterable of indices).
        batch_sampler: the indices of each batch (iterable of lists); excludes
            ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``.
        num_workers: worker processes that load batches (0: in this process).
        collate_fn: list of samples -> batch (default: :func:`default_collate`).
        pin_memory, pin_memory_device: accepted for PyTorch compatibility; batches are
            placed on the backend directly.
        drop_last: drop the last batch if it is incomplete.
        timeout: seconds to wait for a worker's batch (0: forever).
        worker_init_fn: called as ``fn(worker_id)`` in each worker, after seeding.
        multiprocessing_context: "fork", "spawn", "forkserver" or a context (default:
            the platform's default start method).
        generator: ``xpnn.Generator`` (or ``numpy.random.Generator``) for the default
            RandomSampler and the workers' base seed; None: xpnn's host generator,
            seeded by ``xpnn.manual_seed``.
        prefetch_factor: batches loaded ahead per worker (default 2 with workers).
        persistent_workers: keep the workers alive between epochs.
        in_order: yield batches in sampler order (False: as workers finish them).
        backend, device: where batches go (xpnn's addition; see the module docstring).
        y, seed, on_device: the older ``DataLoader(X, y=None, batch_size=32,
            shuffle=False, drop_last=False, backend=None, device=None, seed=None,
            on_device=True)`` form: ``X`` and ``y`` arrays (NumPy, any backend, Tensors);
            float64 becomes float32 and integer ``y`` int64; batches are ``(xb, yb)`` tuples
            (``xb`` alone without ``y``); ``seed`` gives the loader its own shuffling
            generator; ``on_device=False`` keeps the data on the host and copies one batch
            at a time. It takes the fast path.
    On the fast path batches are gathered on the device in this process whatever
    ``num_workers`` says (workers could only add host copies), so ``worker_init_fn`` is not
    called. Workers build batches on the host (NumPy backend): a dataset that holds device
    tensors belongs in this process (``num_workers=0``) or, with CuPy, under "spawn".

    Resuming: :meth:`set_epoch` (what ``fit`` should call at each epoch's start),
    :meth:`state_dict` and :meth:`load_state_dict` (in resume.py).
    """

    def __init__(self, dataset, *args, **kwargs):
        # DataLoader(X, y, ...) puts y where PyTorch's batch_size goes: read the older
        # positional form here, then everything goes through _setup's real signature
        if args and is_array(dataset) and args[0] is not None and \
                not isinstance(args[0], numbers.Real):
            if len(args) > 1 + len(_OLDER_POSITIONAL):
                raise TypeError(f"DataLoader(X, y, ...) takes at most "
                                f"{2 + len(_OLDER_POSITIONAL)} positional arguments, got "
                                f"{1 + len(args)}")
            for name, value in zip(("y", *_OLDER_POSITIONAL), args):
                if name in kwargs:
                    raise TypeError(f"DataLoader got multiple values for argument {name!r}")
                kwargs[name] = value
            args = ()
        self._setup(dataset, *args, **kwargs)

    def _setup(self, dataset, batch_size=_ONE, shuffle=None, sampler=None, batch_sampler=None,
               num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
               worker_init_fn=None, multiprocessing_context=None, generator=None, *,
               prefetch_factor=None, persistent_workers=False, pin_memory_device="",
               in_order=True, backend=None, device=None, y=None, seed=None, on_device=True):
        array_form = is_array(dataset)
        if y is not None and not array_form:
            raise TypeError(f"DataLoader: y= goes with an array X (DataLoader(X, y)); got a "
                            f"{type(dataset).__name__} dataset, which holds its own targets")
        older = array_form and (y is not None or backend is not None or device is not None
                                or seed is not None or on_device is not True)
        if batch_size is _ONE and older and batch_sampler is None:
            batch_size = 32
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
                batch_size, numbers.Integral) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be an int >= 1, got {batch_size!r}"
                             " (or None to load single samples)")
        self._explicit = backend is not None or device is not None
        if backend is not None:
            be = B.get_backend(backend, device)
        elif device is not None:
            be = B.resolve_device(B.default_backend(), device)
        else:
            be = None
        if array_form:
            dataset, be = array_dataset(dataset, y, be, on_device)
        if seed is not None:
            if generator is not None:
                raise ValueError("DataLoader: give seed= or generator=, not both")
            generator = np.random.default_rng(seed)
        check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers,
                             multiprocessing_context)
        if not hasattr(dataset, "__getitem__") and not isinstance(dataset, IterableDataset):
            raise TypeError(f"DataLoader: dataset must be a map-style dataset "
                            f"(__getitem__ and __len__), an IterableDataset or an array, got "
                            f"{type(dataset).__name__}")
        self._iterable = isinstance(dataset, IterableDataset)
        batch_size, shuffle, sampler, batch_sampler, drop_last = loader_samplers(
            dataset, self._iterable, batch_size, shuffle, sampler, batch_sampler, drop_last,
            generator)
        auto = batch_size is not None or batch_sampler is not None
        default = default_collate if auto else default_convert
        self._user_collate = None if collate_fn in (None, default) else collate_fn
        self._auto_collation = auto
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn if collate_fn is not None else default
        self.num_workers, self.timeout = int(num_workers), timeout
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None or \
            num_workers == 0 else 2
        self.pin_memory, self.pin_memory_device = bool(pin_memory), pin_memory_device
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers, self.in_order = bool(persistent_workers), bool(in_order)
        # older attributes, kept for code written against the first DataLoader
        self.shuffle, self.seed, self.on_device = shuffle, seed, bool(on_device)
        self._rng = generator if isinstance(generator, np.random.Generator) else None
        self._epoch, self._pool, self._pool_seed = 0, None, None
        self._fast = None
        source = None if self._iterable or not auto or self._user_collate is not None \
            else tensor_source(dataset)
        if be is None:
            be = source[0].tensors[0]._be if source is not None else B.default_backend()
        self.be = be
        if source is not None:
            self._fast = FastPath(*source, be, on_device)
        self.__initialized = True

    def __setattr__(self, name, value):
        if name in _FROZEN and self.__dict__.get("_DataLoader__initialized"):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    # -- sizes and placement ----------------------------------------------------------
    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        """Batches per epoch (an IterableDataset's only if it has ``__len__``)."""
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    @property
    def num_samples(self):
        """Samples per epoch (fewer than the sampler gives when ``drop_last`` drops some)."""
        if isinstance(self.batch_sampler, BatchSampler):
            n = len(self.batch_sampler.sampler)
            return n - (n % self.batch_size if self.drop_last else 0)
        if not self._auto_collation:
            return len(self.sampler)
        return sum(len(b) for b in self.batch_sampler)

    @property
    def n(self):
        """Samples in the dataset."""
        return len(self.dataset)

    @property
    def backend(self):
        """Name of the backend batches go to."""
        return self.be.name

    @property
    def device(self):
        return self.be.device

    def _place(self, batch):
        """Host data (NumPy-backend Tensors) onto the loader's backend; with an explicit
        ``backend=``/``device=``, every Tensor."""
        be = self.be

        def move(t):
            if t._be is be or not (self._explicit or t._be.name == "numpy"):
                return t
            return Tensor(be.asarray(t.array), _be=be)
        return tree_map(move, batch)

    def _unship(self, payload):
        """A worker's batch (host arrays) onto the backend."""
        def land(h):
            target = self.be if self._explicit or h.backend == "numpy" else \
                B.get_backend(h.backend, h.device)
            arr = h.array if target.name == "numpy" else target.asarray(h.array)
            return Tensor(arr, _be=target)
        return tree_map(land, payload, leaf=_Host)

    # -- iteration --------------------------------------------------------------------
    def __iter__(self):
        if self.num_workers == 0 and self.timeout > 0:  # torch: assert, on iter()
            raise WorkerAssertionError(f"DataLoader: timeout={self.timeout!r} needs worker "
                                       f"processes (num_workers > 0); loading in this "
                                       f"process requires timeout=0")
        if self._fast is not None:
            gen = self._iter_fast()
        elif self.num_workers == 0:
            gen = self._iter_here()
        else:
            gen = self._iter_workers()
        return _LoaderIter(self, gen)

    def _iter_fast(self):
        self._epoch += 1
        yield from self._fast.batches(self.dataset, self.batch_sampler)

    def _collate(self, data):
        return collate(data, self.be) if self._user_collate is None else \
            self._user_collate(data)

    def _convert(self, item):
        return convert(item, self.be) if self._user_collate is None else \
            self._user_collate(item)

    def _iter_here(self):
        self._epoch += 1
        ds, place = self.dataset, self._place
        if self._iterable:
            it = iter(ds)
            if not self._auto_collation:
                for item in it:
                    yield place(self._convert(item))
                return
            b = self.batch_size
            while True:
                data = list(itertools.islice(it, b))
                if not data or (self.drop_last and len(data) < b):
                    return
                yield place(self._collate(data))
        for indices in self._index_sampler:
            if not self._auto_collation:
                yield place(self._convert(ds[indices]))
            elif hasattr(ds, "__getitems__"):
                yield place(self._collate(ds.__getitems__(indices)))
            else:
                yield place(self._collate([ds[i] for i in indices]))

    def _context(self):
        ctx = self.multiprocessing_context
        if ctx is None:
            return multiprocessing.get_context()
        return multiprocessing.get_context(ctx) if isinstance(ctx, str) else ctx

    def _draw_seed(self):
        return int(host_generator(self.generator, "DataLoader").integers(2 ** 63 - 1))

    def _worker_seed(self):
        """Base seed of the workers: a new one each epoch, or one for persistent workers."""
        if not self.persistent_workers:
            return self._draw_seed()
        if self._pool_seed is None:
            self._pool_seed = self._draw_seed()
        return self._pool_seed

    def _iter_workers(self):
        self._epoch += 1
        pool = self._pool if self._pool is not None and not self._pool.closed else None
        if pool is None:
            pool = WorkerPool(self, self._context(), self._worker_seed())
            if self.persistent_workers:
                self._pool = pool
                weakref.finalize(self, pool.shutdown)
        try:
            yield from pool.run(None if self._iterable else self._index_sampler,
                                self.in_order, self._unship)
        finally:
            if not self.persistent_workers:
                pool.shutdown()

    def __repr__(self):
        path = "fast path" if self._fast is not None else \
            f"num_workers={self.num_workers}"
        return (f"DataLoader({type(self.dataset).__name__} of "
                f"{len(self.dataset) if hasattr(self.dataset, '__len__') else '?'}, "
                f"batch_size={self.batch_size}, sampler={type(self.sampler).__name__}, "
                f"drop_last={self.drop_last}, backend={self.be.name!r}, "
                f"device={self.be.device!r}, {path})")


DataLoader.__init__.__signature__ = inspect.signature(DataLoader._setup)

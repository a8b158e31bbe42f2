"""Worker processes of the DataLoader (``num_workers > 0``).

Each worker gets the dataset once (inherited with ``fork``, pickled with ``spawn``), then
loops: take a task ``(epoch, task, indices)`` from its own queue, load and collate those
samples on the host (NumPy backend), and put ``(epoch, task, payload)`` on the shared
result queue. The payload is pickled in the worker, so whatever fails (loading, collating,
pickling) comes back as an error naming the worker. The main process hands out tasks
round-robin, ``prefetch_factor`` per worker ahead, and yields results in task order.
"""
from __future__ import annotations

import itertools
import multiprocessing
import numbers
import os
import pickle
import queue
import random
import signal
import sys
import time
import traceback

import numpy as np

from ... import backend as B
from .collate import collate, convert, tree_map

_POLL = 0.25         # seconds between liveness checks while waiting
_info = None         # this process's WorkerInfo; None in the main process


class WorkerOptionTypeError(TypeError, ValueError):
    """A num_workers that is not an int (torch: TypeError; xpnn raised ValueError)."""


class WorkerAssertionError(ValueError, AssertionError):
    """An option torch refuses with ``assert`` (timeout without workers, prefetch_factor
    0); a ValueError, as xpnn's other option errors."""


def check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers, context):
    """The DataLoader's worker options, checked as PyTorch does (same conditions)."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
        raise WorkerOptionTypeError(f"DataLoader: num_workers option should be a "
                                    f"non-negative int, got {num_workers!r}")
    if num_workers < 0:
        raise ValueError(f"DataLoader: num_workers option should be a non-negative int, got "
                         f"{num_workers!r}; use num_workers=0 to disable multiprocessing")
    if not isinstance(timeout, numbers.Real) or timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                         "multiprocessing; let num_workers > 0 to enable multiprocessing, "
                         "otherwise set prefetch_factor to None")
    if prefetch_factor is not None and (not isinstance(prefetch_factor, numbers.Integral)
                                        or prefetch_factor < 1):
        raise WorkerAssertionError(f"DataLoader: prefetch_factor must be an int >= 1, got "
                         f"{prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if context is not None and num_workers == 0:
        raise ValueError("DataLoader: multiprocessing_context can only be used with "
                         "multi-process loading (num_workers > 0), but got num_workers=0")
    if isinstance(context, str) and context not in multiprocessing.get_all_start_methods():
        raise ValueError(f"DataLoader: multiprocessing_context should specify a valid start "
                         f"method in {multiprocessing.get_all_start_methods()!r}, but got "
                         f"multiprocessing_context={context!r}")


class WorkerInfo:
    """What a worker knows about itself: ``id``, ``num_workers``, ``seed``, ``dataset``
    (this worker's copy)."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={type(self.dataset).__name__})")


def get_worker_info():
    """The :class:`WorkerInfo` of the DataLoader worker this runs in, or None in the main
    process (use it in an IterableDataset's ``__iter__`` to shard, or in
    ``worker_init_fn``)."""
    return _info


class _End:
    """A worker's IterableDataset is exhausted."""


class _Host:
    """A Tensor sent back as host data: the array and the backend it was on."""

    def __init__(self, array, backend, device):
        self.array, self.backend, self.device = array, backend, device


class _Error:
    """An exception raised in a worker, with its traceback as text."""

    def __init__(self, worker_id, exc, where):
        self.worker_id, self.where = worker_id, where
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            pickle.dumps(type(exc))
            self.type = type(exc)
        except Exception:  # a class defined somewhere the main process cannot import
            self.type = RuntimeError
        self.name = type(exc).__name__

    def exception(self):
        msg = (f"Caught {self.name} {self.where}in DataLoader worker process "
               f"{self.worker_id}.\nOriginal {self.text}")
        try:
            return self.type(msg)
        except Exception:  # an exception type whose constructor wants other arguments
            return RuntimeError(msg)


def _ship(tensor):
    be = tensor._be
    return _Host(B.to_numpy(tensor.array), be.name, B.device_key(be))


def _seed_worker(seed):
    """Seed every generator a dataset may use in this worker from the loader's base seed and
    the worker id (PyTorch seeds Python's ``random`` and NumPy's legacy global generator too,
    so datasets that use them do not repeat each other across workers)."""
    B.manual_seed(seed)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(1)[0])  # noqa: NPY002


def _worker_loop(worker_id, num_workers, dataset, iterable, auto, collate_fn, drop_last,
                 batch_size, seed, init_fn, tasks, results, parent):
    global _info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)  # one process per core already
    B.set_default_backend("numpy")  # workers make host data; the main process places it
    _seed_worker(seed)
    _info = WorkerInfo(worker_id, num_workers, seed, dataset)
    host = B.get_backend("numpy")
    init_error = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception as e:
            init_error = _Error(worker_id, e, "in worker_init_fn ")
    it, it_epoch, ended = None, None, False
    while True:
        try:
            task = tasks.get(timeout=_POLL * 4)
        except queue.Empty:
            if os.getppid() != parent:  # the main process is gone
                break
            continue
        if task is None:
            break
        epoch, index, indices = task
        try:
            payload = init_error
            if init_error is None and iterable:
                if epoch != it_epoch:  # a new epoch: a new pass over this worker's copy
                    it, it_epoch, ended = iter(dataset), epoch, False
                data = [] if ended else list(itertools.islice(it, batch_size if auto else 1))
                if not data or (auto and drop_last and len(data) < batch_size):
                    ended, payload = True, _End()
                samples = data if auto or not data else data[0]
            elif init_error is None:
                samples = dataset[indices] if not auto else \
                    dataset.__getitems__(indices) if hasattr(dataset, "__getitems__") else \
                    [dataset[i] for i in indices]
            if payload is None:
                make = collate if auto else convert
                batch = make(samples, host) if collate_fn is None else collate_fn(samples)
                payload = tree_map(_ship, batch)
            blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:
            blob = pickle.dumps(_Error(worker_id, e, ""), protocol=pickle.HIGHEST_PROTOCOL)
        results.put((epoch, index, blob))
    results.cancel_join_thread()  # pending results are not wanted after shutdown
    results.close()


class WorkerPool:
    """``num_workers`` processes serving one DataLoader; one epoch at a time.

    Args:
        loader: the DataLoader (its dataset, collate_fn, worker_init_fn, ... are read once).
        ctx: the multiprocessing context.
        seed: base seed; worker ``i`` seeds its generators with ``seed + i``.
    """

    def __init__(self, loader, ctx, seed):
        self.num_workers, self.timeout = loader.num_workers, loader.timeout
        self.prefetch = loader.prefetch_factor
        self.iterable = loader._iterable
        self.results = ctx.Queue()
        self.queues, self.procs = [], []
        self.epoch, self.closed = 0, False
        auto = loader._auto_collation
        for wid in range(self.num_workers):
            q = ctx.Queue()
            p = ctx.Process(
                target=_worker_loop, daemon=True,
                args=(wid, self.num_workers, loader.dataset, self.iterable, auto,
                      loader._user_collate, loader.drop_last, loader.batch_size,
                      (seed + wid) % 2 ** 63, loader.worker_init_fn, q, self.results,
                      os.getpid()))
            try:
                p.start()
            except Exception as e:
                self.shutdown()
                raise RuntimeError(f"DataLoader: could not start worker {wid} with the "
                                   f"{ctx.get_start_method()!r} start method (the dataset, "
                                   f"collate_fn and worker_init_fn must be picklable for "
                                   f"'spawn'): {type(e).__name__}: {e}") from e
            self.queues.append(q)
            self.procs.append(p)

    def run(self, batches, in_order, place):
        """Yield one epoch's batches.

        Args:
            batches: iterable of each task's indices (a list, or one index without
                auto-collation); None for an IterableDataset (tasks go out until every
                worker reports the end of its copy).
            in_order: yield in task order (False: as results arrive).
            place: turns a received payload into the batch (host data onto the backend).
        """
        self.epoch += 1
        epoch = self.epoch
        active = list(range(self.num_workers))
        turn = itertools.cycle(range(self.num_workers))
        owner, ready = {}, {}
        sent = received = 0
        source = None if batches is None else iter(batches)

        def send():
            nonlocal sent
            if not active:
                return False
            indices = None if source is None else next(source, _End)
            if indices is _End:
                return False
            wid = next(w for w in turn if w in active)
            self.queues[wid].put((epoch, sent, indices))
            owner[sent] = wid
            sent += 1
            return True

        for _ in range(self.prefetch * self.num_workers):
            if not send():
                break
        while received < sent:
            if self.epoch != epoch or self.closed:
                return  # a newer iterator took over these workers
            key = received if in_order else next(iter(ready), None)
            if key not in ready:
                got_epoch, index, blob = self._get()
                if got_epoch == epoch:  # older epochs' results (an abandoned pass) are dropped
                    ready[index] = blob
                continue
            blob, wid = ready.pop(key), owner.pop(key)
            received += 1
            payload = pickle.loads(blob)
            if isinstance(payload, _End):
                if wid in active:
                    active.remove(wid)
                send()
                continue
            send()
            if isinstance(payload, _Error):
                raise payload.exception()
            yield place(payload)

    def _get(self):
        start = time.monotonic()
        while True:
            wait = _POLL if not self.timeout else max(
                0.0, min(_POLL, self.timeout - (time.monotonic() - start)))
            try:
                return self.results.get(timeout=wait)
            except queue.Empty:
                pass
            if self.timeout and time.monotonic() - start >= self.timeout:
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds")
            dead = [p for p in self.procs if not p.is_alive()]
            if dead:
                pids = ", ".join(f"{p.pid} (exit code {p.exitcode})" for p in dead)
                self.shutdown()
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly")

    def shutdown(self):
        """Stop every worker: ask, wait a little, then terminate."""
        if self.closed:
            return
        self.closed = True
        for q in self.queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=1)
        for q in [*self.queues, self.results]:
            q.cancel_join_thread()
            q.close()

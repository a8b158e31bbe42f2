"""Helper threads for xpnn's own kernels and the helpers that split a kernel over them
(see xpnn.cpu). Nothing here changes a computed value: work is cut where results do not
depend on the cut."""
from __future__ import annotations

import os
import threading
import time
from functools import partial

from .policy import _policy

_region = threading.local()  # .inside: this thread runs one task of a parallel region


class _Worker:
    """One helper thread: waits on ``go``, runs ``task``, releases ``done``. Waiting is on a
    lock (the kernel's futex), never a spin, so an idle helper costs no CPU."""

    def __init__(self):
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.task, self.error = None, None
        threading.Thread(target=self._loop, name="xpnn-cpu", daemon=True).start()

    def _loop(self):
        _region.inside = True  # kernels called from a task do not split again
        while True:
            self.go.acquire()
            task, self.task = self.task, None
            try:
                task()
            except BaseException as e:  # handed to the caller, raised there
                self.error = e
            self.done.release()


class _Pool:
    """Runs a few callables at once: all but the last on helper threads, the last on the
    caller's. NumPy releases the GIL inside its loops and BLAS calls, so the callables run in
    parallel when each is one large array operation."""

    def __init__(self):
        self.workers = []
        self.busy = threading.Lock()  # one parallel region at a time; others run inline

    def run(self, tasks):
        if len(tasks) == 1 or not self.busy.acquire(blocking=False):
            for t in tasks:
                t()
            return
        try:
            while len(self.workers) < len(tasks) - 1:
                self.workers.append(_Worker())
            used = self.workers[:len(tasks) - 1]
            for w, t in zip(used, tasks):
                w.task = t
                w.go.release()
            error = None
            _region.inside = True
            try:
                tasks[-1]()
            except BaseException as e:
                error = e
            finally:
                _region.inside = False
            for w in used:
                _wait(w.done)
                if w.error is not None and error is None:
                    error = w.error
                w.error = None
            if error is not None:
                raise error
        finally:
            self.busy.release()


_yield = getattr(os, "sched_yield", None) or (lambda: time.sleep(0))


def _wait(lock, polls=200):
    """Acquire ``lock``, first polling it a while with ``sched_yield`` in between (which
    lets the GIL go to the helper that will release it): a helper that finishes within
    ~0.1 ms then costs no wake-up of this thread from a kernel wait (~20 us on a virtual
    machine; measured: an empty parallel region 47 -> 20 us)."""
    for _ in range(polls):
        if lock.acquire(blocking=False):
            return
        _yield()
    lock.acquire()


_pool = _Pool()


def _after_fork():  # a forked child has no helper threads: start afresh
    global _pool
    _pool = _Pool()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def parallel(tasks):
    """Run the zero-argument callables in ``tasks`` at once on xpnn's helper threads (the
    last on the calling thread) and return when all are done; the first exception raised
    by any of them is raised here. Give at most :func:`get_num_threads` tasks."""
    _pool.run(tasks)


def chunks(n, parts, align=1):
    """Split range(n) into at most ``parts`` contiguous (start, stop) pairs of near-equal
    size: each a multiple of ``align`` long but the last, which takes the remainder too, so
    no piece is shorter than ``align`` (unless n is)."""
    if n <= 0:
        return []
    units = n // align
    parts = max(1, min(parts, units))
    bounds = [a * units // parts * align for a in range(parts)] + [n]
    return list(zip(bounds[:-1], bounds[1:]))


def workers(work, grain=1 << 16):
    """How many threads to give a kernel of ``work`` elements (or multiply-adds): the
    current thread count, fewer so that each thread gets at least ``grain``."""
    n = _policy.current
    if n <= 1 or work < 2 * grain or getattr(_region, "inside", False):
        return 1
    return max(1, min(n, int(work // grain)))


def flat_views(*arrays):
    """1-D views, in memory order, of NumPy-like arrays that have one shape, one memory order
    of their axes, and no gaps (C order, or the CHWN order of xpnn's convolutions); None if
    they do not. Element i of each view is the same index of every array."""
    first = arrays[0]
    order = sorted(range(first.ndim), key=lambda i: -first.strides[i])
    views = []
    for a in arrays:
        if a.shape != first.shape:
            return None
        t = a.transpose(order)
        if not t.flags.c_contiguous:
            return None
        views.append(t.reshape(-1))
    return views


def split_flat(fn, *arrays, grain=1 << 18):
    """``fn(*arrays)`` for an elementwise kernel ``fn`` (it writes its result into one of
    the arrays with ``out=``), run over contiguous pieces of the arrays' memory on xpnn's CPU
    threads when they are large and laid out alike (:func:`flat_views`)."""
    n = workers(arrays[0].size, grain)
    views = flat_views(*arrays) if n > 1 else None
    if views is None:
        fn(*arrays)
        return
    parallel([partial(_apply_slice, fn, views, a, b)
              for a, b in chunks(views[0].shape[0], n, 4096)])


def _apply_slice(fn, views, a, b):
    fn(*[v[a:b] for v in views])


def split_rows(fn, n_rows, work, grain=1 << 18):
    """``fn(start, stop)`` over ``n_rows`` rows (channels, matrix rows...) split into blocks
    on xpnn's CPU threads; ``work`` is the total number of elements touched, to decide how
    many threads pay."""
    n = min(workers(work, grain), n_rows)
    if n <= 1:
        fn(0, n_rows)
        return
    parallel([partial(fn, a, b) for a, b in chunks(n_rows, n)])

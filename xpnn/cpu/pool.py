"""Helper threads for xpnn's own kernels and the helpers that split a kernel over them
(see xpnn.cpu). Nothing here changes a computed value: work is cut where results do not
depend on the cut."""
from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from functools import partial

from .policy import _policy

_region = threading.local()  # .inside: this thread runs one task of a parallel region


def _spin_functions():
    """(init, lock, unlock) of the C library's pthread spinlocks, or None where there are
    none (macOS, Windows). ctypes lets the GIL go during each call, so a thread spinning in
    ``lock`` holds no Python lock: it only keeps its core."""
    try:
        libc = ctypes.CDLL(None)
        fns = libc.pthread_spin_init, libc.pthread_spin_lock, libc.pthread_spin_unlock
    except (AttributeError, OSError, TypeError):
        return None
    for f in fns:
        f.argtypes, f.restype = [ctypes.c_void_p], ctypes.c_int
    fns[0].argtypes = [ctypes.c_void_p, ctypes.c_int]  # init(lock, pshared)
    return fns


_SPIN = _spin_functions()


class _SpinLock:
    """A pthread spinlock (created held): ``take`` spins until ``give`` is called."""

    def __init__(self):
        init, self._lock, self._unlock = _SPIN
        self.cell = ctypes.c_int(0)  # pthread_spinlock_t is an int on glibc, x86 and ARM
        self.address = ctypes.addressof(self.cell)
        init(self.address, 0)
        self._lock(self.address)

    def take(self):
        self._lock(self.address)

    def give(self):
        self._unlock(self.address)


class _PolledLock:
    """``done`` where the C library has no spinlocks: a lock (created held) that ``take``
    acquires by polling first (:func:`_wait`)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lock.acquire()

    def take(self):
        _wait(self.lock)

    def give(self):
        self.lock.release()


class _Worker:
    """One helper thread: waits on ``go``, runs ``task``, gives ``done``. Waiting for a task
    is on a lock (the kernel's futex), so an idle helper costs no CPU; only inside a hot
    region does it spin between tasks (:meth:`spin`). The caller waits for ``done`` on a
    spinlock, GIL-free: a caller that polled with the GIL held made a helper that finished
    wait for the GIL, and a thread waiting for the GIL sleeps (measured on this project's
    VM: the caller resumed ~25 us after the helper's last product ended, ~5 us spinning)."""

    def __init__(self):
        self.go, self.done = threading.Lock(), _SpinLock() if _SPIN else _PolledLock()
        self.go.acquire()
        self.task, self.error = None, None
        threading.Thread(target=self._loop, name="xpnn-cpu", daemon=True).start()

    def _loop(self):
        _region.inside = True  # kernels called from a task do not split again
        # the kernels' inf/NaN pass silently here, as in the caller's Backend.quiet (NumPy's
        # errstate is per thread: this one is xpnn's own, so its setting stays with it)
        import numpy
        numpy.seterr(all="ignore")
        while True:
            self.go.acquire()
            task, self.task = self.task, None
            try:
                task()
            except BaseException as e:  # handed to the caller, raised there
                self.error = e
            self.done.give()

    def spin(self):
        """The task that keeps this helper spinning for a hot region (:func:`hot`): tasks
        come and go through two spinlocks until the region hands it ``None``."""
        go, done = self.spin_go, self.spin_done
        while True:
            go.take()
            task, self.spin_task = self.spin_task, None
            if task is None:
                return
            try:
                task()
            except BaseException as e:
                self.error = e
            done.give()


class _Pool:
    """Runs a few callables at once: all but the last on helper threads, the last on the
    caller's. NumPy releases the GIL inside its loops and BLAS calls, so the callables run in
    parallel when each is one large array operation."""

    def __init__(self):
        self.workers = []
        self.busy = threading.Lock()  # one parallel region at a time; others run inline
        self.spinning = []            # helpers held in a hot region (see hot())
        self.hot_owner = None         # the thread that entered it

    def run(self, tasks):
        self.start(tasks)()

    def start(self, tasks):
        """Hand all but the last of ``tasks`` to helper threads now and return a function
        that runs the rest on the calling thread, waits for the helpers and raises the first
        error of any task. Between the two the caller may do other work; while a region is
        started no other one runs in parallel (other callers run theirs inline)."""
        if len(tasks) == 1 or not self.busy.acquire(blocking=False):
            return partial(_run_all, tasks)
        try:
            if self.spinning:  # a hot region: its thread hands tasks to the spinning helpers
                if self.hot_owner != threading.get_ident():
                    self.busy.release()
                    return partial(_run_all, tasks)
                used, hand, wait = self.spinning[:len(tasks) - 1], _hand_spinning, \
                    _wait_spinning
            else:
                while len(self.workers) < len(tasks) - 1:
                    self.workers.append(_Worker())
                used, hand, wait = self.workers[:len(tasks) - 1], _hand_sleeping, \
                    _wait_sleeping
            for w, t in zip(used, tasks):
                hand(w, t)
        except BaseException:
            self.busy.release()
            raise
        return partial(self._finish, used, tasks[len(used):], wait)

    def _finish(self, used, rest, wait):
        """Run ``rest`` on the caller, wait for every helper in ``used`` (``wait(worker)``)
        whatever happened, end the region and raise the first error."""
        error = None
        _region.inside = True
        try:
            for t in rest:
                t()
        except BaseException as e:
            error = e
        finally:
            _region.inside = False
            for w in used:
                wait(w)
                if w.error is not None and error is None:
                    error = w.error
                w.error = None
            self.busy.release()
        if error is not None:
            raise error

    @contextlib.contextmanager
    def hot(self):
        n = _policy.current
        if _SPIN is None or self.hot_owner is not None or n < 2 or n > _policy.cores or \
                getattr(_region, "inside", False) or not self.busy.acquire(blocking=False):
            yield  # nested, unsupported, one thread, more threads than cores: as usual
            return
        try:
            while len(self.workers) < n - 1:
                self.workers.append(_Worker())
            held = self.workers[:n - 1]
            for w in held:
                w.spin_go, w.spin_done, w.spin_task = _SpinLock(), _SpinLock(), None
                w.task = w.spin
                w.go.release()
            self.spinning, self.hot_owner = held, threading.get_ident()
        finally:
            self.busy.release()
        try:
            yield
        finally:
            with self.busy:  # no region runs while the helpers are let go
                self.spinning, self.hot_owner = [], None
                for w in held:
                    w.spin_task = None
                    w.spin_go.give()
                for w in held:
                    w.done.take()
                    w.error = None


def _run_all(tasks):
    for t in tasks:
        t()


def _hand_sleeping(w, task):
    w.task = task
    w.go.release()


def _wait_sleeping(w):
    w.done.take()


def _hand_spinning(w, task):  # in a hot region: no wake-up, the helper is spinning
    w.spin_task = task
    w.spin_go.give()


def _wait_spinning(w):
    w.spin_done.take()


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


def start(tasks):
    """:func:`parallel` in two halves: the helper threads start their tasks now, and the
    function returned runs the last task on the calling thread, waits for the helpers and
    raises the first error. Work the caller does in between overlaps the helpers' (and their
    wake-up); call the function exactly once, soon (no other parallel region runs before)."""
    return _pool.start(tasks)


def hot():
    """A context for a loop of many small parallel kernels (a recurrence's per-step matrix
    products): inside it xpnn's helper threads wait for work by spinning on their cores,
    GIL-free, instead of sleeping on a lock, so each product's blocks start at once rather
    than after a thread wake-up (on this project's 2-core VM: ~15 us on the caller to wake
    a sleeping helper and ~35 us before the helper runs; an LSTM step has 128 such
    products). The helpers hold their cores for the whole region, so use it around loops
    only. Does nothing with one thread, on a C library without pthread spinlocks, inside
    another hot region or task, or while another thread runs a parallel region."""
    return _pool.hot()


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


def blocks(work, grain=1 << 16):
    """How many blocks to cut a kernel of ``work`` multiply-adds into where the cut can change
    the bits of the result (a BLAS's matrix product: its kernels round a row or column
    differently by where it falls in a call): the machine's core count, fewer so that each
    block gets at least ``grain``; never the current thread count, which follows the load.
    The blocks are then run on however many threads :func:`workers` gives
    (:func:`grouped`), so the result does not depend on that. 1 where the user runs the
    BLAS's own threads (:func:`~xpnn.cpu.thread_policy` ``"external"``)."""
    n = _policy.cores
    if n <= 1 or work < 2 * grain or _policy.mode == "external":
        return 1
    return max(1, min(n, int(work // grain)))


def grouped(tasks, threads):
    """``tasks`` as at most ``threads`` tasks, each running a contiguous run of them in
    turn (for :func:`parallel`: blocks of a cut fixed by :func:`blocks`, on the threads
    there are now)."""
    if threads >= len(tasks):
        return tasks
    return [partial(_run_all, tasks[a:b]) for a, b in chunks(len(tasks), max(1, threads))]


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

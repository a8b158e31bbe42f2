"""``torch.multiprocessing``: Python's multiprocessing under PyTorch's name, plus ``spawn``.

Everything of :mod:`multiprocessing` is here (``Process``, ``Queue``, ``get_context``,
``set_start_method``, ...), so ``import torch.multiprocessing as mp`` runs unchanged. NumPy
arrays need no shared-memory tensors, so the sharing strategy is recorded and nothing more.

``spawn(fn, args, nprocs)`` runs ``fn(i, *args)`` in ``nprocs`` new processes and, with
``join``, waits for them; an exception in one is raised in the parent as
:class:`ProcessRaisedException` with the child's traceback, and the other processes are
stopped, as PyTorch's. xpnn's process groups (``xpnn.distributed``) are started by an MPI
launcher (``mpiexec -n 2 python train.py``), not by ``spawn``.
"""
from __future__ import annotations

import multiprocessing as _mp
import sys
from multiprocessing import connection as _connection
import traceback
from multiprocessing import *  # noqa: F401,F403 - PyTorch re-exports the whole module

_STRATEGIES = ("file_descriptor", "file_system")
_strategy = ["file_descriptor" if sys.platform.startswith("linux") else "file_system"]


def get_all_sharing_strategies():
    return set(_STRATEGIES)


def get_sharing_strategy():
    return _strategy[0]


def set_sharing_strategy(new_strategy):
    if new_strategy not in _STRATEGIES:
        raise ValueError(f"set_sharing_strategy: expected one of {_STRATEGIES}, got "
                         f"{new_strategy!r}")
    _strategy[0] = new_strategy


class ProcessException(Exception):
    """A spawned process failed: ``error_index`` is its index, ``pid`` its process id."""

    def __init__(self, msg, error_index, pid):
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """The spawned function raised; the message holds the child's traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a nonzero code (or was killed by a signal)."""

    def __init__(self, msg, error_index, error_pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return (type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                             self.signal_name))


def _wrap(fn, i, args, errors):
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass
    except Exception:  # noqa: BLE001 - any failure goes back to the parent
        errors.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The processes ``spawn`` started; :meth:`join` waits for them."""

    def __init__(self, processes, error_queues):
        self.processes, self.error_queues = processes, error_queues

    def pids(self):
        return [p.pid for p in self.processes]

    def join(self, timeout=None):
        """Wait (up to ``timeout`` seconds) for the processes: True when all have ended
        well, False while some still run; a failure stops the others and raises."""
        if all(p.exitcode is not None and p.exitcode == 0 for p in self.processes):
            return True
        ready = _connection.wait([p.sentinel for p in self.processes], timeout=timeout)
        failed = None
        for i, p in enumerate(self.processes):
            if p.sentinel in ready:
                p.join()
                if p.exitcode != 0 and failed is None:
                    failed = i
        if failed is None:
            return all(p.exitcode is not None for p in self.processes)
        for p in self.processes:
            if p.is_alive():
                p.terminate()
            p.join()
        proc, queue = self.processes[failed], self.error_queues[failed]
        if not queue.empty():
            raise ProcessRaisedException(
                f"\n\n-- Process {failed} terminated with the following error:\n{queue.get()}",
                failed, proc.pid)
        code = proc.exitcode
        if code < 0:
            import signal
            name = signal.Signals(-code).name
            raise ProcessExitedException(f"process {failed} terminated with signal {name}",
                                         failed, proc.pid, code, name)
        raise ProcessExitedException(f"process {failed} terminated with exit code {code}",
                                     failed, proc.pid, code)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Start ``fn(i, *args)`` for i in range(nprocs), each in a process made by
    ``start_method``; with ``join`` wait for them all (a failure raises), else return the
    :class:`ProcessContext`."""
    if isinstance(nprocs, bool) or not isinstance(nprocs, int) or nprocs < 1:
        raise ValueError(f"spawn: nprocs must be a positive int, got {nprocs!r}")
    ctx = _mp.get_context(start_method)
    errors, processes = [], []
    for i in range(nprocs):
        queue = ctx.SimpleQueue()
        p = ctx.Process(target=_wrap, args=(fn, i, tuple(args), queue), daemon=daemon)
        p.start()
        errors.append(queue)
        processes.append(p)
    context = ProcessContext(processes, errors)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """:func:`start_processes` with PyTorch's defaults (``torch.multiprocessing.spawn``);
    another ``start_method`` warns, as PyTorch's (it points to start_processes)."""
    if start_method != "spawn":
        import warnings
        warnings.warn(f"spawn: this function only supports start_method=spawn (got: "
                      f"{start_method}); use xpnn.multiprocessing.start_processes(...) for "
                      f"another", FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method)

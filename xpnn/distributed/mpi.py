"""Collectives over MPI (mpi4py) on backend arrays, in place.

MPI reads and writes memory it can address: host memory, and device memory where the MPI
library is CUDA-aware. A NumPy array is handed to MPI as it is; a torch CPU tensor and an
array-api-strict array on the CPU device through a NumPy view of their memory (no copy).
A CuPy array goes to MPI directly where the library is CUDA-aware (``XPNN_MPI_CUDA_AWARE=1``,
after the current stream is synchronized: MPI knows nothing of CUDA streams); anything else
(CuPy without a CUDA-aware MPI, torch on CUDA, array-api-strict on another device) is staged
through a host copy and written back.

Every call is non-blocking underneath (``Iallreduce``, ``Ibcast``, ``Iallgather``) and
returns a :class:`MPIWork`; ``wait()`` finishes it and returns the array holding the result
(the one passed in, or for a staged array a new one of its backend).
"""
from __future__ import annotations

import os

import numpy as np

from .. import backend as B

OPS = {"sum": "SUM", "max": "MAX", "min": "MIN", "product": "PROD"}


def cuda_aware():
    """Whether to hand CuPy arrays to MPI directly: ``XPNN_MPI_CUDA_AWARE=1`` says the MPI
    library was built with CUDA support (MPI itself offers no portable query)."""
    return os.environ.get("XPNN_MPI_CUDA_AWARE", "0").strip().lower() in ("1", "true", "yes")


def host_view(arr):
    """(a contiguous NumPy array MPI can use for ``arr``, whether it shares ``arr``'s
    memory).

    Contiguous NumPy arrays, torch CPU tensors and array-api-strict arrays on the CPU device
    give a view (writes land in ``arr``); other arrays give a host copy.
    """
    view = None
    if isinstance(arr, np.ndarray):
        view = arr
    else:
        be = B.backend_of(arr)
        if be.name == "torch" and be.on_host:
            view = arr.detach().numpy()
        elif be.name == "array_api_strict" and be.on_host:
            view = np.from_dlpack(arr)
    if view is not None and view.flags.c_contiguous and view.flags.writeable:
        return view, True
    return np.ascontiguousarray(B.to_numpy(arr)), False


class MPIWork:
    """A pending MPI collective: ``wait()`` finishes it and returns the result array."""

    def __init__(self, req, finish):
        self._req, self._finish, self._result = req, finish, None

    def test(self):
        """True once the operation completed (also lets MPI make progress)."""
        return self._req is None or self._req.Test()

    def wait(self):
        if self._req is not None:
            # Test and yield rather than Wait: MPI's Wait spins on its core, which on a
            # machine shared with other work (or with more ranks than cores) takes CPU time
            # from the very rank being waited for
            while not self._req.Test():
                os.sched_yield()
            self._req = None
            self._result = self._finish()
        return self._result

    def is_completed(self):
        return self.test()


class MPITransport:
    """MPI collectives on one communicator (a ``mpi4py.MPI.Comm``)."""

    name = "mpi"

    def __init__(self, comm):
        from mpi4py import MPI
        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.cuda_aware = cuda_aware()

    def dup(self):
        """A transport on a duplicate communicator: its collectives never match another's
        (DistributedDataParallel keeps its bucket traffic on one)."""
        return MPITransport(self.comm.Dup())

    def _buffer(self, arr):
        """(what to pass to MPI, function returning the result array after completion)."""
        be = B.backend_of(arr)
        if be.name == "cupy" and self.cuda_aware:
            with be.device:
                be.lib.cuda.get_current_stream().synchronize()
            return arr, lambda: arr
        host, shared = host_view(arr)
        if shared:
            return host, lambda: arr
        if be.name == "numpy":
            return host, lambda: host
        return host, lambda: be.asarray(host)

    def allreduce(self, arr, op="sum"):
        buf, finish = self._buffer(arr)
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, getattr(self.MPI, OPS[op]))
        return MPIWork(req, finish)

    def broadcast(self, arr, src):
        buf, finish = self._buffer(arr)
        return MPIWork(self.comm.Ibcast(buf, root=src), finish)

    def allgather(self, arr):
        """Every rank's ``arr`` stacked: shape (world size, *arr.shape)."""
        be = B.backend_of(arr)
        if be.name == "cupy" and self.cuda_aware:
            out = be.xp.empty((self.size,) + tuple(arr.shape), dtype=arr.dtype,
                              device=be.device)
            with be.device:
                be.lib.cuda.get_current_stream().synchronize()
            return MPIWork(self.comm.Iallgather(be.xp.reshape(arr, (-1,)), out),
                           lambda: out)
        send, _ = host_view(arr)
        recv = np.empty((self.size,) + send.shape, dtype=send.dtype)
        req = self.comm.Iallgather(np.ascontiguousarray(send), recv)
        if isinstance(arr, np.ndarray):
            return MPIWork(req, lambda: recv)
        return MPIWork(req, lambda: be.asarray(recv))

    def barrier(self):
        self.comm.Barrier()

    def allgather_object(self, obj):
        return self.comm.allgather(obj)

    def broadcast_object(self, obj, src):
        return self.comm.bcast(obj, root=src)

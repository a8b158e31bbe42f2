"""Collectives over NCCL (``cupy.cuda.nccl``) on CuPy arrays, in place, without host syncs.

NCCL runs each collective as a kernel on a CUDA stream. A transport made with a stream of
its own (DistributedDataParallel's) orders itself after the work already queued on the
caller's stream with an event, and ``wait()`` makes the caller's stream wait for it in
turn: the host never blocks, and the collective overlaps whatever the caller queues next.
A transport without a stream of its own runs on the caller's current stream.

The NCCL unique id travels from rank 0 over MPI, which launched the processes.
"""
from __future__ import annotations

from .. import backend as B

_DTYPES = {"int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32",
           "uint32": "NCCL_UINT32", "int64": "NCCL_INT64", "uint64": "NCCL_UINT64",
           "float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
           "bfloat16": "NCCL_BFLOAT16"}
_OPS = {"sum": "NCCL_SUM", "product": "NCCL_PROD", "max": "NCCL_MAX", "min": "NCCL_MIN"}


def available():
    """True when CuPy's NCCL bindings load and a CUDA device is present."""
    try:
        import cupy
        from cupy.cuda import nccl  # noqa: F401
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy, libnccl or the driver missing
        return False


class NCCLWork:
    """A collective queued on a stream: ``wait()`` orders the caller's current stream after
    it (no host sync) and returns the result array."""

    def __init__(self, transport, result, keep=None):
        self._t, self._result, self._keep = transport, result, keep

    def test(self):
        return True  # nothing to progress from the host

    def is_completed(self):
        return self._t.stream is None or self._t.stream.done

    def wait(self):
        stream = self._t.stream
        if stream is not None:
            self._t.cupy.cuda.get_current_stream().wait_event(stream.record())
        self._keep = None  # any staging copy may be freed once ordered
        return self._result


class NCCLTransport:
    """NCCL collectives among ``size`` ranks, one GPU each (the current CuPy device).

    Args:
        mpi: the MPITransport that carries the unique id.
        own_stream: run on a stream of this transport's own (True) or on the caller's
            current stream (False).
    """

    name = "nccl"

    def __init__(self, mpi, own_stream=False):
        import cupy
        from cupy.cuda import nccl
        self.cupy, self.nccl, self.mpi = cupy, nccl, mpi
        self.rank, self.size = mpi.rank, mpi.size
        uid = nccl.get_unique_id() if mpi.rank == 0 else None
        uid = mpi.broadcast_object(uid, 0)
        self.device = cupy.cuda.Device()
        self.comm = nccl.NcclCommunicator(mpi.size, uid, mpi.rank)
        self.stream = cupy.cuda.Stream(non_blocking=True) if own_stream else None

    def dup(self):
        """A new NCCL communicator on a stream of its own (for DistributedDataParallel)."""
        return NCCLTransport(self.mpi, own_stream=True)

    def _dtype(self, arr):
        name = _DTYPES.get(B.dtype_name(arr.dtype))
        code = getattr(self.nccl, name, None) if name else None
        if code is None:
            raise TypeError(f"NCCL cannot reduce arrays of dtype {B.dtype_name(arr.dtype)}")
        return code

    def _check(self, arr):
        be = B.backend_of(arr)
        if be.name != "cupy":
            raise TypeError(f"the NCCL backend moves CuPy arrays, got an array on "
                            f"{be.name}:{be.device}; use backend='mpi' or 'auto' for it")
        if be.device.id != self.device.id:
            raise ValueError(f"NCCL: the array is on cuda:{be.device.id} but this rank's "
                             f"communicator on cuda:{self.device.id}")
        return arr if arr.flags.c_contiguous else self.cupy.ascontiguousarray(arr)

    def _stream(self):
        """The stream to queue on, ordered after the caller's work."""
        if self.stream is None:
            return self.cupy.cuda.get_current_stream()
        self.stream.wait_event(self.cupy.cuda.get_current_stream().record())
        return self.stream

    def allreduce(self, arr, op="sum"):
        buf = self._check(arr)
        s = self._stream()
        self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf),
                            getattr(self.nccl, _OPS[op]), s.ptr)
        return NCCLWork(self, buf)

    def broadcast(self, arr, src):
        buf = self._check(arr)
        s = self._stream()
        self.comm.bcast(buf.data.ptr, buf.size, self._dtype(buf), src, s.ptr)
        return NCCLWork(self, buf)

    def allgather(self, arr):
        buf = self._check(arr)
        out = self.cupy.empty((self.size,) + tuple(buf.shape), dtype=buf.dtype)
        s = self._stream()
        self.comm.allGather(buf.data.ptr, out.data.ptr, buf.size, self._dtype(buf), s.ptr)
        return NCCLWork(self, out, keep=buf)

    def destroy(self):
        if self.comm is not None:
            self.comm.destroy()
            self.comm = None

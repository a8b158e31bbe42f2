"""The default process group and the collectives of ``xpnn.distributed`` (PyTorch's names).

The MPI launcher (``mpiexec -n 2 python train.py``) starts the processes; MPI tells each
its rank and the world size, and carries every collective on host arrays. For CuPy arrays
the backend chooses the transport: ``"nccl"`` (``cupy.cuda.nccl``, one GPU per rank),
``"mpi"`` (the MPI library directly where it is CUDA-aware, else staged through the host),
or ``"auto"``: NCCL where CuPy and a GPU are present, MPI otherwise. Each rank uses the GPU
of its local rank (its rank among the processes of its node).

A rank that raises an uncaught exception in a process group aborts the whole job
(``MPI_Abort``) after printing its traceback: the other ranks would otherwise wait forever
in their next collective.
"""
from __future__ import annotations

import sys
import time
import traceback

from .. import backend as B
from ..autograd import TensorBase
from .mpi import MPITransport
from . import nccl as _nccl

BACKENDS = ("mpi", "nccl", "auto")
WORLD = None  # ``xpnn.distributed.group.WORLD``, as PyTorch spells the default group


class ReduceOp:
    """Reduction operations of :func:`all_reduce` (``ReduceOp.SUM`` ...), as in PyTorch."""

    SUM, AVG, MAX, MIN, PRODUCT = "sum", "avg", "max", "min", "product"


class _Group:
    """The default group: MPI's world, with NCCL made on first use for CuPy arrays."""

    def __init__(self, backend):
        from mpi4py import MPI
        self.backend = backend
        self.mpi = MPITransport(MPI.COMM_WORLD.Dup())
        self.rank, self.size = self.mpi.rank, self.mpi.size
        node = MPI.COMM_WORLD.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()
        self._nccl = None
        self.use_nccl = backend == "nccl" or (backend == "auto" and _nccl.available())

    def nccl(self):
        if self._nccl is None:
            self._nccl = _nccl.NCCLTransport(self.mpi)
        return self._nccl

    def transport(self, arr, op):
        """The transport that moves ``arr``: NCCL for CuPy arrays when chosen, else MPI."""
        name = B.backend_of(arr).name
        if self.use_nccl and name == "cupy":
            return self.nccl()
        if self.backend == "nccl":
            raise TypeError(f"{op}: the process group's backend is 'nccl', which moves CuPy "
                            f"arrays only, got a {name} array; init_process_group('auto') "
                            "sends host arrays over MPI")
        return self.mpi

    def new_transport(self, arr):
        """A transport of its own (a duplicate communicator) for arrays like ``arr``."""
        return self.transport(arr, "DistributedDataParallel").dup()


_state = {"group": None, "excepthook": None}


# -- the process group ------------------------------------------------------------------------
def is_available():
    """True when mpi4py (and so an MPI library) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_mpi_available():
    return is_available()


def is_nccl_available():
    """True when CuPy's NCCL bindings load and a CUDA device is present."""
    return _nccl.available()


def init_process_group(backend="auto", init_method=None, timeout=None, world_size=-1,
                       rank=-1, store=None, group_name="", pg_options=None, device_id=None):
    """Join the processes started by the MPI launcher into the default process group.

    Rank and world size come from MPI (``mpiexec -n 2 python train.py``; a plain
    ``python train.py`` is a world of one). On a machine with CuPy and GPUs, each rank
    makes the GPU of its local rank CuPy's current device (and xpnn's default device, when
    the default backend is CuPy).

    Args:
        backend: ``"mpi"``, ``"nccl"`` (CuPy arrays over NCCL, one GPU per rank) or
            ``"auto"`` (NCCL for CuPy arrays where available, MPI for everything else).
        init_method, timeout, store, group_name, pg_options: accepted for PyTorch's
            signature; MPI needs none of them.
        world_size, rank: -1, or the values MPI reports (checked).
        device_id: the GPU index for this rank (default: its local rank modulo the GPUs).
    Raises:
        RuntimeError: already initialized, or mpi4py missing (install ``xpnn[mpi]``).
        ValueError: an unknown backend, or world_size/rank that disagree with MPI.
    """
    if _state["group"] is not None:
        raise RuntimeError("init_process_group: the default process group is already "
                           "initialized; call destroy_process_group() first")
    if not isinstance(backend, str) or backend.lower() not in BACKENDS:
        raise ValueError(f"init_process_group: backend must be one of {BACKENDS}, got "
                         f"{backend!r}")
    backend = backend.lower()
    if not is_available():
        raise RuntimeError("init_process_group: mpi4py is not installed; pip install "
                           "'xpnn[mpi]' (mpi4py and MPICH) and launch with mpiexec")
    if backend == "nccl" and not _nccl.available():
        raise RuntimeError("init_process_group: backend 'nccl' needs CuPy with NCCL "
                           "(pip install 'xpnn[cuda12]') and a CUDA device")
    group = _Group(backend)
    for name, given, real in (("world_size", world_size, group.size),
                              ("rank", rank, group.rank)):
        if given not in (-1, None) and given != real:
            raise ValueError(f"init_process_group: {name}={given} but the MPI launcher "
                             f"started this process with {name} {real}")
    if backend in ("nccl", "auto") and _nccl.available():
        _use_local_gpu(group, device_id)
    _state["group"] = group
    if group.size > 1:
        _state["excepthook"] = sys.excepthook
        sys.excepthook = _abort_on_exception


def _use_local_gpu(group, device_id):
    import cupy
    count = cupy.cuda.runtime.getDeviceCount()
    idx = group.local_rank % count if device_id is None else int(getattr(device_id, "index",
                                                                         device_id))
    cupy.cuda.Device(idx).use()
    if B.default_backend().name == "cupy":
        B.set_default_backend("cupy", idx)


def _abort_on_exception(kind, value, tb):
    """Print the traceback, then end every rank: the others would wait for this one.

    The traceback goes out in one write, and the launcher gets a moment to pass it on:
    MPI_Abort tears the job down at once, and a traceback written in pieces lost all but its
    first line under load."""
    hook = _state["excepthook"]
    if hook is None or hook is sys.__excepthook__:
        sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))
    else:
        hook(kind, value, tb)
    sys.stderr.flush()
    time.sleep(0.5)
    group = _state["group"]
    if group is not None:
        group.mpi.MPI.COMM_WORLD.Abort(1)


def destroy_process_group(group=None):
    """Leave the default process group (MPI itself finalizes when the process exits)."""
    g = _state["group"]
    if g is None:
        return
    if g._nccl is not None:
        g._nccl.destroy()
    g.mpi.comm.Free()
    _state["group"] = None
    if _state["excepthook"] is not None:
        if sys.excepthook is _abort_on_exception:
            sys.excepthook = _state["excepthook"]
        _state["excepthook"] = None


def is_initialized():
    """True inside a process group (between init_ and destroy_process_group)."""
    return _state["group"] is not None


def _group(op, group=None):
    g = _state["group"]
    if g is None:
        raise RuntimeError(f"{op}: the default process group has not been initialized; "
                           "call xpnn.distributed.init_process_group() first")
    if group is not None and group is not g and group != "WORLD":
        raise ValueError(f"{op}: only the default (world) process group is supported")
    return g


def get_rank(group=None):
    """This process's rank in 0 .. world size - 1."""
    return _group("get_rank", group).rank


def get_world_size(group=None):
    """The number of processes in the group."""
    return _group("get_world_size", group).size


def get_node_local_rank(fallback_rank=None):
    """This process's rank among the processes on its node (it picks the GPU)."""
    g = _state["group"]
    if g is None:
        if fallback_rank is not None:
            return fallback_rank
        raise RuntimeError("get_node_local_rank: the default process group has not been "
                           "initialized")
    return g.local_rank


def get_backend(group=None):
    """The backend name given to init_process_group ("mpi", "nccl" or "auto")."""
    return _group("get_backend", group).backend


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Block until every rank reached this call. ``timeout`` (PyTorch's, a timedelta) is
    accepted and not applied: MPI's barrier waits without a limit."""
    _group("barrier", group).mpi.barrier()


# -- collectives on tensors -------------------------------------------------------------------
class Work:
    """What an ``async_op=True`` collective returns: ``wait()`` completes it."""

    def __init__(self, work, finish):
        self._work, self._finish, self._done = work, finish, False

    def wait(self, timeout=None):
        if not self._done:
            self._finish(self._work.wait())
            self._done = True
        return True

    def is_completed(self):
        return self._done or self._work.is_completed()


def _array(op, tensor, name="tensor"):
    if isinstance(tensor, TensorBase):
        return tensor.array
    if B.is_array(tensor):
        return tensor
    raise TypeError(f"{op}: {name} must be a Tensor or a backend array, got "
                    f"{type(tensor).__name__}")


def _store(tensor, result):
    """Write a collective's result into ``tensor`` (a Tensor or a raw array), in place."""
    if isinstance(tensor, TensorBase):
        if result is tensor.array:
            tensor._bump()
        else:
            tensor._assign(result)
    elif result is not tensor:
        tensor[...] = result


def _run(work, finish, async_op):
    w = Work(work, finish)
    if async_op:
        return w
    w.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks, in place: every rank gets the result.

    Args:
        tensor: a Tensor (or a backend array), same shape and dtype on every rank.
        op: ``ReduceOp.SUM`` (default), ``AVG`` (floating dtypes), ``MAX``, ``MIN``,
            ``PRODUCT``.
        async_op: return a :class:`Work` to ``wait()`` on instead of waiting here.
    Returns:
        None, or a Work with ``async_op``.
    """
    g = _group("all_reduce", group)
    arr = _array("all_reduce", tensor)
    ops = (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX, ReduceOp.MIN, ReduceOp.PRODUCT)
    if op not in ops:
        raise ValueError(f"all_reduce: op must be one of ReduceOp.SUM/AVG/MAX/MIN/PRODUCT, "
                         f"got {op!r}")
    be = B.backend_of(arr)
    if op == ReduceOp.AVG and not be.is_floating(arr.dtype):
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating dtype, got "
                        f"{B.dtype_name(arr.dtype)}")
    work = g.transport(arr, "all_reduce").allreduce(arr, "sum" if op == ReduceOp.AVG else op)

    def finish(result):
        if op == ReduceOp.AVG:
            result = result / g.size
        _store(tensor, result)
    return _run(work, finish, async_op)


def _source(op, src, group_src):
    """The source rank from PyTorch's two spellings: ``src`` (a global rank) or
    ``group_src`` (a rank in the group; the same here, where the group is the world)."""
    if src is not None and group_src is not None:
        raise ValueError(f"{op}: can't specify both src and group_src, got {src!r} and "
                         f"{group_src!r}")
    if src is None and group_src is None:
        raise ValueError(f"{op}: either src or group_src must be set")
    return src if group_src is None else group_src


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``tensor`` of rank ``src`` (or ``group_src``) into ``tensor`` of every rank, in
    place."""
    src = _source("broadcast", src, group_src)
    g = _group("broadcast", group)
    arr = _array("broadcast", tensor)
    _check_rank("broadcast", "src", src, g)
    work = g.transport(arr, "broadcast").broadcast(arr, src)
    return _run(work, lambda result: _store(tensor, result), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[i]`` with rank i's ``tensor`` on every rank.

    Args:
        tensor_list: world-size Tensors shaped like ``tensor`` (written in place).
        tensor: this rank's contribution, same shape and dtype on every rank.
    """
    g = _group("all_gather", group)
    arr = _array("all_gather", tensor)
    if not isinstance(tensor_list, list) or len(tensor_list) != g.size:
        n = len(tensor_list) if isinstance(tensor_list, list) else type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list must be a list of {g.size} tensors (the "
                         f"world size), got {n}")
    for i, t in enumerate(tensor_list):
        a = _array("all_gather", t, f"tensor_list[{i}]")
        if tuple(a.shape) != tuple(arr.shape):
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {tuple(a.shape)} but "
                             f"tensor {tuple(arr.shape)}")
    work = g.transport(arr, "all_gather").allgather(arr)

    def finish(stacked):
        for i, t in enumerate(tensor_list):
            _store(t, stacked[i, ...])
    return _run(work, finish, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Concatenate every rank's ``input_tensor`` along dim 0 into ``output_tensor``
    (shape (world size * n, ...)), in place."""
    g = _group("all_gather_into_tensor", group)
    arr = _array("all_gather_into_tensor", input_tensor, "input_tensor")
    out = _array("all_gather_into_tensor", output_tensor, "output_tensor")
    want = (g.size * arr.shape[0],) + tuple(arr.shape[1:]) if arr.ndim else (g.size,)
    if tuple(out.shape) != want:
        raise ValueError(f"all_gather_into_tensor: output_tensor has shape {tuple(out.shape)},"
                         f" expected {want} for input_tensor {tuple(arr.shape)} on {g.size} "
                         "ranks")
    work = g.transport(arr, "all_gather_into_tensor").allgather(arr)
    xp = B.backend_of(arr).xp
    return _run(work, lambda stacked: _store(output_tensor, xp.reshape(stacked, want)),
                async_op)


def all_gather_object(object_list, obj, group=None):
    """Fill ``object_list`` (world-size long) with every rank's picklable ``obj``."""
    g = _group("all_gather_object", group)
    objs = g.mpi.allgather_object(obj)
    if len(object_list) != g.size:
        raise ValueError(f"all_gather_object: object_list must have {g.size} entries (the "
                         f"world size), got {len(object_list)}")
    object_list[:] = objs


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replace ``object_list``'s items on every rank with those of rank ``src`` (or
    ``group_src``: give one of the two; neither means rank 0, as PyTorch's)."""
    src = _source("broadcast_object_list", 0 if src is None and group_src is None else src,
                  group_src)
    g = _group("broadcast_object_list", group)
    _check_rank("broadcast_object_list", "src", src, g)
    objs = g.mpi.broadcast_object(list(object_list) if g.rank == src else None, src)
    object_list[:] = objs


def _check_rank(op, name, value, g):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < g.size:
        raise ValueError(f"{op}: {name} must be a rank in 0..{g.size - 1}, got {value!r}")


def current_group():
    """The default group's internals (transports, ranks), for DistributedDataParallel and
    SyncBatchNorm; None outside a process group."""
    return _state["group"]

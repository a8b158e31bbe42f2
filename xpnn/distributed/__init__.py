"""xpnn.distributed: data-parallel training over MPI (mpi4py) and NCCL (CuPy).

Launch one process per CPU core group or GPU with MPI, join them, wrap the model::

    # mpiexec -n 2 python train.py
    import xpnn, xpnn.distributed as dist
    from xpnn.nn.parallel import DistributedDataParallel as DDP
    dist.init_process_group("auto")          # NCCL for CuPy arrays, MPI for the rest
    model = DDP(build_model())               # rank 0's weights on every rank
    sampler = xpnn.utils.data.DistributedSampler(dataset)   # a shard per rank

The names and signatures are PyTorch's (``torch.distributed``); the transports are MPI for
host arrays (and CuPy arrays where MPI is CUDA-aware, else staged through the host) and NCCL
for CuPy arrays. Only the default (world) group exists.
"""
from . import group
from .group import (ReduceOp, Work, all_gather, all_gather_into_tensor, all_gather_object,
                    all_reduce, barrier, broadcast, broadcast_object_list,
                    destroy_process_group, get_backend, get_node_local_rank, get_rank,
                    get_world_size, init_process_group, is_available, is_initialized,
                    is_mpi_available, is_nccl_available)

__all__ = ["ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_gather_object",
           "all_reduce", "barrier", "broadcast", "broadcast_object_list",
           "destroy_process_group", "get_backend", "get_node_local_rank", "get_rank",
           "get_world_size", "group", "init_process_group", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available"]

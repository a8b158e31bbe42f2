"""A rank that raises mid-training, run by tests/test_distributed.py as

    mpiexec -n 2 python tests/mpi/rank_raises.py

Rank 1 raises before its third backward; rank 0 is then waiting for rank 1's gradients in
its own backward and would wait forever. xpnn.distributed aborts the job from rank 1's
uncaught exception (MPI_Abort), so mpiexec exits non-zero at once.
"""
import numpy as np

import xpnn
import xpnn.distributed as dist
import xpnn.functional as F
from xpnn import nn, optim
from xpnn.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
rank = dist.get_rank()
xpnn.manual_seed(0)
model = DDP(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
opt = optim.SGD(model.parameters(), lr=0.1)
rng = np.random.default_rng(rank)
for step in range(5):
    loss = F.cross_entropy(model(xpnn.tensor(rng.standard_normal((8, 4), dtype=np.float32))),
                           xpnn.tensor(rng.integers(0, 2, 8)))
    if step == 2 and rank == 1:
        raise RuntimeError("rank 1 fails on purpose")
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"rank {rank} finished: the job was not aborted", flush=True)

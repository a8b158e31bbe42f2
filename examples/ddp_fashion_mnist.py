"""Fashion-MNIST on several processes: data-parallel training over MPI (CPU) or NCCL (GPUs).

    pip install 'xpnn[mpi]'                                        # mpi4py + MPICH
    mpiexec -n 2 python examples/ddp_fashion_mnist.py                 # 2 CPU processes
    mpiexec -n 2 python examples/ddp_fashion_mnist.py --backend cupy  # one GPU per rank

Every rank builds the same CNN; DistributedDataParallel copies rank 0's weights to all and
averages the gradients in backward; a DistributedSampler gives each rank its own share of
every epoch; BatchNorm becomes SyncBatchNorm, so batch statistics span the global batch.
Rank 0 alone prints and writes the checkpoint. With ``--batch-size 64`` per rank, 2 ranks
train exactly as one process with batches of 128 would (up to float32 rounding).
"""
import argparse
import os
import time

# one BLAS thread per rank: the ranks are the parallelism (must be set before NumPy loads)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import xpnn  # noqa: E402
import xpnn.distributed as dist  # noqa: E402
import xpnn.functional as F  # noqa: E402
from xpnn import nn, optim  # noqa: E402
from xpnn.data import fashion_mnist  # noqa: E402
from xpnn.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from xpnn.utils.data import DataLoader, DistributedSampler, TensorDataset  # noqa: E402

MEAN, STD = 0.2860, 0.3530  # of the training pixels


def build(width=16, hidden=128):
    """conv-BN-ReLU-pool twice (width, 2*width channels), then dense hidden -> 10."""
    w2 = 2 * width
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, w2, 3, padding=1, bias=False), nn.BatchNorm2d(w2), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(w2 * 7 * 7, hidden), nn.ReLU(),
        nn.Linear(hidden, 10))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numpy", help="numpy, torch or cupy (default numpy)")
    p.add_argument("--dist-backend", default="auto", help="mpi, nccl or auto (default)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64, help="per rank (default 64)")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    p.add_argument("--width", type=int, default=16, help="channels of the first conv")
    p.add_argument("--no-sync-bn", action="store_true", help="keep per-rank BatchNorm")
    p.add_argument("--subset", type=int, default=None, help="train on the first N images")
    p.add_argument("--test-subset", type=int, default=None, help="test on the first N")
    p.add_argument("--save", default=None, help="checkpoint written by rank 0 at the end")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="folder with the four IDX files")
    return p.parse_args(argv)


def average(*values):
    """The sums of ``values`` over all ranks (one all-reduce of a small host array)."""
    total = np.asarray(values, dtype=np.float64)
    dist.all_reduce(total)
    return total


def main(argv=None):
    args = parse_args(argv)
    dist.init_process_group(args.dist_backend)  # ranks from mpiexec; a GPU per local rank
    rank, world = dist.get_rank(), dist.get_world_size()
    device = f"cuda:{dist.get_node_local_rank()}" if args.backend == "cupy" else None
    say = print if rank == 0 else (lambda *a, **k: None)
    xpnn.manual_seed(args.seed)
    (X, y), (X_test, y_test) = fashion_mnist(args.data)
    X, y = X[:args.subset], y[:args.subset]
    X_test, y_test = X_test[:args.test_subset], y_test[:args.test_subset]
    X, X_test = (X - MEAN) / STD, (X_test - MEAN) / STD

    model = build(args.width).to(args.backend, device=device)
    if not args.no_sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = DDP(model)  # rank 0's weights everywhere; gradients averaged in backward
    opt = optim.Adam(model.parameters(), lr=args.lr)
    train_set = TensorDataset(xpnn.tensor(X), xpnn.tensor(y))
    sampler = DistributedSampler(train_set, shuffle=True, seed=args.seed, drop_last=True)
    train = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler,
                       backend=args.backend, device=device)
    test_set = TensorDataset(xpnn.tensor(X_test), xpnn.tensor(y_test))
    test = DataLoader(test_set, batch_size=500, backend=args.backend, device=device,
                      sampler=DistributedSampler(test_set, shuffle=False))
    say(f"{world} rank{'s' if world > 1 else ''} x {args.batch_size} samples per step "
        f"({args.backend}, process group {dist.get_backend()}); {len(train)} steps per epoch "
        f"on {len(X)} images", flush=True)

    t_start = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        model.train()
        t0 = time.perf_counter()
        losses = []
        for xb, yb in train:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()  # returns with the gradients averaged over the ranks
            opt.step()
            losses.append(loss.detach())
        mean_loss = xpnn.stack(losses).mean().item()  # this rank's: one read per epoch
        mean_loss = average(mean_loss)[0] / world
        secs = time.perf_counter() - t0
        say(f"epoch {epoch + 1}/{args.epochs}  loss={mean_loss:.4f}  ({secs:.1f} s, "
            f"{len(train) * args.batch_size * world / secs:.0f} samples/s)", flush=True)

    model.eval()
    hits, seen = [], 0
    with xpnn.no_grad():
        for xb, yb in test:  # each rank scores its share of the test set
            hits.append((xpnn.argmax(model(xb), dim=1) == yb).sum())
            seen += yb.shape[0]
    # sums over the ranks (DistributedSampler pads a test set that does not split evenly
    # by repeating a few samples, which then count twice)
    correct, seen = average(xpnn.stack(hits).sum().item(), seen)
    acc = correct / seen
    say(f"test accuracy: {acc:.4f} ({int(correct)}/{int(seen)})")
    say(f"wall time: {time.perf_counter() - t_start:.1f} s")
    if args.save and rank == 0:  # the unwrapped module: loads on any number of ranks
        xpnn.save_checkpoint(args.save, model.module, opt, epoch=args.epochs)
        say(f"checkpoint: {args.save}")
    dist.destroy_process_group()
    return acc


if __name__ == "__main__":
    main()

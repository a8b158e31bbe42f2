"""Data-parallel scaling: an epoch of a CNN on 1 and 2 ranks, xpnn DDP vs PyTorch DDP (gloo).

    python benchmarks/ddp.py [--images 12000] [--batch 128] [--epochs 3] [--rounds 2]
                             [--ranks 1 2] [--peers xpnn torch] [--bn]
    python benchmarks/ddp.py --backend cupy --dist-backend nccl --ranks 1 --peers xpnn

The model is benchmarks/cnn.py's: conv(1->32, 3x3) + ReLU + maxpool 2, conv(32->64, 3x3)
+ ReLU + maxpool 2, dense 1600->128 + ReLU, dense 128->10 (``--bn``: BatchNorm after each
conv, SyncBatchNorm under xpnn), softmax cross-entropy, Adam, float32, on the first
``--images`` Fashion-MNIST training images (random data of that shape when the files are
missing). The global batch is fixed (``--batch``): each of n ranks takes batch/n samples
of every step from a DistributedSampler, so 1 and 2 ranks run the same training.

This script launches each configuration itself: ``mpiexec -n N python benchmarks/ddp.py
--worker PEER``, one BLAS (and torch) thread per rank. PyTorch's ranks come from the same
launcher and meet over gloo on the loopback address. Each launch times ``--epochs`` epochs
after warm-up steps, between barriers; the figure is the median epoch. Launches alternate
between peers and rank counts for ``--rounds`` rounds, so machine noise hits all alike.
The load average is printed before and after: the figures need an idle machine.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()


# -- the workers (one process per rank, under mpiexec) ---------------------------------------
def load_data(n):
    import numpy as np
    import xpnn
    try:
        (X, y), _ = xpnn.data.fashion_mnist(download=False)
        return X[:n], y[:n], "Fashion-MNIST"
    except (OSError, xpnn.data.DatasetNotFoundError):
        rng = np.random.default_rng(0)
        return (rng.random((n, 1, 28, 28), dtype=np.float32),
                rng.integers(0, 10, n).astype(np.int64), "random (Fashion-MNIST not found)")


def xpnn_worker(args):
    import xpnn
    import xpnn.distributed as dist
    import xpnn.functional as F
    from xpnn import nn, optim
    from xpnn.nn.parallel import DistributedDataParallel as DDP
    from xpnn.utils.data import DataLoader, DistributedSampler, TensorDataset

    dist.init_process_group(args.dist_backend)
    world = dist.get_world_size()
    device = f"cuda:{dist.get_node_local_rank()}" if args.backend == "cupy" else None
    X, y, source = load_data(args.images)
    xpnn.manual_seed(0)
    bn = (lambda c: [nn.BatchNorm2d(c)]) if args.bn else (lambda c: [])
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), *bn(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), *bn(64), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10)).to(args.backend, device=device)
    if args.bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = DDP(model)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    data = TensorDataset(xpnn.tensor(X), xpnn.tensor(y))
    sampler = DistributedSampler(data, shuffle=True, seed=0, drop_last=True)
    loader = DataLoader(data, batch_size=args.batch // world, sampler=sampler, drop_last=True,
                        backend=args.backend, device=device)

    def step(xb, yb):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    def sync():
        if args.backend == "cupy":
            import cupy
            cupy.cuda.get_current_stream().synchronize()
        dist.barrier()

    return run_epochs(args, loader, sampler, step, sync, dist.get_rank(), world, source)


def torch_worker(args):
    import torch
    import torch.distributed as tdist
    from mpi4py import MPI
    from torch.nn.parallel import DistributedDataParallel as TDDP
    from torch.utils.data import DistributedSampler, TensorDataset

    torch.set_num_threads(1)
    rank, world = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
    tdist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{args.port}", rank=rank,
                             world_size=world)
    X, y, source = load_data(args.images)
    torch.manual_seed(0)
    tnn = torch.nn
    bn = (lambda c: [tnn.BatchNorm2d(c)]) if args.bn else (lambda c: [])
    model = tnn.Sequential(
        tnn.Conv2d(1, 32, 3), *bn(32), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3), *bn(64), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
        tnn.Linear(1600, 128), tnn.ReLU(), tnn.Linear(128, 10))
    if args.bn:
        model = tnn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = TDDP(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    sampler = DistributedSampler(TensorDataset(Xt, yt), shuffle=True, seed=0, drop_last=True)
    bs = args.batch // world

    class Loader:  # index-gather batches, as xpnn's array fast path does
        def __len__(self):
            return len(sampler) // bs

        def __iter__(self):
            idx = torch.tensor(list(sampler))
            for i in range(len(self)):
                sel = idx[i * bs:(i + 1) * bs]
                yield Xt[sel], yt[sel]

    def step(xb, yb):
        loss = tnn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    result = run_epochs(args, Loader(), sampler, step, tdist.barrier, rank, world, source)
    tdist.destroy_process_group()
    return result


def run_epochs(args, loader, sampler, step, sync, rank, world, source):
    """Warm up, then time ``args.epochs`` epochs between barriers; rank 0 prints them."""
    sampler.set_epoch(1000)
    for i, (xb, yb) in enumerate(loader):
        if i == args.warmup:
            break
        step(xb, yb)
    times = []
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        sync()
        t0 = time.perf_counter()
        for xb, yb in loader:
            step(xb, yb)
        sync()
        times.append(time.perf_counter() - t0)
    if rank == 0:
        print("RESULT " + json.dumps({"times": times, "steps": len(loader), "world": world,
                                      "source": source}), flush=True)


# -- the driver -------------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args, peer, n):
    mpiexec = Path(sys.executable).parent / "mpiexec"
    mpiexec = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [mpiexec, "-n", str(n), sys.executable, str(HERE), "--worker", peer,
           "--images", str(args.images), "--batch", str(args.batch), "--epochs",
           str(args.epochs), "--warmup", str(args.warmup), "--backend", args.backend,
           "--dist-backend", args.dist_backend, "--port", str(free_port())] + \
        (["--bn"] if args.bn else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n"
                       f"{out.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=128, help="global batch (all ranks)")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs per launch")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps per launch")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--peers", nargs="+", default=["xpnn", "torch"])
    ap.add_argument("--backend", default="numpy", help="xpnn's array backend")
    ap.add_argument("--dist-backend", default="auto", help="mpi, nccl or auto")
    ap.add_argument("--bn", action="store_true", help="BatchNorm (SyncBatchNorm) layers")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        (xpnn_worker if args.worker == "xpnn" else torch_worker)(args)
        return
    load0 = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load0[0]:.2f} {load0[1]:.2f} "
          f"{load0[2]:.2f}; {args.images} images, global batch {args.batch}, "
          f"{'with' if args.bn else 'no'} BatchNorm, backend {args.backend}", flush=True)
    epochs = {(p, n): [] for p in args.peers for n in args.ranks}
    source = None
    for r in range(args.rounds):
        for n in (args.ranks if r % 2 == 0 else args.ranks[::-1]):
            for peer in (args.peers if r % 2 == 0 else args.peers[::-1]):
                res = launch(args, peer, n)
                epochs[(peer, n)] += res["times"]
                source = res["source"]
                print(f"  round {r + 1}: {peer} on {n} rank(s): epochs "
                      f"{', '.join(f'{t:.2f}' for t in res['times'])} s "
                      f"({res['steps']} steps)", flush=True)
    n_samples = args.images // args.batch * args.batch
    print(f"\ndata: {source}; an epoch is {n_samples} samples\n")
    print("| peer | ranks | epoch (median) | samples/s | time vs 1 rank | efficiency |")
    print("|---|---:|---:|---:|---:|---:|")
    med = {k: statistics.median(v) for k, v in epochs.items()}
    for (peer, n), t in med.items():
        base = med.get((peer, 1))
        rel = f"{t / base:.2f}x" if base and n > 1 else ""
        eff = f"{base / (n * t):.2f}" if base and n > 1 else ""
        print(f"| {peer} | {n} | {t:.2f} s | {n_samples / t:.0f} | {rel} | {eff} |")
    for n in args.ranks:
        if ("xpnn", n) in med and ("torch", n) in med:
            print(f"\nxpnn / PyTorch DDP (gloo) throughput at {n} rank(s): "
                  f"{med[('torch', n)] / med[('xpnn', n)]:.2f}x")
    load1 = os.getloadavg()
    print(f"\nload average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    main()

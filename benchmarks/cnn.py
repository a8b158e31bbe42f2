"""CNN training throughput: xpnn (NumPy backend) vs PyTorch CPU eager, plus a per-op profile.

conv(1->32, 3x3) + ReLU + maxpool 2, conv(32->64, 3x3) + ReLU + maxpool 2, dense 1600->128 +
ReLU, dense 128->10, softmax cross-entropy, Adam (lr 1e-3), float32, Fashion-MNIST batches.
Both run in alternating rounds in one process with pauses between rounds, so machine noise
hits them alike; the figure per peer is the median over rounds of samples/s. The profile
times every op's forward and backward (and im2col / col2im / GEMM inside the convs) over
extra steps run after the timed rounds, so it does not slow the figures above.

    python benchmarks/cnn.py [--rounds 7] [--steps 20] [--batch 128] [--backend numpy]
                             [--threads N]

Both libraries share one process here; ``benchmarks/compare.py`` measures them as users run
them (a fresh process per library, default threads) and is what the README quotes. This
script stays for its per-op profile.
"""
import os

# NumPy's OpenBLAS and torch's OpenMP pools spin-wait by default and then fight over the
# two cores; passive waiting must be set before either library loads: OMP_WAIT_POLICY for
# torch's OpenMP, a short OPENBLAS_THREAD_TIMEOUT (2^4 cycles of spinning) for OpenBLAS's
# pthreads. With one competing process on the 2 cores this took xpnn from 63-87 to 34-56
# ms/step; on an idle machine it costs ~2 ms/step (27 -> 29). --spin keeps the defaults.
import sys  # noqa: E402

if "--spin" not in sys.argv:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import numpy as np  # noqa: E402

import xpnn  # noqa: E402
import xpnn.functional as F  # noqa: E402
from xpnn import nn, optim  # noqa: E402


def load_data(n):
    """The first n Fashion-MNIST training images (N, 1, 28, 28) float32, or random data
    of that shape when the files are not on this machine."""
    try:
        (X, y), _ = xpnn.data.fashion_mnist(download=False)
        return X[:n], y[:n], "Fashion-MNIST"
    except (OSError, xpnn.data.DatasetNotFoundError):
        rng = np.random.default_rng(0)
        return (rng.random((n, 1, 28, 28), dtype=np.float32),
                rng.integers(0, 10, n).astype(np.int64), "random (Fashion-MNIST not found)")


class XpnnRunner:
    name = "xpnn"

    def __init__(self, X, y, bs, backend):
        xpnn.manual_seed(0)
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10)).to(backend)
        self.opt = optim.Adam(self.model.parameters(), lr=1e-3)
        self.batches = [(xpnn.tensor(X[i:i + bs], backend=backend),
                         xpnn.tensor(y[i:i + bs], backend=backend))
                        for i in range(0, len(X) - bs + 1, bs)]

    def step(self, i):
        xb, yb = self.batches[i % len(self.batches)]
        loss = F.cross_entropy(self.model(xb), yb)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


class TorchRunner:
    name = "torch"

    def __init__(self, X, y, bs, backend):
        import torch
        torch.manual_seed(0)
        self.torch = torch
        tnn = torch.nn
        self.model = tnn.Sequential(
            tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(1600, 128), tnn.ReLU(), tnn.Linear(128, 10))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        self.batches = [(Xt[i:i + bs], yt[i:i + bs]) for i in range(0, len(X) - bs + 1, bs)]

    def step(self, i):
        xb, yb = self.batches[i % len(self.batches)]
        loss = self.torch.nn.functional.cross_entropy(self.model(xb), yb)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


def measure(runner, steps, start):
    t0 = time.perf_counter()
    for i in range(start, start + steps):
        runner.step(i)
    return steps * len(runner.batches[0][0]) / (time.perf_counter() - t0)


# -- per-op profile ------------------------------------------------------------------------
class Profiler:
    """Wraps forward/backward of every Function subclass, the conv kernels and the optimizer
    step with timers. Inner timers (im2col, col2im, GEMM) are also inside their op's time."""

    def __init__(self):
        self.total = defaultdict(float)
        self.calls = defaultdict(int)
        self.undo = []

    def wrap(self, owner, attr, label):
        fn = getattr(owner, attr)
        total, calls = self.total, self.calls

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                total[label] += time.perf_counter() - t0
                calls[label] += 1
        self.undo.append((owner, attr, fn))
        setattr(owner, attr, timed)

    def install(self, opt, be):
        from xpnn.autograd import Function
        from xpnn.functional import conv
        seen, stack = set(), list(Function.__subclasses__())
        while stack:
            cls = stack.pop()
            stack += cls.__subclasses__()
            if cls in seen or cls.__name__.startswith("_"):
                continue
            seen.add(cls)
            for attr in ("forward", "backward"):
                if attr in cls.__dict__:
                    self.wrap(cls, attr, f"{cls.__name__} {attr}")
        from xpnn.functional import im2col  # _unfold/_fold call these
        for owner, attr, label in ((im2col, "_im2col", "  in conv: im2col"),
                                   (im2col, "_col2im", "  in conv: col2im"),
                                   (conv, "_bmm", "  in conv: GEMM")):
            self.wrap(owner, attr, label)
        self.wrap(opt, "step", "Adam step")
        self.wrap(opt, "zero_grad", "zero_grad")

    def remove(self):
        for owner, attr, fn in reversed(self.undo):
            if isinstance(owner, type) or owner.__class__.__name__ == "module":
                setattr(owner, attr, fn)
            else:
                delattr(owner, attr)  # instance attribute shadowing the class method

    def report(self, steps, step_ms):
        print(f"\nper-op profile, xpnn, ms per step (mean over {steps} steps; step "
              f"{step_ms:.1f} ms):")
        print("| op | ms/step | share of step |\n|---|---:|---:|")
        for label, t in sorted(self.total.items(), key=lambda kv: -kv[1]):
            ms = t / steps * 1e3
            if ms >= 0.05:
                print(f"| {label} | {ms:.2f} | {100 * ms / step_ms:.0f}% |")


def profile(runner, steps, be):
    prof = Profiler()
    prof.install(runner.opt, be)
    try:
        t0 = time.perf_counter()
        for i in range(steps):
            runner.step(i)
        step_ms = (time.perf_counter() - t0) / steps * 1e3
    finally:
        prof.remove()
    prof.report(steps, step_ms)


def torch_profile(runner, steps):
    from torch.profiler import profile as tprofile
    with tprofile() as p:
        for i in range(steps):
            runner.step(i)
    print("\nPyTorch profiler, self CPU time per step (top ops):")
    print("| op | ms/step |\n|---|---:|")
    rows = sorted(p.key_averages(), key=lambda e: -e.self_cpu_time_total)[:10]
    for e in rows:
        print(f"| {e.key} | {e.self_cpu_time_total / steps / 1e3:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--pause", type=float, default=0.5)
    ap.add_argument("--backend", default="numpy")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--spin", action="store_true",
                    help="keep the libraries' spin-waiting thread pools (see the top)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for both: xpnn.set_num_threads and torch's (default: xpnn's "
                         "load-following policy, torch's all CPUs)")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    if args.threads:
        xpnn.set_num_threads(args.threads)
    X, y, source = load_data(args.batch * 16)
    print(f"data: {source}; batch {args.batch}; threads: torch {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, OPENBLAS_THREAD_TIMEOUT="
          f"{os.environ.get('OPENBLAS_THREAD_TIMEOUT')}; {args.rounds} rounds x "
          f"{args.steps} steps; xpnn backend {args.backend}; load {os.getloadavg()[0]:.2f}")
    runners = [XpnnRunner(X, y, args.batch, args.backend),
               TorchRunner(X, y, args.batch, args.backend)]
    for r in runners:  # warm-up: allocator, BLAS threads, Adam state creation
        measure(r, 3, 0)
    rates = {r.name: [] for r in runners}
    for rnd in range(args.rounds):
        for r in (runners if rnd % 2 == 0 else runners[::-1]):
            time.sleep(args.pause)
            rates[r.name].append(measure(r, args.steps, rnd * args.steps))
        print(f"round {rnd}: " + ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in rates.items()),
              flush=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"\n| batch | xpnn ({args.backend}) samples/s | PyTorch CPU samples/s | "
          "xpnn / PyTorch |\n|---:|---:|---:|---:|")
    print(f"| {args.batch} | {med['xpnn']:.0f} | {med['torch']:.0f} | "
          f"{med['xpnn'] / med['torch']:.2f}x |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if not args.no_profile:
        profile(runners[0], args.steps, xpnn.get_backend(args.backend))
        torch_profile(runners[1], args.steps)


if __name__ == "__main__":
    main()

"""MLP training throughput: xpnn (NumPy backend) vs PyTorch CPU eager vs a hand-written NumPy loop.

784-256-256-10 ReLU, Adam (lr 1e-3), softmax cross-entropy, float32, batch 64/256/1024.
The three run in alternating rounds in one process, so machine noise hits them alike;
the figure per peer is the median over rounds of samples/s.

    python benchmarks/mlp.py [--rounds 7] [--steps 30] [--batches 64 256 1024] [--threads N]

``--threads N`` gives both libraries N threads (``xpnn.set_num_threads`` and torch's; by
default xpnn follows the machine's load and torch uses every core). The three share one
process; ``benchmarks/compare.py`` measures xpnn and PyTorch as users run them (a fresh
process per library, default threads) and is what the README quotes. This script stays for
its hand-written NumPy loop, the floor xpnn's framework overhead is measured against.
"""
import os

# torch's OpenMP pool spin-waits by default and then fights over the two cores with xpnn's
# work in this same process; passive waiting must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import xpnn  # noqa: E402
import xpnn.functional as F  # noqa: E402
from xpnn import nn, optim  # noqa: E402

SIZES = (784, 256, 256, 10)


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], size=n).astype(np.int64)
    return X, y


class XpnnRunner:
    name = "xpnn"

    def __init__(self, X, y, bs):
        xpnn.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
                                   nn.ReLU(), nn.Linear(256, 10))
        self.opt = optim.Adam(self.model.parameters(), lr=1e-3)
        self.batches = [(X[i:i + bs], y[i:i + bs]) for i in range(0, len(X) - bs + 1, bs)]

    def step(self, i):
        xb, yb = self.batches[i % len(self.batches)]
        loss = F.cross_entropy(self.model(xb), yb)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


class TorchRunner:
    name = "torch"

    def __init__(self, X, y, bs):
        import torch
        torch.manual_seed(0)
        self.torch = torch
        self.model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                         torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                         torch.nn.Linear(256, 10))
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


class NumpyRunner:
    """A careful hand-written NumPy MLP: in-place ops with out= and one fused Adam loop."""
    name = "numpy-loop"

    def __init__(self, X, y, bs):
        rng = np.random.default_rng(0)
        self.W, self.b = [], []
        for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
            bound = 1 / np.sqrt(fan_in)
            self.W.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
            self.b.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
        self.params = self.W + self.b
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self.batches = [(X[i:i + bs], y[i:i + bs]) for i in range(0, len(X) - bs + 1, bs)]

    def step(self, i):
        X, y = self.batches[i % len(self.batches)]
        W, b = self.W, self.b
        acts = [X]
        h = X
        for k in range(len(W)):
            z = h @ W[k].T
            z += b[k]
            if k < len(W) - 1:
                np.maximum(z, 0, out=z)
            acts.append(z)
            h = z
        logits = acts[-1]
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        n = len(y)
        loss = -np.log(logits[np.arange(n), y]).mean()
        d = logits
        d[np.arange(n), y] -= 1
        d /= n
        grads_W, grads_b = [None] * len(W), [None] * len(W)
        for k in range(len(W) - 1, -1, -1):
            grads_W[k] = d.T @ acts[k]
            grads_b[k] = d.sum(axis=0)
            if k:
                d = d @ W[k]
                d *= acts[k] > 0
        self.t += 1
        b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, g, m, v in zip(self.params, grads_W + grads_b, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            g *= g
            v += (1 - b2) * g
            denom = np.sqrt(v)
            denom /= np.sqrt(c2)
            denom += eps
            np.divide(m, denom, out=denom)
            denom *= lr / c1
            p -= denom
        return loss


def measure(runner, steps, start):
    t0 = time.perf_counter()
    for i in range(start, start + steps):
        runner.step(i)
    return steps * len(runner.batches[0][0]) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024])
    ap.add_argument("--pause", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for both NumPy's BLAS and torch (default: all cores)")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    if args.threads:
        xpnn.set_num_threads(args.threads)
    X, y = make_data(max(args.batches) * 8)
    print(f"threads: torch {torch.get_num_threads()}, xpnn {args.threads or 'auto'}, "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}; {args.rounds} rounds x "
          f"{args.steps} steps")
    rows = []
    for bs in args.batches:
        runners = [XpnnRunner(X, y, bs), TorchRunner(X, y, bs), NumpyRunner(X, y, bs)]
        for r in runners:  # warm-up: allocator, BLAS threads, first-step state creation
            measure(r, 3, 0)
        rates = {r.name: [] for r in runners}
        for rnd in range(args.rounds):
            order = runners if rnd % 2 == 0 else runners[::-1]
            for r in order:
                time.sleep(args.pause)
                rates[r.name].append(measure(r, args.steps, rnd * args.steps))
        med = {k: statistics.median(v) for k, v in rates.items()}
        rows.append((bs, med))
        print(f"batch {bs:5d}: " + ", ".join(f"{k} {v:9.0f}/s" for k, v in med.items()),
              flush=True)
    print("\n| batch | xpnn samples/s | PyTorch CPU samples/s | NumPy loop samples/s "
          "| xpnn / PyTorch | xpnn / NumPy loop |")
    print("|---:|---:|---:|---:|---:|---:|")
    for bs, m in rows:
        print(f"| {bs} | {m['xpnn']:.0f} | {m['torch']:.0f} | {m['numpy-loop']:.0f} | "
              f"{m['xpnn'] / m['torch']:.2f}x | {m['xpnn'] / m['numpy-loop']:.2f}x |")


if __name__ == "__main__":
    main()

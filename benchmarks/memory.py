"""Memory over a long training run: does resident memory grow with the number of steps?

Each configuration runs in a fresh process (so one run's allocations cannot hide another's):
an MLP 32-64-64-10 with dropout, batch 64, cross-entropy, SGD, for ``--steps`` steps after
``--warmup`` steps. Resident memory comes from /proc/self/statm (Linux), peak from VmHWM.
The peer is the same network in plain PyTorch (torch.nn + torch.optim) in the same kind of
process. Torch runs on one thread (small ops on a shared machine go faster that way).

    python benchmarks/memory.py [--steps 1000] [--warmup 100] [--backends numpy,torch,...]

tests/test_memory.py runs the same network and measurement (``mlp_and_batch``,
``xpnn_stepper``, ``rss_growth``), imported from this file.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time

STATM = "/proc/self/statm"


def rss_mib():
    """Resident set size of this process in MiB (Linux /proc, no psutil)."""
    with open(STATM) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def peak_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def mlp_and_batch(backend):
    """The measured network and one batch: MLP 32-64-64-10 with dropout, 64 samples.

    Returns:
        (nn.Sequential, X Tensor (64, 32) float32, y Tensor (64,) int labels), on ``backend``.
    """
    import numpy as np

    import xpnn
    from xpnn import nn
    xpnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 64),
                          nn.Tanh(), nn.Linear(64, 10)).to(backend)
    rng = np.random.default_rng(0)
    X = xpnn.tensor(rng.standard_normal((64, 32)).astype(np.float32), backend=backend)
    y = xpnn.tensor(rng.integers(0, 10, 64), backend=backend)
    return model, X, y


def xpnn_stepper(backend, optimizer=True, lr=0.01):
    """A training step of ``mlp_and_batch``'s network with SGD.

    Args:
        backend: xpnn backend name.
        optimizer: use xpnn.optim.SGD; False updates the raw arrays (no optimizer code).
        lr: learning rate.
    Returns:
        (step: callable with no arguments, name of the update used).
    """
    import xpnn
    import xpnn.functional as F
    model, X, y = mlp_and_batch(backend)
    opt = xpnn.optim.SGD(model.parameters(), lr=lr) if optimizer else None

    def step():
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        if opt is not None:
            opt.step()
            opt.zero_grad()
        else:
            for p in model.parameters():
                p.array, p.grad = p.array - lr * p.grad.array, None
    return step, "xpnn.optim.SGD" if opt is not None else "raw-array SGD"


def rss_growth(step, steps, warmup, marks=4):
    """Run ``warmup`` steps, then ``steps`` more, watching resident memory.

    Args:
        step: callable doing one training step.
        steps: steps measured after the warm-up (allocator pools, lazy imports, caches).
        warmup: steps run first, not measured.
        marks: how many times during the run the growth is recorded.
    Returns:
        dict: ``rss_after_warmup`` (MiB), ``growth`` (MiB, after a final gc.collect),
        ``marks`` ({step: growth in MiB}), ``seconds`` (of the measured steps).
    """
    for _ in range(warmup):
        step()
    gc.collect()
    recorded, start, t0 = {}, rss_mib(), time.perf_counter()
    for i in range(1, steps + 1):
        step()
        if i % max(1, steps // marks) == 0:
            recorded[i] = round(rss_mib() - start, 3)
    seconds = time.perf_counter() - t0
    gc.collect()
    return {"rss_after_warmup": start, "growth": rss_mib() - start, "marks": recorded,
            "seconds": seconds}


def torch_stepper():
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                                torch.nn.Linear(64, 64), torch.nn.Tanh(),
                                torch.nn.Linear(64, 10))
    X, y = torch.randn(64, 32), torch.randint(0, 10, (64,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return step, "torch.optim.SGD"


def child(config, steps, warmup):
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    step, how = torch_stepper() if config == "torch-peer" else xpnn_stepper(config)
    r = rss_growth(step, steps, warmup)
    print(json.dumps({"config": config, "optimizer": how,
                      "rss_after_warmup": r["rss_after_warmup"], "growth": r["growth"],
                      "marks": r["marks"], "peak": peak_mib(),
                      "ms_per_step": 1e3 * r["seconds"] / steps}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--backends", default="numpy,array_api_strict,torch")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.steps, args.warmup)
    if not os.path.exists(STATM):
        sys.exit("memory.py needs Linux /proc")
    rows = []
    for config in args.backends.split(",") + ["torch-peer"]:
        out = subprocess.run([sys.executable, __file__, "--child", config, "--steps",
                              str(args.steps), "--warmup", str(args.warmup)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{config}: failed\n{out.stderr[-2000:]}")
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"MLP 32-64-64-10, batch 64, {args.steps} steps after {args.warmup} warm-up steps; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'config':<18}{'optimizer':<17}{'RSS MiB':>9}{'growth MiB':>12}{'peak MiB':>10}"
          f"{'ms/step':>9}  growth at quarter marks (MiB)")
    for r in rows:
        print(f"{r['config']:<18}{r['optimizer']:<17}{r['rss_after_warmup']:>9.1f}"
              f"{r['growth']:>12.3f}{r['peak']:>10.1f}{r['ms_per_step']:>9.3f}  "
              f"{' '.join(f'{k}:{v:+.2f}' for k, v in r['marks'].items())}")


if __name__ == "__main__":
    main()

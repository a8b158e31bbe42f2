"""What the version counters cost a training step (issue 9's bound: at most 2%).

Every Function records the version of each tensor its backward reads, and backward compares
them (one integer compare per saved tensor). This script times training steps of the MLP
(784-256-256-10, batch 64, the size where per-op overhead weighs most) and the Fashion-MNIST
CNN (batch 128) of benchmarks/compare.py with the recording on, and with it replaced by a
no-op, in alternating rounds in one process on one thread, and prints the median ratio.

    python benchmarks/version_cost.py [--rounds 9] [--seconds 1.5]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import build, training_step  # noqa: E402

import xpnn  # noqa: E402
from xpnn import autograd  # noqa: E402


def _no_versions(fn, cls, inputs, outs):
    fn.versions = ()


def rate(step, batch, seconds):
    for _ in range(3):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n * batch / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=1.5)
    args = ap.parse_args()
    xpnn.set_num_threads(1)
    recorded = autograd._remember_versions
    for kind, batch in (("mlp", 64), ("cnn", 128)):
        step = training_step(*build(xpnn, kind, batch))
        ratios = []
        for _ in range(args.rounds):
            autograd._remember_versions = recorded
            on = rate(step, batch, args.seconds)
            autograd._remember_versions = _no_versions
            off = rate(step, batch, args.seconds)
            ratios.append(on / off)
        autograd._remember_versions = recorded
        print(f"{kind} batch {batch}: with version checks / without = "
              f"{statistics.median(ratios):.3f} (rounds {min(ratios):.3f}-{max(ratios):.3f})",
              flush=True)


if __name__ == "__main__":
    main()

"""xpnn on CuPy against PyTorch CUDA: the models of compare.py, one process, alternating rounds.

Both libraries run in this one process on the same GPU, in alternating rounds (xpnn, torch,
torch, xpnn, ...), each round a timed region of ``--seconds`` with the device synchronized
before the clock starts and before it stops, after warm-up steps (kernel compilation, cuDNN
algorithm choice, memory pools). The figure is the median samples/s over rounds and the
ratio of the medians. Memory: for xpnn the size CuPy's memory pool reached during the run
(the pool keeps freed blocks, so its size is the peak of what was held), for torch
``torch.cuda.max_memory_reserved`` (its caching allocator's peak) and
``max_memory_allocated``; both pools are emptied before each run.

Goals (issue 15): MLP >= 0.9x PyTorch CUDA at batch 1024, CNN >= 0.7x, LSTM >= 0.5x,
Transformer >= 0.7x.

    python benchmarks/gpu.py                    # every model, 5 rounds
    python benchmarks/gpu.py --models cnn --rounds 9 --seconds 2
    python benchmarks/gpu.py --markdown --json gpu.json

The CuPy convolution runs on cuDNN where ``cupyx.cudnn`` exists (CuPy 13 and older; see
xpnn/functional/conv.py), otherwise as im2col plus cuBLAS, with xpnn's col2im kernel.
Figures from an H200 are in README.md, "GPU".
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import LABELS, MODELS, build, training_step  # noqa: E402

GOALS = {"mlp1024": 0.9, "cnn": 0.7, "lstm": 0.5, "transformer": 0.7}


class Lib:
    """One library on the GPU: build a model there, synchronize, read memory figures."""

    def __init__(self, name):
        self.name = name
        if name == "torch":
            import torch
            self.mod, self.torch = torch, torch
        else:
            import cupy
            import xpnn
            xpnn.set_default_backend("cupy")
            self.mod, self.cupy = xpnn, cupy

    def build(self, kind, batch):
        model, opt, x, y, loss_fn = build(self.mod, kind, batch)
        if self.name == "torch":  # built on the CPU as the shared code does, moved once
            model.to("cuda")
            if hasattr(model, "mask"):
                model.mask = model.mask.to("cuda")
            x, y = x.to("cuda"), y.to("cuda")
        return model, opt, x, y, loss_fn

    def sync(self):
        if self.name == "torch":
            self.torch.cuda.synchronize()
        else:
            self.cupy.cuda.Device().synchronize()

    def reset_memory(self):
        self.sync()
        if self.name == "torch":
            self.torch.cuda.empty_cache()
            self.torch.cuda.reset_peak_memory_stats()
        else:
            self.cupy.get_default_memory_pool().free_all_blocks()

    def memory_mb(self):
        """{"peak_pool_mb": ..., "peak_allocated_mb": ... (torch only)}."""
        if self.name == "torch":
            c = self.torch.cuda
            return {"peak_pool_mb": c.max_memory_reserved() / 2 ** 20,
                    "peak_allocated_mb": c.max_memory_allocated() / 2 ** 20}
        return {"peak_pool_mb": self.cupy.get_default_memory_pool().total_bytes() / 2 ** 20}


def run(lib, kind, batch, seconds, warmup=5):
    """One timed run: samples/s and memory figures."""
    lib.reset_memory()
    step = training_step(*lib.build(kind, batch))
    for _ in range(warmup):
        step()
    lib.sync()
    steps, t0 = 0, time.perf_counter()
    while True:
        step()
        steps += 1
        if steps % 5 == 0 or steps < 5:
            lib.sync()
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds and steps >= 5:
                break
    out = {"lib": lib.name, "samples_per_s": steps * batch / elapsed, "steps": steps}
    out.update(lib.memory_mb())
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--json")
    args = p.parse_args(argv)
    libs = {"xpnn": Lib("xpnn"), "torch": Lib("torch")}
    print(f"GPU: {libs['torch'].torch.cuda.get_device_name()}; cupy "
          f"{libs['xpnn'].cupy.__version__}; torch {libs['torch'].torch.__version__}",
          flush=True)
    results, rows = {}, []
    for name in args.models:
        kind, batch = MODELS[name]
        runs = {"xpnn": [], "torch": []}
        for r in range(args.rounds):
            for lib in (("xpnn", "torch") if r % 2 == 0 else ("torch", "xpnn")):
                runs[lib].append(run(libs[lib], kind, batch, args.seconds))
        med = {k: statistics.median(x["samples_per_s"] for x in v) for k, v in runs.items()}
        mem = {k: max(x["peak_pool_mb"] for x in v) for k, v in runs.items()}
        alloc = max(x["peak_allocated_mb"] for x in runs["torch"])
        ratio = med["xpnn"] / med["torch"]
        goal = GOALS.get(name)
        verdict = "" if goal is None else \
            f"  goal >= {goal}x: {'met' if ratio >= goal else 'NOT met'}"
        print(f"{name:12s} xpnn/cupy {med['xpnn']:11,.0f}/s  torch/cuda {med['torch']:11,.0f}/s"
              f"  ratio {ratio:.2f}x  peak pool MB xpnn {mem['xpnn']:.0f} torch "
              f"{mem['torch']:.0f} (allocated {alloc:.0f}){verdict}", flush=True)
        results[name] = runs
        rows.append(f"| {LABELS[name]} | {med['xpnn']:,.0f} | {med['torch']:,.0f} | "
                    f"{ratio:.2f}x | {mem['xpnn']:.0f} | {mem['torch']:.0f} |")
    if args.markdown:
        print("\n| model | xpnn (CuPy) samples/s | PyTorch CUDA samples/s | ratio | "
              "xpnn pool peak MB | torch reserved peak MB |\n|---|---:|---:|---:|---:|---:|")
        print("\n".join(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()

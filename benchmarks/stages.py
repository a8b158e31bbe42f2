"""Where one training step of a benchmarks/compare.py model spends its time: zero_grad,
forward, loss, backward and optimizer step timed apart, medians over the steps, in this
process. To compare two versions of xpnn, run it in alternating processes:

    python benchmarks/stages.py lstm                 # xpnn
    python benchmarks/stages.py mlp256 --lib torch   # PyTorch, the same model
    PYTHONPATH=/path/to/other/checkout python benchmarks/stages.py cnn   # another xpnn
    python benchmarks/stages.py lstm --lib torch --no-onednn   # PyTorch without oneDNN

``--no-onednn`` turns PyTorch's oneDNN (mkldnn) kernels off (``torch.backends.mkldnn``), so
its CPU LSTM runs ATen's own cell loop (MKL products plus elementwise kernels) instead of
oneDNN's fused RNN primitive: the figure says how much of PyTorch's lead is that kernel.
"""
import argparse
import importlib
import statistics
import time

from compare import MODELS, build

STAGES = ("zero_grad", "forward", "loss", "backward", "step", "total")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("--lib", choices=("xpnn", "torch"), default="xpnn")
    ap.add_argument("--steps", type=int, default=130)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--no-onednn", action="store_true",
                    help="with --lib torch: turn PyTorch's oneDNN kernels off")
    args = ap.parse_args()
    lib = importlib.import_module(args.lib)
    if args.no_onednn:
        if args.lib != "torch":
            ap.error("--no-onednn applies to --lib torch")
        lib.backends.mkldnn.enabled = False
    kind, batch = MODELS[args.model]
    model, opt, x, y, loss_fn = build(lib, kind, batch)
    clock, times = time.perf_counter, {k: [] for k in STAGES}
    for i in range(args.warmup + args.steps):
        t0 = clock()
        opt.zero_grad()
        t1 = clock()
        out = model(x)
        t2 = clock()
        loss = loss_fn(out, y)
        t3 = clock()
        loss.backward()
        t4 = clock()
        opt.step()
        t5 = clock()
        if i >= args.warmup:
            for k, v in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0)):
                times[k].append(v * 1e3)
    name = args.lib + (" (oneDNN off)" if args.no_onednn else "")
    print(f"{name} {args.model} ({args.steps} steps, median ms):",
          "  ".join(f"{k} {statistics.median(v):.3f}" for k, v in times.items()),
          f"  [{lib.__file__}]")


if __name__ == "__main__":
    main()

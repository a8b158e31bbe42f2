"""xpnn against PyTorch CPU as users run them: a fresh process per library, alternating rounds.

Each model trains in its own process per library, with that library's default threading
(nothing pinned), in alternating rounds (xpnn, torch, torch, xpnn, ...) so machine noise hits
both alike; the figure is the median samples/s over rounds and the ratio of the medians.
The models are written once against PyTorch's API and built from ``torch`` or from ``xpnn``
(``import xpnn as torch`` works): MLP 784-256-256-10, the Fashion-MNIST CNN, a 1-layer LSTM
64->256 language model (64 sequences x 64 tokens) and a 2-layer Transformer encoder LM
(d=128, 4 heads, 64 tokens, batch 32); Adam; float32; random data of the real shapes.

    python benchmarks/compare.py                      # every model, 5 rounds
    python benchmarks/compare.py --models cnn lstm --rounds 7
    python benchmarks/compare.py --load 1             # with one busy-looping process
    python benchmarks/compare.py --same-process       # xpnn with torch imported beside it

Peak resident memory (ru_maxrss) of each training process is printed too, with the part the
training run added on top of the imports.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

MODELS = {"mlp64": ("mlp", 64), "mlp256": ("mlp", 256), "mlp1024": ("mlp", 1024),
          "cnn": ("cnn", 128), "lstm": ("lstm", 64), "transformer": ("transformer", 32)}
VOCAB, TOKENS = 96, 64


def build(lib, kind, batch, seed=0):
    """(model, optimizer, inputs, targets, loss function) on ``lib`` (torch or xpnn)."""
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(seed)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                              nn.Linear(256, 10))
        x = lib.randn(batch, 784)
        y = lib.randint(0, 10, (batch,))
    elif kind == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
        x = lib.rand(batch, 1, 28, 28)
        y = lib.randint(0, 10, (batch,))
    elif kind == "lstm":
        model = LanguageModel(lib, "lstm")
        x = lib.randint(0, VOCAB, (batch, TOKENS))
        y = lib.randint(0, VOCAB, (batch, TOKENS))
    else:
        model = LanguageModel(lib, "transformer")
        x = lib.randint(0, VOCAB, (batch, TOKENS))
        y = lib.randint(0, VOCAB, (batch, TOKENS))
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)

    def loss_fn(out, target):
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1))
    return model, opt, x, y, loss_fn


def LanguageModel(lib, kind):
    nn = lib.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            width = 64 if kind == "lstm" else 128
            self.embed = nn.Embedding(VOCAB, width)
            if kind == "lstm":
                self.body = nn.LSTM(64, 256, batch_first=True)
                self.head = nn.Linear(256, VOCAB)
            else:
                layer = nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.1,
                                                   batch_first=True)
                self.body = nn.TransformerEncoder(layer, 2)
                self.head = nn.Linear(128, VOCAB)
                self.mask = nn.Transformer.generate_square_subsequent_mask(TOKENS)

        def forward(self, ids):
            h = self.embed(ids)
            if kind == "lstm":
                h, _ = self.body(h)
            else:
                h = self.body(h, mask=self.mask, is_causal=True)
            return self.head(h)
    return LM()


def worker(lib_name, kind, batch, seconds, same_process):
    """Train one model, print {samples_per_s, peak_rss_mb, ...} as JSON on the last line."""
    base_rss = _rss_mb()
    if lib_name == "torch":
        import torch as lib
    else:
        if same_process:
            import torch  # noqa: F401  (a user who has both: torch's pools are loaded too)
        import xpnn as lib
    import_rss = _rss_mb()
    model, opt, x, y, loss_fn = build(lib, kind, batch)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    for _ in range(3):  # warm-up: allocator, kernel selection, BLAS pools
        step()
    steps, t0 = 0, time.perf_counter()
    while True:
        loss = step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and steps >= 3:
            break
    loss.item()
    print(json.dumps({"lib": lib_name, "model": kind, "batch": batch, "steps": steps,
                      "samples_per_s": steps * batch / elapsed,
                      "peak_rss_mb": _rss_mb(), "import_rss_mb": import_rss,
                      "base_rss_mb": base_rss}))


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(lib, name, seconds, same_process):
    kind, batch = MODELS[name]
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, kind, str(batch),
           str(seconds)] + (["--same-process"] if same_process else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _busy():
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per run")
    p.add_argument("--load", type=int, default=0, help="busy-looping processes to run")
    p.add_argument("--same-process", action="store_true",
                   help="import torch in xpnn's processes too")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    busy = [_busy() for _ in range(args.load)]
    results = {}
    try:
        for name in args.models:
            runs = {"xpnn": [], "torch": []}
            for r in range(args.rounds):
                order = ("xpnn", "torch") if r % 2 == 0 else ("torch", "xpnn")
                for lib in order:
                    runs[lib].append(_run(lib, name, args.seconds, args.same_process))
            results[name] = runs
            _report(name, runs)
    finally:
        for b in busy:
            b.kill()
    print(f"\nload: {args.load} busy process(es); same process as torch: "
          f"{args.same_process}; {os.cpu_count()} CPUs; loadavg {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


def _report(name, runs):
    med = {lib: statistics.median(r["samples_per_s"] for r in rs) for lib, rs in runs.items()}
    rss = {lib: max(r["peak_rss_mb"] for r in rs) for lib, rs in runs.items()}
    grow = {lib: max(r["peak_rss_mb"] - r["import_rss_mb"] for r in rs)
            for lib, rs in runs.items()}
    ratios = [x["samples_per_s"] / t["samples_per_s"] for x, t in zip(runs["xpnn"],
                                                                       runs["torch"])]
    print(f"{name:12s} xpnn {med['xpnn']:10,.0f}/s  torch {med['torch']:10,.0f}/s  "
          f"ratio {med['xpnn'] / med['torch']:.2f}x (per round {min(ratios):.2f}-"
          f"{max(ratios):.2f})  peak RSS MB xpnn {rss['xpnn']:.0f} (+{grow['xpnn']:.0f}) "
          f"torch {rss['torch']:.0f} (+{grow['torch']:.0f})", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
               "--same-process" in sys.argv)
    else:
        main()

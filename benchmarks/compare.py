"""xpnn against PyTorch CPU as users run them: a fresh process per library, alternating rounds.

Each model trains in its own process per library, with that library's default threading
(nothing pinned), in alternating rounds (xpnn, torch, torch, xpnn, ...) so machine noise hits
both alike; the figure is the median samples/s over rounds and the ratio of the medians.
The models are written once against PyTorch's API and built from ``torch`` or from ``xpnn``
(``import xpnn as torch`` works): MLP 784-256-256-10 (batch 64, 256, 1024), the Fashion-MNIST
CNN (batch 128), a 1-layer LSTM 64->256 language model (64 sequences x 64 tokens) and a
2-layer Transformer encoder LM (d=128, 4 heads, 64 tokens, batch 32); Adam; float32; random
data of the real shapes.

    python benchmarks/compare.py                      # every model, 5 rounds, quiet machine
    python benchmarks/compare.py --models cnn lstm --rounds 7
    python benchmarks/compare.py --load 1             # with one busy-looping process
    python benchmarks/compare.py --load 0 1           # both, plus xpnn's loaded/quiet share
    python benchmarks/compare.py --same-process       # both libraries in one process
    python benchmarks/compare.py --markdown           # tables for the README
    python benchmarks/compare.py --threads 1          # each library on one thread

``--threads N`` sets both libraries' thread count (``set_num_threads(N)``) instead of their
defaults: with 1, the figures compare the two on one core (kernels and per-op overhead alone),
and the default run's figures over these say how much each gains from its other threads.

``--same-process`` runs both libraries in the same process (torch imported beside xpnn, each
training in turn, order alternating per round), the setting of a user who has both; torch is
imported first, so NumPy is loaded before xpnn and xpnn cannot choose OpenBLAS's kernels
(see xpnn/_coretype.py: on AMD Zen 4 that costs it ~5%).

Each run also measures the CPU time that *other* processes took during its timed region
("foreign load", in cores, from /proc/stat on Linux; the ``--load`` busy loops count). On a
shared machine, ``--quiet X`` waits before each run until the foreign load (beyond the
``--load`` processes) has stayed under X cores for a second, and runs a round again (up to 3
times) when a run saw more than 2X cores of it, so quiet figures are quiet.
Peak resident memory (ru_maxrss) of each training process is printed too, with the part the
training run added on top of the imports, and the kernel set NumPy's OpenBLAS ran for xpnn
("xpnn BLAS": Haswell is AVX2, SkylakeX AVX-512; an OPENBLAS_CORETYPE in the environment
decides it, and the header says so: on an AMD Zen 5 the AVX2 set halves xpnn's products'
speed, see xpnn/_coretype.py).
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
LABELS = {"mlp64": "MLP 784-256-256-10, batch 64", "mlp256": "MLP, batch 256",
          "mlp1024": "MLP, batch 1024", "cnn": "Fashion-MNIST CNN, batch 128",
          "lstm": "LSTM LM 64->256, 64 x 64 tokens",
          "transformer": "Transformer encoder, 2 layers d=128, 32 x 64 tokens"}
LIBS = ("xpnn", "torch")
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


# -- the load other processes put on the machine -------------------------------------------


def _busy_seconds():
    """Busy CPU seconds of the whole machine since boot (Linux), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Foreign:
    """CPU time used by other processes between start() and cores(), in cores."""

    def start(self):
        self.t, self.busy, self.own = time.monotonic(), _busy_seconds(), time.process_time()

    def cores(self):
        busy = _busy_seconds()
        if busy is None or self.busy is None:
            return float("nan")
        dt = time.monotonic() - self.t
        return max(0.0, (busy - self.busy - (time.process_time() - self.own)) / dt)


def wait_quiet(limit, busy_procs, timeout=600.0):
    """Wait until the foreign load, less ``busy_procs`` cores, stays under ``limit`` cores
    for one second; give up after ``timeout`` seconds. Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        f = Foreign()
        f.start()
        time.sleep(1.0)
        if f.cores() - busy_procs < limit:
            break
    return time.monotonic() - t0


# -- one training run ---------------------------------------------------------------------


def training_step(model, opt, x, y, loss_fn):
    """A function that runs one training step of ``build``'s model and returns the loss."""
    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _train(lib, lib_name, kind, batch, seconds, threads=None):
    if threads:
        lib.set_num_threads(threads)
    step = training_step(*build(lib, kind, batch))
    for _ in range(3):  # warm-up: allocator, kernel selection, thread pools
        step()
    foreign = Foreign()
    foreign.start()
    steps, t0 = 0, time.perf_counter()
    while True:
        loss = step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and steps >= 3:
            break
    loss.item()
    out = {"lib": lib_name, "model": kind, "batch": batch, "steps": steps,
           "samples_per_s": steps * batch / elapsed, "foreign_cores": foreign.cores(),
           "threads": _threads(lib, lib_name)}
    if lib_name == "xpnn":  # the kernel set of NumPy's OpenBLAS (xpnn/_coretype.py)
        out["blas"] = lib.cpu.blas_kernels()
    return out


def _threads(lib, name):
    if name == "torch":
        return lib.get_num_threads()
    return lib.get_num_threads() if hasattr(lib, "get_num_threads") else None


def worker(libs, kind, batch, seconds, threads=None):
    """Train one model with each library in ``libs`` (in this order, in this process); print
    one JSON line per library: samples/s, foreign load, peak RSS."""
    base_rss = _rss_mb()
    mods = {}
    # torch first whatever the training order: it loads NumPy, so xpnn cannot pick OpenBLAS's
    # kernels (xpnn/_coretype.py) and runs as it would for a user who imported torch first
    for name in sorted(libs, key=lambda n: n != "torch"):
        mods[name] = __import__(name)
    import_rss = _rss_mb()
    for name in libs:
        out = _train(mods[name], name, kind, batch, seconds, threads)
        out.update(peak_rss_mb=_rss_mb(), import_rss_mb=import_rss, base_rss_mb=base_rss)
        print(json.dumps(out), flush=True)


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(libs, name, seconds, threads=None):
    kind, batch = MODELS[name]
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", ",".join(libs), kind,
           str(batch), str(seconds), str(threads or 0)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"worker {cmd} failed:\n{proc.stderr[-3000:]}")
    lines = [json.loads(s) for s in proc.stdout.splitlines() if s.startswith("{")]
    return {r["lib"]: r for r in lines}


def _busy():
    """A busy-looping process that also ends when this one does (killed or not): it loops
    until it is given another parent."""
    return subprocess.Popen([sys.executable, "-c",
                             f"import os\nwhile os.getppid() == {os.getpid()}: pass"])


def _round(name, order, seconds, load, same_process, quiet, threads=None):
    """One round: {lib: run} for both libraries, in ``order``."""
    if same_process:
        if quiet is not None:
            wait_quiet(quiet, load)
        return _run(order, name, seconds, threads)
    got = {}
    for lib in order:
        if quiet is not None:
            wait_quiet(quiet, load)
        got.update(_run((lib,), name, seconds, threads))
    return got


def measure(models, rounds, seconds, load, same_process, quiet=None, log=print, retries=3,
            threads=None):
    """{model: {"xpnn": [run, ...], "torch": [...]}} over ``rounds`` alternating rounds.

    With ``quiet`` (cores), a round in which either run saw more foreign load than that
    (beyond the ``load`` busy loops) is run again, up to ``retries`` times."""
    busy = [_busy() for _ in range(load)]
    results = {}
    try:
        time.sleep(0.5 if load else 0)
        for name in models:
            runs = {lib: [] for lib in LIBS}
            for r in range(rounds):
                order = LIBS if r % 2 == 0 else LIBS[::-1]
                for _ in range(retries + 1):
                    got = _round(name, order, seconds, load, same_process, quiet, threads)
                    if quiet is None or all(g["foreign_cores"] - load < 2 * quiet
                                            for g in got.values()):
                        break
                for lib in LIBS:
                    runs[lib].append(got[lib])
            results[name] = runs
            log(_line(name, runs, load))
    finally:
        for b in busy:
            b.kill()
            b.wait()
    return results


def summary(runs):
    """Medians, ratio, per-round ratio range, peak RSS and foreign load of one model."""
    med = {lib: statistics.median(r["samples_per_s"] for r in rs) for lib, rs in runs.items()}
    ratios = [x["samples_per_s"] / t["samples_per_s"]
              for x, t in zip(runs["xpnn"], runs["torch"])]
    return {"xpnn": med["xpnn"], "torch": med["torch"], "ratio": med["xpnn"] / med["torch"],
            "round_ratios": (min(ratios), max(ratios)),
            "rss": {lib: max(r["peak_rss_mb"] for r in rs) for lib, rs in runs.items()},
            "grow": {lib: max(r["peak_rss_mb"] - r["import_rss_mb"] for r in rs)
                     for lib, rs in runs.items()},
            "foreign": statistics.median(r["foreign_cores"] for rs in runs.values()
                                         for r in rs),
            "threads": sorted({str(r.get("threads")) for r in runs["xpnn"]}),
            "blas": sorted({str(r.get("blas")) for r in runs["xpnn"]})}


def _line(name, runs, load):
    s = summary(runs)
    lo, hi = s["round_ratios"]
    return (f"{name:12s} xpnn {s['xpnn']:10,.0f}/s  torch {s['torch']:10,.0f}/s  ratio "
            f"{s['ratio']:.2f}x (rounds {lo:.2f}-{hi:.2f})  peak RSS MB xpnn "
            f"{s['rss']['xpnn']:.0f} (+{s['grow']['xpnn']:.0f}) torch {s['rss']['torch']:.0f} "
            f"(+{s['grow']['torch']:.0f})  foreign load {s['foreign'] - load:.2f}+{load}  "
            f"xpnn threads {','.join(s['threads'])}  xpnn BLAS {','.join(s['blas'])}")


def markdown(all_results, loads):
    """README tables: one row per model, a column pair per load, plus xpnn's loaded share."""
    head = "| model |"
    rule = "|---|"
    for load in loads:
        tag = "quiet" if load == 0 else f"--load {load}"
        head += f" xpnn samples/s ({tag}) | torch samples/s ({tag}) | ratio ({tag}) |"
        rule += "---:|---:|---:|"
    if 0 in loads and len(loads) > 1:
        head += " xpnn loaded / quiet |"
        rule += "---:|"
    lines = [head, rule]
    first = all_results[loads[0]]
    for name in first:
        row = f"| {LABELS[name]} |"
        for load in loads:
            s = summary(all_results[load][name])
            row += f" {s['xpnn']:,.0f} | {s['torch']:,.0f} | {s['ratio']:.2f}x |"
        if 0 in loads and len(loads) > 1:
            q = summary(all_results[0][name])["xpnn"]
            row += " " + ", ".join(f"{summary(all_results[ld][name])['xpnn'] / q:.0%}"
                                   for ld in loads if ld) + " |"
        lines.append(row)
    return "\n".join(lines)


def _coretype_note():
    core = os.environ.get("OPENBLAS_CORETYPE")
    return f"; OPENBLAS_CORETYPE={core} in the environment" if core else ""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per run")
    p.add_argument("--load", type=int, nargs="+", default=[0],
                   help="busy-looping processes to run (several values: one table each)")
    p.add_argument("--same-process", action="store_true",
                   help="run both libraries in one process, in turn")
    p.add_argument("--quiet", type=float, default=None, metavar="CORES",
                   help="before each run, wait until other processes use under CORES cores")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="set both libraries' thread count to N (default: their own)")
    p.add_argument("--markdown", action="store_true", help="print README tables at the end")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    all_results = {}
    t0 = time.time()
    for load in args.load:
        print(f"-- load: {load} busy process(es); "
              f"{'same process' if args.same_process else 'a process per library and run'}; "
              f"{os.cpu_count()} CPUs; threads {args.threads or 'default'}; "
              f"loadavg {os.getloadavg()[0]:.1f}{_coretype_note()}", flush=True)
        all_results[load] = measure(args.models, args.rounds, args.seconds, load,
                                    args.same_process, args.quiet,
                                    log=lambda s: print(s, flush=True), threads=args.threads)
    if 0 in all_results and len(all_results) > 1:
        for load in args.load:
            if load:
                share = ", ".join(
                    f"{m} {summary(all_results[load][m])['xpnn'] / summary(r)['xpnn']:.0%}"
                    for m, r in all_results[0].items())
                print(f"xpnn throughput with --load {load} as a share of quiet: {share}")
    print(f"took {time.time() - t0:.0f} s; loadavg now {os.getloadavg()[0]:.1f}")
    if args.markdown:
        print()
        print(markdown(all_results, args.load))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({str(k): v for k, v in all_results.items()}, f, indent=1)
    return all_results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2].split(","), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
               int(sys.argv[6]) if len(sys.argv) > 6 else None)
    else:
        main()

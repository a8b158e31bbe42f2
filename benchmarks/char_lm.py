"""Character LM (examples/char_lm.py): xpnn against the same recipe in PyTorch, one process.

Both models start from the same weights (PyTorch's init, copied into xpnn through
``load_state_dict``), see the same batches in the same order, and train with Adam + gradient
clipping at 1.0. Training alternates between the two in chunks of ``--chunk`` steps, so
machine noise hits both alike; throughput is the median over chunks of characters/s. At the
end both are evaluated on the same validation characters.

    python benchmarks/char_lm.py --model lstm
    python benchmarks/char_lm.py --model transformer
    python benchmarks/char_lm.py --model lstm --openblas-core Haswell    # AVX2 kernels

Thread counts are pinned for both libraries (``--threads``, default 1: on a shared 2-core
machine two BLAS threads per process fight the other processes and both libraries slow down
erratically).
"""
import os
import sys


def _early_env(argv):
    """Thread counts (and an OpenBLAS kernel choice) must be set before NumPy and torch load
    their BLAS/OpenMP libraries, so these two options are read from argv here."""
    def value(flag, default):
        for i, a in enumerate(argv):
            if a == flag and i + 1 < len(argv):
                return argv[i + 1]
            if a.startswith(flag + "="):
                return a.split("=", 1)[1]
        return default
    n = value("--threads", "1")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    core = value("--openblas-core", None)
    if core:
        os.environ["OPENBLAS_CORETYPE"] = core
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_early_env(sys.argv)

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import xpnn  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
import char_lm as lm  # noqa: E402


def _openblas_core():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    cores = [i.get("architecture") for i in threadpool_info()
             if i.get("internal_api") == "openblas"]
    return cores[0] if cores else "none"


class TorchLSTM(torch.nn.Module):
    def __init__(self, embed, hidden, layers):
        super().__init__()
        self.embed = torch.nn.Embedding(lm.V, embed)
        self.rnn = torch.nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = torch.nn.Linear(hidden, lm.V)

    def forward(self, ids):
        return self.head(self.rnn(self.embed(ids))[0])


class TorchPositions(torch.nn.Module):
    def __init__(self, context, d_model):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(context, d_model) * 0.02)

    def forward(self, x):
        return x + self.weight[:x.shape[1]]


class TorchTransformer(torch.nn.Module):
    def __init__(self, d_model, nhead, layers, context):
        super().__init__()
        self.embed = torch.nn.Embedding(lm.V, d_model)
        self.pos = TorchPositions(context, d_model)
        layer = torch.nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, 0.0,
                                                 activation="gelu", batch_first=True,
                                                 norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, layers,
                                                   norm=torch.nn.LayerNorm(d_model),
                                                   enable_nested_tensor=False)
        self.head = torch.nn.Linear(d_model, lm.V)

    def forward(self, ids):
        T = ids.shape[1]
        mask = torch.nn.Transformer.generate_square_subsequent_mask(T)
        return self.head(self.encoder(self.pos(self.embed(ids)), mask=mask, is_causal=True))


class TorchRunner:
    name = "torch"

    def __init__(self, args):
        torch.manual_seed(args.seed)
        self.model = (TorchLSTM(args.embed, args.hidden, args.layers) if args.model == "lstm"
                      else TorchTransformer(args.d_model, args.heads, args.layers,
                                            args.context))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=args.lr)

    def step(self, x, y):
        logits = self.model(torch.from_numpy(x))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, lm.V),
                                                 torch.from_numpy(y).reshape(-1))
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        return loss

    @torch.no_grad()
    def evaluate(self, X, Y, batch=64):
        total = 0.0
        for i in range(0, len(X), batch):
            logits = self.model(torch.from_numpy(X[i:i + batch]))
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, lm.V), torch.from_numpy(Y[i:i + batch]).reshape(-1),
                reduction="sum"))
        return total / X.size


class XpnnRunner:
    name = "xpnn"

    def __init__(self, args, twin):
        self.be = xpnn.get_backend(args.backend)
        self.model = lm.build(args.model, args)
        self.model.load_state_dict({k: v.detach().numpy()
                                    for k, v in twin.model.state_dict().items()})
        self.opt = xpnn.optim.Adam(self.model.parameters(), lr=args.lr)

    def step(self, x, y):
        return lm.train_step(self.model, self.opt, xpnn.tensor(x, backend=self.be),
                             xpnn.tensor(y, backend=self.be))

    def evaluate(self, X, Y):
        return lm.evaluate(self.model, X, Y, 64, self.be)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["lstm", "transformer"], default="lstm")
    p.add_argument("--backend", default="numpy", help="xpnn's backend (default numpy)")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--chunk", type=int, default=25, help="steps per timed chunk")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--openblas-core", default=None,
                   help="force NumPy's OpenBLAS kernels, e.g. Haswell (AVX2) or SkylakeX "
                   "(AVX-512); OpenBLAS 0.3.31 picks SkylakeX on AMD Zen 4, where Haswell's "
                   "are 5-10%% faster (xpnn/_coretype.py)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--corpus-mb", type=float, default=2.0)
    p.add_argument("--eval-chars", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.layers = args.layers or (1 if args.model == "lstm" else 2)
    args.lr = args.lr or (3e-3 if args.model == "lstm" else 1e-3)
    args.device = None
    torch.set_num_threads(args.threads)
    xpnn.manual_seed(args.seed)

    train, val, n_files = lm.load_corpus(args.corpus_mb)
    Xv, Yv = lm.val_windows(val, args.context, args.eval_chars)
    tr = TorchRunner(args)
    runners = [XpnnRunner(args, tr), tr]
    rngs = {r.name: np.random.default_rng(args.seed) for r in runners}  # same batch stream
    rates = {r.name: [] for r in runners}
    losses = {r.name: [] for r in runners}
    chars = args.batch * args.context
    print(f"char LM {args.model}: {n_files} stdlib files, {len(train):,} train chars, batch "
          f"{args.batch} x {args.context}, {args.steps} steps, threads {args.threads}, xpnn "
          f"backend {args.backend} (OpenBLAS kernels: {_openblas_core()}), load avg "
          f"{os.getloadavg()[0]:.1f}")
    for r in runners:  # warm-up step outside the timing (allocator, BLAS pools)
        r.step(*lm.batch_windows(train, args.batch, args.context,
                                 np.random.default_rng(99)))
    done = 0
    while done < args.steps:
        n = min(args.chunk, args.steps - done)
        for r in runners:
            batches = [lm.batch_windows(train, args.batch, args.context, rngs[r.name])
                       for _ in range(n)]
            t0 = time.perf_counter()
            for x, y in batches:
                loss = r.step(x, y)
            value = float(loss.item())  # the sync is inside the timed region, for both
            rates[r.name].append(n * chars / (time.perf_counter() - t0))
            losses[r.name].append(value)
        done += n
    val_loss = {r.name: r.evaluate(Xv, Yv) for r in runners}
    med = {k: statistics.median(v) for k, v in rates.items()}
    for r in runners:
        print(f"  {r.name:5s}: {med[r.name]:9,.0f} chars/s (median of {len(rates[r.name])} "
              f"chunks), final train loss {losses[r.name][-1]:.3f}, val {val_loss[r.name]:.4f}"
              f" nats/char = {val_loss[r.name] / math.log(2):.4f} bits/char")
    rel = val_loss["xpnn"] / val_loss["torch"] - 1
    print(f"  throughput xpnn/torch = {med['xpnn'] / med['torch']:.2f}x; val loss xpnn vs "
          f"torch {100 * rel:+.2f}%  (load avg at end {os.getloadavg()[0]:.1f})")
    return med["xpnn"] / med["torch"], rel


if __name__ == "__main__":
    main()

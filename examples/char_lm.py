"""Character-level language model on the Python standard library's own source files.

Every machine with Python has the corpus: the ``*.py`` files next to ``os.py``, sorted by
name and concatenated; the first ``--corpus-mb`` MB are used, the last 10% of them held out
for validation. An LSTM or a small causal Transformer predicts the next character; the script
reports validation bits per character and samples text at a few temperatures.

    python examples/char_lm.py --model lstm --steps 1500
    python examples/char_lm.py --model transformer --steps 1500

(xpnn picks the CPU thread count from the machine's load; see xpnn/cpu.py.)
benchmarks/char_lm.py trains the same recipe in PyTorch in the same process and compares.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before NumPy/torch start their pools

import argparse  # noqa: E402
import glob  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import xpnn  # noqa: E402
import xpnn.functional as F  # noqa: E402
from xpnn import nn, optim  # noqa: E402

# Tab, newline and printable ASCII; anything else (rare in the stdlib) maps to one UNK id.
VOCAB = "\t\n" + "".join(chr(c) for c in range(32, 127))
UNK = len(VOCAB)
V = UNK + 1


def load_corpus(megabytes=2.0, val_fraction=0.1):
    """(train ids, val ids, file count): uint8 arrays from the sorted stdlib sources."""
    root = os.path.dirname(os.__file__)
    limit, texts, total = int(megabytes * 1e6), [], 0
    files = sorted(glob.glob(os.path.join(root, "*.py")))
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            texts.append(f.read())
        total += len(texts[-1])
        if total >= limit:
            break
    ids = encode("".join(texts)[:limit])
    n_val = int(len(ids) * val_fraction)
    return ids[:-n_val], ids[-n_val:], len(texts)


def encode(text):
    table = np.full(128, UNK, dtype=np.uint8)
    for i, ch in enumerate(VOCAB):
        table[ord(ch)] = i
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return np.where(codes < 128, table[np.minimum(codes, 127)], UNK).astype(np.uint8)


def decode(ids):
    return "".join(VOCAB[i] if i < UNK else "?" for i in ids)


def batch_windows(data, batch, context, rng):
    """(inputs, targets), each (batch, context) int64: random windows and their shift by 1."""
    starts = rng.integers(0, len(data) - context - 1, batch)
    w = data[starts[:, None] + np.arange(context + 1)].astype(np.int64)
    return w[:, :-1], w[:, 1:]


def val_windows(data, context, max_chars):
    """Non-overlapping (inputs, targets) windows over the first ``max_chars`` of ``data``."""
    n = min(len(data) - 1, max_chars) // context
    idx = np.arange(n * context).reshape(n, context)
    return data[idx].astype(np.int64), data[idx + 1].astype(np.int64)


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear over the vocabulary."""

    def __init__(self, embed=64, hidden=256, layers=1, dropout=0.0, **where):
        super().__init__()
        self.embed = nn.Embedding(V, embed, **where)
        self.rnn = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=dropout, **where)
        self.head = nn.Linear(hidden, V, **where)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state


class CharTransformer(nn.Module):
    """Embedding + learned positions -> pre-norm causal Transformer encoder -> Linear."""

    def __init__(self, d_model=128, nhead=4, layers=2, ff=512, context=128, dropout=0.0,
                 **where):
        super().__init__()
        self.embed = nn.Embedding(V, d_model, **where)
        self.pos = nn.LearnedPositionalEncoding(d_model, context, batch_first=True, **where)
        layer = nn.TransformerEncoderLayer(d_model, nhead, ff, dropout, activation="gelu",
                                           batch_first=True, norm_first=True, **where)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model, **where))
        self.head = nn.Linear(d_model, V, **where)

    def forward(self, ids, state=None):
        x = self.encoder(self.pos(self.embed(ids)), is_causal=True)
        return self.head(x), None


def build(kind, args):
    where = dict(backend=args.backend, device=args.device)
    if kind == "lstm":
        return CharLSTM(args.embed, args.hidden, args.layers, **where)
    return CharTransformer(args.d_model, args.heads, args.layers, 4 * args.d_model,
                           args.context, **where)


def train_step(model, opt, x, y, clip=1.0):
    """One Adam step on a batch of windows; returns the loss Tensor (no host sync)."""
    logits, _ = model(x)
    loss = F.cross_entropy(F.reshape(logits, (-1, V)), F.reshape(y, (-1,)))
    opt.zero_grad()
    loss.backward()
    optim.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss


@xpnn.no_grad()
def evaluate(model, X, Y, batch, be):
    """Mean validation cross-entropy per character, in nats."""
    model.eval()
    total = 0.0
    for i in range(0, len(X), batch):
        logits, _ = model(xpnn.tensor(X[i:i + batch], backend=be))
        loss = F.cross_entropy(F.reshape(logits, (-1, V)),
                               xpnn.tensor(Y[i:i + batch].reshape(-1), backend=be),
                               reduction="sum")
        total += float(loss.item())
    model.train()
    return total / X.size


@xpnn.no_grad()
def sample(model, kind, prompt, n, temperature, context, be, seed=0):
    """``prompt`` continued by ``n`` sampled characters (softmax(logits / temperature))."""
    model.eval()
    rng = np.random.default_rng(seed)
    ids = list(encode(prompt))
    state, feed = None, ids
    for _ in range(n):
        window = feed if kind == "lstm" else ids[-context:]
        logits, new_state = model(xpnn.tensor(np.asarray([window], dtype=np.int64),
                                              backend=be), state)
        if kind == "lstm":  # the LSTM carries its state, so it needs only the new character
            state = new_state
        z = logits.numpy()[0, -1].astype(np.float64) / max(temperature, 1e-6)
        p = np.exp(z - z.max())
        nxt = int(rng.choice(V, p=p / p.sum()))
        ids.append(nxt)
        feed = [nxt]
    model.train()
    return decode(ids)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["lstm", "transformer"], default="lstm")
    p.add_argument("--backend", default="numpy")
    p.add_argument("--device", default=None)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--context", type=int, default=64, help="characters per training window")
    p.add_argument("--lr", type=float, default=None, help="Adam lr (default 3e-3 LSTM, "
                   "1e-3 Transformer)")
    p.add_argument("--embed", type=int, default=64, help="LSTM input embedding size")
    p.add_argument("--hidden", type=int, default=256, help="LSTM hidden size")
    p.add_argument("--d-model", type=int, default=128, help="Transformer width")
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=None, help="default 1 LSTM, 2 Transformer")
    p.add_argument("--corpus-mb", type=float, default=2.0)
    p.add_argument("--eval-chars", type=int, default=100_000)
    p.add_argument("--sample-chars", type=int, default=300)
    p.add_argument("--temperature", type=float, nargs="+", default=[0.5, 0.8])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=250)
    args = p.parse_args(argv)
    if args.layers is None:
        args.layers = 1 if args.model == "lstm" else 2
    if args.lr is None:
        args.lr = 3e-3 if args.model == "lstm" else 1e-3
    return args


def main(argv=None):
    args = parse_args(argv)
    xpnn.manual_seed(args.seed)
    train, val, n_files = load_corpus(args.corpus_mb)
    print(f"corpus: {n_files} stdlib files, {len(train):,} train / {len(val):,} val chars, "
          f"vocabulary {V}")
    model = build(args.model, args)
    be = xpnn.get_backend(args.backend, args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    print(f"model: {args.model}, {model.num_parameters():,} parameters, backend {be.name}")
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        x, y = batch_windows(train, args.batch, args.context, rng)
        loss = train_step(model, opt, xpnn.tensor(x, backend=be), xpnn.tensor(y, backend=be))
        if step % args.log_every == 0 or step == args.steps:
            value = float(loss.item())
            print(f"step {step:5d}  train loss {value:.3f} nats ({value / math.log(2):.3f} "
                  f"bpc)  {time.perf_counter() - start:.0f} s")
    elapsed = time.perf_counter() - start
    Xv, Yv = val_windows(val, args.context, args.eval_chars)
    val_loss = evaluate(model, Xv, Yv, 64, be)
    print(f"training: {args.steps} steps x {args.batch} x {args.context} chars in "
          f"{elapsed:.0f} s ({args.steps * args.batch * args.context / elapsed:,.0f} chars/s)")
    print(f"validation: {val_loss:.4f} nats/char = {val_loss / math.log(2):.4f} bits/char "
          f"over {Xv.size:,} chars")
    for temp in args.temperature:
        text = sample(model, args.model, "def ", args.sample_chars, temp, args.context, be,
                      args.seed)
        print(f"\n--- sample, temperature {temp} ---\n{text}")
    return val_loss / math.log(2)


if __name__ == "__main__":
    main()

"""MNIST-1D (Greydanus 2020): 40-point 1-D signals of 10 digit templates, 4000 / 1000 split.

The data are generated locally by the ``mnist1d`` package (``make_dataset``, seed 42), so
nothing is downloaded.

    python examples/mnist1d.py --model mlp --backend numpy --out plots/mnist1d

Prints ``test accuracy: ...`` on the 1000 test signals. The MNIST-1D paper reports 68% for
its MLP; a wider MLP with dropout, weight decay and a cosine schedule does better.
"""
import argparse
import os
import sys

# This script shares its name with the mnist1d package: run as a script, its own folder is
# first on sys.path and "import mnist1d" would find this file instead of the package.
if os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import xpnn
import xpnn.functional as F
from xpnn import nn, optim
from xpnn.data import DataLoader, mnist1d


def build_mlp(args):
    """40 -> 512 -> 512 -> 10 with GELU and dropout; input (N, 40)."""
    return nn.Sequential(nn.Linear(40, 512), nn.GELU(), nn.Dropout(args.dropout),
                         nn.Linear(512, 512), nn.GELU(), nn.Dropout(args.dropout),
                         nn.Linear(512, 10))


class GRUClassifier(nn.Module):
    """The signal as 40 steps of one value -> bidirectional GRU -> every step's state -> Linear
    (the MNIST-1D paper's GRU design, wider)."""

    def __init__(self, hidden=32, dropout=0.0):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(40 * 2 * hidden, 10)

    def forward(self, x):
        out, _ = self.gru(F.reshape(x, (x.shape[0], x.shape[1], 1)))  # (N, 40, 2 * hidden)
        return self.head(self.drop(F.flatten(out, 1)))


def build_gru(args):
    """Bidirectional GRU, hidden 32; input (N, 40)."""
    return GRUClassifier(32, args.dropout)


class TransformerClassifier(nn.Module):
    """Patches of ``patch`` points as tokens -> learned positions -> pre-norm Transformer
    encoder -> mean over tokens -> Linear."""

    def __init__(self, patch=4, d_model=64, nhead=4, layers=3, dropout=0.1):
        super().__init__()
        self.patch = patch
        self.embed = nn.Linear(patch, d_model)
        self.pos = nn.LearnedPositionalEncoding(d_model, 40 // patch, batch_first=True)
        layer = nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, 10)

    def forward(self, x):
        tokens = F.reshape(x, (x.shape[0], x.shape[1] // self.patch, self.patch))
        h = self.encoder(self.pos(self.embed(tokens)))
        return self.head(F.mean(h, axis=1))


def build_transformer(args):
    """3-layer Transformer encoder over 10 patches of 4 points, width 64; input (N, 40)."""
    return TransformerClassifier(dropout=min(args.dropout, 0.1))


class CNNClassifier(nn.Module):
    """The signal as one channel of 40 points -> conv1d-BN-ReLU blocks with max pooling
    (40 -> 20 -> 10 points) -> global average and max pooling -> dropout -> Linear. Wider
    than the paper's 3-layer CNN (25 channels, no normalization)."""

    def __init__(self, width=64, dropout=0.3):
        super().__init__()

        def block(c_in, c_out, k=3):
            return [nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False),
                    nn.BatchNorm1d(c_out), nn.ReLU()]
        w = width
        self.features = nn.Sequential(*block(1, w, 5), *block(w, w), nn.MaxPool1d(2),
                                      *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool1d(2),
                                      *block(2 * w, 2 * w))
        self.avg, self.max = nn.AdaptiveAvgPool1d(1), nn.MaxPool1d(10)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, 10))

    def forward(self, x):
        h = self.features(F.reshape(x, (x.shape[0], 1, x.shape[1])))  # (N, 2w, 10)
        pooled = F.concat([F.flatten(self.avg(h), 1), F.flatten(self.max(h), 1)], axis=1)
        return self.head(pooled)


def build_cnn(args):
    """1-D CNN, 5 conv-BN-ReLU layers of 64/128 channels; input (N, 40)."""
    return CNNClassifier(64, args.dropout)


# model name -> builder(args) -> Module taking (N, 40) float32 signals, giving (N, 10) logits
MODELS = {"mlp": build_mlp, "gru": build_gru, "transformer": build_transformer,
          "cnn": build_cnn}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="mlp", choices=sorted(MODELS))
    p.add_argument("--backend", default="numpy",
                   help="numpy, torch, cupy or array_api_strict (default: numpy)")
    p.add_argument("--device", default=None, help="device on that backend, e.g. cuda:0")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--train-samples", type=int, default=None,
                   help="use only the first N training signals (quick runs)")
    p.add_argument("--threads", type=int, default=None,
                   help="pin the CPU thread count (default: xpnn's policy follows the "
                        "machine's load)")
    p.add_argument("--seed", type=int, default=0, help="init/shuffle seed (the data: 42)")
    p.add_argument("--out", default=None, help="directory for PNG plots (default: none)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        xpnn.set_num_threads(args.threads)
    xpnn.manual_seed(args.seed)
    (X_train, y_train), (X_test, y_test) = mnist1d(seed=42)
    if args.train_samples:
        X_train, y_train = X_train[:args.train_samples], y_train[:args.train_samples]
    model = MODELS[args.model](args).to(args.backend, args.device)
    train = DataLoader(X_train, y_train, batch_size=args.batch_size, shuffle=True,
                       backend=args.backend, device=args.device, seed=args.seed)
    test = DataLoader(X_test, y_test, batch_size=1000, backend=args.backend, device=args.device)
    opt = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = optim.CosineAnnealingLR(opt, T_max=args.epochs * len(train))
    # the test set is only watched (curves), never used to choose anything
    history = xpnn.fit(model, train, loss=F.cross_entropy, optimizer=opt, epochs=args.epochs,
                       val=test, callbacks=[xpnn.callbacks.LearningRateScheduler(sched, "step")],
                       progress=sys.stderr.isatty())
    res = xpnn.evaluate(model, test, F.cross_entropy, metrics=["accuracy", "confusion_matrix"])
    acc = res["accuracy"]
    if args.out:
        from xpnn import viz
        os.makedirs(args.out, exist_ok=True)
        viz.plot_history(history, save=os.path.join(args.out, "mnist1d_history.png"))
        viz.plot_confusion_matrix(res["confusion_matrix"],
                                  save=os.path.join(args.out, "mnist1d_confusion.png"))
        pred = xpnn.predict(model, X_test[:20]).argmax(axis=1)
        viz.plot_samples(X_test[:20], y_test[:20], pred, cols=10,
                         save=os.path.join(args.out, "mnist1d_samples.png"))
        print(f"plots written to {args.out}/")
    print(f"train accuracy (last epoch, dropout on): {history['accuracy'][-1]:.4f}")
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()

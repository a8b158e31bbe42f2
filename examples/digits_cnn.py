"""Handwritten digits (scikit-learn's 8x8 set) with a small CNN.

    python examples/digits_cnn.py --backend numpy

Prints ``test accuracy: ...`` on the 359 held-out images (the stratified, seeded 80/20 split
of xpnn.data.digits, the same as examples/digits.py, whose MLP reaches about 97%).
"""
import argparse
import sys
import time

import numpy as np

import xpnn
import xpnn.functional as F
from xpnn import nn, optim
from xpnn.data import DataLoader, digits


def build():
    """conv32-BN-ReLU, conv64-BN-ReLU, 2x2 max pool (8x8 -> 4x4), conv64-BN-ReLU, global
    average pool, dropout, dense 10."""
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                nn.ReLU()]
    return nn.Sequential(*block(1, 32), *block(32, 64), nn.MaxPool2d(2), *block(64, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(64, 10))


class Shifted:
    """Training batches, each image moved by up to one pixel (zero fill), fresh every
    epoch; a re-iterable for xpnn.fit."""

    def __init__(self, X, y, batch_size, seed, backend, device):
        self.X, self.y, self.bs = X, y, batch_size
        self.rng = np.random.default_rng(seed)
        self.backend, self.device = backend, device

    def __len__(self):
        return -(-len(self.X) // self.bs)

    def __iter__(self):
        n = len(self.X)
        order = self.rng.permutation(n)
        P = np.pad(self.X[order], ((0, 0), (0, 0), (1, 1), (1, 1)))
        dy, dx = self.rng.integers(0, 3, (2, n))
        rows = dy[:, None] + np.arange(8)
        cols = dx[:, None] + np.arange(8)
        X = P[np.arange(n)[:, None, None], 0, rows[:, :, None], cols[:, None, :]][:, None]
        y = self.y[order]
        for i in range(0, n, self.bs):
            yield (xpnn.tensor(X[i:i + self.bs], backend=self.backend, device=self.device),
                   xpnn.tensor(y[i:i + self.bs], backend=self.backend, device=self.device))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numpy",
                   help="numpy, torch, cupy or array_api_strict (default: numpy)")
    p.add_argument("--device", default=None, help="device on that backend, e.g. cuda:0")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3, help="peak AdamW learning rate (1cycle)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    t0 = time.perf_counter()
    xpnn.manual_seed(args.seed)
    (X_train, y_train), (X_test, y_test) = digits(test_size=0.2, seed=0, flatten=False)
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    model = build().to(args.backend, args.device)
    train = Shifted(X_train, y_train, args.batch_size, args.seed, args.backend, args.device)
    test = DataLoader(X_test, y_test, batch_size=512, backend=args.backend, device=args.device)
    opt = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    sched = optim.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(train))
    xpnn.fit(model, train, loss=lambda o, t: F.cross_entropy(o, t, label_smoothing=0.1),
             optimizer=opt, epochs=args.epochs,
             callbacks=[xpnn.callbacks.LearningRateScheduler(sched, "step")],
             progress=sys.stderr.isatty())
    res = xpnn.evaluate(model, test, F.cross_entropy)
    acc = res["accuracy"]
    print(f"test loss: {res['loss']:.4f}")
    print(f"test accuracy: {acc:.4f} ({round(acc * len(y_test))}/{len(y_test)})")
    print(f"wall time: {time.perf_counter() - t0:.0f} s")
    return acc


if __name__ == "__main__":
    main()

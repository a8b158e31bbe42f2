"""XOR with the classic 2-4-1 network: the smallest problem a linear model cannot solve.

    python examples/xor.py --backend numpy --epochs 800 --out plots/xor

Prints the four predictions and ``test accuracy: 1.0000`` (4/4) when it has learned XOR.
"""
import os
import sys

import numpy as np

import xpnn
import xpnn.functional as F
from xpnn import nn, optim
from xpnn.data import DataLoader, xor

# examples/_common.py, found also when this file is imported by path (tests), not run
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import example_parser, setup  # noqa: E402

del sys.path[0]  # leave sys.path as it was (examples/mnist1d.py would shadow a package)


def parse_args(argv=None):
    p = example_parser(__doc__, epochs=800, lr=0.1,
                       epochs_help="full-batch steps (default: 800)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup(args)
    X, y = xor()
    targets = y.astype(np.float32).reshape(-1, 1)          # one logit per sample
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    model.to(args.backend, args.device)
    data = DataLoader(X, targets, batch_size=4, backend=args.backend, device=args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    history = xpnn.fit(model, data, loss=F.binary_cross_entropy_with_logits, optimizer=opt,
                       epochs=args.epochs, metrics=["accuracy"], progress=False)
    logits = xpnn.predict(model, X)[:, 0]
    for x, t, z in zip(X, y, logits):
        print(f"  {x.astype(int).tolist()} -> p(1) = {1 / (1 + np.exp(-z)):.3f}  (target {t})")
    acc = float(np.mean((logits > 0) == (y == 1)))
    print(f"final training loss: {history['loss'][-1]:.4f}")
    if args.out:
        from xpnn import viz
        os.makedirs(args.out, exist_ok=True)
        viz.plot_history(history, save=os.path.join(args.out, "xor_history.png"))
        viz.plot_network(model, save=os.path.join(args.out, "xor_network.png"))
    print(f"test accuracy: {acc:.4f} ({round(acc * 4)}/4)")
    return acc


if __name__ == "__main__":
    main()

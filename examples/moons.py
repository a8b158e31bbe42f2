"""Two moons (1000 points, noise 0.1): a small MLP learns a curved decision boundary.

The quick start: no download, a few seconds on a laptop CPU.

    python examples/moons.py --backend numpy --out plots/moons

Prints ``test accuracy: ...`` on 200 held-out points; with ``--out`` it draws the decision
boundary, the training curves and the network.
"""
import os
import sys

import xpnn
import xpnn.functional as F
from xpnn import nn, optim
from xpnn.data import DataLoader, moons, train_test_split

# examples/_common.py, found also when this file is imported by path (tests), not run
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import example_parser, setup  # noqa: E402

del sys.path[0]  # leave sys.path as it was (examples/mnist1d.py would shadow a package)


def parse_args(argv=None):
    p = example_parser(__doc__, epochs=40, lr=0.01, batch_size=32)
    p.add_argument("--n", type=int, default=1000, help="number of points")
    p.add_argument("--noise", type=float, default=0.1)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup(args)
    X, y = moons(args.n, noise=args.noise, seed=args.seed)
    (X_train, y_train), (X_test, y_test) = train_test_split(X, y, test_size=0.2,
                                                            seed=args.seed)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 2)).to(args.backend, args.device)
    train = DataLoader(X_train, y_train, batch_size=args.batch_size, shuffle=True,
                       backend=args.backend, device=args.device, seed=args.seed)
    test = DataLoader(X_test, y_test, batch_size=256, backend=args.backend, device=args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    # the test set is only watched (curves), never used to choose anything
    history = xpnn.fit(model, train, loss=F.cross_entropy, optimizer=opt, epochs=args.epochs,
                       val=test, progress=True)
    acc = xpnn.evaluate(model, test, metrics=["accuracy"])["accuracy"]
    if args.out:
        from xpnn import viz
        os.makedirs(args.out, exist_ok=True)
        viz.plot_decision_boundary(model, X_test, y_test, title=f"moons: test accuracy "
                                   f"{acc:.3f}", save=os.path.join(args.out,
                                                                   "moons_boundary.png"))
        viz.plot_history(history, save=os.path.join(args.out, "moons_history.png"))
        viz.plot_network(model, save=os.path.join(args.out, "moons_network.png"))
        print(f"plots written to {args.out}/")
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()

"""Fashion-MNIST with an MLP (784-512-256-10): 60000 training and 10000 test images.

The IDX files are read from ``--data DIR``, ``$XPNN_DATA``, or
``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``); otherwise
they are downloaded once from the official mirror (SHA-256 checked).

    python examples/fashion_mnist.py --backend numpy --epochs 12 --out plots/fashion

Prints ``test accuracy: ...`` and the wall time of training. Published MLPs reach 88-90%.
"""
import os
import sys
import time

import numpy as np

import xpnn
import xpnn.functional as F
from xpnn import nn, optim
from xpnn.data import FASHION_CLASSES, DataLoader, fashion_mnist

# examples/_common.py, found also when this file is imported by path (tests), not run
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import example_parser, setup  # noqa: E402

del sys.path[0]  # leave sys.path as it was (examples/mnist1d.py would shadow a package)


def parse_args(argv=None):
    p = example_parser(__doc__, epochs=12, lr=1e-3, lr_help="peak Adam learning rate",
                       batch_size=128, threads=True)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--train-samples", type=int, default=None,
                   help="use only the first N training images (quick runs)")
    p.add_argument("--data", default=None, help="folder holding the four IDX files")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup(args)
    (X_train, y_train), (X_test, y_test) = fashion_mnist(path=args.data, flatten=True)
    if args.train_samples:
        X_train, y_train = X_train[:args.train_samples], y_train[:args.train_samples]
    # one mean and std for all pixels, from the training images
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(args.dropout),
                          nn.Linear(512, 256), nn.ReLU(), nn.Dropout(args.dropout),
                          nn.Linear(256, 10)).to(args.backend, args.device)
    train = DataLoader(X_train, y_train, batch_size=args.batch_size, shuffle=True,
                       backend=args.backend, device=args.device, seed=args.seed)
    test = DataLoader(X_test, y_test, batch_size=2000, backend=args.backend, device=args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sched = optim.CosineAnnealingLR(opt, T_max=args.epochs * len(train))
    t0 = time.perf_counter()
    # the test set is only watched (curves), never used to choose anything
    history = xpnn.fit(model, train, loss=F.cross_entropy, optimizer=opt, epochs=args.epochs,
                       val=test, callbacks=[xpnn.callbacks.LearningRateScheduler(sched, "step")],
                       progress=True if sys.stderr.isatty() else "lines")
    seconds = time.perf_counter() - t0
    res = xpnn.evaluate(model, test, F.cross_entropy, metrics=["accuracy", "confusion_matrix"])
    acc = res["accuracy"]
    if args.out:
        from xpnn import viz
        os.makedirs(args.out, exist_ok=True)
        viz.plot_history(history, save=os.path.join(args.out, "fashion_history.png"))
        viz.plot_confusion_matrix(res["confusion_matrix"], class_names=FASHION_CLASSES,
                                  save=os.path.join(args.out, "fashion_confusion.png"))
        pred = np.argmax(xpnn.predict(model, X_test[:36]), axis=1)
        viz.plot_samples(X_test[:36] * std + mean, y_test[:36], pred,
                         class_names=FASHION_CLASSES,
                         save=os.path.join(args.out, "fashion_samples.png"))
        viz.plot_network(model, save=os.path.join(args.out, "fashion_network.png"))
        print(f"plots written to {args.out}/")
    print(f"training time: {seconds:.1f} s for {args.epochs} epochs "
          f"(backend {args.backend}, evaluation of the test set each epoch included)")
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()

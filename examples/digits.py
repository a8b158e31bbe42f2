"""Handwritten digits (scikit-learn's 8x8 set, 1797 images) with an MLP.

    python examples/digits.py --backend numpy --out plots/digits

Prints ``test accuracy: ...`` on the 359 held-out images (a stratified, seeded 80/20 split).
scikit-learn's MLPClassifier reaches about 97% on this data.
"""
import os
import sys

import xpnn
import xpnn.functional as F
from xpnn import nn, optim
from xpnn.data import DataLoader, digits

# examples/_common.py, found also when this file is imported by path (tests), not run
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import example_parser, setup  # noqa: E402

del sys.path[0]  # leave sys.path as it was (examples/mnist1d.py would shadow a package)


def parse_args(argv=None):
    p = example_parser(__doc__, epochs=40, lr=2e-3, lr_help="peak Adam learning rate",
                       batch_size=32, threads=True)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup(args)
    (X_train, y_train), (X_test, y_test) = digits(test_size=0.2, seed=0)
    # standardise each pixel with training statistics; +0.1 keeps the border pixels, which
    # are almost always 0, from being blown up
    mean, scale = X_train.mean(axis=0), X_train.std(axis=0) + 0.1
    X_train, X_test = (X_train - mean) / scale, (X_test - mean) / scale
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(128, 10)).to(args.backend, args.device)
    train = DataLoader(X_train, y_train, batch_size=args.batch_size, shuffle=True,
                       backend=args.backend, device=args.device, seed=args.seed)
    test = DataLoader(X_test, y_test, batch_size=512, backend=args.backend, device=args.device)
    opt = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    # cosine decay over the whole run, stepped once per batch
    sched = optim.CosineAnnealingLR(opt, T_max=args.epochs * len(train))
    def loss(output, target):  # label smoothing: about +0.5% test accuracy here
        return F.cross_entropy(output, target, label_smoothing=0.1)

    history = xpnn.fit(model, train, loss=loss, optimizer=opt, epochs=args.epochs,
                       val=test, callbacks=[xpnn.callbacks.LearningRateScheduler(sched, "step")],
                       progress=sys.stderr.isatty())
    res = xpnn.evaluate(model, test, F.cross_entropy, metrics=["accuracy", "confusion_matrix"])
    acc = res["accuracy"]
    if args.out:
        from xpnn import viz
        os.makedirs(args.out, exist_ok=True)
        viz.plot_history(history, save=os.path.join(args.out, "digits_history.png"))
        viz.plot_confusion_matrix(res["confusion_matrix"],
                                  save=os.path.join(args.out, "digits_confusion.png"))
        pred = xpnn.predict(model, X_test[:36]).argmax(axis=1)
        viz.plot_samples(X_test[:36] * scale + mean, y_test[:36], pred,
                         save=os.path.join(args.out, "digits_samples.png"))
        print(f"plots written to {args.out}/")
    print(f"test loss: {res['loss']:.4f}")
    print(f"test accuracy: {acc:.4f} ({round(acc * len(y_test))}/{len(y_test)})")
    return acc


if __name__ == "__main__":
    main()

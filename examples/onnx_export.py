"""Train a small CNN on the 8x8 digits, export it to ONNX, and check onnxruntime against it.

    python examples/onnx_export.py --out digits_cnn.onnx --backend numpy

Prints xpnn's test accuracy, then onnxruntime's on the same 359 held-out images (run in two
batches of different sizes through the graph's dynamic batch axis), how many predicted labels
agree, and the largest difference between the two sets of logits. Needs the ``onnx`` extra
(``pip install "xpnn[onnx]"``) and scikit-learn for the data.
"""
import argparse
import os
import sys
import time

import numpy as np

import xpnn
import xpnn.functional as F
import xpnn.onnx
from xpnn import nn, optim
from xpnn.data import DataLoader, digits

# examples/_common.py, found also when this file is imported by path (tests), not run
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import limit_threads  # noqa: E402

del sys.path[0]  # leave sys.path as it was


def build():
    """conv8-BN-ReLU, 2x2 max pool (8x8 -> 4x4), conv16-BN-ReLU, global average pool,
    dropout, dense 10."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(32, 10))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="digits_cnn.onnx", help="where to write the ONNX file")
    p.add_argument("--backend", default="numpy",
                   help="numpy, torch, cupy or array_api_strict (default: numpy)")
    p.add_argument("--device", default=None, help="device on that backend, e.g. cuda:0")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    p.add_argument("--threads", type=int, default=None,
                   help="pin the CPU thread count (default: xpnn's policy follows the "
                        "machine's load)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    """Returns {"xpnn_accuracy", "onnx_accuracy", "agreement", "max_abs_diff"}."""
    import onnxruntime as ort

    args = parse_args(argv)
    t0 = time.perf_counter()
    if args.threads:
        limit_threads(args.threads)
    xpnn.manual_seed(args.seed)
    (X_train, y_train), (X_test, y_test) = digits(test_size=0.2, seed=0, flatten=False)
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    model = build().to(args.backend, args.device)
    train = DataLoader(X_train, y_train, batch_size=32, shuffle=True, seed=args.seed,
                       backend=args.backend, device=args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    xpnn.fit(model, train, loss=F.cross_entropy, optimizer=opt, epochs=args.epochs,
             progress=False)

    model.eval()
    def on_backend(X):
        return xpnn.tensor(X, backend=args.backend, device=args.device)

    with xpnn.no_grad():
        logits = model(on_backend(X_test)).numpy()
    acc = float((logits.argmax(1) == y_test).mean())

    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    xpnn.onnx.export(model, on_backend(X_test[:2]), args.out, input_names=["image"],
                     output_names=["logits"], dynamic_axes={"image": {0: "batch"}})

    session = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    half = len(X_test) // 2  # two batch sizes through the one dynamic axis
    onnx_logits = np.concatenate([session.run(None, {"image": part})[0]
                                  for part in (X_test[:half], X_test[half:])])
    onnx_pred = onnx_logits.argmax(1)
    result = {"xpnn_accuracy": acc,
              "onnx_accuracy": float((onnx_pred == y_test).mean()),
              "agreement": float((onnx_pred == logits.argmax(1)).mean()),
              "max_abs_diff": float(np.abs(onnx_logits - logits).max())}
    size_kb = os.path.getsize(args.out) / 1024
    print(f"xpnn test accuracy:        {result['xpnn_accuracy']:.4f}")
    print(f"onnxruntime test accuracy: {result['onnx_accuracy']:.4f} ({args.out}, "
          f"{size_kb:.0f} KiB)")
    print(f"same predicted label:      {result['agreement']:.4f} of {len(y_test)} images")
    print(f"max |logit difference|:    {result['max_abs_diff']:.2e}")
    print(f"wall time: {time.perf_counter() - t0:.1f} s")
    return result


if __name__ == "__main__":
    main()

"""Local stand-ins for the downloads of the PyTorch example programs (host side, NumPy only).

The programs in this folder are PyTorch's examples with the data source changed: instead of
torchvision downloading MNIST / FashionMNIST, they read the Fashion-MNIST IDX files that the
Debian package ``dataset-fashion-mnist`` installs, and the word language model reads a small
corpus written from the docstrings of Python's standard library. Nothing here imports torch
or xpnn: the programs wrap these arrays with their own library's ``torch.tensor``.

Subsets keep the test runs short; from the environment (unset: the whole set):

    LOCAL_DATA_TRAIN_LIMIT   first N training images
    LOCAL_DATA_TEST_LIMIT    first N test images
    FASHION_MNIST_DIR        where the IDX files are (default /usr/share/datasets/fashion-mnist)

Write the word language model's corpus (train.txt, valid.txt, test.txt) with

    python tests/pytorch_programs/local_data.py corpus DIR [--lines N]
"""
from __future__ import annotations

import argparse
import gzip
import inspect
import os
import sys

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path, limit=None):
    """An IDX file (optionally gzipped) as a NumPy array; ``limit`` reads the first items only.

    The format: two zero bytes, a dtype code, the number of dimensions, one big-endian uint32
    per dimension, then the data in C order.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(4)
        if len(head) != 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
            raise ValueError(f"read_idx: {path} is not an IDX file (header {head!r})")
        dtype, ndim = np.dtype(_IDX_DTYPES[head[2]]), head[3]
        dims = [int(d) for d in np.frombuffer(f.read(4 * ndim), dtype=">u4")]
        if limit is not None:
            dims[0] = min(dims[0], int(limit))
        count = int(np.prod(dims))
        data = f.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"read_idx: {path} is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _limit(train):
    value = os.environ.get("LOCAL_DATA_TRAIN_LIMIT" if train else "LOCAL_DATA_TEST_LIMIT")
    return int(value) if value else None


def fashion_mnist(train=True, root=None):
    """``(images, labels)``: uint8 (N, 28, 28) and int64 (N,) from the local IDX files.

    Args:
        train: the 60000-image training split (False: the 10000-image test split).
        root: folder of the ``*-idx?-ubyte.gz`` files (default: $FASHION_MNIST_DIR or the
            Debian package's folder).
    """
    root = root or os.environ.get("FASHION_MNIST_DIR") or DEFAULT_DIR
    prefix = "train" if train else "t10k"
    paths = [os.path.join(root, f"{prefix}-{kind}-ubyte.gz")
             for kind in ("images-idx3", "labels-idx1")]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"fashion_mnist: {missing[0]} is missing; install the Debian "
                                f"package dataset-fashion-mnist or set FASHION_MNIST_DIR")
    limit = _limit(train)
    images = read_idx(paths[0], limit)
    labels = read_idx(paths[1], limit).astype(np.int64)
    return images, labels


def corpus_lines():
    """Lines of English text: the docstrings of a few standard-library modules and of their
    public functions and classes, one paragraph per line (Python's own text, always here)."""
    import argparse as m1, calendar as m2, json as m3, textwrap as m4, fractions as m5
    import string as m6, heapq as m7, bisect as m8, shlex as m9, difflib as m10
    lines = []
    for mod in (m1, m2, m3, m4, m5, m6, m7, m8, m9, m10):
        docs = [inspect.getdoc(mod)]
        for name, obj in sorted(vars(mod).items()):
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj)):
                docs.append(inspect.getdoc(obj))
        for doc in docs:
            for para in (doc or "").split("\n\n"):
                words = para.split()
                if len(words) >= 4 and not para.lstrip().startswith(">>>"):
                    lines.append(" ".join(words))
    return lines


def write_corpus(path, lines=None):
    """Write ``train.txt``, ``valid.txt`` and ``test.txt`` (the word language model's data.py
    format: whitespace-separated words, one sentence or paragraph per line) into ``path``.

    Args:
        path: the folder (made if missing).
        lines: how many lines in all (default: every line of :func:`corpus_lines`); 80% go
            to train.txt and 10% to each of the others.
    """
    text = corpus_lines()
    if lines is not None:
        text = text[:lines]
    n = len(text)
    cut1, cut2 = int(n * 0.8), int(n * 0.9)
    os.makedirs(path, exist_ok=True)
    for name, part in (("train.txt", text[:cut1]), ("valid.txt", text[cut1:cut2]),
                       ("test.txt", text[cut2:])):
        with open(os.path.join(path, name), "w", encoding="utf8") as f:
            f.write("\n".join(part) + "\n")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the local data of the programs")
    sub = parser.add_subparsers(dest="what", required=True)
    corpus = sub.add_parser("corpus", help="the word language model's corpus")
    corpus.add_argument("dir")
    corpus.add_argument("--lines", type=int, default=None)
    args = parser.parse_args(argv)
    print(write_corpus(args.dir, args.lines))


if __name__ == "__main__":
    sys.exit(main())

"""The playground's 2-D datasets, its input features, and CSV uploads.

Generated points lie in the square [-6, 6]^2 (TensorFlow Playground's plane). Each generator
draws from its own ``np.random.default_rng(seed)``: the same seed gives the same points on
every machine. Host-side code, so NumPy is used directly.
"""
from __future__ import annotations

import csv
import io
import math

import numpy as np

EXTENT = 6.0
CLASSIFICATION = ("circle", "xor", "gauss", "spiral", "moons")
REGRESSION = ("plane", "multigauss")
DATASETS = CLASSIFICATION + REGRESSION
MULTICLASS = ("gauss", "spiral")          # the generators that take classes > 2
MAX_CLASSES = 6
MAX_CSV_ROWS = 10_000
MAX_CSV_CLASSES = 10

FEATURES = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b,
    "x1x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: np.sin(a),
    "sin(x2)": lambda a, b: np.sin(b),
}
# NumPy spelling of each feature, used in the exported script
FEATURE_CODE = {"x1": "x1", "x2": "x2", "x1^2": "x1 * x1", "x2^2": "x2 * x2",
                "x1x2": "x1 * x2", "sin(x1)": "np.sin(x1)", "sin(x2)": "np.sin(x2)"}


class Dataset:
    """Points, their labels (int64) or targets (float32), and a train/test split.

    Attributes:
        X: float32 (n, 2); y: int64 (n,) class labels or float32 (n,) regression targets.
        train, test: int index arrays into X.
        problem: "classification" or "regression"; classes: number of classes (0 for
        regression); class_names: display names; extent: (xmin, xmax, ymin, ymax).
    """

    def __init__(self, name, X, y, problem, train_ratio, seed, class_names=None, extent=None):
        self.name, self.problem = name, problem
        self.X = np.asarray(X, dtype=np.float32)
        self.y = np.asarray(y, dtype=np.int64 if problem == "classification" else np.float32)
        self.classes = int(self.y.max()) + 1 if problem == "classification" else 0
        if problem == "classification":
            self.classes = max(self.classes, len(class_names or ()), 2)
        self.class_names = list(class_names) if class_names else \
            [str(c) for c in range(self.classes)]
        self.extent = extent or (-EXTENT, EXTENT, -EXTENT, EXTENT)
        self.target_scale = 1.0 if problem == "classification" else \
            float(max(1e-6, np.abs(self.y).max()))
        order = np.random.default_rng([seed, 7]).permutation(len(self.X))
        n_train = min(len(order) - 1, max(1, round(len(order) * train_ratio / 100)))
        self.train, self.test = np.sort(order[:n_train]), np.sort(order[n_train:])


def features(X, names):
    """The network input for points X (n, 2): the chosen features as float32 (n, k)."""
    a, b = X[:, 0].astype(np.float64), X[:, 1].astype(np.float64)
    return np.stack([FEATURES[f](a, b) for f in names], axis=1).astype(np.float32)


def generate(name, n=500, noise=0, classes=2, seed=0, train_ratio=50):
    """One of ``DATASETS`` as a :class:`Dataset`.

    Args:
        name: dataset name; n: number of points; noise: percent in [0, 50];
        classes: for "gauss" and "spiral", 2..6; seed: generator seed;
        train_ratio: percent of points used for training, in [10, 90].
    """
    rng = np.random.default_rng(seed)
    f = noise / 100.0
    if name in REGRESSION:
        X = rng.uniform(-EXTENT, EXTENT, size=(n, 2))
        y = _plane(X) if name == "plane" else _multigauss(X)
        y = np.clip(y + rng.normal(0.0, 1.0, n) * f, -1.0, 1.0)
        return Dataset(name, X, y, "regression", train_ratio, seed)
    k = classes if name in MULTICLASS else 2
    X, y = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral,
            "moons": _moons}[name](rng, n, f, k)
    X = np.clip(X, -EXTENT, EXTENT)
    return Dataset(name, X, y, "classification", train_ratio, seed)


def _jitter(rng, X, f, scale):
    return X + rng.normal(0.0, f * scale, size=X.shape)


def _circle(rng, n, f, k):
    # class 1 inside radius 2.5, class 0 on a ring 3.5..5; noise blurs the gap
    inner = n // 2
    r = np.concatenate([rng.uniform(0, 2.5, inner), rng.uniform(3.5, 5.0, n - inner)])
    t = rng.uniform(0, 2 * math.pi, n)
    X = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    y = (np.arange(n) < inner).astype(np.int64)
    return _jitter(rng, X, f, 2.5), y


def _xor(rng, n, f, k):
    X = rng.uniform(-5, 5, size=(n, 2))
    X += np.where(X > 0, 0.3, -0.3)      # keep points off the axes
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return _jitter(rng, X, f, 2.5), y


def _gauss(rng, n, f, k):
    y = np.arange(n) % k
    angle = 2 * math.pi * y / k + math.pi / 4
    centers = 2.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X = centers + rng.normal(0.0, 0.6 + 4.0 * f, size=(n, 2))
    return X, y


def _spiral(rng, n, f, k):
    y = np.arange(n) % k
    i = np.arange(n) // k
    s = i / max(1, i.max())
    r = 5.0 * s + 0.2
    t = 1.75 * 2 * math.pi * s + 2 * math.pi * y / k
    X = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return _jitter(rng, X, f, 2.0), y


def _moons(rng, n, f, k):
    half = n // 2
    t = rng.uniform(0, math.pi, n)
    upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], axis=1)
    lower = np.stack([1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], axis=1)
    X = (np.concatenate([upper, lower]) - [0.5, 0.25]) * 3.0
    y = (np.arange(n) >= half).astype(np.int64)
    return _jitter(rng, X, f, 2.0), y


def _plane(X):
    return (X[:, 0] + X[:, 1]) / (2 * EXTENT)


_BUMPS = [(-3, 2.5, 1), (0, 2.5, -1), (3, 2.5, 1), (-3, -2.5, -1), (0, -2.5, 1), (3, -2.5, -1)]


def _multigauss(X):
    y = np.zeros(len(X))
    for cx, cy, sign in _BUMPS:
        y += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 2.0)
    return y


def parse_csv(text, train_ratio=50, seed=0):
    """A :class:`Dataset` from CSV text with rows ``x1,x2,label`` (or ``x1,x2,target``).

    An optional header row names the columns; a third column named "target" or "value",
    or holding non-integer numbers, makes it a regression set; integers or names make
    classes (at most 10). Raises ValueError listing the first bad rows.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("upload: the CSV is empty; expected rows 'x1,x2,label'")
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    header = None
    if rows and not _is_number(rows[0][0].strip() if rows[0] else ""):
        header, rows = [c.strip().lower() for c in rows[0]], rows[1:]
    if len(rows) > MAX_CSV_ROWS:
        raise ValueError(f"upload: {len(rows)} rows; at most {MAX_CSV_ROWS} are accepted")
    points, labels, errors = [], [], []
    for i, row in enumerate(rows, start=2 if header else 1):
        cells = [c.strip() for c in row]
        if len(cells) != 3:
            errors.append(f"row {i}: expected 3 values (x1,x2,label), got {len(cells)}")
            continue
        try:
            x1, x2 = float(cells[0]), float(cells[1])
        except ValueError:
            errors.append(f"row {i}: x1 and x2 must be numbers, got {cells[0]!r}, {cells[1]!r}")
            continue
        if not (math.isfinite(x1) and math.isfinite(x2)):
            errors.append(f"row {i}: x1 and x2 must be finite, got {cells[0]!r}, {cells[1]!r}")
            continue
        if not cells[2]:
            errors.append(f"row {i}: the label/target is empty")
            continue
        points.append((x1, x2))
        labels.append(cells[2])
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ValueError("upload: bad rows: " + "; ".join(errors[:5]) + more)
    if len(points) < 4:
        raise ValueError(f"upload: {len(points)} data rows; at least 4 are needed")
    X = np.array(points, dtype=np.float64)
    numeric = all(_is_number(v) for v in labels)
    regression = header is not None and len(header) == 3 and header[2] in ("target", "value")
    if numeric:
        values = np.array([float(v) for v in labels])
        if not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ValueError(f"upload: row {bad + (2 if header else 1)}: the target must be "
                             f"finite, got {labels[bad]!r}")
        regression = regression or not np.all(values == np.round(values))
    if regression:
        if not numeric:
            raise ValueError("upload: a regression target must be a number in every row")
        problem, y, names = "regression", values, None
    else:
        if numeric:  # "1" and "1.0" are one class
            labels = [str(int(v)) for v in values]
        names = sorted(set(labels), key=lambda v: (int(v), v) if numeric else (0, v))
        if len(names) > MAX_CSV_CLASSES:
            raise ValueError(f"upload: {len(names)} distinct labels; at most "
                             f"{MAX_CSV_CLASSES} classes (use a 'target' header for "
                             "regression)")
        if len(names) < 2:
            raise ValueError(f"upload: every row has label {names[0]!r}; a classification "
                             "set needs at least 2 classes")
        index = {v: c for c, v in enumerate(names)}
        problem, y = "classification", np.array([index[v] for v in labels])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum((hi - lo) * 0.05, 1e-3)
    extent = (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]),
              float(hi[1] + pad[1]))
    return Dataset("csv", X, y, problem, train_ratio, seed, names, extent)


def _is_number(s):
    try:
        float(s)
    except ValueError:
        return False
    return True

"""Small 2-D toy datasets drawn from their own seeded generators, and a seeded split.

Each returns ``(X, y)``: X float32 of shape (n, 2), y int64 of shape (n,). The same seed gives
the same points on every machine (NumPy's PCG64 ``default_rng``); no global RNG is touched.
"""
from __future__ import annotations

import math

import numpy as np


def _check(name, n, noise, minimum=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{name}: n must be an int >= {minimum}, got {n!r}")
    if not (isinstance(noise, (int, float)) and noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"{name}: noise must be a finite number >= 0, got {noise!r}")


def _finish(X, y, rng, noise):
    """Add Gaussian noise, shuffle, and cast to the documented dtypes."""
    if noise:
        X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(len(y))
    return X[order].astype(np.float32), y[order].astype(np.int64)


def xor(n=4, noise=0.0, seed=0):
    """The XOR problem: label 1 where exactly one coordinate is 1.

    Args:
        n: number of points; 4 with ``noise=0`` gives the four corners in the order
            (0,0), (0,1), (1,0), (1,1); otherwise corners are drawn at random.
        noise: standard deviation of Gaussian jitter added to each corner.
        seed: generator seed.
    Returns:
        X float32 (n, 2), y int64 (n,).
    """
    _check("xor", n, noise)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    labels = np.array([0, 1, 1, 0], dtype=np.int64)
    if n == 4 and noise == 0:
        return corners.astype(np.float32), labels
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, 4, size=n)
    return _finish(corners[pick], labels[pick], rng, noise)


def moons(n=1000, noise=0.1, seed=0):
    """Two interleaving half circles (class 0 on top, class 1 below and shifted right).

    Args:
        n: number of points (n // 2 in class 0, the rest in class 1).
        noise: standard deviation of Gaussian noise on each coordinate.
        seed: generator seed.
    Returns:
        X float32 (n, 2), y int64 (n,).
    """
    _check("moons", n, noise, minimum=2)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0, t1 = np.linspace(0, math.pi, n0), np.linspace(0, math.pi, n - n0)
    top = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    bottom = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)])
    return _finish(np.concatenate([top, bottom]), y, rng, noise)


def circles(n=1000, noise=0.05, factor=0.5, seed=0):
    """A small circle (class 1) inside a large one (class 0).

    Args:
        n: number of points (n // 2 on the outer circle).
        noise: standard deviation of Gaussian noise.
        factor: inner radius over outer radius, in (0, 1).
        seed: generator seed.
    Returns:
        X float32 (n, 2), y int64 (n,).
    """
    _check("circles", n, noise, minimum=2)
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    # endpoint=False: 0 and 2*pi are the same point, which would otherwise appear twice
    t0 = np.linspace(0, 2 * math.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * math.pi, n - n0, endpoint=False)
    outer = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    inner = factor * np.stack([np.cos(t1), np.sin(t1)], axis=1)
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)])
    return _finish(np.concatenate([outer, inner]), y, rng, noise)


def spirals(n=1000, classes=3, noise=0.2, turns=1.0, seed=0):
    """Interleaved spiral arms, one per class (the classic non-linear toy problem).

    Arm k is ``r (sin θ, cos θ)`` with r from 0 to 1 and θ sweeping ``turns`` revolutions
    from ``2πk/classes``; ``noise`` jitters θ (in radians), so it scales with the radius.

    Args:
        n: number of points, split as evenly as possible over the arms.
        classes: number of arms (>= 2).
        noise: standard deviation of the angular jitter.
        turns: revolutions each arm makes.
        seed: generator seed.
    Returns:
        X float32 (n, 2), y int64 (n,).
    """
    _check("spirals", n, noise, minimum=2)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ValueError(f"spirals: classes must be an int >= 2, got {classes!r}")
    rng = np.random.default_rng(seed)
    sizes = [n // classes + (k < n % classes) for k in range(classes)]
    Xs, ys = [], []
    for k, m in enumerate(sizes):
        r = np.linspace(0.0, 1.0, m)
        theta = 2 * math.pi * (k / classes + turns * r) + rng.normal(0.0, noise, size=m)
        Xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(m, k))
    return _finish(np.concatenate(Xs), np.concatenate(ys), rng, 0.0)


def train_test_split(X, y, test_size=0.2, seed=0, stratify=True):
    """Split arrays into a train and a test part with a seeded shuffle.

    Args:
        X: ndarray (n, ...).
        y: ndarray (n,).
        test_size: fraction in (0, 1) or a number of test samples.
        seed: generator seed.
        stratify: keep each class's share the same in both parts (needs integer ``y``).
    Returns:
        ``(X_train, y_train), (X_test, y_test)``
    """
    X, y = np.asarray(X), np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"train_test_split: X has {n} samples but y has {len(y)}")
    n_test = round(test_size * n) if isinstance(test_size, float) else test_size
    if not (isinstance(n_test, (int, np.integer)) and 0 < n_test < n):
        raise ValueError(f"train_test_split: test_size {test_size!r} gives {n_test} test "
                         f"samples out of {n}; need between 1 and {n - 1}")
    rng = np.random.default_rng(seed)
    if stratify and np.issubdtype(y.dtype, np.integer):
        classes, counts = np.unique(y, return_counts=True)
        # each class's share of the test part, rounded by largest remainder so they sum
        # to exactly n_test
        quota = counts * n_test / n
        take = np.floor(quota).astype(np.int64)
        take[np.argsort(take - quota)[:n_test - take.sum()]] += 1
        test = []
        for c, k in zip(classes, take):
            test.append(rng.permutation(np.flatnonzero(y == c))[:k])
        test = np.sort(np.concatenate(test))
    else:
        test = np.sort(rng.permutation(n)[:n_test])
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    train = rng.permutation(np.flatnonzero(~mask))
    test = rng.permutation(test)
    return (X[train], y[train]), (X[test], y[test])

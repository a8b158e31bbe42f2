"""Metrics: accuracy, top-k accuracy, confusion matrix, mean squared error.

Each comes twice: a function that takes one batch (Tensors, backend arrays or NumPy) and
returns a host value, and a streaming :class:`Metric` that ``fit``/``evaluate`` update once per
batch *on the device* and read back once per epoch, so training never waits on the host.
A streaming metric's result comes from host *totals* that add across data shards, so ``fit``
in a process group sums them over the ranks and logs the metric of the whole data.
"""
from __future__ import annotations

import numpy as np

from . import backend as B
from .autograd import TensorBase as Tensor


def _raw(a):
    """A backend array (NumPy arrays pass through)."""
    if isinstance(a, Tensor):
        return a.array
    return a if B.is_array(a) else np.asarray(a)


def _labels(xp, a, name, threshold):
    """Class indices from scores (N, C), from labels (N,), or, for one binary score per
    sample ((N, 1) or float (N,)), 1 where the score exceeds ``threshold``."""
    if xp.isdtype(a.dtype, "integral") and (a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1)):
        return xp.reshape(a, (-1,))  # integers are class labels, (N,) or (N, 1)
    if (a.ndim == 2 and a.shape[1] == 1) or a.ndim == 1:
        return xp.astype(xp.reshape(a, (-1,)) > threshold, xp.int64)
    if a.ndim == 2:
        return xp.argmax(a, axis=1)
    raise ValueError(f"{name}: expected scores of shape (N, C), binary scores (N, 1), or "
                     f"integer labels (N,), got shape {tuple(a.shape)} and dtype {a.dtype}")


def _check_n(name, out, tgt):
    if out.shape[0] != tgt.shape[0]:
        raise ValueError(f"{name}: output has {out.shape[0]} samples (shape "
                         f"{tuple(out.shape)}) but target has {tgt.shape[0]} (shape "
                         f"{tuple(tgt.shape)})")


class Metric:
    """A metric accumulated over batches: ``reset()``, ``update(output, target)``, ``result()``.

    ``update`` works on backend arrays and never copies to the host; ``result`` does. A
    metric that also defines ``totals()`` (a float64 host vector whose element-wise sum over
    shards of the data is the vector of the whole data) and ``from_totals(vector)`` is
    combined over every rank when ``fit`` runs in a process group; without them (the
    default ``totals()`` returns None) rank 0's own result is logged.
    """

    name = "metric"
    scalar = True  # False for results that are arrays (the confusion matrix)

    def reset(self):
        raise NotImplementedError

    def update(self, output, target):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def totals(self):
        """Host float64 vector of sums over the samples seen, or None (not combinable)."""
        return None

    def from_totals(self, totals):
        """The result for ``totals`` (those of ``totals()``, possibly summed over ranks)."""
        raise NotImplementedError(f"{type(self).__name__} defines no from_totals()")


def _ratio(totals):
    return float(totals[0] / totals[1]) if totals[1] else float("nan")


class Accuracy(Metric):
    """Share of samples whose arg-max score (or label) equals the target class.

    Outputs: scores (N, C), labels (N,), or one binary score per sample ((N, 1) or float
    (N,)) counted as class 1 above ``threshold`` (0: the output is a logit; use 0.5 for a
    probability). Targets: labels (N,), one-hot/probabilities (N, C), or 0/1 floats (N, 1).

    Args:
        threshold: decision threshold for binary outputs.
    """

    name = "accuracy"

    def __init__(self, threshold=0.0):
        self.threshold = float(threshold)

    def reset(self):
        self.correct, self.count = None, 0

    def update(self, output, target):
        out, tgt = _raw(output), _raw(target)
        _check_n(self.name, out, tgt)
        xp = B.backend_of(out).xp
        pred = _labels(xp, out, self.name, self.threshold)
        hits = xp.sum(xp.astype(pred == _labels(xp, tgt, self.name, 0.5), xp.int64))
        self.correct = hits if self.correct is None else self.correct + hits
        self.count += int(out.shape[0])

    def totals(self):
        correct = 0.0 if self.correct is None else float(B.to_numpy(self.correct))
        return np.array([correct, self.count], dtype=np.float64)

    def from_totals(self, totals):
        return _ratio(totals)

    def result(self):
        return self.from_totals(self.totals())


class TopKAccuracy(Accuracy):
    """Share of samples whose target class is among the ``k`` highest scores.

    A sample counts as a hit when fewer than ``k`` classes score strictly higher than the
    target class (ties favour the target). Args: k (>= 1).
    """

    def __init__(self, k=5):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be an int >= 1, got {k!r}")
        self.k, self.threshold = k, 0.0
        self.name = f"top{k}_accuracy"

    def update(self, output, target):
        out, tgt = _raw(output), _raw(target)
        _check_n(self.name, out, tgt)
        if out.ndim != 2:
            raise ValueError(f"{self.name}: output must be scores of shape (N, C), got "
                             f"{tuple(out.shape)}")
        be = B.backend_of(out)
        xp = be.xp
        y = _labels(xp, tgt, self.name, 0.5)
        onehot = y[:, None] == xp.arange(out.shape[1], device=be.device)[None, :]
        # the target's score, picked with a mask (the standard has no take_along_axis in
        # every version the backends implement)
        true = xp.max(xp.where(onehot, out, xp.asarray(-xp.inf, dtype=out.dtype,
                                                          device=be.device)), axis=1)
        rank = xp.sum(xp.astype(out > true[:, None], xp.int64), axis=1)
        hits = xp.sum(xp.astype(rank < self.k, xp.int64))
        self.correct = hits if self.correct is None else self.correct + hits
        self.count += int(out.shape[0])


class ConfusionMatrix(Metric):
    """Counts ``M[i, j]`` of samples of true class i predicted as class j (scikit-learn's
    layout). Args: num_classes (default: the width of the first score batch)."""

    name = "confusion_matrix"
    scalar = False

    def __init__(self, num_classes=None):
        self.num_classes = num_classes

    def reset(self):
        self.counts, self.C = None, self.num_classes

    def update(self, output, target):
        out, tgt = _raw(output), _raw(target)
        _check_n(self.name, out, tgt)
        be = B.backend_of(out)
        xp = be.xp
        if self.C is None:
            if out.ndim != 2:
                raise ValueError("confusion_matrix: give num_classes when the output holds "
                                 "labels rather than (N, C) scores")
            self.C = max(int(out.shape[1]), 2)  # a single binary score means 2 classes
        classes = xp.arange(self.C, device=be.device)[None, :]
        true, pred = _labels(xp, tgt, self.name, 0.5), _labels(xp, out, self.name, 0.0)
        if be.on_host:  # a label outside [0, C) would drop out of the counts silently
            for what, lab in (("target", true), ("output", pred)):
                if lab.shape[0] and (int(xp.min(lab)) < 0 or int(xp.max(lab)) >= self.C):
                    raise ValueError(f"confusion_matrix: {what} labels must be in [0, "
                                     f"{self.C}), got [{int(xp.min(lab))}, "
                                     f"{int(xp.max(lab))}] (pass num_classes=)")
        T = xp.astype(true[:, None] == classes, xp.float32)
        P = xp.astype(pred[:, None] == classes, xp.float32)
        # one-hot(true)^T @ one-hot(pred): a scatter-add the standard can express; float32
        # counts are exact per batch (< 2**24 samples), the running total is int64
        batch = xp.astype(xp.matmul(xp.permute_dims(T, (1, 0)), P), xp.int64)
        self.counts = batch if self.counts is None else self.counts + batch

    def totals(self):
        if self.counts is None:
            return np.zeros((self.C or 0) ** 2, dtype=np.float64)
        return B.to_numpy(self.counts).astype(np.float64).reshape(-1)  # exact below 2**53

    def from_totals(self, totals):
        C = int(round(len(totals) ** 0.5))
        return np.rint(np.asarray(totals)).astype(np.int64).reshape(C, C)

    def result(self):
        return self.from_totals(self.totals())


class MeanSquaredError(Metric):
    """Mean over all elements of ``(output - target) ** 2``."""

    name = "mse"

    def reset(self):
        self.total, self.count = None, 0

    def update(self, output, target):
        out, tgt = _raw(output), _raw(target)
        if tuple(out.shape) != tuple(tgt.shape):
            raise ValueError(f"mse: output shape {tuple(out.shape)} != target shape "
                             f"{tuple(tgt.shape)}")
        xp = B.backend_of(out).xp
        d = out - xp.astype(tgt, out.dtype)
        s = xp.sum(d * d)
        self.total = s if self.total is None else self.total + s
        n = 1
        for k in out.shape:
            n *= int(k)
        self.count += n

    def totals(self):
        total = 0.0 if self.total is None else float(B.to_numpy(self.total))
        return np.array([total, self.count], dtype=np.float64)

    def from_totals(self, totals):
        return _ratio(totals)

    def result(self):
        return self.from_totals(self.totals())


def get_metric(spec):
    """A fresh Metric for a name or a Metric instance.

    Names: ``"accuracy"`` (``"acc"``), ``"topK"`` / ``"topK_accuracy"`` (e.g. ``"top5"``),
    ``"confusion_matrix"``, ``"mse"``.
    """
    if isinstance(spec, Metric):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"metric must be a name or a Metric, got {type(spec).__name__}")
    key = spec.lower()
    if key in ("accuracy", "acc"):
        return Accuracy()
    if key in ("confusion_matrix", "confusion"):
        return ConfusionMatrix()
    if key in ("mse", "mean_squared_error"):
        return MeanSquaredError()
    if key.startswith("top"):
        digits = key[3:].split("_")[0]
        if digits.isdigit() and int(digits) >= 1:
            return TopKAccuracy(int(digits))
    raise ValueError(f"unknown metric {spec!r}; use 'accuracy', 'top5' (any k), "
                     "'confusion_matrix', 'mse', or a Metric instance")


def _once(metric, output, target):
    metric.reset()
    metric.update(output, target)
    return metric.result()


def accuracy(output, target, threshold=0.0):
    """Accuracy of one batch. Args: output (N, C) scores, (N,) labels or (N, 1) binary
    logits; target (N,) labels, (N, C) one-hot or (N, 1) 0/1; threshold for binary outputs.
    Returns: float in [0, 1]."""
    return _once(Accuracy(threshold), output, target)


def top_k_accuracy(output, target, k=5):
    """Top-k accuracy of one batch. Args: output (N, C) scores; target (N,) labels; k.
    Returns: float in [0, 1]."""
    return _once(TopKAccuracy(k), output, target)


def confusion_matrix(output, target, num_classes=None):
    """Confusion matrix of one batch. Args: output (N, C) scores or (N,) labels; target (N,)
    labels; num_classes (needed with label outputs). Returns: int64 ndarray (C, C), rows are
    true classes, columns predicted."""
    return _once(ConfusionMatrix(num_classes), output, target)


def mse(output, target):
    """Mean squared error of one batch. Args: output and target of one shape. Returns: float."""
    return _once(MeanSquaredError(), output, target)

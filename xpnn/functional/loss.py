"""Losses. Each is one fused node; reductions follow PyTorch ("mean", "sum", "none").

This file holds the classification losses (cross-entropy and NLL with their native kernels,
``CE_LABELS`` and ``SOFTMAX_GRAD``) and re-exports the others: the reductions in
loss_reduce.py, the elementwise losses in loss_pointwise.py, the rest in loss_more.py."""
from __future__ import annotations

import math
from functools import partial

from .. import backend as B
from .. import cpu
from ..autograd import Function, TensorBase, as_tensor, raw
from .broadcast import quiet
from .first_order import link
from .activation import _log_softmax
from .shape import permute, reshape
from .._errors import (ArgumentError, DtypeError, DtypeNotImplemented, IndexRangeError,
                       ShapeError)
# the other families live in their own files and are re-exported here, where callers look
from .loss_more import (GaussianNLL, KLDiv, PoissonNLL, SmoothL1, SoftMargin, _float_pair,
                        gaussian_nll_loss, kl_div, multilabel_soft_margin_loss,
                        poisson_nll_loss, smooth_l1_loss, soft_margin_loss)
from .loss_pointwise import (BCE, MSE, BCEWithLogits, Huber, L1, _INPUT_DTYPE, _Pointwise,
                             _SAME_SHAPE, _WARN_BROADCAST, _broadcast_pair, _broadcasts_to,
                             _pointwise, _promote_pair, _weighted, binary_cross_entropy,
                             binary_cross_entropy_with_logits, huber_loss, l1_loss, mse_loss)
from .loss_reduce import (_REDUCTIONS, _check_reduction, _divide, _reduce_backward,
                          _reduce_forward, legacy_reduction, reduce_loss)


# -- classification: log-softmax + NLL fused -----------------------------------------------
def _valid_labels(xp, be, C, target, ignore_index, name):
    """(valid, bad) for integer labels: ``valid`` where the label is not ignored; ``bad``
    where a valid label is out of [0, C). Raised at once where the labels are in host memory
    (free); on a device that would sync, so ``bad`` is returned for the caller to turn into
    NaN losses instead (None when checked)."""
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= C))
    if be.on_host:
        if bool(xp.any(bad)):
            t = be.to_numpy(target)
            v = be.to_numpy(valid)
            lo, hi = t[v].min(), t[v].max()
            raise IndexRangeError(f"{name}: target labels must be in [0, {C}) (C = {C} "
                                  f"classes), got values in [{lo}, {hi}]")
        bad = None
    return valid, bad


def _nan_where(xp, be, bad, A, dtype):
    """A with NaN where ``bad`` (rows, broadcast over trailing axes); A when bad is None.
    On a device an out-of-range label makes its loss NaN instead of a host check per call;
    fit's non-finite guard then stops at the next sync."""
    if bad is None:
        return A
    mask = bad if A.ndim == 1 else bad[:, None]
    return xp.where(mask, xp.asarray(float("nan"), dtype=dtype, device=be.device), A)


def _label_rows(xp, dtype, target, weight, valid, bad):
    """For integer labels checked by :func:`_valid_labels`: each row's weight w[y_i] (0
    where ignored), the labels made safe to index with (ignored and out-of-range ones as 0)
    and the mean's denominator sum_i w[y_i] (PyTorch's weighted mean)."""
    ok = valid if bad is None else valid & ~bad
    safe = xp.where(ok, target, xp.zeros_like(target))
    w_row = xp.astype(valid, dtype) if weight is None else \
        xp.take(weight, safe) * xp.astype(valid, dtype)
    return w_row, safe, xp.sum(w_row)


def _onehot(xp, be, labels, C, dtype):
    return xp.astype(labels[:, None] == xp.arange(C, device=be.device)[None, :], dtype)


def _class_coeffs(xp, be, C, dtype, target, weight, ignore_index, smoothing, name):
    """K (N, C) and the mean's denominator so that loss_i = -sum_c K_ic logp_ic.

    Integer targets (with label smoothing; without, :class:`CrossEntropy` picks each row's
    logp by its label instead): K = (1-s) w[y] onehot(y) + (s/C) w, rows of ignored targets
    zeroed. Probability targets: K = w q with q smoothed, denominator N.
    """
    if B.dtype_is(xp, target.dtype, "integral"):
        valid, bad = _valid_labels(xp, be, C, target, ignore_index, name)
        w_row, safe, denom = _label_rows(xp, dtype, target, weight, valid, bad)
        K = _onehot(xp, be, safe, C, dtype) * ((1 - smoothing) * w_row)[:, None]
        K = K + (smoothing / C) * (1.0 if weight is None else weight[None, :]) * \
            xp.astype(valid, dtype)[:, None]
        return _nan_where(xp, be, bad, K, dtype), denom
    if target.dtype != dtype:
        raise DtypeError(f"{name}: probability targets must have the input's dtype {dtype}, "
                         f"got {target.dtype}")
    q = target if not smoothing else target * (1 - smoothing) + smoothing / C
    K = q if weight is None else q * weight[None, :]
    return K, target.shape[0]


def _labels_cupy(be, LP, target, weight, ignore_index):
    """The label part of the portable forward below in one CUDA kernel (the portable code
    launches about fifteen): per row the weight w[y] (0 where ignored), the log-probability
    picked by the label, the loss -w[y] logp (NaN where a label is out of range) and the
    labels made safe to index with. Returns (loss rows, rows' coefficients, safe labels,
    the mean's denominator), or None where it does not apply."""
    xp = be.xp
    if not LP.flags.c_contiguous or not B.kernel_floats(LP, *([] if weight is None else
                                                                  [weight])):
        return None
    N, C = LP.shape
    L, rows, w_row = (xp.empty((N,), dtype=LP.dtype, device=be.device) for _ in range(3))
    safe = xp.empty((N,), dtype=target.dtype, device=be.device)
    be.kernel(
        "xpnn_ce_labels", "raw T LP, S t, raw T w_cls, int64 C, int64 ignore, bool has_w, "
        "T nan_", "T loss, T rows, T w_row, S safe",
        "bool valid = t != ignore; bool bad = valid && (t < 0 || t >= C);"
        "S s = valid && !bad ? t : 0;"
        "T w = valid ? (has_w ? w_cls[s] : (T)1) : (T)0;"
        "T picked = w != (T)0 ? LP[i * C + s] : (T)0;"
        "loss = bad ? nan_ : -(w * picked); rows = bad ? nan_ : w; w_row = w; safe = s;")(
        LP, target, LP if weight is None else weight, C, ignore_index, weight is not None,
        float("nan"), L, rows, w_row, safe)
    return L, rows, safe, xp.sum(w_row)


def _softmax_grad_cupy(be, LP, rows, labels, g):
    """(exp(LP) - onehot(labels)) * coef[:, None] in one kernel, coef the rows' factors of
    :func:`_row_factors` and ``g`` a scalar array or one value per row (LP as
    :func:`_labels_cupy` accepted it)."""
    out = be.xp.empty(LP.shape, dtype=LP.dtype, device=be.device)
    be.kernel("xpnn_ce_grad", "T lp, raw T rows, raw S labels, raw T g, int64 C, bool per_row",
              "T out",
              "long long r = i / C; T w = rows[r];"
              "T coef = w == (T)0 ? (T)0 : w * g[per_row ? r : 0];"
              "out = (exp(lp) - (i - r * C == labels[r] ? (T)1 : (T)0)) * coef;")(
        LP, rows, labels, be.xp.reshape(g, (-1,)), LP.shape[1], g.ndim == 1, out)
    return out


def _labels_numpy(be, LP, target, weight, ignore_index):
    """:func:`_labels_cupy`'s results for NumPy where no class is weighted and every label
    is in [0, C) and not ``ignore_index`` (two reductions tell): each row's log-probability
    picked by its label, rows of weight 1 and the row count as the mean's denominator, in
    about a third of the portable code's NumPy calls, with the same bits. None otherwise
    (the portable code then raises or ignores as it should)."""
    np = be.lib
    N, C = LP.shape
    # float32/64 below 2^24 rows: N itself is the portable code's sum of N ones
    if weight is not None or N == 0 or N >= 1 << 24 or LP.dtype.itemsize < 4:
        return None
    lo, hi = int(target.min()), int(target.max())
    if lo < 0 or hi >= C or lo <= ignore_index <= hi:
        return None
    L = np.negative(LP[np.arange(N), target])
    return L, np.ones(N, dtype=LP.dtype), target, LP.dtype.type(N)


def _row_factors(be, rows, g, kept=None):
    """Each row's factor ``rows * g`` of a classification gradient, 0 where the row's label
    is ignored: where every label of a batch is ignored, the mean's total weight is 0 and g
    is inf, and 0 * inf must not turn the gradient NaN (a padding-only batch would wipe out
    the weights at the next step). ``kept``: the rows whose label is not ignored; a kept row
    of a class weighted 0 gets 0 * inf = NaN there, as PyTorch (its w[y] / sum w = 0 / 0).
    Without ``kept`` (CuPy's fused kernels) every row that weighs nothing gets 0."""
    if g.ndim == 0 and be.on_host and math.isfinite(float(g)):
        return rows * g  # the usual case, checked for free on the host
    xp = be.xp
    skip = rows == 0 if kept is None else ~kept
    with be.quiet():  # 0 * inf on a kept row is NaN on purpose
        return rows * xp.where(skip, xp.zeros_like(rows), g)


def _softmax_grad_numpy(be, LP, rows, labels, g, kept=None):
    """The portable gradient (exp(LP) - onehot(labels)) * coef[:, None], the one
    subtracted in place at each row's label instead of building an (N, C) one-hot (the LSTM
    benchmark's 4096 x 96 float32 logits, loss and backward: 1.61 -> 1.29 ms), over blocks
    of rows on xpnn's CPU threads; the same operations on the same values, so the same
    bits. None where the coefficients' dtype differs from LP's."""
    np = be.lib
    coef = _row_factors(be, rows, g, kept)[:, None]
    if coef.dtype != LP.dtype:
        return None
    P = np.empty_like(LP)
    cpu.split_rows(partial(_softmax_grad_rows, np, LP, labels, coef, P), LP.shape[0],
                   LP.size, grain=1 << 16)
    return P


def _softmax_grad_rows(np, LP, labels, coef, P, a, b):
    Pb = np.exp(LP[a:b], out=P[a:b])
    Pb[np.arange(b - a), labels[a:b]] -= 1
    Pb *= coef[a:b]


# Native gradients of cross-entropy with integer labels where the forward's label part is the
# portable one, by backend name (with a native forward, the gradient is CE_LABELS').
SOFTMAX_GRAD = {"numpy": _softmax_grad_numpy}

# Native kernels of cross-entropy with integer labels by backend name: (forward label part,
# gradient); the portable code below is what they compute.
CE_LABELS = {"cupy": (_labels_cupy, _softmax_grad_cupy),
             "numpy": (_labels_numpy, _softmax_grad_numpy)}


@quiet
class CrossEntropy(Function):
    """-sum_c K_ic logsoftmax(X)_ic per row, reduced. Integer labels without smoothing take
    each row's log-probability by its label (one gather): the classes a row does not name
    contribute nothing even where their logit is -inf (a masked class), as in PyTorch; the
    one-hot product 0 * -inf would make the loss NaN."""

    def forward(self, X, target=None, weight=None, ignore_index=-100, reduction="mean",
                smoothing=0.0, log_probs=False):
        xp, be = self.xp, self.be
        name = "nll_loss" if log_probs else "cross_entropy"
        N, C = X.shape
        LP = X if log_probs else _log_softmax(be, X, axis=1)
        self.LP, self.reduction, self.log_probs = LP, reduction, log_probs
        if B.dtype_is(xp, target.dtype, "integral") and not smoothing:
            native = None if log_probs else CE_LABELS.get(be.name)
            done = native[0](be, LP, target, weight, ignore_index) if native else None
            if done is not None:
                L, self.rows, self.labels, self.denom = done
                self.K, self.grad_kernel = None, native[1]
                return _reduce_forward(be, L, reduction, self.denom)
            valid, bad = _valid_labels(xp, be, C, target, ignore_index, name)
            w_row, safe, self.denom = _label_rows(xp, X.dtype, target, weight, valid, bad)
            idx = xp.arange(N, dtype=safe.dtype, device=be.device) * C + safe
            picked = xp.take(xp.reshape(LP, (-1,)), idx)
            # an ignored row may point at a masked class: its 0 * -inf must not become NaN
            picked = xp.where(w_row != 0, picked, xp.zeros_like(picked))
            L = -(w_row * picked)
            self.rows, self.labels, self.K = _nan_where(xp, be, bad, w_row, X.dtype), safe, None
            self.kept = valid  # rows whose label is not ignored (see _row_factors)
            return _reduce_forward(be, _nan_where(xp, be, bad, L, X.dtype), reduction,
                                   self.denom)
        K, self.denom = _class_coeffs(xp, be, C, X.dtype, target, weight, ignore_index,
                                      smoothing, name)
        self.K, self.weight, self.smoothing = K, weight, smoothing
        self.labelled = B.dtype_is(xp, target.dtype, "integral")
        return _reduce_forward(be, -xp.sum(K * LP, axis=1), reduction, self.denom)

    def backward(self, dY):
        xp, K = self.xp, self.K
        g = _reduce_backward(self.be, dY, self.reduction, self.denom)
        if K is None:  # labels: K = onehot(y) w[y], so sum_c K_ic = w[y_i]
            if getattr(self, "grad_kernel", None) is not None:
                return self.grad_kernel(self.be, self.LP, self.rows, self.labels, g)
            native = None if self.log_probs else SOFTMAX_GRAD.get(self.be.name)
            kept = getattr(self, "kept", None)
            dX = native(self.be, self.LP, self.rows, self.labels, g, kept) if native else None
            if dX is not None:
                return dX
            coef = _row_factors(self.be, self.rows, g, kept)[:, None]
            onehot = _onehot(xp, self.be, self.labels, self.LP.shape[1], self.LP.dtype)
            if self.log_probs:  # -coef at the label only: a NaN coef stays off the others
                return xp.where(onehot != 0, -coef, xp.zeros_like(onehot))
            return (xp.exp(self.LP) - onehot) * coef
        g = g[:, None] if self.reduction == "none" else g
        if self.labelled:  # rows that weigh nothing (ignored labels) get 0, as in _row_factors
            g = xp.where(xp.any(K != 0, axis=1, keepdims=True), g, xp.zeros_like(K[:, :1]))
        dX = None
        if self.needs[0] and self.log_probs:  # nll_loss: d/dlogp_ic = -K_ic
            dX = -K * g
        elif self.needs[0]:  # d/dx_ic of -sum_c K_ic logsoftmax_ic = softmax_ic sum_c K_ic - K_ic
            P = xp.exp(self.LP)
            dX = (P * xp.sum(K, axis=1, keepdims=True) - K) * g
        if len(self.needs) == 1:
            return dX
        # probabilities that require a gradient (a second input): K = ((1-s) q + s/C) w
        dQ = self.LP * (-(1 - self.smoothing) * g)
        return dX, (dQ if self.weight is None else dQ * self.weight[None, :])

    def backward_graph(self, dY):
        """Integer labels without smoothing: (softmax(x) - onehot(y)) * w[y] * g, recorded."""
        if self.K is not None:
            return self._backward_graph_coeffs(dY)
        xp, be, X = self.xp, self.be, self.inputs[0]
        g = dY if self.reduction != "mean" else dY / self.denom
        # an ignored row gets 0, even where g is inf (see _row_factors)
        kept = getattr(self, "kept", None)
        with be.quiet():
            coef = (g * self.rows).where(self.rows != 0 if kept is None else kept,
                                         0.0)[:, None]
        onehot = _onehot(xp, be, self.labels, X.shape[1], X.dtype)
        if self.log_probs:  # linked to X: PyTorch's nll_loss_backward reads it (zeros)
            return link((coef * -onehot).where(onehot != 0, 0.0), X)
        return (X.softmax(1) - onehot) * coef

    def _backward_graph_coeffs(self, dY):
        """Label smoothing or probability targets: (softmax(x) sum_c K - K) * g, recorded (K
        a constant; probabilities that require a gradient are not supported)."""
        if len(self.needs) > 1:
            raise NotImplementedError("double backward of CrossEntropy with probability "
                                      "targets that require a gradient is not supported by "
                                      "xpnn")
        xp, X = self.xp, self.inputs[0]
        K = X._result(self.K, X._be)
        g = dY if self.reduction != "mean" else dY / self.denom
        g = reshape(g, (-1, 1)) if self.reduction == "none" else g
        dX = -K * g if self.log_probs else \
            (X.softmax(1) * K.sum(1, keepdim=True) - K) * g
        if self.labelled:  # rows of ignored labels get 0, as in backward
            dX = dX.where(xp.any(self.K != 0, axis=1, keepdims=True), 0.0)
        return link(dX, X) if self.log_probs else dX  # nll_loss_backward reads X


def _classification(name, input, target, weight, ignore_index, reduction, label_smoothing,
                    log_probs):
    _check_reduction(name, reduction)
    input = as_tensor(input, op=name)
    tgt = raw(target, input, name, "target")
    w = raw(weight, input, name, "weight")
    if not 0 <= label_smoothing <= 1:
        raise ArgumentError(f"{name}: label_smoothing must be in [0, 1], got "
                            f"{label_smoothing!r}")
    if input.ndim < 1:
        raise ShapeError(f"{name}: input must be (N, C) or (N, C, d1, ...), got {input.shape}")
    xp = input.xp
    if tgt is None:
        raise TypeError(f"{name}: target must be a Tensor or an array, got None")
    if not input._be.is_floating(input.dtype):
        raise DtypeNotImplemented(f"{name}: expected floating logits, got {input.dtype} "
                                  "(cast them with .float())")
    integral = B.dtype_is(xp, tgt.dtype, "integral")
    if not integral and (log_probs or ignore_index != -100):  # checks on arguments only
        raise DtypeError(f"{name}: class-index targets must be integers, got {tgt.dtype}"
                         if log_probs else f"{name}: ignore_index={ignore_index} is not "
                         "supported with class-probability (floating) targets")
    if integral and tgt.dtype != xp.int64:  # uint8, int16, int32 labels index as int64
        tgt = xp.astype(tgt, xp.int64)
    # probabilities that require a gradient (a teacher trained too) stay a Tensor: an input
    learnt = isinstance(target, TensorBase) and target.requires_grad and not integral
    if input.ndim == 1:  # an unbatched (C,) input
        out = _classification(name, reshape(input, (1, -1)),
                              reshape(target, (1, -1)) if learnt else
                              xp.reshape(tgt, (1,) if integral else (1, -1)), weight,
                              ignore_index, reduction, label_smoothing, log_probs)
        return reshape(out, ()) if reduction == "none" else out
    C = input.shape[1]
    want = (input.shape[0],) + input.shape[2:] if integral else input.shape
    if tuple(tgt.shape) != want:
        kind = "class indices" if integral else "class probabilities"
        raise ShapeError(f"{name}: input of shape {input.shape} needs target ({kind}) of shape "
                         f"{want}, got {tuple(tgt.shape)}")
    if w is not None and tuple(w.shape) != (C,):
        raise ShapeError(f"{name}: weight must have shape ({C},), got {tuple(w.shape)}")
    spatial = input.shape[2:]
    if spatial:  # (N, C, d...) -> (N*d..., C): classes last, one row per position
        order = (0,) + tuple(range(2, input.ndim)) + (1,)
        input = reshape(permute(input, order), (-1, C))
        tgt = xp.reshape(tgt, (-1,)) if integral else \
            xp.reshape(xp.permute_dims(tgt, order), (-1, C))
        if learnt:
            target = reshape(permute(target, order), (-1, C))
    kw = dict(weight=w, ignore_index=ignore_index, reduction=reduction,
              smoothing=label_smoothing, log_probs=log_probs)
    if learnt:
        if tgt.dtype != input.dtype:  # checked here: the Function would take it as a Tensor
            raise DtypeError(f"{name}: probability targets must have the input's dtype "
                             f"{input.dtype}, got {tgt.dtype}")
        out = CrossEntropy.apply(input, target, **kw)
    else:
        out = CrossEntropy.apply(input, target=tgt, **kw)
    if spatial and reduction == "none":
        out = reshape(out, (-1,) + spatial)
    return out


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from logits, fused with log-softmax (stable for huge logits).

    Args:
        input: logits (N, C), (C,) or (N, C, d1, ...).
        target: integer class indices (N,) / (N, d1, ...) in [0, C), or class probabilities
            with the input's shape and dtype.
        weight: optional per-class weights (C,).
        ignore_index: integer targets equal to it contribute nothing.
        reduction: "mean" (weighted mean over non-ignored targets), "sum" or "none".
        label_smoothing: mix the target with the uniform distribution by this amount.
        size_average, reduce: PyTorch's deprecated spelling of ``reduction`` (warns).
    Returns:
        0-d loss (or (N, ...) with reduction="none"), the input's dtype.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _classification("cross_entropy", input, target, weight, ignore_index, reduction,
                           label_smoothing, log_probs=False)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of integer targets given log-probabilities (N, C)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _classification("nll_loss", input, target, weight, ignore_index, reduction, 0.0,
                           log_probs=True)


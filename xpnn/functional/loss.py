"""Losses. Each is one fused node; reductions follow PyTorch ("mean", "sum", "none")."""
from __future__ import annotations

import math
from functools import partial

from .. import backend as B
from .. import cpu
from ..autograd import Function, TensorBase, _mixed, as_tensor, raw
from .activation import _log_softmax, _sigmoid
from .shape import permute, reshape
from .._errors import (ArgumentError, DtypeError, DtypeNotImplemented, IndexRangeError,
                       ShapeError)

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce_forward(be, L, reduction, denom):
    if reduction == "none":
        return L
    total = be.xp.sum(L)
    return total if reduction == "sum" else _divide(be, total, denom)


def _reduce_backward(be, dY, reduction, denom):
    """The per-element factor that dL/d(element) carries from the reduced output."""
    return dY if reduction != "mean" else _divide(be, dY, denom)


def _divide(be, x, denom):
    """x / denom, silently NaN or inf for a denominator of 0 (an empty batch, or one with
    every label ignored), as in PyTorch; NumPy's warning is turned off only then (its
    errstate costs a microsecond a call)."""
    if isinstance(denom, (int, float)) and denom or be.on_host and bool(denom != 0):
        return x / denom
    with be.quiet():
        return x / denom


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
    if xp.isdtype(target.dtype, "integral"):
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


# Native kernels of cross-entropy with integer labels by backend name: (forward label part,
# gradient); the portable code below is what they compute.
CE_LABELS = {"cupy": (_labels_cupy, _softmax_grad_cupy)}


def _row_factors(be, rows, g):
    """Each row's factor ``rows * g`` of a classification gradient, 0 where the row weighs
    nothing (its label ignored, or its class weighted 0): where every label of a batch is
    ignored, the mean's total weight is 0 and g is inf, and 0 * inf must not turn the
    gradient NaN (a padding-only batch would wipe out the weights at the next step).
    PyTorch gives ignored rows 0 there too; rows of a class weighted 0 it gives NaN."""
    if g.ndim == 0 and be.on_host and math.isfinite(float(g)):
        return rows * g  # the usual case, checked for free on the host
    return rows * be.xp.where(rows == 0, be.xp.zeros_like(rows), g)


def _softmax_grad_numpy(be, LP, rows, labels, g):
    """The portable gradient (exp(LP) - onehot(labels)) * coef[:, None], the one
    subtracted in place at each row's label instead of building an (N, C) one-hot (the LSTM
    benchmark's 4096 x 96 float32 logits, loss and backward: 1.61 -> 1.29 ms), over blocks
    of rows on xpnn's CPU threads; the same operations on the same values, so the same
    bits. None where the coefficients' dtype differs from LP's."""
    np = be.lib
    coef = _row_factors(be, rows, g)[:, None]
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
# portable one, by backend name (CuPy's comes with its forward, in CE_LABELS).
SOFTMAX_GRAD = {"numpy": _softmax_grad_numpy}


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
        if xp.isdtype(target.dtype, "integral") and not smoothing:
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
            return _reduce_forward(be, _nan_where(xp, be, bad, L, X.dtype), reduction,
                                   self.denom)
        K, self.denom = _class_coeffs(xp, be, C, X.dtype, target, weight, ignore_index,
                                      smoothing, name)
        self.K, self.weight, self.smoothing = K, weight, smoothing
        self.labelled = xp.isdtype(target.dtype, "integral")
        return _reduce_forward(be, -xp.sum(K * LP, axis=1), reduction, self.denom)

    def backward(self, dY):
        xp, K = self.xp, self.K
        g = _reduce_backward(self.be, dY, self.reduction, self.denom)
        if K is None:  # labels: K = onehot(y) w[y], so sum_c K_ic = w[y_i]
            if getattr(self, "grad_kernel", None) is not None:
                return self.grad_kernel(self.be, self.LP, self.rows, self.labels, g)
            native = None if self.log_probs else SOFTMAX_GRAD.get(self.be.name)
            dX = native(self.be, self.LP, self.rows, self.labels, g) if native else None
            if dX is not None:
                return dX
            coef = _row_factors(self.be, self.rows, g)[:, None]
            onehot = _onehot(xp, self.be, self.labels, self.LP.shape[1], self.LP.dtype)
            if self.log_probs:
                return -onehot * coef
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
        # a row that weighs nothing gets 0, even where g is inf (see _row_factors)
        coef = (g * self.rows).where(self.rows != 0, 0.0)[:, None]
        onehot = _onehot(xp, be, self.labels, X.shape[1], X.dtype)
        if self.log_probs:
            return coef * -onehot
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
        return dX


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
    integral = xp.isdtype(tgt.dtype, "integral")
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


# -- elementwise losses -------------------------------------------------------------------
class _Pointwise(Function):
    """A loss made of a per-element value and its derivatives, then a reduction."""

    def forward(self, X, T, reduction="mean", **kw):
        L, self.dX, self.dT = self.pointwise(self.xp, X, T, **kw)
        self.reduction, self.n, self.kw = reduction, math.prod(X.shape), kw
        return _reduce_forward(self.be, L, reduction, self.n)

    def backward(self, dY):
        g = _reduce_backward(self.be, dY, self.reduction, self.n)
        dT = self.dT * g if self.needs[1] and self.dT is not None else None
        return self.dX * g, dT

    def _graph_factor(self, dY):
        """The reduced output's gradient per element, a Tensor (recorded)."""
        return dY if self.reduction != "mean" else dY / self.n

    def backward_graph(self, dY):
        """backward's product with the derivatives recomputed from the inputs in recorded
        ops (``grads``: Tensors in, dL/dX and dL/dT per element out), for create_graph."""
        if self.grads is None:
            raise NotImplementedError(f"double backward of {type(self).__name__} is not "
                                      "supported by xpnn (create_graph=True)")
        X, T = self.inputs
        G, GT = self.grads(X, T, **self.kw)
        g = self._graph_factor(dY)
        return G * g, (GT * g if self.needs[1] else None)

    grads = None


class MSE(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T):
        D = X - T
        return D * D, 2 * D, -2 * D

    def backward_graph(self, dY):
        """2 (x - t) g for x, its negative for t, recorded."""
        X, T = self.inputs
        dX = (X - T) * (2 * self._graph_factor(dY))
        return dX, (-dX if self.needs[1] else None)


class L1(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T):
        D = X - T
        S = xp.sign(D)
        return xp.abs(D), S, -S

    @staticmethod
    def grads(X, T):
        S = (X - T).sign()
        return S, -S


class Huber(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T, delta=1.0):
        D = X - T
        A = xp.abs(D)
        L = xp.where(A < delta, 0.5 * D * D, delta * (A - 0.5 * delta))
        G = xp.clip(D, -delta, delta)
        return L, G, -G

    @staticmethod
    def grads(X, T, delta=1.0):
        G = (X - T).clamp(-delta, delta)
        return G, -G


class BCE(_Pointwise):
    @staticmethod
    def pointwise(xp, P, T, weight=None):
        # log clamped at -100 and the derivative's denominator at 1e-12, as PyTorch does
        # (log 0 taken as -100 directly: NumPy warns for log(0); out of [0, 1], on a device
        # where nothing checks it, the log stays NaN)
        some, room = P != 0, P != 1
        logp = xp.maximum(xp.where(some, xp.log(xp.where(some, P, 1.0)), -100.0), -100.0)
        log1mp = xp.maximum(xp.where(room, xp.log1p(xp.where(room, -P, 0.0)), -100.0),
                            -100.0)
        L = -(T * logp + (1 - T) * log1mp)
        G = (P - T) / xp.maximum(P * (1 - P), 1e-12)
        GT = log1mp - logp
        if weight is not None:
            L, G, GT = L * weight, G * weight, GT * weight
        return L, G, GT

    @staticmethod
    def grads(P, T, weight=None):
        G = (P - T) / (P * (1 - P)).clamp(min=1e-12)
        GT = (-P).log1p().clamp(min=-100.0) - P.log().clamp(min=-100.0)
        if weight is not None:
            w = P._result(weight, P._be)
            G, GT = G * w, GT * w
        return G, GT


class BCEWithLogits(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T, pos_weight=None, weight=None):
        # -[pw t log s(x) + (1-t) log(1-s(x))], with log s(x) = -softplus(-x) computed stably
        sp_neg = xp.maximum(-X, 0.0) + xp.log1p(xp.exp(-xp.abs(X)))  # softplus(-x)
        S = _sigmoid(xp, X)
        if pos_weight is None:
            L, G, GT = (1 - T) * X + sp_neg, S - T, -X
        else:
            c = 1 + (pos_weight - 1) * T
            L = (1 - T) * X + c * sp_neg
            G = S * c - pos_weight * T
            GT = (pos_weight - 1) * sp_neg - X
        if weight is not None:
            L, G, GT = L * weight, G * weight, GT * weight
        return L, G, GT

    def backward_graph(self, dY):
        """The gradients above, recorded: (sigmoid(x) c - pw t) w g for x, ((pw - 1)
        softplus(-x) - x) w g for t, with c = 1 + (pw - 1) t."""
        from .activation import softplus
        X, T = self.inputs
        pw, w = self.kw.get("pos_weight"), self.kw.get("weight")
        g = self._graph_factor(dY)
        if w is not None:
            g = g * X._result(w, X._be)
        if pw is None:
            return (X.sigmoid() - T) * g, (-X * g if self.needs[1] else None)
        pw = X._result(pw, X._be)
        dX = (X.sigmoid() * (1 + (pw - 1) * T) - pw * T) * g
        return dX, (((pw - 1) * softplus(-X) - X) * g if self.needs[1] else None)


# losses that broadcast a target of another shape with PyTorch's warning; the BCE pair
# refuses one, soft_margin_loss broadcasts only the target, the others broadcast silently
_WARN_BROADCAST = ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss")
_SAME_SHAPE = ("binary_cross_entropy", "binary_cross_entropy_with_logits")
# losses whose result keeps the input's dtype when the target's differs (PyTorch's kernels)
_INPUT_DTYPE = ("huber_loss", "soft_margin_loss")


def _broadcast_pair(name, input, target):
    """input and target broadcast to one shape as PyTorch's loss does (only called when
    their shapes differ)."""
    from .shape import broadcast_shapes, expand
    if name in _SAME_SHAPE:
        raise ShapeError(f"{name}: target of shape {tuple(target.shape)} must have the "
                         f"input's shape {tuple(input.shape)}")
    try:
        shape = broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ShapeError(f"{name}: input of shape {input.shape} and target of shape "
                         f"{target.shape} differ and cannot be broadcast together") from None
    if name == "soft_margin_loss" and shape != tuple(input.shape):
        raise ShapeError(f"{name}: target of shape {tuple(target.shape)} broadcasts the "
                         f"input of shape {tuple(input.shape)} to {shape}")
    if name in _WARN_BROADCAST:
        import warnings
        warnings.warn(f"{name}: target of shape {tuple(target.shape)} differs from the input "
                      f"of shape {tuple(input.shape)}; both are broadcast to {shape}, which "
                      "is likely a mistake. Give them the same shape.", UserWarning,
                      stacklevel=4)
    return expand(input, shape), expand(target, shape)


def _promote_pair(name, input, target):
    """input and target in one dtype as PyTorch's loss takes them (only called when their
    dtypes differ): the promoted dtype, the input's for huber and soft margin; BCE refuses."""
    from .promotion import promote_types
    if name == "binary_cross_entropy" or name == "binary_cross_entropy_with_logits" and \
            not target._be.is_floating(target.dtype):
        raise DtypeError(f"{name}: input dtype {B.dtype_name(input.dtype)} and target dtype "
                         f"{B.dtype_name(target.dtype)} differ")
    dtype = input.dtype if name in _INPUT_DTYPE else \
        promote_types(B.dtype_name(input.dtype), B.dtype_name(target.dtype))
    return input.to(dtype), target.to(dtype)


def _pointwise(cls, name, input, target, reduction, **kw):
    _check_reduction(name, reduction)
    input = as_tensor(input, op=name)
    target = as_tensor(target, like=input, op=name)
    if input.shape != target.shape:
        input, target = _broadcast_pair(name, input, target)
    if input._be is not target._be:  # before the dtype check: torch.float32 != np.float32
        _mixed(name, (input, target))
    if input.dtype != target.dtype:
        input, target = _promote_pair(name, input, target)
    if not input._be.is_floating(input.dtype) and (cls is not L1 or reduction == "mean"):
        raise DtypeNotImplemented(f"{name}: expected floating inputs, got "
                                  f"{B.dtype_name(input.dtype)}")
    kw = {k: raw(v, input, name, k) if isinstance(v, TensorBase) or B.is_array(v) else v
          for k, v in kw.items()}
    for k in ("weight", "pos_weight"):
        v = kw.get(k)
        if v is not None and v.shape != input.shape and not _broadcasts_to(v.shape, input.shape):
            raise ShapeError(f"{name}: {k} of shape {tuple(v.shape)} does not broadcast to "
                             f"the input's shape {tuple(input.shape)}")
    return cls.apply(input, target, reduction=reduction, **kw)


def _broadcasts_to(shape, to):
    """Whether ``shape`` broadcasts to ``to`` without growing it."""
    return len(shape) <= len(to) and all(a in (1, b) for a, b in zip(shape[::-1], to[::-1]))


def _weighted(cls, name, input, target, reduction, weight, **kw):
    """A pointwise loss times ``weight`` (the input's shape), then summed; "mean" divides by
    the weights' sum for mse/l1 and averages for huber (PyTorch 2.13's weighted losses)."""
    from .elementwise import div, mul
    from .reduce import mean, sum as _sum
    _check_reduction(name, reduction)
    w = as_tensor(weight, like=input, op=name)
    if tuple(w.shape) != tuple(as_tensor(input, op=name).shape):
        raise ValueError(f"{name}: weight of shape {tuple(w.shape)} must have the input's "
                         f"shape {tuple(input.shape)}")
    L = mul(_pointwise(cls, name, input, target, "none", **kw), w)
    if reduction == "none":
        return L
    if reduction == "sum":
        return _sum(L)
    return mean(L) if name == "huber_loss" else div(_sum(L), _sum(w))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error, (input - target)^2 reduced (weighted by ``weight``, the input's
    shape, if given)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        return _weighted(MSE, "mse_loss", input, target, reduction, weight)
    return _pointwise(MSE, "mse_loss", input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error, |input - target| reduced (weighted as mse_loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        return _weighted(L1, "l1_loss", input, target, reduction, weight)
    return _pointwise(L1, "l1_loss", input, target, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber loss: quadratic within ``delta`` of the target, linear beyond (weighted as
    mse_loss)."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}")
    if weight is not None:
        return _weighted(Huber, "huber_loss", input, target, reduction, weight, delta=delta)
    return _pointwise(Huber, "huber_loss", input, target, reduction, delta=delta)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """BCE of probabilities in [0, 1] against targets in [0, 1]."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x = as_tensor(input, op="binary_cross_entropy")
    # PyTorch refuses probabilities outside [0, 1] (NaN too); checked where it is free (a
    # device would sync)
    if x._be.on_host and x._be.is_floating(x.dtype) and \
            not bool(x.xp.all((x.array >= 0) & (x.array <= 1))):
        raise ArgumentError("binary_cross_entropy: all elements of input should be between "
                            "0 and 1")
    return _pointwise(BCE, "binary_cross_entropy", x, target, reduction, weight=weight)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Sigmoid + BCE fused, stable for any logit; ``pos_weight`` scales positive targets."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _pointwise(BCEWithLogits, "binary_cross_entropy_with_logits", input, target,
                      reduction, pos_weight=pos_weight, weight=weight)


# -- more losses, PyTorch's formulas -----------------------------------------------------------
def legacy_reduction(size_average, reduce, reduction):
    """``reduction`` from PyTorch's deprecated ``size_average``/``reduce`` pair, with
    PyTorch's warning, or ``reduction`` itself when both are None."""
    if size_average is None and reduce is None:
        return reduction
    import warnings
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    out = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{out}' instead.", UserWarning, stacklevel=3)
    return out


def reduce_loss(loss, reduction):
    """A per-element loss Tensor reduced by ``reduction`` ("mean", "sum" or "none")."""
    from .reduce import mean, sum
    return mean(loss) if reduction == "mean" else sum(loss) if reduction == "sum" else loss


def _float_pair(name, input, target):
    """input (floating, else TypeError as PyTorch) and target in its dtype (integer targets,
    such as +-1 labels, are promoted as PyTorch does)."""
    x = as_tensor(input, op=name)
    if not x._be.is_floating(x.dtype):
        raise TypeError(f"{name}: expected a floating input, got {B.dtype_name(x.dtype)}")
    t = as_tensor(target, like=x, op=name)
    if t._be is x._be and not t._be.is_floating(t.dtype):
        t = t._result(t.xp.astype(t.array, x.dtype), t._be)
    return x, t


class SmoothL1(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T, beta=1.0):
        D = X - T
        if beta == 0:  # PyTorch: l1_loss
            S = xp.sign(D)
            return xp.abs(D), S, -S
        A = xp.abs(D)
        L = xp.where(A < beta, 0.5 * D * D / beta, A - 0.5 * beta)
        G = xp.clip(D / beta, -1.0, 1.0)
        return L, G, -G

    @staticmethod
    def grads(X, T, beta=1.0):
        G = (X - T).sign() if beta == 0 else ((X - T) / beta).clamp(-1.0, 1.0)
        return G, -G


class KLDiv(_Pointwise):
    """target * (log target - input) per element (``log_target``: e^t (t - input))."""

    @staticmethod
    def pointwise(xp, X, T, log_target=False):
        if log_target:
            E = xp.exp(T)
            return E * (T - X), -E, E * (T - X + 1)
        # xlogy(t, t): 0 at t == 0, NaN below (PyTorch); log() only sees positive values
        pos = T > 0
        logT = xp.log(xp.where(pos, T, xp.ones_like(T)))
        nan = xp.asarray(float("nan"), dtype=T.dtype, device=T.device)
        tlogt = xp.where(pos, T * logT, xp.where(T == 0, xp.zeros_like(T), nan))
        return tlogt - T * X, -T, xp.where(pos, logT + 1, xp.zeros_like(T)) - X

    @staticmethod
    def grads(X, T, log_target=False):
        if log_target:
            E = T.exp()
            return -E, E * (T - X + 1)
        pos = T > 0
        return -T, (T.where(pos, 1.0).log() + 1).where(pos, 0.0) - X


class PoissonNLL(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T, log_input=True, full=False, eps=1e-8):
        if log_input:  # input is log(rate): e^x - t x
            E = xp.exp(X)
            L, G, GT = E - T * X, E - T, -X
        else:  # input is the rate: x - t log(x + eps)
            logX = xp.log(X + eps)
            L, G, GT = X - T * logX, 1 - T / (X + eps), -logX
        if full:  # Stirling's approximation of log(t!), only where t > 1
            big = T > 1
            Ts = xp.where(big, T, xp.ones_like(T))
            logT = xp.log(Ts)
            zero = xp.zeros_like(T)
            L = L + xp.where(big, Ts * logT - Ts + 0.5 * xp.log((2 * math.pi) * Ts), zero)
            GT = GT + xp.where(big, logT + 0.5 / Ts, zero)
        return L, G, GT

    @staticmethod
    def grads(X, T, log_input=True, full=False, eps=1e-8):
        if log_input:
            G, GT = X.exp() - T, -X
        else:
            G, GT = 1 - T / (X + eps), -(X + eps).log()
        if full:
            big = T > 1
            Ts = T.where(big, 1.0)
            GT = GT + (Ts.log() + 0.5 / Ts).where(big, 0.0)
        return G, GT


class SoftMargin(_Pointwise):
    @staticmethod
    def pointwise(xp, X, T):
        Z = -T * X  # log(1 + e^z), computed stably
        S = _sigmoid(xp, Z)
        return xp.maximum(Z, 0.0) + xp.log1p(xp.exp(-xp.abs(Z))), -T * S, -X * S

    @staticmethod
    def grads(X, T):
        S = (-T * X).sigmoid()
        return -T * S, -X * S


class GaussianNLL(Function):
    """0.5 (log v + (x - t)^2 / v) with v = max(var, eps), broadcast. As in PyTorch the clamp
    is invisible to the gradient (PyTorch clamps under no_grad)."""

    saved_inputs = ()  # backward reads the difference and the clamped variance it made

    def forward(self, X, T, V, full=False, eps=1e-6, reduction="mean"):
        xp = self.xp
        Vc = xp.maximum(V, eps)
        D = X - T
        L = 0.5 * (xp.log(Vc) + D * D / Vc)
        if full:
            L = L + 0.5 * math.log(2 * math.pi)
        self.D, self.Vc, self.shapes = D, Vc, (X.shape, T.shape, V.shape)
        self.reduction, self.n = reduction, math.prod(L.shape)
        return _reduce_forward(self.be, L, reduction, self.n)

    def backward(self, dY):
        from .elementwise import unbroadcast
        xp, D, Vc = self.xp, self.D, self.Vc
        g = _reduce_backward(self.be, dY, self.reduction, self.n)
        sx, st, sv = self.shapes
        dD = g * D / Vc
        dV = g * (0.5 / Vc - 0.5 * D * D / (Vc * Vc)) if self.needs[2] else None
        return (unbroadcast(xp, dD, sx) if self.needs[0] else None,
                unbroadcast(xp, -dD, st) if self.needs[1] else None,
                None if dV is None else unbroadcast(xp, xp.broadcast_to(dV, D.shape), sv))

    def backward_graph(self, dY):
        """backward recomputed in recorded ops; the clamp of var is a constant shift."""
        from .elementwise import unbroadcast_graph
        X, T, V = self.inputs
        Vc = V + V._result(self.Vc - V.array, V._be)
        D = X - T
        g = dY if self.reduction != "mean" else dY / self.n
        sx, st, sv = self.shapes
        dD = g * D / Vc
        dV = g * (0.5 / Vc - 0.5 * D * D / (Vc * Vc)) if self.needs[2] else None
        return (unbroadcast_graph(dD, sx) if self.needs[0] else None,
                unbroadcast_graph(-dD, st) if self.needs[1] else None,
                None if dV is None else unbroadcast_graph(dV, sv))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, for d = input - target
    (beta = 0: the L1 loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    beta = float(beta)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta!r}")
    x, t = _float_pair("smooth_l1_loss", input, target)
    return _pointwise(SmoothL1, "smooth_l1_loss", x, t, reduction, beta=beta)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence of ``target`` from ``input`` (log-probabilities): target * (log target -
    input), summed and divided by the batch size with reduction="batchmean" (the true KL
    divergence); "mean" divides by every element, as in PyTorch.

    Args:
        input: log-probabilities, any shape.
        target: probabilities (log-probabilities with ``log_target=True``), input's shape.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"kl_div: reduction must be one of {_REDUCTIONS + ('batchmean',)}, "
                         f"got {reduction!r}")
    x = as_tensor(input, op="kl_div")
    if not x._be.is_floating(x.dtype):
        raise TypeError(f"kl_div: integral inputs are not supported, got "
                        f"{B.dtype_name(x.dtype)}")
    batch = reduction == "batchmean"
    out = _pointwise(KLDiv, "kl_div", x, target, "sum" if batch else reduction,
                     log_target=bool(log_target))
    return out / x.shape[0] if batch and x.ndim else out


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Negative log-likelihood of ``target`` under Poisson(rate): e^input - target * input
    (``log_input``), or input - target * log(input + eps); ``full`` adds Stirling's term."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, t = _float_pair("poisson_nll_loss", input, target)
    return _pointwise(PoissonNLL, "poisson_nll_loss", x, t, reduction,
                      log_input=bool(log_input), full=bool(full), eps=float(eps))


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input)) for targets +-1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, t = _float_pair("soft_margin_loss", input, target)
    return _pointwise(SoftMargin, "soft_margin_loss", x, t, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood 0.5 (log var + (input - target)^2 / var), var
    clamped at ``eps``; ``full`` adds 0.5 log(2 pi).

    Args:
        input: expectations (N, *).
        target: samples, input's shape (or broadcastable to it).
        var: variances: input's shape, input's shape without its last dim or with one dim
            of size 1 (homoscedastic), or a Python float.
    """
    _check_reduction("gaussian_nll_loss", reduction)
    x, t = _float_pair("gaussian_nll_loss", input, target)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
        v = x._result(x.xp.full(x.shape, float(var), dtype=x.dtype, device=x._be.device),
                      x._be)
    else:
        v = as_tensor(var, like=x, op="gaussian_nll_loss")
        if v._be.on_host and bool(v.xp.any(v.array < 0)):
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    if v.shape != x.shape:
        if v.shape == x.shape[:-1]:
            v = reshape(v, v.shape + (1,))
        elif not (v.ndim == x.ndim and
                  sum(b for a, b in zip(x.shape, v.shape) if a != b) == 1):
            raise ValueError(f"gaussian_nll_loss: var of shape {v.shape} is of incorrect size "
                             f"for input of shape {x.shape}")
    if not v._be.is_floating(v.dtype):
        v = v._result(v.xp.astype(v.array, x.dtype), v._be)
    return GaussianNLL.apply(x, t, v, full=bool(full), eps=float(eps), reduction=reduction)



def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-class logistic loss -(t log sigmoid(x) + (1 - t) log sigmoid(-x)), weighted,
    averaged over the classes (the last dim), then reduced over the batch.

    Args:
        input: logits (N, C) or (C,); target: 0/1 labels of the same shape; weight: (C,).
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("multilabel_soft_margin_loss", reduction)
    from .reduce import mean
    x, t = _float_pair("multilabel_soft_margin_loss", input, target)
    loss = _pointwise(BCEWithLogits, "multilabel_soft_margin_loss", x, t, "none",
                      weight=weight)
    return reduce_loss(mean(loss, dim=-1) if x.ndim else loss, reduction)

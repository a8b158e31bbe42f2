"""Connectionist temporal classification loss (Graves et al., ICML 2006,
https://www.cs.toronto.edu/~graves/icml_2006.pdf), PyTorch's ``ctc_loss``.

One fused node: the forward runs the alpha recursion in log space over the extended label
sequence (blanks interleaved, K = 2S + 1 states), vectorized over the batch and the states,
one time step per loop iteration; the backward runs the beta recursion the same way and
turns alpha * beta into each class's occupancy. Per-sample lengths are masks (no host read),
so the same code runs on every backend and device.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor
from .indexing import INDEX_ADD, index_add
from .loss import _check_reduction
from .shape import reshape

_NAME = "ctc_loss"


def _neg_inf(xp, be, shape, dtype):
    return xp.full(shape, -xp.inf, dtype=dtype, device=be.device)


def _shift(xp, A, k, pad):
    """A (N, K) moved k states to the right along axis 1, the first k states -inf (pad is
    an (N, >= k) block of -inf)."""
    K = A.shape[1]
    return xp.concat([pad[:, :min(k, K)], A[:, :max(K - k, 0)]], axis=1)


def _shift_left(xp, A, k, pad):
    """A (N, K) moved k states to the left along axis 1, the last k states -inf."""
    K = A.shape[1]
    return xp.concat([A[:, min(k, K):], pad[:, :min(k, K)]], axis=1)


def _logsumexp3(xp, a, b, c):
    """log(e^a + e^b + e^c) elementwise, -inf where all three are -inf (the max is taken out
    first; subtracting a -inf max would make -inf - -inf = NaN)."""
    m = xp.maximum(xp.maximum(a, b), c)
    live = m > -xp.inf
    m0 = xp.where(live, m, xp.zeros_like(m))
    s = xp.exp(a - m0) + xp.exp(b - m0) + xp.exp(c - m0)
    return xp.where(live, m0 + xp.log(xp.where(live, s, xp.ones_like(s))), m)


def _class_sums(be, G, E, C):
    """(T, N, C): G (T, N, K) summed over the states s into class E[n, s] of each sample.
    A scatter-add where the backend has one natively; otherwise one batched product with
    the samples' one-hot (N, K, C), which keeps the samples apart (the generic scatter-add
    would multiply by an (N K, N C) one-hot)."""
    xp = be.xp
    T, N, K = G.shape
    if be.name in INDEX_ADD:
        offsets = xp.reshape(xp.arange(N, dtype=E.dtype, device=be.device) * C, (N, 1))
        dst = xp.zeros((T, N * C), dtype=G.dtype, device=be.device)
        out = index_add(be, dst, 1, xp.reshape(E + offsets, (-1,)), xp.reshape(G, (T, N * K)))
        return xp.reshape(out, (T, N, C))
    onehot = xp.astype(E[:, :, None] == xp.arange(C, dtype=E.dtype, device=be.device), G.dtype)
    return xp.permute_dims(xp.permute_dims(G, (1, 0, 2)) @ onehot, (1, 0, 2))


class CTC(Function):
    """The CTC loss of log-probabilities (T, N, C) given padded labels (N, S), reduced.

    As in PyTorch, the gradient it returns is exp(log_probs) - occupancy for t < input
    length (0 after): the derivative of the loss through a log-softmax that made log_probs,
    not the partial derivative with respect to log_probs themselves (that one is
    -occupancy); the two give the same gradient to the logits before a log_softmax.
    """

    fresh_grads = True

    def forward(self, LP, labels=None, il=None, tl=None, bad=None, blank=0, reduction="mean",
                zero_infinity=False):
        xp, be = self.xp, self.be
        T, N, C = LP.shape
        S = labels.shape[1]
        K = 2 * S + 1
        dtype = LP.dtype
        # the extended labels: blank, l1, blank, l2, ..., blank
        E = xp.full((N, K), blank, dtype=labels.dtype, device=be.device)
        if S:
            E = xp.reshape(xp.stack([E[:, :S], labels], axis=2), (N, 2 * S))
            E = xp.concat([E, E[:, :1]], axis=1)
        # a state may be entered from two back unless it repeats the label there (blanks
        # always do): "a a" needs a blank between, "a b" may skip it
        skip = xp.concat([xp.zeros((N, min(2, K)), dtype=xp.bool, device=be.device),
                          E[:, min(2, K):] != E[:, :max(K - 2, 0)]], axis=1)
        # the emissions of every state at every step, one gather: EM[t, n, s] = LP[t, n, E]
        flat = xp.reshape(E + xp.reshape(xp.arange(N, dtype=E.dtype, device=be.device) * C,
                                         (N, 1)), (-1,))
        EM = xp.reshape(xp.take(xp.reshape(LP, (T, N * C)), flat, axis=1), (T, N, K))
        pad = _neg_inf(xp, be, (N, 2), dtype)
        ninf = _neg_inf(xp, be, (N, K), dtype)
        # alpha before the first step: all mass on a virtual state before state 0, so that
        # step 0 enters states 0 and 1 (an input of length 0 stays there)
        A = xp.concat([xp.zeros((N, 1), dtype=dtype, device=be.device), ninf[:, 1:]], axis=1)
        alphas = []
        for t in range(T):
            prev = A
            A = EM[t, ...] + _logsumexp3(xp, prev, _shift(xp, prev, 1, pad),
                                         xp.where(skip, _shift(xp, prev, 2, pad), ninf))
            A = xp.where((il > t)[:, None], A, prev)  # a sample past its length keeps alpha_T
            alphas.append(A)
        # the paths end in the last label or the blank after it: states 2 tl - 1 and 2 tl
        states = xp.arange(K, device=be.device)[None, :]
        end = (states == 2 * tl[:, None]) | (states == 2 * tl[:, None] - 1)
        with be.quiet():
            final = xp.where(end, A, ninf)
            m = xp.max(final, axis=1)
            live = m > -xp.inf
            m0 = xp.where(live, m, xp.zeros_like(m))
            s = xp.sum(xp.exp(final - m0[:, None]), axis=1)
            nll = -xp.where(live, m0 + xp.log(xp.where(live, s, xp.ones_like(s))), m)
        nll = xp.where(tl > S, xp.full_like(nll, xp.inf), nll)  # longer than T: impossible
        L = nll
        if zero_infinity:
            L = xp.where(L == xp.inf, xp.zeros_like(L), L)
        if bad is not None:  # lengths or labels out of range on a device: NaN, not a sync
            L = xp.where(bad, xp.full_like(L, xp.nan), L)
        self.EM, self.E, self.skip, self.il, self.tl, self.C = EM, E, skip, il, tl, C
        self.alphas, self.nll, self.bad = alphas, nll, bad
        self.reduction, self.zero_infinity = reduction, zero_infinity
        self.denom = xp.astype(xp.maximum(tl, xp.ones_like(tl)), dtype)
        if reduction == "none":
            return L
        total = xp.sum(L / self.denom) / N if reduction == "mean" else xp.sum(L)
        return total

    def backward_graph(self, dY):
        """PyTorch has no derivative of ctc_loss's backward: the gradient is recorded, and
        differentiating it again raises (:func:`first_order_only`)."""
        from .first_order import first_order_only
        return first_order_only(self, (dY,), "ctc_loss")

    def backward(self, dY):
        xp, be = self.xp, self.be
        LP, EM, E, skip, il, tl = self.inputs[0].array, self.EM, self.E, self.skip, self.il, \
            self.tl
        T, N, K = EM.shape
        dtype = LP.dtype
        pad = _neg_inf(xp, be, (N, 2), dtype)
        ninf = _neg_inf(xp, be, (N, K), dtype)
        states = xp.arange(K, device=be.device)[None, :]
        end = (states == 2 * tl[:, None]) | (states == 2 * tl[:, None] - 1)
        # leaving state s for s + 2 is allowed where entering s + 2 from s is
        skip_out = xp.concat([skip[:, min(2, K):],
                              xp.zeros((N, min(2, K)), dtype=xp.bool, device=be.device)], axis=1)
        nll = self.nll
        with be.quiet():
            # beta_t(s): the log-probability of the rest from state s at step t, emission
            # at t included (Graves' eq. 10); it starts at each sample's last step il - 1
            Bt = ninf
            occupancy = [None] * T
            for t in range(T - 1, -1, -1):
                nxt = Bt
                rec = EM[t, ...] + _logsumexp3(xp, nxt, _shift_left(xp, nxt, 1, pad),
                                               xp.where(skip_out, _shift_left(xp, nxt, 2, pad),
                                                        ninf))
                start = xp.where(end, EM[t, ...], ninf)
                Bt = xp.where((il - 1 == t)[:, None], start,
                              xp.where((il - 1 > t)[:, None], rec, ninf))
                # alpha beta / y: the paths through state s at step t, over all paths
                AB = self.alphas[t] + Bt
                occupancy[t] = xp.where(AB > -xp.inf, xp.exp(AB - EM[t, ...] + nll[:, None]),
                                        xp.zeros_like(AB))
            G = _class_sums(be, xp.stack(occupancy), E, self.C)
            g = dY if self.reduction == "none" else xp.broadcast_to(dY, (N,))
            if self.reduction == "mean":
                g = g / (self.denom * N)
            inside = xp.arange(T, device=be.device)[:, None] < il[None, :]  # (T, N)
            impossible = nll == xp.inf
            if self.zero_infinity:  # those losses were made 0: so are their gradients
                inside = inside & ~impossible[None, :]
                impossible = xp.zeros_like(impossible)
            if self.bad is not None:
                impossible = impossible | self.bad
            dLP = (xp.exp(LP) - G) * g[None, :, None]
            dLP = xp.where(inside[:, :, None], dLP, xp.zeros_like(dLP))
            # an infinite loss has no gradient: NaN up to its input length, as in PyTorch
            return xp.where((inside & impossible[None, :])[:, :, None],
                            xp.full_like(dLP, xp.nan), dLP)


def _host_ints(x):
    """A list of Python ints where ``x`` is host data (a tuple, a list, an int, a host
    array or Tensor), else None (a device array: reading it would sync)."""
    if isinstance(x, (list, tuple)):
        return [int(v) for v in x]
    if isinstance(x, int) and not isinstance(x, bool):
        return [x]
    arr = x.array if isinstance(x, TensorBase) else x
    if B.is_array(arr) and B.backend_of(arr).on_host:
        return [int(v) for v in B.to_numpy(arr).reshape(-1).tolist()]
    return None


def _lengths(x, arg, be, N):
    """(int64 array (N,) on ``be``, the values as a host list or None where they live on a
    device). Host data of another backend is accepted, as PyTorch takes CPU lengths for
    CUDA log_probs; a device array must live on the input's backend and device."""
    xp = be.xp
    arr = x.array if isinstance(x, TensorBase) else x
    if B.is_array(arr):
        xb = B.backend_of(arr)
        if not (xb.xp.isdtype(arr.dtype, "integral") or arr.dtype == xb.xp.bool):
            raise RuntimeError(f"{_NAME}: {arg} must be integral, got dtype "
                               f"{B.dtype_name(arr.dtype)}")
        n = 1
        for d in arr.shape:
            n *= d
        if n != N:
            raise RuntimeError(f"{_NAME}: {arg} must be of size batch_size ({N}), got shape "
                               f"{tuple(arr.shape)}")
        if xb is be:
            host = [int(v) for v in B.to_numpy(arr).reshape(-1).tolist()] if be.on_host \
                else None
            return xp.astype(xp.reshape(arr, (N,)), xp.int64), host
        if not xb.on_host:
            raise TypeError(f"{_NAME}: {arg} lives on {xb.name}:{xb.device} but log_probs on "
                            f"{be.name}:{be.device}; move it with .to(...) first")
    elif not isinstance(x, (list, tuple)) or not all(
            isinstance(v, int) or B.is_array(v) and v.ndim == 0 for v in x):
        raise TypeError(f"{_NAME}: {arg} must be a Tensor or a tuple/list of ints, got "
                        f"{type(x).__name__}")
    host = _host_ints(x) if B.is_array(arr) else [int(v) for v in x]
    if len(host) != N:
        raise RuntimeError(f"{_NAME}: {arg} must be of size batch_size ({N}), got "
                           f"{len(host)} values")
    return be.asarray(host, dtype="int64"), host


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """The connectionist temporal classification loss, as ``torch.nn.functional.ctc_loss``:
    -log of the total probability of the alignments of each target with its input.

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities (a log_softmax over C),
            floating.
        targets: integer labels in [0, C), padded (N, S) (only the first target_lengths[n]
            of row n are read), or concatenated (sum(target_lengths),); unbatched: (S,)
            concatenated or (1, S).
        input_lengths: (N,) ints <= T, a Tensor or a tuple/list.
        target_lengths: (N,) ints (<= S for padded targets), a Tensor or a tuple/list.
        blank: the blank label, in [0, C).
        reduction: "mean" (each loss divided by its target length, at least 1, then the
            batch mean), "sum" or "none".
        zero_infinity: losses of impossible alignments (inf) and their gradients become 0.
    Returns:
        A 0-d loss, or (N,) with reduction="none" (0-d unbatched), log_probs' dtype.
    """
    _check_reduction(_NAME, reduction)
    x = as_tensor(log_probs, op=_NAME)
    be, xp = x._be, x.xp
    if not be.is_floating(x.dtype):
        raise TypeError(f"{_NAME}: log_probs must be floating (log-probabilities), got "
                        f"{B.dtype_name(x.dtype)}")
    if x.ndim not in (2, 3):
        raise RuntimeError(f"{_NAME}: log_probs must be (T, N, C) or unbatched (T, C), got "
                           f"shape {tuple(x.shape)}")
    unbatched = x.ndim == 2
    if unbatched:
        x = reshape(x, (x.shape[0], 1, x.shape[1]))
    T, N, C = x.shape
    if T == 0 or N == 0 or C == 0:
        raise RuntimeError(f"{_NAME}: log_probs must not be empty, got shape "
                           f"{tuple(log_probs.shape)}")
    if isinstance(blank, bool) or not isinstance(blank, int) or not 0 <= blank < C:
        raise RuntimeError(f"{_NAME}: blank must be in label range [0, {C}), got {blank!r}")
    tgt = targets.array if isinstance(targets, TensorBase) else targets
    if not B.is_array(tgt):
        raise TypeError(f"{_NAME}: targets must be a Tensor or an array, got "
                        f"{type(targets).__name__}")
    tb = B.backend_of(tgt)
    if not (tb.xp.isdtype(tgt.dtype, ("integral", "real floating")) or  # floats: as torch,
            tgt.dtype == tb.xp.bool):  # cast to int64 below
        raise TypeError(f"{_NAME}: targets must hold integer labels, got dtype "
                        f"{B.dtype_name(tgt.dtype)}")
    if tb is not be:
        if not tb.on_host:
            raise TypeError(f"{_NAME}: targets live on {tb.name}:{tb.device} but log_probs "
                            f"on {be.name}:{be.device}; move them with .to(...) first")
        tgt = be.asarray(B.to_numpy(tgt))
    if tgt.ndim not in (1, 2):
        raise RuntimeError(f"{_NAME}: targets must be padded (N, S) or concatenated 1-D, got "
                           f"shape {tuple(tgt.shape)}")
    il, il_host = _lengths(input_lengths, "input_lengths", be, N)
    tl, tl_host = _lengths(target_lengths, "target_lengths", be, N)
    tgt = xp.astype(tgt, xp.int64)
    labels, bad = _padded(be, tgt, il, tl, il_host, tl_host, T, N, C)
    out = CTC.apply(x, labels=labels, il=xp.clip(il, 0, T), tl=xp.maximum(tl, 0), bad=bad,
                    blank=blank, reduction=reduction, zero_infinity=bool(zero_infinity))
    return reshape(out, ()) if unbatched and reduction == "none" else out


def _padded(be, tgt, il, tl, il_host, tl_host, T, N, C):
    """(labels (N, S), bad): the targets as padded rows, positions past a target's length
    and labels out of range made 0-safe to gather with; ``bad`` marks samples whose lengths
    or labels are out of range where that could not be raised without a device read (None
    where everything was checked on the host, raising as PyTorch does)."""
    xp = be.xp
    shape = tuple(tgt.shape)
    if il_host is not None:
        for n, v in enumerate(il_host):
            if not 0 <= v <= T:
                raise RuntimeError(f"{_NAME}: input_lengths must be in [0, T = {T}], got "
                                   f"{v} for sample {n}")
    if tl_host is not None and min(tl_host) < 0:
        raise RuntimeError(f"{_NAME}: target_lengths must be >= 0, got {min(tl_host)}")
    if tgt.ndim == 2:  # padded (N, S)
        if shape[0] != N:
            raise RuntimeError(f"{_NAME}: padded targets of shape {shape} must have "
                               f"{N} rows (the batch of log_probs)")
        if tl_host is not None and max(tl_host) > shape[1]:
            raise RuntimeError(f"{_NAME}: target_lengths must be at most the padded targets' "
                               f"width {shape[1]} (targets of shape {shape}), got "
                               f"{max(tl_host)}")
        S = shape[1] if tl_host is None else max(tl_host)
        labels = tgt[:, :S]
        wrong = (tl < 0) | (tl > shape[1])
    else:  # concatenated: row n is tgt[offset_n : offset_n + tl_n]
        total = shape[0]
        if tl_host is not None and sum(tl_host) != total:
            raise RuntimeError(f"{_NAME}: concatenated targets must hold sum(target_lengths) "
                               f"= {sum(tl_host)} labels, got shape {shape}")
        # on a device max(tl) is unknown: a target longer than T is impossible anyway
        S = max(tl_host) if tl_host is not None else min(total, T)
        ends = xp.cumulative_sum(xp.maximum(tl, 0))
        starts = ends - xp.maximum(tl, 0)
        idx = starts[:, None] + xp.arange(S, dtype=xp.int64, device=be.device)[None, :]
        labels = xp.take(tgt, xp.reshape(xp.clip(idx, 0, max(total - 1, 0)), (-1,))) \
            if total and S else xp.zeros((N * S,), dtype=xp.int64, device=be.device)
        labels = xp.reshape(labels, (N, S))
        wrong = (tl < 0) | (ends > total)
    used = xp.arange(S, device=be.device)[None, :] < tl[:, None]
    outside = used & ((labels < 0) | (labels >= C))
    if be.on_host and S and bool(xp.any(outside)):
        got = B.to_numpy(labels)[B.to_numpy(outside)]
        raise IndexError(f"{_NAME}: targets must be labels in [0, {C}) (C = {C} classes), "
                         f"got {sorted(set(got.tolist()))[:8]}")
    labels = xp.where(used & ~outside, labels, xp.zeros_like(labels))
    if il_host is not None and tl_host is not None and be.on_host:
        return labels, None
    bad = wrong | (il < 0) | (il > T) | xp.any(outside, axis=1)
    return labels, bad

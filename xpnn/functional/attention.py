"""Scaled dot-product attention as one node with a hand-written backward.

softmax(Q K^T * scale + mask) V (Vaswani et al. 2017, eq. 1). The forward keeps the
probabilities P; the backward is the softmax Jacobian-vector product
dS = P * (dP - rowsum(dP * P)), so no (L, S) intermediate beyond P is stored.
Masks follow torch.nn.functional.scaled_dot_product_attention: a bool mask marks the
positions that MAY be attended (True = attend), a float mask is added to the scores.
A query row that may attend nowhere gets all-zero weights (and output), as torch's does.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, as_tensor, raw, unwrap
from .broadcast import quiet
from .dropout import dropout_mask
from .elementwise import unbroadcast
from .._errors import ArgumentError, DtypeError, ShapeError
from .linalg import array_matmul as mm
from . import sdpa_backends
from .shape import expand, reshape


def safe_softmax(xp, S, fresh=False):
    """Softmax over the last axis; rows that are entirely -inf give zeros, not NaN.
    ``fresh``: S is a new array nothing else holds, changed in place (the scores of a
    32 x 4 x 64 x 64 batch are 2 MB: each temporary spared is a pass over new memory)."""
    if S.shape[-1] == 0:  # no keys: no weights (max has no identity)
        return S + 0
    m = xp.max(S, axis=-1, keepdims=True)
    m = xp.where(m > -xp.inf, m, 0.0)
    if fresh:
        S -= m
        E = xp.exp(S)
    else:
        E = xp.exp(S - m)
    total = xp.sum(E, axis=-1, keepdims=True)
    E /= xp.where(total > 0, total, 1.0)  # E is exp's new array
    return E


def causal_mask(xp, L, S, device):
    """(L, S) bool, True on and below the diagonal: query i may attend keys 0..i."""
    return xp.arange(L, device=device)[:, None] >= xp.arange(S, device=device)[None, :]


@quiet
class ScaledDotProductAttention(Function):
    """O = dropout(softmax(Q K^T scale + M)) V; optional second output: the weights used."""

    def forward(self, Q, K, V, M=None, allowed=None, dropout_p=0.0, scale=1.0,
                weights=False):
        xp, be = self.xp, self.be
        S = mm(be, Q, xp.matrix_transpose(K))
        S *= scale  # S is fresh
        if M is not None and M.dtype == S.dtype and _broadcastable(M.shape, S.shape):
            S += M
        elif M is not None:
            S = S + M
        if allowed is not None:
            S = xp.where(allowed, S, -xp.inf)
        P = safe_softmax(xp, S, fresh=True)
        self.P, self.keep = P, None
        if dropout_p > 0:
            self.keep = dropout_mask(self.be, P.shape, P.dtype, dropout_p)
            P = P * self.keep
        self.Q, self.K, self.V, self.Pd, self.scale = Q, K, V, P, scale
        self.allowed = allowed  # backward_graph recomputes P
        self.m_shape = None if M is None else M.shape
        Out = mm(be, P, V)
        return (Out, P) if weights else Out

    def backward(self, dO, dW=None):
        xp, be, P, Pd = self.xp, self.be, self.P, self.Pd
        Q, K, V, scale = self.Q, self.K, self.V, self.scale
        dV = unbroadcast(xp, mm(be, xp.matrix_transpose(Pd), dO), V.shape) \
            if self.needs[2] else None
        dP = mm(be, dO, xp.matrix_transpose(V))  # fresh, so changed in place below
        if dW is not None:
            dP = dP + dW  # the returned weights were used downstream too
        if self.keep is not None:
            dP *= self.keep
        # rowsum(dP * P) as vecdot: no (L, S) temporary (a 32 x 4 x 64 x 64 float32 batch on
        # NumPy: 417 -> 144 us); P is real, so vecdot's conjugate of it changes nothing
        dP -= xp.vecdot(P, dP, axis=-1)[..., None]
        dP *= P
        dS = dP  # P * (dP - rowsum(dP * P))
        dQ = unbroadcast(xp, _scaled(mm(be, dS, K), scale), Q.shape) \
            if self.needs[0] else None
        dK = unbroadcast(xp, _scaled(mm(be, xp.matrix_transpose(dS), Q), scale), K.shape) \
            if self.needs[1] else None
        if self.m_shape is None:
            return dQ, dK, dV
        dM = unbroadcast(xp, dS, self.m_shape) if self.needs[3] else None
        return dQ, dK, dV, dM

    def backward_graph(self, dO, dW=None):
        from .graph_misc import sdpa_graph  # the same formula on Tensors, recorded
        return sdpa_graph(self, dO, dW)


def _scaled(A, scale):
    """A * scale for a fresh product A, in place."""
    A *= scale
    return A


def _broadcastable(shape, target):
    if len(shape) > len(target):
        return False
    return all(a in (1, b) for a, b in zip(shape[::-1], target[::-1]))


def check_mask(name, mask, dtype, target=None, shapes=None, arg="mask"):
    """Raise naming ``name`` and ``arg`` unless ``mask`` is bool or ``dtype`` and either
    broadcasts to ``target`` (the scores' shape) or has one of ``shapes`` exactly."""
    xp = B.backend_of(unwrap(mask)).xp
    shape, mdtype = tuple(mask.shape), mask.dtype
    if mdtype != xp.bool and mdtype != dtype:
        raise DtypeError(f"{name}: {arg} must be bool or the query's dtype {dtype}, got "
                         f"{mdtype} ({arg} shape {shape})")
    if shapes is not None and shape not in shapes:
        raise ShapeError(f"{name}: {arg} has shape {shape}, expected "
                         f"{' or '.join(str(s) for s in shapes)}")
    if target is not None and not _broadcastable(shape, target):
        raise ShapeError(f"{name}: {arg} of shape {shape} does not broadcast to the attention "
                         f"scores' shape {target}")


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, need_weights=False, *,
                                 enable_gqa=False):
    """Attention with PyTorch's argument conventions, as one fused graph node.

    Args:
        query: (..., L, E); key: (..., S, E); value: (..., S, Ev). Leading dims broadcast.
        attn_mask: bool (True = may attend) or float (added to the scores), broadcastable
            to (..., L, S).
        dropout_p: dropout on the attention weights (pass 0.0 in evaluation).
        is_causal: also mask keys after the query's position (top-left aligned tril).
        scale: score scale; default 1/sqrt(E).
        need_weights: also return the (..., L, S) weights actually applied (after dropout).
        enable_gqa: grouped-query attention: key and value may have fewer heads (dim -3)
            than query, a divisor of its count; query head i uses key/value head i // g.
    Returns:
        (..., L, Ev) Tensor; with need_weights, a pair (output, weights).
    """
    name = "scaled_dot_product_attention"
    sdpa_backends.check(name)
    q = as_tensor(query, op="scaled_dot_product_attention")
    k, v = as_tensor(key, like=q, op=name), as_tensor(value, like=q, op=name)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(f"{name}: query, key, value need at least 2 dims (..., seq, dim), "
                         f"got {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"{name}: query {q.shape} / key {k.shape} need the same last dim and "
                         f"key / value {v.shape} the same sequence length")
    if not (q.dtype == k.dtype == v.dtype):
        raise DtypeError(f"{name}: query, key, value dtypes differ: {q.dtype}, {k.dtype}, "
                         f"{v.dtype}")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        k, v = _share_heads(name, q, k, v)
    if not 0 <= dropout_p < 1:
        raise ArgumentError(f"{name}: dropout_p must be in [0, 1), got {dropout_p!r}")
    xp = q.xp
    L, S = q.shape[-2], k.shape[-2]
    lead = _broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2], name)
    scores = lead + (L, S)
    M, allowed = None, None
    if attn_mask is not None:
        check_mask(name, attn_mask, q.dtype, target=scores)
        if attn_mask.dtype == xp.bool:
            allowed = raw(attn_mask, q, name, "attn_mask")
        else:
            M = as_tensor(attn_mask, like=q, op=name)
    if is_causal:
        tri = causal_mask(xp, L, S, q.device)
        allowed = tri if allowed is None else allowed & tri
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    inputs = (q, k, v) if M is None else (q, k, v, M)
    return ScaledDotProductAttention.apply(*inputs, allowed=allowed, dropout_p=dropout_p,
                                           scale=scale, weights=need_weights)


def _share_heads(name, q, k, v):
    """key and value with each of their heads repeated g = Hq / Hkv times in a row, as
    torch's enable_gqa (repeat_interleave along dim -3)."""
    hq, hk = q.shape[-3], k.shape[-3]
    if hk != v.shape[-3] or hq % hk:
        raise ShapeError(f"{name}: with enable_gqa, key {k.shape} and value {v.shape} need "
                         f"the same number of heads (dim -3), a divisor of query's {hq}")
    g = hq // hk

    def widen(t):
        lead, rest = tuple(t.shape[:-3]), tuple(t.shape[-2:])
        t = expand(reshape(t, lead + (hk, 1) + rest), lead + (hk, g) + rest)
        return reshape(t, lead + (hq,) + rest)
    return widen(k), widen(v)


def _broadcast_shapes(a, b, c, name):
    n = max(len(a), len(b), len(c))
    out = []
    for dims in zip(*[(1,) * (n - len(s)) + tuple(s) for s in (a, b, c)]):
        big = max(dims)
        if any(d not in (1, big) for d in dims):
            raise ShapeError(f"{name}: batch dims {a}, {b}, {c} of query, key, value do not "
                             "broadcast")
        out.append(big)
    return tuple(out)

